"""The `modemsim` command: run a module, list profiles."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from simulator import profile as profiles
from simulator import replay
from simulator.control.client import ctl, verbs_help
from simulator.control.scenario import ScenarioError
from simulator.runner import Options, Simulation
from simulator.world.routes import parse_route


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _route(text: str) -> str:
    try:
        parse_route(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modemsim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a module on a PTY")
    run.add_argument("--profile", required=True)
    run.add_argument("--name", help="module name (default: the profile name)")
    run.add_argument("--link", type=Path, help="stable symlink to the PTY")
    run.add_argument("--time-scale", type=_positive, default=1.0,
                     help="module seconds per real second (default 1)")
    run.add_argument("--log", type=Path, help="traffic log, human-readable")
    run.add_argument("--log-json", type=Path, help="traffic and events as JSON lines")
    run.add_argument("--data-dir", type=Path, help="the module's persistent data")
    run.add_argument("--tcp", type=_host_port, action="append", default=[],
                     metavar="HOST:PORT", help="also serve the module on TCP")
    run.add_argument("--rfc2217", type=_host_port, action="append", default=[],
                     metavar="HOST:PORT", help="also serve the module as RFC 2217 (rfc2217://)")
    run.add_argument("--unix", type=Path, action="append", default=[], metavar="PATH",
                     help="also serve the module on a UNIX stream socket")
    run.add_argument("--route", type=_route, action="append", default=[],
                     metavar="REMOTE=LOCAL",
                     help="send the module's traffic for HOST[:PORT] to HOST[:PORT] on this "
                          "machine (repeatable), e.g. 220.180.239.212:8009=127.0.0.1:9000")
    run.add_argument("--spawn", type=shlex.split, metavar="COMMAND",
                     help="run COMMAND with the module's UART as its terminal; exit with it")
    run.add_argument("--control", type=Path, metavar="PATH",
                     help="the control socket (default: LINK.ctl)")
    run.add_argument("--scenario", type=Path, metavar="FILE",
                     help="a scenario file: timed control verbs and fault rules")
    run.add_argument("--loop", choices=("asyncio", "uvloop", "auto"), default="asyncio",
                     help="event loop: asyncio (default), uvloop (faster answers; must be "
                          "installed), or auto (uvloop when installed)")

    control = sub.add_parser(
        "ctl", help="control a running module", epilog=verbs_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one control verb on a running module; its result is JSON on stdout.")
    control.add_argument("target", metavar="TARGET",
                         help="the module's --link, its PTY, or its control socket")
    control.add_argument("words", nargs=argparse.REMAINDER, metavar="VERB ...")


    sub.add_parser("profiles", help="list the profiles")
    replay.add_arguments(sub.add_parser("replay", help="replay documented dialogs over a PTY"))
    return parser


def _loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop to run on: None for asyncio's own. ImportError when uvloop is asked
    for and not installed."""
    if choice == "asyncio":
        return None
    try:
        return importlib.import_module("uvloop").new_event_loop
    except ImportError:
        if choice == "auto":
            return None
        raise


async def _run(options: Options) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)  # before "ready": a stop then is a clean one
    simulation = await Simulation.start(options)
    print(simulation.ready_line(), flush=True)
    waits = [asyncio.ensure_future(stop.wait())]
    if simulation.spawned:
        waits.append(simulation.spawned.exited)
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    status = simulation.spawned.exited.result() if simulation.spawned and \
        simulation.spawned.exited.done() else 0
    await simulation.stop()
    return status


def _profiles() -> int:
    rows = [("profile", "module", "family", "echo", "boot")]
    for name in profiles.available():
        p = profiles.load(name)
        rows.append((name, p.module, p.family, "on" if p.echo else "off",
                     " / ".join(b.line for b in p.boot) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "profiles":
            return _profiles()
        if args.command == "replay":
            return replay.run(args)
        if args.command == "ctl":
            return ctl(args.target, args.words)
        options = Options(
            profile=args.profile, name=args.name, link=args.link, time_scale=args.time_scale,
            log=args.log, log_json=args.log_json, data_dir=args.data_dir, tcp=args.tcp,
            rfc2217=args.rfc2217, unix=args.unix, spawn=args.spawn, control=args.control,
            scenario=args.scenario, routes=args.route,
        )
        try:
            factory = _loop_factory(args.loop)
        except ImportError:
            print("modemsim: --loop uvloop: uvloop is not installed (pip install uvloop)",
                  file=sys.stderr)
            return 2
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(_run(options))
    except (profiles.ProfileError, ScenarioError) as exc:
        print(f"modemsim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"modemsim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
