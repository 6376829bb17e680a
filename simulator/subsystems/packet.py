"""The packet domain: GPRS/EPS attach (AT+CGATT), PDP context definitions (AT+CGDCONT, saved),
their activation and addresses (AT+CGACT, AT+CGPADDR), packet events (AT+CGEREP, +CGEV), the
NB-IoT default context (AT+QCGDEFCONT) and dial-up (ATD*99#).

On LTE and NB-IoT the default bearer comes up with the attach, so the profile's default
context is active as soon as the module is registered. Addresses come from the world network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulator.at.dispatcher import EXEC, READ, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import NO_CARRIER, Field, Info, Quoted, Replies
from simulator.profile import Duration
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms, text
from simulator.subsystems.registration import CGREG, Registration
from simulator.subsystems.sim import Sim
from simulator.world.network import Reg

PACKET_DIAL = re.compile(r"\*99(\*\*\*(\d+))?#", re.IGNORECASE)


@dataclass
class Pdp:
    cid: int
    type: str = "IP"
    apn: str = ""
    active: bool = False
    ipv4: str | None = None
    ipv6: str | None = None

    def addresses(self) -> list[str]:
        return [a for a in (self.ipv4, self.ipv6) if a] if self.active else []


class Packet(TestForms, Subsystem):
    name = "packet"
    section = "packet"
    schema: Any = {
        "cids": [int],  # the lowest and highest context id
        "types": [str],  # the PDP types AT+CGDCONT accepts
        "contexts": {int: {"type": str, "apn": str}},  # defined at the factory
        "default_cid": int,  # the context the attach activates (LTE, NB-IoT)
        "auto_attach": bool,  # attach GPRS as soon as the module registers
        "attach_time": Duration,
        "activate_time": Duration,
        "cgdcont_tail": [int],  # the fields after <PDP_addr> in the read form
        "inline_search_report": bool,  # CGATT=1 prints the searching +CGREG before its OK
        "strict_quotes": bool,
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.contexts: dict[int, Pdp] = {}
        self.attach_wanted = True
        self.cgerep = (0, 0)
        module.network.subscribe(self._on_network)

    def reset(self) -> None:
        self.attach_wanted = self.config.get("auto_attach", True)
        self.cgerep = (0, 0)
        self.contexts = {}
        saved = self.m.store.load("pdp", None)
        defined = saved if saved is not None else self.config.get("contexts", {})
        for cid, spec in defined.items():
            self.contexts[int(cid)] = Pdp(int(cid), spec.get("type", "IP"), spec.get("apn", ""))

    def _save(self) -> None:
        self.m.store.save("pdp", {str(c.cid): {"type": c.type, "apn": c.apn}
                                  for c in self.contexts.values()})

    def _text(self, value: str) -> str:
        return text(value, self.config.get("strict_quotes", False))

    @property
    def attached(self) -> bool:
        return self.attach_wanted and self.m.network.state.registered

    def _registration(self) -> Registration | None:
        return next((s for s in self.m.subsystems if isinstance(s, Registration)), None)

    def _refresh_reports(self) -> None:
        registration = self._registration()
        if registration:
            registration.refresh()

    # -- events -----------------------------------------------------------------------------
    def _event(self, event: str) -> None:
        if self.cgerep[0]:
            self.m.urc(Info.of("+CGEV", event))

    def _on_network(self, state: Reg) -> None:
        if not state.registered:
            for pdp in self.contexts.values():
                if pdp.active:
                    self._deactivate(pdp)
                    self._event(f"NW PDN DEACT {pdp.cid}")
        elif self.attach_wanted:
            self._activate_default()

    def _activate_default(self) -> None:
        cid = self.config.get("default_cid")
        if cid is None:
            return
        pdp = self.contexts.setdefault(cid, Pdp(cid, "IPV4V6"))
        if not pdp.active:
            self._activate(pdp)
            self._event(f"ME PDN ACT {cid}")

    def _activate(self, pdp: Pdp) -> None:
        net = self.m.network
        pdp.active = True
        pdp.ipv4 = net.allocate_ipv4() if pdp.type.upper() in ("IP", "IPV4V6", "PPP") else None
        pdp.ipv6 = net.allocate_ipv6() if pdp.type.upper() in ("IPV6", "IPV4V6") else None

    @staticmethod
    def _deactivate(pdp: Pdp) -> None:
        pdp.active, pdp.ipv4, pdp.ipv6 = False, None, None

    def deactivate_by_network(self, cid: int) -> None:
        """The network tears the context down (control surface: `pdp deactivate CID`)."""
        pdp = self.contexts.get(cid)
        if pdp is None or not pdp.active:
            raise LookupError(f"PDP context {cid} is not active")
        self._deactivate(pdp)
        self._event(f"NW PDN DEACT {cid}")

    # -- for the TCP/IP stack (AT+QICSGP / AT+QIACT act on these same contexts) -------------
    def define(self, cid: int, pdp_type: str, apn: str) -> None:
        """Define context `cid` as AT+CGDCONT does; an active one keeps its definition."""
        pdp = self.contexts.get(cid)
        if pdp is None or not pdp.active:
            self.contexts[cid] = Pdp(cid, pdp_type, apn)
            self._save()

    def bring_up(self, cid: int, pdp_type: str, apn: str) -> Pdp:
        """Activate context `cid` as AT+CGACT=1,<cid> does (defining it if need be)."""
        pdp = self.contexts.setdefault(cid, Pdp(cid, pdp_type, apn))
        if not pdp.active:
            self._activate(pdp)
            self._event(f"ME PDN ACT {cid}")
        return pdp

    def take_down(self, cid: int) -> None:
        """Deactivate context `cid` as AT+CGACT=0,<cid> does."""
        pdp = self.contexts.get(cid)
        if pdp is not None and pdp.active:
            self._deactivate(pdp)
            self._event(f"ME PDN DEACT {cid}")

    # -- AT+CGATT ---------------------------------------------------------------------------
    @command("+CGATT", READ)
    def cgatt_read(self) -> Replies:
        return Info.of("+CGATT", int(self.attached))

    @command("+CGATT", WRITE)
    async def cgatt_write(self, state: int) -> Replies:
        if state not in (0, 1):
            raise AtError("invalid_param")
        self.m.get(Sim).require_ready("+CGATT")
        if state == 0:
            was = self.attached
            self.attach_wanted = False
            for pdp in self.contexts.values():
                self._deactivate(pdp)
            self._refresh_reports()
            if was:
                self._event("ME DETACH")
            return None
        if self.attached:
            return None
        if not self.m.network.state.registered:
            raise AtError("no_network")
        lines: list[Info] = []
        registration = self._registration()
        if (self.config.get("inline_search_report") and registration
                and registration.n.get(CGREG)):
            lines.append(registration.line(CGREG, Reg.SEARCHING, located=True))
        await self.m.clock.sleep(Duration.parse(self.config.get("attach_time", "0.5s")))
        self.attach_wanted = True
        self._refresh_reports()
        self._activate_default()
        return lines or None

    # -- AT+CGDCONT -------------------------------------------------------------------------
    def _cid(self, cid: int) -> int:
        low, high = self.config.get("cids", [1, 15])
        if not low <= cid <= high:
            raise AtError("invalid_param")
        return cid

    @command("+CGDCONT", WRITE)
    def cgdcont_write(self, cid: int, pdp_type: str | None = None, apn: str | None = None,
                      *rest: Any) -> Replies:
        self._cid(cid)
        if pdp_type is None:
            pdp = self.contexts.pop(cid, None)  # "AT+CGDCONT=<cid>" undefines it
            if pdp and pdp.active:
                self.contexts[cid] = pdp
                raise AtError("not_allowed")
            self._save()
            return None
        kind = self._text(pdp_type).upper()
        allowed = {t.upper(): t for t in self.config.get("types", ["IP", "IPV6", "IPV4V6"])}
        if kind not in allowed or (apn is not None and len(self._text(apn)) > 99):
            raise AtError("invalid_param")
        old = self.contexts.get(cid)
        if old and old.active:
            raise AtError("not_allowed")
        self.contexts[cid] = Pdp(cid, allowed[kind], self._text(apn) if apn is not None else "")
        self._save()
        return None

    @command("+CGDCONT", READ)
    def cgdcont_read(self) -> Replies:
        tail = self.config.get("cgdcont_tail", [0, 0])
        return [Info.of("+CGDCONT", c.cid, Quoted(c.type), Quoted(c.apn), Quoted("0.0.0.0"), *tail)
                for c in sorted(self.contexts.values(), key=lambda c: c.cid)]

    # -- AT+CGACT / AT+CGPADDR --------------------------------------------------------------
    @command("+CGACT", WRITE)
    async def cgact_write(self, state: int, *cids: Any) -> Replies:
        if state not in (0, 1):
            raise AtError("invalid_param")
        chosen = [self._defined(c) for c in cids] if cids else list(self.contexts.values())
        if state == 0:
            for pdp in chosen:
                if pdp.active:
                    self._deactivate(pdp)
                    self._event(f"ME PDN DEACT {pdp.cid}")
            return None
        self.m.get(Sim).require_ready("+CGACT")
        if not self.m.network.state.registered:
            raise AtError("no_network")
        if not self.attach_wanted:
            self.attach_wanted = True
            self._refresh_reports()
        await self.m.clock.sleep(Duration.parse(self.config.get("activate_time", "0.5s")))
        for pdp in chosen:
            if not pdp.active:
                self._activate(pdp)
                self._event(f"ME PDN ACT {pdp.cid}")
        return None

    def _defined(self, cid: Any) -> Pdp:
        try:
            number = int(cid, 0) if isinstance(cid, str) else int(cid)
        except (TypeError, ValueError):  # an empty or non-numeric <cid>
            raise AtError("invalid_param") from None
        pdp = self.contexts.get(self._cid(number))
        if pdp is None:
            raise AtError("invalid_param")
        return pdp

    @command("+CGACT", READ)
    def cgact_read(self) -> Replies:
        return [Info.of("+CGACT", c.cid, int(c.active))
                for c in sorted(self.contexts.values(), key=lambda c: c.cid)]

    @command("+CGPADDR", WRITE, EXEC)
    def cgpaddr(self, *cids: Any) -> Replies:
        chosen = ([self._defined(c) for c in cids] if cids
                  else sorted(self.contexts.values(), key=lambda c: c.cid))
        lines = []
        for pdp in chosen:
            fields: list[Field] = [pdp.cid, *(Quoted(a) for a in pdp.addresses())]
            lines.append(Info.of("+CGPADDR", *fields))
        return lines

    # -- AT+CGEREP --------------------------------------------------------------------------
    @command("+CGEREP", WRITE)
    def cgerep_write(self, mode: int, bfr: int = 0) -> Replies:
        if mode not in (0, 1, 2) or bfr not in (0, 1):
            raise AtError("invalid_param")
        self.cgerep = (mode, bfr)
        return None

    @command("+CGEREP", READ)
    def cgerep_read(self) -> Replies:
        return Info.of("+CGEREP", *self.cgerep)

    # -- AT+QCGDEFCONT (NB-IoT: the context the attach uses) -------------------------------
    @command("+QCGDEFCONT", WRITE)
    def qcgdefcont_write(self, pdp_type: str, apn: str = "", user: str = "", password: str = "",
                         auth: int = 0) -> Replies:
        kind = pdp_type.upper()
        allowed = {t.upper(): t for t in self.config.get("types", ["IP", "IPV6", "IPV4V6"])}
        if kind not in allowed or len(apn) > 99 or auth not in (0, 1, 2):
            raise AtError("invalid_param")
        cid = self.config.get("default_cid", 0)
        old = self.contexts.get(cid, Pdp(cid))
        self.contexts[cid] = Pdp(cid, allowed[kind], apn, old.active, old.ipv4, old.ipv6)
        self.m.store.save("qcgdefcont", {"user": user, "password": password, "auth": auth})
        self._save()
        return None

    @command("+QCGDEFCONT", READ)
    def qcgdefcont_read(self) -> Replies:
        cid = self.config.get("default_cid", 0)
        pdp = self.contexts.get(cid, Pdp(cid, "IPV4V6"))
        auth = self.m.store.load("qcgdefcont", {})
        return Info.of("+QCGDEFCONT", Quoted(pdp.type), Quoted(pdp.apn),
                       Quoted(auth.get("user", "")), Quoted(auth.get("password", "")))

    # -- dial-up ----------------------------------------------------------------------------
    @command("D", WRITE)
    def dial(self, number: str) -> Replies:
        """PPP is not simulated: answer as a module whose data call fails, and say why."""
        packet = PACKET_DIAL.fullmatch(number.strip().rstrip(";"))
        if packet:
            self.m.log.emit("dial", number=number, result="NO CARRIER",
                            reason="dial-up PPP is not simulated (no PPP peer on this host)")
        else:
            self.m.log.emit("dial", number=number, result="NO CARRIER",
                            reason="voice and CSD calls are not simulated")
        return NO_CARRIER

    def snapshot(self) -> dict[str, Any]:
        return {"attached": self.attached, "cgerep": list(self.cgerep),
                "contexts": {c.cid: {"type": c.type, "apn": c.apn, "active": c.active,
                                     "addresses": c.addresses()}
                             for c in self.contexts.values()}}
