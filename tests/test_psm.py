"""The NB-IoT power model of the bc660k, end to end over the PTY and the control socket: PSM
with its timers as requested and granted, eDRX, deep sleep at the port, the ways out of it,
and what survives it. Time runs 20x (and far faster to reach a periodic TAU)."""

from __future__ import annotations

import re
import time

from cellular import boot
from peers import twin_peers
from power import PSM_REQUEST, TAIL, Console, bring_up, ctl, profile, subsystems

from simulator.control import VerbError

ENTER_PSM, EXIT_PSM = '+QNBIOTEVENT: "ENTER PSM"', '+QNBIOTEVENT: "EXIT PSM"'
ENTER_SLEEP, EXIT_SLEEP = '+QNBIOTEVENT: "ENTER DEEPSLEEP"', '+QNBIOTEVENT: "EXIT DEEPSLEEP"'


def start(sim, tmp_path, name: str = "bc660k-power", routes: tuple[str, ...] = (),
          **sections) -> tuple[Console, object]:
    control = tmp_path / f"{name}.ctl"
    extra = [arg for route in routes for arg in ("--route", route)]
    port = boot(sim, profile(tmp_path, name, **sections), TAIL, "--control", str(control),
                "--log", str(tmp_path / f"{name}.log"), *extra)
    return Console(port), control


class Peers:
    """The document's server (220.180.239.212:8058, TCP and UDP, answering "hello world") and
    its ping target (8.8.8.8), on 127.0.0.1."""

    def __init__(self) -> None:
        self.tcp, self.udp = twin_peers(b"hello world")
        self.routes = (f"220.180.239.212:8058=127.0.0.1:{self.tcp.port}", "8.8.8.8=127.0.0.1")

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


RECV = '+QIURC: "recv",0,11,"220.180.239.212",8058,"hello world"'
PING = re.compile(r"\+QPING: 0,8\.8\.8\.8,32,\d+,51")
PING_SUMMARY = re.compile(r"\+QPING: 0,1,1,0,\d+,\d+,\d+")


def into_psm(con: Console) -> None:
    con.in_order("+CSCON:0", ENTER_PSM)


def test_psm_is_entered_after_the_release_and_the_active_time(sim, tmp_path):
    con, control = start(sim, tmp_path)
    bring_up(con)
    into_psm(con)
    state = subsystems(control)
    psm = state["psm"]
    assert psm["state"] == "psm"
    assert psm["cpsms"] == {"mode": 1,
                            "periodic_tau": {"bits": "01000010", "seconds": 72000.0},
                            "active_time": {"bits": "00000000", "seconds": 0.0}}
    assert psm["granted"] == {"periodic_tau": {"bits": "01000010", "seconds": 72000.0},
                              "active_time": {"bits": "00000000", "seconds": 0.0}}
    assert psm["timers"]["T3324"] is None
    assert 71000 < psm["timers"]["T3412"] <= 72000
    assert state["sleep"]["state"] == "awake"  # AT+QSCLK=0: no deep sleep
    assert con.command("AT+CPSMS?") == ['+CPSMS: 1,,,"01000010","00000000"', "OK"]
    # local commands do not leave PSM
    assert con.command("AT+CEREG?") == ["+CEREG:0,1", "OK"]
    assert subsystems(control)["psm"]["state"] == "psm"
    log = (tmp_path / "bc660k-power.log").read_text()
    assert re.search(r"\*\* power layer=nas state=idle", log)
    assert re.search(r"\*\* power layer=nas state=psm", log)


def test_granted_active_time_differs_from_the_request_and_cereg_5_shows_it(sim, tmp_path):
    con, control = start(sim, tmp_path, network={"timers": {"active_time": "00100010"}})
    con.ok("AT+CEREG=5")
    bring_up(con, cereg=5)
    granted = '+CEREG:5,1,"4C10","05C4EF33",9,,,"00100010","01000010"'
    assert con.command("AT+CEREG?") == [granted, "OK"]
    psm = subsystems(control)["psm"]
    assert psm["granted"]["active_time"] == {"bits": "00100010", "seconds": 120.0}
    assert psm["cpsms"]["active_time"]["bits"] == "00000000"
    con.wait("+CSCON:0")
    assert 0 < subsystems(control)["psm"]["timers"]["T3324"] <= 120  # the granted 2 min run
    assert not [line for line in con.quiet(0.5) if line == ENTER_PSM]  # 10 s of 120: not yet
    con.wait(ENTER_PSM, timeout=20)


