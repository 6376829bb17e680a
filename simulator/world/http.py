"""HTTP(S) requests as the module makes them: httpx over httpcore, with a network backend
that sends every connection where the module's routes say (dial.locate) while the Host
header, the SNI and the certificate check keep the name the module was given.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from simulator.world.dial import DialError, locate


class _Stream(httpcore.AsyncNetworkStream):
    """A connection whose TLS hello names the server only when the module sends SNI."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, sni: bool):
        self.inner, self.sni = inner, sni

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return await self.inner.start_tls(ssl_context, server_hostname if self.sni else None,
                                          timeout)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _RoutedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, module: Any, sni: bool):
        self.module, self.sni = module, sni
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        try:
            target_host, target_port = await locate(self.module, host, port)
        except DialError as exc:
            raise httpcore.ConnectError(f"dns: {exc}") from None
        return _Stream(await self.inner.connect_tcp(target_host, target_port, timeout,
                                                    local_address, socket_options), self.sni)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


_ERRORS: list[tuple[type[Exception], type[httpx.TransportError]]] = [
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError), (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
]


@contextlib.contextmanager
def _as_httpx() -> Iterator[None]:
    """httpcore's exceptions as httpx's (httpx's own transport does the same)."""
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        if isinstance(exc, httpcore.ProtocolError | httpcore.UnsupportedProtocol):
            raise httpx.TransportError(str(exc)) from exc
        raise


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: Any):
        self.stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx():
            async for part in self.stream:
                yield part

    async def aclose(self) -> None:
        await self.stream.aclose()


class RoutedTransport(httpx.AsyncBaseTransport):
    """One connection pool per request set-up, TLS as the module's SSL context says (`sni`:
    whether its hello names the server)."""

    def __init__(self, module: Any, tls: ssl.SSLContext | None, sni: bool = True):
        self.pool = httpcore.AsyncConnectionPool(ssl_context=tls, max_connections=1,
                                                 network_backend=_RoutedBackend(module, sni))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions)
        with _as_httpx():
            response = await self.pool.handle_async_request(core)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_Body(response.stream), extensions=response.extensions)

    async def aclose(self) -> None:
        await self.pool.aclose()


def failure(exc: Exception) -> str:
    """What went wrong, in the module's terms: dns, connect, tls, timeout, closed, unknown."""
    text = str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        if text.startswith("dns:"):
            return "dns"
        if "SSL" in text or "CERTIFICATE" in text.upper() or "TLS" in text:
            return "tls"
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "closed"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    return "unknown"
