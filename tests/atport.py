"""A Port for socket tests: reads up to what is awaited and keeps the rest, because a URC or
pushed data may arrive in the same read as the response before it.
"""

from __future__ import annotations

import re
import time

from modem import Port

# final results of socket commands, besides OK and the errors
FINAL = re.compile(rb"\r\n(OK|ERROR|SEND OK|SEND FAIL|CONNECT|NO CARRIER|\+CME ERROR: [^\r]*)\r\n")
PROMPT = re.compile(rb"\r\n> ")


class AtPort(Port):
    def __init__(self, port: Port):
        super().__init__(port.port)
        self.buffer = port.buffer

    def _fill(self, deadline: float, what: str) -> None:
        if time.monotonic() > deadline:
            got = bytes(self.buffer)
            shown = repr(got) if len(got) < 300 else f"{len(got)} bytes ending {got[-200:]!r}"
            raise AssertionError(f"timed out waiting for {what}; got {shown}")
        self.buffer += self.port.read(self.port.in_waiting or 1)

    def take(self, token: bytes, timeout: float = 10.0) -> bytes:
        """Everything up to and including the first `token`; the rest stays buffered."""
        deadline = time.monotonic() + timeout
        while (at := self.buffer.find(token)) < 0:
            self._fill(deadline, repr(token))
        end = at + len(token)
        data, self.buffer = bytes(self.buffer[:end]), self.buffer[end:]
        return data

    def take_bytes(self, size: int, timeout: float = 20.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buffer) < size:
            self._fill(deadline, f"{size} bytes")
        data, self.buffer = bytes(self.buffer[:size]), self.buffer[size:]
        return data

    def at(self, line: str | bytes, timeout: float = 10.0, prompt: bool = False) -> bytes:
        """Send a command line; return its response through the final result (or through
        the data prompt, when `prompt`)."""
        if isinstance(line, str):
            line = line.encode()
        self.write(line + b"\r")
        deadline = time.monotonic() + timeout
        while not (match := FINAL.search(self.buffer) or (prompt and PROMPT.search(self.buffer))):
            self._fill(deadline, f"the result of {line!r}")
        data, self.buffer = bytes(self.buffer[:match.end()]), self.buffer[match.end():]
        return data

    def urc(self, line: str | bytes, timeout: float = 10.0) -> bytes:
        """Wait for one URC line; return what came before it (other URCs) and the line."""
        if isinstance(line, str):
            line = line.encode()
        return self.take(b"\r\n" + line + b"\r\n", timeout)

    def silence(self, seconds: float) -> bytes:
        """What arrives within `seconds`, including anything already buffered."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.buffer += self.port.read(self.port.in_waiting or 1)
        data, self.buffer = bytes(self.buffer), bytearray()
        return data
