"""Real host sockets behind the module's sockets: TCP connections, TCP listeners, UDP endpoints.

They are asyncio protocols with flow control both ways, so nothing is dropped or reordered:

- Downlink: every arrival is *offered* to the module side (`Receiver.offer`), which takes what
  fits in its bounded receive buffer. What does not fit waits here and reading from the kernel
  pauses, so TCP's window closes on the peer; `resume()` offers it again once there is room.
  A UDP datagram that does not fit is dropped (by the module side, which counts it), as a
  real module drops it.
- Uplink: `unacked()` counts what the peer has not acknowledged yet (our write buffer plus the
  kernel's send queue), which is what a module's bounded send buffer holds; `writable` fires
  once the write buffer drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
from collections import deque
from collections.abc import Callable
from typing import Protocol, cast

from simulator.world.routes import Endpoint

_READ_CHUNK = 1 << 18
_KERNEL_FLOOR = 1 << 17


class Receiver(Protocol):
    """The module side of a host socket."""

    def offer(self, data: bytes, source: Endpoint | None) -> int:
        """Take what fits of `data` (from `source` for UDP); return how many bytes were taken."""
        ...

    def peer_closed(self, error: OSError | None) -> None:
        """The peer closed (error None) or the connection broke."""
        ...

    def writable(self) -> None:
        """The send buffer drained below its low-water mark."""
        ...


def _outq(sock: socket.socket | None) -> int:
    """Bytes in the kernel send queue not yet acknowledged by the peer (Linux SIOCOUTQ)."""
    if sock is None:
        return 0
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    return struct.unpack("i", raw)[0]


class TcpConnection(asyncio.Protocol):
    """One TCP connection, made by the module (client) or accepted by a listener."""

    def __init__(self, send_buffer: int, on_made: Callable[[TcpConnection], None] | None = None):
        self.send_buffer = send_buffer
        self.receiver: Receiver | None = None
        self.transport: asyncio.Transport | None = None
        self._on_made = on_made
        self._held = bytearray()  # arrived, not yet taken by the module side
        self._paused = False
        self._delivering = False
        self._eof = False
        self._error: OSError | None = None
        self._told_closed = False
        self.writing_paused = False
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio callbacks --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=self.send_buffer, low=self.send_buffer // 4)
        if self._on_made:
            self._on_made(self)

    def data_received(self, data: bytes) -> None:
        if self._held or self._delivering or self.receiver is None:
            self._held += data
        else:  # the usual case, without a copy; a re-entrant resume finds the loop below
            self._delivering = True
            try:
                taken = self.receiver.offer(data, None)
            finally:
                self._delivering = False
            if taken < len(data):
                self._held += data[taken:]
        self._deliver()

    def eof_received(self) -> bool:
        self._eof = True
        self._maybe_report_close()
        return False  # close our side too: a Quectel socket is done once the peer is

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self._eof:
            self._error = exc if isinstance(exc, OSError) else OSError(str(exc))
        self._eof = True
        if not self.lost.done():
            self.lost.set_result(None)
        self._maybe_report_close()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.receiver:
            self.receiver.writable()

    # -- downlink flow control ----------------------------------------------------------------
    def _deliver(self) -> None:
        """Offer what is held until the module side takes no more; read from the kernel only
        while nothing is held. Offering may make the module consume and call `resume` at once
        (re-entrantly): the loop notices the room it made."""
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._held and self.receiver is not None:
                taken = self.receiver.offer(bytes(self._held[:_READ_CHUNK]), None)
                if not taken:
                    break
                del self._held[:taken]
        finally:
            self._delivering = False
        self._set_reading(not self._held)
        self._maybe_report_close()

    def _set_reading(self, reading: bool) -> None:
        if self.transport is None or self.transport.is_closing() or reading != self._paused:
            return
        if reading:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()
        self._paused = not reading

    def resume(self) -> None:
        """The module side has room again."""
        self._deliver()

    def _maybe_report_close(self) -> None:
        # the close is news only once everything before it has been taken
        if self._eof and not self._held and self.receiver and not self._told_closed:
            self._told_closed = True
            self.receiver.peer_closed(self._error)

    def bind(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self._deliver()

    # -- uplink ---------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.transport and not self.transport.is_closing():
            self.transport.write(data)

    def unacked(self) -> int:
        if self.transport is None:
            return 0
        kernel = _outq(self.transport.get_extra_info("socket"))
        return self.transport.get_write_buffer_size() + kernel

    def send_room(self) -> int:
        return max(0, self.send_buffer - self.unacked())

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing() and not self._eof

    # -- addresses ------------------------------------------------------------------------------
    def local(self) -> Endpoint:
        return _pair(self.transport.get_extra_info("sockname") if self.transport else None)

    def peer(self) -> Endpoint:
        return _pair(self.transport.get_extra_info("peername") if self.transport else None)

    # -- closing ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Graceful close: FIN after the write buffer is flushed."""
        self.receiver = None
        if self.transport and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        self.receiver = None
        if self.transport:
            self.transport.abort()


