"""The module's sockets, whatever AT dialect drives them: connection IDs, states, access modes,
bounded receive buffers, send accounting, and the three ways received data reaches the host
(buffered for a read command, pushed in URCs, or raw in transparent mode).

Family-neutral on purpose: the Quectel AT+QI* and AT+QSSL* handlers (socket_commands.py) drive
it through `SocketEvents`, which renders URCs in the spelling of the commands that opened each
socket; other stacks (M66 AT+QI* of the GSM era, Neoway AT+TCPSETUP) can drive the same table
with their own events.

Data is never dropped silently. A stream socket's receive buffer is bounded: when it is full the
host socket stops reading and TCP flow control holds the peer. Pushed data and transparent data
wait while the host is not keeping up (the channels' output queues). A UDP datagram that finds
the buffer full is dropped, as on the real module, and counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from simulator.line.online import OnlinePort
from simulator.world.routes import Endpoint
from simulator.world.sockets import (
    DatagramQueue,
    TcpConnection,
    TcpListener,
    UdpEndpoint,
    connect_tcp,
    open_udp,
)

if TYPE_CHECKING:
    from simulator.module import Module

_ONLINE_CHUNK = 1 << 16


class Service(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    LISTENER = "TCP LISTENER"
    INCOMING = "TCP INCOMING"
    UDP_SERVICE = "UDP SERVICE"

    @property
    def stream(self) -> bool:
        return self in (Service.TCP, Service.INCOMING)


class State(IntEnum):
    INITIAL = 0
    OPENING = 1
    CONNECTED = 2
    LISTENING = 3
    CLOSING = 4


class Access(IntEnum):
    BUFFER = 0
    PUSH = 1
    TRANSPARENT = 2


class SocketError(Exception):
    """A socket operation failed; `name` is the symbolic error the dialect maps to its code."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class SocketEvents(Protocol):
    """What the AT dialect does when the sockets have news (URCs in its own spelling)."""

    def announce(self, sock: Socket) -> None:
        """Buffer mode: data arrived in an empty receive buffer."""
        ...

    def push(self, sock: Socket, data: bytes, source: Endpoint | None) -> None:
        """Direct-push mode: deliver this data now."""
        ...

    def closed(self, sock: Socket) -> None:
        """The peer closed the connection (or it broke)."""
        ...

    def incoming(self, listener: Socket, sock: Socket) -> None: ...

    def incoming_full(self, listener: Socket) -> None: ...

    def emptied(self, sock: Socket) -> None:
        """The last byte of a closed connection was read."""
        ...

    def packet(self) -> tuple[int, float]:
        """Transparent uplink: (packet size in bytes, wait in module seconds)."""
        ...


