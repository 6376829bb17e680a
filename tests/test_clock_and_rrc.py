"""AT+CCLK in each family's format, network time zone reports, and the NB-IoT RRC state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from cellular import at, boot, lines, until, variant, wait_stat

CCLK = re.compile(r'\+CCLK: "(\d\d/\d\d/\d\d,\d\d:\d\d:\d\d)([+-]\d\d)?"')


def cclk(port) -> tuple[datetime, str | None]:
    reply = lines(at(port, "AT+CCLK?"))
    match = CCLK.fullmatch(reply[-2])
    assert match and reply[-1] == "OK", reply
    return datetime.strptime(match[1], "%y/%m/%d,%H:%M:%S"), match[2]


@pytest.mark.parametrize(("family", "offset"), [("ec200t", 8), ("m66", 8), ("bc660k", 0)])
def test_cclk_shows_the_family_time_with_a_quarter_hour_zone(modem, family, offset):
    port = modem(family)
    shown, zone = cclk(port)
    assert zone == "+32"
    expected = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=offset)
    assert abs(shown - expected) < timedelta(minutes=15)  # the module clock runs 20x fast
    assert at(port, 'AT+CCLK="24/01/16,08:55:19+32"') == b"\r\nOK\r\n"
    shown, zone = cclk(port)
    assert zone == "+32"
    assert timedelta(0) <= shown - datetime(2024, 1, 16, 8, 55, 19) < timedelta(minutes=2)


def test_cclk_rejects_bad_times(modem):
    port = modem("ec200t")
    for bad in ('"24/13/16,08:55:19+32"', '"24/01/16,08:55:"', '"24/01/16,25:00:00+32"',
                '"24/01/16,08:55:19+99"', "24/01/16"):
        assert at(port, f"AT+CCLK={bad}") == b"\r\nERROR\r\n", bad


def test_neoway_clock_has_no_zone_until_one_is_given(modem):
    port = modem("n11v2")
    assert at(port, 'AT+CCLK="11/10/14,09:30:16"') == b"\r\nOK\r\n"
    assert at(port, 'AT+CCLK="11/10/14,09:30:"') == b"\r\nERROR\r\n"
    shown, zone = cclk(port)
    assert zone is None and shown.date() == datetime(2011, 10, 14).date()
    at(port, 'AT+CCLK="11/10/14,09:30:16-20"')
    assert cclk(port)[1] == "-20"


def test_utc_clock_keeps_utc_when_the_zone_changes(modem):
    port = modem("bc660k")
    at(port, 'AT+CCLK="24/01/16,08:55:19+00"')
    at(port, 'AT+CCLK="24/01/16,08:55:19+32"')
    shown, zone = cclk(port)
    assert zone == "+32" and shown - datetime(2024, 1, 16, 8, 55, 19) < timedelta(minutes=2)


def test_time_zone_reports_on_registration(modem):
    port = modem("ec200t")
    wait_stat(port, "+CEREG", {1})
    assert lines(at(port, "AT+CTZU?")) == ["+CTZU: 0", "OK"]
    assert at(port, "AT+CTZU=1") == b"\r\nOK\r\n"
    assert at(port, "AT+CTZR=1") == b"\r\nOK\r\n"
    at(port, "AT+CFUN=0")
    at(port, "AT+CFUN=1")
    assert '+CTZV: "+32"' in lines(until(port, '+CTZV: "+32"'))
    at(port, "AT+CTZR=2")
    at(port, "AT+CFUN=0")
    at(port, "AT+CFUN=1")
    got = lines(port.read_until(lambda b: re.search(rb"\+CTZE: [^\r]*\r\n", b) is not None))
    ctze = next(line for line in got if line.startswith("+CTZE"))
    assert re.fullmatch(r'\+CTZE: "\+32",0,"\d{4}/\d\d/\d\d,\d\d:\d\d:\d\d"', ctze), ctze
    assert at(port, "AT+CTZR=3") == b"\r\nERROR\r\n"


def test_rrc_connects_for_the_attach_and_is_released_when_idle(sim, tmp_path):
    port = boot(sim, variant(tmp_path, "bc660k", network={"inactivity": "10s"}),
                b"+CPIN: READY\r\n")
    wait_stat(port, "+CEREG", {1})
    assert at(port, "AT+CSCON=1") == b"\r\nOK\r\n"
    at(port, "AT+CFUN=0")
    until(port, "+CSCON:0")
    assert lines(at(port, "AT+CSCON?"))[-2:] == ["+CSCON:1,0", "OK"]
    at(port, "AT+CFUN=1")
    until(port, "+CSCON:1")
    assert lines(at(port, "AT+CSCON?"))[-2:] == ["+CSCON:1,1", "OK"]
    until(port, "+CSCON:0")  # 10 s of module time without traffic
    assert at(port, "AT+CSCON=2") == b"\r\nERROR\r\n"
    assert lines(at(port, "AT+CSCON=?")) == ["+CSCON:(0,1)", "OK"]
