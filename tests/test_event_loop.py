"""The same bytes whichever event loop serves the PTY (`modemsim run --loop`): lines a host
types ahead in one write, echo, a chained line that stops at its first failure, data entry."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from modem import Port

DIALOG: list[tuple[bytes, bytes]] = [  # (typed in one write, the answer's last bytes)
    (b"AT+CMEE=1\rAT+CSQ\r\nATI\r", b"\r\nOK\r\n"),
    (b"AT+CGMI;+QNOPE;+CGMM\r", b"ERROR\r\n"),
    (b"AT+CMGF=1\r", b"OK\r\n"),
    (b'AT+CMGW="+15551234"\rhello\x1a', b"OK\r\n"),
    (b"AT+CMGD=0,4\r", b"OK\r\n"),
]


def dialog(port: Port) -> list[bytes]:
    answers = []
    for typed, tail in DIALOG:
        port.write(typed)
        answers.append(port.expect(tail))
    return answers


@pytest.mark.parametrize("loop", ["uvloop", "auto"])
def test_same_bytes_as_on_asyncio(modem: Callable[..., Port], loop: str) -> None:
    reference = dialog(modem("ec200t", echo=True))
    answers = dialog(modem("ec200t", "--loop", loop, echo=True))
    assert answers == reference
    assert answers[0].startswith(b"AT+CMEE=1\r\r\nOK\r\nAT+CSQ\r\r\n+CSQ: ")  # echo, answer
    assert answers[1] == b"AT+CGMI;+QNOPE;+CGMM\r\r\nQuectel\r\n\r\nERROR\r\n"  # no +CGMM
    assert answers[3] == b'AT+CMGW="+15551234"\r\r\n> hello\r\n+CMGW: 0\r\n\r\nOK\r\n'
