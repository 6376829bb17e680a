"""The same socket machinery behind the BC660K (NB-IoT) and FCM360W (Wi-Fi) dialects: their
documents' socket dialogs replayed, and the differences that matter to a driver checked byte
for byte (context parameter, ID ranges, +QISTATE rows, data on the URC line, OK then SEND OK /
CLOSE OK, the FCM360W's error numbers)."""

from __future__ import annotations

import socket

import pytest
from peers import TcpPeer, UdpPeer, free_port, twin_peers
from qi import ctl, open_module, opened, read_once, send
from replaying import copies, overrides, replay, setup

from simulator.replay import ReplayOptions, override_for

SCALE = 20.0


def scenarios(family: str) -> list[dict]:
    return copies(f"{family}.sockets")


def replay_on(sim, family: str, scenario: dict, routes: list[str]) -> str | None:
    before = setup(f"{family}.sockets")
    override = override_for(scenario["id"], overrides(f"{family}.sockets"))
    steps = [step for block in before["scenarios"].get(scenario["id"], [])
             for step in before["blocks"][block]] + scenario["steps"]
    s = sim(family, *[a for r in routes for a in ("--route", r)], time_scale=SCALE)

    def remote(text: str) -> str | None:
        if text == "the network registers the module":
            ctl(s.path, "network register")
            return None
        return f"no peer plays {text!r}"

    options = ReplayOptions(profile=family, timeout=10.0, time_scale=SCALE / 2)
    return replay(s.path, steps, options, override, remote=remote)


@pytest.mark.parametrize("scenario", scenarios("bc660k"), ids=lambda s: s["id"])
def test_bc660k_document_dialogs(sim, scenario):
    tcp, udp = twin_peers(b"hello world")  # "server answers" every message, TCP and UDP
    try:
        failure = replay_on(sim, "bc660k", scenario, [f"220.180.239.212:8058=127.0.0.1:{tcp.port}"])
    finally:
        tcp.close()
        udp.close()
    assert failure is None, failure


@pytest.mark.parametrize("scenario", scenarios("fcm360w"), ids=lambda s: s["id"])
def test_fcm360w_document_dialog(sim, scenario):
    # the server greets once the client has been quiet for the +++ guard time
    server = TcpPeer(greet=(6 / SCALE, b"Test 1\r\n"))
    try:
        route = f"220.180.239.212:8009=127.0.0.1:{server.port}"
        failure = replay_on(sim, "fcm360w", scenario, [route])
    finally:
        server.close()
    assert failure is None, failure


# -- BC660K ----------------------------------------------------------------------------------
def test_bc660k_context_zero_follows_registration(sim):
    port = open_module(sim, "bc660k")  # registered by the helper: context 0 is up
    assert port.at("AT+QIACT=1") == b"\r\nERROR\r\n"  # no AT+QIACT on this module
    assert port.at('AT+QIOPEN=1,0,"TCP","203.0.113.1",80') == b"\r\nERROR\r\n"  # only context 0
    assert port.at('AT+QIOPEN=0,5,"TCP","203.0.113.1",80') == b"\r\nERROR\r\n"  # IDs 0-4
    ctl(port.port.port, "network deregister")
    assert port.at('AT+QIOPEN=0,0,"TCP","203.0.113.1",80') == b"\r\nERROR\r\n"  # no network
    assert port.silence(0.2) == b""  # the default PDN goes quietly: no "pdpdeact"


def test_bc660k_two_step_results_and_inline_data(sim):
    peer = TcpPeer()
    try:
        port = open_module(sim, "bc660k", [f"220.180.239.212:8058=127.0.0.1:{peer.port}"])
        opened(port, 'AT+QIOPEN=0,0,"TCP","220.180.239.212",8058,0,0')
        assert port.at('AT+QISEND=0,5,"a,b;c"') + port.take(b"\r\n", 5) + port.take(b"\r\n") == \
            b"\r\nOK\r\n\r\nSEND OK\r\n"
        assert port.at('AT+QISEND=0,9,"too short"') == b"\r\nOK\r\n"
        port.take(b"SEND OK\r\n")
        assert port.at('AT+QISEND=0,4,"abc"') == b"\r\nERROR\r\n"  # the length must match
        assert peer.connection().wait_received(14) == b"a,b;ctoo short"
        peer.connection().send(b"xyz")
        assert port.urc('+QIURC: "recv",0') == b'\r\n+QIURC: "recv",0\r\n'
        assert port.at("AT+QIRD=0,1200") == b'\r\n+QIRD: 3,0,"xyz"\r\n\r\nOK\r\n'
        assert port.at("AT+QICLOSE=0") + port.take(b"CLOSE OK\r\n") == (
            b"\r\nOK\r\n\r\nCLOSE OK\r\n")
    finally:
        peer.close()


