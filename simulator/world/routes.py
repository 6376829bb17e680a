"""The route table: where the module's remote endpoints really are on the host.

Firmware built for its production server dials `220.180.239.212:8009`; a route
`220.180.239.212:8009=127.0.0.1:9000` sends that connection to a local test server instead, so
the firmware runs unchanged. A route without ports (`example.com=127.0.0.1`) moves every port of
a host. Routes also work backwards: a datagram or a client coming from a route's local end is
shown to the module as coming from the route's remote end, as it would be in production.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

Endpoint = tuple[str, int]


@dataclass(frozen=True)
class Route:
    host: str  # as the module names it: an IP literal or a host name (matched case-insensitively)
    port: int | None  # None: every port
    to_host: str
    to_port: int | None  # None: the same port

    def __str__(self) -> str:
        left = self.host if self.port is None else f"{_bracket(self.host)}:{self.port}"
        right = self.to_host if self.to_port is None else f"{_bracket(self.to_host)}:{self.to_port}"
        return f"{left}={right}"


def parse_route(text: str) -> Route:
    """`HOST[:PORT]=HOST[:PORT]`; IPv6 hosts with a port go in brackets."""
    left, sep, right = text.partition("=")
    if not sep or not left.strip() or not right.strip():
        raise ValueError(f"expected REMOTE=LOCAL (HOST[:PORT]=HOST[:PORT]), got {text!r}")
    host, port = _endpoint(left.strip())
    to_host, to_port = _endpoint(right.strip())
    if port is None and to_port is not None:
        raise ValueError(f"{text!r}: a route for every port cannot end at one port")
    return Route(host.lower(), port, to_host, to_port)


def _endpoint(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, None  # a bare name, IPv4 address or unbracketed IPv6 address
    if port is None:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, int(port)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class RouteTable:
    def __init__(self, routes: list[Route] | None = None):
        self.routes: list[Route] = list(routes or [])

    def add(self, route: Route) -> None:
        self.routes.append(route)

    def lookup(self, host: str, port: int) -> Endpoint | None:
        """The host endpoint for a remote one, or None when no route covers it.

        A route for one port wins over a route for the whole host; among equals the first wins.
        """
        key = host.lower()
        best: Route | None = None
        for route in self.routes:
            if route.host != key or route.port not in (port, None):
                continue
            if best is None or (best.port is None and route.port is not None):
                best = route
        if best is None:
            return None
        return best.to_host, port if best.to_port is None else best.to_port

    def host_route(self, host: str) -> str | None:
        """Where a route for every port of `host` leads (what a ping reaches), if any."""
        key = host.lower()
        return next((r.to_host for r in self.routes if r.host == key and r.port is None), None)

    def resolve(self, host: str, port: int) -> Endpoint:
        return self.lookup(host, port) or (host, port)

    def reverse(self, host: str, port: int) -> Endpoint:
        """How the module sees a host endpoint: the remote end of the route that leads to it."""
        for route in self.routes:
            leads_here = route.to_port == port and _same(route.to_host, host)
            if leads_here and route.port is not None and _is_ip(route.host):
                return route.host, route.port
        return host, port


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _same(a: str, b: str) -> bool:
    if a.lower() == b.lower():
        return True
    try:
        left, right = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    if isinstance(right, ipaddress.IPv6Address) and right.ipv4_mapped:
        right = right.ipv4_mapped
    return left == right
