"""Network services of the Quectel TCP/IP stack: DNS (AT+QIDNSCFG, AT+QIDNSGIP), ping
(AT+QPING) and time (AT+QNTP). They answer OK at once and report through URCs, like the module.

Names resolve through the world's hosts table, then the host's resolver; a ping's reachability
and round-trip time come from the world model; AT+QNTP asks a real SNTP server (routes apply)
and sets the module's clock, which AT+CCLK reads.
"""

from __future__ import annotations

import asyncio
import ipaddress
import statistics
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from simulator.at.command import Bare, Kind
from simulator.at.dispatcher import READ, TEST, WRITE, command
from simulator.at.replies import Info, Quoted, Replies
from simulator.profile import Duration
from simulator.subsystems.pdp import Bearer
from simulator.subsystems.qi_errors import QiSubsystem
from simulator.subsystems.rtc import Rtc
from simulator.subsystems.timing import within
from simulator.subsystems.uplink import release_assistance, uplink
from simulator.world import sntp
from simulator.world.internet import ResolveError


class QiServices(QiSubsystem):
    name = "qi_services"
    section = "qi_services"
    schema: Any = {
        "context_param": bool,  # the commands start with a <contextID> (cellular)
        "dns_servers": [str],  # what a context starts with (from the network)
        "dns_timeout": Duration,
        "ping": {
            "timeout": int,  # default seconds per echo request
            "timeouts": [int],  # [min, max]
            "count": int,  # default number of requests
            "counts": [int],
            "size": int,  # bytes per request
            "size_param": bool,  # BC660K: ...,<pingnum>[,<size>[,<RAI>]]
            "quote_ip": bool,  # the reply lines quote the address (BC660K does not)
        },
        "ntp": {
            "port": int,
            "timeout": Duration,
            "urc": str,  # the URC prefix (the EC200 document spells it +QNTTP)
            "aliases": [str],  # other spellings accepted for AT+QNTP
        },
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.dns: dict[int, list[str]] = {}
        self._pinging = False
        self._resolving = False
        self._ntp: tuple[str, int] | None = None
        self._tasks: set[asyncio.Task] = set()

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._pinging = self._resolving = False
        self._ntp = None
        servers = self.config.get("dns_servers", ["114.114.114.114", "8.8.8.8"])
        self.dns = {cid: list(servers) for cid in self.bearer.contexts()}

    @cached_property  # subsystems live as long as the module
    def bearer(self) -> Bearer:
        return self.m.get(Bearer)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _split_context(self, args: tuple[Any, ...]) -> tuple[int, list[Any]]:
        """The <contextID> (or the bearer's default) and the rest; it must be up."""
        fields = list(args)
        if self.config.get("context_param", True):
            cid = _int(fields.pop(0)) if fields else None
            if cid is None or cid not in self.bearer.contexts():
                raise self.fail("invalid_param")
        else:
            cid = self.bearer.default
        return cid, fields

    def _require_up(self, cid: int) -> None:
        if self.bearer.address(cid) is None:
            raise self.fail("not_allowed")

    def _range_text(self) -> list[str]:
        if not self.config.get("context_param", True):
            return []
        contexts = self.bearer.contexts()
        return [f"({contexts.start}-{contexts.stop - 1})"]

    # -- DNS --------------------------------------------------------------------------------------
    @command("+QIDNSCFG", WRITE)
    def qidnscfg(self, *args: Any) -> Replies:
        self.errors.succeed()
        cid, fields = self._split_context(args)
        if not fields:
            if not self.config.get("context_param", True):
                raise self.fail("invalid_param")
            return Info.of("+QIDNSCFG", cid, *(Quoted(s) for s in self._servers(cid)))
        if len(fields) > 2 or not all(_address(f) for f in fields if f is not None):
            raise self.fail("invalid_param")
        current = self._servers(cid)
        self.dns[cid] = [str(f) if f is not None else current[i] for i, f in enumerate(fields)] \
            + current[len(fields):]
        return None

    @command("+QIDNSCFG", READ)
    def qidnscfg_read(self) -> Replies:
        self.errors.succeed()
        return Info.of("+QIDNSCFG", *(Quoted(s) for s in self._servers(self.bearer.default)))

    def _servers(self, cid: int) -> list[str]:
        return (self.dns.get(cid) or ["", ""]) + [""] * (2 - len(self.dns.get(cid, [])))

    @command("+QIDNSGIP", TEST)
    def qidnsgip_test(self) -> Replies:
        return Info.of("+QIDNSGIP", *self._range_text(), "<hostname>")

    @command("+QIDNSGIP", WRITE)
    def qidnsgip(self, *args: Any) -> Replies:
        self.errors.succeed()
        cid, fields = self._split_context(args)
        if len(fields) != 1 or not _quoted(fields[0]) or not fields[0]:
            raise self.fail("invalid_param")
        self._require_up(cid)
        if self._resolving:
            raise self.fail("dns_busy")
        self._resolving = True
        self._spawn(self._lookup(fields[0]))
        return None

    async def _lookup(self, name: str) -> None:
        try:
            await uplink(self.m)
            addresses = await within(self.m.clock, self.m.internet.resolve(name),
                                     Duration.parse(self.config.get("dns_timeout", "60s")))
        except (ResolveError, TimeoutError):
            self.m.urc(Info.of("+QIURC", Quoted("dnsgip"), self.errors.code("dns_failed")))
            return
        finally:
            self._resolving = False
        self.m.urc(Info.of("+QIURC", Quoted("dnsgip"), 0, len(addresses),
                           self.m.internet.dns_ttl))
        for address in addresses:
            self.m.urc(Info.of("+QIURC", Quoted("dnsgip"), Quoted(address)))

    # -- ping -------------------------------------------------------------------------------------
    @command("+QPING", TEST)
    def qping_test(self) -> Replies:
        cfg = self.config.get("ping", {})
        low, high = cfg.get("timeouts", [1, 255])
        first, last = cfg.get("counts", [1, 10])
        return Info.of("+QPING", *self._range_text(), "<host>", f"({low}-{high})",
                       f"({first}-{last})")

    @command("+QPING", WRITE)
    def qping(self, *args: Any) -> Replies:
        self.errors.succeed()
        cfg = self.config.get("ping", {})
        cid, fields = self._split_context(args)
        most = 5 if cfg.get("size_param") else 3
        if not 1 <= len(fields) <= most or not _quoted(fields[0]) or not fields[0]:
            raise self.fail("invalid_param")
        numbers = [_int(f) if f is not None else None for f in fields[1:]]
        if any(n is None for n, f in zip(numbers, fields[1:], strict=True) if f is not None):
            raise self.fail("invalid_param")
        timeout, count, size, rai = [*numbers, None, None, None, None][:4]
        timeout = cfg.get("timeout", 4) if timeout is None else timeout
        count = cfg.get("count", 4) if count is None else count
        size = cfg.get("size", 32) if size is None else size
        low, high = cfg.get("timeouts", [1, 255])
        first, last = cfg.get("counts", [1, 10])
        if not low <= timeout <= high or not first <= count <= last or not 0 < size <= 1500:
            raise self.fail("invalid_param")
        if rai not in (None, 0, 1):
            raise self.fail("invalid_param")
        self._require_up(cid)
        if self._pinging:
            raise self.fail("busy")
        self._pinging = True
        self._spawn(self._ping(fields[0], timeout, count, size, rai or 0))
        return None

    async def _ping(self, host: str, timeout: int, count: int, size: int, rai: int = 0) -> None:
        """The echo requests go out once the radio is up (out of PSM first); with <RAI> the
        network releases the connection after the last reply."""
        try:
            await uplink(self.m)
            try:
                address = (await within(self.m.clock, self.m.internet.resolve(host),
                                        Duration.parse(self.config.get("dns_timeout", "60s"))))[0]
            except (ResolveError, TimeoutError):
                self.m.urc(Info.of("+QPING", self.errors.code("dns_failed")))
                return
            times: list[int] = []
            quote = self.config.get("ping", {}).get("quote_ip", True)
            for _ in range(count):
                echo = self.m.internet.echo(address)
                if not self.m.internet.reachable(address) or echo.rtt > timeout:
                    await self.m.clock.sleep(timeout)
                    self.m.urc(Info.of("+QPING", self.errors.code("timeout")))
                    continue
                await self.m.clock.sleep(echo.rtt)
                millis = round(echo.rtt * 1000)
                times.append(millis)
                self.m.urc(Info.of("+QPING", 0, Quoted(address) if quote else address, size,
                                   millis, echo.ttl))
            summary = (min(times), max(times), int(statistics.fmean(times))) if times else (0,) * 3
            self.m.urc(Info.of("+QPING", 0, count, len(times), count - len(times), *summary))
            release_assistance(self.m, rai)
        finally:
            self._pinging = False

    # -- time -------------------------------------------------------------------------------------
    def data_handlers(self) -> list[tuple[str, Kind, Any]]:
        """Other spellings of AT+QNTP the profile accepts (the EC200 document's AT+QNTTP)."""
        handlers = [(Kind.WRITE, self.qntp), (Kind.READ, self.qntp_read),
                    (Kind.TEST, self.qntp_test)]
        return [(alias.upper(), kind, handler)
                for alias in self.config.get("ntp", {}).get("aliases", [])
                for kind, handler in handlers]

    def _ntp_prefix(self) -> str:
        return self.config.get("ntp", {}).get("urc", "+QNTP")

    @command("+QNTP", TEST)
    def qntp_test(self) -> Replies:
        return Info.of(self._ntp_prefix(), *self._range_text(), "<server>", "(1-65535)", "(0,1)")

    @command("+QNTP", READ)
    def qntp_read(self) -> Replies:
        if self._ntp is None:
            return None
        return Info.of(self._ntp_prefix(), Quoted(self._ntp[0]), self._ntp[1])

    @command("+QNTP", WRITE)
    def qntp(self, *args: Any) -> Replies:
        self.errors.succeed()
        cid, fields = self._split_context(args)
        if not 1 <= len(fields) <= 3 or not _quoted(fields[0]) or not fields[0]:
            raise self.fail("invalid_param")
        port = _int(fields[1]) if len(fields) > 1 and fields[1] is not None else \
            self.config.get("ntp", {}).get("port", 123)
        autoset = _int(fields[2]) if len(fields) > 2 and fields[2] is not None else 1
        if port is None or not 0 < port < 65536 or autoset not in (0, 1):
            raise self.fail("invalid_param")
        self._require_up(cid)
        if self._ntp is not None:
            raise self.fail("busy")
        self._ntp = (fields[0], port)
        self._spawn(self._sync(fields[0], port, bool(autoset)))
        return None

    async def _sync(self, server: str, port: int, autoset: bool) -> None:
        timeout = Duration.parse(self.config.get("ntp", {}).get("timeout", "125s"))
        try:
            try:
                address = (await within(self.m.clock, self.m.internet.resolve(server),
                                        timeout))[0]
            except (ResolveError, TimeoutError):
                self.m.urc(Info.of(self._ntp_prefix(), self.errors.code("dns_failed")))
                return
            target = self.m.internet.routes.resolve(address, port)
            try:
                when = await within(self.m.clock, sntp.query(target), timeout)
            except (sntp.SntpError, TimeoutError):
                self.m.urc(Info.of(self._ntp_prefix(), self.errors.code("timeout")))
                return
            if autoset:
                self.m.clock.set_wall(when)
                self.m.log.emit("rtc-set", source="ntp", utc=when.isoformat())
            self.m.urc(Info.of(self._ntp_prefix(), 0, Quoted(self._local_time(when))))
        finally:
            self._ntp = None

    def _local_time(self, utc: datetime) -> str:
        """The time in the module's zone (its RTC's, else the network's), as +QNTP prints it."""
        rtc = next((s for s in self.m.subsystems if isinstance(s, Rtc)), None)
        zone = rtc.zone if rtc is not None else self.m.network.zone
        local = utc + timedelta(minutes=15 * zone)
        return f"{local:%Y/%m/%d,%H:%M:%S}{zone:+03d}"

    def snapshot(self) -> dict[str, Any]:
        return {"dns": {str(cid): servers for cid, servers in self.dns.items()},
                "pinging": self._pinging, "ntp": list(self._ntp) if self._ntp else None}


def _int(value: Any) -> int | None:
    if isinstance(value, Bare) and value.isdigit():
        return int(value)
    return None


def _quoted(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, Bare)


def _address(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return _quoted(value)
