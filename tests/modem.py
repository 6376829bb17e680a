"""Test helper: a simulator subprocess started through the real CLI, and its PTY opened with
pyserial, with reads that wait on data (never fixed sleeps).
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import serial

ROOT = Path(__file__).resolve().parent.parent
FINAL = re.compile(rb"\r\n(OK|ERROR|NO CARRIER|\+CM[ES] ERROR: [^\r]*)\r\n")
NUMERIC_FINAL = re.compile(rb"(^|\n)\d\r")  # ATV0: "0<CR>" at the start of a line


class Sim:
    """One `modemsim run` process."""

    def __init__(self, profile: str, data_dir: Path, *extra: str, time_scale: float = 1.0):
        self.argv = [sys.executable, "-m", "simulator", "run", "--profile", profile,
                     "--data-dir", str(data_dir), "--time-scale", str(time_scale), *extra]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.ready = self._read_ready(timeout=60)  # a loaded machine starts slowly
        match = re.fullmatch(r"(\S+) ready on (/dev/pts/\d+)( \(link (.+)\))?", self.ready)
        assert match, self.ready
        self.name, self.path = match[1], match[2]

    def _read_ready(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            self.proc.kill()
            raise AssertionError("simulator printed no ready line")
        line = self.proc.stdout.readline().decode().rstrip("\n")
        if not line:
            raise AssertionError(f"simulator exited: {self.proc.stderr.read().decode()}")
        return line

    def open(self, **kwargs) -> Port:
        return Port(serial.Serial(self.path, timeout=0.05, **kwargs))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Port:
    """A pyserial port (or a socket wrapped by pyserial) with waiting reads."""

    def __init__(self, port: serial.SerialBase):
        self.port = port
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def read_until(self, predicate, timeout: float = 10.0) -> bytes:
        """Read until `predicate(buffer)` holds; return and consume the buffer."""
        deadline = time.monotonic() + timeout
        while not predicate(bytes(self.buffer)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {bytes(self.buffer)!r}")
            self.buffer += self.port.read(self.port.in_waiting or 1)
        data, self.buffer = bytes(self.buffer), bytearray()
        return data

    def expect(self, tail: bytes, timeout: float = 10.0) -> bytes:
        return self.read_until(lambda b: b.endswith(tail), timeout)

    def command(self, line: bytes | str, timeout: float = 10.0, final: re.Pattern = FINAL) -> bytes:
        """Send one line (CR added); return what arrived up to its final result, leaving what
        followed it (a URC released after the result) in the buffer for the next read."""
        if isinstance(line, str):
            line = line.encode()
        self.write(line + b"\r")
        deadline = time.monotonic() + timeout
        while (match := final.search(self.buffer)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no final result; got {bytes(self.buffer)!r}")
            self.buffer += self.port.read(self.port.in_waiting or 1)
        data = bytes(self.buffer[:match.end()])
        del self.buffer[:match.end()]
        return data

    def quiet_for(self, seconds: float) -> bytes:
        """Whatever arrives in the next `seconds` (for checking that nothing does)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.buffer += self.port.read(self.port.in_waiting or 1)
        data, self.buffer = bytes(self.buffer), bytearray()
        return data

    def close(self) -> None:
        self.port.close()
