"""FCM360W SSL client sockets (AT+QSSLOPEN, AT+QSSLSEND, AT+QSSLRECV, AT+QSSLCLOSE,
AT+QSSLSTATE) and their +QSSLURC lines: the plain sockets' table and host connections, with a
real TLS handshake (the AT+QSSLCFG context's settings) once the TCP connection is up."""

from __future__ import annotations

import asyncio
import ssl
from functools import cached_property
from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, command
from simulator.at.replies import OK, Data, Info, Prompt, Quoted, Replies, Result, online
from simulator.profile import Duration
from simulator.subsystems.pdp import Bearer
from simulator.subsystems.qi_errors import QiSubsystem
from simulator.subsystems.qi_sockets import QiSockets
from simulator.subsystems.socket_table import (
    Access,
    Service,
    Socket,
    SocketError,
    SocketTable,
    State,
)
from simulator.subsystems.ssl_contexts import SslContexts
from simulator.subsystems.timing import within
from simulator.world.routes import Endpoint
from simulator.world.sockets import TcpConnection
from simulator.world.tls import TlsError, client_context, server_name

SEND_OK = Result("SEND OK")
SEND_FAIL = Result("SEND FAIL")


class SslSockets(QiSubsystem):
    name = "ssl_sockets"
    section = "ssl_sockets"
    schema: Any = {
        "connect_ids": [int],  # [first, last]
        "open_timeout": Duration,  # TCP set-up; the context's negotiate time comes on top
        "negotiate_time": Duration,  # the handshake's limit
        "close_timeout": int,  # AT+QSSLCLOSE's default <close_timeout>, seconds
        "send_max": int,
        "read_max": int,
        "prompt": str,
        "at_port": str,  # <devname> of +QSSLSTATE rows
        "escape_guard": Duration,  # silence around +++
    }

    def __init__(self, module: Any):
        super().__init__(module)
        first, last = self.config.get("connect_ids", [0, 11])
        self.table = SocketTable(
            module, self, range(first, last + 1), self._address, send_buffer=10240,
            recv_buffer=10240, push_chunk=1460,
            guard=Duration.parse(self.config.get("escape_guard", "1s")), listen_host="127.0.0.1")
        self.contexts: dict[int, int] = {}  # connect ID -> SSL context
        self._tasks: set[asyncio.Task] = set()

    @cached_property  # subsystems live as long as the module
    def bearer(self) -> Bearer:
        return self.m.get(Bearer)

    def _address(self, cid: int) -> str | None:
        return self.bearer.address(cid)

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.table.close_all()
        self.table.last_online = None
        self.contexts = {}

    def _range(self) -> str:
        return f"({self.table.ids.start}-{self.table.ids.stop - 1})"

    def _id(self, value: Any) -> int:
        if not isinstance(value, int) or value not in self.table.ids:
            raise self.fail("invalid_param")
        return value

    def _socket(self, value: Any) -> Socket:
        sock = self.table.get(self._id(value))
        if sock is None:
            raise self.fail("closed")
        return sock

    # -- AT+QSSLOPEN ------------------------------------------------------------------------------
    @command("+QSSLOPEN", TEST)
    def qsslopen_test(self) -> Replies:
        return Info.of("+QSSLOPEN", "(0-5)", self._range(), Quoted("<server_address>"),
                       "<server_port>", "(0-2)")

    @command("+QSSLOPEN", WRITE)
    async def qsslopen(self, ctx_id: int, sid: int, host: Any, port: int,
                       access: int = 0) -> Replies:
        self.errors.succeed()
        sid = self._id(sid)
        if (not isinstance(host, str) or isinstance(host, Bare) or not host
                or not 0 < port < 65536 or access not in (0, 1, 2)
                or not 0 <= ctx_id <= 5):
            raise self.fail("invalid_param")
        if self.bearer.address(self.bearer.default) is None:
            raise self.fail("not_allowed")
        if self.table.get(sid) is not None:
            raise self.fail("socket_used")
        sock = self.table.reserve(sid, Service.TCP, self.bearer.default, host, port, 0,
                                  Access(access))
        self.contexts[sid] = ctx_id
        if access == Access.TRANSPARENT:
            error = await self._establish(sock)
            if error:
                raise self.fail(error)
            return online(sock)
        task = asyncio.get_running_loop().create_task(self._open_later(sock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def _open_later(self, sock: Socket) -> None:
        error = await self._establish(sock)
        self.m.urc(Info.of("+QSSLOPEN", sock.id, self.errors.code(error) if error else 0))

    async def _establish(self, sock: Socket) -> str | None:
        """Connect and shake hands; the error name, or None on success."""
        limit = Duration.parse(self.config.get("open_timeout", "150s")) + Duration.parse(
            self.config.get("negotiate_time", "300s"))
        try:
            await within(self.m.clock, self._connect(sock), limit)
        except SocketError as exc:
            self.table.release(sock, force=True)
            return exc.name
        except TimeoutError:
            self.table.release(sock, force=True)
            return "timeout"
        self.m.log.emit("ssl-open", id=sock.id, local=list(sock.local()))
        return None

    async def _connect(self, sock: Socket) -> None:
        try:
            settings = self.m.get(SslContexts).settings(self.contexts[sock.id])
            context = client_context(settings)
        except TlsError as exc:
            raise SocketError("ssl_config") from exc
        target = await self.m.get(QiSockets).remote(sock.host, sock.port)
        await self.table.connect(sock, target)
        link = sock.link
        assert isinstance(link, TcpConnection) and link.transport is not None
        try:
            transport = await asyncio.get_running_loop().start_tls(
                link.transport, link, context, server_hostname=server_name(settings, sock.host))
        except (ssl.SSLError, ssl.CertificateError, ConnectionError, OSError) as exc:
            self.m.log.emit("ssl-handshake-failed", id=sock.id, error=str(exc))
            raise SocketError("ssl_handshake") from None
        if transport is None:
            raise SocketError("ssl_handshake")
        link.transport = transport

    # -- AT+QSSLSEND ------------------------------------------------------------------------------
    @command("+QSSLSEND", TEST)
    def qsslsend_test(self) -> Replies:
        return Info.of("+QSSLSEND", self._range(), f"(1-{self.config.get('send_max', 1460)})")

    @command("+QSSLSEND", WRITE)
    def qsslsend(self, sid: int, length: int | None = None) -> Replies:
        self.errors.succeed()
        sock = self._socket(sid)
        if length is not None and not 0 < length <= self.config.get("send_max", 1460):
            raise self.fail("invalid_param")
        if sock.online or sock.state is not State.CONNECTED:
            raise self.fail("closed")
        return Prompt(lambda data: self._deliver(sock, data), length,
                      text=self.config.get("prompt", "> "), on_cancel=lambda: OK)

    def _deliver(self, sock: Socket, data: bytes) -> Replies:
        if sock.state is not State.CONNECTED or sock.link is None:
            raise self.fail("closed")
        if len(data) > self.config.get("send_max", 1460) or len(data) > sock.send_room():
            return SEND_FAIL
        sock.send(data)
        return SEND_OK

    # -- AT+QSSLRECV ------------------------------------------------------------------------------
    @command("+QSSLRECV", TEST)
    def qsslrecv_test(self) -> Replies:
        return Info.of("+QSSLRECV", self._range(), f"(1-{self.config.get('read_max', 1500)})")

    @command("+QSSLRECV", WRITE)
    def qsslrecv(self, sid: int, length: int) -> Replies:
        self.errors.succeed()
        sock = self._socket(sid)
        if not 0 < length <= self.config.get("read_max", 1500):
            raise self.fail("invalid_param")
        if sock.online:
            raise self.fail("not_allowed")
        data = sock.read(length)
        if not data:
            return Info.of("+QSSLRECV", 0)
        return [Info.of("+QSSLRECV", len(data)), Data(data)]

    # -- AT+QSSLCLOSE -----------------------------------------------------------------------------
    @command("+QSSLCLOSE", TEST)
    def qsslclose_test(self) -> Replies:
        return Info.of("+QSSLCLOSE", self._range(), "(0-65535)")

    @command("+QSSLCLOSE", WRITE)
    async def qsslclose(self, sid: int, timeout: int | None = None) -> Replies:
        self.errors.succeed()
        wait = self.config.get("close_timeout", 10) if timeout is None else timeout
        if not 0 <= wait <= 65535:
            raise self.fail("invalid_param")
        sock = self.table.get(self._id(sid))
        if sock is None:
            return None
        sock.hang_up()
        link = sock.link
        if isinstance(link, TcpConnection) and wait > 0 and link.open:
            link.close()
            try:
                await within(self.m.clock, asyncio.shield(link.lost), wait)
            except TimeoutError:
                link.abort()
        self.table.release(sock, force=wait == 0)
        self.contexts.pop(sock.id, None)
        return None

    # -- AT+QSSLSTATE -----------------------------------------------------------------------------
    @command("+QSSLSTATE", TEST)
    def qsslstate_test(self) -> None:
        pass

    @command("+QSSLSTATE", EXEC, READ)
    def qsslstate_all(self) -> Replies:
        return self._rows(lambda s: True)

    @command("+QSSLSTATE", WRITE)
    def qsslstate(self, kind: int, value: int) -> Replies:
        if kind == 0:
            return self._rows(lambda s: self.contexts.get(s.id) == value)
        if kind == 1:
            sid = self._id(value)
            return self._rows(lambda s: s.id == sid)
        raise self.fail("invalid_param")

    def _rows(self, keep: Any) -> Replies:
        return [Info.of("+QSSLSTATE", s.id, Quoted("SSLClient"), Quoted(s.host), s.port,
                        s.local()[1] if s.link is not None else 0, int(s.state), s.id,
                        int(s.access), Quoted(self.config.get("at_port", "uart1")),
                        self.contexts.get(s.id, 0))
                for _, s in sorted(self.table.sockets.items()) if keep(s)]

    # -- what arrives (SocketEvents) --------------------------------------------------------------
    def announce(self, sock: Socket) -> None:
        self.m.urc(Info.of("+QSSLURC", Quoted("recv"), sock.id))

    def push(self, sock: Socket, data: bytes, source: Endpoint | None) -> None:
        self.m.urc(Info.of("+QSSLURC", Quoted("recv"), sock.id, len(data)), Data(data))

    def closed(self, sock: Socket) -> None:
        self.m.urc(Info.of("+QSSLURC", Quoted("closed"), sock.id))

    def emptied(self, sock: Socket) -> None:
        """A closed socket keeps its ID until AT+QSSLCLOSE."""

    def incoming(self, listener: Socket, sock: Socket) -> None:
        """SSL sockets are clients only."""

    def incoming_full(self, listener: Socket) -> None:
        """SSL sockets are clients only."""

    def packet(self) -> tuple[int, float]:
        return self.m.get(QiSockets).packet()  # AT+QICFG "transpktsize"/"transwaittm"

    def snapshot(self) -> dict[str, Any]:
        return {str(sid): {"state": int(s.state), "access": int(s.access), "host": s.host,
                           "port": s.port, "context": self.contexts.get(sid),
                           "unread": s.unread}
                for sid, s in sorted(self.table.sockets.items())}
