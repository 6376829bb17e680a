"""DNS, ping and network time on ec200t: names from the hosts table and the host's resolver,
pings answered by the world model, and a real SNTP exchange that sets the module's clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from peers import SntpServer
from qi import ctl, open_module

PING = re.compile(rb'\r\n\+QPING: 0,"203\.0\.113\.10",32,(\d+),64\r\n')


@pytest.fixture
def sntp():
    server = SntpServer(datetime(2019, 9, 8, 17, 32, 42, tzinfo=UTC))
    yield server
    server.close()


def test_dns_lookups(sim):
    port = open_module(sim, "ec200t-internet")
    assert port.at('AT+QIDNSGIP=1,"server.example"') == b"\r\nOK\r\n"
    assert port.urc('+QIURC: "dnsgip","203.0.113.11"') == (
        b'\r\n+QIURC: "dnsgip",0,2,600\r\n\r\n+QIURC: "dnsgip","203.0.113.10"\r\n'
        b'\r\n+QIURC: "dnsgip","203.0.113.11"\r\n')
    assert port.at('AT+QIDNSGIP=1,"localhost"') == b"\r\nOK\r\n"  # the host's resolver
    port.urc('+QIURC: "dnsgip","127.0.0.1"')
    assert port.at('AT+QIDNSGIP=1,"no-such-host.invalid"') == b"\r\nOK\r\n"
    assert port.urc('+QIURC: "dnsgip",565')
    assert port.at('AT+QIDNSGIP=2,"server.example"') == b"\r\nERROR\r\n"  # context 2 is down
    assert port.at("AT+QIDNSGIP=1,server.example") == b"\r\nERROR\r\n"  # names are quoted


def test_dns_servers(sim):
    port = open_module(sim, "ec200t")
    assert port.at("AT+QIDNSCFG=1") == (
        b'\r\n+QIDNSCFG: 1,"114.114.114.114","8.8.8.8"\r\n\r\nOK\r\n')
    assert port.at('AT+QIDNSCFG=1,"8.8.4.4"') == b"\r\nOK\r\n"
    assert port.at("AT+QIDNSCFG=1") == b'\r\n+QIDNSCFG: 1,"8.8.4.4","8.8.8.8"\r\n\r\nOK\r\n'
    assert port.at('AT+QIDNSCFG=1,"1.1.1.1","9.9.9.9"') == b"\r\nOK\r\n"
    assert port.at("AT+QIDNSCFG=1") == b'\r\n+QIDNSCFG: 1,"1.1.1.1","9.9.9.9"\r\n\r\nOK\r\n'
    assert port.at('AT+QIDNSCFG=1,"300.1.1.1"') == b"\r\nERROR\r\n"
    assert port.at("AT+QIDNSCFG=16") == b"\r\nERROR\r\n"


def test_ping_answers_from_the_world_model(sim):
    port = open_module(sim, "ec200t-internet", ["203.0.113.10=127.0.0.1"])
    assert port.at('AT+QPING=1,"server.example"') == b"\r\nOK\r\n"
    assert port.at('AT+QPING=1,"server.example"') == b"\r\nERROR\r\n"  # one at a time
    lines = port.take(b"+QPING: 0,4,4,0,") + port.take(b"\r\n")
    times = [int(t) for t in PING.findall(lines)]
    assert len(times) == 4 and all(100 <= t <= 150 for t in times)
    summary = f"+QPING: 0,4,4,0,{min(times)},{max(times)},{sum(times) // 4}\r\n".encode()
    assert lines.endswith(summary)
    assert port.at('AT+QPING=1,"203.0.113.10",2,2') == b"\r\nOK\r\n"
    assert len(PING.findall(port.take(b"+QPING: 0,2,2,0,") + port.take(b"\r\n"))) == 2


def test_ping_failures(sim):
    port = open_module(sim, "ec200t-internet")
    assert port.at('AT+QPING=1,"198.51.100.7",1,2') == b"\r\nOK\r\n"
    assert port.urc("+QPING: 0,2,0,2,0,0,0") == (
        b"\r\n+QPING: 569\r\n\r\n+QPING: 569\r\n\r\n+QPING: 0,2,0,2,0,0,0\r\n")
    assert port.at('AT+QPING=1,"no-such-host.invalid"') == b"\r\nOK\r\n"
    assert port.urc("+QPING: 565") == b"\r\n+QPING: 565\r\n"
    for bad in ('AT+QPING=1,"x",0', 'AT+QPING=1,"x",4,11', 'AT+QPING=16,"x"', "AT+QPING=1"):
        assert port.at(bad) == b"\r\nERROR\r\n", bad
    assert port.at("AT+QPING=?") == (
        b"\r\n+QPING: (1-15),<host>,(1-255),(1-10)\r\n\r\nOK\r\n")


def test_ntp_sets_the_module_clock(sim, sntp):
    port = open_module(sim, "ec200t", [f"202.112.10.36:123=127.0.0.1:{sntp.port}"])
    pty = port.port.port
    assert not ctl(pty, "state")["clock"]["rtc"].startswith("2019")
    assert port.at('AT+QNTP=1,"202.112.10.36",123') == b"\r\nOK\r\n"
    assert port.urc('+QNTP: 0,"2019/09/09,01:32:42+32"')  # local time, zone +32 quarters
    assert ctl(pty, "state")["clock"]["rtc"].startswith("2019-09-08T17:3")  # the RTC is UTC
    assert sntp.requests == 1


def test_ntp_spellings_read_and_failures(sim, sntp):
    silent = SntpServer(datetime(2000, 1, 1, tzinfo=UTC), answer=False)
    try:
        port = open_module(sim, "ec200t", [f"202.112.10.36:123=127.0.0.1:{sntp.port}",
                                            f"192.0.2.123:123=127.0.0.1:{silent.port}"],
                           scale=100.0)
        pty = port.port.port
        assert port.at('AT+QNTTP=1,"202.112.10.36",123,0') == b"\r\nOK\r\n"  # the guide's name
        assert port.urc('+QNTP: 0,"2019/09/09,01:32:42+32"')
        assert not ctl(pty, "state")["clock"]["rtc"].startswith("2019")  # autosettime 0
        assert port.at('AT+QNTP=1,"192.0.2.123"') == b"\r\nOK\r\n"
        assert port.at("AT+QNTP?") == b'\r\n+QNTP: "192.0.2.123",123\r\n\r\nOK\r\n'
        assert port.at('AT+QNTP=1,"202.112.10.36"') == b"\r\nERROR\r\n"  # one at a time
        assert port.urc("+QNTP: 569", timeout=15) == b"\r\n+QNTP: 569\r\n"  # 125 s, no answer
        assert port.at("AT+QNTP?") == b"\r\nOK\r\n"
        assert port.at('AT+QNTP=1,"no-such-host.invalid"') == b"\r\nOK\r\n"
        assert port.urc("+QNTP: 565")
        assert port.at('AT+QNTP=1,"x",0') == b"\r\nERROR\r\n"
    finally:
        silent.close()
