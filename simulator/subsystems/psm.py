"""The NAS layer of the NB-IoT power model: PSM and eDRX as the host asks for them (AT+CPSMS,
AT+CEDRXS, saved), as the network grants them (AT+CEREG=4/5, AT+CEDRXRDP, +CEDRXP), and the
modem's state through its timers:

    CONNECTED --RRC release (+CSCON: 0)--> IDLE --T3324 expires--> PSM ("ENTER PSM")
    PSM --a command needs the network (uplink)--> "EXIT PSM", RRC setup (+CSCON: 1)
    IDLE or PSM --T3412 expires--> periodic TAU (out of PSM and deep sleep, and back)

T3412 runs in idle and PSM and stops while connected, so every release restarts it. A TAU
also follows a change of what the host asks for (AT+CPSMS=0 then =1 is the documented
manual TAU). +QNBIOTEVENT reports PSM entry and exit under AT+QNBIOTEVENT. The host-interface
layer (deep sleep) is sleep.py; it listens to this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from simulator.at.dispatcher import EXEC, READ, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.clock import Timer
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms
from simulator.subsystems.registration import Registration
from simulator.subsystems.rrc import Rrc
from simulator.world.nas_timers import T3324, T3412, TimerCode, edrx_cycle, is_bits, paging_window
from simulator.world.network import Reg

DETACHED, CONNECTED, IDLE, PSM = "detached", "connected", "idle", "psm"


class Psm(TestForms, Subsystem):
    name = "psm"
    section = "psm"
    schema: Any = {
        # what AT+CPSMS and AT+CEDRXS hold at the factory (and after their reset modes 2 / 3)
        "cpsms": {"mode": int, "periodic_tau": str, "active_time": str},
        "cedrxs": {"mode": int, "act": int, "value": str},
        "edrx_acts": [int],  # the AcT types AT+CEDRXS takes (5: E-UTRAN NB-S1)
        "event_types": [int],  # AT+QNBIOTEVENT <event_type>s (1: PSM entry and exit)
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.state = DETACHED
        self._registered = False
        self.cpsms: dict[str, Any] = {}
        self.cedrxs: dict[str, Any] = {}
        self.events = (0, 1)  # AT+QNBIOTEVENT <enable>,<event_type>
        self._t3324: Timer | None = None
        self._t3412: Timer | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._wired = False
        module.network.subscribe(self._on_network)

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """`listener(state)` runs at every NAS state change."""
        self._listeners.append(listener)

    def reset(self) -> None:
        if not self._wired:
            self._rrc().subscribe(self._on_rrc)
            self._wired = True
        self._cancel_timers()
        self._connecting = None
        saved = self.m.store.load("psm", {})
        self.cpsms = {**self._defaults("cpsms"), **saved.get("cpsms", {})}
        self.cedrxs = {**self._defaults("cedrxs"), **saved.get("cedrxs", {})}
        self.events = (0, 1)
        self.state = DETACHED
        self._registered = False

    def _defaults(self, key: str) -> dict[str, Any]:
        base = {"cpsms": {"mode": 0, "periodic_tau": "00111000", "active_time": "00100001"},
                "cedrxs": {"mode": 0, "act": 5, "value": "0010"}}[key]
        return {**base, **self.config.get(key, {})}

    def _save(self) -> None:
        self.m.store.save("psm", {"cpsms": self.cpsms, "cedrxs": self.cedrxs})

    def _rrc(self) -> Rrc:
        return self.m.get(Rrc)

    @property
    def in_psm(self) -> bool:
        return self.state == PSM

    # -- state ------------------------------------------------------------------------------
    def _set(self, state: str, **detail: Any) -> None:
        if state == self.state:
            return
        self.state = state
        self.m.log.emit("power", layer="nas", state=state, **detail)
        for listener in list(self._listeners):
            listener(state)

    def _event(self, text: str) -> None:
        if self.events[0]:
            self.m.urc(Info.of("+QNBIOTEVENT", Quoted(text)))

    def _cancel_timers(self) -> None:
        for timer in (self._t3324, self._t3412):
            if timer:
                timer.cancel()
        self._t3324 = self._t3412 = None

    def _granted(self, code: TimerCode, bits: str | None) -> float | None:
        return None if bits is None else code.decode(bits)

    def _on_network(self, state: Reg) -> None:
        if state == Reg.SEARCHING:
            self._negotiate()  # the attach request carries the host's requests
        registered = state.registered
        if registered == self._registered:
            return  # a cell change
        self._registered = registered
        if not registered:
            self._cancel_timers()
            self._set(DETACHED)
            return
        self._negotiate()  # what the host changed during the attach counts too
        if self._rrc().connected:
            self._set(CONNECTED)
        else:
            self._to_idle()

    def _on_rrc(self, connected: bool) -> None:
        if not self.m.network.state.registered:
            return
        if connected:
            self._cancel_timers()  # T3324 and T3412 stop in connected mode
            self._set(CONNECTED)
        else:
            self._to_idle()

    def _to_idle(self) -> None:
        self._cancel_timers()
        self._set(IDLE)
        net = self.m.network
        tau = self._granted(T3412, net.timers.periodic_tau)
        tau = net.t3412 if tau is None else tau
        self._t3412 = self.m.clock.call_later(tau, self._periodic_tau)
        active = self._granted(T3324, net.timers.active_time)
        if active is not None:
            self._t3324 = self.m.clock.call_later(active, self._enter_psm)

    def _enter_psm(self) -> None:
        if self._t3324:
            self._t3324.cancel()
            self._t3324 = None
        if self.state != IDLE:
            return
        self._set(PSM)
        self._event("ENTER PSM")

    def _leave_psm(self, reason: str) -> None:
        if self.state == PSM:
            self._event("EXIT PSM")
            self._set(IDLE, left="psm", reason=reason)  # idle until the connection is up

    # -- attach and TAU ---------------------------------------------------------------------
    def _negotiate(self) -> None:
        """Ask the network for PSM and eDRX as the host wants them; keep what it grants."""
        net = self.m.network
        if self.cpsms["mode"] == 1:
            net.grant_psm(self.cpsms["active_time"], self.cpsms["periodic_tau"])
        else:
            net.grant_psm(None, None)
        before = net.edrx
        wanted = self.cedrxs["value"] if self.cedrxs["mode"] in (1, 2) else None
        granted = net.grant_edrx(wanted)
        registration = next((s for s in self.m.subsystems if isinstance(s, Registration)), None)
        if registration is not None:
            registration.refresh()  # +CEREG 4/5 show the timers granted
        self.m.log.emit("power", layer="nas", state="granted", active_time=net.timers.active_time,
                        periodic_tau=net.timers.periodic_tau, edrx=granted.cycle)
        if self.cedrxs["mode"] == 2 and granted != before:
            self.m.urc(Info.of("+CEDRXP", *self._edrx_fields()))

    def _periodic_tau(self) -> None:
        self._t3412 = None
        self._tau("T3412")

    def _tau(self, reason: str) -> None:
        """A tracking area update: out of PSM (and deep sleep) if need be, the requests go to
        the network, and the connection is released when the update is done."""
        if not self.m.network.state.registered:
            return
        host = next((s for s in self.m.subsystems if hasattr(s, "wake_then")), None)
        if host is not None:
            host.wake_then(lambda: self._update(reason))
        else:
            self._update(reason)

    def _update(self, reason: str) -> None:
        net, rrc = self.m.network, self._rrc()
        if not net.state.registered:
            return
        self.m.log.emit("power", layer="nas", state="tau", reason=reason)
        busy = rrc.connected
        self._leave_psm(reason)
        self._negotiate()
        rrc.connect()
        if not busy:
            rrc.release_after(net.tau_release)

    # -- what data traffic and the control surface call ------------------------------------
    async def uplink(self) -> None:
        """Data is about to go out: out of PSM ("EXIT PSM") and the connection up
        (+CSCON: 1) first; an open connection only restarts its inactivity timer."""
        net, rrc = self.m.network, self._rrc()
        if not net.state.registered:
            return
        if rrc.connected:
            rrc.connect()
            return
        if self._connecting is not None:
            await asyncio.shield(self._connecting)
            return
        self._connecting = asyncio.get_running_loop().create_future()
        try:
            self._leave_psm("uplink")
            self._cancel_timers()
            await self.m.clock.sleep(net.rrc_setup)
            if net.state.registered:
                rrc.connect()
        finally:
            done, self._connecting = self._connecting, None
            if done and not done.done():
                done.set_result(None)

    def uplink_ready(self) -> bool:
        """Data may go out now: the connection is up (and stays up for it), or there is no
        network to wake up for; False while idle or in PSM."""
        rrc = self._rrc()
        if not self.m.network.state.registered:
            return True
        if rrc.connected and self._connecting is None:
            rrc.connect()
            return True
        return False

    def release_assistance(self, rai: int) -> None:
        """The host flagged its last packet with RAI: the network releases the connection
        shortly, rather than after its inactivity timer."""
        rrc = self._rrc()
        if rai and rrc.connected:
            self.m.log.emit("power", layer="nas", state="rai", rai=rai)
            rrc.release_after(self.m.network.rai_release)

    def enter_psm(self) -> None:
        """The network releases the connection and the modem enters PSM now."""
        net = self.m.network
        if not net.state.registered:
            raise LookupError("the module is not registered")
        if self._granted(T3324, net.timers.active_time) is None:
            raise ValueError("PSM is not in use (AT+CPSMS=1, and an active time granted)")
        self._rrc().release()  # the connection's end starts T3324 (_on_rrc)
        self._enter_psm()

    # -- AT+CPSMS ---------------------------------------------------------------------------
    @command("+CPSMS", WRITE)
    def cpsms_write(self, mode: int, rau: str | None = None, ready: str | None = None,
                    periodic_tau: str | None = None, active_time: str | None = None) -> Replies:
        if mode not in (0, 1, 2):
            raise AtError("invalid_param")
        for bits in (rau, ready, periodic_tau, active_time):
            if bits and not is_bits(bits, 8):
                raise AtError("invalid_param")
        before = dict(self.cpsms)
        if mode == 2:  # off, and the manufacturer's values back
            self.cpsms = {**self._defaults("cpsms"), "mode": 0}
        else:
            self.cpsms["mode"] = mode
            if periodic_tau:
                self.cpsms["periodic_tau"] = periodic_tau
            if active_time:
                self.cpsms["active_time"] = active_time
        self._save()
        if self.cpsms != before:
            self._tau("AT+CPSMS")
        return None

    @command("+CPSMS", READ)
    def cpsms_read(self) -> Replies:
        c = self.cpsms
        return Info.of("+CPSMS", c["mode"], None, None, Quoted(c["periodic_tau"]),
                       Quoted(c["active_time"]))

    # -- AT+CEDRXS / AT+CEDRXRDP ------------------------------------------------------------
    @command("+CEDRXS", WRITE)
    def cedrxs_write(self, mode: int, act: int | None = None,
                     value: str | None = None) -> Replies:
        if mode not in (0, 1, 2, 3):
            raise AtError("invalid_param")
        if act is not None and act not in self.config.get("edrx_acts", [5]):
            raise AtError("invalid_param")
        if value is not None and not is_bits(value, 4):
            raise AtError("invalid_param")
        before = dict(self.cedrxs)
        if mode == 3:  # off, and the manufacturer's values back
            self.cedrxs = {**self._defaults("cedrxs"), "mode": 0}
        else:
            self.cedrxs["mode"] = mode
            if act is not None:
                self.cedrxs["act"] = act
            if value is not None:
                self.cedrxs["value"] = value
        self._save()
        if self.cedrxs != before:
            self._tau("AT+CEDRXS")
        return None

    @command("+CEDRXS", READ)
    def cedrxs_read(self) -> Replies:
        if self.cedrxs["mode"] not in (1, 2):
            return None
        return Info.of("+CEDRXS", self.cedrxs["act"], Quoted(self.cedrxs["value"]))

    def _edrx_fields(self) -> list[Any]:
        granted = self.m.network.edrx
        if granted.cycle is None or not self.m.network.state.registered:
            return [0]
        return [self.cedrxs["act"], Quoted(self.cedrxs["value"]), Quoted(granted.cycle),
                Quoted(granted.window)]

    @command("+CEDRXRDP", EXEC)
    def cedrxrdp(self) -> Replies:
        return Info.of("+CEDRXRDP", *self._edrx_fields())

    # -- AT+QNBIOTEVENT ---------------------------------------------------------------------
    @command("+QNBIOTEVENT", WRITE)
    def qnbiotevent_write(self, enable: int, event_type: int = 1) -> Replies:
        if enable not in (0, 1) or event_type not in self.config.get("event_types", [1]):
            raise AtError("invalid_param")
        self.events = (enable, event_type)
        return None

    @command("+QNBIOTEVENT", READ)
    def qnbiotevent_read(self) -> Replies:
        return Info.of("+QNBIOTEVENT", *self.events)

    # -- state for tools --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        net = self.m.network
        return {
            "state": self.state,
            "cpsms": {"mode": self.cpsms["mode"],
                      "periodic_tau": _timer(T3412, self.cpsms["periodic_tau"]),
                      "active_time": _timer(T3324, self.cpsms["active_time"])},
            "granted": {"periodic_tau": _timer(T3412, net.timers.periodic_tau),
                        "active_time": _timer(T3324, net.timers.active_time)},
            "timers": {"T3324": _remaining(self._t3324), "T3412": _remaining(self._t3412)},
            "edrx": {"mode": self.cedrxs["mode"], "act": self.cedrxs["act"],
                     "requested": _cycle(self.cedrxs["value"]),
                     "granted": _cycle(net.edrx.cycle),
                     "window": None if net.edrx.window is None else {
                         "bits": net.edrx.window, "seconds": paging_window(net.edrx.window)}},
            "events": self.events[0],
        }


def _timer(code: TimerCode, bits: str | None) -> dict[str, Any] | None:
    return None if bits is None else {"bits": bits, "seconds": code.decode(bits)}


def _cycle(bits: str | None) -> dict[str, Any] | None:
    return None if bits is None else {"bits": bits, "seconds": edrx_cycle(bits)}


def _remaining(timer: Timer | None) -> float | None:
    return round(timer.remaining(), 3) if timer is not None and timer.armed else None
