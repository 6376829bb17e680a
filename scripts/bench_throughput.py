#!/usr/bin/env python3
"""Transparent-mode throughput: PTY -> simulator -> local TCP echo -> simulator -> PTY, next to
socat bridging a PTY to the same echo server, in the same run.

The simulator runs ec200t with a route from the EC200 guide's server address to the echo
server, registers through its control socket, activates context 1 and opens socket 0 in
transparent mode (CONNECT). Both sides then carry the same random bytes through the same
client code: a writer thread fills the PTY while the main thread reads the echo back, and
the bytes are compared. The ratio simulator/socat is printed; the goal is at least 0.5.

Usage:
    python scripts/bench_throughput.py                 # 8 MiB, 3 rounds each
    python scripts/bench_throughput.py --mib 32 --rounds 5 --json

socat comes from Debian (`apt-get install socat`); without it only the simulator is measured.
The exit status is 0 whenever the benchmark itself ran, whether the goal was met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import serial

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a bare checkout

from simulator.control.client import request, resolve  # noqa: E402

GOAL = 0.5
CHUNK = 4096


class EchoServer:
    """A TCP echo server on 127.0.0.1, a thread per connection."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(1 << 16):
                    conn.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()


def round_trip(port: serial.Serial, data: bytes) -> float:
    """Seconds to write `data` to the PTY and read all of it back, checked byte for byte."""
    failure: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(0, len(data), CHUNK):
                port.write(data[i:i + CHUNK])
        except BaseException as exc:  # reported by the reader side
            failure.append(exc)

    got = bytearray()
    started = time.perf_counter()
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    deadline = time.monotonic() + 120
    while len(got) < len(data):
        if failure or time.monotonic() > deadline:
            raise RuntimeError(f"round trip stalled at {len(got)} bytes {failure}")
        got += port.read(max(1, port.in_waiting))
    elapsed = time.perf_counter() - started
    writer.join(10)
    if bytes(got) != data:
        raise RuntimeError("the echo differs from what was sent")
    return elapsed


def read_until(port: serial.Serial, token: bytes, timeout: float = 20) -> bytes:
    buffer = bytearray()
    deadline = time.monotonic() + timeout
    while token not in buffer:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {token!r}; got {bytes(buffer[-200:])!r}")
        buffer += port.read(max(1, port.in_waiting))
    return bytes(buffer)


def simulator(echo: EchoServer, workdir: Path) -> tuple[subprocess.Popen, serial.Serial]:
    command = [sys.executable, "-m", "simulator", "run", "--profile", "ec200t",
               "--data-dir", str(workdir / "data"), "--time-scale", "20",
               "--route", f"220.180.239.212:8009=127.0.0.1:{echo.port}"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if " ready on " not in line:
        process.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    path = line.split(" ready on ")[1].split()[0]
    port = serial.Serial(path, timeout=0.05)
    read_until(port, b"+QIND: PB DONE\r\n")
    request(resolve(path), "network register")
    for command_line, answer in ((b"ATE0", b"OK\r\n"), (b"AT+QIACT=1", b"OK\r\n"),
                                 (b'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,2',
                                  b"CONNECT\r\n")):
        port.write(command_line + b"\r")
        read_until(port, answer)
    return process, port


def socat(echo: EchoServer, workdir: Path) -> tuple[subprocess.Popen, serial.Serial]:
    link = workdir / "socat-pty"
    process = subprocess.Popen(["socat", f"PTY,link={link},raw,echo=0",
                                f"TCP:127.0.0.1:{echo.port}"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not link.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("socat did not create its PTY")
        time.sleep(0.01)
    return process, serial.Serial(str(link), timeout=0.05)


def measure(start, echo: EchoServer, data: bytes, rounds: int) -> list[float]:
    """MiB/s of each round (a fresh bridge per run, the rounds on one connection)."""
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        process, port = start(echo, Path(tmp))
        try:
            return [len(data) / (1 << 20) / round_trip(port, data) for _ in range(rounds)]
        finally:
            port.close()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=8, help="MiB per round (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per bridge (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    data = os.urandom(args.mib << 20)
    echo = EchoServer()
    try:
        results = {"simulator": measure(simulator, echo, data, args.rounds)}
        if shutil.which("socat"):
            results["socat"] = measure(socat, echo, data, args.rounds)
    finally:
        echo.close()
    report = {"mib_per_round": args.mib, "rounds": args.rounds,
              "mib_per_s": {n: [round(v, 2) for v in values] for n, values in results.items()},
              "median_mib_per_s": {n: round(statistics.median(v), 2) for n, v in results.items()}}
    if "socat" in results:
        ratio = statistics.median(results["simulator"]) / statistics.median(results["socat"])
        report.update(ratio=round(ratio, 3), goal=GOAL, goal_met=ratio >= GOAL)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name, values in results.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:9s} median {statistics.median(values):7.1f} MiB/s  (rounds: {shown})")
    if "ratio" in report:
        verdict = "met" if report["goal_met"] else "NOT met"
        print(f"ratio simulator/socat {report['ratio']:.2f} (goal >= {GOAL}: {verdict})")
    else:
        print("socat not found (apt-get install socat): no baseline, no ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
