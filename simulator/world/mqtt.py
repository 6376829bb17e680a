"""One MQTT client's session with a real broker, spoken by paho-mqtt over the module's own
network connection.

The module opens the network connection itself (AT+QMTOPEN: routes, DNS, TCP, TLS; see
dial.py), and MQTT starts later (AT+QMTCONN). paho makes its own socket, so it is given a
private UNIX socket (an abstract address, nothing on disk) whose other end is spliced to
that connection. paho then does what it is good at, unchanged: CONNECT, keepalive pings,
will, clean or persistent sessions, QoS 1 and 2 flows, MQTT 3.1, 3.1.1 and 5. It runs on
this event loop through its socket callbacks (no thread); its housekeeping is called every
`tick` host seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

PROTOCOLS = {"3.1": MQTTProtocolVersion.MQTTv31, "3.1.1": MQTTProtocolVersion.MQTTv311,
             "5": MQTTProtocolVersion.MQTTv5}
# paho reports an MQTT 3.1.1 CONNACK refusal as its MQTT 5 reason code; the module prints the
# 3.1.1 return code (1 protocol, 2 identifier, 3 server unavailable, 4 credentials, 5 auth)
_V3_REFUSALS = {132: 1, 133: 2, 136: 3, 134: 4, 135: 5}
_KEEPALIVE_TIMEOUT = 141  # paho's reason when PINGRESP did not come back
_ids = itertools.count(1)


class SessionEvents(Protocol):
    def message(self, mid: int, topic: str, payload: bytes, qos: int, retain: bool) -> None: ...

    def lost(self, reason: str) -> None:
        """The link broke: "closed" (by the server or the network) or "keepalive"."""
        ...


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


class Session:
    def __init__(self, events: SessionEvents, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, call_every: Callable[[Callable[[], None]], Any]):
        self.events = events
        self._reader, self._writer = reader, writer
        self._call_every = call_every
        self._loop = asyncio.get_running_loop()
        self._client: paho.Client | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: list[asyncio.Task] = []
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._connack: asyncio.Future[int] | None = None
        self._ticker: Any = None
        self._paho_end: asyncio.StreamWriter | None = None
        self._closing = False
        self.closed = False
        self._tasks.append(self._loop.create_task(self._watch_network()))

    # -- the network connection alone (before and after MQTT) --------------------------------
    async def _watch_network(self) -> None:
        """Before MQTT runs, notice the server closing the bare connection."""
        with contextlib.suppress(ConnectionError, OSError):
            while self._client is None:
                data = await self._reader.read(4096)
                if not data:
                    self._broken("closed")
                    return
                # a server talking before CONNECT is not MQTT: drop what it says

    # -- MQTT --------------------------------------------------------------------------------
    async def connect(self, client_id: str, username: str | None, password: str | None,
                      protocol: str, keepalive: int, clean: bool, will: Will | None) -> int:
        """CONNECT and wait for CONNACK: the return code (0 accepted, 1-5 refused)."""
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        address = f"\0modemsim-mqtt-{os.getpid()}-{next(_ids)}"
        self._server = await asyncio.start_unix_server(self._splice, path=address)
        version = PROTOCOLS[protocol]
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=version, transport="unix",
                             clean_session=clean if version != PROTOCOLS["5"] else None)
        self._client = client
        client.on_socket_open = lambda c, u, sock: self._loop.add_reader(sock, c.loop_read)
        client.on_socket_close = lambda c, u, sock: self._forget(sock)
        client.on_socket_register_write = lambda c, u, sock: self._loop.add_writer(
            sock, c.loop_write)
        client.on_socket_unregister_write = lambda c, u, sock: self._loop.remove_writer(sock)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_ack
        client.on_unsubscribe = self._on_ack
        client.on_publish = self._on_publish
        if username is not None:
            client.username_pw_set(username, password)
        if will is not None:
            client.will_set(will.topic, will.payload, will.qos, will.retain)
        self._connack = self._loop.create_future()
        client.connect(address, 1883, keepalive=keepalive,
                       clean_start=clean if version == PROTOCOLS["5"]
                       else paho.MQTT_CLEAN_START_FIRST_ONLY)
        self._ticker = self._call_every(self._tick)
        return await self._connack

    def _splice(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """paho's end of the private socket meets the module's network connection."""
        self._paho_end = writer
        self._tasks += [self._loop.create_task(self._pump(reader, self._writer)),
                        self._loop.create_task(self._pump(self._reader, writer))]

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        # the end of the network connection reaches paho after what came before it (a
        # refused CONNACK, say); paho's disconnect callback then reports the break
        with contextlib.suppress(Exception):
            sink.close()

    def _forget(self, sock: Any) -> None:
        with contextlib.suppress(Exception):
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    def _tick(self) -> None:
        if self._client is not None and not self.closed:
            self._client.loop_misc()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: ReasonCode,
                    properties: Any) -> None:
        code = reason.value
        if client.protocol != PROTOCOLS["5"]:
            code = _V3_REFUSALS.get(code, 0 if code == 0 else 5)
        if self._connack and not self._connack.done():
            self._connack.set_result(code)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: ReasonCode,
                       properties: Any) -> None:
        if self._closing:
            return
        self._broken("keepalive" if reason.value == _KEEPALIVE_TIMEOUT else "closed")

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        self.events.message(message.mid, message.topic, bytes(message.payload), message.qos,
                            bool(message.retain))

    def _on_ack(self, client: Any, userdata: Any, mid: int, reasons: list[ReasonCode],
                properties: Any) -> None:
        waiter = self._waiting.pop(mid, None)
        if waiter and not waiter.done():
            waiter.set_result([r.value for r in reasons])

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any,
                    properties: Any) -> None:
        waiter = self._waiting.pop(mid, None)
        if waiter and not waiter.done():
            waiter.set_result(None)

    def _expect(self, rc: MQTTErrorCode, mid: int | None) -> asyncio.Future[Any]:
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise ConnectionError(f"MQTT: {rc}")
        waiter = self._loop.create_future()
        self._waiting[mid] = waiter
        return waiter

    def subscribe(self, topics: list[tuple[str, int]]) -> asyncio.Future[list[int]]:
        """SUBSCRIBE; the future gives the granted QoS per topic (128: refused)."""
        assert self._client is not None
        rc, mid = self._client.subscribe(topics)
        return self._expect(rc, mid)

    def unsubscribe(self, topics: list[str]) -> asyncio.Future[Any]:
        assert self._client is not None
        rc, mid = self._client.unsubscribe(topics)
        return self._expect(rc, mid)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> asyncio.Future[Any]:
        """PUBLISH; the future completes when QoS 0 is sent, at PUBACK (1) or PUBCOMP (2)."""
        assert self._client is not None
        info = self._client.publish(topic, payload, qos, retain)
        waiter = self._expect(info.rc, info.mid)
        if info.is_published():
            self._waiting.pop(info.mid, None)
            waiter.set_result(None)
        return waiter

    # -- ending ------------------------------------------------------------------------------
    def _broken(self, reason: str) -> None:
        if self.closed or self._closing:
            return
        self.close()
        # after what is already on its way (a refused CONNACK's result, say)
        self._loop.call_soon(self.events.lost, reason)

    async def disconnect(self) -> None:
        """DISCONNECT (when MQTT runs), then close the network connection."""
        self._closing = True
        if self._client is not None and self._client.is_connected():
            self._client.disconnect()
            with contextlib.suppress(ConnectionError, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(self._writer.drain(), 1.0)
            await asyncio.sleep(0)
        self.close()

    def close(self) -> None:
        """Drop everything at once (a reboot, a broken link)."""
        if self.closed:
            return
        self._closing = True
        self.closed = True
        if self._ticker is not None:
            self._ticker.cancel()
        if self._paho_end is not None:
            self._paho_end.close()  # paho reads the end of its socket and lets it go
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            self._writer.close()
        if self._server is not None:
            self._server.close()
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("closed"))
        if self._connack and not self._connack.done():
            self._connack.set_exception(ConnectionError("closed"))
