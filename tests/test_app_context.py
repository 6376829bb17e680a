"""MQTT and HTTP need the PDP context they are configured for: ec200t's must be activated with
AT+QIACT, bc660k's default bearer comes and goes with the attach."""

from __future__ import annotations

import pytest
from appkit import Lines, attached
from servers import Reply, WebServer


@pytest.fixture
def server():
    web = WebServer(None)
    web.replies["/ping"] = Reply(200, b"pong")
    yield web
    web.close()


def _open(lines: Lines, port: int) -> str:
    assert lines.command(f'AT+QMTOPEN=0,"127.0.0.1",{port}') == ["OK"]
    return lines.wait(r"\+QMTOPEN: 0,")


def _get(lines: Lines, server: WebServer, prompt: str) -> str:
    url = f"http://127.0.0.1:{server.port}/ping"
    assert lines.command(f"AT+QHTTPURL={len(url)},80") == [prompt]
    lines.send(url.encode())
    assert lines.wait("OK") == "OK"
    assert lines.command("AT+QHTTPGET=30") == ["OK"]
    return lines.wait(r"\+QHTTPGET:")


def test_ec200t_mqtt_needs_its_pdpcid_active(modem, broker) -> None:
    lines = Lines(modem("ec200t", time_scale=1.0))
    attached(lines)
    assert _open(lines, broker.plain) == "+QMTOPEN: 0,3"  # no context yet
    assert lines.command("AT+QIACT=1") == ["OK"]
    assert lines.command('AT+QMTCFG="pdpcid",0') == ['+QMTCFG: "pdpcid",1', "OK"]
    assert lines.command('AT+QMTCFG="pdpcid",0,2') == ["OK"]
    assert _open(lines, broker.plain) == "+QMTOPEN: 0,3"  # context 2 is still down
    assert lines.command('AT+QMTCFG="pdpcid",0,1') == ["OK"]
    assert _open(lines, broker.plain) == "+QMTOPEN: 0,0"
    assert lines.command('AT+QMTCFG="pdpcid",0,16') == ["ERROR"]


def test_ec200t_http_needs_its_contextid_active(modem, server) -> None:
    lines = Lines(modem("ec200t", time_scale=1.0))
    attached(lines)
    assert _get(lines, server, "CONNECT") == "+QHTTPGET: 709"
    assert server.seen.empty()
    assert lines.command("AT+QIACT=1") == ["OK"]
    assert _get(lines, server, "CONNECT") == "+QHTTPGET: 0,200,4"
    assert lines.command('AT+QHTTPCFG="contextid",2') == ["OK"]
    assert _get(lines, server, "CONNECT") == "+QHTTPGET: 709"


def test_bc660k_default_bearer_follows_the_attach(modem, broker, server) -> None:
    lines = Lines(modem("bc660k", time_scale=1.0))
    attached(lines)
    assert _get(lines, server, "> ") == "+QHTTPGET: 0,200,4"
    assert _open(lines, broker.plain) == "+QMTOPEN: 0,0"
    assert lines.command("AT+QMTCLOSE=0") == ["OK"]
    lines.wait(r"\+QMTCLOSE:")
    assert lines.command("AT+CFUN=0") == ["OK"]  # detached: the default bearer is gone
    assert _open(lines, broker.plain) == "+QMTOPEN: 0,3"
    assert _get(lines, server, "> ") == "+QHTTPGET: 709"
