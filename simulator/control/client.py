"""Talking to a running module's control socket: `modemsim ctl TARGET VERB ...` and the
subprocess handle of the Python API.

TARGET is the control socket itself, or the module's `--link` (whose socket is `LINK.ctl`),
or its PTY (`/dev/pts/N`, whose socket is in the runtime directory).
"""

from __future__ import annotations

import json
import socket
import stat
import sys
from pathlib import Path
from typing import Any

from simulator.control import VERBS, UsageError, VerbError
from simulator.control.registry import split_argv
from simulator.resources import runtime_dir


class NotRunning(VerbError):
    """No module answers at the target."""


def default_socket(port_path: str) -> Path:
    """Where a module without --link / --control listens: named after its PTY."""
    return runtime_dir() / f"{Path(port_path).parent.name}-{Path(port_path).name}.ctl"


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def resolve(target: str | Path) -> Path:
    """The control socket of TARGET (see the module docstring)."""
    path = Path(target)
    candidates = [path, path.with_name(path.name + ".ctl")]
    real = path.resolve()
    if str(real).startswith("/dev/"):
        candidates.append(default_socket(str(real)))
    for candidate in candidates:
        if _is_socket(candidate):
            return candidate
    raise NotRunning(f"no module running at {target} (no control socket "
                     f"{' or '.join(str(c) for c in candidates[1:])})")


def request(path: Path, verb: str, args: dict[str, Any] | None = None,
            timeout: float = 30.0) -> dict[str, Any]:
    """One verb over the socket at `path`: its result, or UsageError / VerbError."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps({"verb": verb, "args": args or {}}).encode() + b"\n")
            answer = sock.makefile("rb").readline()
    except (ConnectionRefusedError, FileNotFoundError):
        raise NotRunning(f"no module running at {path}") from None
    except OSError as exc:
        raise NotRunning(f"{path}: {exc}") from None
    if not answer:
        raise NotRunning(f"{path}: the module closed the connection")
    reply = json.loads(answer)
    if reply.get("ok"):
        return reply["result"]
    raise (UsageError if reply.get("usage") else VerbError)(reply["error"])


def verbs_help() -> str:
    width = max(len(v.name) for v in VERBS.values())
    return "verbs:\n" + "\n".join(f"  {v.name.ljust(width)}  {v.summary}" for v in VERBS.values())


def ctl(target: str, words: list[str]) -> int:
    """`modemsim ctl TARGET VERB ...`: the result as JSON on stdout, or an error on stderr."""
    try:
        spec, rest = split_argv(words)
        if {"-h", "--help"} & set(rest):
            print(spec.argparser("modemsim ctl TARGET").format_help(), end="")
            return 0
        args = spec.parse_argv(rest)
        spec.bind(args)  # refuse a bad argument before reaching for the module
        result = request(resolve(target), spec.name, args)
    except UsageError as exc:
        print(f"modemsim ctl: {exc}", file=sys.stderr)
        return 2
    except VerbError as exc:
        print(f"modemsim ctl: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0
