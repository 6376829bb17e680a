"""FCM360W SSL sockets against a real TLS echo server on 127.0.0.1 (certificates from the pki
fixture): buffer, direct-push and transparent modes, AT+QSSLSTATE, a handshake that fails,
+++ and ATO back into an SSL socket, one connect ID space with the plain sockets, and bulk
data through both buffer and transparent mode compared byte for byte."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time

import pytest
from appkit import Lines, upload
from atport import AtPort
from cellular import variant
from conftest import BOOT_TAIL
from peers import TcpPeer
from qi import read_once
from servers import TlsListener

BYE = b"bye"  # the echo server closes the connection after echoing this
SCALE = 5.0  # module seconds per real second: the 1 s guard time is 0.2 s
GUARD = 1.0 / SCALE
CONNECT = b"\r\nCONNECT\r\n"


def _echo(conn: ssl.SSLSocket) -> None:
    """Echoes a TLS client; closes the connection once it has echoed BYE."""
    while data := conn.recv(4096):
        conn.sendall(data)
        if data.endswith(BYE):
            return


@pytest.fixture
def echo(pki):
    server = TlsListener(pki.server_context(), _echo)
    yield server
    server.close()


def _module(modem, pki, ca: bytes | None = None, scale: float = 1.0) -> Lines:
    lines = Lines(modem("fcm360w", time_scale=scale))
    upload(lines, "ca.pem", ca or pki.ca_pem.read_bytes())
    for setting in ['"sslversion",1,4', '"seclevel",1,1', '"cacert",1,"ca.pem"']:
        assert lines.command(f"AT+QSSLCFG={setting}") == ["OK"]
    return lines


def test_buffer_mode_round_trip_state_and_close(modem, pki, echo) -> None:
    lines = _module(modem, pki)
    assert lines.command(f'AT+QSSLOPEN=1,4,"127.0.0.1",{echo.port},0') == ["OK"]
    assert lines.wait(r"\+QSSLOPEN:") == "+QSSLOPEN: 4,0"
    state = lines.command("AT+QSSLSTATE")
    assert state[-1] == "OK" and len(state) == 2
    row = state[0].split(",")
    assert row[:4] == ["+QSSLSTATE: 4", '"SSLClient"', '"127.0.0.1"', str(echo.port)]
    assert int(row[4]) > 0 and row[5:] == ["2", "4", "0", '"uart1"', "1"]
    assert lines.command("AT+QSSLSTATE=1,4") == state
    assert lines.command("AT+QSSLSTATE=0,2") == ["OK"]  # nothing on context 2
    assert lines.command("AT+QSSLSEND=4,18") == ["> "]
    lines.send(b"Test data from SSL")
    assert lines.wait("SEND OK") == "SEND OK"
    assert lines.wait(r"\+QSSLURC:") == '+QSSLURC: "recv",4'
    lines.port.write(b"AT+QSSLRECV=4,1500\r")
    got = lines.port.read_until(lambda b: b.endswith(b"OK\r\n"))
    assert got == b"\r\n+QSSLRECV: 18\r\nTest data from SSL\r\n\r\nOK\r\n"
    assert lines.command("AT+QSSLRECV=4,1500") == ["+QSSLRECV: 0", "OK"]
    assert lines.command("AT+QSSLSEND=4") == ["> "]
    lines.send(b"ctrl-z ended\x1a")
    assert lines.wait("SEND OK") == "SEND OK"
    assert lines.wait(r"\+QSSLURC:") == '+QSSLURC: "recv",4'
    assert lines.command("AT+QSSLOPEN=1,4,\"127.0.0.1\",1,0") == ["ERROR"]  # ID in use
    assert lines.command("AT+QSSLCLOSE=4") == ["OK"]
    assert lines.command("AT+QSSLSTATE") == ["OK"]
    assert lines.command("AT+QSSLRECV=4,10") == ["ERROR"]


def test_direct_push_and_peer_close(modem, pki, echo) -> None:
    lines = _module(modem, pki)
    assert lines.command(f'AT+QSSLOPEN=1,3,"127.0.0.1",{echo.port},1') == ["OK"]
    assert lines.wait(r"\+QSSLOPEN:") == "+QSSLOPEN: 3,0"
    assert lines.command("AT+QSSLSEND=3,9") == ["> "]
    lines.send(b"hello bye")
    assert lines.wait("SEND OK") == "SEND OK"
    assert lines.wait(r'\+QSSLURC: "recv"') == '+QSSLURC: "recv",3,9'
    assert lines.wait("hello") == "hello bye"
    assert lines.wait(r"\+QSSLURC:") == '+QSSLURC: "closed",3'
    assert lines.command("AT+QSSLCLOSE=3,0") == ["OK"]


def test_transparent_mode(modem, pki, echo) -> None:
    lines = _module(modem, pki)
    assert lines.command(f'AT+QSSLOPEN=1,2,"127.0.0.1",{echo.port},2') == ["CONNECT"]
    lines.port.write(b"through the tunnel")
    assert lines.port.read_until(lambda b: b.endswith(b"tunnel")) == b"through the tunnel"
    lines.port.write(BYE)
    assert lines.port.read_until(lambda b: b"NO CARRIER" in b).startswith(BYE)


def test_untrusted_server_fails_the_open(modem, pki, echo) -> None:
    lines = _module(modem, pki, ca=pki.other_ca.cert_pem.bytes())
    assert lines.command(f'AT+QSSLOPEN=1,0,"127.0.0.1",{echo.port}') == ["OK"]
    assert lines.wait(r"\+QSSLOPEN:") == "+QSSLOPEN: 0,550"
    assert lines.command("AT+QSSLSTATE") == ["OK"]  # the ID is free again
    assert lines.command(f'AT+QSSLOPEN=1,2,"127.0.0.1",{echo.port},2') == ["ERROR"]


def test_the_context_negotiatetime_bounds_the_handshake(sim, pki, tmp_path) -> None:
    """A server that accepts but never answers the hello: +QSSLOPEN reports the time-out
    after the connect time plus the context's "negotiatetime" (10 s, not the default 300 s)."""
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    profile = variant(tmp_path, "fcm360w", ssl_sockets={"open_timeout": "1s"})
    lines = Lines(sim(profile, time_scale=10.0).open())
    lines.port.expect(BOOT_TAIL["fcm360w"])
    assert lines.command('AT+QSSLCFG="negotiatetime",1,10') == ["OK"]
    assert lines.command(f'AT+QSSLOPEN=1,0,"127.0.0.1",{silent.getsockname()[1]}') == ["OK"]
    # 11 module seconds are 1.1 s here; the default 300 s would take 30 s
    assert lines.wait(r"\+QSSLOPEN:", timeout=15) == "+QSSLOPEN: 0,567"
    assert held  # the TCP connection was made; the handshake is what timed out
    silent.close()


