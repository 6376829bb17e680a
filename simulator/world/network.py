"""The simulated radio network, as the module sees it: the operators it can hear (the scan
list), the cell it camps on, the signal, the registration outcome and the timers the network
grants. Registration runs on the clock; loss, recovery, denial, roaming and cell changes are
methods the control surface calls. Subsystems subscribe to changes and turn them into their
family's URCs.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

from simulator.clock import Clock, Timer
from simulator.profile import Duration
from simulator.world.nas_timers import T3324, T3412, TimerCode, edrx_code, is_bits


class Reg(IntEnum):
    """27.007 <stat> of +CREG / +CGREG / +CEREG."""

    NOT_SEARCHING = 0
    HOME = 1
    SEARCHING = 2
    DENIED = 3
    UNKNOWN = 4
    ROAMING = 5

    @property
    def registered(self) -> bool:
        return self in (Reg.HOME, Reg.ROAMING)


@dataclass
class Operator:
    long: str
    short: str
    numeric: str
    act: int = 7
    forbidden: bool = False

    def name(self, fmt: int) -> str:
        """The name in 27.007 <format>: 0 long, 1 short, 2 numeric."""
        return (self.long, self.short, self.numeric)[fmt]


@dataclass
class Cell:
    """The serving cell: location fields of +CREG/+CEREG and the radio fields of AT+QENG."""

    lac: str = "286F"
    tac: str = "286F"
    ci: str = "00000FCA"
    act: int = 7  # 27.007 <AcT>: 0 GSM, 3 GSM/EGPRS, 7 E-UTRAN, 9 NB-IoT
    earfcn: int = 1650
    earfcn_offset: int = 0
    pci: int = 123
    band: int = 3
    duplex: str = "FDD"
    bandwidth: int = 5  # LTE bandwidth index (5 = 20 MHz)
    ecl: int = 0  # NB-IoT coverage enhancement level
    tx_power: int = 9
    op_mode: int = 3  # NB-IoT operation mode (3 = in-band, different PCI)


@dataclass
class Signal:
    rssi: int = -65  # dBm
    rsrp: int = -85  # dBm
    rsrq: int = -8  # dB
    sinr: int = 14  # dB
    ber: int = 99  # 27.007 <ber>, 99 = unknown

    def csq(self) -> int:
        """27.007 <rssi> index: -113 dBm or less is 0, -51 dBm or more is 31."""
        return max(0, min(31, (self.rssi + 113) // 2))

    def rxlev(self) -> int:
        return max(0, min(63, self.rssi + 111))

    def rsrq_index(self) -> int:
        return max(0, min(34, int((self.rsrq + 19.5) * 2)))

    def rsrp_index(self) -> int:
        return max(0, min(97, self.rsrp + 141))


@dataclass
class Timers:
    """What the network granted for PSM (27.007 8-bit strings of T3324 and T3412), shown by
    +CEREG modes 4 and 5; None when the network granted no PSM. The power model fills these.
    """

    active_time: str | None = None
    periodic_tau: str | None = None


@dataclass
class Edrx:
    """What the network granted for eDRX (4-bit strings of the cycle and the paging window);
    None when eDRX is not in use."""

    cycle: str | None = None
    window: str | None = None


SCHEMA: Any = {
    "operator": {"long": str, "short": str, "numeric": str, "act": int},
    # the other operators a scan finds: COPS=? lists the camped one first, then these
    "neighbours": [{"long": str, "short": str, "numeric": str, "act": int, "forbidden": bool}],
    "roaming": bool,  # register as roaming (5) rather than home (1)
    "outcome": str,  # "register" | "deny" | "none": what a search ends in
    "reject_cause": int,  # EMM/MM cause reported with a denial (CREG=3, CEREG=5)
    "search_time": Duration,
    "scan_time": Duration,  # how long AT+COPS=? takes
    "cell": {f.name: (str if f.type == "str" else int) for f in fields(Cell)},
    "signal": {"rssi": int, "rsrp": int, "rsrq": int, "sinr": int, "ber": int},
    # what the network grants when the module asks for PSM: a GPRS Timer 2/3 bit string, a
    # duration ("1min"), or "requested" (the default): whatever the module asked for
    "timers": {"active_time": str, "periodic_tau": str},
    "t3412": Duration,  # the periodic TAU timer when the module does not ask for PSM
    # the eDRX grant: the cycle as bits, a duration, "requested" (the default) or "off"; the
    # paging time window as bits
    "edrx": {"cycle": str, "window": str},
    "inactivity": Duration,  # the network releases an RRC connection idle this long
    "rai_release": Duration,  # the release after a packet flagged with RAI
    "tau_release": Duration,  # the release after a TAU with nothing else to send
    "rrc_setup": Duration,  # bringing a connection up from idle or PSM
    # other cells (of other bands) a search may camp on when the band lock excludes `cell`
    "cells": [{f.name: (str if f.type == "str" else int) for f in fields(Cell)}],
    # the module's stored frequency list leads nowhere: every search fails until it is
    # cleared (AT+QCSEARFCN)
    "stale_frequencies": bool,
    "zone": int,  # the network's time zone in quarter hours (NITZ)
    "ipv4_pool": str,  # addresses the network hands out at PDP activation
    "ipv6_prefix": str,
}


class Network:
    def __init__(self, clock: Clock, config: dict[str, Any], rng: random.Random | None = None):
        self.clock = clock
        self.config = config
        self.rng = rng or random.Random(0)
        op = config.get("operator", {})
        self.home = Operator(op.get("long", "CHINA MOBILE"), op.get("short", "CMCC"),
                             op.get("numeric", "46000"), op.get("act", 7))
        self.operator = self.home
        self.neighbours = [Operator(**n) for n in config.get("neighbours", [])]
        self.cell = Cell(**config.get("cell", {}))
        self.signal = Signal(**config.get("signal", {}))
        self.timers = Timers()
        self.edrx = Edrx()
        self.cells = [self.cell] + [Cell(**c) for c in config.get("cells", [])]
        self.bands: list[int] | None = None  # the module's band lock; None: every band
        self.frequencies_stale: bool = config.get("stale_frequencies", False)
        self.zone: int = config.get("zone", 32)
        self.reject_cause: int = config.get("reject_cause", 15)
        self.state = Reg.NOT_SEARCHING
        self._listeners: list[Callable[[Reg], None]] = []
        self._search: Timer | None = None

    def subscribe(self, listener: Callable[[Reg], None]) -> None:
        self._listeners.append(listener)

    def _set(self, state: Reg) -> None:
        if state != self.state:
            self.state = state
            self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self.state)

    @property
    def search_time(self) -> float:
        return Duration.parse(self.config.get("search_time", "2s"))

    @property
    def scan_time(self) -> float:
        return Duration.parse(self.config.get("scan_time", "3s"))

    def _duration(self, key: str, default: str) -> float:
        return Duration.parse(self.config.get(key, default))

    @property
    def inactivity(self) -> float:
        return self._duration("inactivity", "20s")

    @property
    def rai_release(self) -> float:
        return self._duration("rai_release", "0.5s")

    @property
    def tau_release(self) -> float:
        return self._duration("tau_release", "1s")

    @property
    def rrc_setup(self) -> float:
        return self._duration("rrc_setup", "0.4s")

    @property
    def t3412(self) -> float:
        return self._duration("t3412", "54min")

    def scan(self) -> list[Operator]:
        """What a manual scan finds: the operator in use first, then the rest."""
        return [self.operator] + [op for op in [self.home, *self.neighbours]
                                  if op.numeric != self.operator.numeric]

    def find(self, name: str) -> Operator | None:
        return next((op for op in self.scan() if name in (op.long, op.short, op.numeric)), None)

    # -- what the module does ---------------------------------------------------------------
    def reset(self) -> None:
        """Power-on: off the network at once, with nobody told (the module is rebooting)."""
        self._cancel_search()
        self.state = Reg.NOT_SEARCHING
        self.operator = self.home
        self.timers, self.edrx = Timers(), Edrx()

    def search(self, operator: Operator | None = None) -> None:
        """Start searching (on `operator` if given); the outcome follows after the search time."""
        self._cancel_search()
        self.operator = operator or self.home
        self._set(Reg.SEARCHING)
        self._search = self.clock.call_later(self.search_time, self._outcome)

    def detach(self) -> None:
        """The module leaves the network (CFUN=0, SIM removed, COPS=2)."""
        self._cancel_search()
        self._set(Reg.NOT_SEARCHING)

    def _outcome(self) -> None:
        self._search = None
        cell = self._selectable()
        if cell is None or self.frequencies_stale:
            return  # nothing to camp on: the module keeps searching
        self.cell = cell
        outcome = self.config.get("outcome", "register")
        if outcome == "deny" or self.operator.forbidden:
            self._set(Reg.DENIED)
        elif outcome == "register":
            roaming = self.config.get("roaming", False) or self.operator is not self.home
            self._set(Reg.ROAMING if roaming else Reg.HOME)

    def _selectable(self) -> Cell | None:
        """The first cell in a band the module's band lock allows."""
        return next((c for c in self.cells if self.bands is None or c.band in self.bands), None)

    def lock_bands(self, bands: list[int] | None) -> None:
        """The module's band lock (AT+QBAND); None searches every band. The next search
        obeys it."""
        self.bands = bands

    def clear_frequencies(self) -> None:
        """The module forgot its stored frequencies (AT+QCSEARFCN): the next search scans."""
        self.frequencies_stale = False

    def _cancel_search(self) -> None:
        if self._search:
            self._search.cancel()
            self._search = None

    # -- what the network does (control surface) -------------------------------------------
    def register(self, roaming: bool = False) -> None:
        self._cancel_search()
        self._set(Reg.ROAMING if roaming else Reg.HOME)

    def deregister(self) -> None:
        """Coverage lost: the module keeps searching until `register` or a new search."""
        self._cancel_search()
        self._set(Reg.SEARCHING)

    def deny(self, cause: int | None = None) -> None:
        self._cancel_search()
        if cause is not None:
            self.reject_cause = cause
        self._set(Reg.DENIED)

    def move(self, **cell: Any) -> None:
        """A cell change (handover, new LAC/TAC): the location URCs follow."""
        for key, value in cell.items():
            setattr(self.cell, key, value)
        self._notify()

    # -- what the core network hands out ---------------------------------------------------
    def grant_psm(self, active_time: str | None, periodic_tau: str | None) -> Timers:
        """An attach or TAU asking for PSM with these timers (None: not asking): what the
        network grants, as +CEREG 4/5 will show it."""
        if active_time is None or periodic_tau is None:
            self.timers = Timers()
        else:
            self.timers = Timers(self._grant(T3324, "active_time", active_time),
                                 self._grant(T3412, "periodic_tau", periodic_tau))
        return self.timers

    def _grant(self, code: TimerCode, key: str, requested: str) -> str:
        policy = self.config.get("timers", {}).get(key, "requested")
        if policy == "requested":
            return requested
        return policy if is_bits(policy, 8) else code.encode(Duration.parse(policy))

    def grant_edrx(self, requested: str | None) -> Edrx:
        """An attach or TAU asking for eDRX with this cycle (None: not asking)."""
        policy = self.config.get("edrx", {})
        cycle = policy.get("cycle", "requested")
        if requested is None or cycle == "off":
            self.edrx = Edrx()
            return self.edrx
        if cycle == "requested":
            cycle = requested
        elif not is_bits(cycle, 4):
            cycle = edrx_code(Duration.parse(cycle))
        self.edrx = Edrx(cycle, policy.get("window", "0011"))
        return self.edrx

    def allocate_ipv4(self) -> str:
        pool = ipaddress.ip_network(self.config.get("ipv4_pool", "10.21.0.0/16"))
        return str(pool[self.rng.randrange(2, pool.num_addresses - 2)])

    def allocate_ipv6(self) -> str:
        """A global address in the network's /64, written as 27.007 modules print it."""
        prefix = self.config.get("ipv6_prefix", "2409:8d30:0114:0242")
        groups = [f"{self.rng.randrange(0x10000):04x}" for _ in range(4)]
        return ":".join([prefix, *groups])

