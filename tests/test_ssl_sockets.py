"""FCM360W SSL sockets against a real TLS echo server on 127.0.0.1 (certificates from the pki
fixture): buffer, direct-push and transparent modes, AT+QSSLSTATE, a handshake that fails."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
from appkit import Lines

BYE = b"bye"  # the echo server closes the connection after echoing this


class TlsEcho:
    """Echoes every TLS client; closes a connection once it has echoed BYE."""

    def __init__(self, context: ssl.SSLContext):
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.server_names: list[str | None] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(raw,), daemon=True).start()

    def _echo(self, raw: socket.socket) -> None:
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                while data := conn.recv(4096):
                    conn.sendall(data)
                    if data.endswith(BYE):
                        return
        except (OSError, ssl.SSLError):
            return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def echo(pki):
    server = TlsEcho(pki.server_context())
    yield server
    server.close()


def _upload(lines: Lines, name: str, data: bytes) -> None:
    assert lines.command(f'AT+QFOPEN="{name}",1') == ["+QFOPEN: 1", "OK"]
    assert lines.command(f"AT+QFWRITE=1,{len(data)}") == ["CONNECT"]
    lines.send(data)
    assert lines.wait(r"\+QFWRITE:") == f"+QFWRITE: {len(data)},{len(data)}"
    assert lines.wait("OK") == "OK"
    assert lines.command("AT+QFCLOSE=1") == ["OK"]


def _module(modem, pki, ca: bytes | None = None) -> Lines:
    lines = Lines(modem("fcm360w", time_scale=1.0))
    _upload(lines, "ca.pem", ca or pki.ca_pem.read_bytes())
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
