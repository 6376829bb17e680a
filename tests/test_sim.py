"""The SIM over a real PTY: states, PIN/PUK, the PIN lock, the card's numbers and files."""

from __future__ import annotations

import re

import pytest
from cellular import REPORT, at, boot, lines, variant, wait_stat


def luhn_ok(number: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(number)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def unswap(hexstr: str) -> str:
    """BCD with swapped nibbles, as SIM files store numbers (independent of the simulator)."""
    return "".join(hexstr[i + 1] + hexstr[i] for i in range(0, len(hexstr), 2)).rstrip("F")


def crsm(port, args: str) -> tuple[int, int, str]:
    reply = at(port, f"AT+CRSM={args}").decode()
    match = re.search(r'\+CRSM: (\d+),(\d+)(?:,"([0-9A-F]*)")?', reply)
    assert match, reply
    return int(match[1]), int(match[2]), match[3] or ""


ICCID_FORMS = {
    "bc660k": [("AT+NCCID", rb"\+NCCID:(\d{20})"), ("AT+QCCID", rb"\+QCCID: (\d{20})")],
    "ec200t": [("AT+QCCID", rb"\+QCCID: (\d{20})")],
    "m66": [("AT+QCCID", rb"(\d{20})"), ("AT+CCID", rb'\+CCID: "(\d{20})"')],
    "n11v2": [("AT+CCID", rb"\+CCID: (\d{20})")],
}
IMSI_FORM = {"bc660k": rb"(\d{15})", "ec200t": rb"(\d{15})", "m66": rb"(\d{15})",
             "n11v2": rb"\+CIMI: (\d{15})"}


@pytest.mark.parametrize("family", ["bc660k", "ec200t", "m66", "n11v2"])
def test_ready_card_numbers_in_the_family_spelling(modem, family):
    port = modem(family)
    assert at(port, "AT+CPIN?") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"
    iccids = set()
    for line, form in ICCID_FORMS[family]:
        reply = at(port, line)
        match = re.fullmatch(rb"\r\n" + form + rb"\r\n\r\nOK\r\n", reply)
        assert match, reply
        iccids.add(match[1].decode())
    (iccid,) = iccids
    assert iccid.startswith("89")
    assert luhn_ok(iccid) or family == "n11v2"  # n11v2 keeps its manual's ICCID
    reply = at(port, "AT+CIMI")
    imsi = re.fullmatch(rb"\r\n" + IMSI_FORM[family] + rb"\r\n\r\nOK\r\n", reply)
    assert imsi, reply
    assert unswap(crsm(port, "176,12258,0,0,10")[2]) == iccid


def test_card_files_read_as_a_host_reads_them(modem):
    port = modem("ec200t")
    imsi = lines(at(port, "AT+CIMI"))[0]
    sw1, sw2, body = crsm(port, "176,28423,0,0,9")  # EF IMSI
    assert (sw1, sw2) == (144, 0)
    assert int(body[:2], 16) == 8 and unswap(body[2:])[1:] == imsi
    _, _, spn = crsm(port, "176,28486,0,0,17")  # EF SPN: condition byte, then the name
    assert bytes.fromhex(spn[2:]).rstrip(b"\xff").decode() == "UNICOM"
    assert crsm(port, "176,28589,0,0,4")[2] == "00000002"  # EF AD: 2-digit MNC
    _, _, fcp = crsm(port, "192,28480,0,0,0")  # EF MSISDN: a linear file
    assert fcp.startswith("62") and "8205422100" in fcp
    record_len = int(fcp[fcp.index("8205422100") + 10:][:2], 16)
    _, _, record = crsm(port, f"178,28480,1,4,{record_len}")
    number = unswap(record[(record_len - 14) * 2 + 4:(record_len - 14) * 2 + 24])
    cnum = at(port, "AT+CNUM").decode()
    assert f'"+{number}",145' in cnum
    assert crsm(port, "176,28599,0,0,0")[:2] == (106, 130)  # no such file
    assert crsm(port, "176,12258,0,20,1")[:2] == (107, 0)  # offset past the end


def test_csim_answers_the_retry_queries(modem):
    port = modem("ec200t")
    assert at(port, 'AT+CSIM=10,"0020000100"') == b'\r\n+CSIM: 4,"63C3"\r\n\r\nOK\r\n'
    assert at(port, 'AT+CSIM=10,"002C000100"') == b'\r\n+CSIM: 4,"63CA"\r\n\r\nOK\r\n'


@pytest.mark.parametrize(("family", "banner"), [
    ("ec200t", [b"RDY", b"+CFUN: 1", b"+CPIN: NOT INSERTED"]),
    ("bc660k", [b"RDY", b"+CFUN: 1", b"+CPIN: NOT READY"]),
    ("m66", [b"RDY", b"+CFUN: 1", b"+CPIN: NOT INSERTED", b"Call Ready"]),
])
def test_absent_card_quectel(sim, tmp_path, family, banner):
    port = sim(variant(tmp_path, family, sim={"present": False}), time_scale=20).open()
    boot_lines = port.expect(banner[-1] + b"\r\n").split(b"\r\n")
    assert [x for x in boot_lines if x] == banner
    assert b"QIND" not in port.quiet_for(0.5)  # no SMS / phonebook without a card
    at(port, "ATE0")
    assert at(port, "AT+CPIN?") == b"\r\nERROR\r\n"  # CMEE=0
    at(port, "AT+CMEE=1")
    for line in ("AT+CPIN?", "AT+CIMI", "AT+CNUM", "AT+CRSM=176,12258,0,0,10"):
        assert at(port, line) == b"\r\n+CME ERROR: 10\r\n", line
    assert wait_stat(port, REPORT[family], {0}) == 0


def test_absent_card_neoway_answers_plain_error(sim, tmp_path):
    port = sim(variant(tmp_path, "n11v2", sim={"present": False}), time_scale=20).open()
    assert port.quiet_for(0.6) == b""  # no +PBREADY without a card
    at(port, "ATE0")
    at(port, "AT+CMEE=1")
    for line in ("AT+CPIN?", "AT+CIMI", "AT+CCID", "AT+CGATT=0"):
        assert at(port, line) == b"\r\nERROR\r\n", line
    assert at(port, "AT+CNUM") == b"\r\n+CME ERROR: 10\r\n"


def test_pin_locked_card_quectel(sim, tmp_path):
    port = boot(sim, variant(tmp_path, "ec200t", sim={"pin_enabled": True}),
                b"+CPIN: SIM PIN\r\n\r\n+QUSIM: 1\r\n")
    assert b"QIND" not in port.quiet_for(0.5)
    at(port, "AT+CMEE=1")
    assert at(port, "AT+CPIN?") == b"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
    assert at(port, "AT+CIMI") == b"\r\n+CME ERROR: 11\r\n"
    assert at(port, "AT+CRSM=176,28423,0,0,9") == b"\r\n+CRSM: 105,130\r\n\r\nOK\r\n"
    assert at(port, "AT+CEREG?") == b"\r\n+CEREG: 0,0\r\n\r\nOK\r\n"
    assert at(port, 'AT+CPIN="0000"') == b"\r\n+CME ERROR: 16\r\n"
    assert at(port, "AT+QPINC?") == (
        b'\r\n+QPINC: "SC",2,10\r\n+QPINC: "P2",3,10\r\n\r\nOK\r\n')
    assert at(port, 'AT+CPIN="1234"') == b"\r\nOK\r\n"
    assert port.expect(b"+QIND: PB DONE\r\n") == (
        b"\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n")
    assert wait_stat(port, "+CEREG", {1}) == 1
    assert at(port, "AT+QPINC?").startswith(b'\r\n+QPINC: "SC",3,10\r\n')
    assert at(port, 'AT+CPIN="1234"') == b"\r\n+CME ERROR: 3\r\n"  # nothing to enter


def test_puk_after_three_wrong_pins_then_new_pin(sim, tmp_path):
    port = boot(sim, variant(tmp_path, "ec200t", sim={"pin_enabled": True}),
                b"+QUSIM: 1\r\n")
    at(port, "AT+CMEE=1")
    assert at(port, 'AT+CPIN="1111"') == b"\r\n+CME ERROR: 16\r\n"
    assert at(port, 'AT+CPIN="2222"') == b"\r\n+CME ERROR: 16\r\n"
    assert at(port, 'AT+CPIN="3333"') == b"\r\n+CME ERROR: 12\r\n"
    assert at(port, "AT+CPIN?") == b"\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"
    assert at(port, 'AT+CPIN="1234"') == b"\r\n+CME ERROR: 50\r\n"  # PUK needs a new PIN
    assert at(port, 'AT+CPIN="87654321","4321"') == b"\r\n+CME ERROR: 16\r\n"
    assert at(port, 'AT+CPIN="12345678","4321"') == b"\r\nOK\r\n"
    port.expect(b"+QIND: PB DONE\r\n")
    assert at(port, "AT+CPIN?") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"
    assert at(port, 'AT+CLCK="SC",0,"1234"') == b"\r\n+CME ERROR: 16\r\n"
    assert at(port, 'AT+CLCK="SC",0,"4321"') == b"\r\nOK\r\n"


def test_pin_lock_applies_from_the_next_power_on(modem):
    port = modem("ec200t")
    at(port, "AT+CMEE=1")
    assert at(port, 'AT+CLCK="SC",2') == b"\r\n+CLCK: 0\r\n\r\nOK\r\n"
    assert at(port, 'AT+CLCK="SC",1,"1234"') == b"\r\nOK\r\n"
    assert at(port, 'AT+CLCK="SC",2') == b"\r\n+CLCK: 1\r\n\r\nOK\r\n"
    assert at(port, "AT+CPIN?") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"  # still unlocked
    assert at(port, "AT+CFUN=1,1") == b"\r\nOK\r\n"
    banner = port.expect(b"+QUSIM: 1\r\n")
    assert b"\r\nRDY\r\n" in banner and b"\r\n+CPIN: SIM PIN\r\n" in banner
    at(port, "ATE0")
    assert at(port, 'AT+CPIN="1234"') == b"\r\nOK\r\n"
    assert at(port, 'AT+CLCK="XX",2') == b"\r\nERROR\r\n"  # CMEE was reset: plain


def test_neoway_pin_change_needs_the_lock_and_quotes(modem):
    port = modem("n11v2")
    assert at(port, 'AT+CPWD=?') == b'\r\n+CPWD: ("SC",8),("P2",8)\r\n\r\nOK\r\n'
    at(port, "AT+CMEE=1")
    assert at(port, 'AT+CPWD="SC","1234","0000"') == b"\r\n+CME ERROR: 3\r\n"
    assert at(port, 'AT+CLCK="SC",1,"1234"') == b"\r\nOK\r\n"
    assert at(port, 'AT+CPWD="SC","1234","0000"') == b"\r\nOK\r\n"
    assert at(port, "AT+CPWD=SC,0000,1234") == b"\r\n+CME ERROR: 53\r\n"
    assert at(port, 'AT+CLCK="SC",0,"1234"') == b"\r\n+CME ERROR: 16\r\n"
    assert at(port, 'AT+CLCK="SC",0,"0000"') == b"\r\nOK\r\n"


@pytest.mark.parametrize(("family", "cnum"), [
    ("ec200t", rb'\+CNUM: "","\+86138\d{8}",145'),
    ("n11v2", rb'\+CNUM: "A","10086",129'),
])
def test_own_number(modem, family, cnum):
    reply = at(modem(family), "AT+CNUM")
    assert re.fullmatch(rb"\r\n" + cnum + rb"\r\n\r\nOK\r\n", reply), reply

