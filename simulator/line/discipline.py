"""The byte-level front end of one channel, as a real module's UART handler behaves.

Modes: COMMAND (assemble an AT line: echo, S3/S5, LF swallowing, A/), BUSY (a command is
running: bytes wait in a backlog), DATA (after a `>` prompt: fixed length, or Ctrl-Z /
ESC), ONLINE (transparent data mode after CONNECT: raw bytes to a sink, left by a guarded
`+++`, see online.py) and ASLEEP (deep sleep: no echo, no lines; the first byte's edge wakes
the module). It knows nothing of commands or modules: it calls back with what it assembled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum, auto

from simulator.at.formatter import LineSettings
from simulator.clock import Clock
from simulator.line.online import Escape

CTRL_Z, ESC, LF = 0x1A, 0x1B, 0x0A


class Mode(Enum):
    COMMAND = auto()
    BUSY = auto()
    DATA = auto()
    ONLINE = auto()
    ASLEEP = auto()


class LineDiscipline:
    def __init__(
        self,
        settings: LineSettings,
        limit: int,
        echo: Callable[[bytes], None],
        on_line: Callable[[str | None], None],
    ):
        """`on_line(body)` gets the text after "AT", or None for an over-long line."""
        self.settings = settings
        self.limit = limit
        self._echo = echo
        self._specials: tuple[int, int, re.Pattern[bytes]] | None = None
        self._echoed = bytearray()  # echo of one fed chunk, written in one go
        self._on_line = on_line
        self._lines: list[str | None] = []  # a line assembled, handed over after its chunk
        self._delivering = False
        self.mode = Mode.COMMAND
        self._line = bytearray()
        self._overflow = False
        self._previous = ""  # the last line, for A/
        self._after_cr = False
        self._backlog = bytearray()
        # data entry
        self._want: int | None = None
        self._data = bytearray()
        self._data_echo = True
        self._on_data: Callable[[bytes | None], None] | None = None
        self._online: Escape | None = None
        # deep sleep: what a byte's edge calls, and whether the bytes are kept for after it
        self._on_edge: Callable[[], None] | None = None
        self._keep = False

    # -- mode changes requested by the channel ------------------------------------------
    def done(self) -> None:
        """The running command finished: back to command mode, then work off the backlog."""
        if self.mode in (Mode.BUSY, Mode.DATA):
            self.mode = Mode.COMMAND
        backlog, self._backlog = bytes(self._backlog), bytearray()
        if backlog:
            self.feed(backlog)

    def collect(self, length: int | None, on_data: Callable[[bytes | None], None],
                echo: bool = True) -> None:
        """Enter data entry; `on_data` gets the payload, or None when ESC cancels."""
        self.mode = Mode.DATA
        # the LF of the command's CR LF came while it ran; from the prompt on, LF is payload
        self._after_cr = False
        self._want, self._data, self._on_data = length, bytearray(), on_data
        self._data_echo = echo
        if length == 0:
            self._finish_data(b"")
        elif self._backlog:  # payload typed before the prompt was printed
            backlog, self._backlog = bytes(self._backlog), bytearray()
            self.feed(backlog)

    def online(self, clock: Clock, guard: float, sink: Callable[[bytes], None],
               on_escape: Callable[[], None]) -> None:
        """Enter online data mode: bytes go to `sink` until a guarded `+++` (`on_escape`)."""
        self.mode = Mode.ONLINE
        self._after_cr = False  # as for data entry: every byte from now on is data
        self._online = Escape(clock, guard, sink, on_escape)
        backlog, self._backlog = bytes(self._backlog), bytearray()
        if backlog:  # data typed right after CONNECT, before the mode changed
            self._online.feed(backlog)

    def offline(self) -> None:
        """Leave online data mode (after the escape, or because the link dropped)."""
        if self._online is not None:
            self._online.close()
            self._online = None
        if self.mode is Mode.ONLINE:
            self.mode = Mode.BUSY  # the channel prints OK / NO CARRIER, then calls done()

    def sleep(self, on_edge: Callable[[], None], keep: bool = False) -> None:
        """Deep sleep: the UART is off. Every byte calls `on_edge`; the bytes are lost, or
        with `keep` held for `wake()` (a module whose UART wakes without losing them)."""
        self.mode = Mode.ASLEEP
        self._on_edge, self._keep = on_edge, keep
        self.forget()
        self._after_cr = False

    def wake(self) -> bytes:
        """Out of deep sleep: back to command mode; returns the bytes kept while asleep."""
        if self.mode is Mode.ASLEEP:
            self.mode = Mode.COMMAND
        self._on_edge = None
        kept, self._backlog = bytes(self._backlog), bytearray()
        return kept

    def forget(self) -> None:
        """Drop a half-typed line and the typed-ahead backlog (the module is resetting)."""
        self._line.clear()
        self._backlog.clear()
        self._overflow = False

    def cancel_data(self) -> None:
        if self.mode is Mode.DATA:
            self._finish_data(None)

    def take_data(self) -> None:
        """End data entry early with what has arrived (a data phase that timed out)."""
        if self.mode is Mode.DATA:
            self._finish_data(bytes(self._data))

    # -- bytes from the host ---------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.mode is Mode.ASLEEP:
            if self._keep:
                self._backlog += data
            if self._on_edge:
                self._on_edge()
            return
        try:
            self._feed(data)
        finally:
            self._flush_echo()
        self._deliver()

    def _deliver(self) -> None:
        """Hand the assembled line over once the rest of its chunk waits in the backlog.

        A command that finishes at once calls done(), which feeds the backlog and may assemble
        the next line: that one is left for this loop rather than nested (a host may type
        ahead many lines in one write).
        """
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._lines:
                self._on_line(self._lines.pop())
        finally:
            self._delivering = False

    def _flush_echo(self) -> None:
        if self._echoed:
            echoed, self._echoed = bytes(self._echoed), bytearray()
            self._echo(echoed)

    def _feed(self, data: bytes) -> None:
        i = 0
        while i < len(data):
            if self.mode is Mode.ONLINE and self._online is not None:
                self._online.feed(data[i:])  # whole reads at once: bulk data must stay fast
                return
            if self.mode is Mode.COMMAND and not self._after_cr:
                i = self._command_run(data, i)
                if i >= len(data):
                    return
            byte = data[i]
            i += 1
            if byte == LF and self._after_cr:
                self._after_cr = False  # CR LF ends a line once; the LF is never payload
                continue
            self._after_cr = False
            mode = self.mode
            if mode is Mode.COMMAND:
                self._command_byte(byte)
            elif mode is Mode.BUSY:
                self._backlog += data[i - 1:]
                return
            else:
                self._data_byte(byte)

    def _special(self) -> re.Pattern[bytes]:
        """Bytes that need the byte-by-byte path: S3, S5, LF, "/" (A/), Ctrl-Z, ESC."""
        s3, s5 = self.settings.sregs[3], self.settings.sregs[5]
        if self._specials is None or self._specials[:2] != (s3, s5):
            chars = bytes(sorted({s3, s5, LF, ord("/"), CTRL_Z, ESC}))
            self._specials = (s3, s5, re.compile(b"[" + re.escape(chars) + b"]"))
        return self._specials[2]

    def _command_run(self, data: bytes, start: int) -> int:
        """Take the plain characters of a command line in one slice; stop at any special byte."""
        match = self._special().search(data, start)
        end = match.start() if match else len(data)
        if end > start:
            run = data[start:end]
            if self.settings.echo:
                self._echoed += run
            room = self.limit - len(self._line)
            self._line += run[:room]
            if len(run) > room:
                self._overflow = True
        return end

    def _command_byte(self, byte: int) -> None:
        s = self.settings
        if byte in (CTRL_Z, ESC):
            return  # stray terminators after a fixed-length send are ignored
        if s.echo:
            self._echoed.append(byte)
        if byte == s.sregs[3]:
            self._after_cr = True
            self._end_line()
        elif byte == s.sregs[5]:
            if self._line:
                self._line.pop()
        elif byte == ord("/") and self._line[-1:] in (b"A", b"a") and not _has_at(self._line):
            self._line.clear()
            self._dispatch(self._previous)
        elif len(self._line) < self.limit:
            self._line.append(byte)
        else:
            self._overflow = True

    def _end_line(self) -> None:
        line, overflow = bytes(self._line), self._overflow
        self._line.clear()
        self._overflow = False
        start = _at_index(line)
        if start < 0:
            return  # no "AT" on the line: real modules stay silent
        if overflow:
            self.mode = Mode.BUSY
            self._flush_echo()
            self._lines.append(None)
            return
        self._previous = line[start + 2:].decode("latin-1")
        self._dispatch(self._previous)

    def _dispatch(self, body: str) -> None:
        self.mode = Mode.BUSY
        self._flush_echo()  # the echo always precedes the response
        self._lines.append(body)

    def _data_byte(self, byte: int) -> None:
        if self._want is None:
            if byte == CTRL_Z:
                self._finish_data(bytes(self._data))
                return
            if byte == ESC:
                self._finish_data(None)
                return
        if self._data_echo and self.settings.echo:
            self._echoed.append(byte)
        self._data.append(byte)
        if self._want is not None and len(self._data) >= self._want:
            self._finish_data(bytes(self._data))

    def _finish_data(self, payload: bytes | None) -> None:
        self._flush_echo()
        callback, self._on_data = self._on_data, None
        self.mode = Mode.BUSY
        self._data = bytearray()
        if callback:
            callback(payload)


def _at_index(line: bytes) -> int:
    return line.upper().find(b"AT")


def _has_at(line: bytes) -> bool:
    return _at_index(line) >= 0