def test_bc660k_ping_prints_the_address_bare(sim):
    port = open_module(sim, "bc660k", ["8.8.8.8=127.0.0.1"])
    assert port.at('AT+QPING=0,"8.8.8.8",4,1,32,1') == b"\r\nOK\r\n"
    reply = port.take(b"\r\n+QPING: 0,1,1,0,") + port.take(b"\r\n")
    assert reply.startswith(b"\r\n+QPING: 0,8.8.8.8,32,") and b",51\r\n" in reply


# -- FCM360W ---------------------------------------------------------------------------------
def test_fcm360w_sockets_without_a_context(sim):
    peer = TcpPeer()
    listen = free_port()
    try:
        port = open_module(sim, "fcm360w", [f"220.180.239.212:8009=127.0.0.1:{peer.port}",
                                            f"192.168.1.100:2020=127.0.0.1:{listen}"])
        opened(port, 'AT+QIOPEN=0,"TCP","220.180.239.212",8009,0,0')
        local = peer.connection().peer[1]
        assert port.at("AT+QISTATE=0") == (
            b'\r\n+QISTATE: 0,"TCP","220.180.239.212",8009,%d,2,0,0,"uart1"\r\n\r\nOK\r\n'
            % local)
        assert port.at('AT+QIOPEN=0,"TCP","220.180.239.212",8009') == b"\r\nERROR\r\n"
        assert port.at("AT+QIGETERROR") == (
            b"\r\n+QIGETERROR: 561,Socket Identity has been used\r\n\r\nOK\r\n")
        opened(port, 'AT+QIOPEN=1,"TCP LISTENER","127.0.0.1",0,2020,0', sid=1)
        assert port.at("AT+QISTATE=1") == (
            b'\r\n+QISTATE: 1,"TCP LISTENER","192.168.1.100",0,2020,3,1,0,"uart1"\r\n\r\nOK\r\n')
        assert port.at("AT+QIACT=1") == b"\r\nERROR\r\n"  # no PDP context on Wi-Fi
        assert port.at("AT+QISTATE=1,0") == b"\r\nERROR\r\n"  # the cellular form is not here
        assert port.at("AT+QICLOSE=0,0") == b"\r\nERROR\r\n"  # <timeout> is 1-120 here
        assert port.at("AT+QICLOSE=0,121") == b"\r\nERROR\r\n"
        assert send(port, 0, b"hi") == b"\r\nSEND OK\r\n"
        assert peer.connection().wait_received(2) == b"hi"
        assert port.at("AT+QICLOSE=0") == b"\r\nOK\r\n"
    finally:
        peer.close()


def test_fcm360w_udp_service_read_has_the_trailing_comma(sim):
    local = free_port(socket.SOCK_DGRAM)
    sender = UdpPeer()
    try:
        port = open_module(sim, "fcm360w", [f"192.168.1.100:3030=127.0.0.1:{local}",
                                            f"192.168.1.20:7000=127.0.0.1:{sender.port}"])
        opened(port, 'AT+QIOPEN=2,"UDP SERVICE","127.0.0.1",0,3030,0', sid=2)
        sender.sendto(b"AAAA", local)
        port.urc('+QIURC: "recv",2')
        assert port.at("AT+QIRD=2") == (
            b'\r\n+QIRD: 4,"192.168.1.20",7000,\r\nAAAA\r\n\r\nOK\r\n')
        assert read_once(port, 2) == b""
    finally:
        sender.close()


def test_fcm360w_services_without_a_context(sim):
    port = open_module(sim, "fcm360w", ["203.0.113.10=127.0.0.1"])
    assert port.at('AT+QPING="203.0.113.10",1,1') == b"\r\nOK\r\n"
    assert port.take(b"+QPING: 0,1,1,0,").startswith(b'\r\n+QPING: 0,"203.0.113.10",32,')
    port.take(b"\r\n")
    assert port.at('AT+QIDNSGIP="localhost"') == b"\r\nOK\r\n"
    assert port.urc('+QIURC: "dnsgip","127.0.0.1"')
    assert port.at('AT+QNTP=1,"pool.ntp.org"') == b"\r\nERROR\r\n"  # no NTP on this module
    assert port.at("AT+QPING=?") == b"\r\n+QPING: <host>,(1-255),(1-10)\r\n\r\nOK\r\n"
