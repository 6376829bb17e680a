"""Operator selection (AT+COPS) and the signal reports, over the PTY."""

from __future__ import annotations

import time

import pytest
from cellular import at, boot, lines, until, variant, wait_stat


@pytest.mark.parametrize(("family", "reads"), [
    ("ec200t", ['+COPS: 0,0,"CHN-UNICOM",7', '+COPS: 0,1,"UNICOM",7', '+COPS: 0,2,"46001",7']),
    ("bc660k", ['+COPS: 0,0,"CHN-CT",9', '+COPS: 0,1,"CT",9', '+COPS: 0,2,"46011",9']),
    ("m66", ['+COPS: 0,0,"CHINA MOBILE"', '+COPS: 0,1,"CMCC"', '+COPS: 0,2,"46000"']),
    ("n11v2", ['+COPS: 0,0,"China Mobile"', '+COPS: 0,1,"CMCC"', '+COPS: 0,2,"46000"']),
])
def test_cops_read_follows_the_format(modem, family, reads):
    port = modem(family)
    wait_stat(port, "+CEREG" if family in ("ec200t", "bc660k") else "+CREG", {1})
    for fmt, read in enumerate(reads):
        assert at(port, f"AT+COPS=3,{fmt}") == b"\r\nOK\r\n"
        assert lines(at(port, "AT+COPS?"))[-2:] == [read, "OK"]
    assert at(port, "AT+COPS=3") == b"\r\nERROR\r\n"
    assert at(port, "AT+COPS=3,3") == b"\r\nERROR\r\n"
    assert at(port, "AT+COPS=5") == b"\r\nERROR\r\n"


def test_neoway_reads_numeric_by_default_and_scans_without_the_tail(modem):
    port = modem("n11v2")
    wait_stat(port, "+CREG", {1})
    assert lines(at(port, "AT+COPS?"))[-2:] == ['+COPS: 0,2,"46000"', "OK"]
    assert lines(at(port, "AT+COPS=?", timeout=20))[-2:] == [
        '+COPS: (2,"China Mobile","CMCC","46000"),(3,"China Unicom","CU-GSM","46001")', "OK"]


def test_scan_lists_the_world_and_takes_its_time(sim, tmp_path):
    port = boot(sim, variant(tmp_path, "ec200t", network={"scan_time": "30s"}),
                b"+QIND: PB DONE\r\n")
    wait_stat(port, "+CEREG", {1})
    started = time.monotonic()
    reply = at(port, "AT+COPS=?", timeout=20)
    elapsed = time.monotonic() - started
    assert lines(reply) == [
        '+COPS: (2,"CHN-UNICOM","UNICOM","46001",7),(3,"CHINA MOBILE","CMCC","46000",7),'
        '(1,"CHN-CT","CT","46011",7),,(0-4),(0-2)', "OK"]
    assert elapsed >= 1.4  # 30 s of module time at 20x


def test_deregister_manual_selection_and_fallback(modem):
    port = modem("ec200t")
    wait_stat(port, "+CREG", {1})
    at(port, "AT+CMEE=1")
    at(port, "AT+CREG=1")
    assert at(port, "AT+COPS=2") == b"\r\nOK\r\n"
    until(port, "+CREG: 0")
    assert lines(at(port, "AT+COPS?"))[-2:] == ["+COPS: 2", "OK"]
    assert at(port, "AT+COPS=0") == b"\r\nOK\r\n"
    until(port, "+CREG: 1")
    # another operator by hand: it serves the SIM as a roaming partner
    assert at(port, 'AT+COPS=1,2,"46011"', timeout=20).endswith(b"\r\nOK\r\n")
    until(port, "+CREG: 5")
    assert lines(at(port, "AT+COPS?"))[-2:] == ['+COPS: 1,2,"46011",7', "OK"]
    # a forbidden network denies; an unknown one is not there at all
    assert at(port, 'AT+COPS=1,0,"CHINA MOBILE"', timeout=20).endswith(b"+CME ERROR: 30\r\n")
    until(port, "+CREG: 3")
    assert at(port, 'AT+COPS=1,2,"99999"').endswith(b"+CME ERROR: 30\r\n")
    # manual with automatic fallback ends up home
    assert at(port, 'AT+COPS=4,2,"46000"', timeout=20).endswith(b"\r\nOK\r\n")
    until(port, "+CREG: 1")
    assert lines(at(port, "AT+COPS?"))[-2:] == ['+COPS: 4,2,"46001",7', "OK"]


