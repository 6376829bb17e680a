"""A minimal SNTP client (RFC 4330): one request, the server's transmit time back."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime, timedelta

from simulator.world.routes import Endpoint

NTP_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
_REQUEST = bytes([0x23]) + bytes(47)  # LI 0, version 4, mode 3 (client)


class SntpError(Exception):
    pass


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(SntpError(str(exc)))


async def query(server: Endpoint) -> datetime:
    """Ask `server` for the time; the caller bounds the wait. SntpError on a bad answer."""
    loop = asyncio.get_running_loop()
    try:
        transport, exchange = await loop.create_datagram_endpoint(_Exchange, remote_addr=server)
    except OSError as exc:
        raise SntpError(str(exc)) from exc
    try:
        transport.sendto(_REQUEST)
        return parse(await exchange.answer)
    finally:
        transport.close()


def parse(packet: bytes) -> datetime:
    if len(packet) < 48:
        raise SntpError("short packet")
    mode, stratum = packet[0] & 0x07, packet[1]
    if mode not in (4, 5) or stratum == 0:  # not a server answer, or a kiss-of-death
        raise SntpError(f"mode {mode} stratum {stratum}")
    seconds, fraction = struct.unpack("!II", packet[40:48])
    return NTP_EPOCH + timedelta(seconds=seconds + fraction / 2**32)