class Socket:
    """One connection ID: its host socket, its buffers and counters, and its data paths."""

    def __init__(self, table: SocketTable, sid: int, service: Service, cid: int, host: str,
                 port: int, local_port: int, access: Access, server_id: int = 0,
                 events: SocketEvents | None = None):
        self.table = table
        self.events = events or table.events  # the dialect that opened it tells its news
        self.id = sid
        self.service = service
        self.cid = cid
        self.host = host  # the remote end as the module names it (not the routed host address)
        self.port = port
        self.local_port = local_port  # as given to the open command; 0: the host picked one
        self.access = access
        self.server_id = server_id
        self.state = State.OPENING
        self.link: TcpConnection | UdpEndpoint | TcpListener | None = None
        self.rx = bytearray()
        self.datagrams = DatagramQueue(table.recv_buffer)
        self.rx_total = 0
        self.rx_read = 0
        self.tx_total = 0
        self.dropped = 0  # datagrams that found the receive buffer full
        self.announced = False
        self.peer_gone = False
        self.guard = table.guard
        self._port: OnlinePort | None = None
        self._out = bytearray()  # transparent uplink waiting to fill a packet
        self._out_timer: Any = None
        self._pumping = False

    # -- what the host socket says (world.sockets.Receiver) -------------------------------------
    def offer(self, data: bytes, source: Endpoint | None) -> int:
        if self.state is not State.CONNECTED:
            return 0
        if self.service is Service.UDP_SERVICE:
            assert source is not None
            if not self.datagrams.put(data, self.table.seen_as(source)):
                return self._drop(data)
            taken = len(data)
        elif self.service is Service.UDP:
            if len(self.rx) + len(data) > self.table.recv_buffer:
                return self._drop(data)  # a datagram goes whole or not at all
            self.rx += data
            taken = len(data)
        elif self._port is not None and not self.rx and not self._pumping and self._port.room():
            self.rx_total += len(data)  # online and the host keeps up: straight through
            self.rx_read += len(data)
            self._port.write(data)
            return len(data)
        else:
            taken = min(len(data), self.table.recv_buffer - len(self.rx))
            self.rx += data[:taken] if taken < len(data) else data
        self.rx_total += taken
        if taken:
            self._arrived()
        return taken

    def _drop(self, data: bytes) -> int:
        self.dropped += 1
        self.table.log("socket-datagram-dropped", id=self.id, size=len(data))
        return 0

    def peer_closed(self, error: OSError | None) -> None:
        if self.state not in (State.CONNECTED, State.OPENING):
            return
        self.peer_gone = True
        self.state = State.CLOSING
        self.table.log("socket-peer-closed", id=self.id, error=str(error or ""))
        if self.access is Access.TRANSPARENT:
            self._pump_online()  # the rest goes out, then NO CARRIER
        elif self.access is Access.PUSH and self.unread:
            self._pump_push()  # "closed" follows the last pushed data
        else:
            self.events.closed(self)

    def writable(self) -> None:
        if self._port is not None:
            self._port.resume_input()

    # -- receive side ---------------------------------------------------------------------------
    @property
    def unread(self) -> int:
        return len(self.datagrams) if self.service is Service.UDP_SERVICE else len(self.rx)

    def _arrived(self) -> None:
        if self.access is Access.BUFFER:
            if not self.announced:
                self.announced = True
                self.events.announce(self)
        elif self.access is Access.PUSH:
            self._pump_push()
        else:
            self._pump_online()

    def read(self, limit: int) -> bytes:
        data = self._take(limit)
        self._consumed(len(data))
        return data

    def _take(self, limit: int) -> bytes:
        """Bytes off the buffer; the caller delivers them, then calls _consumed (which lets
        more arrive: they must not overtake these)."""
        data = bytes(self.rx[:limit])
        del self.rx[:len(data)]
        return data

    def read_datagram(self) -> tuple[bytes, Endpoint] | None:
        item = self.datagrams.get()
        if item is not None:
            self._consumed(len(item[0]))
        return item

    def _consumed(self, count: int) -> None:
        self.rx_read += count
        if not self.unread:
            self.announced = False  # the next arrival is news again
        if isinstance(self.link, TcpConnection) and len(self.rx) < self.table.recv_buffer:
            self.link.resume()
        if self.peer_gone and not self.unread:
            self.events.emptied(self)

    def _pump_push(self) -> None:
        if self._pumping:
            return  # re-entered from a resume inside the loop; the loop carries on
        self._pumping = True
        try:
            while self.access is Access.PUSH and self.unread and self.table.host_ready():
                if self.service is Service.UDP_SERVICE:
                    item = self.read_datagram()
                    assert item is not None
                    self.events.push(self, item[0], item[1])
                else:
                    data = self._take(self.table.push_chunk)
                    self.events.push(self, data, None)
                    self._consumed(len(data))
        finally:
            self._pumping = False
        if self.access is Access.PUSH and self.unread:
            self.table.when_host_ready(self._pump_push)
        elif self.access is Access.PUSH and self.peer_gone and self.state is State.CLOSING:
            self.events.closed(self)

    # -- transparent mode (simulator.line.online.DataLink) ----------------------------------------
    def go_online(self, port: OnlinePort) -> None:
        self._port = port
        self.access = Access.TRANSPARENT
        self.table.last_online = self
        self._pump_online()

    def _pump_online(self) -> None:
        port = self._port
        if port is None or self._pumping:
            return
        self._pumping = True
        try:
            while self.rx and port.room() and self._port is port:
                data = self._take(_ONLINE_CHUNK)
                port.write(data)
                self._consumed(len(data))
        finally:
            self._pumping = False
        if self._port is not port:
            return
        if self.rx:
            port.when_room(self._pump_online)
        elif self.peer_gone:
            self._port = None
            self.access = Access.BUFFER
            port.hangup()

    def uplink(self, data: bytes) -> None:
        """Host bytes in transparent mode, sent in packets of the configured size; a partial
        packet waits the configured time for more."""
        self.tx_total += len(data)
        size, wait = self.events.packet()
        if self._out:
            self._out += data
            data, self._out = bytes(self._out), bytearray()
        whole = len(data) - len(data) % size
        if whole:
            self._send_packets(data[:whole] if whole < len(data) else data, size)
        if whole < len(data):
            self._out += data[whole:]
            if self._out_timer is None:
                self._out_timer = self.table.module.clock.call_later(wait, self._flush_out)
        if isinstance(self.link, TcpConnection) and self.link.writing_paused and self._port:
            self._port.pause_input()  # the peer is not keeping up: hold the host back

    def _send_packets(self, data: bytes, size: int) -> None:
        if isinstance(self.link, UdpEndpoint):
            for start in range(0, len(data), size):  # a datagram per packet
                self._transmit(data[start:start + size])
        else:
            self._transmit(data)  # a stream: the packets may go in one write

    def _flush_out(self) -> None:
        self._out_timer = None
        if self._out:
            data, self._out = bytes(self._out), bytearray()
            self._transmit(data)

    def escaped(self) -> None:
        """+++ (or the port went away): the socket carries on in buffer mode."""
        self._port = None
        self._flush_out()
        self.access = Access.BUFFER
        self.announced = False
        if self.unread:
            self._arrived()
        if self.peer_gone:
            self.events.closed(self)

    @property
    def online(self) -> bool:
        return self._port is not None

    def hang_up(self) -> None:
        """Take the socket out of online mode from the module's side (closed, context gone)."""
        port, self._port = self._port, None
        if port is not None:
            self.access = Access.BUFFER
            port.hangup()

    def switch(self, access: Access) -> None:
        """AT+QISWTMD to buffer or direct push; what is already buffered follows the new mode."""
        self.access = access
        self.announced = False
        if self.unread:
            self._arrived()

    # -- send side ------------------------------------------------------------------------------
    def send_room(self) -> int:
        if isinstance(self.link, TcpConnection):
            return self.link.send_room()
        if isinstance(self.link, UdpEndpoint):
            return max(0, self.table.send_buffer - self.link.unacked())
        return 0

    def unacked(self) -> int:
        if isinstance(self.link, TcpConnection):
            return min(self.link.unacked(), self.tx_total)
        return 0

    def send(self, data: bytes, to: Endpoint | None = None) -> None:
        """Queue data for the peer (`to`: the remote of a UDP service, as the module names it)."""
        self.tx_total += len(data)
        self._transmit(data, to)

    def _transmit(self, data: bytes, to: Endpoint | None = None) -> None:
        if isinstance(self.link, TcpConnection):
            self.link.write(data)
        elif isinstance(self.link, UdpEndpoint):
            self.link.sendto(data, self.table.route(*to) if to else None)

    # -- closing ----------------------------------------------------------------------------------
    def shut(self, force: bool = False) -> None:
        self._port = None  # a channel still online finds out from its own reset or hang-up
        if self._out_timer is not None:
            self._out_timer.cancel()
            self._out_timer = None
        link, self.link = self.link, None
        if isinstance(link, TcpConnection) and force:
            link.abort()
        elif link is not None:
            link.close()
        self.state = State.INITIAL

    def local(self) -> Endpoint:
        """The host address the socket is bound to."""
        return self.link.local() if self.link else ("", 0)