# -- +++ and ATO, bulk data --------------------------------------------------------------------
def _port(modem, pki) -> AtPort:
    """A module set up for SSL context 1, read with AtPort (exact bytes, binary data)."""
    return AtPort(_module(modem, pki, scale=SCALE).port)


def _escape(port: AtPort) -> bytes:
    time.sleep(3 * GUARD)  # the guard time's silence before +++ is what is under test
    port.write(b"+++")
    return port.take(b"OK\r\n")


def _ssl_send(port: AtPort, sid: int, data: bytes) -> tuple[bytes, bytes]:
    """A fixed-length AT+QSSLSEND: (what came before the prompt, the final result line)."""
    before = port.at(f"AT+QSSLSEND={sid},{len(data)}", prompt=True)
    assert before.endswith(b"\r\n> "), before
    port.write(data)
    return before, port.take(b"\r\n", 10) + port.take(b"\r\n")


def _ssl_send_all(port: AtPort, sid: int, data: bytes) -> bytes:
    """Send in 1460-byte commands, again after SEND FAIL (the peer has not acked yet);
    what came before the prompts (URCs)."""
    said = bytearray()
    deadline = time.monotonic() + 60
    position = 0
    while position < len(data):
        chunk = data[position:position + 1460]
        before, result = _ssl_send(port, sid, chunk)
        said += before
        if result == b"\r\nSEND OK\r\n":
            position += len(chunk)
            continue
        assert result == b"\r\nSEND FAIL\r\n" and time.monotonic() < deadline, result
    return bytes(said)


def _ssl_read(port: AtPort, sid: int, size: int = 1500) -> bytes:
    return read_once(port, sid, size, "+QSSLRECV")


def _stream(port: AtPort, data: bytes) -> bytes:
    """Write `data` in transparent mode while reading as much back (the echo)."""
    writer = threading.Thread(target=lambda: [port.write(data[i:i + 4096])
                                              for i in range(0, len(data), 4096)])
    writer.start()
    back = port.take_bytes(len(data), timeout=120)
    writer.join(30)
    return back


def test_ato_returns_to_the_ssl_socket_with_what_arrived_meanwhile(modem, pki, echo) -> None:
    port = _port(modem, pki)
    assert port.at(f'AT+QSSLOPEN=1,5,"127.0.0.1",{echo.port},2') == CONNECT
    port.write(b"first")
    assert port.take_bytes(5) == b"first"
    assert _escape(port) == b"\r\nOK\r\n"
    row = port.at("AT+QSSLSTATE=1,5").split(b",")
    assert row[5:8] == [b"2", b"5", b"0"]  # still connected, now in buffer mode
    # in command mode: more than the receive buffer holds comes back from the echo server
    held = os.urandom(20 * 1460)
    said = _ssl_send_all(port, 5, held)
    if b'+QSSLURC: "recv",5' not in said:
        port.urc('+QSSLURC: "recv",5')
    assert said.count(b"+QSSLURC:") <= 1  # announced once, not per arrival
    assert port.at("ATO") == CONNECT
    assert port.take_bytes(len(held), timeout=30) == held  # nothing lost, in order
    bulk = os.urandom(300 * 1024)
    assert _stream(port, bulk) == bulk
    assert _escape(port) == b"\r\nOK\r\n"
    assert port.at("ATO") == CONNECT  # and once more
    assert _stream(port, b"again") == b"again"
    assert _escape(port) == b"\r\nOK\r\n"
    assert port.at("AT+QSSLCLOSE=5") == b"\r\nOK\r\n"
    assert port.at("AT+QSSLSTATE") == b"\r\nOK\r\n"
    assert port.at("ATO") == b"\r\nNO CARRIER\r\n"