def test_a_deactivated_active_time_means_no_psm(sim, tmp_path):
    con, control = start(sim, tmp_path)
    con.ok("AT+CEREG=4")
    con.ok("AT+QSCLK=0", "AT+CFUN=0", "AT+QNBIOTEVENT=1,1", "AT+CSCON=1",
           'AT+CPSMS=1,,,"01000010","11100000"', "AT+CFUN=1")
    con.wait('+CEREG:1,"4C10","05C4EF33",9,,,"11100000","01000010"')
    con.wait("+CSCON:0")
    psm = subsystems(control)["psm"]
    assert psm["granted"]["active_time"] == {"bits": "11100000", "seconds": None}
    assert (psm["state"], psm["timers"]["T3324"]) == ("idle", None)
    assert 71000 < psm["timers"]["T3412"] <= 72000  # the extended periodic TAU still runs
    assert ENTER_PSM not in con.quiet(0.5)
    assert "PSM is not in use" in ctl_error(control, "psm enter")


def test_cpsms_forms_and_errors(sim, tmp_path):
    con, _ = start(sim, tmp_path)
    assert con.command("AT+CPSMS?") == ['+CPSMS: 0,,,"00111000","00100001"', "OK"]
    assert con.command("AT+CPSMS=?") == [
        '+CPSMS: (0-2),,,("00000000"-"11111111"),("00000000"-"11111111")', "OK"]
    for bad in ("AT+CPSMS=3", 'AT+CPSMS=1,,,"0100001","00000000"',
                'AT+CPSMS=1,,,"01000012","00000000"', 'AT+CPSMS=1,,,"01000010","000000001"'):
        assert con.command(bad) == ["ERROR"], bad
    con.ok('AT+CPSMS=1,,,"00100001"')  # the active time left as it was
    assert con.command("AT+CPSMS?") == ['+CPSMS: 1,,,"00100001","00100001"', "OK"]
    con.ok("AT+CPSMS=2")  # off, and the factory values back
    assert con.command("AT+CPSMS?") == ['+CPSMS: 0,,,"00111000","00100001"', "OK"]
    con.ok(PSM_REQUEST, "AT+QRST=1")  # saved: it survives a reboot
    con.wait("+CPIN: READY")
    assert con.command("ATE0")[-1] == "OK"  # (the reboot brought the echo back)
    assert con.command("AT+CPSMS?") == ['+CPSMS: 1,,,"01000010","00000000"', "OK"]
    assert con.command("AT+QNBIOTEVENT?") == ["+QNBIOTEVENT: 0,1", "OK"]
    assert con.command("AT+QNBIOTEVENT=?") == ["+QNBIOTEVENT: (0,1),(1)", "OK"]
    assert con.command("AT+QNBIOTEVENT=2,1") == ["ERROR"]


def test_manual_tau_restarts_t3412(sim, tmp_path):
    """6-2: AT+CPSMS=0 then =1 make the modem leave PSM for a TAU now; T3412 starts again."""
    con, control = start(sim, tmp_path)
    bring_up(con)
    into_psm(con)
    con.ok("AT+QSCLK=0")
    ctl(control, "time-scale", scale=2000.0)  # let T3412 run down a good part of its 20 h
    time.sleep(1.0)
    ctl(control, "time-scale", scale=20.0)
    before = subsystems(control)["psm"]["timers"]["T3412"]
    assert before < 72000 - 1500
    con.ok("AT+CPSMS=0", PSM_REQUEST)
    con.in_order(EXIT_PSM, "+CSCON:1", "+CSCON:0", ENTER_PSM)
    assert subsystems(control)["psm"]["timers"]["T3412"] > 72000 - 100


