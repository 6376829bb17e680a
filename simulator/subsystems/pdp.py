"""PDP contexts as Quectel's TCP/IP stack sees them: AT+QICSGP (saved across reboots), AT+QIACT /
AT+QIDEACT (blocking, with the network's response times), and a context the network takes away
(+QIURC: "pdpdeact"). They are the packet domain's contexts (AT+CGDCONT / AT+CGACT act on the
same ones, addresses come from the network); this subsystem adds the TCP/IP stack's view:
which contexts it activated, the credentials, and its sockets' fate.

`Bearer` is what the socket machinery needs from whatever carries IP; PdpContexts is the
cellular one, StaticLink an always-up link with a fixed address (a Wi-Fi module on its LAN).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import READ, TEST, WRITE, command
from simulator.at.replies import Info, Quoted, Replies
from simulator.profile import Duration
from simulator.subsystems.base import Subsystem
from simulator.subsystems.packet import Packet
from simulator.subsystems.qi_errors import QiSubsystem
from simulator.world.network import Reg

PDP_TYPES = {1: "IP", 2: "IPV6", 3: "IPV4V6"}  # <context_type> of AT+QICSGP


class Bearer(Subsystem, ABC):
    """Something that gives the module an IP address on a context."""

    def __init__(self, module: Any):
        super().__init__(module)
        self._lost: list[Callable[[int, bool], None]] = []

    @abstractmethod
    def address(self, cid: int) -> str | None:
        """The module's address on context `cid`, or None while the context is not up."""

    @abstractmethod
    def contexts(self) -> range:
        """The context IDs commands may name."""

    @property
    def default(self) -> int:
        """The context used by commands that name none."""
        return self.contexts().start

    def on_lost(self, listener: Callable[[int, bool], None]) -> None:
        """`listener(cid, by_network)` runs when a context goes away: taken by the network
        (its sockets die) or deactivated by the host (its sockets are freed)."""
        self._lost.append(listener)

    def _context_lost(self, cid: int, by_network: bool) -> None:
        for listener in list(self._lost):
            listener(cid, by_network)


class StaticLink(Bearer):
    name = "static_link"
    section = "static_link"
    schema: Any = {"address": str}

    def address(self, cid: int) -> str | None:
        return self.config.get("address", "192.168.1.100")

    def contexts(self) -> range:
        return range(0, 1)

    def snapshot(self) -> dict[str, Any]:
        return {"address": self.address(0)}


@dataclass
class Context:
    """One context's AT+QICSGP settings (saved) and whether the TCP/IP stack holds it."""

    type: int = 1
    apn: str = ""
    user: str = ""
    password: str = ""
    auth: int = 0
    active: bool = False
    broken: bool = False  # the network deactivated it; the host must AT+QIDEACT

    def saved(self) -> dict[str, Any]:
        return {"type": self.type, "apn": self.apn, "user": self.user,
                "password": self.password, "auth": self.auth}


