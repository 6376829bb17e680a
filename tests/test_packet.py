"""The packet domain over the PTY: contexts, attach, activation, addresses, events, dial-up."""

from __future__ import annotations

import ipaddress
import json
import re

from cellular import at, boot, lines, until, wait_stat


def addresses(reply: bytes, cid: int) -> list[str]:
    match = re.search(rf"\+CGPADDR: {cid}((?:,\"[^\"]*\")*)\r\n".encode(), reply)
    assert match, reply
    return re.findall(r'"([^"]*)"', match[1].decode())


def test_contexts_are_defined_checked_and_saved(sim, tmp_path):
    data = tmp_path / "keep"
    port = boot(sim, "ec200t", b"+QIND: PB DONE\r\n", data_dir=data)
    assert lines(at(port, "AT+CGDCONT?")) == ['+CGDCONT: 1,"IP","","0.0.0.0",0,0,0,0', "OK"]
    assert lines(at(port, "AT+CGDCONT=?"))[:2] == [
        '+CGDCONT: (1-15),"IP",,,(0-2),(0-4),(0,1),(0,1)',
        '+CGDCONT: (1-15),"PPP",,,(0-2),(0-4),(0,1),(0,1)']
    assert at(port, 'AT+CGDCONT=3,"IPV4V6","internet.test"') == b"\r\nOK\r\n"
    assert at(port, 'AT+CGDCONT=16,"IP","x"') == b"\r\nERROR\r\n"
    assert at(port, 'AT+CGDCONT=2,"X25","x"') == b"\r\nERROR\r\n"
    port.close()
    port = boot(sim, "ec200t", b"+QIND: PB DONE\r\n", data_dir=data)
    assert lines(at(port, "AT+CGDCONT?")) == [
        '+CGDCONT: 1,"IP","","0.0.0.0",0,0,0,0',
        '+CGDCONT: 3,"IPV4V6","internet.test","0.0.0.0",0,0,0,0', "OK"]
    assert at(port, "AT+CGDCONT=3") == b"\r\nOK\r\n"  # undefine
    assert lines(at(port, "AT+CGDCONT?"))[-2:] == ['+CGDCONT: 1,"IP","","0.0.0.0",0,0,0,0', "OK"]


def test_activation_addresses_and_events(modem):
    port = modem("ec200t")
    wait_stat(port, "+CEREG", {1})
    assert lines(at(port, "AT+CGACT?")) == ["+CGACT: 1,1", "OK"]  # the default bearer
    (v4,) = addresses(at(port, "AT+CGPADDR=1"), 1)
    assert ipaddress.ip_address(v4) in ipaddress.ip_network("10.7.0.0/16")
    at(port, 'AT+CGDCONT=2,"IPV4V6","ims"')
    assert addresses(at(port, "AT+CGPADDR=2"), 2) == []
    assert at(port, "AT+CGEREP=2,1") == b"\r\nOK\r\n"
    assert lines(at(port, "AT+CGEREP?")) == ["+CGEREP: 2,1", "OK"]
    assert at(port, "AT+CGACT=1,2") == b"\r\nOK\r\n"
    assert lines(until(port, "+CGEV: ME PDN ACT 2"))[-1] == "+CGEV: ME PDN ACT 2"
    v4, v6 = addresses(at(port, "AT+CGPADDR"), 2)
    assert ipaddress.ip_address(v4).version == 4 and ipaddress.ip_address(v6).version == 6
    assert v6.startswith("2408:8456:3a10:1c4d:")
    assert lines(at(port, "AT+CGACT?"))[-3:] == ["+CGACT: 1,1", "+CGACT: 2,1", "OK"]
    assert at(port, "AT+CGACT=1,9") == b"\r\nERROR\r\n"  # not defined
    assert at(port, "AT+CGDCONT=2") == b"\r\nERROR\r\n"  # active: cannot undefine
    at(port, "AT+CGACT=0,2")
    until(port, "+CGEV: ME PDN DEACT 2")
    at(port, "AT+CFUN=0")
    until(port, "+CGEV: NW PDN DEACT 1")
    assert lines(at(port, "AT+CGACT?"))[-3:] == ["+CGACT: 1,0", "+CGACT: 2,0", "OK"]
    at(port, "AT+CMEE=1")
    assert at(port, "AT+CGACT=1,2").endswith(b"+CME ERROR: 30\r\n")  # no network


def test_detach_and_attach(modem):
    port = modem("ec200t")
    wait_stat(port, "+CEREG", {1})
    at(port, "AT+CEREG=1")
    at(port, "AT+CGEREP=1")
    assert lines(at(port, "AT+CGATT?")) == ["+CGATT: 1", "OK"]
    assert at(port, "AT+CGATT=0") == b"\r\nOK\r\n"
    got = until(port, "+CGEV: ME DETACH")
    assert "+CEREG: 0" in lines(got)
    assert lines(at(port, "AT+CGATT?"))[-2:] == ["+CGATT: 0", "OK"]
    assert lines(at(port, "AT+CREG?"))[-2:] == ["+CREG: 0,1", "OK"]  # CS stays
    assert at(port, "AT+CGATT=1") == b"\r\nOK\r\n"
    until(port, "+CEREG: 1")
    # the attach's +CGEV reports may still come ahead of the answer
    assert at(port, "AT+CGATT=2").endswith(b"\r\nERROR\r\n")


def test_nbiot_default_context_and_addresses(modem):
    port = modem("bc660k")
    wait_stat(port, "+CEREG", {1})
    v4, v6 = addresses(at(port, "AT+CGPADDR"), 0)
    assert ipaddress.ip_address(v4) in ipaddress.ip_network("10.21.0.0/16")
    assert re.fullmatch(r"2409:8d30:0114:0242(:[0-9a-f]{4}){4}", v6)
    assert at(port, 'AT+QCGDEFCONT="IPV4V6", "apn.test", "user", "secret"') == b"\r\nOK\r\n"
    assert lines(at(port, "AT+QCGDEFCONT?")) == [
        '+QCGDEFCONT: "IPV4V6","apn.test","user","secret"', "OK"]
    assert at(port, 'AT+QCGDEFCONT="PPP"') == b"\r\nERROR\r\n"


def test_neoway_strings_must_be_quoted(modem):
    port = modem("n11v2")
    assert at(port, 'AT+CGDCONT=1,"IP","CMNET"') == b"\r\nOK\r\n"
    assert at(port, "AT+CGDCONT=1,IP,CMNET") == b"\r\nERROR\r\n"
    assert lines(at(port, "AT+CGDCONT?")) == ['+CGDCONT: 1,"IP","CMNET","0.0.0.0",0,0', "OK"]
    assert lines(at(port, "AT+CGDCONT=?")) == ["+CGDCONT: (1-7),(IP,IPV6,PPP),(0-3),(0-4)", "OK"]


def test_dial_up_without_ppp_says_no_carrier_and_why(sim, tmp_path):
    events = tmp_path / "events.jsonl"
    port = boot(sim, "ec200t", b"+QIND: PB DONE\r\n", "--log-json", str(events))
    wait_stat(port, "+CEREG", {1})
    assert at(port, "ATD*99#") == b"\r\nNO CARRIER\r\n"
    assert at(port, "ATD*99***1#") == b"\r\nNO CARRIER\r\n"
    assert at(port, "AT") == b"\r\nOK\r\n"
    dials = [json.loads(line) for line in events.read_text().splitlines()
             if '"kind": "dial"' in line]
    assert [d["number"] for d in dials] == ["*99#", "*99***1#"]
    assert all("PPP is not simulated" in d["reason"] for d in dials)
