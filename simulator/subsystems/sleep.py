"""The host-interface layer of the NB-IoT power model: the module awake or in deep sleep.

Deep sleep comes when AT+QSCLK=1 allows it, the modem is in PSM (psm.py) or at AT+CFUN=0, and
the UART has been idle for the profile's window. Asleep, the port is silent and deaf: the
edge of a byte from the host wakes the module (unless AT+QCFG="wakeupRXD",0), and that
command is lost unless the profile keeps it; the PSM_EINT pin (`wake()`, the control surface)
and the periodic TAU wake it too. +QNBIOTEVENT: "ENTER DEEPSLEEP" / "EXIT DEEPSLEEP" show under
AT+QCFG="dsevent",1. Deep sleep drops what a real module loses (MQTT and TCP connections:
every subsystem's `drop_all()`); the rest (registration, PDP context, UDP sockets, URC
settings) lives on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.at.dispatcher import READ, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.clock import Timer
from simulator.line.discipline import Mode
from simulator.profile import Duration
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms
from simulator.subsystems.psm import Psm
from simulator.subsystems.qcfg import SystemConfig
from simulator.subsystems.radio import Radio

AWAKE, ASLEEP, WAKING = "awake", "asleep", "waking"


class DeepSleep(TestForms, Subsystem):
    name = "sleep"
    section = "sleep"
    schema: Any = {
        "qsclk": int,  # AT+QSCLK at power-on: 0 no sleep, 1 deep sleep allowed, 2 light only
        "modes": [int],
        "idle_window": Duration,  # how long the UART stays idle before deep sleep
        "wake_time": Duration,  # from the wake-up edge to a listening UART
        "wake_by_command": str,  # "lost" (the waking command is gone) or "kept"
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.state = AWAKE
        self.qsclk = 1
        self._awake_since = 0.0
        self._check: Timer | None = None
        self._waking: Timer | None = None
        self._after_wake: list[Callable[[], None]] = []
        self._wired = False
        module.network.subscribe(lambda state: self._arm())

    def reset(self) -> None:
        if not self._wired:
            psm = self._psm()
            if psm is not None:
                psm.subscribe(lambda state: self._arm())
            self._wired = True
        for timer in (self._check, self._waking):
            if timer:
                timer.cancel()
        self._check = self._waking = None
        self._after_wake = []
        if self.state != AWAKE:
            for channel in self.m.channels:
                channel.wake()  # a reset brings the UART back; nothing kept survives it
        self.state = AWAKE
        self.qsclk = self.config.get("qsclk", 1)
        self._awake_since = self.m.clock.now()
        self._arm()

    def _psm(self) -> Psm | None:
        return next((s for s in self.m.subsystems if isinstance(s, Psm)), None)

    def _setting(self, key: str, default: int) -> int:
        qcfg = next((s for s in self.m.subsystems if isinstance(s, SystemConfig)), None)
        return qcfg.value(key) if qcfg is not None else default

    def _event(self, text: str) -> None:
        if self._setting("dsevent", 1):
            self.m.urc(Info.of("+QNBIOTEVENT", Quoted(text)))

    # -- when to sleep ----------------------------------------------------------------------
    def _allowed(self) -> bool:
        """QSCLK=1 and the modem has nothing to listen for: in PSM, or the radio off."""
        psm = self._psm()
        radio = next((s for s in self.m.subsystems if isinstance(s, Radio)), None)
        quiet = (psm is not None and psm.in_psm) or (radio is not None and radio.fun == 0)
        return self.qsclk == 1 and quiet and not self.m.booting

    def _idle_from(self) -> float:
        """When the UART last saw activity: a byte from the host, or the module waking."""
        return max([self._awake_since, *(c.last_input for c in self.m.channels)])

    @property
    def window(self) -> float:
        return Duration.parse(self.config.get("idle_window", "10s"))

    def _arm(self) -> None:
        """(Re)plan the sleep check, or drop it while sleep is not allowed."""
        if self._check:
            self._check.cancel()
            self._check = None
        if self.state != AWAKE or not self._allowed():
            return
        due = self._idle_from() + self.window - self.m.clock.now()
        self._check = self.m.clock.call_later(max(0.0, due), self._try_sleep)

    def _try_sleep(self) -> None:
        self._check = None
        if self.state != AWAKE or not self._allowed():
            return
        if self.m.busy.locked() or any(c.line.mode is not Mode.COMMAND for c in self.m.channels):
            self._check = self.m.clock.call_later(self.window, self._try_sleep)  # still working
        elif self._idle_from() + self.window > self.m.clock.now():
            self._arm()  # the host spoke since this check was planned
        else:
            self._sleep()

    def _sleep(self) -> None:
        self._event("ENTER DEEPSLEEP")
        self.state = ASLEEP
        keep = self.config.get("wake_by_command", "lost") == "kept"
        for channel in self.m.channels:
            channel.sleep(self._edge, keep)
        for subsystem in self.m.subsystems:
            drop = getattr(subsystem, "drop_all", None)
            if drop is not None:
                drop()  # connections that do not survive deep sleep
        self.m.log.emit("power", layer="host", state=ASLEEP)

    # -- waking -----------------------------------------------------------------------------
    def _edge(self) -> None:
        """A byte from the host while asleep: its falling edge on RXD."""
        if self.state == ASLEEP and self._setting("wakeupRXD", 1):
            self._start_wake("uart")

    def wake(self) -> None:
        """The PSM_EINT pin pulled low: out of deep sleep; awake, the idle window restarts."""
        if self.state == ASLEEP:
            self._start_wake("pin")
        elif self.state == AWAKE:
            self._awake_since = self.m.clock.now()
            self._arm()

    def wake_then(self, callback: Callable[[], None]) -> None:
        """Run `callback` with the module awake (the periodic TAU wakes it first)."""
        if self.state == AWAKE:
            callback()
            return
        self._after_wake.append(callback)
        if self.state == ASLEEP:
            self._start_wake("T3412")

    def _start_wake(self, source: str) -> None:
        self.state = WAKING
        self.m.log.emit("power", layer="host", state=WAKING, source=source)
        delay = Duration.parse(self.config.get("wake_time", "50ms"))
        self._waking = self.m.clock.call_later(delay, self._woken, source)

    def _woken(self, source: str) -> None:
        self._waking = None
        self.state = AWAKE
        self._awake_since = self.m.clock.now()
        kept = [(channel, channel.wake()) for channel in self.m.channels]
        self.m.log.emit("power", layer="host", state=AWAKE, source=source)
        self._event("EXIT DEEPSLEEP")
        for channel, data in kept:
            if data:
                channel.line.feed(data)  # the waking command, where the profile keeps it
        callbacks, self._after_wake = self._after_wake, []
        for callback in callbacks:
            callback()
        self._arm()

    # -- AT+QSCLK ---------------------------------------------------------------------------
    @command("+QSCLK", WRITE)
    def qsclk_write(self, mode: int) -> Replies:
        if mode not in self.config.get("modes", [0, 1, 2]):
            raise AtError("invalid_param")
        self.qsclk = mode
        self._arm()
        return None

    @command("+QSCLK", READ)
    def qsclk_read(self) -> Replies:
        return Info.of("+QSCLK", self.qsclk)

    def snapshot(self) -> dict[str, Any]:
        check = self._check.remaining() if self._check and self._check.armed else None
        return {"state": self.state, "qsclk": self.qsclk, "idle_window": self.window,
                "sleep_in": None if check is None else round(check, 3),
                "dsevent": self._setting("dsevent", 1),
                "wake_by_uart": self._setting("wakeupRXD", 1)}
