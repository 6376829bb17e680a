"""ec200t sockets over the PTY against real peers on 127.0.0.1: opening, the three access
modes, servers with real clients, closing, status rows, errors, and bounded buffers."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from peers import TcpPeer, UdpPeer, connect, free_port, wait_for
from qi import ctl, open_module, opened, own_address, read_all, read_once, send

SERVER = "220.180.239.212:8009"
OPEN_TCP = 'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,{mode}'


@pytest.fixture
def peer():
    server = TcpPeer()
    yield server
    server.close()


@pytest.fixture
def echo():
    server = TcpPeer(echo=True)
    yield server
    server.close()


def routed(server: TcpPeer) -> list[str]:
    return [f"{SERVER}=127.0.0.1:{server.port}"]


def test_open_buffer_mode_and_state_row(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    conn = peer.connection()
    local_port = conn.peer[1]  # what the host really bound, as the module reports it
    assert port.at("AT+QISTATE=1,0") == (
        b'\r\n+QISTATE: 0,"TCP","220.180.239.212",8009,%d,2,1,0,0,"usbmodem"\r\n\r\nOK\r\n'
        % local_port)
    assert port.at("AT+QISTATE") == port.at("AT+QISTATE?") == port.at("AT+QISTATE=0,1")
    assert port.at("AT+QISTATE=0,2") == b"\r\nOK\r\n"  # no socket on context 2
    assert port.at("AT+QISTATE=?") == b"\r\nOK\r\n"


def test_send_forms_counters_and_hex(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    port.write(b"AT+QISEND=0\r")
    assert port.take(b"> ") == b"\r\n> "
    port.write(b"ab\x1bcd")  # ESC cancels: nothing goes out
    assert port.take(b"OK\r\n") == b"\r\nOK\r\n"
    assert port.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 571, cancel sending\r\n\r\nOK\r\n"
    assert send(port, 0, b"a\x1a\x1bb") == b"\r\nSEND OK\r\n"  # fixed length: Ctrl-Z is data
    port.write(b"AT+QISEND=0\r")
    port.take(b"> ")
    port.write(b"xyz\x1a")
    assert port.take(b"SEND OK\r\n") == b"\r\nSEND OK\r\n"
    assert port.at('AT+QISENDEX=0,"3132333435"') == b"\r\nSEND OK\r\n"
    assert peer.connection().wait_received(12) == b"a\x1a\x1bbxyz12345"
    assert port.at("AT+QISEND=0,0") == b"\r\n+QISEND: 12,12,0\r\n\r\nOK\r\n"
    assert port.at("AT+QISEND=0,1461") == b"\r\nERROR\r\n"
    assert port.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 552, invalid parameters\r\n\r\nOK\r\n"
    assert port.at('AT+QISENDEX=0,"31G2"') == b"\r\nERROR\r\n"
    assert port.at("AT+QISEND=5,3") == b"\r\nERROR\r\n"  # no such socket
    assert port.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 567, socket has been closed\r\n\r\nOK\r\n"
    assert port.at("AT+QISEND=?") == b"\r\n+QISEND: (0-11),(0-1460)\r\n\r\nOK\r\n"


def test_payload_echo_follows_qisde(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    assert port.at("ATE1") == b"\r\nOK\r\n"
    port.write(b"AT+QISEND=0,3\r")
    port.take(b"> ")
    port.write(b"abc")
    assert port.take(b"SEND OK\r\n") == b"abc\r\nSEND OK\r\n"
    assert port.at("AT+QISDE=0").endswith(b"\r\nOK\r\n")
    port.write(b"AT+QISEND=0,3\r")
    port.take(b"> ")
    port.write(b"def")
    assert port.take(b"SEND OK\r\n") == b"\r\nSEND OK\r\n"
    assert port.at("AT+QISDE?").endswith(b"\r\n+QISDE: 0\r\n\r\nOK\r\n")


def test_buffer_mode_urc_only_when_the_buffer_was_empty(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    conn = peer.connection()
    conn.send(b"first")
    port.urc('+QIURC: "recv",0')
    conn.send(b"second")
    wait_for(lambda: port.at("AT+QIRD=0,0") == b"\r\n+QIRD: 11,0,11\r\n\r\nOK\r\n")
    assert read_once(port, 0, 3) == b"fir"
    assert port.silence(0.2) == b""  # still unread data: no new URC
    assert read_once(port, 0) == b"stsecond"
    assert port.at("AT+QIRD=0") == b"\r\n+QIRD: 0\r\n\r\nOK\r\n"
    conn.send(b"again")
    assert port.urc('+QIURC: "recv",0') == b'\r\n+QIURC: "recv",0\r\n'
    assert port.at("AT+QIRD=0,0") == b"\r\n+QIRD: 16,11,5\r\n\r\nOK\r\n"
    assert port.at('AT+QICFG="recvind",1') == b"\r\nOK\r\n"
    read_once(port, 0)
    conn.send(b"len")
    assert port.urc('+QIURC: "recv",0,3') == b'\r\n+QIURC: "recv",0,3\r\n'


def test_direct_push_bytes_exactly(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=1))
    peer.connection().send(b"test")
    assert port.take(b"test") == b'\r\n+QIURC: "recv",0,4\r\ntest'
    assert port.silence(0.2) == b""  # no trailer, as the guide shows
    assert port.at('AT+QICFG="viewmode",1') == b"\r\nOK\r\n"
    peer.connection().send(b"ab")
    assert port.urc('+QIURC: "recv",0,2,ab') == b'\r\n+QIURC: "recv",0,2,ab\r\n'
    assert port.at('AT+QICFG="viewmode",0;+QICFG="dataformat",0,1') == b"\r\nOK\r\n"
    peer.connection().send(b"\x01\xfe")
    assert port.take(b"01FE") == b'\r\n+QIURC: "recv",0,2\r\n01FE'


def test_switching_modes_keeps_buffered_data(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    peer.connection().send(b"kept")
    port.urc('+QIURC: "recv",0')
    assert port.at("AT+QISWTMD=0,1") == b"\r\nOK\r\n"
    assert port.take(b"kept") == b'\r\n+QIURC: "recv",0,4\r\nkept'
    assert port.at("AT+QISTATE=1,0").split(b",")[-2] == b"1"  # access mode 1 now
    assert port.at("AT+QISWTMD=0,3") == b"\r\nERROR\r\n"
    assert port.at("AT+QISWTMD=0,2") == b"\r\nCONNECT\r\n"
    port.write(b"raw")
    assert peer.connection().wait_received(3) == b"raw"


def test_peer_close_leaves_the_socket_closing_until_qiclose(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    conn = peer.connection()
    conn.send(b"bye")
    port.urc('+QIURC: "recv",0')
    conn.close()
    assert port.urc('+QIURC: "closed",0') == b'\r\n+QIURC: "closed",0\r\n'
    assert b",4,1,0,0," in port.at("AT+QISTATE=1,0")  # state 4 (closing)
    assert read_once(port, 0) == b"bye"  # what came before the close is still there
    assert send(port, 0, b"x") == b"\r\nERROR\r\n"
    assert port.at("AT+QICLOSE=0") == b"\r\nOK\r\n"
    assert port.at("AT+QISTATE") == b"\r\nOK\r\n"


def test_qiclose_waits_for_the_peer_then_forces(sim):
    quiet = TcpPeer(read=False, rcvbuf=4096)
    try:
        port = open_module(sim, "ec200t", routed(quiet))
        opened(port, OPEN_TCP.format(mode=0))
        while send(port, 0, os.urandom(1460)) == b"\r\nSEND OK\r\n":
            pass  # until the peer's window and our buffer are full
        assert port.at("AT+QICLOSE=0,1", timeout=10) == b"\r\nOK\r\n"  # 1 s, then forced
        assert port.at("AT+QISTATE") == b"\r\nOK\r\n"
    finally:
        quiet.close()


def test_open_errors(sim, peer):
    closed_port = free_port()
    port = open_module(sim, "ec200t", [*routed(peer), f"198.51.100.1:80=127.0.0.1:{closed_port}"])
    assert port.at('AT+QIOPEN=1,0,"TCP","198.51.100.1",80,0,0') == b"\r\nOK\r\n"
    assert port.urc("+QIOPEN: 0,566")  # refused
    assert port.at("AT+QISTATE") == b"\r\nOK\r\n"  # the ID is free again
    assert port.at('AT+QIOPEN=1,0,"TCP","no-such-host.invalid",80,0,0') == b"\r\nOK\r\n"
    assert port.urc("+QIOPEN: 0,565")  # the name does not resolve
    opened(port, OPEN_TCP.format(mode=0))
    assert port.at(OPEN_TCP.format(mode=0)) == b"\r\nERROR\r\n"
    assert port.at("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 563, socket identity has been used\r\n\r\nOK\r\n")
    assert port.at('AT+QIOPEN=1,12,"TCP","1.2.3.4",80') == b"\r\nERROR\r\n"
    assert port.at('AT+QIOPEN=1,1,"TCP","1.2.3.4",80,0,3') == b"\r\nERROR\r\n"
    assert port.at('AT+QIOPEN=1,1,"SCTP","1.2.3.4",80') == b"\r\nERROR\r\n"
    assert port.at('AT+QIOPEN=2,1,"TCP","1.2.3.4",80') == b"\r\nERROR\r\n"  # context 2 is down
    assert port.at("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 572, operation not allowed\r\n\r\nOK\r\n")
    assert port.at('AT+QIOPEN=1,1,"TCP LISTENER","127.0.0.1",0,0,0') == b"\r\nERROR\r\n"
    assert port.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 552, invalid parameters\r\n\r\nOK\r\n"
    assert port.at('AT+QIOPEN=1,1,"TCP","198.51.100.1",80,0,2') == b"\r\nERROR\r\n"
    assert port.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 566, socket connect failed\r\n\r\nOK\r\n"
    assert port.at("AT") == b"\r\nOK\r\n"


def test_server_gives_clients_ids_from_the_top_and_reports_full(sim):
    listen = free_port()
    port = open_module(sim, "ec200t", [f"0.0.0.0:2020=127.0.0.1:{listen}"])
    opened(port, 'AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,2020,0', sid=0)
    local_ip = own_address(port)
    assert port.at("AT+QISTATE=1,0") == (
        b'\r\n+QISTATE: 0,"TCP LISTENER","%s",0,2020,3,1,0,0,"usbmodem"\r\n\r\nOK\r\n'
        % local_ip)
    clients = []
    for expected in range(11, 0, -1):
        client = connect(listen)
        clients.append(client)
        host, cport = client.getsockname()
        assert port.urc(f'+QIURC: "incoming",{expected},0,"{host}",{cport}')
    extra = connect(listen)
    assert port.urc('+QIURC: "incoming full"')
    extra.settimeout(5)
    assert extra.recv(10) == b""  # refused: reset or closed
    clients[0].sendall(b"hello")
    assert port.urc('+QIURC: "recv",11')
    assert read_once(port, 11) == b"hello"
    assert send(port, 11, b"back") == b"\r\nSEND OK\r\n"
    clients[0].settimeout(5)
    assert clients[0].recv(10) == b"back"
    row = port.at("AT+QISTATE=1,11")
    assert b'+QISTATE: 11,"TCP INCOMING","127.0.0.1",' in row and b",2020,2,1,0,0," in row
    assert port.at("AT+QICLOSE=11") == b"\r\nOK\r\n"
    assert clients[0].recv(10) == b""  # the module closed it
    for client in [*clients, extra]:
        client.close()


def test_incoming_clients_inherit_push_mode(sim):
    listen = free_port()
    port = open_module(sim, "ec200t", [f"0.0.0.0:2020=127.0.0.1:{listen}"])
    opened(port, 'AT+QIOPEN=1,3,"TCP LISTENER","127.0.0.1",0,2020,1', sid=3)
    client = connect(listen)
    port.take(b'\r\n+QIURC: "incoming",11,3,"127.0.0.1",%d\r\n' % client.getsockname()[1])
    client.sendall(b"pushed")
    assert port.take(b"pushed") == b'\r\n+QIURC: "recv",11,6\r\npushed'
    client.close()
    assert port.urc('+QIURC: "closed",11')


def test_udp_client_and_service(sim):
    far = UdpPeer(echo=True)
    local = free_port(socket.SOCK_DGRAM)
    sender = UdpPeer()
    try:
        port = open_module(sim, "ec200t", [f"203.0.113.5:5000=127.0.0.1:{far.port}",
                                            f"0.0.0.0:3030=127.0.0.1:{local}",
                                            f"203.0.113.9:7000=127.0.0.1:{sender.port}"])
        opened(port, 'AT+QIOPEN=1,4,"UDP","203.0.113.5",5000,0,0', sid=4)
        assert send(port, 4, b"ping!") == b"\r\nSEND OK\r\n"
        port.urc('+QIURC: "recv",4')
        assert read_once(port, 4) == b"ping!"
        opened(port, 'AT+QIOPEN=1,5,"UDP SERVICE","127.0.0.1",0,3030,1', sid=5)
        sender.sendto(b"one", local)
        assert port.take(b"one") == b'\r\n+QIURC: "recv",5,3,"203.0.113.9",7000\r\none'
        port.write(b'AT+QISEND=5,3,"203.0.113.9",7000\r')
        port.take(b"> ")
        port.write(b"two")
        assert port.take(b"SEND OK\r\n") == b"\r\nSEND OK\r\n"
        assert sender.wait(1)[0] == (b"two", ("127.0.0.1", local))
        assert send(port, 5, b"x") == b"\r\nERROR\r\n"  # a service needs the remote address
        assert port.at("AT+QISWTMD=5,0") == b"\r\nOK\r\n"
        sender.sendto(b"AAAA", local)
        sender.sendto(b"BB", local)
        port.urc('+QIURC: "recv",5')
        wait_for(lambda: port.at("AT+QIRD=5,0") == b"\r\n+QIRD: 9,3,6\r\n\r\nOK\r\n")
        assert port.at("AT+QIRD=5") == (
            b'\r\n+QIRD: 4,"203.0.113.9",7000\r\nAAAA\r\n\r\nOK\r\n')  # one datagram a read
        assert port.at("AT+QIRD=5") == b'\r\n+QIRD: 2,"203.0.113.9",7000\r\nBB\r\n\r\nOK\r\n'
        assert port.at("AT+QIRD=5") == b"\r\n+QIRD: 0\r\n\r\nOK\r\n"
    finally:
        for p in (far, sender):
            p.close()


def test_receive_buffer_is_bounded_and_holds_the_peer_back(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    data = os.urandom(1 << 20)
    conn = peer.connection()
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    writer = threading.Thread(target=conn.sock.sendall, args=(data,))
    writer.start()
    port.urc('+QIURC: "recv",0')
    full = b"\r\n+QIRD: 10240,0,10240\r\n\r\nOK\r\n"
    wait_for(lambda: port.at("AT+QIRD=0,0") == full)
    assert port.silence(0.3) == b""
    assert port.at("AT+QIRD=0,0") == full  # it stays at the bound ...
    assert writer.is_alive()  # ... and the peer is held back, nothing is dropped
    assert read_all(port, 0, len(data)) == data  # complete and in order
    writer.join(10)
    assert port.at("AT+QIRD=0,0") == b"\r\n+QIRD: %d,%d,0\r\n\r\nOK\r\n" % (len(data), len(data))


def test_send_fail_when_the_send_buffer_is_full(sim):
    quiet = TcpPeer(read=False, rcvbuf=4096)
    try:
        port = open_module(sim, "ec200t", routed(quiet))
        opened(port, OPEN_TCP.format(mode=0))
        accepted = bytearray()
        while True:
            chunk = os.urandom(1460)
            result = send(port, 0, chunk)
            if result == b"\r\nSEND FAIL\r\n":
                break
            assert result == b"\r\nSEND OK\r\n"
            accepted += chunk
        total, acked, unacked = map(int, port.at("AT+QISEND=0,0")[10:].split(b"\r\n")[0]
                                    .split(b","))
        assert total == len(accepted) and unacked > 0 and acked + unacked == total
        conn = quiet.connection()
        conn.reading.set()  # the peer reads at last: exactly what was accepted arrives
        assert conn.wait_received(len(accepted)) == accepted
        wait_for(lambda: port.at("AT+QISEND=0,0") == b"\r\n+QISEND: %d,%d,0\r\n\r\nOK\r\n"
                 % (total, total))
        assert send(port, 0, b"more") == b"\r\nSEND OK\r\n"
    finally:
        quiet.close()


def test_bad_arguments_never_hang_the_port(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    for line in ("AT+QIOPEN=", 'AT+QIOPEN=1,0,"TCP"', "AT+QIRD=99", "AT+QIRD=0,1501",
                 "AT+QICLOSE=x", "AT+QICLOSE=0,70000", 'AT+QISTATE=3,0', "AT+QISWTMD=0,1",
                 'AT+QICFG="nope"', 'AT+QICFG="transpktsize",0', "AT+QISDE=2",
                 'AT+QISENDEX=0,"313"', "AT+QIACT=16", "AT+QIDEACT=0", "AT+QIGETERROR=1"):
        assert port.at(line) == b"\r\nERROR\r\n", line
    assert port.at("AT+QICLOSE=3") == b"\r\nOK\r\n"  # closing a free ID is fine
    assert port.at('AT+QICFG="transpktsize"') == b'\r\n+QICFG: "transpktsize",1024\r\n\r\nOK\r\n'
    assert port.at('AT+QICFG="TRANSPKTSIZE",512') == b"\r\nOK\r\n"
    assert port.at('AT+QICFG="transpktsize"') == b'\r\n+QICFG: "transpktsize",512\r\n\r\nOK\r\n'
    assert port.at('AT+QICFG="tcp/keepalive",1') == b"\r\nOK\r\n"
    assert port.at('AT+QICFG="tcp/keepalive"') == (
        b'\r\n+QICFG: "tcp/keepalive",1,120,25,3\r\n\r\nOK\r\n')
    test = port.at("AT+QICFG=?")
    assert b'+QICFG: "transpktsize",(1-1460)\r\n' in test and b'"dataformat",(0,1),(0,1)' in test


def test_payload_may_start_with_lf_and_the_command_may_end_with_cr_lf(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    assert send(port, 0, b"\nab") == b"\r\nSEND OK\r\n"  # CR-ended command, LF first byte
    port.write(b"AT+QISEND=0,3\r\n")  # CR LF: the LF is the terminator's, not payload
    port.take(b"> ")
    port.write(b"\ncd")
    assert port.take(b"SEND OK\r\n") == b"\r\nSEND OK\r\n"
    assert peer.connection().wait_received(6) == b"\nab\ncd"


def test_udp_datagrams_that_find_the_buffer_full_are_dropped_and_counted(sim):
    local = free_port(socket.SOCK_DGRAM)
    sender = UdpPeer()
    try:
        port = open_module(sim, "ec200t", [f"0.0.0.0:3030=127.0.0.1:{local}"])
        opened(port, 'AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3030,0', sid=2)
        for n in range(12):  # 12 kB into a 10 kB buffer nobody reads
            sender.sendto(bytes([n]) * 1000, local)
        port.urc('+QIURC: "recv",2')
        pty = port.port.port
        wait_for(lambda: ctl(pty, "state")["subsystems"]["qi_sockets"]["2"]["dropped"] == 2)
        assert port.at("AT+QIRD=2,0") == b"\r\n+QIRD: 10000,0,10000\r\n\r\nOK\r\n"
        first = port.at("AT+QIRD=2")
        assert first.startswith(b'\r\n+QIRD: 1000,"127.0.0.1",') and b"\x00" * 1000 in first
    finally:
        sender.close()


def test_hex_data_format_both_ways(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    assert port.at('AT+QICFG="dataformat",1,1') == b"\r\nOK\r\n"
    assert send(port, 0, b"41420D0A") == b"\r\nSEND OK\r\n"  # 8 hex digits, 4 bytes
    assert peer.connection().wait_received(4) == b"AB\r\n"
    assert send(port, 0, b"4G") == b"\r\nERROR\r\n"
    peer.connection().send(b"\x00\xff")
    port.urc('+QIURC: "recv",0')
    assert port.at("AT+QIRD=0") == b"\r\n+QIRD: 2\r\n00FF\r\n\r\nOK\r\n"


def test_asynchronous_close_and_passive_close(sim, peer):
    port = open_module(sim, "ec200t", routed(peer))
    opened(port, OPEN_TCP.format(mode=0))
    assert port.at('AT+QICFG="close/mode",1') == b"\r\nOK\r\n"
    assert port.at("AT+QICLOSE=0") == b"\r\nOK\r\n"  # at once; the URC says when it is done
    assert port.urc('+QIURC: "closed",0') == b'\r\n+QIURC: "closed",0\r\n'
    assert port.at("AT+QISTATE") == b"\r\nOK\r\n"
    assert port.at('AT+QICFG="passiveclosed",1') == b"\r\nOK\r\n"
    opened(port, OPEN_TCP.format(mode=0))
    conn = peer.connection(1)
    conn.send(b"tail")
    port.urc('+QIURC: "recv",0')
    conn.close()
    port.urc('+QIURC: "closed",0')
    assert b",4,1,0,0," in port.at("AT+QISTATE=1,0")  # data left: it stays until read
    assert read_once(port, 0) == b"tail"
    assert port.at("AT+QISTATE") == b"\r\nOK\r\n"  # then the module closed it by itself