class PdpContexts(Bearer, QiSubsystem):
    name = "pdp"
    section = "pdp"
    schema: Any = {
        "contexts": [int],  # [first, last] context ID
        "max_active": int,
        "activate_time": Duration,  # how long AT+QIACT blocks
        "deactivate_time": Duration,
        "always_on": [int],  # contexts the stack uses as soon as the attach brings them up
        "deact_on_detach": bool,  # losing registration takes contexts away ("pdpdeact")
        "types": [int],  # accepted <context_type> values
        "max_credential": int,  # longest user name / password
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.table: dict[int, Context] = {}
        module.network.subscribe(self._network_changed)

    @cached_property  # subsystems live as long as the module
    def packet(self) -> Packet:
        return self.m.get(Packet)

    def contexts(self) -> range:
        first, last = self.config.get("contexts", [1, 15])
        return range(first, last + 1)

    def reset(self) -> None:
        saved = self.m.store.load("qicsgp", {})
        self.table = {cid: Context(**saved.get(str(cid), {})) for cid in self.contexts()}

    def _up(self, cid: int) -> bool:
        ctx = self.table.get(cid)
        return ctx is not None and (ctx.active or cid in self.config.get("always_on", []))

    def address(self, cid: int) -> str | None:
        pdp = self.packet.contexts.get(cid)
        if not self._up(cid) or pdp is None or not pdp.active:
            return None
        return pdp.ipv4 or pdp.ipv6

    def _save(self) -> None:
        self.m.store.save("qicsgp", {str(cid): c.saved() for cid, c in self.table.items()})

    def _context(self, cid: int) -> Context:
        ctx = self.table.get(cid)
        if ctx is None:
            raise self.fail("invalid_param")
        return ctx

    # -- the network --------------------------------------------------------------------------
    def _network_changed(self, state: Reg) -> None:
        if state.registered:
            return
        for cid in self.config.get("always_on", []):
            self._context_lost(cid, True)  # the default PDN goes quietly with the attach
        if self.config.get("deact_on_detach", True):
            for cid, ctx in self.table.items():
                if ctx.active:
                    self._taken(cid)

    def deactivate_by_network(self, cid: int) -> None:
        """The network tears the context down (control surface): +QIURC: "pdpdeact",<cid>
        when the TCP/IP stack held it, +CGEV as the packet domain reports it."""
        pdp = self.packet.contexts.get(cid)
        ctx = self.table.get(cid)
        if (pdp is None or not pdp.active) and (ctx is None or not ctx.active):
            raise LookupError(f"PDP context {cid} is not active")
        if pdp is not None and pdp.active:
            self.packet.deactivate_by_network(cid)
        if ctx is not None and ctx.active:
            self._taken(cid)

    def _taken(self, cid: int) -> None:
        ctx = self.table[cid]
        ctx.active, ctx.broken = False, True
        self.m.log.emit("pdp-deactivated-by-network", cid=cid)
        self._context_lost(cid, True)
        self.m.urc(Info.of("+QIURC", Quoted("pdpdeact"), cid))

    # -- AT+QICSGP ------------------------------------------------------------------------------
    @command("+QICSGP", TEST)
    def qicsgp_test(self) -> Replies:
        first, last = self.contexts().start, self.contexts().stop - 1
        types = self.config.get("types", [1, 2, 3])
        return Info.of("+QICSGP", f"({first}-{last})", f"({min(types)}-{max(types)})",
                       "<APN>", "<username>", "<password>", "(0-3)", "(0,1)")

    @command("+QICSGP", WRITE)
    def qicsgp(self, cid: int, type: int | None = None, apn: str | None = None,
               *rest: Any) -> Replies:
        self.errors.succeed()
        ctx = self._context(cid)
        if type is None:
            if apn is not None or rest:
                raise self.fail("invalid_param")
            return Info.of("+QICSGP", ctx.type, Quoted(ctx.apn), Quoted(ctx.user),
                           Quoted(ctx.password), ctx.auth)
        if type not in self.config.get("types", [1, 2, 3]) or apn is None or isinstance(apn, Bare):
            raise self.fail("invalid_param")  # the APN is a quoted string
        user, password, auth = _credentials(list(rest))
        if user is None or auth not in range(4) or max(len(user), len(password)) > \
                self.config.get("max_credential", 127):
            raise self.fail("invalid_param")
        ctx.type, ctx.apn, ctx.user, ctx.password, ctx.auth = type, apn, user, password, auth
        self._save()
        self.packet.define(cid, PDP_TYPES[type], apn)  # what AT+CGDCONT shows
        return None

    # -- AT+QIACT / AT+QIDEACT --------------------------------------------------------------------
    @command("+QIACT", TEST)
    def qiact_test(self) -> Replies:
        return Info.of("+QIACT", f"({self.contexts().start}-{self.contexts().stop - 1})")

    @command("+QIACT", READ)
    def qiact_read(self) -> Replies:
        self.errors.succeed()
        return [Info.of("+QIACT", cid, 1, ctx.type, Quoted(self.address(cid) or ""))
                for cid, ctx in sorted(self.table.items()) if ctx.active]

    @command("+QIACT", WRITE)
    async def qiact(self, cid: int) -> Replies:
        self.errors.succeed()
        ctx = self._context(cid)
        if ctx.active:
            raise self.fail("not_allowed")
        if sum(c.active for c in self.table.values()) >= self.config.get("max_active", 3):
            raise self.fail("pdp_open")
        if not self.m.network.state.registered:
            raise self.fail("pdp_open")
        await self.m.clock.sleep(Duration.parse(self.config.get("activate_time", "0.5s")))
        if not self.m.network.state.registered:
            raise self.fail("pdp_open")  # coverage went while the network was asked
        self.packet.bring_up(cid, PDP_TYPES.get(ctx.type, "IP"), ctx.apn)
        ctx.active, ctx.broken = True, False
        self.m.log.emit("pdp-activated", cid=cid, address=self.address(cid))
        return None

    @command("+QIDEACT", TEST)
    def qideact_test(self) -> Replies:
        return Info.of("+QIDEACT", f"({self.contexts().start}-{self.contexts().stop - 1})")

    @command("+QIDEACT", WRITE)
    async def qideact(self, cid: int) -> Replies:
        self.errors.succeed()
        ctx = self._context(cid)
        was_up = ctx.active or ctx.broken
        ctx.active, ctx.broken = False, False
        self._context_lost(cid, False)  # every socket of the context goes
        if was_up:
            await self.m.clock.sleep(Duration.parse(self.config.get("deactivate_time", "0.3s")))
            self.packet.take_down(cid)
        return None

    def snapshot(self) -> dict[str, Any]:
        return {str(cid): {**ctx.saved(), "active": ctx.active, "broken": ctx.broken,
                           "address": self.address(cid)}
                for cid, ctx in self.table.items()}


def _credentials(rest: list[Any]) -> tuple[str | None, str, int]:
    """The optional tail of AT+QICSGP: [<user>,<password>][,<auth>[,<cdma_pwd>]].

    A quoted value is a credential and a bare number the authentication, which reads the
    document's own `AT+QICSGP=1,1,"UNINET","",1` (password left out) as user "" and PAP.
    """
    if len(rest) > 4:
        return None, "", 0
    words = [r for r in rest if not _is_number(r)]
    numbers = [r for r in rest if _is_number(r)]
    if rest[:len(words)] != words or len(words) > 2 or len(numbers) > 2:
        return None, "", 0
    user = words[0] if words else ""
    password = words[1] if len(words) > 1 else ""
    auth = int(numbers[0]) if numbers else 0
    if len(numbers) > 1 and int(numbers[1]) not in (0, 1):
        return None, "", 0
    return user, password, auth


def _is_number(value: Any) -> bool:
    return isinstance(value, Bare) and value.isdigit()
