"""Real peers on 127.0.0.1 for socket tests: a TCP server (echoing or scripted), a UDP peer and
an SNTP server, each on its own thread with plain sockets. Waits poll on data with deadlines.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from datetime import datetime

NTP_EPOCH = 2208988800  # seconds from 1900 to 1970


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class PeerConnection:
    """One accepted (or made) TCP connection; a thread collects what arrives. It may echo,
    answer every arrival with `reply`, or greet first with `greet` = (delay, bytes)."""

    def __init__(self, sock: socket.socket, echo: bool, read: bool = True,
                 reply: bytes | None = None, greet: tuple[float, bytes] | None = None):
        self.sock = sock
        self.echo = echo
        self.reply = reply
        self.greet = greet
        self.received = bytearray()
        self.closed = threading.Event()  # the module closed its side
        self.reading = threading.Event()
        if read:
            self.reading.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self.greet:
                time.sleep(self.greet[0])
                self.sock.sendall(self.greet[1])
            while True:
                self.reading.wait()
                data = self.sock.recv(1 << 16)
                if not data:
                    break
                self.received += data
                if self.echo or self.reply:
                    self.sock.sendall(data if self.echo else self.reply)
        except OSError:
            pass
        self.closed.set()

    @property
    def peer(self) -> tuple[str, int]:
        return self.sock.getpeername()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_received(self, size: int, timeout: float = 10.0) -> bytes:
        wait_for(lambda: len(self.received) >= size, timeout, f"{size} bytes at the peer")
        return bytes(self.received)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class TcpPeer:
    """A listening TCP server on 127.0.0.1; `echo` sends back everything it receives."""

    def __init__(self, echo: bool = False, read: bool = True, rcvbuf: int | None = None,
                 reply: bytes | None = None, greet: tuple[float, bytes] | None = None,
                 port: int = 0):
        self.echo = echo
        self.read = read
        self.reply = reply
        self.greet = greet
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.connections: list[PeerConnection] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(PeerConnection(sock, self.echo, self.read, self.reply,
                                                   self.greet))

    def connection(self, index: int = 0, timeout: float = 10.0) -> PeerConnection:
        wait_for(lambda: len(self.connections) > index, timeout, "a connection")
        return self.connections[index]

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            conn.close()


def connect(port: int, source_port: int = 0) -> socket.socket:
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    client.bind(("127.0.0.1", source_port))
    client.connect(("127.0.0.1", port))
    return client


class UdpPeer:
    """A UDP socket on 127.0.0.1 that keeps every datagram with its sender."""

    def __init__(self, port: int = 0, echo: bool = False, reply: bytes | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.echo = echo
        self.reply = reply
        self.datagrams: list[tuple[bytes, tuple[str, int]]] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
            except OSError:
                return
            self.datagrams.append((data, addr))
            if self.echo or self.reply:
                self.sock.sendto(data if self.echo else self.reply, addr)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[tuple[bytes, tuple[str, int]]]:
        wait_for(lambda: len(self.datagrams) >= count, timeout, f"{count} datagrams")
        return self.datagrams[:count]

    def sendto(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))

    def close(self) -> None:
        self.sock.close()


class SntpServer:
    """Answers every SNTP request with a fixed UTC time (or stays silent)."""

    def __init__(self, when: datetime, answer: bool = True):
        self.when = when
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                request, addr = self.sock.recvfrom(512)
            except OSError:
                return
            self.requests += 1
            if not self.answer or len(request) < 48:
                continue
            seconds = self.when.timestamp() + NTP_EPOCH
            whole, fraction = int(seconds), int((seconds % 1) * 2**32)
            reply = bytearray(48)
            reply[0] = (0 << 6) | (4 << 3) | 4  # LI 0, version 4, mode 4 (server)
            reply[1] = 1  # stratum 1
            reply[24:32] = request[40:48]  # originate = the client's transmit time
            reply[32:40] = struct.pack("!II", whole, fraction)
            reply[40:48] = struct.pack("!II", whole, fraction)
            self.sock.sendto(bytes(reply), addr)

    def close(self) -> None:
        self.sock.close()


def twin_peers(reply: bytes) -> tuple[TcpPeer, UdpPeer]:
    """A TCP and a UDP peer answering `reply` on one port number (a document's server
    serves both on one port); a number another process holds for UDP is given up."""
    for _ in range(50):
        tcp = TcpPeer(reply=reply)
        try:
            return tcp, UdpPeer(port=tcp.port, reply=reply)
        except OSError:
            tcp.close()
    raise AssertionError("no port number free for both TCP and UDP")
