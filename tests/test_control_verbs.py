"""Every control verb end to end: sent over the module's real control socket, observed on its
real PTY (and in `state`)."""

from __future__ import annotations

import json
import re

import pytest
import serial
from control import booted, ctl, settled, wait_for
from modem import Port

from simulator.control import UsageError, VerbError
from simulator.profile import load as load_profile

BANNER = b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n"
ATI = b"\r\nQuectel_Ltd\r\nQuectel_BC660K-GL\r\nRevision: BC660KGLAAR01A03\r\n\r\nOK\r\n"


@pytest.fixture
def bc660k(modemsim, tmp_path):
    return modemsim("bc660k", time_scale=20, link=tmp_path / "modem0")


def test_state_describes_the_module(bc660k):
    port = booted(bc660k)
    state = ctl(bc660k, "state")
    assert (state["name"], state["profile"], state["model"]) == ("bc660k", "bc660k", "BC660K-GL")
    assert state["clock"]["scale"] == 20
    assert state["channels"] == [{"name": "pty", "mode": "command", "echo": False,
                                  "verbose": True, "quiet": False, "held_urcs": 0,
                                  "unsent_bytes": 0}]
    # the radio comes up with the banner and searches, then registers (the cellular core)
    assert state["network"]["registration"] in ("not_searching", "searching", "home")
    assert state["network"]["signal"]["rssi"] == -65
    assert set(state["subsystems"]) == set(load_profile("bc660k").subsystems) >= {"v250", "power"}
    assert state["faults"] == {"rules": [], "bytes": None, "stall": None, "inside": []}
    ctl(bc660k, "fault", stall=200)
    timers = ctl(bc660k, "state")["timers"]
    (stall,) = [t for t in timers if t["does"] == "Faults._end_stall"]
    assert 0 < stall["remaining"] <= 200
    assert ctl(bc660k, "state")["faults"]["stall"] <= 200
    ctl(bc660k, "fault clear")
    assert port.command("AT") == b"\r\nOK\r\n"


def test_network_verbs_change_registration(bc660k):
    port = booted(bc660k)

    def registration() -> str:
        return ctl(bc660k, "state")["network"]["registration"]

    assert ctl(bc660k, "network register")["network"]["registration"] == "home"
    assert ctl(bc660k, "network register", roaming=True)["network"]["stat"] == 5
    assert ctl(bc660k, "network deregister")["network"]["registration"] == "searching"
    assert ctl(bc660k, "network deny")["network"]["registration"] == "denied"
    assert registration() == "denied"
    assert ctl(bc660k, "network search")["network"]["registration"] == "searching"
    wait_for(lambda: registration() == "home")  # the profile's outcome after its search time
    assert port.command("AT") == b"\r\nOK\r\n"


def test_signal_sets_the_radio_figures(bc660k):
    booted(bc660k)
    result = ctl(bc660k, "signal", rssi=-101, rsrp=-120, rsrq=-15, sinr=-3)
    assert result["signal"] == {"rssi": -101, "rsrp": -120, "rsrq": -15, "sinr": -3, "ber": 99}
    assert ctl(bc660k, "state")["network"]["signal"]["rssi"] == -101
    for bad in ({}, {"rssi": -10}, {"rsrp": -200}, {"rssi": "strong"}, {"snr": 3}):
        with pytest.raises(UsageError):
            ctl(bc660k, "signal", **bad)


def test_reboot_prints_the_banner_and_the_link_stays_valid(bc660k, tmp_path):
    port = booted(bc660k)
    assert port.command("AT+CMEE=1") == b"\r\nOK\r\n"
    assert ctl(bc660k, "reboot") == {"booting": True}
    assert port.expect(BANNER) == BANNER
    assert port.command("AT") == b"AT\r\r\nOK\r\n"  # echo and CMEE are back to power-on
    assert port.command("AT+CMEE?") == b"AT+CMEE?\r\r\n+CMEE: 0\r\n\r\nOK\r\n"
    port.close()
    again = Port(serial.Serial(str(tmp_path / "modem0"), timeout=0.05))
    assert again.command("AT") == b"AT\r\r\nOK\r\n"
    again.close()


def test_brownout_mid_command_gives_no_final_result_then_boots(bc660k):
    port = booted(bc660k, echo=True)
    assert port.command("AT+CMEE=2") == b"AT+CMEE=2\r\r\nOK\r\n"
    ctl(bc660k, "fault", "AT+CGMI", delay=1000, times=1)
    port.write(b"AT+CGMI\r")
    port.expect(b"AT+CGMI\r")  # echoed: the command is running
    assert ctl(bc660k, "brownout") == {"booting": True}
    assert port.expect(BANNER) == BANNER  # no OK, no ERROR, no information line first
    assert port.command("AT+CMEE?") == b"AT+CMEE?\r\r\n+CMEE: 0\r\n\r\nOK\r\n"  # unsaved: lost
    assert port.command("AT+CGMI") == b"AT+CGMI\r\r\nQuectel_Ltd\r\n\r\nOK\r\n"


