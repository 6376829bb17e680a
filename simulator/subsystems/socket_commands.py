"""What the Quectel socket command sets share: AT+QI* (qi_sockets.py) and AT+QSSL*
(ssl_sockets.py) open, send, read, close and list sockets of one table (the connect IDs are
one space), and tell the host about them in their own spelling.

A command set is a subclass: it parses its own commands' arguments, names its reply prefixes
(class attributes) and may add a step to the connection (the TLS handshake). The differences
in reply fields are profile data of its section: the +QISTATE/+QSSLSTATE row, how read data is
shown, which AT+QICFG options govern it (`qicfg`), the close timeouts, the prompt. Each socket
remembers the command set that opened it (`Socket.events`), so its URCs keep that spelling
and ATO returns to the last transparent socket whatever opened it.
"""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Awaitable, Callable, Coroutine
from functools import cached_property
from typing import Any

from simulator.at.command import Bare
from simulator.at.replies import ERROR, OK, Data, Info, Prompt, Quoted, Replies, Result, online
from simulator.profile import Duration
from simulator.subsystems.pdp import Bearer
from simulator.subsystems.qi_config import QiConfig
from simulator.subsystems.qi_errors import QiSubsystem
from simulator.subsystems.socket_table import (
    Access,
    Service,
    Socket,
    SocketError,
    SocketTable,
    State,
)
from simulator.subsystems.timing import within
from simulator.subsystems.uplink import release_assistance, uplink, uplink_ready
from simulator.world.internet import ResolveError
from simulator.world.routes import Endpoint
from simulator.world.sockets import TcpConnection

SEND_OK = Result("SEND OK")
SEND_FAIL = Result("SEND FAIL")
# the values a state row may show, in the order `state_row` names them
ROW_FIELDS = ("id", "service", "ip", "remote_port", "local_port", "state", "context", "server",
              "access", "at_port")

SCHEMA: Any = {
    "open_time": Duration,  # the module's own set-up time before the real connect
    "open_timeout": Duration,  # no connection by then: +QIOPEN: <id>,<timeout error>
    "close_timeout": int,  # the close command's default <timeout>, seconds
    "close_timeouts": [int],  # [min, max] <timeout>
    "close_ok": bool,  # a "CLOSE OK" line after the close command's OK (BC660K)
    "send_max": int,  # bytes per send command
    "read_max": int,  # bytes per read command
    "escape_guard": Duration,  # silence around +++
    "prompt": str,  # after the CR LF of the data prompt
    "cancel_result": str,  # the final result of a send cancelled with ESC (OK / ERROR)
    "send_ok_after_ok": bool,  # BC660K: the send command says OK, then SEND OK follows
    "at_port": str,  # the <AT_port> (<devname>) of state rows
    "state_row": [str],  # the fields of a state row (ROW_FIELDS and what a subclass adds)
    "state_given_local_port": bool,  # rows show the local port as given, not as bound
    "service_names": {str: str},  # a service as state rows name it ("TCP" -> "SSLClient")
    "qicfg": [str],  # the AT+QICFG options that govern these commands (absent: all)
    "recv": {
        "inline": str,  # "": data after the header line; "quoted"/"raw": on it
        "trailer": str,  # bytes after pushed data
        "read_remaining": bool,  # the read reply prints the unread count after the length
        "service_trailing_comma": bool,  # "+QIRD: <n>,<ip>,<port>," (FCM360W)
    },
}