def test_ato_after_the_ssl_peer_closed_is_no_carrier(modem, pki, echo) -> None:
    port = _port(modem, pki)
    assert port.at(f'AT+QSSLOPEN=1,2,"127.0.0.1",{echo.port},2') == CONNECT
    assert _escape(port) == b"\r\nOK\r\n"
    said = _ssl_send_all(port, 2, BYE)
    closed = b'+QSSLURC: "closed",2\r\n'
    if closed not in said:
        said += port.urc('+QSSLURC: "closed",2')
    assert said.index(b'+QSSLURC: "recv",2') < said.index(closed)
    assert port.at("ATO") == b"\r\nNO CARRIER\r\n"
    assert _ssl_read(port, 2) == BYE  # what came before the close is still there
    assert port.at("AT+QSSLCLOSE=2") == b"\r\nOK\r\n"


def test_plain_and_ssl_sockets_share_the_ids_and_ato_takes_the_last(modem, pki, echo) -> None:
    plain = TcpPeer()
    try:
        port = _port(modem, pki)
        assert port.at(f'AT+QIOPEN=0,"TCP","127.0.0.1",{plain.port},0,2') == CONNECT
        port.write(b"plain")
        conn = plain.connection()
        assert conn.wait_received(5) == b"plain"
        assert _escape(port) == b"\r\nOK\r\n"
        # one connect ID space (manual 5.8): 0 is taken by the plain socket
        assert port.at(f'AT+QSSLOPEN=1,0,"127.0.0.1",{echo.port},2') == b"\r\nERROR\r\n"
        assert port.at(f'AT+QSSLOPEN=1,4,"127.0.0.1",{echo.port},2') == CONNECT
        assert _stream(port, b"secure") == b"secure"
        assert _escape(port) == b"\r\nOK\r\n"
        assert port.at("AT+QISTATE").count(b"+QISTATE: 0,") == 1
        assert b"+QISTATE: 4" not in port.at("AT+QISTATE")
        assert port.at("AT+QSSLSTATE").count(b"+QSSLSTATE:") == 1
        assert port.at("AT+QIRD=4,10") == b"\r\nERROR\r\n"  # not a plain socket
        assert port.at("AT+QSSLRECV=0,10") == b"\r\nERROR\r\n"  # not an SSL socket
        assert port.at("ATO") == CONNECT  # the SSL socket: the last one online
        assert _stream(port, b"back in") == b"back in"
        assert _escape(port) == b"\r\nOK\r\n"
        assert port.at("AT+QISWTMD=0,2") == CONNECT
        port.write(b"!")
        assert conn.wait_received(6) == b"plain!"
        assert _escape(port) == b"\r\nOK\r\n"
        assert port.at("ATO") == CONNECT  # now the plain one
        port.write(b"?")
        assert conn.wait_received(7) == b"plain!?"
        assert _escape(port) == b"\r\nOK\r\n"
        assert port.at("AT+QICLOSE=0") == b"\r\nOK\r\n"
        assert port.at("AT+QSSLCLOSE=4") == b"\r\nOK\r\n"
    finally:
        plain.close()


def test_one_mebibyte_through_buffer_mode(modem, pki, echo) -> None:
    port = _port(modem, pki)
    assert port.at(f'AT+QSSLOPEN=1,7,"127.0.0.1",{echo.port},0') == b"\r\nOK\r\n"
    port.urc("+QSSLOPEN: 7,0")
    data = os.urandom(1 << 20)
    back = bytearray()
    position = 0
    while position < len(data):
        chunk = data[position:position + 1460]
        _, result = _ssl_send(port, 7, chunk)
        if result == b"\r\nSEND OK\r\n":
            position += len(chunk)
        else:
            assert result == b"\r\nSEND FAIL\r\n", result  # full: read, then try again
        if result != b"\r\nSEND OK\r\n" or position % (8 * 1460) == 0:
            while piece := _ssl_read(port, 7):
                back += piece
    deadline = time.monotonic() + 60
    while len(back) < len(data) and time.monotonic() < deadline:
        back += _ssl_read(port, 7)
    assert bytes(back) == data
    assert port.at("AT+QSSLCLOSE=7") == b"\r\nOK\r\n"