@pytest.mark.parametrize(("family", "replies"), [
    ("ec200t", {
        "AT+CSQ": "+CSQ: 24,99",
        "AT+CESQ": "+CESQ: 99,99,255,255,19,46",
        "AT+QCSQ": '+QCSQ: "LTE",-65,-95,175,-10',
        "AT+QNWINFO": '+QNWINFO: "FDD LTE","46001","LTE BAND 3",1650',
        'AT+QENG="servingcell"': '+QENG: "servingcell","NOCONN","LTE","FDD",460,01,1A2D001,'
                                 '123,1650,3,5,5,1A2D,-95,-10,-65,15,31',
    }),
    ("bc660k", {
        "AT+CSQ": "+CSQ:24,99",
        "AT+CESQ": "+CESQ: 99,99,255,255,23,66",
        "AT+QENG=0": '+QENG: 0,3686,11,121,"05C4EF33",-75,-8,-65,14,8,"4C10",0,9,3',
    }),
    ("m66", {"AT+CSQ": "+CSQ: 23,0"}),
    ("n11v2", {"AT+CSQ": "+CSQ: 31,99", "AT+CSQ=?": "+CSQ: (0-31,99),(0-7,99)"}),
])
def test_signal_reports_from_one_model(modem, family, replies):
    port = modem(family)
    wait_stat(port, "+CEREG" if family in ("ec200t", "bc660k") else "+CREG", {1})
    for line, reply in replies.items():
        assert lines(at(port, line))[-2:] == [reply, "OK"], line


def test_signal_follows_the_world_and_the_radio(sim, tmp_path):
    weak = {"rssi": -111, "rsrp": -120, "rsrq": -15, "sinr": -3, "ber": 99}
    port = boot(sim, variant(tmp_path, "ec200t", network={"signal": weak}),
                b"+QIND: PB DONE\r\n")
    wait_stat(port, "+CEREG", {1})
    assert lines(at(port, "AT+CSQ"))[-2] == "+CSQ: 1,99"
    assert lines(at(port, "AT+CESQ"))[-2] == "+CESQ: 99,99,255,255,9,21"
    assert lines(at(port, "AT+QCSQ"))[-2] == '+QCSQ: "LTE",-111,-120,85,-15'
    at(port, "AT+CFUN=0")
    wait_stat(port, "+CEREG", {0})
    assert lines(at(port, "AT+CSQ"))[-2] == "+CSQ: 99,99"
    assert lines(at(port, "AT+CESQ"))[-2] == "+CESQ: 99,99,255,255,255,255"
    assert lines(at(port, "AT+QCSQ"))[-2] == '+QCSQ: "NOSERVICE"'
    assert lines(at(port, "AT+QNWINFO"))[-2] == "+QNWINFO: No Service"
    assert lines(at(port, 'AT+QENG="servingcell"'))[-2] == '+QENG: "servingcell","SEARCH"'
    assert at(port, 'AT+QENG="nonsense"') == b"\r\nERROR\r\n"


def test_ws46_tells_which_networks(modem):
    port = modem("ec200t")
    assert lines(at(port, "AT+WS46=?")) == ["+WS46: (12,28,30)", "OK"]
    assert lines(at(port, "AT+WS46?")) == ["+WS46: 30", "OK"]
    assert at(port, "AT+WS46=28") == b"\r\nOK\r\n"
    assert lines(at(port, "AT+WS46?")) == ["+WS46: 28", "OK"]
    assert at(port, "AT+WS46=22") == b"\r\nERROR\r\n"