def test_edrx_requested_granted_and_reported(sim, tmp_path):
    # the network gives 163.84 s (a cycle of at least 2 min), with a 15.36 s paging window
    con, control = start(sim, tmp_path, network={"edrx": {"cycle": "2min", "window": "0101"}})
    assert con.command("AT+CEDRXS?") == ["OK"]  # nothing enabled
    assert con.command("AT+CEDRXS=?") == ['+CEDRXS: (0-3),(5),("0000"-"1111")', "OK"]
    for bad in ("AT+CEDRXS=4", 'AT+CEDRXS=1,4,"0101"', 'AT+CEDRXS=1,5,"01010"',
                'AT+CEDRXS=1,5,"0102"'):
        assert con.command(bad) == ["ERROR"], bad
    bring_up(con, psm=False)
    assert con.command("AT+CEDRXRDP") == ["+CEDRXRDP: 0", "OK"]
    con.ok('AT+CEDRXS=2,5,"0101"')  # a TAU asks for 81.92 s, the network gives 163.84 s
    con.wait('+CEDRXP: 5,"0101","1001","0101"')
    assert con.command("AT+CEDRXS?") == ['+CEDRXS: 5,"0101"', "OK"]
    assert con.command("AT+CEDRXRDP") == ['+CEDRXRDP: 5,"0101","1001","0101"', "OK"]
    edrx = subsystems(control)["psm"]["edrx"]
    assert edrx["requested"] == {"bits": "0101", "seconds": 81.92}
    assert edrx["granted"] == {"bits": "1001", "seconds": 163.84}
    assert edrx["window"] == {"bits": "0101", "seconds": 15.36}
    con.ok("AT+CEDRXS=3")
    assert con.command("AT+CEDRXRDP") == ["+CEDRXRDP: 0", "OK"]
    assert con.command("AT+CEDRXS?") == ["OK"]


def test_deep_sleep_loses_the_waking_command_and_the_pin_wakes_cleanly(sim, tmp_path, broker):
    con, control = start(sim, tmp_path)
    bring_up(con)
    into_psm(con)
    con.ok("AT+QSCLK=1")
    assert con.command("AT+QSCLK?") == ["+QSCLK: 1", "OK"]
    con.wait(ENTER_SLEEP)
    assert subsystems(control)["sleep"]["state"] == "asleep"
    assert con.quiet(0.3) == []  # silent
    # by command: the first one wakes the module and is lost
    mark = len(con.lines)
    con.port.write(b"AT+CGMI\r")
    con.wait(EXIT_SLEEP)
    assert con.lines[mark:] == [EXIT_SLEEP]  # no echo, no answer
    assert con.command("AT+CGMI") == ["Quectel_Ltd", "OK"]
    assert subsystems(control)["psm"]["state"] == "psm"  # still in PSM: nothing needed the net
    # the settings survived; a command that needs the network leaves PSM after its OK
    assert con.command(f'AT+QMTOPEN=0,"127.0.0.1",{broker.plain}') == ["OK"]
    con.in_order(EXIT_PSM, "+CSCON:1", "+QMTOPEN: 0,0")
    # back to PSM and deep sleep: the MQTT connection is lost without a word
    con.in_order("+CSCON:0", ENTER_PSM, ENTER_SLEEP, timeout=20)
    # by the PSM_EINT pin: nothing is lost
    assert ctl(control, "wake")["sleep"]["state"] == "waking"
    con.wait(EXIT_SLEEP)
    log = (tmp_path / "bc660k-power.log").read_text()
    assert re.search(r"\*\* power layer=host state=asleep", log)
    assert re.search(r"\*\* power layer=host state=awake source=uart", log)
    assert re.search(r"\*\* power layer=host state=waking source=pin", log)
    assert con.command("AT+QMTOPEN?") == ["OK"]  # gone
    assert con.command("AT+CEREG?") == ["+CEREG:0,1", "OK"]  # registration kept
    assert con.command("AT+CSCON?") == ["+CSCON:1,0", "OK"]  # so is the URC setting
    assert con.command(f'AT+QMTOPEN=0,"127.0.0.1",{broker.plain}') == ["OK"]  # same index
    con.in_order(EXIT_PSM, "+CSCON:1", "+QMTOPEN: 0,0")


def test_periodic_tau_wakes_the_module_and_it_sleeps_again(sim, tmp_path):
    con, control = start(sim, tmp_path)
    bring_up(con)
    into_psm(con)
    con.ok("AT+QSCLK=1")
    con.wait(ENTER_SLEEP)
    started = time.monotonic()
    ctl(control, "time-scale", scale=36000.0)  # 20 h of T3412 in 2 s
    con.in_order(EXIT_SLEEP, EXIT_PSM, "+CSCON:1", "+CSCON:0", ENTER_PSM, ENTER_SLEEP,
                 timeout=20)
    assert time.monotonic() - started < 10
    ctl(control, "time-scale", scale=20.0)
    assert 36000 < subsystems(control)["psm"]["timers"]["T3412"] <= 72000  # running again


