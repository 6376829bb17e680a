"""Helpers for the cellular tests: profile variants written on the fly, booting a module and
waiting on its registration by reading (never by sleeping a fixed time).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import yaml
from modem import Port

CELLULAR = ["bc660k", "ec200t", "m66", "n11v2"]
# the registration report each family answers (bc660k is NB-IoT only: no CREG)
REPORT = {"bc660k": "+CEREG", "ec200t": "+CEREG", "m66": "+CREG", "n11v2": "+CREG"}
# the colon spacing each family uses for that report
SEP = {"bc660k": ":", "ec200t": ": ", "m66": ": ", "n11v2": ": "}


def variant(tmp_path: Path, base: str, name: str | None = None, **sections: object) -> str:
    """A profile file extending `base` with `sections` merged over it; returns its path."""
    path = tmp_path / f"{name or base + '-variant'}.yaml"
    path.write_text(yaml.safe_dump({"extends": base, **sections}))
    return str(path)


def boot(sim, profile: str, tail: bytes, *extra: str, echo: bool = False, **kwargs) -> Port:
    """Start a module, wait for the last line of its banner, and turn echo off."""
    port = sim(profile, *extra, **kwargs).open()
    port.expect(tail, timeout=20)
    if not echo:
        at(port, "ATE0")
    return port


def at(port: Port, line: str, timeout: float = 10.0) -> bytes:
    """Send a command line (latin-1); what arrived up to its final result."""
    return port.command(line.encode("latin-1"), timeout)


def stat_of(port: Port, cmd: str) -> int:
    reply = at(port, f"AT{cmd}?").decode()
    match = re.search(rf"\{cmd}: ?\d+,(\d+)", reply)
    assert match, reply
    return int(match[1])


def wait_stat(port: Port, cmd: str, wanted: set[int], timeout: float = 15.0) -> int:
    """Poll the read form until <stat> is one of `wanted`."""
    deadline = time.monotonic() + timeout
    while True:
        stat = stat_of(port, cmd)
        if stat in wanted or time.monotonic() > deadline:
            assert stat in wanted, f"{cmd} stat {stat}, wanted {wanted}"
            return stat
        port.quiet_for(0.05)


def lines(data: bytes) -> list[str]:
    return [line for line in data.decode("latin-1").split("\r\n") if line]


def until(port: Port, line: str | bytes, timeout: float = 10.0) -> bytes:
    """Read until `line` has arrived as a whole line, whatever else comes around it."""
    needle = b"\r\n" + (line.encode() if isinstance(line, str) else line) + b"\r\n"
    return port.read_until(lambda buffer: needle in buffer, timeout)
