"""Registration reports: AT+CREG (circuit switched), AT+CGREG (GPRS) and AT+CEREG (EPS), their
read forms and their URCs in every 27.007 mode the family supports.

The state comes from the world's network; the packet-switched reports also follow the module's
GPRS attach (packet.py). A URC goes out whenever what the mode shows changes.
"""

from __future__ import annotations

from typing import Any

from simulator.at.dispatcher import READ, TEST, WRITE, Context
from simulator.at.errors import AtError
from simulator.at.replies import Field, Info, Quoted, Replies
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms
from simulator.world.network import Reg

CREG, CGREG, CEREG = "+CREG", "+CGREG", "+CEREG"


class Registration(TestForms, Subsystem):
    name = "registration"
    section = "registration"
    schema: Any = {
        # per command: the modes (<n>) it accepts, whether location lines carry <AcT>, and
        # whether setting mode 2 re-reports the current state at once (Neoway)
        "commands": {str: {"modes": [int], "act": bool, "report_on_set": bool}},
        "detached_stat": int,  # the +CGREG/+CEREG <stat> while GPRS is detached by the host
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.n: dict[str, int] = {}
        self._last: dict[str, tuple[Field, ...]] = {}
        module.network.subscribe(lambda state: self.refresh())

    def _spec(self, cmd: str) -> dict[str, Any]:
        return self.config.get("commands", {}).get(cmd, {})

    def reset(self) -> None:
        self.n = {cmd: 0 for cmd in self.config.get("commands", {})}
        self._last = {}

    # -- what each report shows -------------------------------------------------------------
    def ps_attached(self) -> bool:
        """GPRS attach as the host asked for it (packet.py); True without a packet subsystem."""
        packet = next((s for s in self.m.subsystems if s.name == "packet"), None)
        return getattr(packet, "attach_wanted", True)

    def stat(self, cmd: str) -> Reg:
        state = self.m.network.state
        if cmd != CREG and state.registered and not self.ps_attached():
            return Reg(self.config.get("detached_stat", 0))
        return state

    def fields(self, cmd: str, n: int, stat: Reg | None = None,
               located: bool | None = None) -> list[Field]:
        """The fields after the prefix in the unsolicited form (the read form adds <n>).
        The location shows while registered, unless `located` says otherwise."""
        net = self.m.network
        stat = self.stat(cmd) if stat is None else stat
        act = self._spec(cmd).get("act", True)
        out: list[Field] = [int(stat)]
        if n >= 2:
            if stat.registered if located is None else located:
                area = net.cell.tac if cmd == CEREG else net.cell.lac
                out += [Quoted(area), Quoted(net.cell.ci)] + ([net.cell.act] if act else [])
            else:
                out += [None] * (3 if act else 2)
        if n in (3, 5):
            out += [0, net.reject_cause] if stat == Reg.DENIED else [None, None]
        elif n == 4:
            out += [None, None]
        if n in (4, 5):
            timers = net.timers
            if stat.registered and timers.active_time is not None:
                out += [Quoted(timers.active_time), Quoted(timers.periodic_tau or "")]
        while len(out) > 1 and out[-1] is None:
            out.pop()
        return out

    def line(self, cmd: str, stat: Reg, located: bool) -> Info:
        """The URC for `cmd` in its current mode with a given state (Neoway's CGATT prints the
        searching report, with the cell, inside its response)."""
        return Info.of(cmd, *self.fields(cmd, self.n.get(cmd, 0), stat, located))

    def refresh(self) -> None:
        """Send the URC of every report whose content changed since it was last shown."""
        for cmd, n in self.n.items():
            now = tuple(self.fields(cmd, n))
            if now != self._last.get(cmd):
                self._last[cmd] = now
                if n:
                    self.m.urc(Info.of(cmd, *now))

    # -- the commands -----------------------------------------------------------------------
    def data_handlers(self) -> list[tuple[str, Any, Any]]:
        handlers = []
        for cmd in self.config.get("commands", {}):
            handlers += [(cmd, WRITE, self._write), (cmd, READ, self._read),
                         (cmd, TEST, self._test)]
        return handlers + super().data_handlers()

    def _write(self, ctx: Context, n: int = 0) -> Replies:
        cmd = ctx.command.name
        if n not in self._spec(cmd).get("modes", [0, 1, 2]):
            raise AtError("invalid_param")
        self.n[cmd] = n
        self._last[cmd] = tuple(self.fields(cmd, n))
        if n >= 2 and self._spec(cmd).get("report_on_set"):
            self.m.urc(Info.of(cmd, *self._last[cmd]))
        return None

    def _read(self, ctx: Context) -> Replies:
        cmd = ctx.command.name
        n = self.n.get(cmd, 0)
        return Info.of(cmd, n, *self.fields(cmd, n))

    def _test(self, ctx: Context) -> Replies:
        modes = self._spec(ctx.command.name).get("modes", [0, 1, 2])
        contiguous = modes == list(range(modes[0], modes[-1] + 1))
        shown = f"{modes[0]}-{modes[-1]}" if contiguous else ",".join(map(str, modes))
        return Info.of(ctx.command.name, f"({shown})")

    def snapshot(self) -> dict[str, Any]:
        return {cmd: {"n": n, "stat": int(self.stat(cmd))} for cmd, n in self.n.items()}
