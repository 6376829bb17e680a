"""The RRC connection of an NB-IoT module (AT+CSCON and its +CSCON URC).

The connection comes up for the attach and is released after the network's inactivity timer.
`connect()` and `release()` are what the power model (PSM, RAI) and data traffic drive.
"""

from __future__ import annotations

from typing import Any

from simulator.at.dispatcher import READ, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Replies
from simulator.clock import Timer
from simulator.profile import Duration
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms
from simulator.world.network import Reg


class Rrc(TestForms, Subsystem):
    name = "rrc"
    section = "rrc"
    schema: Any = {
        "inactivity": Duration,  # the network releases an idle connection after this long
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.connected = False
        self.n = 0
        self._release: Timer | None = None
        self._seen = Reg.NOT_SEARCHING
        module.network.subscribe(self._on_network)

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
        self._cancel()
        delay = Duration.parse(self.config.get("inactivity", "20s"))
        self._release = self.m.clock.call_later(delay, self.release)
        if not self.connected:
            self.connected = True
            self._report()

    def release(self) -> None:
        self._cancel()
        if self.connected:
            self.connected = False
            self._report()

    def _report(self) -> None:
        if self.n:
            self.m.urc(Info.of("+CSCON", int(self.connected)))

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
        return {"connected": self.connected, "n": self.n}
