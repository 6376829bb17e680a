"""SMS over the real PTY, byte for byte: settings, sending in text and PDU mode, incoming
messages with +CMTI / +CMT, reading, listing, deleting, memories, and failures. PDUs the module
produces are decoded with smspdudecoder; PDUs a host sends are made with python-gsmmodem-new.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
from gsmmodem import pdu as host
from live import LiveModule
from modem import Port
from smspdudecoder.fields import SMSDeliver, SMSSubmit

from simulator.subsystems.base import Subsystem
from simulator.subsystems.sms import Sms

BOOT_TAIL = {"ec200t": b"+QIND: PB DONE\r\n", "m66": b"SMS Ready\r\n", "n11v2": b"+PBREADY\r\n"}
OK = b"\r\nOK\r\n"


class Started:
    def __init__(self, live: LiveModule, port: Port):
        self.live = live
        self.port = port
        self.sms: Sms = live.module.get(Sms)

    def cmd(self, line: str) -> bytes:
        return self.port.command(line)

    def deliver(self, sender: str, text: str, **kwargs) -> list[int | None]:
        return self.live.call(self.sms.deliver, sender, text, **kwargs)

    def send(self, line: str, payload: bytes, prompt: bytes = b"\r\n> ") -> bytes:
        """A command with a `>` prompt: the prompt bytes are checked, then the payload goes."""
        self.port.write(line.encode() + b"\r")
        assert self.port.expect(prompt) == prompt
        self.port.write(payload)
        return self.port.read_until(lambda b: re.search(rb"\r\n(OK|ERROR|\+CMS ERROR: \d+)\r\n$",
                                                        b) is not None, timeout=15)

    def sent(self) -> list[dict]:
        return self.live.call(lambda: list(self.sms.sent))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Started]]:
    started: list[LiveModule] = []

    def run(profile: str, registered: bool = True, data_dir: Path | None = None) -> Started:
        live = LiveModule(profile, data_dir or tmp_path / "data")
        started.append(live)
        port = live.open()
        port.expect(BOOT_TAIL[profile])
        port.command("ATE0")
        # the module registers by itself after its search; pin the outcome either way
        live.call(live.module.network.register if registered else live.module.network.deregister)
        return Started(live, port)

    yield run
    for live in started:
        live.stop()


def urc(port: Port, tail: bytes | None = None) -> bytes:
    """The next unsolicited line(s): up to `tail`, or one whole framed line."""
    if tail is not None:
        return port.expect(tail, timeout=10)
    return port.read_until(lambda b: re.fullmatch(rb"\r\n[^\r\n]+\r\n", b) is not None)


# -- settings and test forms ------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "line", "answer"), [
    ("ec200t", "AT+CMGF?", b"+CMGF: 0"),
    ("ec200t", "AT+CMGF=?", b"+CMGF: (0,1)"),
    ("ec200t", "AT+CSCS?", b'+CSCS: "GSM"'),
    ("ec200t", "AT+CSCS=?", b'+CSCS: ("GSM","IRA","UCS2")'),
    ("ec200t", "AT+CPMS?", b'+CPMS: "SM",0,50,"SM",0,50,"SM",0,50'),
    ("ec200t", "AT+CPMS=?", b'+CPMS: ("SM","ME","MT"),("SM","ME","MT"),("SM","ME","MT")'),
    ("ec200t", "AT+CNMI?", b"+CNMI: 2,1,0,0,0"),
    ("ec200t", "AT+CNMI=?", b"+CNMI: (0-2),(0-3),(0,2),(0,1),(0,1)"),
    ("ec200t", "AT+CSCA?", b'+CSCA: "+8613010112500",145'),
    ("ec200t", "AT+CSMP?", b"+CSMP: 17,167,0,0"),
    ("ec200t", "AT+CSDH?", b"+CSDH: 0"),
    ("ec200t", "AT+CMGD=?", b"+CMGD: (0-49),(0-4)"),
    ("m66", "AT+CSCS=?", b'+CSCS: ("GSM","HEX","IRA","PCCP936","UCS2")'),
    ("m66", "AT+CNMI=?", b"+CNMI: (0-3),(0-3),(0,2,3),(0,1),(0,1)"),
    ("m66", "AT+CPMS?", b'+CPMS: "SM",0,50,"SM",0,50,"SM",0,50'),
    ("m66", "AT+CMGD=?", b"+CMGD: (1-50),(0-4)"),
    ("n11v2", "AT+CNMI=?", b"+CNMI: (0-3), (0-3), (0,2), (0-1), (0,1)"),
    ("n11v2", "AT+CMGD=?", b"+CMGD: (1-50), (0-4)"),
    ("n11v2", "AT+CSCS=?", b'+CSCS: ("GSM","HEX","PCCP936","UCS2")'),
])
def test_read_and_test_forms(start, profile, line, answer):
    assert start(profile).cmd(line) == b"\r\n" + answer + b"\r\n" + OK


@pytest.mark.parametrize(("line", "answer"), [
    ("AT+CMGF=2", b"\r\n+CME ERROR: 50\r\n"),
    ("AT+CSDH=3", b"\r\n+CME ERROR: 50\r\n"),
    ('AT+CSCS="KOI8"', b"\r\n+CME ERROR: 50\r\n"),
    ("AT+CNMI=3,1,0,0,0", b"\r\n+CME ERROR: 50\r\n"),
    ('AT+CPMS="XX"', b"\r\n+CMS ERROR: 302\r\n"),
    ("AT+CMGR=50", b"\r\n+CMS ERROR: 321\r\n"),
    ("AT+CMGD=-1", b"\r\n+CMS ERROR: 321\r\n"),
    ("AT+CMGD=0,9", b"\r\n+CMS ERROR: 304\r\n"),
    ("AT+CMGD=x", b"\r\n+CME ERROR: 50\r\n"),
    ("AT+CMGL=7", b"\r\n+CMS ERROR: 304\r\n"),
    ("AT+CMGS=0", b"\r\n+CMS ERROR: 304\r\n"),
    ("AT+CMGS=165", b"\r\n+CMS ERROR: 304\r\n"),
])
def test_bad_arguments(start, line, answer):
    modem = start("ec200t")
    assert modem.cmd("AT+CMEE=1") == OK
    assert modem.cmd(line) == answer
    assert modem.cmd("AT") == OK


def test_settings_change_and_reset_at_reboot(start):
    modem = start("ec200t")
    for line in ("AT+CMGF=1", "AT+CSDH=1", "AT+CSMP=49,11,0,8", "AT+CNMI=1,2,0,1,0",
                 'AT+CSCA="+447785016005",145', 'AT+CPMS="ME","ME","ME"'):
        assert modem.cmd(line).endswith(OK), line
    assert modem.cmd("AT+CMGF?") == b"\r\n+CMGF: 1\r\n" + OK
    assert modem.cmd("AT+CSMP?") == b"\r\n+CSMP: 49,11,0,8\r\n" + OK
    assert modem.cmd("AT+CNMI?") == b"\r\n+CNMI: 1,2,0,1,0\r\n" + OK
    modem.port.write(b"AT+CFUN=1,1\r")
    modem.port.expect(BOOT_TAIL["ec200t"], timeout=20)
    modem.cmd("ATE0")
    assert modem.cmd("AT+CMGF?") == b"\r\n+CMGF: 0\r\n" + OK
    assert modem.cmd("AT+CSMP?") == b"\r\n+CSMP: 17,167,0,0\r\n" + OK
    assert modem.cmd("AT+CNMI?") == b"\r\n+CNMI: 2,1,0,0,0\r\n" + OK
    # the SIM keeps the service centre, and the memory choice is saved
    assert modem.cmd("AT+CSCA?") == b'\r\n+CSCA: "+447785016005",145\r\n' + OK
    assert modem.cmd("AT+CPMS?") == b'\r\n+CPMS: "ME",0,255,"ME",0,255,"ME",0,255\r\n' + OK


# -- sending -------------------------------------------------------------------------------


def test_text_mode_send_exact_bytes_and_the_pdu_on_air(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMGF=1") == OK
    answer = modem.send('AT+CMGS="+8613700000000"', b"Hello from the simulator\x1a")
    match = re.fullmatch(rb"\r\n\+CMGS: (\d+)\r\n\r\nOK\r\n", answer)
    assert match, answer
    (sent,) = modem.sent()
    assert sent["mr"] == int(match[1]) and sent["to"] == "+8613700000000"
    ref = SMSSubmit.decode(StringIO(sent["pdu"]))
    assert ref["smsc"]["number"] == "8613010112500"
    assert ref["message-ref"] == int(match[1])
    assert ref["recipient"] == {"length": 13, "toa": {"ton": "international", "npi": "isdn"},
                                "number": "8613700000000"}
    assert ref["header"]["vpf"] == 2 and ref["vp"] == 167  # AT+CSMP's defaults
    assert ref["dcs"] == {"encoding": "gsm"}
    assert ref["user_data"]["data"] == "Hello from the simulator"
    again = modem.send('AT+CMGS="10086"', b"second\x1a")
    assert again == f"\r\n+CMGS: {(int(match[1]) + 1) % 256}\r\n\r\nOK\r\n".encode()


def test_echo_of_command_prompt_and_text(start):
    modem = start("m66")
    assert modem.cmd("ATE1") == OK  # typed while echo was still off
    assert modem.cmd("AT+CMGF=1") == b"AT+CMGF=1\r" + OK
    answer = modem.send('AT+CMGS="123"', b"hi\x1a", prompt=b'AT+CMGS="123"\r\r\n> ')
    assert re.fullmatch(rb"hi\r\n\+CMGS: \d+\r\n\r\nOK\r\n", answer), answer


def test_esc_cancels_without_sending(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMGF=1") == OK
    assert modem.send('AT+CMGS="+8613700000000"', b"never mind\x1b") == OK
    assert modem.send("AT+CMGF=0;+CMGS=20", b"0011\x1b") == OK
    assert modem.sent() == []
    assert modem.cmd("AT") == OK


@pytest.mark.parametrize("text", ["Plain GSM text: 5€ {ok}", "中文短信测试 UCS2"])
def test_pdu_mode_send_of_a_host_encoded_pdu(start, text):
    modem = start("ec200t")
    (part,) = host.encodeSmsSubmitPdu("+8613700000000", text, reference=0,
                                      requestStatusReport=False)
    data = bytes(part.data)  # "00" SMSC: the module uses AT+CSCA's
    length = len(data) - 1
    answer = modem.send(f"AT+CMGS={length}", data.hex().upper().encode() + b"\x1a")
    match = re.fullmatch(rb"\r\n\+CMGS: (\d+)\r\n\r\nOK\r\n", answer)
    assert match, answer
    (sent,) = modem.sent()
    ref = SMSSubmit.decode(StringIO(sent["pdu"]))
    assert ref["smsc"]["number"] == "8613010112500"
    assert ref["message-ref"] == int(match[1])  # the module numbers what it sends
    assert ref["recipient"]["number"] == "8613700000000"
    assert ref["user_data"]["data"] == text


def test_pdu_length_must_match_the_tpdu(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMEE=1") == OK
    (part,) = host.encodeSmsSubmitPdu("+8613700000000", "x", reference=0)
    data = bytes(part.data).hex().upper().encode()
    tpdu_length = len(part.data) - 1
    assert modem.send(f"AT+CMGS={tpdu_length + 1}", data + b"\x1a") == (
        b"\r\n+CMS ERROR: 304\r\n")
    assert modem.send(f"AT+CMGS={tpdu_length}", b"ZZ" + data + b"\x1a") == (
        b"\r\n+CMS ERROR: 304\r\n")
    assert modem.sent() == []


def test_text_too_long_for_one_message_is_refused(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMEE=1;+CMGF=1") == OK
    assert modem.send('AT+CMGS="123"', b"x" * 161 + b"\x1a") == b"\r\n+CMS ERROR: 513\r\n"
    assert re.fullmatch(rb"\r\n\+CMGS: \d+\r\n\r\nOK\r\n",
                        modem.send('AT+CMGS="123"', b"x" * 160 + b"\x1a"))


def test_ucs2_text_mode_send(start):
    modem = start("ec200t")
    assert modem.cmd('AT+CMGF=1;+CSCS="UCS2";+CSMP=17,167,0,8') == OK
    number = "+8613700000000".encode("utf-16-be").hex().upper()
    answer = modem.send(f'AT+CMGS="{number}"', "你好".encode("utf-16-be").hex().encode() + b"\x1a")
    assert answer.startswith(b"\r\n+CMGS: ")
    ref = SMSSubmit.decode(StringIO(modem.sent()[0]["pdu"]))
    assert ref["recipient"]["number"] == "8613700000000"
    assert ref["dcs"] == {"encoding": "ucs2"} and ref["user_data"]["data"] == "你好"


def test_status_report_comes_as_cds(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMGF=1;+CSMP=49,167,0,0;+CNMI=2,1,0,1,0") == OK
    answer = modem.send('AT+CMGS="+8613700000000"', b"report please\x1a")
    mr = int(re.search(rb"\+CMGS: (\d+)", answer)[1])
    report = urc(modem.port, b'",0\r\n')
    assert re.fullmatch(rb'\r\n\+CDS: 6,%d,"\+8613700000000",145,"[^"]+","[^"]+",0\r\n' % mr,
                        report), report
    assert SMSSubmit.decode(StringIO(modem.sent()[0]["pdu"]))["header"]["srr"] is True


def test_status_report_in_pdu_mode_decodes_with_the_host_library(start):
    modem = start("m66")
    assert modem.cmd("AT+CNMI=2,1,0,1,0") == OK
    (part,) = host.encodeSmsSubmitPdu("+8613700000000", "report", reference=0,
                                      requestStatusReport=True)
    data = bytes(part.data)
    answer = modem.send(f"AT+CMGS={len(data) - 1}", data.hex().upper().encode() + b"\x1a")
    mr = int(re.search(rb"\+CMGS: (\d+)", answer)[1])
    report = modem.port.read_until(
        lambda b: re.fullmatch(rb"\r\n\+CDS: \d+\r\n[0-9A-F]+\r\n", b) is not None)
    length, pdu_hex = re.fullmatch(rb"\r\n\+CDS: (\d+)\r\n([0-9A-F]+)\r\n", report).groups()
    decoded = host.decodeSmsPdu(pdu_hex.decode())
    assert decoded["type"] == "SMS-STATUS-REPORT" and decoded["tpdu_length"] == int(length)
    assert decoded["reference"] == mr and decoded["status"] == 0
    assert decoded["number"] == "+8613700000000"


def test_sending_needs_the_network(start):
    modem = start("ec200t", registered=False)
    assert modem.cmd("AT+CMEE=1;+CMGF=1") == OK
    assert modem.send('AT+CMGS="123"', b"hello\x1a") == b"\r\n+CMS ERROR: 331\r\n"


def test_sending_needs_a_service_centre(start):
    modem = start("ec200t")
    assert modem.cmd('AT+CMEE=1;+CMGF=1;+CSCA=""') == OK
    assert modem.cmd("AT+CSCA?") == b'\r\n+CSCA: "",129\r\n' + OK
    assert modem.send('AT+CMGS="123"', b"hello\x1a") == b"\r\n+CMS ERROR: 330\r\n"


class AbsentSim(Subsystem):
    """Stands in for the SIM subsystem (built in parallel) with its card pulled: the SMS side
    asks `Module.sim_ready()`, which every subsystem with a `sim_ready` answers."""

    name = "absent-sim"

    def sim_ready(self) -> bool:
        return False


def test_without_a_sim_sms_commands_fail_with_310(start):
    modem = start("ec200t")
    modem.live.call(modem.live.module.subsystems.append, AbsentSim(modem.live.module))
    assert modem.cmd("AT+CMEE=1") == OK
    for line in ("AT+CPMS?", 'AT+CPMS="SM"', "AT+CSCA?", "AT+CMGR=0", "AT+CMGL=4",
                 "AT+CMGD=0", "AT+CMGS=20", "AT+CMGW=20", "AT+CMSS=0"):
        assert modem.cmd(line) == b"\r\n+CMS ERROR: 310\r\n", line
    assert modem.cmd("AT+CMGF=1") == OK  # a setting of the module, not of the SIM
    assert modem.deliver("+8613912345678", "lost") == [None]
    assert modem.port.quiet_for(0.3) == b""


# -- receiving -------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "indication"), [
    ("ec200t", b'\r\n+CMTI: "SM",0\r\n'),
    ("m66", b'\r\n+CMTI: "SM", 1\r\n'),
    ("n11v2", b'\r\n+CMTI: "SM",1\r\n'),
])
def test_incoming_message_is_stored_and_indicated(start, profile, indication):
    modem = start(profile)
    first = 0 if profile == "ec200t" else 1
    assert modem.deliver("+8613912345678", "hello") == [first]
    assert urc(modem.port) == indication
    assert modem.cmd("AT+CPMS?") == b'\r\n+CPMS: "SM",1,50,"SM",1,50,"SM",1,50\r\n' + OK


def test_read_in_text_mode_marks_read(start):
    modem = start("ec200t")
    modem.deliver("+8613912345678", "hello world")
    urc(modem.port)
    assert modem.cmd("AT+CMGF=1") == OK
    first = modem.cmd("AT+CMGR=0")
    assert re.fullmatch(rb'\r\n\+CMGR: "REC UNREAD","\+8613912345678",,"[^"]+"\r\nhello world'
                        rb"\r\n\r\nOK\r\n", first), first
    assert modem.cmd("AT+CMGR=0").startswith(b'\r\n+CMGR: "REC READ",')
    assert modem.cmd("AT+CSDH=1") == OK
    full = modem.cmd("AT+CMGR=0")
    assert re.fullmatch(rb'\r\n\+CMGR: "REC READ","\+8613912345678",,"[^"]+",145,4,0,0,'
                        rb'"\+8613010112500",145,11\r\nhello world\r\n\r\nOK\r\n', full), full


def test_read_in_pdu_mode_decodes_with_the_reference(start):
    modem = start("ec200t")
    before = modem.live.call(modem.live.module.clock.wall)  # module time runs scaled
    modem.deliver("+8613912345678", "Grüße @ {home}")
    urc(modem.port)
    answer = modem.cmd("AT+CMGR=0")
    match = re.fullmatch(rb"\r\n\+CMGR: 0,,(\d+)\r\n([0-9A-F]+)\r\n\r\nOK\r\n", answer)
    assert match, answer
    data = bytes.fromhex(match[2].decode())
    assert int(match[1]) == len(data) - data[0] - 1  # <length> leaves out the SMSC part
    ref = SMSDeliver.decode(StringIO(match[2].decode()))
    assert ref["smsc"]["number"] == "8613010112500"
    assert ref["sender"]["number"] == "8613912345678"
    assert ref["user_data"]["data"] == "Grüße @ {home}"
    assert -1 <= (ref["scts"] - before).total_seconds() <= 60
    zone = data[data[0] + 1 + 1 + 9 + 2 + 6]  # SMSC, first octet, OA, PID and DCS, 6 of SCTS
    assert zone == 0x23  # +32 quarter hours (UTC+8), swapped BCD
    assert modem.cmd("AT+CMGR=0").startswith(b"\r\n+CMGR: 1,,")


def test_ucs2_message_read_back_in_ucs2_and_gsm(start):
    modem = start("ec200t")
    modem.deliver("+8613912345678", "你好，世界")
    urc(modem.port)
    body = "你好，世界".encode("utf-16-be").hex().upper().encode()
    number = "+8613912345678".encode("utf-16-be").hex().upper().encode()
    assert modem.cmd('AT+CMGF=1;+CSCS="UCS2"') == OK
    answer = modem.cmd("AT+CMGR=0")
    assert re.fullmatch(rb'\r\n\+CMGR: "REC UNREAD","%s",,"[^"]+"\r\n%s\r\n\r\nOK\r\n'
                        % (number, body), answer), answer
    assert modem.cmd('AT+CSCS="GSM"') == OK
    answer = modem.cmd("AT+CMGR=0")
    assert re.fullmatch(rb'\r\n\+CMGR: "REC READ","\+8613912345678",,"[^"]+"\r\n%s\r\n\r\nOK'
                        rb"\r\n" % body, answer), answer


def test_gsm_text_follows_the_character_set(start):
    modem = start("m66")
    modem.deliver("+8613912345678", "a@b_c{d}")
    urc(modem.port)
    assert modem.cmd("AT+CMGF=1") == OK
    assert modem.cmd("AT+CMGR=1").endswith(b"\r\na\x00b\x11c\x1b(d\x1b)\r\n" + OK)
    assert modem.cmd('AT+CSCS="IRA"') == OK
    assert modem.cmd("AT+CMGR=1").endswith(b"\r\na@b_c{d}\r\n" + OK)
    assert modem.cmd('AT+CSCS="HEX"') == OK
    assert modem.cmd("AT+CMGR=1").endswith(b"\r\n6100621163" + b"1B2864" + b"1B29\r\n" + OK)
    assert modem.cmd('AT+CSCS="UCS2"') == OK
    assert modem.cmd("AT+CMGR=1").endswith(
        b"\r\n" + "a@b_c{d}".encode("utf-16-be").hex().upper().encode() + b"\r\n" + OK)


def test_direct_display_cmt_in_text_and_pdu_mode(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMGF=1;+CNMI=2,2,0,0,0") == OK
    assert modem.deliver("+8613912345678", "shown, not stored") == [None]
    shown = urc(modem.port, b"stored\r\n")
    assert re.fullmatch(rb'\r\n\+CMT: "\+8613912345678",,"[^"]+"\r\nshown, not stored\r\n',
                        shown), shown
    assert modem.cmd("AT+CSDH=1") == OK
    modem.deliver("+8613912345678", "with header")
    shown = urc(modem.port, b"header\r\n")
    assert re.fullmatch(rb'\r\n\+CMT: "\+8613912345678",,"[^"]+",145,4,0,0,"\+8613010112500",'
                        rb"145,11\r\nwith header\r\n", shown), shown
    assert modem.cmd("AT+CMGF=0") == OK
    modem.deliver("10086", "pdu form")
    shown = modem.port.read_until(lambda b: re.fullmatch(rb"\r\n.*\r\n.*\r\n", b) is not None)
    match = re.fullmatch(rb"\r\n\+CMT: ,(\d+)\r\n([0-9A-F]+)\r\n", shown)
    assert match, shown
    ref = SMSDeliver.decode(StringIO(match[2].decode()))
    assert ref["sender"]["number"] == "10086" and ref["user_data"]["data"] == "pdu form"
    assert modem.cmd("AT+CPMS?") == b'\r\n+CPMS: "SM",0,50,"SM",0,50,"SM",0,50\r\n' + OK


def test_class_2_message_is_stored_even_with_direct_display(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CNMI=2,2,0,0,0") == OK
    assert modem.deliver("+8613912345678", "to the SIM", klass=2) == [0]
    assert urc(modem.port) == b'\r\n+CMTI: "SM",0\r\n'


def test_cnmi_mode_0_buffers_indications_until_released(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CNMI=0,1,0,0,0") == OK
    modem.deliver("+8613912345678", "one")
    modem.deliver("+8613912345678", "two")
    assert modem.port.quiet_for(0.3) == b""
    assert modem.cmd("AT+CNMI=2,1,0,0,0") == OK  # <bfr> 0: the buffer goes out after OK
    assert modem.port.read_until(lambda b: b.count(b"+CMTI") == 2) == (
        b'\r\n+CMTI: "SM",0\r\n\r\n+CMTI: "SM",1\r\n')
    assert modem.cmd("AT+CNMI=0,1,0,0,0") == OK
    modem.deliver("+8613912345678", "three")
    assert modem.cmd("AT+CNMI=2,1,0,0,1") == OK  # <bfr> 1: the buffer is cleared
    assert modem.port.quiet_for(0.3) == b""
    assert modem.cmd("AT+CPMS?").startswith(b'\r\n+CPMS: "SM",3,50')


def test_concatenated_incoming_message_is_stored_as_parts(start):
    modem = start("ec200t")
    text = "This long message needs two parts. " * 5
    assert modem.deliver("+8613912345678", text) == [0, 1]
    assert modem.port.read_until(lambda b: b.count(b"+CMTI") == 2) == (
        b'\r\n+CMTI: "SM",0\r\n\r\n+CMTI: "SM",1\r\n')
    parts = []
    for index in (0, 1):
        answer = modem.cmd(f"AT+CMGR={index}")
        pdu_hex = answer.split(b"\r\n")[2].decode()
        parts.append(SMSDeliver.decode(StringIO(pdu_hex)))
    headers = [p["user_data"]["header"]["elements"][0] for p in parts]
    assert [h["iei"] for h in headers] == [0, 0]
    assert [h["data"]["part_number"] for h in headers] == [1, 2]
    assert {h["data"]["parts_count"] for h in headers} == {2}
    assert headers[0]["data"]["reference"] == headers[1]["data"]["reference"]
    assert "".join(p["user_data"]["data"] for p in parts) == text
    assert modem.cmd("AT+CMGF=1") == OK
    listed = modem.cmd('AT+CMGL="ALL"')  # text mode shows a message with a header as hex
    assert re.search(rb'\+CMGL: 0,"REC READ","\+8613912345678",,"[^"]+"\r\n050003[0-9A-F]{2}0201',
                     listed), listed


def test_full_memory_loses_the_message(start):
    modem = start("n11v2")
    for i in range(50):
        assert modem.deliver("+8613912345678", f"m{i}") == [i + 1]
    assert modem.deliver("+8613912345678", "no room") == [None]
    indications = modem.port.read_until(lambda b: b.count(b"+CMTI") == 50)
    assert indications.endswith(b'+CMTI: "SM",50\r\n')
    assert modem.cmd('AT+CPMS="SM"') == b"\r\n+CPMS: 50,50,50,50,50,50\r\n" + OK


def test_memories_and_mt(start):
    modem = start("ec200t")
    assert modem.cmd('AT+CPMS="ME","ME","ME"') == b"\r\n+CPMS: 0,255,0,255,0,255\r\n" + OK
    modem.deliver("+8613912345678", "into ME")
    assert urc(modem.port) == b'\r\n+CMTI: "ME",0\r\n'
    assert modem.cmd('AT+CPMS="SM","SM","SM"') == b"\r\n+CPMS: 0,50,0,50,0,50\r\n" + OK
    modem.deliver("+8613912345678", "into SM")
    assert urc(modem.port) == b'\r\n+CMTI: "SM",0\r\n'
    assert modem.cmd('AT+CPMS="MT"') == b"\r\n+CPMS: 2,305,1,50,1,50\r\n" + OK
    listed = modem.cmd("AT+CMGL=4")  # MT: SM's slots, then ME's numbered after them
    assert re.findall(rb"\+CMGL: (\d+),", listed) == [b"0", b"50"]


def test_messages_survive_a_restart(start, tmp_path):
    data = tmp_path / "kept"
    modem = start("m66", data_dir=data)
    modem.deliver("+8613912345678", "keep me")
    urc(modem.port)
    assert modem.cmd('AT+CSCA="+8613800200500"') == OK
    modem.live.stop()
    again = start("m66", data_dir=data)
    assert again.cmd("AT+CMGF=1") == OK
    assert again.cmd("AT+CMGR=1").endswith(b"\r\nkeep me\r\n" + OK)
    assert again.cmd("AT+CSCA?") == b'\r\n+CSCA: "+8613800200500",145\r\n' + OK


# -- writing, listing, deleting ----------------------------------------------------------------


def four_statuses(modem: Started) -> None:
    """Slots 0..3 hold REC UNREAD, REC READ, STO UNSENT and STO SENT (ec200t numbers from 0)."""
    modem.deliver("+8613912345678", "unread")
    modem.deliver("+8613912345679", "read")
    modem.port.read_until(lambda b: b.count(b"+CMTI") == 2)
    assert modem.cmd("AT+CMGR=1").startswith(b"\r\n+CMGR: 0,,")
    assert modem.cmd("AT+CMGF=1") == OK
    assert modem.send('AT+CMGW="+8613700000000"', b"draft\x1a") == b"\r\n+CMGW: 2\r\n" + OK
    assert modem.send('AT+CMGW="+8613700000001"', b"gone\x1a") == b"\r\n+CMGW: 3\r\n" + OK
    assert re.fullmatch(rb"\r\n\+CMSS: \d+\r\n\r\nOK\r\n", modem.cmd("AT+CMSS=3"))
    assert modem.cmd("AT+CMGF=0") == OK


def listed(answer: bytes) -> list[int]:
    return [int(i) for i in re.findall(rb"\+CMGL: (\d+),", answer)]


def test_cmgl_every_filter_in_text_mode(start):
    modem = start("ec200t")
    four_statuses(modem)
    assert modem.cmd("AT+CMGF=1") == OK
    assert listed(modem.cmd('AT+CMGL="REC READ"')) == [1]
    assert listed(modem.cmd('AT+CMGL="STO UNSENT"')) == [2]
    assert listed(modem.cmd('AT+CMGL="STO SENT"')) == [3]
    unread = modem.cmd('AT+CMGL="REC UNREAD"')
    assert re.fullmatch(rb'\r\n\+CMGL: 0,"REC UNREAD","\+8613912345678",,"[^"]+"\r\nunread\r\n'
                        rb"\r\nOK\r\n", unread), unread
    assert modem.cmd('AT+CMGL="REC UNREAD"') == OK  # listing marked it read
    assert modem.cmd("AT+CMGL") == OK  # the default filter is REC UNREAD
    everything = modem.cmd('AT+CMGL="ALL"')
    assert re.fullmatch(
        rb'\r\n\+CMGL: 0,"REC READ","\+8613912345678",,"[^"]+"\r\nunread\r\n'
        rb'\+CMGL: 1,"REC READ","\+8613912345679",,"[^"]+"\r\nread\r\n'
        rb'\+CMGL: 2,"STO UNSENT","\+8613700000000",,\r\ndraft\r\n'
        rb'\+CMGL: 3,"STO SENT","\+8613700000001",,\r\ngone\r\n\r\nOK\r\n', everything), everything
    assert modem.cmd("AT+CSDH=1") == OK
    assert modem.cmd('AT+CMGL="STO UNSENT"') == (
        b'\r\n+CMGL: 2,"STO UNSENT","+8613700000000",,,145,5\r\ndraft\r\n' + OK)
    assert modem.cmd("AT+CMEE=1") == OK
    assert modem.cmd("AT+CMGL=4") == b"\r\n+CMS ERROR: 305\r\n"
    assert modem.cmd("AT+CMGL=ALL") == b"\r\n+CMS ERROR: 305\r\n"
    assert modem.cmd('AT+CMGL="NEW"') == b"\r\n+CMS ERROR: 305\r\n"


def test_cmgl_every_filter_in_pdu_mode(start):
    modem = start("ec200t")
    four_statuses(modem)
    assert listed(modem.cmd("AT+CMGL=1")) == [1]
    assert listed(modem.cmd("AT+CMGL=2")) == [2]
    assert listed(modem.cmd("AT+CMGL=3")) == [3]
    unread = modem.cmd("AT+CMGL=0")
    match = re.fullmatch(rb"\r\n\+CMGL: 0,0,,(\d+)\r\n([0-9A-F]+)\r\n\r\nOK\r\n", unread)
    assert match, unread
    assert SMSDeliver.decode(StringIO(match[2].decode()))["user_data"]["data"] == "unread"
    assert modem.cmd("AT+CMGL=0") == OK
    everything = modem.cmd("AT+CMGL=4")
    assert re.findall(rb"\+CMGL: (\d+),(\d),,(\d+)\r\n", everything) == [
        (b"0", b"1", match[1]), (b"1", b"1", b"24"), (b"2", b"2", b"20"), (b"3", b"3", b"19")]
    stored = re.findall(rb"\+CMGL: [23],\d,,\d+\r\n([0-9A-F]+)", everything)
    submits = [SMSSubmit.decode(StringIO(p.decode())) for p in stored]
    assert [s["user_data"]["data"] for s in submits] == ["draft", "gone"]
    assert submits[1]["message-ref"] == modem.sent()[-1]["mr"]  # AT+CMSS stored its reference
    assert modem.cmd('AT+CMGL="ALL"').endswith(b"ERROR\r\n")


@pytest.mark.parametrize(("command", "left"), [
    ("AT+CMGD=1", [0, 2, 3]),
    ("AT+CMGD=1,0", [0, 2, 3]),
    ("AT+CMGD=0,1", [0, 2, 3]),
    ("AT+CMGD=0,2", [0, 2]),
    ("AT+CMGD=0,3", [0]),
    ("AT+CMGD=9,4", []),
])
def test_cmgd_delete_flags(start, command, left):
    modem = start("ec200t")
    four_statuses(modem)
    assert modem.cmd(command) == OK
    assert listed(modem.cmd("AT+CMGL=4")) == left
    assert modem.cmd("AT+CPMS?").startswith(b'\r\n+CPMS: "SM",%d,50' % len(left))


@pytest.mark.parametrize(("profile", "answer"), [("ec200t", OK), ("n11v2", b"\r\nERROR\r\n")])
def test_empty_slot(start, profile, answer):
    modem = start(profile)
    assert modem.cmd("AT+CMGR=5") == answer
    assert modem.cmd("AT+CMGD=5") == answer


def test_cmss_to_a_new_number_and_not_for_received(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMEE=1;+CMGF=1") == OK
    assert modem.send('AT+CMGW="+8613700000000"', b"stored text\x1a") == (
        b"\r\n+CMGW: 0\r\n" + OK)
    answer = modem.cmd('AT+CMSS=0,"+447700900123",145')
    mr = int(re.fullmatch(rb"\r\n\+CMSS: (\d+)\r\n\r\nOK\r\n", answer)[1])
    sent = SMSSubmit.decode(StringIO(modem.sent()[-1]["pdu"]))
    assert sent["recipient"]["number"] == "447700900123" and sent["message-ref"] == mr
    assert sent["user_data"]["data"] == "stored text"
    assert modem.cmd("AT+CMGR=0").startswith(b'\r\n+CMGR: "STO SENT","+447700900123",')
    modem.deliver("+8613912345678", "incoming")
    urc(modem.port)
    assert modem.cmd("AT+CMSS=1") == b"\r\n+CMS ERROR: 302\r\n"
    assert modem.cmd("AT+CMSS=7") == b"\r\n+CMS ERROR: 321\r\n"


def test_cmgw_with_a_status_and_in_pdu_mode(start):
    modem = start("ec200t")
    assert modem.cmd("AT+CMGF=1") == OK
    assert modem.send('AT+CMGW="+8613912345678",145,"REC UNREAD"', b"written in\x1a") == (
        b"\r\n+CMGW: 0\r\n" + OK)
    assert re.fullmatch(rb'\r\n\+CMGR: "REC UNREAD","\+8613912345678",,"[^"]+"\r\nwritten in'
                        rb"\r\n\r\nOK\r\n", modem.cmd("AT+CMGR=0"))
    assert modem.send("AT+CMGW", b"no number\x1a") == b"\r\n+CMGW: 1\r\n" + OK
    assert modem.cmd("AT+CMGR=1") == b'\r\n+CMGR: "STO UNSENT","",\r\nno number\r\n' + OK
    assert modem.cmd("AT+CMGF=0") == OK
    (part,) = host.encodeSmsSubmitPdu("+8613700000000", "pdu draft", reference=0)
    data = bytes(part.data)
    assert modem.send(f"AT+CMGW={len(data) - 1},3", data.hex().upper().encode() + b"\x1a") == (
        b"\r\n+CMGW: 2\r\n" + OK)
    answer = modem.cmd("AT+CMGR=2")
    match = re.fullmatch(rb"\r\n\+CMGR: 3,,(\d+)\r\n([0-9A-F]+)\r\n\r\nOK\r\n", answer)
    assert match, answer
    stored = SMSSubmit.decode(StringIO(match[2].decode()))
    assert stored["smsc"]["number"] == "8613010112500"  # the "00" SMSC became AT+CSCA's
    assert stored["user_data"]["data"] == "pdu draft"


def test_snapshot_shows_memories_and_traffic(start):
    modem = start("ec200t")
    modem.deliver("+8613912345678", "in")
    urc(modem.port)
    assert modem.cmd("AT+CMGF=1") == OK
    modem.send('AT+CMGS="+8613700000000"', b"out\x1a")
    state = modem.live.call(modem.sms.snapshot)
    assert state["cmgf"] == 1 and state["cpms"] == ["SM", "SM", "SM"]
    (stored,) = state["memories"]["SM"]
    assert (stored["index"], stored["status"], stored["from"], stored["text"]) == (
        0, "REC UNREAD", "+8613912345678", "in")
    assert [(m["from"], m["text"], m["memory"], m["index"]) for m in state["received"]] == [
        ("+8613912345678", "in", "SM", 0)]
    assert [(m["to"], m["text"]) for m in state["sent"]] == [("+8613700000000", "out")]
