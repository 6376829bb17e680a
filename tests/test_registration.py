"""Registration reports over the PTY: the timeline (searching, then home, roaming or denied)
with its URCs in every mode each family supports, read forms, and CFUN transitions.
"""

from __future__ import annotations

import pytest
from cellular import SEP, at, boot, lines, until, variant, wait_stat

LOC = {
    ("ec200t", "+CREG"): '"1A2D","01A2D001",7',
    ("ec200t", "+CGREG"): '"1A2D","01A2D001",7',
    ("ec200t", "+CEREG"): '"1A2D","01A2D001",7',
    ("bc660k", "+CEREG"): '"4C10","05C4EF33",9',
    ("m66", "+CREG"): '"1806","3C2F"',
    ("m66", "+CGREG"): '"1806","3C2F"',
    ("n11v2", "+CREG"): '"286F","00000FCA"',
    ("n11v2", "+CGREG"): '"286F","00000FCA",3',
}
MODES = {
    ("ec200t", "+CEREG"): [0, 1, 2, 4],
    ("bc660k", "+CEREG"): [0, 1, 2, 3, 4, 5],
}
TIMERS: dict[str, str] = {}  # bc660k shows PSM timers once PSM is asked for (test_psm.py)


def registered_fields(family: str, cmd: str, n: int) -> str:
    """What follows <stat> once registered home, in mode n."""
    if n < 2:
        return ""
    tail = "," + LOC[family, cmd]
    if n in (4, 5):
        tail += TIMERS.get(family, "")
    return tail


def urcs(data: bytes, cmd: str) -> list[str]:
    return [line for line in lines(data) if line.startswith(cmd + ":")]


@pytest.mark.parametrize(("family", "cmd"), list(LOC))
def test_timeline_urcs_and_read_form_in_every_mode(modem, family, cmd):
    port = modem(family)
    wait_stat(port, cmd, {1})
    for n in MODES.get((family, cmd), [0, 1, 2]):
        timeline(port, family, cmd, n)


def timeline(port, family: str, cmd: str, n: int) -> None:
    """Mode n: the read form while registered, then CFUN=0 and CFUN=1 with their URCs."""
    sep = SEP[family]
    home = f"{cmd}{sep}1{registered_fields(family, cmd, n)}"
    assert at(port, f"AT{cmd}={n}").endswith(b"\r\nOK\r\n")
    if family == "n11v2" and cmd == "+CREG" and n == 2:  # Neoway re-reports at once
        assert urcs(until(port, home), cmd) == [home]
    read = f"{cmd}{sep}{n},1{registered_fields(family, cmd, n)}"
    assert lines(at(port, f"AT{cmd}?"))[-2:] == [read, "OK"]
    off = at(port, "AT+CFUN=0")
    if n:
        off += until(port, f"{cmd}{sep}0")
    assert urcs(off, cmd) == ([f"{cmd}{sep}0"] if n else [])
    assert lines(at(port, f"AT{cmd}?"))[-2:] == [f"{cmd}{sep}{n},0", "OK"]
    on = at(port, "AT+CFUN=1")
    if n:
        on += until(port, home)
        assert urcs(on, cmd) == [f"{cmd}{sep}2", home], n
    else:
        wait_stat(port, cmd, {1})
        assert urcs(on + port.quiet_for(0.3), cmd) == []
    wait_stat(port, cmd, {1})


@pytest.mark.parametrize(("family", "cmd", "n", "denied"), [
    ("ec200t", "+CREG", 2, "+CREG: 3"),
    ("ec200t", "+CEREG", 1, "+CEREG: 3"),
    ("bc660k", "+CEREG", 5, "+CEREG:3,,,,0,15"),
    ("bc660k", "+CEREG", 3, "+CEREG:3,,,,0,15"),
    ("m66", "+CGREG", 2, "+CGREG: 3"),
])
def test_denied(modem, sim, tmp_path, family, cmd, n, denied):
    port = boot(sim, variant(tmp_path, family, network={"outcome": "deny"}),
                _tail(family))
    at(port, f"AT{cmd}={n}")
    at(port, "AT+CFUN=0")
    until(port, f"{cmd}{SEP[family]}0")  # URCs held by AT+CFUN=0 out before AT+CFUN=1 runs
    at(port, "AT+CFUN=1")
    got = until(port, denied)
    assert urcs(got, cmd)[-2:] == [f"{cmd}{SEP[family]}2", denied]
    read = lines(at(port, f"AT{cmd}?"))[-2]
    assert read == f"{cmd}{SEP[family]}{n},{denied[len(cmd) + len(SEP[family]):]}"


def _tail(family: str) -> bytes:
    return {"ec200t": b"+QIND: PB DONE\r\n", "bc660k": b"+CPIN: READY\r\n",
            "m66": b"SMS Ready\r\n", "n11v2": b"+PBREADY\r\n"}[family]


@pytest.mark.parametrize("family", ["ec200t", "m66", "n11v2"])
def test_roaming(sim, tmp_path, family):
    port = boot(sim, variant(tmp_path, family, network={"roaming": True}), _tail(family))
    assert wait_stat(port, "+CREG", {5}) == 5
    at(port, "AT+CREG=2")
    at(port, "AT+CFUN=0")
    at(port, "AT+CFUN=1")
    until(port, "+CREG: 2")
    roaming = f"+CREG: 5,{LOC[family, '+CREG']}"
    assert urcs(until(port, roaming), "+CREG") == [roaming]