class UdpEndpoint(asyncio.DatagramProtocol):
    """A UDP socket: a client bound to one remote, or a service that talks to anyone."""

    def __init__(self) -> None:
        self.receiver: Receiver | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if self.receiver is not None:
            self.receiver.offer(data, _pair(addr))  # the module side counts what it drops

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for an earlier datagram: UDP modules do not report these

    def sendto(self, data: bytes, addr: Endpoint | None = None) -> None:
        if self.transport and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    def unacked(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport else 0

    def local(self) -> Endpoint:
        return _pair(self.transport.get_extra_info("sockname") if self.transport else None)

    def close(self) -> None:
        self.receiver = None
        if self.transport:
            self.transport.close()


class TcpListener:
    """A listening socket; each client is handed to `on_accept`, which binds it or refuses."""

    def __init__(self, send_buffer: int, recv_buffer: int,
                 on_accept: Callable[[TcpConnection], bool]):
        self.send_buffer = send_buffer
        self.recv_buffer = recv_buffer
        self._on_accept = on_accept
        self.server: asyncio.AbstractServer | None = None

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = _sized(family, self.send_buffer, self.recv_buffer)  # accepted sockets inherit
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(16)
        except BaseException:
            sock.close()
            raise
        self.server = await loop.create_server(
            lambda: TcpConnection(self.send_buffer, self._accepted), sock=sock)

    def _accepted(self, connection: TcpConnection) -> None:
        if not self._on_accept(connection):
            connection.abort()

    def local(self) -> Endpoint:
        if self.server is None or not self.server.sockets:
            return ("", 0)
        return _pair(self.server.sockets[0].getsockname())

    def close(self) -> None:
        if self.server:
            self.server.close()


def _sized(family: int, send_buffer: int, recv_buffer: int) -> socket.socket:
    """A TCP socket with small kernel buffers, so a peer the module holds back feels it soon
    (the module's own bounds are enforced above). Never below one loopback segment: a window
    smaller than the MSS stalls some TCP stacks' window updates."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, max(send_buffer, _KERNEL_FLOOR))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(recv_buffer, _KERNEL_FLOOR))
    return sock


async def connect_tcp(host: str, port: int, local_port: int, send_buffer: int,
                      recv_buffer: int) -> TcpConnection:
    """Connect for real; OSError on refusal or no route."""
    loop = asyncio.get_running_loop()
    family, _, _, _, address = (await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))[0]
    sock = _sized(family, send_buffer, recv_buffer)
    try:
        if local_port:
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", local_port))
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    _, protocol = await loop.create_connection(lambda: TcpConnection(send_buffer), sock=sock)
    return protocol


async def open_udp(local: Endpoint, remote: Endpoint | None = None) -> UdpEndpoint:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        UdpEndpoint, local_addr=local, remote_addr=remote)
    return protocol


def _pair(address: object) -> Endpoint:
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        if host.startswith("::ffff:") and "." in host:
            host = host[7:]
        return host, int(address[1])
    return ("", 0)


class DatagramQueue:
    """A byte-bounded FIFO of datagrams with their sources (a UDP service's receive buffer)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: deque[tuple[bytes, Endpoint]] = deque()
        self.size = 0

    def put(self, data: bytes, source: Endpoint) -> bool:
        if self.size + len(data) > self.limit:
            return False
        self.items.append((data, source))
        self.size += len(data)
        return True

    def get(self) -> tuple[bytes, Endpoint] | None:
        if not self.items:
            return None
        data, source = self.items.popleft()
        self.size -= len(data)
        return data, source

    def __len__(self) -> int:
        return self.size
