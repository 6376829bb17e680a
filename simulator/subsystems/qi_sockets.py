"""Quectel TCP/IP sockets (AT+QIOPEN, AT+QICLOSE, AT+QISTATE, AT+QISEND, AT+QISENDEX, AT+QIRD,
AT+QISWTMD, ATO) over the family-neutral socket table, and the +QIURC lines they cause.

The EC200 (LTE), BC660K (NB-IoT) and FCM360W (Wi-Fi) drive the same machinery; what differs is
profile data in the `qi` section: whether commands carry a <contextID>, the ID ranges, the
fields of a +QISTATE row, how received data is shown, the prompt, and a few two-step results
(BC660K prints OK and then SEND OK / CLOSE OK).
"""

from __future__ import annotations

import asyncio
import binascii
from functools import cached_property
from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, command
from simulator.at.replies import (
    ERROR,
    NO_CARRIER,
    OK,
    Data,
    Info,
    Prompt,
    Quoted,
    Replies,
    Result,
    online,
)
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
ROW_FIELDS = ("id", "service", "ip", "remote_port", "local_port", "state", "context", "server",
              "access", "at_port")


class QiSockets(QiSubsystem):
    name = "qi_sockets"
    section = "qi"
    schema: Any = {
        "connect_ids": [int],  # [first, last]
        "context_param": bool,  # QIOPEN (and QPING, QIDNSGIP) start with a <contextID>
        "open_time": Duration,  # the module's own set-up time before the real connect
        "open_timeout": Duration,  # no connection by then: +QIOPEN: <id>,<timeout error>
        "close_timeout": int,  # AT+QICLOSE's default <timeout>, seconds
        "close_timeouts": [int],  # [min, max] <timeout>
        "close_ok": bool,  # a "CLOSE OK" line after AT+QICLOSE's OK (BC660K)
        "send_max": int,  # bytes per AT+QISEND
        "read_max": int,  # bytes per AT+QIRD
        "hex_max": int,  # hex digits per AT+QISENDEX
        "send_buffer": int,  # bytes not yet acknowledged by the peer before SEND FAIL
        "recv_buffer": int,  # unread bytes a socket holds before the peer is held back
        "push_chunk": int,  # bytes per direct-push URC
        "escape_guard": Duration,  # silence around +++
        "prompt": str,  # after the CR LF of the data prompt
        "cancel_result": str,  # the final result of a send cancelled with ESC (OK / ERROR)
        "send_ok_after_ok": bool,  # BC660K: the send command says OK, then SEND OK follows
        "send_inline": bool,  # BC660K: AT+QISEND=<id>,<len>,"<data>" without a prompt
        "send_rai": bool,  # BC660K: AT+QISEND=<id>,<len>,"<data>",<RAI> (0-2)
        "at_port": str,  # the <AT_port> of +QISTATE rows
        "state_row": [str],  # the fields of a +QISTATE row, from ROW_FIELDS
        "state_by_id": bool,  # AT+QISTATE=<id> (FCM360W) rather than =<type>,<cid|id>
        "state_given_local_port": bool,  # rows show the local port as given, not as bound
        "listen_host": str,  # host address servers bind to when no route names one
        "recv": {
            "inline": str,  # "": data after the header line; "quoted"/"raw": on it
            "trailer": str,  # bytes after pushed data
            "read_remaining": bool,  # AT+QIRD prints the unread count after the length
            "service_trailing_comma": bool,  # "+QIRD: <n>,<ip>,<port>," (FCM360W)
        },
    }

    def __init__(self, module: Any):
        super().__init__(module)
        cfg = self.config
        first, last = cfg.get("connect_ids", [0, 11])
        self.table = SocketTable(
            module, self, range(first, last + 1), self._address,
            send_buffer=cfg.get("send_buffer", 10240), recv_buffer=cfg.get("recv_buffer", 10240),
            push_chunk=cfg.get("push_chunk", 1460),
            guard=Duration.parse(cfg.get("escape_guard", "1s")),
            listen_host=cfg.get("listen_host", "127.0.0.1"))
        self._tasks: set[asyncio.Task] = set()
        self._watching = False

    # -- collaborators ----------------------------------------------------------------------------
    @cached_property  # subsystems live as long as the module
    def bearer(self) -> Bearer:
        return self.m.get(Bearer)

    @cached_property
    def options(self) -> QiConfig:
        return self.m.get(QiConfig)

    def _address(self, cid: int) -> str | None:
        return self.bearer.address(cid)

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.table.close_all()
        self.table.last_online = None
        if not self._watching:
            self.bearer.on_lost(self._context_lost)
            self._watching = True

    def _context_lost(self, cid: int, by_network: bool) -> None:
        """The context went: sockets on it die (the network) or are freed (AT+QIDEACT)."""
        for sock in [s for s in self.table.sockets.values() if s.cid == cid]:
            if not by_network:
                self.table.release(sock, force=True)
                continue
            sock.hang_up()
            sock.shut(force=True)
            sock.state = State.CLOSING
            sock.peer_gone = True

    # -- argument helpers -------------------------------------------------------------------------
    def _id(self, value: Any) -> int:
        sid = _int(value)
        if sid is None or sid not in self.table.ids:
            raise self.fail("invalid_param")
        return sid

    def _socket(self, value: Any) -> Socket:
        sock = self.table.get(self._id(value))
        if sock is None:
            raise self.fail("closed")
        return sock

    def _start(self) -> None:
        self.errors.succeed()

    # -- AT+QIOPEN --------------------------------------------------------------------------------
    @command("+QIOPEN", TEST)
    def qiopen_test(self) -> Replies:
        head = []
        if self.config.get("context_param", True):
            contexts = self.bearer.contexts()
            head.append(f"({contexts.start}-{contexts.stop - 1})")
        ids = self.table.ids
        return Info.of("+QIOPEN", *head, f"({ids.start}-{ids.stop - 1})",
                       Quoted("TCP/UDP/TCP LISTENER/UDP SERVICE"),
                       Quoted("<IP_address>/<domain_name>"), "<remote_port>", "<local_port>",
                       "(0-2)")

    @command("+QIOPEN", WRITE)
    async def qiopen(self, *args: Any) -> Replies:
        self._start()
        fields = list(args)
        if self.config.get("context_param", True):
            cid = _int(fields.pop(0)) if fields else None
            if cid is None or cid not in self.bearer.contexts():
                raise self.fail("invalid_param")
        else:
            cid = self.bearer.default
        if not 4 <= len(fields) <= 6:
            raise self.fail("invalid_param")
        sid = self._id(fields[0])
        service = _service(fields[1])
        host = fields[2]
        port = _int(fields[3])
        local_port = _int(fields[4]) if len(fields) > 4 and fields[4] is not None else 0
        access = _int(fields[5]) if len(fields) > 5 and fields[5] is not None else 0
        if (service is None or not isinstance(host, str) or isinstance(host, Bare)
                or port is None or port > 65535 or local_port is None or local_port > 65535
                or access not in (0, 1, 2)):
            raise self.fail("invalid_param")
        server = service in (Service.LISTENER, Service.UDP_SERVICE)
        if server and (local_port == 0 or access == Access.TRANSPARENT):
            raise self.fail("invalid_param")
        if self.bearer.address(cid) is None:
            raise self.fail("not_allowed")
        if self.table.get(sid) is not None:
            raise self.fail("socket_used")
        sock = self.table.reserve(sid, service, cid, host, 0 if server else port, local_port,
                                  Access(access))
        if access == Access.TRANSPARENT:
            error = await self._establish(sock)
            if error:
                raise self.fail(error)
            return online(sock)
        self._spawn(self._open_later(sock))
        return None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_later(self, sock: Socket) -> None:
        error = await self._establish(sock)
        code = self.errors.code(error) if error else 0
        self.m.urc(Info.of("+QIOPEN", sock.id, code))

    async def _establish(self, sock: Socket) -> str | None:
        """Set the reserved socket up for real; the error name, or None on success."""
        limit = Duration.parse(self.config.get("open_timeout", "150s"))
        try:
            await within(self.m.clock, self._connect(sock), limit)
        except SocketError as exc:
            self.table.release(sock)
            return exc.name
        except TimeoutError:
            self.table.release(sock, force=True)
            return "timeout"
        self.m.log.emit("socket-open", id=sock.id, service=str(sock.service),
                        local=list(sock.local()))
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

    # -- AT+QICLOSE -------------------------------------------------------------------------------
    @command("+QICLOSE", TEST)
    def qiclose_test(self) -> Replies:
        low, high = self.config.get("close_timeouts", [0, 65535])
        return Info.of("+QICLOSE", f"({self.table.ids.start}-{self.table.ids.stop - 1})",
                       f"({low}-{high})")

    @command("+QICLOSE", WRITE)
    async def qiclose(self, sid: Any, timeout: Any = None) -> Replies:
        self._start()
        low, high = self.config.get("close_timeouts", [0, 65535])
        wait = self.config.get("close_timeout", 10) if timeout is None else _int(timeout)
        if wait is None or not low <= wait <= high:
            raise self.fail("invalid_param")
        sock = self.table.get(self._id(sid))
        if sock is not None:
            sock.hang_up()
            if self.options.get("close/mode") == 1:
                self._spawn(self._close_then_tell(sock, wait))  # OK now, the URC when done
                return None
            await self._close(sock, wait)
        if self.config.get("close_ok"):
            self.m.urc(Info.text("CLOSE OK"))
        return None

    async def _close_then_tell(self, sock: Socket, wait: int) -> None:
        await self._close(sock, wait)
        self.m.urc(Info.of("+QIURC", Quoted("closed"), sock.id))

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

    # -- AT+QISTATE -------------------------------------------------------------------------------
    @command("+QISTATE", TEST)
    def qistate_test(self) -> None:
        pass

    @command("+QISTATE", EXEC, READ)
    def qistate_all(self) -> Replies:
        self._start()
        return self._rows(lambda s: True)

    @command("+QISTATE", WRITE)
    def qistate(self, first: Any, second: Any = None) -> Replies:
        self._start()
        if self.config.get("state_by_id"):
            if second is not None:
                raise self.fail("invalid_param")
            sid = self._id(first)
            return self._rows(lambda s: s.id == sid)
        kind, value = _int(first), _int(second)
        if kind == 0 and value is not None:
            return self._rows(lambda s: s.cid == value)
        if kind == 1 and value is not None:
            sid = self._id(value)
            return self._rows(lambda s: s.id == sid)
        raise self.fail("invalid_param")

    def _rows(self, keep: Any) -> Replies:
        return [Info.of("+QISTATE", *self._row(s))
                for sid, s in sorted(self.table.sockets.items()) if keep(s)]

    def _row(self, sock: Socket) -> list[Any]:
        server = sock.service in (Service.LISTENER, Service.UDP_SERVICE)
        local_port = sock.local_port
        client = sock.service in (Service.TCP, Service.UDP)
        if client and sock.link is not None and not self.config.get("state_given_local_port"):
            local_port = sock.local()[1]  # the port the host really picked
        values = {
            "id": sock.id,
            "service": Quoted(sock.service.value),
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
        return [values[name] for name in self.config.get("state_row", ROW_FIELDS)]

    # -- AT+QISEND / AT+QISENDEX ------------------------------------------------------------------
    @command("+QISEND", TEST)
    def qisend_test(self) -> Replies:
        ids = self.table.ids
        return Info.of("+QISEND", f"({ids.start}-{ids.stop - 1})",
                       f"(0-{self.config.get('send_max', 1460)})")

    @command("+QISEND", WRITE)
    def qisend(self, sid: Any, length: Any = None, *rest: Any) -> Replies:
        self._start()
        sock = self._socket(sid)
        size = None if length is None else _int(length)
        if length is not None and size is None:
            raise self.fail("invalid_param")
        if size == 0 and not rest:
            return self._send_counters(sock)
        to: Endpoint | None = None
        inline: str | None = None
        rai = 0
        if self._inline_rai(sock, rest):
            inline, rai = rest[0], _int(rest[1])
            if rai not in (0, 1, 2):
                raise self.fail("invalid_param")
        elif len(rest) == 2:
            ip, port = rest[0], _int(rest[1])
            if sock.service is not Service.UDP_SERVICE or not isinstance(ip, str) or port is None:
                raise self.fail("invalid_param")
            to = (ip, port)
        elif len(rest) == 1 and self.config.get("send_inline") and isinstance(rest[0], str):
            inline = rest[0]
        elif rest:
            raise self.fail("invalid_param")
        self._check_sendable(sock, to)
        if size is not None and not 0 < size <= self.config.get("send_max", 1460):
            raise self.fail("invalid_param")
        if inline is not None:
            payload = inline.encode("latin-1")
            if len(payload) != size:
                raise self.fail("invalid_param")
            return self._deliver(sock, payload, to, rai)
        return Prompt(
            lambda data: self._deliver(sock, data, to), size, text=self._prompt_text(),
            timeout=self.options.get("qisend/timeout") or None, echo=self.options.data_echo,
            on_cancel=self._cancelled)

    def _inline_rai(self, sock: Socket, rest: tuple[Any, ...]) -> bool:
        """AT+QISEND=<id>,<len>,"<data>",<RAI> (rather than a UDP service's <ip>,<port>)."""
        return (len(rest) == 2 and bool(self.config.get("send_rai"))
                and sock.service is not Service.UDP_SERVICE and isinstance(rest[0], str)
                and not isinstance(rest[0], Bare))

    def _check_sendable(self, sock: Socket, to: Endpoint | None) -> None:
        if sock.service is Service.LISTENER or sock.online:
            raise self.fail("not_allowed")
        if sock.service is Service.UDP_SERVICE and to is None:
            raise self.fail("invalid_param")
        if sock.state is not State.CONNECTED:
            raise self.fail("closed")

    def _prompt_text(self) -> str:
        text = self.config.get("prompt", "> ")
        return text.rstrip() + "\r\n" if self.options.get("formatcfg") == 1 else text

    def _cancelled(self) -> Replies:
        self.errors.fail("send_cancelled")
        return OK if self.config.get("cancel_result", "OK") == "OK" else ERROR

    def _send_counters(self, sock: Socket) -> Replies:
        if sock.service is Service.LISTENER:
            raise self.fail("not_allowed")
        unacked = sock.unacked()
        return Info.of("+QISEND", sock.tx_total, sock.tx_total - unacked, unacked)

    def _deliver(self, sock: Socket, data: bytes, to: Endpoint | None,
                 rai: int = 0) -> Replies:
        """The payload is in: queue it for the peer, or say why not."""
        if self.options.get("dataformat") == 1:
            try:
                data = binascii.unhexlify(data)
            except (binascii.Error, ValueError):
                raise self.fail("invalid_param") from None
        if sock.state is not State.CONNECTED or sock.link is None:
            raise self.fail("closed")
        if len(data) > sock.send_room():
            self.m.log.emit("socket-send-fail", id=sock.id, size=len(data))
            return SEND_FAIL
        self._transmit(sock, data, to, rai)
        if self.config.get("send_ok_after_ok"):
            self.m.urc(Info.text("SEND OK"))
            return None
        return SEND_OK

    @command("+QISENDEX", TEST)
    def qisendex_test(self) -> Replies:
        ids = self.table.ids
        return Info.of("+QISENDEX", f"({ids.start}-{ids.stop - 1})", "<hex_string>")

    @command("+QISENDEX", WRITE)
    def qisendex(self, sid: Any, hex_text: Any) -> Replies:
        self._start()
        sock = self._socket(sid)
        if not isinstance(hex_text, str) or isinstance(hex_text, Bare) or not hex_text or \
                len(hex_text) > self.config.get("hex_max", 512):
            raise self.fail("invalid_param")
        try:
            data = binascii.unhexlify(hex_text)
        except (binascii.Error, ValueError):
            raise self.fail("invalid_param") from None
        if sock.service is Service.UDP_SERVICE:
            raise self.fail("not_allowed")
        self._check_sendable(sock, None)
        if len(data) > sock.send_room():
            return SEND_FAIL
        self._transmit(sock, data, None)
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

    def drop_all(self) -> None:
        """Deep sleep: every TCP connection and listener is gone, without a word to the host
        (UDP sockets have no connection to lose: they stay)."""
        for sock in list(self.table.sockets.values()):
            if sock.service not in (Service.UDP, Service.UDP_SERVICE):
                self.table.release(sock, force=True)

    # -- AT+QIRD ----------------------------------------------------------------------------------
    @command("+QIRD", TEST)
    def qird_test(self) -> Replies:
        ids = self.table.ids
        return Info.of("+QIRD", f"({ids.start}-{ids.stop - 1})",
                       f"(0-{self.config.get('read_max', 1500)})")

    @command("+QIRD", WRITE)
    def qird(self, sid: Any, length: Any = None) -> Replies:
        self._start()
        sock = self._socket(sid)
        limit = self.config.get("read_max", 1500)
        size = limit if length is None else _int(length)
        if size is None or size > limit:
            raise self.fail("invalid_param")
        if sock.service is Service.LISTENER or sock.online:
            raise self.fail("not_allowed")
        if size == 0 and length is not None:
            return Info.of("+QIRD", sock.rx_total, sock.rx_read, sock.unread)
        if sock.service is Service.UDP_SERVICE:
            item = sock.read_datagram()
            if item is None:
                return Info.of("+QIRD", 0)
            return self._read_reply(sock, item[0], item[1])
        data = sock.read(size)
        if not data:
            return Info.of("+QIRD", 0)
        return self._read_reply(sock, data, None)

    def _read_reply(self, sock: Socket, data: bytes, source: Endpoint | None) -> Replies:
        recv = self.config.get("recv", {})
        fields: list[Any] = [len(data)]
        if recv.get("read_remaining"):
            fields.append(sock.unread)
        fields += self._remote_fields(sock, source)
        if source is not None and recv.get("service_trailing_comma"):
            fields.append(None)
        return self._with_payload(Info.of("+QIRD", *fields), data)

    # -- received data, as this family shows it (SocketEvents) -------------------------------------
    def _remote_fields(self, sock: Socket, source: Endpoint | None) -> list[Any]:
        if source is not None:
            return [Quoted(source[0]), source[1]]
        if self.options.get("showRA"):
            return [Quoted(sock.host), sock.port]
        return []

    def _show_length(self) -> bool:
        return bool(self.options.get("recvind") or self.options.get("showlength"))

    def _encode(self, data: bytes) -> bytes:
        return binascii.hexlify(data).upper() if self.options.get("dataformat", 1) else data

    def _with_payload(self, header: Info, data: bytes, trailer: bytes = b"") -> Replies:
        """Data after the header line, or on it (view mode 1 / the NB-IoT quoted style)."""
        body = self._encode(data)
        inline = self.config.get("recv", {}).get("inline", "")
        if self.options.get("viewmode") == 1 and not inline:
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
        self.m.urc(Info.of("+QIURC", *fields))

    def push(self, sock: Socket, data: bytes, source: Endpoint | None) -> None:
        fields: list[Any] = [Quoted("recv"), sock.id]
        if not self.options.has("showlength") or self.options.get("showlength"):
            fields.append(len(data))
        fields += self._remote_fields(sock, source)
        trailer = self.config.get("recv", {}).get("trailer", "").encode("latin-1")
        reply = self._with_payload(Info.of("+QIURC", *fields), data, trailer)
        if isinstance(reply, list):
            header, payload = reply
            assert isinstance(header, Info) and isinstance(payload, Data)
            self.m.urc(header, payload)
        else:
            assert isinstance(reply, Info)
            self.m.urc(reply)

    def closed(self, sock: Socket) -> None:
        self.m.urc(Info.of("+QIURC", Quoted("closed"), sock.id))
        if not sock.unread:
            self.emptied(sock)

    def emptied(self, sock: Socket) -> None:
        if self.options.get("passiveclosed") == 1 and sock.state is State.CLOSING:
            self.table.release(sock)

    def incoming(self, listener: Socket, sock: Socket) -> None:
        self.m.urc(Info.of("+QIURC", Quoted("incoming"), sock.id, listener.id,
                           Quoted(sock.host), sock.port))

    def incoming_full(self, listener: Socket) -> None:
        self.m.urc(Info.of("+QIURC", Quoted("incoming full")))

    def packet(self) -> tuple[int, float]:
        return (self.options.get("transpktsize", default=1024),
                self.options.get("transwaittm", default=2) * 0.1)

    # -- access modes -----------------------------------------------------------------------------
    @command("+QISWTMD", TEST)
    def qiswtmd_test(self) -> Replies:
        return Info.of("+QISWTMD", f"({self.table.ids.start}-{self.table.ids.stop - 1})",
                       "(0-2)")

    @command("+QISWTMD", WRITE)
    def qiswtmd(self, sid: Any, mode: Any) -> Replies:
        self._start()
        sock = self._socket(sid)
        access = _int(mode)
        if access not in (0, 1, 2):
            raise self.fail("invalid_param")
        if sock.online or sock.service is Service.LISTENER:
            raise self.fail("not_allowed")
        if access == Access.TRANSPARENT:
            if sock.service is Service.UDP_SERVICE or sock.state is not State.CONNECTED:
                raise self.fail("not_allowed")
            return online(sock)
        sock.switch(Access(access))
        return None

    @command("O", EXEC, WRITE)
    def ato(self, value: int = 0) -> Replies:
        """ATO: back to the socket that was last in transparent mode, if it is still up."""
        sock = self.table.last_online
        if value != 0 or sock is None or sock.state is not State.CONNECTED or sock.online:
            return NO_CARRIER
        return online(sock)

    # -- what the far end does (control surface) -----------------------------------------------
    def close_by_peer(self, sid: int) -> None:
        """The peer closes connection `sid` (FIN): as when the real host peer does."""
        self._peer_ends(sid, None)

    def reset_by_peer(self, sid: int) -> None:
        """The peer resets connection `sid` (RST)."""
        self._peer_ends(sid, ConnectionResetError("reset by peer"))

    def _peer_ends(self, sid: int, error: OSError | None) -> None:
        sock = self.table.get(sid)
        if sock is None or sock.state is not State.CONNECTED or sock.service not in (
                Service.TCP, Service.INCOMING):
            raise LookupError(f"no connected TCP socket {sid}")
        link = sock.link
        if isinstance(link, TcpConnection) and error:
            link.abort()  # the host peer sees the same end
        elif isinstance(link, TcpConnection):
            link.close()
        sock.link = None
        sock.peer_closed(error)

    def snapshot(self) -> dict[str, Any]:
        return {str(sid): {"service": str(s.service), "state": int(s.state),
                           "access": int(s.access), "host": s.host, "port": s.port,
                           "local": list(s.local()), "unread": s.unread,
                           "rx_total": s.rx_total, "tx_total": s.tx_total,
                           "dropped": s.dropped}
                for sid, s in sorted(self.table.sockets.items())}


def _int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, Bare) and value.isdigit():
        return int(value)
    return None


def _service(value: Any) -> Service | None:
    if not isinstance(value, str) or isinstance(value, Bare):
        return None
    return next((s for s in Service if s.value == value.upper() and s is not Service.INCOMING),
                None)
