"""The UART front end as a pure state machine: bytes in, echo and lines out."""

from __future__ import annotations

import pytest

from simulator.at.formatter import LineSettings
from simulator.line.discipline import LineDiscipline, Mode


class Rig:
    def __init__(self, echo: bool = True, limit: int = 32):
        self.echoed = bytearray()
        self.lines: list[str | None] = []
        self.ld = LineDiscipline(LineSettings(echo=echo), limit, self.echoed.extend,
                                 self._line)

    def _line(self, body: str | None) -> None:
        self.lines.append(body)
        self.ld.done()  # answer at once, as if the command took no time


@pytest.mark.parametrize(
    ("typed", "lines", "echo"),
    [
        (b"AT\r", [""], b"AT\r"),
        (b"at+csq\r", ["+csq"], b"at+csq\r"),
        (b"AT\r\nAT\r\n", ["", ""], b"AT\rAT\r"),  # the LF after CR is swallowed, not echoed
        (b"junkAT+X\r", ["+X"], b"junkAT+X\r"),
        (b"hello\r", [], b"hello\r"),  # no AT: silence
        (b"AT+CGMX\x08I\r", ["+CGMI"], b"AT+CGMX\x08I\r"),
        (b"\x1a\x1bAT\r", [""], b"AT\r"),  # stray Ctrl-Z / ESC ignored, not echoed
        (b"AT+CGMM\rA/", ["+CGMM", "+CGMM"], b"AT+CGMM\rA/"),
        (b"AT" + b"X" * 40 + b"\r", [None], b"AT" + b"X" * 40 + b"\r"),  # over the limit
    ],
)
def test_command_mode(typed: bytes, lines: list, echo: bytes) -> None:
    rig = Rig()
    rig.ld.feed(typed)
    assert rig.lines == lines
    assert bytes(rig.echoed) == echo


def test_byte_at_a_time_is_the_same_as_one_write() -> None:
    rig = Rig()
    for b in b"AT+A\r\nAT+B\r":
        rig.ld.feed(bytes((b,)))
    assert rig.lines == ["+A", "+B"]


def test_no_echo_when_off() -> None:
    rig = Rig(echo=False)
    rig.ld.feed(b"AT\r")
    assert rig.lines == [""] and rig.echoed == b""


def test_bytes_while_busy_wait_for_the_command() -> None:
    got: list[str | None] = []
    ld = LineDiscipline(LineSettings(echo=False), 64, lambda b: None, got.append)
    ld.feed(b"AT+SLOW\rAT+NEXT\r")
    assert got == ["+SLOW"] and ld.mode is Mode.BUSY
    ld.done()
    assert got == ["+SLOW", "+NEXT"]


def test_data_entry_variable_length() -> None:
    rig = Rig(echo=False)
    payloads: list[bytes | None] = []
    rig.ld.mode = Mode.BUSY
    rig.ld.collect(None, payloads.append)
    rig.ld.feed(b"hello\r\n\x1aAT\r")
    assert payloads == [b"hello\r\n"]
    rig.ld.done()
    assert rig.lines == [""]


def test_data_entry_escape_cancels() -> None:
    rig = Rig(echo=False)
    payloads: list[bytes | None] = []
    rig.ld.collect(None, payloads.append)
    rig.ld.feed(b"abc\x1b")
    assert payloads == [None]


def test_fixed_length_takes_ctrl_z_as_data() -> None:
    rig = Rig(echo=False)
    payloads: list[bytes | None] = []
    rig.ld.collect(3, payloads.append)
    rig.ld.feed(b"a\x1ab\x1b")
    assert payloads == [b"a\x1ab"]


def test_lf_of_the_command_line_never_becomes_payload() -> None:
    got: list[str | None] = []
    ld = LineDiscipline(LineSettings(echo=False), 64, lambda b: None, got.append)
    payloads: list[bytes | None] = []
    ld.feed(b"AT+SEND\r")
    ld.feed(b"\n")  # the LF of CR LF comes while the command runs, before the prompt
    ld.collect(2, payloads.append)
    ld.feed(b"ab")
    assert payloads == [b"ab"]


def test_lf_typed_after_the_prompt_is_payload() -> None:
    """Binary payloads may start with LF: once the prompt is out, every byte is data."""
    ld = LineDiscipline(LineSettings(echo=False), 64, lambda b: None, lambda body: None)
    payloads: list[bytes | None] = []
    ld.feed(b"AT+SEND\r")
    ld.collect(2, payloads.append)
    ld.feed(b"\nab")
    assert payloads == [b"\na"]
