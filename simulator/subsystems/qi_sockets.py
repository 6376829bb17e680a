"""Quectel TCP/IP sockets (AT+QIOPEN, AT+QICLOSE, AT+QISTATE, AT+QISEND, AT+QISENDEX, AT+QIRD,
AT+QISWTMD, ATO) over the family-neutral socket table, and the +QIURC lines they cause.

The EC200 (LTE), BC660K (NB-IoT) and FCM360W (Wi-Fi) drive the same machinery; what differs is
profile data in the `qi` section: whether commands carry a <contextID>, the ID ranges, the
fields of a +QISTATE row, how received data is shown, the prompt, and a few two-step results
(BC660K prints OK and then SEND OK / CLOSE OK). This subsystem owns the socket table; the
FCM360W's AT+QSSL* commands (ssl_sockets.py) open sockets in it too.
"""

from __future__ import annotations

import binascii
from collections.abc import Awaitable
from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, command
from simulator.at.replies import NO_CARRIER, Info, Quoted, Replies, online
from simulator.profile import Duration
from simulator.subsystems.socket_commands import (
    SCHEMA,
    SEND_FAIL,
    SEND_OK,
    SocketCommands,
    to_int,
)
from simulator.subsystems.socket_table import (
    Access,
    Service,
    Socket,
    SocketTable,
    State,
)
from simulator.world.routes import Endpoint
from simulator.world.sockets import TcpConnection