def test_urc_goes_out_at_once_when_idle_and_after_the_final_result_when_busy(bc660k):
    port = booted(bc660k, echo=True)
    ctl(bc660k, "urc", '+QIURC: "closed",0')
    assert port.expect(b'\r\n+QIURC: "closed",0\r\n') == b'\r\n+QIURC: "closed",0\r\n'
    ctl(bc660k, "fault", "AT+CGMM", delay=1000, times=1)  # 50 s of real time at scale 20
    port.write(b"AT+CGMM\r")
    port.expect(b"AT+CGMM\r")  # echoed: the command is running
    ctl(bc660k, "urc", "+HELD: 1")
    assert port.quiet_for(0.3) == b""  # the URC waits for the final result
    ctl(bc660k, "time-scale", 100000)
    assert port.expect(b"+HELD: 1\r\n") == (
        b"\r\nQuectel_BC660K-GL\r\n\r\nOK\r\n\r\n+HELD: 1\r\n")


def test_urc_inside_lands_in_the_next_multi_line_response(bc660k):
    port = booted(bc660k)
    assert ctl(bc660k, "urc", "+CEREG:1", inside=True) == {"urc": "+CEREG:1", "inside": True}
    assert port.command("AT+CGMI") == b"\r\nQuectel_Ltd\r\n\r\nOK\r\n"  # one line: not inside
    assert ctl(bc660k, "state")["faults"]["inside"] == ["+CEREG:1"]
    assert port.command("ATI") == (b"\r\nQuectel_Ltd\r\n\r\n+CEREG:1\r\nQuectel_BC660K-GL\r\n"
                                   b"Revision: BC660KGLAAR01A03\r\n\r\nOK\r\n")
    assert port.command("ATI") == ATI  # once only


def test_fault_reply_times_then_the_real_answer(bc660k):
    port = booted(bc660k)
    added = ctl(bc660k, "fault", "at+cg*", reply="+CME ERROR: 30", times=2)
    assert added == {"added": {"fault": "command", "pattern": "at+cg*",
                               "reply": "+CME ERROR: 30", "times": 2}}
    assert port.command("AT+CGMI") == b"\r\n+CME ERROR: 30\r\n"
    assert port.command("AT+CGMM") == b"\r\n+CME ERROR: 30\r\n"  # case-insensitive, wildcard
    assert port.command("AT+CGMI") == b"\r\nQuectel_Ltd\r\n\r\nOK\r\n"
    ctl(bc660k, "fault", "AT+CSQ", reply="+CSQ:99,99\nOK")  # lines, the last one final
    assert port.command("AT+CSQ") == b"\r\n+CSQ:99,99\r\n\r\nOK\r\n"
    assert port.command("at+csq") == b"\r\n+CSQ:99,99\r\n\r\nOK\r\n"  # until cleared
    assert port.command("AT+CSQ?") == b"\r\nERROR\r\n"  # `?` is literal: no match
    ctl(bc660k, "fault clear")
    assert re.fullmatch(rb"\r\n\+CSQ:(24|99),99\r\n\r\nOK\r\n", port.command("AT+CSQ"))


def test_fault_delay_holds_the_answer_and_time_scale_speeds_it(bc660k):
    port = booted(bc660k)
    ctl(bc660k, "fault", "AT+CGMI", delay=600, times=1)  # 30 s of real time at scale 20
    port.write(b"AT+CGMI\r")
    assert port.quiet_for(0.3) == b""
    assert ctl(bc660k, "time-scale", 100000) == {"scale": 100000}
    assert port.expect(b"OK\r\n") == b"\r\nQuectel_Ltd\r\n\r\nOK\r\n"
    assert ctl(bc660k, "state")["clock"]["scale"] == 100000
    with pytest.raises(UsageError):
        ctl(bc660k, "time-scale", 0)


def test_fault_silent_swallows_the_command(bc660k):
    port = booted(bc660k)
    ctl(bc660k, "fault", "AT+CGMI", silent=True, times=1)
    port.write(b"AT+CGMI\r")
    assert port.quiet_for(0.4) == b""
    assert port.command("AT+CGMI") == b"\r\nQuectel_Ltd\r\n\r\nOK\r\n"