class SocketCommands(QiSubsystem):
    """The shared machinery; subclasses add the @command handlers of one command set."""

    open_prefix = "+QIOPEN"  # the open result URC
    urc_prefix = "+QIURC"  # "recv" / "closed" / "incoming" news
    state_prefix = "+QISTATE"
    read_prefix = "+QIRD"
    close_prefix = "+QICLOSE"
    table: SocketTable

    def __init__(self, module: Any):
        super().__init__(module)
        self._tasks: set[asyncio.Task] = set()

    # -- collaborators ----------------------------------------------------------------------------
    @cached_property  # subsystems live as long as the module
    def bearer(self) -> Bearer:
        return self.m.get(Bearer)

    @cached_property
    def options(self) -> QiConfig:
        return self.m.get(QiConfig)

    def option(self, key: str, index: int = 0, default: int = 0) -> int:
        """An AT+QICFG value, when that option governs these commands; else `default`."""
        return self.options.get(key, index, default) if self._governed(key) else default

    def has_option(self, key: str) -> bool:
        return self._governed(key) and self.options.has(key)

    def _governed(self, key: str) -> bool:
        keys = self.config.get("qicfg")
        return keys is None or key.lower() in (k.lower() for k in keys)

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- argument helpers -------------------------------------------------------------------------
    def _range(self) -> str:
        return f"({self.table.ids.start}-{self.table.ids.stop - 1})"

    def _id(self, value: Any) -> int:
        sid = to_int(value)
        if sid is None or sid not in self.table.ids:
            raise self.fail("invalid_param")
        return sid

    def _mine(self, value: Any) -> Socket | None:
        """The socket on this ID, if any; one the other command set opened is not ours."""
        sock = self.table.get(self._id(value))
        if sock is not None and sock.events is not self:
            raise self.fail("not_allowed")
        return sock

    def _socket(self, value: Any) -> Socket:
        sock = self._mine(value)
        if sock is None:
            raise self.fail("closed")
        return sock

    def _start(self) -> None:
        self.errors.succeed()

    # -- opening ----------------------------------------------------------------------------------
    def _reserve(self, sid: int, service: Service, cid: int, host: str, port: int,
                 local_port: int, access: Access) -> Socket:
        """Take a free ID for a socket this command set opens."""
        if self.bearer.address(cid) is None:
            raise self.fail("not_allowed")
        if self.table.get(sid) is not None:
            raise self.fail("socket_used")
        sock = self.table.reserve(sid, service, cid, host, port, local_port, access,
                                  events=self)
        sock.guard = Duration.parse(self.config.get("escape_guard", "1s"))
        return sock

    def _open(self, sock: Socket) -> Replies | Awaitable[Replies]:
        """Transparent: connect now, CONNECT or ERROR. Else OK now and the URC when done
        (answered without a task: an open is the most frequent command of socket firmware)."""
        if sock.access is Access.TRANSPARENT:
            return self._open_online(sock)
        self._spawn(self._open_later(sock))
        return None

    async def _open_online(self, sock: Socket) -> Replies:
        error = await self._establish(sock)
        if error:
            raise self.fail(error)
        return online(sock)

    async def _open_later(self, sock: Socket) -> None:
        error = await self._establish(sock)
        self.m.urc(Info.of(self.open_prefix, sock.id, self.errors.code(error) if error else 0))

    def _open_limit(self, sock: Socket) -> float:
        return Duration.parse(self.config.get("open_timeout", "150s"))

    async def _establish(self, sock: Socket) -> str | None:
        """Set the reserved socket up for real; the error name, or None on success."""
        try:
            await within(self.m.clock, self._connect(sock), self._open_limit(sock))
        except SocketError as exc:
            self.table.release(sock, force=True)
            return exc.name
        except TimeoutError:
            self.table.release(sock, force=True)
            return "timeout"
        self.m.log.emit("socket-open", id=sock.id, service=str(sock.service),
                        local=list(sock.local()), commands=self.name)
        return None

    async def _connect(self, sock: Socket) -> None:
        if sock.service is Service.TCP:
            await uplink(self.m)  # the SYN needs the radio (out of PSM first)
        await self.m.clock.sleep(Duration.parse(self.config.get("open_time", "0.2s")))
        if sock.service in (Service.LISTENER, Service.UDP_SERVICE):
            await self.table.connect(sock)
            return
        await self.table.connect(sock, await self.remote(sock.host, sock.port))

    async def remote(self, host: str, port: int) -> Endpoint:
        """Where a remote endpoint really is: a route by name, else resolve and route."""
        routes = self.m.internet.routes
        direct = routes.lookup(host, port)
        if direct:
            return direct
        try:
            address = (await self.m.internet.resolve(host))[0]
        except ResolveError:
            raise SocketError("dns_failed") from None
        return routes.resolve(address, port)

    # -- closing ----------------------------------------------------------------------------------
    def _close_test(self) -> Replies:
        low, high = self.config.get("close_timeouts", [0, 65535])
        return Info.of(self.close_prefix, self._range(), f"({low}-{high})")

    async def _close_command(self, sid: Any, timeout: Any) -> Replies:
        """AT+QICLOSE / AT+QSSLCLOSE=<id>[,<timeout>]: OK once closed (a free ID too)."""
        self._start()
        low, high = self.config.get("close_timeouts", [0, 65535])
        wait = self.config.get("close_timeout", 10) if timeout is None else to_int(timeout)
        if wait is None or not low <= wait <= high:
            raise self.fail("invalid_param")
        sock = self._mine(sid)
        if sock is not None:
            sock.hang_up()
            if self.option("close/mode") == 1:
                self._spawn(self._close_then_tell(sock, wait))  # OK now, the URC when done
                return None
            await self._close(sock, wait)
        if self.config.get("close_ok"):
            self.m.urc(Info.text("CLOSE OK"))
        return None

    async def _close_then_tell(self, sock: Socket, wait: int) -> None:
        await self._close(sock, wait)
        self.m.urc(Info.of(self.urc_prefix, Quoted("closed"), sock.id))

    async def _close(self, sock: Socket, wait: int) -> None:
        """Close gracefully, waiting up to `wait` seconds for the peer, then force it."""
        link = sock.link
        if isinstance(link, TcpConnection) and wait > 0 and link.open:
            link.close()
            try:
                await within(self.m.clock, asyncio.shield(link.lost), wait)
            except TimeoutError:
                link.abort()
        self.table.release(sock, force=wait == 0)

    # -- state rows -------------------------------------------------------------------------------
    def _rows_of(self, kind: Any, value: Any) -> Replies:
        """=<query_type>,<value>: 0 the sockets of a context (`_group`), 1 one socket."""
        query, number = to_int(kind), to_int(value)
        if query == 0 and number is not None:
            return self._rows(lambda s: self._group(s) == number)
        if query == 1 and number is not None:
            sid = self._id(number)
            return self._rows(lambda s: s.id == sid)
        raise self.fail("invalid_param")

    def _group(self, sock: Socket) -> int | None:
        return sock.cid

    def _rows(self, keep: Callable[[Socket], bool]) -> Replies:
        return [Info.of(self.state_prefix, *self._row(s))
                for _, s in sorted(self.table.sockets.items()) if s.events is self and keep(s)]

    def _row(self, sock: Socket) -> list[Any]:
        values = self._row_values(sock)
        return [values[name] for name in self.config.get("state_row", ROW_FIELDS)]

    def _row_values(self, sock: Socket) -> dict[str, Any]:
        server = sock.service in (Service.LISTENER, Service.UDP_SERVICE)
        local_port = sock.local_port
        client = sock.service in (Service.TCP, Service.UDP)
        if client and sock.link is not None and not self.config.get("state_given_local_port"):
            local_port = sock.local()[1]  # the port the host really picked
        service = self.config.get("service_names", {}).get(sock.service.value,
                                                           sock.service.value)
        return {
            "id": sock.id,
            "service": Quoted(service),
            "ip": Quoted((self.bearer.address(sock.cid) or "") if server else sock.host),
            "remote_port": sock.port,
            "local_port": local_port,
            "state": int(sock.state),
            "context": sock.cid,
            "server": sock.server_id if sock.service is Service.INCOMING else (
                sock.id if server else 0),
            "access": int(sock.access),
            "at_port": Quoted(self.config.get("at_port", "usbmodem")),
        }

    # -- sending ----------------------------------------------------------------------------------
    def _check_sendable(self, sock: Socket, to: Endpoint | None) -> None:
        if sock.service is Service.LISTENER or sock.online:
            raise self.fail("not_allowed")
        if sock.service is Service.UDP_SERVICE and to is None:
            raise self.fail("invalid_param")
        if sock.state is not State.CONNECTED:
            raise self.fail("closed")

    def _check_length(self, size: int | None) -> None:
        if size is not None and not 0 < size <= self.config.get("send_max", 1460):
            raise self.fail("invalid_param")

    def _prompt(self, sock: Socket, size: int | None, to: Endpoint | None = None) -> Prompt:
        """The `>` prompt; the data that follows goes to `_deliver`."""
        text = self.config.get("prompt", "> ")
        if self.option("formatcfg") == 1:
            text = text.rstrip() + "\r\n"
        return Prompt(lambda data: self._deliver(sock, data, to), size, text=text,
                      timeout=self.option("qisend/timeout") or None,
                      echo=self.options.data_echo, on_cancel=self._cancelled)

    def _cancelled(self) -> Replies:
        self.errors.fail("send_cancelled")
        return OK if self.config.get("cancel_result", "OK") == "OK" else ERROR

    def _deliver(self, sock: Socket, data: bytes, to: Endpoint | None,
                 rai: int = 0) -> Replies:
        """The payload is in: queue it for the peer, or say why not."""
        if self.option("dataformat") == 1:
            try:
                data = binascii.unhexlify(data)
            except (binascii.Error, ValueError):
                raise self.fail("invalid_param") from None
        if sock.state is not State.CONNECTED or sock.link is None:
            raise self.fail("closed")
        if len(data) > self.config.get("send_max", 1460) or len(data) > sock.send_room():
            self.m.log.emit("socket-send-fail", id=sock.id, size=len(data))
            return SEND_FAIL
        self._transmit(sock, data, to, rai)
        if self.config.get("send_ok_after_ok"):
            self.m.urc(Info.text("SEND OK"))
            return None
        return SEND_OK

    def _transmit(self, sock: Socket, data: bytes, to: Endpoint | None, rai: int = 0) -> None:
        """Data accepted: out at once, or once the radio is up (a send in PSM is accepted
        locally, then the modem leaves PSM). RAI lets the network release the connection."""
        if uplink_ready(self.m):
            sock.send(data, to)
            release_assistance(self.m, rai)
            return

        async def when_up() -> None:
            await uplink(self.m)
            if sock.state is State.CONNECTED and sock.link is not None:
                sock.send(data, to)
                release_assistance(self.m, rai)

        self._spawn(when_up())

    # -- reading ----------------------------------------------------------------------------------
    def _check_readable(self, sock: Socket) -> None:
        if sock.service is Service.LISTENER or sock.online:
            raise self.fail("not_allowed")

    def _read(self, sock: Socket, size: int) -> Replies:
        if sock.service is Service.UDP_SERVICE:
            item = sock.read_datagram()
            if item is None:
                return Info.of(self.read_prefix, 0)
            return self._read_reply(sock, item[0], item[1])
        data = sock.read(size)
        if not data:
            return Info.of(self.read_prefix, 0)
        return self._read_reply(sock, data, None)

    def _read_reply(self, sock: Socket, data: bytes, source: Endpoint | None) -> Replies:
        recv = self.config.get("recv", {})
        fields: list[Any] = [len(data)]
        if recv.get("read_remaining"):
            fields.append(sock.unread)
        fields += self._remote_fields(sock, source)
        if source is not None and recv.get("service_trailing_comma"):
            fields.append(None)
        return self._with_payload(Info.of(self.read_prefix, *fields), data)

    # -- received data, as this command set shows it (SocketEvents) -------------------------------
    def _remote_fields(self, sock: Socket, source: Endpoint | None) -> list[Any]:
        if source is not None:
            return [Quoted(source[0]), source[1]]
        if self.option("showRA"):
            return [Quoted(sock.host), sock.port]
        return []

    def _show_length(self) -> bool:
        return bool(self.option("recvind") or self.option("showlength"))

    def _encode(self, data: bytes) -> bytes:
        return binascii.hexlify(data).upper() if self.option("dataformat", 1) else data

    def _with_payload(self, header: Info, data: bytes, trailer: bytes = b"") -> Replies:
        """Data after the header line, or on it (view mode 1 / the NB-IoT quoted style)."""
        body = self._encode(data)
        inline = self.config.get("recv", {}).get("inline", "")
        if self.option("viewmode") == 1 and not inline:
            inline = "raw"
        if not inline:
            return [header, Data(body + trailer)]
        text = body.decode("latin-1")
        return Info(header.prefix, (*header.fields, Quoted(text) if inline == "quoted" else text))

    def announce(self, sock: Socket) -> None:
        fields: list[Any] = [Quoted("recv"), sock.id]
        if self._show_length():
            fields.append(sock.unread)
        if sock.service is not Service.UDP_SERVICE:
            fields += self._remote_fields(sock, None)
        self.m.urc(Info.of(self.urc_prefix, *fields))

    def push(self, sock: Socket, data: bytes, source: Endpoint | None) -> None:
        fields: list[Any] = [Quoted("recv"), sock.id]
        if not self.has_option("showlength") or self.option("showlength"):
            fields.append(len(data))
        fields += self._remote_fields(sock, source)
        trailer = self.config.get("recv", {}).get("trailer", "").encode("latin-1")
        reply = self._with_payload(Info.of(self.urc_prefix, *fields), data, trailer)
        if isinstance(reply, list):
            header, payload = reply
            assert isinstance(header, Info) and isinstance(payload, Data)
            self.m.urc(header, payload)
        else:
            assert isinstance(reply, Info)
            self.m.urc(reply)

    def closed(self, sock: Socket) -> None:
        self.m.urc(Info.of(self.urc_prefix, Quoted("closed"), sock.id))
        if not sock.unread:
            self.emptied(sock)

    def emptied(self, sock: Socket) -> None:
        if self.option("passiveclosed") == 1 and sock.state is State.CLOSING:
            self.table.release(sock)

    def incoming(self, listener: Socket, sock: Socket) -> None:
        self.m.urc(Info.of(self.urc_prefix, Quoted("incoming"), sock.id, listener.id,
                           Quoted(sock.host), sock.port))

    def incoming_full(self, listener: Socket) -> None:
        self.m.urc(Info.of(self.urc_prefix, Quoted("incoming full")))

    def packet(self) -> tuple[int, float]:
        return (self.option("transpktsize", default=1024),
                self.option("transwaittm", default=2) * 0.1)


def to_int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, Bare) and value.isdigit():
        return int(value)
    return None
