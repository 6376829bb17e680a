"""The simulated radio network, as the module sees it: the operator and cell it camps on, the
signal, and the registration outcome. Registration runs on the clock; loss, recovery, denial
and roaming are methods the control surface calls. Subsystems subscribe to state changes and
turn them into their family's URCs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from simulator.clock import Clock, Timer
from simulator.profile import Duration


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


@dataclass
class Signal:
    rssi: int = -65  # dBm
    rsrp: int = -85  # dBm
    rsrq: int = -8  # dB
    sinr: int = 14  # dB
    ber: int = 99  # 27.007 <ber>, 99 = unknown


SCHEMA: Any = {
    "operator": {"long": str, "short": str, "numeric": str},
    "roaming": bool,  # register as roaming (5) rather than home (1)
    "outcome": str,  # "register" | "deny" | "none": what a search ends in
    "search_time": Duration,
    "cell": {"lac": str, "tac": str, "ci": str, "act": int},
    "signal": {"rssi": int, "rsrp": int, "rsrq": int, "sinr": int, "ber": int},
}


class Network:
    def __init__(self, clock: Clock, config: dict[str, Any]):
        self.clock = clock
        self.config = config
        op = config.get("operator", {})
        self.operator = Operator(op.get("long", "CHINA MOBILE"), op.get("short", "CMCC"),
                                 op.get("numeric", "46000"))
        self.cell: dict[str, Any] = {"lac": "286F", "tac": "286F", "ci": "00000FCA", "act": 7,
                                     **config.get("cell", {})}
        self.signal = Signal(**config.get("signal", {}))
        self.state = Reg.NOT_SEARCHING
        self._listeners: list[Callable[[Reg], None]] = []
        self._search: Timer | None = None

    def subscribe(self, listener: Callable[[Reg], None]) -> None:
        self._listeners.append(listener)

    def _set(self, state: Reg) -> None:
        if state != self.state:
            self.state = state
            for listener in list(self._listeners):
                listener(state)

    @property
    def search_time(self) -> float:
        return Duration.parse(self.config.get("search_time", "2s"))

    # -- what the module does ---------------------------------------------------------------
    def search(self) -> None:
        """Start searching; the configured outcome follows after the search time."""
        self._cancel_search()
        self._set(Reg.SEARCHING)
        self._search = self.clock.call_later(self.search_time, self._outcome)

    def detach(self) -> None:
        """The module leaves the network (CFUN=0, SIM removed)."""
        self._cancel_search()
        self._set(Reg.NOT_SEARCHING)

    def _outcome(self) -> None:
        outcome = self.config.get("outcome", "register")
        if outcome == "deny":
            self._set(Reg.DENIED)
        elif outcome == "register":
            self._set(Reg.ROAMING if self.config.get("roaming") else Reg.HOME)

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

    def deny(self) -> None:
        self._cancel_search()
        self._set(Reg.DENIED)