class SocketTable:
    """Connection IDs and the host sockets behind them, for one module."""

    def __init__(self, module: Module, events: SocketEvents, ids: range,
                 address: Callable[[int], str | None], *, send_buffer: int, recv_buffer: int,
                 push_chunk: int, guard: float, listen_host: str):
        self.module = module
        self.events = events
        self.ids = ids
        self.address = address  # the module's own IP on a context (None: not up)
        self.send_buffer = send_buffer
        self.recv_buffer = recv_buffer
        self.push_chunk = push_chunk
        self.guard = guard
        self.listen_host = listen_host
        self.sockets: dict[int, Socket] = {}
        self.last_online: Socket | None = None  # what ATO returns to

    # -- world ----------------------------------------------------------------------------------
    def route(self, host: str, port: int) -> Endpoint:
        return self.module.internet.routes.resolve(host, port)

    def seen_as(self, source: Endpoint) -> Endpoint:
        return self.module.internet.routes.reverse(*source)

    def log(self, kind: str, **detail: Any) -> None:
        self.module.log.emit(kind, **detail)

    def host_ready(self) -> bool:
        return all(channel.ready() for channel in self.module.channels)

    def when_host_ready(self, callback: Callable[[], None]) -> None:
        for channel in self.module.channels:
            if not channel.ready():
                channel.when_room(callback)

    # -- ids --------------------------------------------------------------------------------------
    def get(self, sid: int) -> Socket | None:
        return self.sockets.get(sid)

    def free_id(self) -> int | None:
        """Servers give incoming clients the highest free ID (the documents' example uses 11)."""
        return next((i for i in reversed(self.ids) if i not in self.sockets), None)

    def reserve(self, sid: int, service: Service, cid: int, host: str, port: int,
                local_port: int, access: Access, server_id: int = 0,
                events: SocketEvents | None = None) -> Socket:
        if sid in self.sockets:
            raise SocketError("socket_used")
        sock = Socket(self, sid, service, cid, host, port, local_port, access, server_id,
                      events)
        self.sockets[sid] = sock
        return sock

    def release(self, sock: Socket, force: bool = False, hang_up: bool = True) -> None:
        """Free the ID; a channel online with the socket gets NO CARRIER (`hang_up`)."""
        if hang_up:
            sock.hang_up()
        sock.shut(force)
        if self.sockets.get(sock.id) is sock:
            del self.sockets[sock.id]
        if self.last_online is sock:
            self.last_online = None

    # -- opening ----------------------------------------------------------------------------------
    async def connect(self, sock: Socket, target: Endpoint | None = None) -> None:
        """Make the host socket for a reserved socket: clients reach `target` (the host
        endpoint, routed already), servers bind; SocketError on failure."""
        try:
            if sock.service is Service.TCP:
                assert target is not None
                link = await connect_tcp(target[0], target[1], sock.local_port,
                                         self.send_buffer, self.recv_buffer)
                sock.link = link
                sock.state = State.CONNECTED
                link.bind(sock)
            elif sock.service is Service.UDP:
                assert target is not None
                family_any = "::" if ":" in target[0] else "0.0.0.0"
                self._bind_udp(sock, await open_udp((family_any, sock.local_port), target))
            elif sock.service is Service.UDP_SERVICE:
                where = self.listen_address(sock)
                self._bind_udp(sock, await open_udp(where))
            else:
                listener = TcpListener(self.send_buffer, self.recv_buffer,
                                       lambda c: self._accept(sock, c))
                await listener.listen(*self.listen_address(sock))
                sock.link = listener
                sock.state = State.LISTENING
        except OSError as exc:
            self.log("socket-open-failed", id=sock.id, error=str(exc))
            raise SocketError(_open_error(sock.service, exc)) from None

    def _bind_udp(self, sock: Socket, endpoint: UdpEndpoint) -> None:
        sock.link = endpoint
        sock.state = State.CONNECTED
        endpoint.receiver = sock

    def listen_address(self, sock: Socket) -> Endpoint:
        """Where a server socket binds on the host: a route from its module-side address
        (`<local IP>:<port>`, or `0.0.0.0:<port>` for any address the network hands out), or
        the configured listen host with the same port."""
        routes = self.module.internet.routes
        local_ip = self.address(sock.cid) or ""
        routed = routes.lookup(local_ip, sock.local_port) or routes.lookup("0.0.0.0",
                                                                          sock.local_port)
        return routed or (self.listen_host, sock.local_port)

    def _accept(self, listener: Socket, connection: TcpConnection) -> bool:
        sid = self.free_id()
        if sid is None or listener.state is not State.LISTENING:
            self.events.incoming_full(listener)
            return False
        host, port = self.seen_as(connection.peer())
        access = listener.access if listener.access is not Access.TRANSPARENT else Access.BUFFER
        sock = self.reserve(sid, Service.INCOMING, listener.cid, host, port,
                            listener.local_port, access, server_id=listener.id)
        sock.link = connection
        sock.state = State.CONNECTED
        self.events.incoming(listener, sock)
        connection.bind(sock)
        return True

    def close_all(self) -> None:
        """Drop every socket: the module resets (its channels leave online mode themselves)."""
        for sock in list(self.sockets.values()):
            self.release(sock, force=True, hang_up=False)


def _open_error(service: Service, exc: OSError) -> str:
    if service in (Service.LISTENER, Service.UDP_SERVICE) or isinstance(exc, PermissionError):
        return "port_busy" if getattr(exc, "errno", None) == 98 else "bind"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    return "connect"
