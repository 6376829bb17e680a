"""The internet as the module sees it through its radio: the route table, name resolution (a
hosts table in the profile, then the host's resolver), and what a ping finds (reachability from
the host's own routing, round-trip times from the radio model).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
from dataclasses import dataclass
from typing import Any

from simulator.profile import Duration, ProfileError
from simulator.world.routes import Route, RouteTable, parse_route

SCHEMA: Any = {
    "routes": [str],  # REMOTE=LOCAL, as `modemsim run --route`
    "hosts": {str: [str]},  # name -> addresses, answered before the host resolver is asked
    "resolver": str,  # "host": the host's resolver after the table; "table": the table only
    "dns_ttl": int,  # the TTL a lookup reports (+QIURC: "dnsgip",0,<n>,<ttl>)
    "ping": {"rtt": Duration, "jitter": Duration, "ttl": int},
    "unreachable": [str],  # addresses or networks no packet reaches (CIDR)
}


class ResolveError(Exception):
    pass


@dataclass(frozen=True)
class Echo:
    """One answered ping."""

    address: str
    rtt: float  # module seconds
    ttl: int


class Internet:
    def __init__(self, config: dict[str, Any], rng: random.Random, routes: list[str] = ()):
        self.config = config
        self.rng = rng
        # command-line routes first: they override the profile's
        self.routes = RouteTable([*map(parse_route, routes), *_profile_routes(config)])
        self.hosts = {name.lower(): list(addrs) for name, addrs in config.get("hosts", {}).items()}
        self.unreachable = [ipaddress.ip_network(net, strict=False)
                            for net in config.get("unreachable", [])]

    @property
    def dns_ttl(self) -> int:
        return self.config.get("dns_ttl", 600)

    async def resolve(self, name: str) -> list[str]:
        """The addresses of `name`, IPv4 first; ResolveError if there are none."""
        if _is_ip(name):
            return [name]
        table = self.hosts.get(name.lower())
        if table:
            return table
        if self.config.get("resolver", "host") != "host" or not name.strip():
            raise ResolveError(name)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise ResolveError(name) from exc
        found: list[str] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            for info in infos:
                address = str(info[4][0])
                if info[0] == family and address not in found:
                    found.append(address)
        if not found:
            raise ResolveError(name)
        return found

    def reachable(self, address: str) -> bool:
        """Whether packets to `address` get anywhere: not listed unreachable, and the host has
        a route to where it really goes (a UDP connect asks the kernel; nothing is sent)."""
        target = self.routes.host_route(address) or address
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if any(ip in net for net in self.unreachable if net.version == ip.version):
            return False
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((target, 9))
            except OSError:
                return False
        return True

    def echo(self, address: str) -> Echo:
        """A ping's answer from the radio model: configured base RTT plus seeded jitter."""
        ping = self.config.get("ping", {})
        rtt = Duration.parse(ping.get("rtt", "150ms"))
        jitter = Duration.parse(ping.get("jitter", "300ms"))
        return Echo(address, rtt + self.rng.uniform(0, jitter), ping.get("ttl", 255))


def _profile_routes(config: dict[str, Any]) -> list[Route]:
    try:
        return [parse_route(text) for text in config.get("routes", [])]
    except ValueError as exc:
        raise ProfileError(f"internet.routes: {exc}") from None


def _is_ip(text: str) -> bool:
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(text)
        return True
    return False
