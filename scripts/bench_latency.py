#!/usr/bin/env python3
"""Benchmark AT round-trip latency of the modemsim simulator against a bare PTY.

The baseline is a minimal responder (this same file run with
``--bare-responder``) that answers ``\\r\\nOK\\r\\n`` to every CR it reads. Both
sides are driven by the same pyserial client, so the ratio simulator/bare shows
the cost the simulator adds on top of the PTY round trip itself. Both run at
once and their round trips alternate (bare, simulator, bare...), so a machine
busy with other work slows both alike and the ratio stays meaningful. The CPU
time each server spends per round trip (Linux /proc) is reported too: it
depends far less on the machine's load than the wall-clock figures.

Usage:
    python scripts/bench_latency.py                  # table, profile ec200t
    python scripts/bench_latency.py --json           # machine-readable
    python scripts/bench_latency.py --bare-only      # baseline only
    python scripts/bench_latency.py --profile NAME --iterations 2000
    python scripts/bench_latency.py --loop uvloop    # the simulator on uvloop

Goals: simulator start-up median under 1 s, and p50 latency within 2.5x of the
bare responder for every command. They are reported, never enforced: the exit
status is 0 whenever the benchmark itself ran.
"""

import argparse
import json
import math
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tty
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import serial

REPO_ROOT = Path(__file__).resolve().parent.parent

COMMANDS: tuple[str, ...] = (
    "AT",
    "AT+CSQ",
    'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,1',
)
STARTUP_GOAL_S = 1.0
P50_RATIO_GOAL = 2.5

READY_RE = re.compile(rb"^(?P<name>\S+) ready on (?P<path>\S+)(?: \(link (?P<link>.+)\))?$")
# A final result code ends the response: OK, ERROR (unknown command) or an
# extended +CME/+CMS error, each as a complete line. Not anchored at the end: a
# URC may follow in the same read (it is ignored; URCs are never final codes).
FINAL_RE = re.compile(rb"\r\n(OK|ERROR|\+CM[ES] ERROR: [^\r\n]*)\r\n")


class BenchError(Exception):
    """The benchmark could not run (as opposed to a goal not being met)."""


# --------------------------------------------------------------------------- #
# Bare responder (child process mode)
# --------------------------------------------------------------------------- #


