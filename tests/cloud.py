"""What an IoT cloud's broker does beyond a plain mosquitto, for the document flows: Alibaba Cloud
subscribes every device to its system topics by itself (the device sends no SUBSCRIBE for its
post_reply topic). `AutoSubscribe` is a TCP front for the broker that does the same: once the
broker accepts a client's CONNECT it subscribes that connection to the given topics, and keeps
the SUBACK from the device, which never asked.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

CONNACK, SUBACK = 2, 9
PACKET_ID = 0xFFFE  # the cloud's own SUBSCRIBE; the module numbers its packets from 1


def subscribe_packet(topics: list[str], packet_id: int = PACKET_ID) -> bytes:
    """An MQTT 3.1.1 SUBSCRIBE for `topics` at QoS 0."""
    body = struct.pack("!H", packet_id) + b"".join(
        struct.pack("!H", len(t.encode())) + t.encode() + b"\x00" for t in topics)
    return b"\x82" + _length(len(body)) + body


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def split_packet(buffer: bytes) -> tuple[bytes, bytes] | None:
    """The first whole MQTT packet in `buffer` and the rest, or None while it is incomplete."""
    size, shift, i = 0, 0, 1
    while True:
        if i >= len(buffer):
            return None
        size |= (buffer[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not buffer[i - 1] & 0x80:
            break
    end = i + size
    return (buffer[:end], buffer[end:]) if len(buffer) >= end else None


class AutoSubscribe:
    """Listens on 127.0.0.1:`port`; each client is spliced to the broker on `upstream`."""

    def __init__(self, upstream: int, topics: list[str]):
        self.upstream, self.topics = upstream, topics
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.subscribed = threading.Event()  # a device got its topics
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                device, _ = self.listener.accept()
            except OSError:
                return
            broker = socket.create_connection(("127.0.0.1", self.upstream))
            self._sockets += [device, broker]
            threading.Thread(target=self._up, args=(device, broker), daemon=True).start()
            threading.Thread(target=self._down, args=(broker, device), daemon=True).start()

    @staticmethod
    def _up(device: socket.socket, broker: socket.socket) -> None:
        """Device to broker, as is."""
        with contextlib.suppress(OSError):
            while data := device.recv(65536):
                broker.sendall(data)
        _close(device, broker)

    def _down(self, broker: socket.socket, device: socket.socket) -> None:
        """Broker to device, packet by packet: after an accepting CONNACK the cloud's SUBSCRIBE
        goes up (before the device may send anything more), and its SUBACK stays here."""
        pending = b""
        with contextlib.suppress(OSError):
            while data := broker.recv(65536):
                pending += data
                out = b""
                while (found := split_packet(pending)) is not None:
                    packet, pending = found
                    kind = packet[0] >> 4
                    if kind == SUBACK and packet[2:4] == struct.pack("!H", PACKET_ID):
                        self.subscribed.set()
                        continue
                    if kind == CONNACK and packet[3] == 0:
                        broker.sendall(subscribe_packet(self.topics))
                    out += packet
                if out:
                    device.sendall(out)
        _close(device, broker)

    def close(self) -> None:
        self.listener.close()
        _close(*self._sockets)


def _close(*sockets: socket.socket) -> None:
    for s in sockets:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()