def test_deep_sleep_events_follow_dsevent_and_rxd_wake_follows_wakeuprxd(sim, tmp_path):
    con, control = start(sim, tmp_path)
    con.ok('AT+QCFG="dsevent",0', 'AT+QCFG="wakeupRXD",0')
    assert con.command('AT+QCFG="dsevent"') == ['+QCFG: "dsevent",0', "OK"]
    assert con.command('AT+QCFG="nokey",1') == ["ERROR"]
    assert con.command('AT+QCFG="dsevent",2') == ["ERROR"]
    con.ok("AT+CFUN=0", "AT+QSCLK=1")  # the document's 1-2: parked in CFUN=0
    deadline = time.monotonic() + 15
    while subsystems(control)["sleep"]["state"] != "asleep":
        assert time.monotonic() < deadline
        con.quiet(0.1)
    con.port.write(b"AT\r")  # RXD does not wake it
    assert con.quiet(0.5) == []
    assert subsystems(control)["sleep"]["state"] == "asleep"
    ctl(control, "wake")
    deadline = time.monotonic() + 15
    while subsystems(control)["sleep"]["state"] != "awake":
        assert time.monotonic() < deadline
        con.quiet(0.05)
    assert con.command("AT") == ["OK"]  # no EXIT DEEPSLEEP before it
    con.ok('AT+QCFG="dsevent",1', 'AT+QCFG="wakeupRXD",1')


def test_a_profile_can_keep_the_waking_command(sim, tmp_path):
    con, _ = start(sim, tmp_path, name="kept", sleep={"wake_by_command": "kept"})
    con.ok("AT+CFUN=0", "AT+QSCLK=1")
    con.wait(ENTER_SLEEP)
    mark = len(con.lines)
    con.port.write(b"AT+CFUN?\r")
    con.wait("OK")
    assert con.lines[mark:] == [EXIT_SLEEP, "+CFUN: 0", "OK"]


def test_light_sleep_only_never_sleeps_deeply(sim, tmp_path):
    con, control = start(sim, tmp_path)
    con.ok("AT+QSCLK=2", "AT+CFUN=0")
    assert con.command("AT+QSCLK=3") == ["ERROR"]
    assert con.command("AT+QSCLK=?") == ["+QSCLK: (0-2)", "OK"]
    assert ENTER_SLEEP not in con.quiet(3.0)  # 60 s, past the 40 s window
    assert subsystems(control)["sleep"] == {
        "state": "awake", "qsclk": 2, "idle_window": 40.0, "sleep_in": None,
        "dsevent": 1, "wake_by_uart": 1}
    assert con.command("AT") == ["OK"]


def test_psm_enter_verb_and_its_refusals(sim, tmp_path):
    con, control = start(sim, tmp_path)
    con.ok("AT+QSCLK=0", "AT+QNBIOTEVENT=1,1", "AT+CSCON=1")
    con.poll("AT+CEREG?", "+CEREG:0,1")
    refused = ctl_error(control, "psm enter")
    assert "PSM is not in use" in refused
    con.ok(PSM_REQUEST)  # a TAU asks for PSM; the connection is still up
    ctl(control, "psm enter")
    con.in_order("+CSCON:0", ENTER_PSM)
    con.ok("AT+CFUN=0")
    assert "not registered" in ctl_error(control, "psm enter")


def ctl_error(control, verb: str) -> str:
    try:
        ctl(control, verb)
    except VerbError as exc:
        return str(exc)
    raise AssertionError(f"{verb} did not fail")


def open_udp(con: Console) -> None:
    """The UDP flow's T3-1 and U3-2: text data shown with its length and sender."""
    con.ok('AT+QICFG="dataformat",0,0', 'AT+QICFG="showlength",1', 'AT+QICFG="showRA",1',
           'AT+QIOPEN=0,0,"UDP","220.180.239.212",8058,0,1')
    con.wait("+QIOPEN: 0,0")


