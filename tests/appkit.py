"""Helpers for the application tests: reading a module's answers line by line while URCs
come in between, so a test can wait for one line and keep the others."""

from __future__ import annotations

import re
import time

from modem import Port

FINALS = re.compile(r"OK|ERROR|\+CME ERROR: .*|CONNECT.*|SEND OK|> ?")


class Lines:
    def __init__(self, port: Port):
        self.port = port
        self.pending: list[str] = []
        self._partial = b""

    def _fill(self, deadline: float) -> bool:
        chunk = self.port.port.read(self.port.port.in_waiting or 1)
        if not chunk:
            return time.monotonic() < deadline
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\r\n")
        self.pending += [line.decode("latin-1") for line in complete if line]
        if self._partial in (b"> ", b">"):
            self.pending.append(self._partial.decode())
            self._partial = b""
        return True

    def wait(self, pattern: str, timeout: float = 15.0) -> str:
        """The first line matching `pattern` (a regex, from the start); others stay."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for i, line in enumerate(self.pending):
                if rx.match(line):
                    return self.pending.pop(i)
            if time.monotonic() > deadline or not self._fill(deadline):
                raise AssertionError(f"no line like {pattern!r}; have {self.pending!r}")

    def command(self, line: str, timeout: float = 15.0) -> list[str]:
        """Send a command; its lines up to the final result (URCs before it are kept)."""
        self.port.write(line.encode("latin-1") + b"\r")
        start = len(self.pending)
        deadline = time.monotonic() + timeout
        while True:
            for i in range(start, len(self.pending)):
                if FINALS.fullmatch(self.pending[i]):
                    answer = self.pending[start:i + 1]
                    del self.pending[start:i + 1]
                    return answer
            if time.monotonic() > deadline or not self._fill(deadline):
                raise AssertionError(f"no final result for {line!r}; have {self.pending!r}")

    def send(self, data: bytes) -> None:
        self.port.write(data)

    def quiet(self, pattern: str, seconds: float) -> None:
        """No line like `pattern` within `seconds`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._fill(deadline)
        assert not any(rx.match(line) for line in self.pending), self.pending


def attached(lines: Lines) -> None:
    """Polls AT+CEREG? until a cellular module is registered (home or roaming): its default
    bearer is up from then on."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lines.command("AT+CEREG?")[0].endswith((",1", ",5")):
            return
        lines.quiet("nothing", 0.2)
    raise AssertionError("the module did not register")


def upload(lines: Lines, name: str, data: bytes) -> None:
    """A module file written with AT+QFOPEN / AT+QFWRITE / AT+QFCLOSE (FCM360W)."""
    assert lines.command(f'AT+QFOPEN="{name}",1') == ["+QFOPEN: 1", "OK"]
    assert lines.command(f"AT+QFWRITE=1,{len(data)}") == ["CONNECT"]
    lines.send(data)
    assert lines.wait(r"\+QFWRITE:") == f"+QFWRITE: {len(data)},{len(data)}"
    assert lines.wait("OK") == "OK"
    assert lines.command("AT+QFCLOSE=1") == ["OK"]
