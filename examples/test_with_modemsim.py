"""How a firmware or driver team tests against modemsim with its pytest plugin.

With the package installed (`pip install modemsim`) the `modemsim` fixture is there; no
conftest, no copied code. Run: `python -m pytest examples/test_with_modemsim.py`.
"""

from __future__ import annotations

import serial

FINALS = ("OK", "ERROR", "+CME ERROR")


def command(port: serial.Serial, line: str) -> tuple[list[str], str]:
    """A minimal AT driver: send a line, collect the information lines and the final result."""
    port.write(line.encode() + b"\r")
    lines: list[str] = []
    while True:
        raw = port.readline()
        if not raw:
            raise TimeoutError(f"no final result for {line}")
        text = raw.decode("latin-1").strip()
        if text.startswith(FINALS):
            return lines, text
        if text and text != line:  # skip blank lines and the echo
            lines.append(text)


def test_driver_sees_a_forced_error_once_then_the_real_answer(modemsim):
    modem = modemsim("ec200t", time_scale=60)  # boot timings run 60 times faster
    modem.wait_ready()
    with modem.open_serial(timeout=5) as port:
        modem.fault("AT+CGMI", reply="+CME ERROR: 100", times=1)
        assert command(port, "AT+CGMI") == ([], "+CME ERROR: 100")
        assert command(port, "AT+CGMI") == (["Quectel"], "OK")


def test_a_urc_inside_a_multi_line_response(modemsim):
    modem = modemsim("bc660k", time_scale=60)
    modem.wait_ready()
    with modem.open_serial(timeout=5) as port:
        modem.urc("+CEREG:5", inside=True)  # some firmware lets a URC slip into a response
        lines, final = command(port, "ATI")
        assert final == "OK" and lines[1] == "+CEREG:5"