class QiSockets(SocketCommands):
    name = "qi_sockets"
    section = "qi"
    schema: Any = {
        **SCHEMA,
        "connect_ids": [int],  # [first, last]
        "context_param": bool,  # QIOPEN (and QPING, QIDNSGIP) start with a <contextID>
        "hex_max": int,  # hex digits per AT+QISENDEX
        "send_buffer": int,  # bytes not yet acknowledged by the peer before SEND FAIL
        "recv_buffer": int,  # unread bytes a socket holds before the peer is held back
        "push_chunk": int,  # bytes per direct-push URC
        "send_inline": bool,  # BC660K: AT+QISEND=<id>,<len>,"<data>" without a prompt
        "send_rai": bool,  # BC660K: AT+QISEND=<id>,<len>,"<data>",<RAI> (0-2)
        "state_by_id": bool,  # AT+QISTATE=<id> (FCM360W) rather than =<type>,<cid|id>
        "listen_host": str,  # host address servers bind to when no route names one
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
        self._watching = False

    def _address(self, cid: int) -> str | None:
        return self.bearer.address(cid)

    def reset(self) -> None:
        super().reset()
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

    # -- AT+QIOPEN --------------------------------------------------------------------------------
    @command("+QIOPEN", TEST)
    def qiopen_test(self) -> Replies:
        head = []
        if self.config.get("context_param", True):
            contexts = self.bearer.contexts()
            head.append(f"({contexts.start}-{contexts.stop - 1})")
        return Info.of("+QIOPEN", *head, self._range(),
                       Quoted("TCP/UDP/TCP LISTENER/UDP SERVICE"),
                       Quoted("<IP_address>/<domain_name>"), "<remote_port>", "<local_port>",
                       "(0-2)")

    @command("+QIOPEN", WRITE)
    def qiopen(self, *args: Any) -> Replies | Awaitable[Replies]:
        self._start()
        fields = list(args)
        if self.config.get("context_param", True):
            cid = to_int(fields.pop(0)) if fields else None
            if cid is None or cid not in self.bearer.contexts():
                raise self.fail("invalid_param")
        else:
            cid = self.bearer.default
        if not 4 <= len(fields) <= 6:
            raise self.fail("invalid_param")
        sid = self._id(fields[0])
        service = _service(fields[1])
        host = fields[2]
        port = to_int(fields[3])
        local_port = to_int(fields[4]) if len(fields) > 4 and fields[4] is not None else 0
        access = to_int(fields[5]) if len(fields) > 5 and fields[5] is not None else 0
        if (service is None or not isinstance(host, str) or isinstance(host, Bare)
                or port is None or port > 65535 or local_port is None or local_port > 65535
                or access not in (0, 1, 2)):
            raise self.fail("invalid_param")
        server = service in (Service.LISTENER, Service.UDP_SERVICE)
        if server and (local_port == 0 or access == Access.TRANSPARENT):
            raise self.fail("invalid_param")
        sock = self._reserve(sid, service, cid, host, 0 if server else port, local_port,
                             Access(access))
        return self._open(sock)

    # -- AT+QICLOSE -------------------------------------------------------------------------------
    @command("+QICLOSE", TEST)
    def qiclose_test(self) -> Replies:
        return self._close_test()

    @command("+QICLOSE", WRITE)
    async def qiclose(self, sid: Any, timeout: Any = None) -> Replies:
        return await self._close_command(sid, timeout)

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
        return self._rows_of(first, second)

    # -- AT+QISEND / AT+QISENDEX ------------------------------------------------------------------
    @command("+QISEND", TEST)
    def qisend_test(self) -> Replies:
        return Info.of("+QISEND", self._range(), f"(0-{self.config.get('send_max', 1460)})")

    @command("+QISEND", WRITE)
    def qisend(self, sid: Any, length: Any = None, *rest: Any) -> Replies:
        self._start()
        sock = self._socket(sid)
        size = None if length is None else to_int(length)
        if length is not None and size is None:
            raise self.fail("invalid_param")
        if size == 0 and not rest:
            return self._send_counters(sock)
        to: Endpoint | None = None
        inline: str | None = None
        rai = 0
        if self._inline_rai(sock, rest):
            inline, rai = rest[0], to_int(rest[1])
            if rai not in (0, 1, 2):
                raise self.fail("invalid_param")
        elif len(rest) == 2:
            ip, port = rest[0], to_int(rest[1])
            if sock.service is not Service.UDP_SERVICE or not isinstance(ip, str) or port is None:
                raise self.fail("invalid_param")
            to = (ip, port)
        elif len(rest) == 1 and self.config.get("send_inline") and isinstance(rest[0], str):
            inline = rest[0]
        elif rest:
            raise self.fail("invalid_param")
        self._check_sendable(sock, to)
        self._check_length(size)
        if inline is not None:
            payload = inline.encode("latin-1")
            if len(payload) != size:
                raise self.fail("invalid_param")
            return self._deliver(sock, payload, to, rai)
        return self._prompt(sock, size, to)

    def _inline_rai(self, sock: Socket, rest: tuple[Any, ...]) -> bool:
        """AT+QISEND=<id>,<len>,"<data>",<RAI> (rather than a UDP service's <ip>,<port>)."""
        return (len(rest) == 2 and bool(self.config.get("send_rai"))
                and sock.service is not Service.UDP_SERVICE and isinstance(rest[0], str)
                and not isinstance(rest[0], Bare))

    def _send_counters(self, sock: Socket) -> Replies:
        if sock.service is Service.LISTENER:
            raise self.fail("not_allowed")
        unacked = sock.unacked()
        return Info.of("+QISEND", sock.tx_total, sock.tx_total - unacked, unacked)

    @command("+QISENDEX", TEST)
    def qisendex_test(self) -> Replies:
        return Info.of("+QISENDEX", self._range(), "<hex_string>")

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

    def drop_all(self) -> None:
        """Deep sleep: every TCP connection and listener is gone, without a word to the host
        (UDP sockets have no connection to lose: they stay)."""
        for sock in list(self.table.sockets.values()):
            if sock.service not in (Service.UDP, Service.UDP_SERVICE):
                self.table.release(sock, force=True)

    # -- AT+QIRD ----------------------------------------------------------------------------------
    @command("+QIRD", TEST)
    def qird_test(self) -> Replies:
        return Info.of("+QIRD", self._range(), f"(0-{self.config.get('read_max', 1500)})")

    @command("+QIRD", WRITE)
    def qird(self, sid: Any, length: Any = None) -> Replies:
        self._start()
        sock = self._socket(sid)
        limit = self.config.get("read_max", 1500)
        size = limit if length is None else to_int(length)
        if size is None or size > limit:
            raise self.fail("invalid_param")
        self._check_readable(sock)
        if size == 0 and length is not None:
            return Info.of("+QIRD", sock.rx_total, sock.rx_read, sock.unread)
        return self._read(sock, size)

    # -- access modes -----------------------------------------------------------------------------
    @command("+QISWTMD", TEST)
    def qiswtmd_test(self) -> Replies:
        return Info.of("+QISWTMD", self._range(), "(0-2)")

    @command("+QISWTMD", WRITE)
    def qiswtmd(self, sid: Any, mode: Any) -> Replies:
        self._start()
        sock = self._socket(sid)
        access = to_int(mode)
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
        """ATO: back to the socket that was last in transparent mode, if it is still up,
        whichever command set opened it (a plain or an SSL socket)."""
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
                for sid, s in sorted(self.table.sockets.items()) if s.events is self}


def _service(value: Any) -> Service | None:
    if not isinstance(value, str) or isinstance(value, Bare):
        return None
    return next((s for s in Service if s.value == value.upper() and s is not Service.INCOMING),
                None)
