"""The bc660k's power-off mode (the document's 3.1.x.1 flows) and its recovery set, end to end
over the PTY: bring-up with PSM off, data, the release without RAI, AT+CFUN=0 taking its
time, parking in deep sleep, the reboot; the stale frequency list and the band lock."""

from __future__ import annotations

import re
import time

from cellular import boot
from power import TAIL, Console, bring_up, profile, subsystems

ENTER_SLEEP, EXIT_SLEEP = '+QNBIOTEVENT: "ENTER DEEPSLEEP"', '+QNBIOTEVENT: "EXIT DEEPSLEEP"'
BAND28 = {"tac": "4C11", "lac": "4C11", "ci": "05C4EF99", "act": 9, "earfcn": 9410,
          "earfcn_offset": 0, "pci": 77, "band": 28, "ecl": 1, "tx_power": 12, "op_mode": 3}


def start(sim, tmp_path, **sections) -> tuple[Console, object]:
    control = tmp_path / "ctl"
    port = boot(sim, profile(tmp_path, **sections), TAIL, "--control", str(control))
    return Console(port), control


def test_power_off_mode_cycle(sim, tmp_path):
    con, control = start(sim, tmp_path, radio={"cfun_delay": {0: "20s"}})
    bring_up(con, psm=False)
    assert con.command("AT+CPIN?") == ["+CPIN: READY", "OK"]
    assert con.command("ATI")[0] == "Quectel_Ltd"
    assert re.fullmatch(r"\+CGSN:\d{15}", con.command("AT+CGSN=1")[0])
    assert re.fullmatch(r"\d{15}", con.command("AT+CIMI")[0])
    assert re.fullmatch(r"\+NCCID:\d{20}", con.command("AT+NCCID")[0])
    assert con.command("AT+QENG=0") == [
        '+QENG: 0,3686,11,121,"05C4EF33",-75,-8,-65,14,8,"4C10",0,9,3', "OK"]
    address = con.command("AT+CGPADDR")
    assert re.fullmatch(r'\+CGPADDR: 0,"10\.21\.\d+\.\d+","2409:8d30:0114:0242(:[0-9a-f]{4}){4}"',
                        address[0]), address
    assert con.command("AT+CSQ") == ["+CSQ:24,99", "OK"]
    assert re.fullmatch(r'\+CCLK: "\d\d/\d\d/\d\d,\d\d:\d\d:\d\d\+32"', con.command("AT+CCLK?")[0])
    # no RAI: the network's inactivity timer ends the connection, and PSM is off
    con.wait("+CSCON:0")
    assert subsystems(control)["psm"]["state"] == "idle"
    assert subsystems(control)["psm"]["timers"]["T3324"] is None
    assert 3240 >= subsystems(control)["psm"]["timers"]["T3412"] > 3000  # the 54 min default
    # 4-1: AT+CFUN=0 before the power is cut takes as long as the profile says (20 s)
    started = time.monotonic()
    con.ok("AT+CFUN=0")
    assert time.monotonic() - started >= 0.9
    # 1-2: parked at CFUN=0 with deep sleep allowed
    con.ok("AT+QSCLK=1")
    con.wait(ENTER_SLEEP)
    assert subsystems(control)["psm"]["state"] == "detached"
    con.port.write(b"AT\r")  # a throw-away command wakes it
    con.wait(EXIT_SLEEP)
    con.ok("AT+QRST=1")
    con.in_order("RDY", "+CFUN: 1", "+CPIN: READY")


def test_stale_frequencies_fail_the_search_until_cleared(sim, tmp_path):
    """5-1 / 7-1: only 0 or 2 for the search window, then CFUN=0, AT+QCSEARFCN, the optional
    band lock and AT+QRST=1; the next search camps on the band-28 cell."""
    con, control = start(sim, tmp_path, network={"stale_frequencies": True, "cells": [BAND28]})
    con.ok("AT+QSCLK=0")
    for _ in range(6):  # 2 min of polling, every 500 ms of the document's host... compressed
        assert con.command("AT+CEREG?") in (["+CEREG:0,2", "OK"], ["+CEREG:0,0", "OK"])
        con.quiet(0.1)
    assert con.command("AT+CEREG?") == ["+CEREG:0,2", "OK"]
    assert con.command("AT+QCSEARFCN") == ["ERROR"]  # only at CFUN=0
    con.ok("AT+CFUN=0", "AT+QCSEARFCN", "AT+QBAND=1,28")
    assert subsystems(control)["bands"] == {"lock": [28], "frequencies_stale": False}
    con.ok("AT+QRST=1")
    con.wait("+CPIN: READY")
    assert con.command("ATE0")[-1] == "OK"
    assert con.command("AT+QBAND?") == ["+QBAND: 1,28", "OK"]  # the lock is saved
    con.poll("AT+CEREG?", "+CEREG:0,1")
    assert con.command("AT+QENG=0") == [
        '+QENG: 0,9410,0,77,"05C4EF99",-75,-8,-65,14,28,"4C11",1,12,3', "OK"]


def test_the_band_lock_decides_which_cells_are_found(sim, tmp_path):
    con, _ = start(sim, tmp_path)
    con.ok("AT+QSCLK=0")
    supported = "1,2,3,4,5,8,12,13,14,17,18,19,20,25,28,66,70,85"
    assert con.command("AT+QBAND?") == [f"+QBAND: 18,{supported}", "OK"]
    assert con.command("AT+QBAND=?") == [f"+QBAND: (0-18),({supported})", "OK"]
    for bad in ("AT+QBAND=2,28", "AT+QBAND=1,7", "AT+QBAND=2,28,28", "AT+QBAND=1,x"):
        assert con.command(bad) == ["ERROR"], bad
    con.ok("AT+QBAND=1,28", "AT+CFUN=0", "AT+CFUN=1")  # no band-28 cell in this world
    con.quiet(0.5)  # 10 s of search
    assert con.command("AT+CEREG?") == ["+CEREG:0,2", "OK"]
    con.ok("AT+QBAND=2,3,8", "AT+CFUN=0", "AT+CFUN=1")
    con.poll("AT+CEREG?", "+CEREG:0,1")
    assert con.command("AT+QBAND?") == ["+QBAND: 2,3,8", "OK"]
    con.ok("AT+QBAND=0")
    assert con.command("AT+QBAND?") == [f"+QBAND: 18,{supported}", "OK"]