def test_neoway_attach_reports_around_the_ok(modem):
    """N11V2: CGATT=0 shows stat 4; CGATT=1 prints the searching report inside its response
    (before OK) and the registered one after it."""
    port = modem("n11v2")
    wait_stat(port, "+CGREG", {1})
    assert at(port, "AT+CGREG=1") == b"\r\nOK\r\n"
    assert at(port, "AT+CGATT=0") == b"\r\nOK\r\n"
    assert port.expect(b"+CGREG: 4\r\n") == b"\r\n+CGREG: 4\r\n"
    assert at(port, "AT+CGATT?") == b"\r\n+CGATT: 0\r\n\r\nOK\r\n"
    assert at(port, "AT+CGREG=2") == b"\r\nOK\r\n"
    assert at(port, "AT+CGATT=1") == b'\r\n+CGREG: 2,"286F","00000FCA",3\r\n\r\nOK\r\n'
    assert port.expect(b'+CGREG: 1,"286F","00000FCA",3\r\n') == (
        b'\r\n+CGREG: 1,"286F","00000FCA",3\r\n')
    assert at(port, "AT+CGREG?") == b'\r\n+CGREG: 2,1,"286F","00000FCA",3\r\n\r\nOK\r\n'
    assert at(port, "AT+CREG?") == b"\r\n+CREG: 0,1\r\n\r\nOK\r\n"  # CS unaffected


def test_mode_ranges_and_test_forms(modem):
    port = modem("n11v2")
    assert at(port, "AT+CREG=?") == b"\r\n+CREG: (0-2)\r\n\r\nOK\r\n"
    assert at(port, "AT+CGREG=?") == b"\r\n+CGREG: (0,1,2)\r\n\r\nOK\r\n"
    assert at(port, "AT+CGREG=3") == b"\r\nERROR\r\n"
    at(port, "AT+CMEE=1")
    assert at(port, "AT+CREG=5") == b"\r\n+CME ERROR: 53\r\n"
    port = modem("bc660k")
    assert at(port, "AT+CEREG=?") == b"\r\n+CEREG:(0-5)\r\n\r\nOK\r\n"
    assert at(port, "AT+CEREG=6") == b"\r\nERROR\r\n"
    assert at(port, "AT+CREG?") == b"\r\nERROR\r\n"  # NB-IoT only: no CS reports


@pytest.mark.parametrize(("family", "funs", "test_form"), [
    ("ec200t", [0, 4], "+CFUN: (0,1,4),(0,1)"),
    ("m66", [0, 4], "+CFUN: (0,1,4),(0,1)"),
    ("bc660k", [0], "+CFUN: (0,1),(0,1)"),
    ("n11v2", [0], "+CFUN: (0-1),(0-1)"),
])
def test_cfun_levels_take_the_module_off_the_network(modem, family, funs, test_form):
    port = modem(family)
    cmd = "+CEREG" if family in ("bc660k", "ec200t") else "+CREG"
    wait_stat(port, cmd, {1})
    assert lines(at(port, "AT+CFUN=?")) == [test_form, "OK"]
    for fun in funs:
        assert at(port, f"AT+CFUN={fun}").endswith(b"\r\nOK\r\n")
        assert lines(at(port, "AT+CFUN?"))[-2:] == [f"+CFUN: {fun}", "OK"]
        assert wait_stat(port, cmd, {0}) == 0
        assert lines(at(port, "AT+CSQ"))[-2][-5:] == "99,99"
        assert lines(at(port, "AT+COPS?"))[-2:] == ["+COPS: 0", "OK"]
        at(port, "AT+CFUN=1")
        assert wait_stat(port, cmd, {1}) == 1
    assert at(port, "AT+CFUN=7") == b"\r\nERROR\r\n"


def test_cfun_0_powers_the_gsm_sim_down(modem):
    port = modem("m66")
    at(port, "AT+CMEE=2")
    at(port, "AT+CFUN=0")
    assert at(port, "AT+CIMI") == b"\r\n+CME ERROR: SIM powered down\r\n"
    at(port, "AT+CFUN=4")
    assert at(port, "AT+CPIN?").endswith(b"\r\n+CPIN: READY\r\n\r\nOK\r\n")


def test_cfun_1_1_reboots_quectel_but_not_neoway(modem):
    port = modem("ec200t")
    assert at(port, "AT+CFUN=1,1") == b"\r\nOK\r\n"
    banner = port.expect(b"+QIND: PB DONE\r\n")
    assert lines(banner) == ["RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1",
                             "+QIND: SMS DONE", "+QIND: PB DONE"]
    port = modem("n11v2")
    assert at(port, "AT+CFUN=1,1") == b"\r\nOK\r\n"
    assert port.quiet_for(0.5) == b""  # restarts the RF only: no banner
    assert at(port, "AT+CFUN") == b"\r\nERROR\r\n"
    at(port, "AT+CMEE=1")
    assert at(port, "AT+CFUN") == b"\r\n+CME ERROR: 3\r\n"
