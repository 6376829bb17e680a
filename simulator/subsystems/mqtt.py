"""MQTT clients (AT+QMTCFG / QMTOPEN / QMTCLOSE / QMTCONN / QMTDISC / QMTSUB / QMTUNS /
QMTPUB / QMTRECV): each client index is a real MQTT session with a real broker
(simulator.world.mqtt), with the module's answers: `OK` at once, the `+QMT...` result line
when the network or the broker has answered, `+QMTRECV` for what arrives, and
`+QMTSTAT: <client>,<code>` when the link breaks.

What differs per family is profile data: the keys and defaults of AT+QMTCFG, what the
"version" values mean, the +QMTOPEN result codes, the test responses, whether +QMTRECV
carries the payload length and quotes the payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from simulator.at.command import Arg, Raw
from simulator.at.dispatcher import READ, TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Prompt, Quoted, Replies
from simulator.lazy import lazy
from simulator.subsystems.base import Subsystem
from simulator.subsystems.keyed import KEY_SCHEMA, KeyTable, to_int, to_str
from simulator.subsystems.ssl_contexts import SslContexts
from simulator.subsystems.timing import within
from simulator.subsystems.uplink import carried, uplink
from simulator.world import aliyun
from simulator.world.dial import DialError, dial
from simulator.world.tls import TlsError, client_context, server_name

if TYPE_CHECKING:
    from simulator.world.mqtt import Session

world_mqtt = lazy("simulator.world.mqtt")  # paho-mqtt, loaded at the first AT+QMTOPEN


class State(IntEnum):
    """What AT+QMTCONN? reports (0: not opened, not listed)."""

    IDLE = 0
    INITIALIZING = 1  # the network connection is open
    CONNECTING = 2
    CONNECTED = 3
    DISCONNECTING = 4


@dataclass
class Message:
    mid: int
    topic: str
    payload: bytes


@dataclass
class Client:
    idx: int
    cfg: KeyTable
    host: str = ""
    port: int = 0
    state: State = State.IDLE
    opening: bool = False
    session: Session | None = None
    tasks: set[asyncio.Task] = field(default_factory=set)
    slots: list[Message | None] = field(default_factory=list)
    inflight: set[int] = field(default_factory=set)
    broken: str | None = None  # the link broke while CONNECT was on its way


class Mqtt(Subsystem):
    name = "mqtt"
    section = "mqtt"
    schema: Any = {
        "clients": int,
        "keys": KEY_SCHEMA,  # AT+QMTCFG keys, defaults and ranges
        "versions": {int: str},  # "version" value -> "3.1" | "3.1.1" | "5"
        "results": {str: int},  # +QMTOPEN results: ok, failed, occupied, network, dns, tls...
        "stat": {str: int},  # +QMTSTAT codes: closed, keepalive, connect_failed...
        "test": {str: [str]},  # test responses, verbatim, by command
        "recv_slots": int,
        "inflight": int,  # QoS > 0 publishes awaiting their ack
        "payload_limit": int,
        "recv_length": bool,  # +QMTRECV shows the length (when "recv/mode" has no switch)
        "quote_payload": bool,
        "aliauth": {"signmethod": str, "timestamp": str},  # "rtc": the module's clock
        "tick": float,  # host seconds between paho's housekeeping calls
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.clients: dict[int, Client] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        for client in self.clients.values():
            self._drop(client)
        self.clients = {i: self._new(i) for i in range(self.config.get("clients", 6))}

    def _new(self, idx: int) -> Client:
        slots: list[Message | None] = [None] * self.config.get("recv_slots", 5)
        return Client(idx, KeyTable(self.config.get("keys", {})), slots=slots)

    def snapshot(self) -> dict[str, Any]:
        return {str(i): {"state": c.state.name.lower(), "host": c.host, "port": c.port,
                         "config": c.cfg.values, "inflight": sorted(c.inflight),
                         "buffered": [s is not None for s in c.slots]}
                for i, c in self.clients.items()}

    def drop_broker(self, client: int) -> None:
        """The broker or the network breaks client `client`'s link (control: mqtt drop)."""
        found = self.clients.get(client)
        if not (found and found.session):
            raise LookupError(f"MQTT client {client} has no open broker link")
        self._lost(found, "closed")

    def drop_all(self) -> None:
        """Deep sleep: every connection is gone, without a word to the host."""
        for client in self.clients.values():
            self._drop(client)

    def _drop(self, client: Client) -> None:
        for task in list(client.tasks):
            task.cancel()
        if client.session:
            client.session.close()
        client.session, client.state, client.opening = None, State.IDLE, False
        client.inflight.clear()
        client.broken = None

    def _spawn(self, client: Client, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        client.tasks.add(task)
        task.add_done_callback(client.tasks.discard)

    def _client(self, idx: int) -> Client:
        client = self.clients.get(idx)
        if client is None:
            raise AtError("invalid_param")
        return client

    def _result(self, name: str) -> int:
        return self.config.get("results", {}).get(name, -1)

    def _test(self, name: str) -> Replies:
        return [Info.text(line) for line in self.config.get("test", {}).get(name, [])]

    # -- AT+QMTCFG -----------------------------------------------------------------------------
    @command("+QMTCFG", TEST)
    def qmtcfg_test(self) -> Replies:
        return self._test("+QMTCFG")

    @command("+QMTCFG", WRITE)
    def qmtcfg(self, key: str, idx: int, *values: Arg) -> Replies:
        client = self._client(idx)
        key = key.lower()
        if not client.cfg.knows(key):
            raise AtError("invalid_param")
        if not values:
            shown = client.cfg.get(key)
            if key == "will" and not shown[0]:
                shown = shown[:1]
            return Info.of("+QMTCFG", Quoted(key),
                           *(Quoted(v) if isinstance(v, str) else v for v in shown))
        if key == "will" and to_int(values[0]) == 1 and len(values) < 5:
            raise AtError("invalid_param")  # a will needs every field
        if key == "version" and values[0] is not None and \
                to_int(values[0]) not in self.config.get("versions", {}):
            raise AtError("invalid_param")
        client.cfg.set(key, list(values))
        return None

    def _setting(self, client: Client, key: str, index: int = 0, default: Any = 0) -> Any:
        if not client.cfg.knows(key):
            return default
        values = client.cfg.get(key)
        return values[index] if index < len(values) else default

    # -- AT+QMTOPEN / AT+QMTCLOSE --------------------------------------------------------------
    @command("+QMTOPEN", TEST)
    def qmtopen_test(self) -> Replies:
        return self._test("+QMTOPEN")

    @command("+QMTOPEN", READ)
    def qmtopen_read(self) -> Replies:
        return [Info.of("+QMTOPEN", c.idx, Quoted(c.host), c.port)
                for c in self.clients.values() if c.state is not State.IDLE]

    @command("+QMTOPEN", WRITE)
    def qmtopen(self, idx: int, host: str, port: int) -> Replies:
        client = self._client(idx)
        if not 0 < port < 65536 or not host or len(host) > 100:
            raise AtError("invalid_param")
        if client.state is not State.IDLE or client.opening:
            self.m.urc(Info.of("+QMTOPEN", idx, self._result("occupied")))
            return None
        client.opening = True
        self._spawn(client, self._open(client, host, port))
        return None

    async def _open(self, client: Client, host: str, port: int) -> None:
        try:
            await uplink(self.m)
            if not carried(self.m, self._setting(client, "pdpcid", 0, None)):
                self._open_failed(client, "network", "PDP context not active")
                return
            tls = None
            if self._setting(client, "ssl", 0):
                ssl = self.m.get(SslContexts)
                ctx_id, connect_id = self._setting(client, "ssl", 1), self._setting(
                    client, "ssl", 2)
                settings = ssl.settings(ctx_id, connect_id)
                tls = (client_context(settings), server_name(settings, host))
            reader, writer = await dial(self.m, host, port, *(tls or (None, None)))
        except TlsError as exc:
            self._open_failed(client, "tls", str(exc))
            return
        except DialError as exc:
            self._open_failed(client, {"dns": "dns", "tls": "tls"}.get(exc.reason, "network"),
                              str(exc))
            return
        finally:
            client.opening = False
        client.session = world_mqtt.Session(_Events(self, client), reader, writer, self._every)
        client.host, client.port, client.state = host, port, State.INITIALIZING
        self.m.log.emit("mqtt-open", client=client.idx, host=host, port=port)
        self.m.urc(Info.of("+QMTOPEN", client.idx, self._result("ok")))

    def _open_failed(self, client: Client, result: str, detail: str) -> None:
        self.m.log.emit("mqtt-open-failed", client=client.idx, error=detail)
        self.m.urc(Info.of("+QMTOPEN", client.idx, self._result(result)))

    def _every(self, tick: Callable[[], None]) -> Any:
        """paho's housekeeping, every `tick` host seconds (timers run in module time)."""
        interval = self.config.get("tick", 0.5) * self.m.clock.scale
        timer: Any = None

        def fire() -> None:
            nonlocal timer
            tick()
            timer = self.m.clock.call_later(interval, fire)

        timer = self.m.clock.call_later(interval, fire)

        class Handle:
            @staticmethod
            def cancel() -> None:
                timer.cancel()

        return Handle()

    @command("+QMTCLOSE", TEST)
    def qmtclose_test(self) -> Replies:
        return self._test("+QMTCLOSE")

    @command("+QMTCLOSE", WRITE)
    def qmtclose(self, idx: int) -> Replies:
        client = self._client(idx)
        if client.state is State.IDLE:
            if client.opening:  # closing an open in progress cancels it
                self._drop(client)
                self.m.urc(Info.of("+QMTCLOSE", idx, 0))
                return None
            raise AtError()
        self._spawn(client, self._end(client, "+QMTCLOSE"))
        return None

    async def _end(self, client: Client, prefix: str) -> None:
        client.state = State.DISCONNECTING
        session = client.session
        if session:
            await uplink(self.m)  # DISCONNECT and the FIN go out over the radio
            await session.disconnect()
        client.session, client.state = None, State.IDLE
        client.inflight.clear()
        self.m.urc(Info.of(prefix, client.idx, 0))

    # -- AT+QMTCONN / AT+QMTDISC ----------------------------------------------------------------
    @command("+QMTCONN", TEST)
    def qmtconn_test(self) -> Replies:
        return self._test("+QMTCONN")

    @command("+QMTCONN", READ)
    def qmtconn_read(self) -> Replies:
        return [Info.of("+QMTCONN", c.idx, int(c.state))
                for c in self.clients.values() if c.state is not State.IDLE]

    @command("+QMTCONN", WRITE)
    def qmtconn(self, idx: int, client_id: str, username: str | None = None,
                password: str | None = None) -> Replies:
        client = self._client(idx)
        if client.state is not State.INITIALIZING or client.session is None:
            raise AtError()
        if not client_id:
            raise AtError("invalid_param")
        client.state = State.CONNECTING
        self._spawn(client, self._connect(client, client_id, username, password))
        return None

    def _credentials(self, client: Client, client_id: str, username: str | None,
                     password: str | None) -> tuple[str, str | None, str | None]:
        if not client.cfg.knows("aliauth"):
            return client_id, username, password
        product, device, secret = client.cfg.get("aliauth")
        if not (product and device and secret):
            return client_id, username, password
        ali = self.config.get("aliauth", {})
        stamp = ali.get("timestamp", "")
        if stamp == "rtc":
            stamp = str(int(self.m.clock.wall().timestamp() * 1000))
        secure = 2 if self._setting(client, "ssl", 0) else 3
        signed = aliyun.sign(product, device, secret, client_id, stamp,
                             ali.get("signmethod", "hmacsha256"), secure)
        return signed.client_id, signed.username, signed.password

    async def _connect(self, client: Client, client_id: str, username: str | None,
                       password: str | None) -> None:
        assert client.session is not None
        client_id, username, password = self._credentials(client, client_id, username,
                                                          password)
        version = self.config.get("versions", {}).get(self._setting(client, "version", 0),
                                                      "3.1.1")
        will = None
        if self._setting(client, "will", 0):
            flag, qos, retain, topic, text = client.cfg.get("will")
            will = world_mqtt.Will(topic, text.encode("latin-1"), qos, bool(retain))
        timeout = self._setting(client, "timeout", 0, 5)
        try:
            await uplink(self.m)
            code: int | None = await within(self.m.clock, client.session.connect(
                client_id, username, password, version,
                self._setting(client, "keepalive", 0, 120),
                bool(self._setting(client, "session", 0, 1)), will), timeout)
        except TimeoutError:
            client.state = State.INITIALIZING
            self.m.urc(Info.of("+QMTCONN", client.idx, 2))
            return
        except ConnectionError:
            code = None  # the link broke before CONNACK
        if code is not None:
            client.state = State.CONNECTED if code == 0 else State.INITIALIZING
            self.m.log.emit("mqtt-connack", client=client.idx, code=code)
            self.m.urc(Info.of("+QMTCONN", client.idx, 0, code))
        if client.broken:  # a refused client is closed by the broker right after CONNACK
            reason, client.broken = client.broken, None
            client.state = State.INITIALIZING
            self._lost(client, reason)

    @command("+QMTDISC", TEST)
    def qmtdisc_test(self) -> Replies:
        return self._test("+QMTDISC")

    @command("+QMTDISC", WRITE)
    def qmtdisc(self, idx: int) -> Replies:
        client = self._client(idx)
        if client.state is State.IDLE:
            raise AtError()
        self._spawn(client, self._end(client, "+QMTDISC"))
        return None

    # -- AT+QMTSUB / AT+QMTUNS ------------------------------------------------------------------
    def _connected(self, idx: int) -> Client:
        client = self._client(idx)
        if client.state is not State.CONNECTED or client.session is None:
            raise AtError()
        return client

    @command("+QMTSUB", TEST)
    def qmtsub_test(self) -> Replies:
        return self._test("+QMTSUB")

    @command("+QMTSUB", WRITE)
    def qmtsub(self, idx: int, mid: int, *pairs: Arg) -> Replies:
        client = self._connected(idx)
        if not 1 <= mid <= 65535 or not pairs or len(pairs) % 2:
            raise AtError("invalid_param")
        topics = [(to_str(pairs[i]), to_int(pairs[i + 1])) for i in range(0, len(pairs), 2)]
        if any(not topic or qos not in (0, 1, 2) for topic, qos in topics):
            raise AtError("invalid_param")
        session = client.session
        assert session is not None
        self._spawn(client, self._acked(client, "+QMTSUB", mid,
                                        lambda: session.subscribe(topics)))
        return None

    @command("+QMTUNS", TEST)
    def qmtuns_test(self) -> Replies:
        return self._test("+QMTUNS")

    @command("+QMTUNS", WRITE)
    def qmtuns(self, idx: int, mid: int, *topics: Arg) -> Replies:
        client = self._connected(idx)
        if not 1 <= mid <= 65535 or not topics:
            raise AtError("invalid_param")
        session = client.session
        assert session is not None
        names = [to_str(t) for t in topics]
        self._spawn(client, self._acked(client, "+QMTUNS", mid,
                                        lambda: session.unsubscribe(names)))
        return None

    async def _acked(self, client: Client, prefix: str, mid: int,
                     request: Callable[[], asyncio.Future[Any]]) -> None:
        timeout, retries = (self._setting(client, "timeout", i, d) for i, d in ((0, 5), (1, 3)))
        try:
            await uplink(self.m)  # out of PSM first: the request goes out over the radio
            granted = await within(self.m.clock, request(), timeout * (retries + 1))
        except (TimeoutError, ConnectionError):
            self.m.urc(Info.of(prefix, client.idx, mid, 2))
            return
        if prefix == "+QMTSUB":
            self.m.urc(Info.of(prefix, client.idx, mid, 0, *granted))
        else:
            self.m.urc(Info.of(prefix, client.idx, mid, 0))

    # -- AT+QMTPUB ------------------------------------------------------------------------------
    @command("+QMTPUB", TEST)
    def qmtpub_test(self) -> Replies:
        return self._test("+QMTPUB")

    @command("+QMTPUB", WRITE)
    def qmtpub(self, idx: int, mid: int, qos: int, retain: int, topic: str,
               length: int | None = None, payload: str | None = None) -> Replies:
        client = self._connected(idx)
        limit = self.config.get("payload_limit", 2048)
        bad = (qos not in (0, 1, 2) or retain not in (0, 1) or not topic
               or (qos == 0 and mid != 0) or (qos > 0 and not 1 <= mid <= 65535)
               or (length is not None and not 0 < length <= limit))
        if bad:
            raise AtError("invalid_param")
        if qos > 0 and len(client.inflight) >= self.config.get("inflight", 5):
            raise AtError()  # the sliding window is full

        def send(data: bytes) -> Replies:
            body = self._encode(client, data)
            self._publish(client, mid, qos, retain, topic, body)
            return None

        if payload is not None:
            if length is None:
                raise AtError("invalid_param")
            return send(_inline(payload, length))
        return Prompt(send, length=length, on_cancel=lambda: None)

    def _encode(self, client: Client, data: bytes) -> bytes:
        if self._setting(client, "dataformat", 0):  # hex text in, bytes out
            try:
                return bytes.fromhex(data.decode("latin-1"))
            except ValueError:
                raise AtError("invalid_param") from None
        return data

    def _publish(self, client: Client, mid: int, qos: int, retain: int, topic: str,
                 body: bytes) -> None:
        session = client.session
        assert session is not None
        if session.closed or not _publishable(topic):
            raise AtError()
        if qos:
            client.inflight.add(mid)
        self._spawn(client, self._published(
            client, mid, lambda: session.publish(topic, body, qos, bool(retain))))

    async def _published(self, client: Client, mid: int,
                         request: Callable[[], asyncio.Future[Any]]) -> None:
        timeout, retries = (self._setting(client, "timeout", i, d) for i, d in ((0, 5), (1, 3)))
        try:
            await uplink(self.m)  # out of PSM first: OK, EXIT PSM, +CSCON: 1, then +QMTPUB
            await within(self.m.clock, request(), timeout * (retries + 1))
            result = 0
        except (TimeoutError, ConnectionError):
            result = 2
        finally:
            client.inflight.discard(mid)
        self.m.urc(Info.of("+QMTPUB", client.idx, mid, result))

    # -- receiving ----------------------------------------------------------------------------
    def received(self, client: Client, mid: int, topic: str, payload: bytes) -> None:
        if self._setting(client, "recv/mode", 0):
            free = next((i for i, s in enumerate(client.slots) if s is None), None)
            if free is None:
                self.m.log.emit("mqtt-recv-dropped", client=client.idx, topic=topic)
                return
            client.slots[free] = Message(mid, topic, payload)
            self.m.urc(Info.of("+QMTRECV", client.idx, free))
            return
        self.m.urc(self._recv_line(client, Message(mid, topic, payload)))

    def _recv_line(self, client: Client, message: Message) -> Info:
        shown = message.payload.hex().upper() if self._setting(client, "dataformat", 1) \
            else message.payload.decode("latin-1")
        text: str = Quoted(shown) if self.config.get("quote_payload", True) else shown
        values = client.cfg.get("recv/mode") if client.cfg.knows("recv/mode") else [0]
        with_length = values[1] if len(values) > 1 else self.config.get("recv_length", True)
        length = [len(message.payload)] if with_length else []
        return Info.of("+QMTRECV", client.idx, message.mid, Quoted(message.topic), *length, text)

    @command("+QMTRECV", TEST)
    def qmtrecv_test(self) -> Replies:
        return self._test("+QMTRECV")

    @command("+QMTRECV", READ)
    def qmtrecv_read(self) -> Replies:
        return [Info.of("+QMTRECV", c.idx, *(int(s is not None) for s in c.slots))
                for c in self.clients.values() if c.state is not State.IDLE]

    @command("+QMTRECV", WRITE)
    def qmtrecv(self, idx: int, slot: int | None = None) -> Replies:
        client = self._client(idx)
        wanted = range(len(client.slots)) if slot is None else [slot]
        if slot is not None and not 0 <= slot < len(client.slots):
            raise AtError("invalid_param")
        lines = []
        for i in wanted:
            message = client.slots[i]
            if message is not None:
                lines.append(self._recv_line(client, message))
                client.slots[i] = None
        return lines

    # -- the link breaking ----------------------------------------------------------------------
    def _lost(self, client: Client, reason: str) -> None:
        if client.session is None:
            return
        if client.state is State.CONNECTING:
            client.broken = reason  # reported after the +QMTCONN result
            return
        self._drop(client)
        self.m.log.emit("mqtt-lost", client=client.idx, reason=reason)
        self.m.urc(Info.of("+QMTSTAT", client.idx, self.config.get("stat", {}).get(reason, 1)))


class _Events:
    """What a session reports, routed to its client."""

    def __init__(self, mqtt: Mqtt, client: Client):
        self.mqtt, self.client = mqtt, client

    def message(self, mid: int, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        self.mqtt.received(self.client, mid, topic, payload)

    def lost(self, reason: str) -> None:
        self.mqtt._lost(self.client, reason)


def _inline(typed: str, length: int) -> bytes:
    """AT+QMTPUB's payload on the command line: the raw tail with its enclosing quotes taken
    off; the documents lose one of the two now and then, so the declared length decides."""
    data = typed.encode("latin-1")
    if not isinstance(typed, Raw):
        return data if len(data) == length else _wrong_length()
    candidates = [data[1:-1] if data[:1] == data[-1:] == b'"' and len(data) > 1 else None,
                  data, data[1:] if data[:1] == b'"' else None,
                  data[:-1] if data[-1:] == b'"' else None]
    for candidate in candidates:
        if candidate is not None and len(candidate) == length:
            return candidate
    return _wrong_length()


def _wrong_length() -> bytes:
    raise AtError("invalid_param")


def _publishable(topic: str) -> bool:
    """A topic a PUBLISH may name: no wildcards, at most 65535 bytes of UTF-8."""
    return "+" not in topic and "#" not in topic and len(topic.encode()) <= 65535

