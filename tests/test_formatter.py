"""Reply values to bytes: V.250 framing, numeric and quiet modes, CMEE, per-prefix spacing."""

from __future__ import annotations

import pytest

from simulator.at.formatter import Formatter, LineSettings, Style
from simulator.at.replies import (
    CONNECT,
    ERROR,
    OK,
    CmeError,
    CmsError,
    Data,
    Info,
    NoResult,
    Prompt,
    Quoted,
    Result,
)

STYLE = Style(colon_space=True, colon_space_except=frozenset({"+CEREG"}),
              cme_text={10: "SIM not inserted"}, cms_text={310: "SIM not inserted"})
F = Formatter(STYLE)
V1 = LineSettings()
V0 = LineSettings(verbose=False)
Q1 = LineSettings(quiet=True)


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (Info.of("+CSQ", 20, 99), "+CSQ: 20,99"),
        (Info.of("+CEREG", 0, 1), "+CEREG:0,1"),
        (Info("+CEREG", (0, 1), colon_space=True), "+CEREG: 0,1"),
        (Info.of("+COPS", 0, 0, Quoted("CHINA MOBILE"), 7), '+COPS: 0,0,"CHINA MOBILE",7'),
        (Info.of("+CPSMS", 1, None, None, Quoted("01000010")), '+CPSMS: 1,,,"01000010"'),
        (Info.text("Revision: X"), "Revision: X"),
    ],
)
def test_info_lines(line: Info, text: str) -> None:
    assert F.info(line) == text


def test_block_has_one_leading_eol_and_one_per_line() -> None:
    lines = [Info.text("Quectel"), Info.text("EC200T"), Data(b"raw\x00")]
    assert F.lines(lines, V1) == b"\r\nQuectel\r\nEC200T\r\nraw\x00\r\n"
    assert F.lines(lines, V0) == b"Quectel\r\nEC200T\r\nraw\x00\r\n"
    assert F.lines([], V1) == b""


@pytest.mark.parametrize(
    ("final", "settings", "cmee", "wire"),
    [
        (OK, V1, 0, b"\r\nOK\r\n"),
        (OK, V0, 0, b"0\r"),
        (ERROR, V0, 0, b"4\r"),
        (CONNECT, V0, 0, b"1\r"),
        (OK, Q1, 0, b""),
        (Result("SEND OK"), V1, 0, b"\r\nSEND OK\r\n"),
        (Result("SEND OK"), V0, 0, b"SEND OK\r\n"),
        (CmeError(10), V1, 0, b"\r\nERROR\r\n"),
        (CmeError(10), V1, 1, b"\r\n+CME ERROR: 10\r\n"),
        (CmeError(10), V1, 2, b"\r\n+CME ERROR: SIM not inserted\r\n"),
        (CmeError(999), V1, 2, b"\r\n+CME ERROR: 999\r\n"),
        (CmsError(310), V1, 1, b"\r\n+CMS ERROR: 310\r\n"),
        (CmsError(310), V0, 0, b"4\r"),
        (NoResult(), V1, 0, b""),
    ],
)
def test_finals(final, settings: LineSettings, cmee: int, wire: bytes) -> None:
    assert F.final(final, settings, cmee) == wire


def test_s3_s4_shape_the_line_ends() -> None:
    s = LineSettings()
    s.sregs.update({3: ord("\r"), 4: ord("#")})
    assert F.final(OK, s, 0) == b"\r#OK\r#"


def test_urc_and_prompt() -> None:
    assert F.urc(Info.of("+QIURC", Quoted("closed"), 0), V1) == b'\r\n+QIURC: "closed",0\r\n'
    assert F.prompt(Prompt(on_data=lambda data: None), V1) == b"\r\n> "
