"""Reaching a remote service the way the module does: find where the host really is (a route
by name, else name resolution and a route for the address), connect, and do the TLS
handshake under the name the module dialled (SNI, certificate check).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from simulator.world.internet import ResolveError

Endpoint = tuple[str, int]


class DialError(Exception):
    """`reason`: "dns", "connect", "tls", "timeout"."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


async def locate(module: Any, host: str, port: int) -> Endpoint:
    """The host endpoint behind a remote one the module names; DialError("dns")."""
    internet = module.internet
    routed = internet.routes.lookup(host, port)
    if routed:
        return routed
    try:
        address = (await internet.resolve(host))[0]
    except ResolveError as exc:
        raise DialError("dns", str(exc)) from None
    return internet.routes.resolve(address, port)


async def dial(module: Any, host: str, port: int, tls: ssl.SSLContext | None = None,
               server_hostname: str | None = None,
               ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stream to `host:port` as the module names it; DialError on failure."""
    target = await locate(module, host, port)
    try:
        reader, writer = await asyncio.open_connection(*target)
    except OSError as exc:
        raise DialError("connect", str(exc)) from None
    if tls is None:
        return reader, writer
    try:
        await writer.start_tls(tls, server_hostname=server_hostname)
    except (ssl.SSLError, ssl.CertificateError, ConnectionError, OSError) as exc:
        writer.close()
        raise DialError("tls", str(exc)) from None
    return reader, writer
