"""The RRC connection of an NB-IoT module (AT+CSCON and its +CSCON URC).

The connection comes up for the attach and is released after the network's inactivity timer.
`connect()`, `release()` and `release_after()` are what the power model (PSM, RAI) and data
traffic drive; `subscribe()` tells it of every change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.at.dispatcher import READ, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Replies
from simulator.clock import Timer
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms
from simulator.world.network import Reg


class Rrc(TestForms, Subsystem):
    name = "rrc"
    section = "rrc"
    schema: Any = {"tests": TESTS_SCHEMA}  # the inactivity timer is the network's

    def __init__(self, module: Any):
        super().__init__(module)
        self.connected = False
        self.n = 0
        self._release: Timer | None = None
        self._seen = Reg.NOT_SEARCHING
        self._listeners: list[Callable[[bool], None]] = []
        module.network.subscribe(self._on_network)

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        """`listener(connected)` runs at every connection change."""
        self._listeners.append(listener)

    def reset(self) -> None:
        self._cancel()
        self._seen = Reg.NOT_SEARCHING
        self.connected = False
        self.n = 0

    def _on_network(self, state: Reg) -> None:
        if state == self._seen:
            return  # a cell change in idle needs no connection
        self._seen = state
        if state == Reg.SEARCHING or state.registered:
            self.connect()  # the attach signalling runs on a connection
        else:
            self.release()

    def _cancel(self) -> None:
        if self._release:
            self._release.cancel()
            self._release = None

    def connect(self) -> None:
        """Traffic: up if idle, and the inactivity timer starts again."""
        self.release_after(self.m.network.inactivity)
        if not self.connected:
            self.connected = True
            self._report()

    def release_after(self, delay: float) -> None:
        """The network releases the connection after `delay` unless traffic comes first."""
        self._cancel()
        self._release = self.m.clock.call_later(delay, self.release)

    def release(self) -> None:
        self._cancel()
        if self.connected:
            self.connected = False
            self._report()

    def _report(self) -> None:
        self.m.log.emit("rrc", connected=self.connected)
        if self.n:
            self.m.urc(Info.of("+CSCON", int(self.connected)))
        for listener in list(self._listeners):
            listener(self.connected)

    @command("+CSCON", WRITE)
    def cscon_write(self, n: int) -> Replies:
        if n not in (0, 1):
            raise AtError("invalid_param")
        self.n = n
        return None

    @command("+CSCON", READ)
    def cscon_read(self) -> Replies:
        return Info.of("+CSCON", self.n, int(self.connected))

    def snapshot(self) -> dict[str, Any]:
        release = self._release.remaining() if self._release else None
        return {"connected": self.connected, "n": self.n, "release_in": release}