def test_fault_stall_makes_the_port_deaf_and_mute(bc660k):
    port = booted(bc660k)
    ctl(bc660k, "fault", stall=200)
    port.write(b"AT\r")
    ctl(bc660k, "urc", "+DURING")
    assert port.quiet_for(0.4) == b""  # no answer, and the URC waits too
    ctl(bc660k, "time-scale", 10000)  # the stall ends on its own, 200 module seconds later
    assert port.expect(b"+DURING\r\n") == b"\r\n+DURING\r\n"  # what it had to say comes out
    assert port.command("AT") == b"\r\nOK\r\n"  # the AT sent during the stall was lost
    ctl(bc660k, "time-scale", 20)
    ctl(bc660k, "fault", stall=200)
    port.write(b"AT\r")
    assert port.quiet_for(0.2) == b""
    ctl(bc660k, "fault clear")  # ends the stall at once
    assert port.command("AT") == b"\r\nOK\r\n"


def _garbled(bc660k, kind: str, seed: int) -> bytes:
    port = booted(bc660k)
    ctl(bc660k, "fault", bytes=kind, rate=0.2, seed=seed)
    port.write(b"ATI\r")
    if kind == "corrupt":  # as many bytes as ever, some of them wrong
        data = port.read_until(lambda b: len(b) >= len(ATI))
        assert port.quiet_for(0.1) == b""
    else:
        data = port.quiet_for(0.3)
    ctl(bc660k, "fault clear")
    port.close()
    return data


def test_fault_bytes_corrupt_is_reproducible_with_a_seed(bc660k):
    first = _garbled(bc660k, "corrupt", 7)
    assert len(first) == len(ATI) and first != ATI
    assert _garbled(bc660k, "corrupt", 7) == first
    assert _garbled(bc660k, "corrupt", 8) != first


def test_fault_bytes_drop_loses_bytes_reproducibly(bc660k):
    first = _garbled(bc660k, "drop", 3)
    assert 0 < len(first) < len(ATI)
    rest = iter(ATI)
    assert all(byte in rest for byte in first)  # what arrives is ATI with holes
    assert _garbled(bc660k, "drop", 3) == first


def test_fault_bytes_fragment_splits_writes_but_keeps_the_bytes(modemsim, tmp_path):
    modem = modemsim("bc660k", time_scale=20, log_json=tmp_path / "events.jsonl")
    port = booted(modem)
    ctl(modem, "fault", bytes="fragment", rate=0.2, seed=1)
    assert port.command("ATI") == ATI
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    start = max(i for i, e in enumerate(events) if e["kind"] == "control")
    pieces = [e["data"] for e in events[start:] if e["kind"] == "tx"]
    assert len(pieces) > 3 and "".join(pieces).encode("latin-1") == ATI
    assert any(e["kind"] == "fault" and e.get("bytes") == "fragment" for e in events[start:])


def test_fault_arguments_are_checked(bc660k):
    booted(bc660k)
    for bad in ({}, {"pattern": "AT"}, {"pattern": "AT", "silent": True, "reply": "OK"},
                {"pattern": "AT", "reply": "OK", "times": 0}, {"bytes": "drop"},
                {"bytes": "drop", "rate": 1.5}, {"bytes": "melt", "rate": 0.1},
                {"stall": 0}, {"stall": 5, "pattern": "AT"}, {"pattern": "AT", "seed": 1}):
        with pytest.raises(UsageError):
            ctl(bc660k, "fault", **bad)
    assert ctl(bc660k, "state")["faults"]["rules"] == []


SUBSYSTEM_VERBS = [
    ("sim remove", {}, "SIM"),
    ("sim insert", {}, "SIM"),
    ("sim pin-required", {}, "SIM"),
    ("pdp deactivate", {"cid": 1}, "PDP contexts"),
    ("socket close", {"id": 0}, "sockets"),
    ("socket reset", {"id": 0}, "sockets"),
    ("mqtt drop", {"client": 0}, "MQTT client"),
    ("sms deliver", {"from": "+8613800000000", "text": "hi"}, "SMS"),
    ("wake", {}, "PSM_EINT wake-up pin"),
    ("psm enter", {}, "power saving mode (PSM)"),
]


@pytest.mark.parametrize(("verb", "args", "what"), SUBSYSTEM_VERBS)
def test_subsystem_verbs_say_not_available_without_their_subsystem(modemsim, verb, args, what):
    modem = modemsim("tests/profiles/bare.yaml", time_scale=20)
    port = booted(modem)
    with pytest.raises(VerbError, match=re.escape(f"not available: profile bare has no {what}")):
        ctl(modem, verb, **args)
    assert port.command("AT") == b"\r\nOK\r\n"
    assert settled(modem)


@pytest.mark.parametrize(("verb", "args"), [
    ("pdp deactivate", {"cid": "one"}), ("pdp deactivate", {}), ("socket close", {"id": 1.5}),
    ("socket reset", {}), ("mqtt drop", {"client": None}), ("sms deliver", {"text": "hi"}),
    ("sms deliver", {"from": "+1", "text": "x", "pdu": True}), ("wake", {"pin": 1}),
])
def test_subsystem_verbs_check_their_arguments(bc660k, verb, args):
    with pytest.raises(UsageError):
        ctl(bc660k, verb, **args)
