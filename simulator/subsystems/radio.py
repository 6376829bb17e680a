"""The radio: functionality level (AT+CFUN) and network selection (AT+COPS). It decides when
the module searches the world's network: radio on, SIM ready and selection not "deregister".
What the registration state then looks like to the host is registration.py's business.
"""

from __future__ import annotations

from typing import Any

from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.clock import Timer
from simulator.profile import Duration
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms, text
from simulator.subsystems.sim import Sim
from simulator.world.network import Operator, Reg

AUTO, MANUAL, DEREGISTER, SET_FORMAT, MANUAL_AUTO = 0, 1, 2, 3, 4


class Radio(TestForms, Subsystem):
    name = "radio"
    section = "radio"
    schema: Any = {
        "funs": [int],  # the AT+CFUN levels the family accepts
        "reset_on_rst": bool,  # AT+CFUN=1,1 reboots (Quectel) rather than restarting the RF
        "exec_error": str,  # error name for a bare AT+CFUN ("" or absent: plain ERROR)
        "sim_off_funs": [int],  # levels that power the SIM down with the radio
        "cfun_delay": {int: Duration},  # how long AT+CFUN=<fun> takes
        "on_after": Duration,  # from power-on until the radio starts searching
        "cops_format": int,  # the <format> at power-on
        "cops_act": bool,  # +COPS lines carry <AcT>
        "cops_scan_tail": str,  # what follows the operator list of AT+COPS=?
        "strict_quotes": bool,
        "ws46": int,  # AT+WS46 network selection at power-on (12 GSM, 28 LTE, 30 both)
        "ws46_modes": [int],
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.fun = 1
        self.mode = AUTO
        self.format = 0
        self.chosen: Operator | None = None  # the manually selected operator
        self.ws46 = 0
        self._timer: Timer | None = None
        self._wired = False

    def _sim(self) -> Sim:
        return self.m.get(Sim)

    def reset(self) -> None:
        if not self._wired:
            self._sim().subscribe(lambda ready: self._resume())
            self._wired = True
        self.fun, self.mode, self.chosen = 1, AUTO, None
        self.format = self.config.get("cops_format", 0)
        self.ws46 = self.config.get("ws46", 0)
        if self._timer:
            self._timer.cancel()
        self._timer = self.m.clock.call_later(Duration.parse(self.config.get("on_after", "1s")),
                                              self._power_on)

    def _power_on(self) -> None:
        self._timer = None
        self._resume()

    @property
    def on(self) -> bool:
        return self.fun == 1 and self._timer is None

    def _resume(self) -> None:
        """Search when everything allows it; leave the network when something does not."""
        net = self.m.network
        if not (self.on and self._sim().ready) or self.mode == DEREGISTER:
            net.detach()
        elif net.state == Reg.NOT_SEARCHING:
            net.search(self.chosen)

    # -- AT+CFUN ----------------------------------------------------------------------------
    @command("+CFUN", READ)
    def cfun_read(self) -> Replies:
        return Info.of("+CFUN", self.fun)

    @command("+CFUN", EXEC)
    def cfun_exec(self) -> Replies:
        raise AtError(self.config.get("exec_error") or None)

    @command("+CFUN", WRITE)
    async def cfun_write(self, fun: int, rst: int = 0) -> Replies:
        if fun not in self.config.get("funs", [0, 1, 4]) or rst not in (0, 1):
            raise AtError("invalid_param")
        delay = self.config.get("cfun_delay", {}).get(fun)
        if delay is not None:
            await self.m.clock.sleep(Duration.parse(delay))
        if rst and self.config.get("reset_on_rst", True):
            self.m.clock.call_later(0, self.m.reboot)  # after the OK
            return None
        self.set_fun(fun)
        return None

    def set_fun(self, fun: int) -> None:
        self.fun = fun
        self._sim().power(fun not in self.config.get("sim_off_funs", []))
        self._resume()

    # -- AT+COPS ----------------------------------------------------------------------------
    def _act(self, op: Operator) -> list[int]:
        return [op.act] if self.config.get("cops_act", True) else []

    @command("+COPS", READ)
    def cops_read(self) -> Replies:
        net = self.m.network
        if not net.state.registered:
            return Info.of("+COPS", self.mode)
        op = net.operator
        return Info.of("+COPS", self.mode, self.format, Quoted(op.name(self.format)),
                       *self._act(op))

    @command("+COPS", WRITE)
    async def cops_write(self, mode: int, fmt: int | None = None, oper: str | None = None,
                         act: int | None = None) -> Replies:
        if mode not in (AUTO, MANUAL, DEREGISTER, SET_FORMAT, MANUAL_AUTO):
            raise AtError("invalid_param")
        if fmt is not None and fmt not in (0, 1, 2):
            raise AtError("invalid_param")
        if mode == SET_FORMAT:
            if fmt is None:
                raise AtError("invalid_param")
            self.format = fmt
            return None
        if fmt is not None:
            self.format = fmt
        if mode in (MANUAL, MANUAL_AUTO):
            return await self._manual(mode, oper)
        self.mode, self.chosen = mode, None
        net = self.m.network
        if mode == AUTO and (net.operator is not net.home or net.state == Reg.DENIED):
            net.detach()  # search again, on the home network
        self._resume()
        return None

    async def _manual(self, mode: int, oper: str | None) -> Replies:
        if oper is None:
            raise AtError("invalid_param")
        name = text(oper, self.config.get("strict_quotes", False))
        found = self.m.network.find(name)
        if found is None and mode == MANUAL:
            raise AtError("no_network")
        self.mode, self.chosen = mode, found
        if not (self.on and self._sim().ready):
            return None  # the selection applies once the radio is up
        net = self.m.network
        net.search(found)
        await self.m.clock.sleep(net.search_time)
        if not net.state.registered and mode == MANUAL_AUTO:
            self.chosen = None
            net.search()
        elif not net.state.registered:
            raise AtError("no_network")
        return None

    @command("+COPS", TEST)
    async def cops_test(self) -> Replies:
        if not self.on:
            raise AtError("not_allowed")
        net = self.m.network
        await self.m.clock.sleep(net.scan_time)
        entries = []
        for op in net.scan():
            current = op is net.operator and net.state.registered
            stat = 3 if op.forbidden else 2 if current else 1
            names = ",".join(f'"{n}"' for n in (op.long, op.short, op.numeric))
            act = "".join(f",{a}" for a in self._act(op))
            entries.append(f"({stat},{names}{act})")
        tail = self.config.get("cops_scan_tail", ",,(0-4),(0-2)")
        return Info.of("+COPS", ",".join(entries) + tail)

    # -- AT+WS46 (which radio access networks the module may use) -------------------------
    @command("+WS46", READ)
    def ws46_read(self) -> Replies:
        return Info.of("+WS46", self.ws46)

    @command("+WS46", WRITE)
    def ws46_write(self, n: int) -> Replies:
        if n not in self.config.get("ws46_modes", []):
            raise AtError("invalid_param")
        self.ws46 = n
        return None

    @command("+WS46", TEST)
    def ws46_test(self) -> Replies:
        return Info.of("+WS46", "(" + ",".join(map(str, self.config.get("ws46_modes", []))) + ")")

    def snapshot(self) -> dict[str, Any]:
        return {"fun": self.fun, "cops_mode": self.mode, "cops_format": self.format,
                "chosen": self.chosen.numeric if self.chosen else None}