def bare_responder() -> NoReturn:
    """Answer ``\\r\\nOK\\r\\n`` to every CR written to a fresh PTY, forever."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no CR/LF translation; slave stays open
    print(f"bare ready on {os.ttyname(slave)}", flush=True)
    while True:
        select.select([master], [], [])
        crs = os.read(master, 4096).count(b"\r")
        if crs:
            os.write(master, b"\r\nOK\r\n" * crs)


# --------------------------------------------------------------------------- #
# Server processes
# --------------------------------------------------------------------------- #


def _drain(fd: int) -> None:
    """Discard further stdout so a chatty server can never block on the pipe."""
    while os.read(fd, 4096):
        pass


class Server:
    """A PTY-serving child process; start-up time is spawn to ready line.

    ``make_argv`` receives a fresh temporary data directory, removed on stop.
    """

    def __init__(self, make_argv: Callable[[str], list[str]], ready_timeout: float) -> None:
        self._resources = ExitStack()
        scratch = Path(self._resources.enter_context(tempfile.TemporaryDirectory()))
        data_dir = scratch / "data"
        data_dir.mkdir()
        self.stderr_log = scratch / "stderr.log"
        argv = make_argv(str(data_dir))
        self.drainer: threading.Thread | None = None
        start = time.perf_counter()
        with self.stderr_log.open("wb") as stderr:
            self.proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        try:
            line = self._read_ready_line(start + ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - start
        match = READY_RE.match(line)
        if match is None:
            self.stop()
            raise BenchError(f"unexpected ready line from {argv!r}: {line!r}")
        self.path = match["path"].decode()
        assert self.proc.stdout is not None
        self.drainer = threading.Thread(
            target=_drain, args=(self.proc.stdout.fileno(),), daemon=True
        )
        self.drainer.start()

    def _read_ready_line(self, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = b""
        while b"\n" not in buf:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError(
                    f"no ready line within the timeout from {self.proc.args!r} "
                    f"(is stdout flushed?); got {buf!r}{self._stderr_tail()}"
                )
            if select.select([fd], [], [], remaining)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.wait()
                    raise BenchError(
                        f"{self.proc.args!r} exited with status "
                        f"{self.proc.returncode} before its ready line"
                        f"{self._stderr_tail()}"
                    )
                buf += chunk
        return buf.split(b"\n", 1)[0].rstrip(b"\r")

    def _stderr_tail(self) -> str:
        text = self.stderr_log.read_text(errors="replace").strip()
        return f"\n--- stderr ---\n{text[-2000:]}" if text else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.drainer is not None:
            self.drainer.join(timeout=1)
        # A drainer still blocked (a grandchild holds the pipe) keeps the fd.
        if self.drainer is None or not self.drainer.is_alive():
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        self._resources.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- #
# Measurement
# --------------------------------------------------------------------------- #


@dataclass
class CommandStats:
    p50_us: float
    p99_us: float
    results: Counter[str]
    cpu_us: float | None = None  # server CPU time per round trip; None off Linux


@dataclass
class SideResult:
    startup_runs_s: list[float]
    commands: dict[str, CommandStats]

    @property
    def startup_median_s(self) -> float:
        return statistics.median(self.startup_runs_s)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def round_trip(port: serial.Serial, line: bytes, timeout: float) -> tuple[int, str]:
    """Send one command line; return (nanoseconds to final result, result)."""
    response = b""
    start = time.perf_counter_ns()
    port.write(line)
    while (match := FINAL_RE.search(response)) is None:
        chunk = port.read(port.in_waiting or 1)
        if not chunk:
            raise BenchError(f"no final result for {line!r} within {timeout} s; got {response!r}")
        response += chunk
    elapsed = time.perf_counter_ns() - start
    return elapsed, match[1].decode()


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_latency(
    servers: list[Server], iterations: int, warmup: int, timeout: float
) -> list[dict[str, CommandStats]]:
    """Per server, the round trips of every command, taken in turns across the servers."""
    with ExitStack() as stack:
        ports = [
            stack.enter_context(serial.Serial(server.path, baudrate=115200, timeout=timeout))
            for server in servers
        ]
        for port in ports:
            # Turn echo off (the bare responder just says OK), then drop anything
            # else the server emitted at start-up, such as URCs.
            round_trip(port, b"ATE0\r", timeout)
        time.sleep(0.05)
        for port in ports:
            port.reset_input_buffer()
        stats: list[dict[str, CommandStats]] = [{} for _ in servers]
        for command in COMMANDS:
            line = command.encode() + b"\r"
            for port in ports:
                for _ in range(warmup):
                    round_trip(port, line, timeout)
            samples: list[list[float]] = [[] for _ in servers]
            results: list[Counter[str]] = [Counter() for _ in servers]
            cpu_before = [cpu_seconds(server.proc.pid) for server in servers]
            for _ in range(iterations):
                for i, port in enumerate(ports):
                    elapsed_ns, result = round_trip(port, line, timeout)
                    samples[i].append(elapsed_ns / 1000)
                    results[i][result] += 1
            for i, server in enumerate(servers):
                before, after = cpu_before[i], cpu_seconds(server.proc.pid)
                cpu = None if before is None or after is None else (after - before) * 1e6
                samples[i].sort()
                stats[i][command] = CommandStats(
                    percentile(samples[i], 50),
                    percentile(samples[i], 99),
                    results[i],
                    None if cpu is None else cpu / iterations,
                )
    return stats


def startup_runs(make_argv: Callable[[str], list[str]], args: argparse.Namespace) -> list[float]:
    """Start-up time over separate spawns."""
    runs: list[float] = []
    for _ in range(args.startup_runs):
        with Server(make_argv, args.ready_timeout) as server:
            runs.append(server.startup_s)
    return runs


def bench(
    sides: list[Callable[[str], list[str]]], args: argparse.Namespace
) -> list[SideResult]:
    """Start-up of each side, then latency with every side running and taking turns."""
    startups = [startup_runs(make_argv, args) for make_argv in sides]
    with ExitStack() as stack:
        servers = [
            stack.enter_context(Server(make_argv, args.ready_timeout)) for make_argv in sides
        ]
        commands = measure_latency(servers, args.iterations, args.warmup, args.timeout)
    return [SideResult(runs, cmds) for runs, cmds in zip(startups, commands, strict=True)]


# --------------------------------------------------------------------------- #
# Reporting
# --------------------------------------------------------------------------- #


def ratios(bare: SideResult, sim: SideResult) -> dict[str, dict[str, float]]:
    return {
        cmd: {
            "p50": sim.commands[cmd].p50_us / bare.commands[cmd].p50_us,
            "p99": sim.commands[cmd].p99_us / bare.commands[cmd].p99_us,
        }
        for cmd in COMMANDS
    }


def side_json(side: SideResult) -> dict[str, Any]:
    return {
        "startup_median_s": side.startup_median_s,
        "startup_runs_s": side.startup_runs_s,
        "commands": {
            cmd: {
                "p50_us": st.p50_us,
                "p99_us": st.p99_us,
                "cpu_us": st.cpu_us,
                "results": dict(st.results),
            }
            for cmd, st in side.commands.items()
        },
    }


def verdict_line(ratio: dict[str, dict[str, float]] | None) -> str:
    goal = f"p50 ratio goal: simulator within {P50_RATIO_GOAL}x of the bare responder"
    if ratio is None:
        return f"{goal}: not evaluated (--bare-only)"
    worst = max(COMMANDS, key=lambda cmd: ratio[cmd]["p50"])
    met = ratio[worst]["p50"] <= P50_RATIO_GOAL
    return f"{goal}: {'MET' if met else 'NOT MET'} (worst {ratio[worst]['p50']:.2f}x on {worst})"


def report_json(args: argparse.Namespace, bare: SideResult, sim: SideResult | None) -> str:
    ratio = None
    goals: dict[str, Any] = {
        "startup_s": STARTUP_GOAL_S,
        "p50_ratio": P50_RATIO_GOAL,
        "startup_met": None,
        "p50_ratio_met": None,
    }
    if sim is not None:
        ratio = ratios(bare, sim)
        goals["startup_met"] = sim.startup_median_s <= STARTUP_GOAL_S
        goals["p50_ratio_met"] = all(r["p50"] <= P50_RATIO_GOAL for r in ratio.values())
    return json.dumps(
        {
            "profile": args.profile,
            "loop": args.loop,
            "iterations": args.iterations,
            "warmup": args.warmup,
            "startup_runs": args.startup_runs,
            "bare": side_json(bare),
            "simulator": side_json(sim) if sim else None,
            "ratio": ratio,
            "goals": goals,
            "verdict": verdict_line(ratio),
        },
        indent=2,
    )


def _cpu(stats: CommandStats) -> str:
    return "-" if stats.cpu_us is None else f"{stats.cpu_us:.0f}"


def report_table(args: argparse.Namespace, bare: SideResult, sim: SideResult | None) -> str:
    out = [
        f"modemsim latency benchmark: profile {args.profile}, loop {args.loop}, "
        f"{args.iterations} iterations + {args.warmup} warm-up per command",
        "",
        f"start-up, median of {args.startup_runs} (spawn to ready line):",
        f"  bare responder  {bare.startup_median_s * 1000:8.1f} ms",
    ]
    if sim:
        met = "met" if sim.startup_median_s <= STARTUP_GOAL_S else "NOT met"
        out.append(
            f"  simulator       {sim.startup_median_s * 1000:8.1f} ms"
            f"   (goal {STARTUP_GOAL_S * 1000:.0f} ms: {met})"
        )
    out += [
        "",
        "round trip, microseconds (send line + CR until final result; cpu: the server's",
        "CPU time per round trip):",
    ]

    width = max(len(cmd) for cmd in COMMANDS)
    header = f"  {'command':<{width}}  {'bare p50':>9} {'bare p99':>9} {'cpu':>6}"
    if sim:
        header += (
            f"  {'sim p50':>9} {'sim p99':>9} {'cpu':>6}  {'p50 x':>6} {'p99 x':>6}  sim result"
        )
    out.append(header)
    ratio = ratios(bare, sim) if sim else None
    for cmd in COMMANDS:
        b = bare.commands[cmd]
        row = f"  {cmd:<{width}}  {b.p50_us:9.1f} {b.p99_us:9.1f} {_cpu(b):>6}"
        if sim is not None and ratio is not None:
            s = sim.commands[cmd]
            results = ", ".join(f"{k} x{v}" for k, v in s.results.most_common())
            row += (
                f"  {s.p50_us:9.1f} {s.p99_us:9.1f} {_cpu(s):>6}"
                f"  {ratio[cmd]['p50']:6.2f} {ratio[cmd]['p99']:6.2f}  {results}"
            )
        out.append(row)
    out += ["", verdict_line(ratio)]
    return "\n".join(out)


# --------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------- #


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure AT round-trip latency and start-up time of the "
        "simulator against a bare PTY responder. Always exits 0 once the "
        "benchmark has run; goals are reported, not enforced.",
    )
    parser.add_argument(
        "--profile", default="ec200t", help="simulator profile (default: %(default)s)"
    )
    parser.add_argument(
        "--iterations",
        type=positive_int,
        default=500,
        help="timed round trips per command (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=50,
        help="untimed round trips per command first (default: %(default)s)",
    )
    parser.add_argument(
        "--startup-runs",
        type=positive_int,
        default=5,
        help="spawns for the start-up median (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        help="seconds to wait for a final result (default: %(default)s)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for a ready line (default: %(default)s)",
    )
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop", "auto"),
        default="asyncio",
        help="the simulator's event loop, as `modemsim run --loop` (default: %(default)s)",
    )
    parser.add_argument("--bare-only", action="store_true", help="measure only the bare responder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--bare-responder", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_responder:
        bare_responder()

    def bare_argv(_data_dir: str) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--bare-responder"]

    def sim_argv(data_dir: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "simulator",
            "run",
            "--profile",
            args.profile,
            "--data-dir",
            data_dir,
            "--loop",
            args.loop,
        ]

    try:
        bare, *rest = bench([bare_argv] if args.bare_only else [bare_argv, sim_argv], args)
        sim = rest[0] if rest else None
    except (BenchError, serial.SerialException) as exc:
        print(f"bench_latency: {exc}", file=sys.stderr)
        return 2
    print(report_json(args, bare, sim) if args.json else report_table(args, bare, sim))
    return 0


if __name__ == "__main__":
    sys.exit(main())
