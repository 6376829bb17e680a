"""FCM360W SSL client sockets (AT+QSSLOPEN, AT+QSSLSEND, AT+QSSLRECV, AT+QSSLCLOSE,
AT+QSSLSTATE) and their +QSSLURC lines: the plain sockets' machinery and table (one connect ID
space, manual 5.8), with a real TLS handshake (the AT+QSSLCFG context's settings) once the TCP
connection is up. What else differs is spelling: the reply prefixes here, the state row and the
AT+QICFG options that apply in the profile's `ssl_sockets` section.

There is no SSL access-mode switch command: an SSL socket enters transparent mode when it is
opened in mode 2, leaves it with +++ and goes back with ATO (AT+QIOPEN's handler owns ATO)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable
from functools import cached_property
from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, command
from simulator.at.replies import Info, Quoted, Replies
from simulator.subsystems.qi_sockets import QiSockets
from simulator.subsystems.socket_commands import SCHEMA, SocketCommands
from simulator.subsystems.socket_table import Access, Service, Socket, SocketError, SocketTable
from simulator.subsystems.ssl_contexts import SslContexts
from simulator.world.sockets import TcpConnection
from simulator.world.tls import TlsError, client_context, server_name


class SslSockets(SocketCommands):
    name = "ssl_sockets"
    section = "ssl_sockets"
    schema: Any = SCHEMA
    open_prefix = "+QSSLOPEN"
    urc_prefix = "+QSSLURC"
    state_prefix = "+QSSLSTATE"
    read_prefix = "+QSSLRECV"
    close_prefix = "+QSSLCLOSE"

    def __init__(self, module: Any):
        super().__init__(module)
        self.contexts: dict[int, int] = {}  # connect ID -> SSL context

    @cached_property  # one table for AT+QI* and AT+QSSL*: the connect IDs are one space
    def table(self) -> SocketTable:  # type: ignore[override]
        return self.m.get(QiSockets).table

    @cached_property
    def tls(self) -> SslContexts:
        return self.m.get(SslContexts)

    def reset(self) -> None:
        super().reset()  # the sockets themselves go with the table's reset
        self.contexts = {}

    def _contexts(self) -> range:
        return range(self.tls.config.get("contexts", 6))

    # -- AT+QSSLOPEN ------------------------------------------------------------------------------
    @command("+QSSLOPEN", TEST)
    def qsslopen_test(self) -> Replies:
        contexts = self._contexts()
        return Info.of("+QSSLOPEN", f"({contexts.start}-{contexts.stop - 1})", self._range(),
                       Quoted("<server_address>"), "<server_port>", "(0-2)")

    @command("+QSSLOPEN", WRITE)
    def qsslopen(self, ctx_id: int, sid: int, host: Any, port: int,
                 access: int = 0) -> Replies | Awaitable[Replies]:
        self._start()
        sid = self._id(sid)
        if (not isinstance(host, str) or isinstance(host, Bare) or not host
                or not 0 < port < 65536 or access not in (0, 1, 2)
                or ctx_id not in self._contexts()):
            raise self.fail("invalid_param")
        sock = self._reserve(sid, Service.TCP, self.bearer.default, host, port, 0,
                             Access(access))
        self.contexts[sid] = ctx_id
        return self._open(sock)

    def _open_limit(self, sock: Socket) -> float:
        """The connect time and the context's "negotiatetime" for the handshake."""
        return super()._open_limit(sock) + self.tls.handshake_time(self.contexts[sock.id])

    async def _connect(self, sock: Socket) -> None:
        """The plain connection, then the TLS handshake over it."""
        try:
            settings = self.tls.settings(self.contexts[sock.id])
            context = client_context(settings)
        except TlsError as exc:
            raise SocketError("ssl_config") from exc
        await super()._connect(sock)
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
        self._start()
        sock = self._socket(sid)
        self._check_length(length)
        self._check_sendable(sock, None)
        return self._prompt(sock, length)

    # -- AT+QSSLRECV ------------------------------------------------------------------------------
    @command("+QSSLRECV", TEST)
    def qsslrecv_test(self) -> Replies:
        return Info.of("+QSSLRECV", self._range(), f"(1-{self.config.get('read_max', 1500)})")

    @command("+QSSLRECV", WRITE)
    def qsslrecv(self, sid: int, length: int) -> Replies:
        self._start()
        sock = self._socket(sid)
        if not 0 < length <= self.config.get("read_max", 1500):
            raise self.fail("invalid_param")
        self._check_readable(sock)
        return self._read(sock, length)

    # -- AT+QSSLCLOSE -----------------------------------------------------------------------------
    @command("+QSSLCLOSE", TEST)
    def qsslclose_test(self) -> Replies:
        return self._close_test()

    @command("+QSSLCLOSE", WRITE)
    async def qsslclose(self, sid: Any, timeout: Any = None) -> Replies:
        return await self._close_command(sid, timeout)

    # -- AT+QSSLSTATE -----------------------------------------------------------------------------
    @command("+QSSLSTATE", TEST)
    def qsslstate_test(self) -> None:
        pass

    @command("+QSSLSTATE", EXEC, READ)
    def qsslstate_all(self) -> Replies:
        self._start()
        return self._rows(lambda s: True)

    @command("+QSSLSTATE", WRITE)
    def qsslstate(self, kind: Any, value: Any) -> Replies:
        self._start()
        return self._rows_of(kind, value)

    def _group(self, sock: Socket) -> int | None:
        return self.contexts.get(sock.id)  # <query_type> 0 names an SSL context

    def _row_values(self, sock: Socket) -> dict[str, Any]:
        return {**super()._row_values(sock), "ssl_context": self.contexts.get(sock.id, 0)}

    def snapshot(self) -> dict[str, Any]:
        return {str(sid): {"state": int(s.state), "access": int(s.access), "host": s.host,
                           "port": s.port, "context": self.contexts.get(sid),
                           "unread": s.unread}
                for sid, s in sorted(self.table.sockets.items()) if s.events is self}