def test_psm_mode_cycle_from_the_document(sim, tmp_path):
    """3.1.4.2 end to end: bring-up, UDP data, RAI, ENTER PSM and DEEPSLEEP, wake by command
    and by pin, and each time EXIT PSM on the next command that needs the network. Only RAI
    can end the connection here: the network's own inactivity timer is an hour."""
    peers = Peers()
    try:
        con, control = start(sim, tmp_path, routes=peers.routes, network={"inactivity": "1h"})
        bring_up(con)
        open_udp(con)
        assert con.command('AT+QISEND=0,10,"helloworld"') == ["OK"]
        con.in_order("SEND OK", RECV)
        # R4-1: the ping's RAI lets the network release the connection at once
        assert con.command('AT+QPING=0,"8.8.8.8",4,1,32,1') == ["OK"]
        con.in_order(PING, PING_SUMMARY, "+CSCON:0", ENTER_PSM)
        con.ok("AT+QSCLK=1")
        con.wait(ENTER_SLEEP)
        # U6-1-1, woken by a command (lost): the UDP socket is still there
        con.port.write(b'AT+QISEND=0,10,"helloworld"\r')
        con.wait(EXIT_SLEEP)
        assert con.command('AT+QISEND=0,10,"helloworld",1') == ["OK"]  # RAI on the send
        con.in_order("SEND OK", EXIT_PSM, "+CSCON:1", RECV, "+CSCON:0", ENTER_PSM, ENTER_SLEEP)
        assert len(peers.udp.datagrams) == 2  # the lost command sent nothing
        # U6-1-2, woken by the PSM_EINT pin: a ping takes the modem out of PSM
        ctl(control, "wake")
        con.wait(EXIT_SLEEP)
        assert con.command('AT+QPING=0,"8.8.8.8",4,1') == ["OK"]
        con.in_order(EXIT_PSM, "+CSCON:1", PING, PING_SUMMARY)
        assert con.command("AT+QENG=0")[-1] == "OK"
        assert con.command("AT+QISEND=0,51,\"rsrp=-75,snr=14,cellid=05C4EF33,earfcn=3686,"
                           "pci=121\"") == ["OK"]
        con.in_order("SEND OK", RECV)
        assert subsystems(control)["psm"]["state"] == "connected"
    finally:
        peers.close()


def test_deep_sleep_keeps_udp_sockets_and_loses_tcp_connections(sim, tmp_path):
    peers = Peers()
    try:
        con, control = start(sim, tmp_path, routes=peers.routes)
        bring_up(con)
        open_udp(con)
        con.ok('AT+QIOPEN=0,1,"TCP","220.180.239.212",8058,0,1')
        con.wait("+QIOPEN: 1,0")
        peers.tcp.connection()
        assert con.command('AT+QPING=0,"8.8.8.8",4,1,32,1') == ["OK"]
        con.in_order("+CSCON:0", ENTER_PSM)
        con.ok("AT+QSCLK=1")
        con.wait(ENTER_SLEEP)
        ctl(control, "wake")
        con.wait(EXIT_SLEEP)
        assert con.command("AT+QISTATE?") == [
            '+QISTATE: 0,"UDP","220.180.239.212",8058,0,2,0,1', "OK"]  # no TCP row
        assert subsystems(control)["psm"]["state"] == "psm"  # nothing went out for that
        con.ok('AT+QIOPEN=0,1,"TCP","220.180.239.212",8058,0,1')  # T6-1-1: the same ID
        con.in_order(EXIT_PSM, "+CSCON:1", "+QIOPEN: 1,0")
        assert con.command('AT+QISEND=1,5,"hello"') == ["OK"]
        con.wait("SEND OK")
        assert peers.tcp.connection(1).wait_received(5) == b"hello"
    finally:
        peers.close()


def test_rai_values_and_the_release_without_them(sim, tmp_path):
    peers = Peers()
    try:
        con, control = start(sim, tmp_path, routes=peers.routes, network={"inactivity": "1h"})
        bring_up(con, psm=False)
        open_udp(con)
        for bad in ('AT+QPING=0,"8.8.8.8",4,1,32,2', 'AT+QISEND=0,5,"hello",3'):
            assert con.command(bad) == ["ERROR"], bad
        assert con.command('AT+QPING=0,"8.8.8.8",4,1,32,0') == ["OK"]  # RAI 0 asks nothing
        con.in_order(PING, PING_SUMMARY)
        assert "+CSCON:0" not in con.quiet(1.0)  # 20 s: the connection stays
        assert subsystems(control)["rrc"]["connected"]
        assert con.command('AT+QISEND=0,5,"hello",2') == ["OK"]  # one reply to come
        con.in_order("SEND OK", "+CSCON:0")
        assert subsystems(control)["psm"]["state"] == "idle"  # PSM is off: no ENTER PSM
    finally:
        peers.close()
