"""A simulated module: its profile, its subsystems and their handlers, its host channels."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

from simulator.at.dispatcher import Dispatcher
from simulator.at.errors import AtError
from simulator.at.formatter import Formatter, LineSettings
from simulator.at.replies import ERROR, CmeError, CmsError, Data, Final, Info
from simulator.channel import Channel, FlowControl
from simulator.clock import Clock, Timer
from simulator.faults import Faults
from simulator.profile import Profile
from simulator.resources import default_data_dir
from simulator.storage import Store
from simulator.subsystems import REGISTRY
from simulator.subsystems.base import Subsystem
from simulator.traffic import TrafficLog
from simulator.world.internet import Internet
from simulator.world.network import Network

S = TypeVar("S", bound=Subsystem)


class Module:
    def __init__(
        self,
        profile: Profile,
        *,
        name: str | None = None,
        clock: Clock | None = None,
        data_dir: Path | None = None,
        log: TrafficLog | None = None,
        routes: list[str] | tuple[str, ...] = (),
    ):
        self.profile = profile
        self.name = name or profile.name
        self.clock = clock or Clock()
        self.log = log or TrafficLog()
        self.store = Store(data_dir or default_data_dir(self.name))
        self.rng = random.Random(self.name)  # every random choice is reproducible per module
        self.formatter = Formatter(profile.style)
        self.cmee = 0
        self.busy = asyncio.Lock()  # one command at a time, whichever channel it came on
        self.booting = False
        self.channels: list[Channel] = []
        self.faults = Faults(self)  # what the control surface injects; inert until it does
        self.network = Network(self.clock, profile.data.get("network", {}),
                               random.Random(f"network:{self.name}"))
        self.internet = Internet(profile.data.get("internet", {}), self.rng, list(routes))
        self.subsystems: list[Subsystem] = [REGISTRY[n](self) for n in profile.subsystems]
        self.dispatcher = Dispatcher(
            self.subsystems, profile.data.get("commands", {}).get("disable", [])
        )
        self._boot_timers: list[Timer] = []

    def get(self, kind: type[S]) -> S:
        """The subsystem of that class (or a subclass), for subsystems that work together."""
        return next(s for s in self.subsystems if isinstance(s, kind))

    # -- channels and URCs ------------------------------------------------------------------
    def attach(self, name: str, write: Callable[[bytes], None],
               flow: FlowControl | None = None) -> Channel:
        channel = Channel(self, name, write, flow)
        self.channels.append(channel)
        self.log.emit("attach", channel=name)
        return channel

    def detach(self, channel: Channel) -> None:
        channel.close()
        if channel in self.channels:
            self.channels.remove(channel)
            self.log.emit("detach", channel=channel.name)

    def urc(self, line: Info | list[Info], payload: Data | None = None) -> None:
        """An unsolicited line (or lines that belong together, like `+CMT:` and its text) to
        every channel, held back while a command runs there; `payload` is raw data that
        follows the line (+QIURC: "recv",<id>,<len> in direct-push mode)."""
        lines = line if isinstance(line, list) else [line]
        self.log.emit("urc", line="\n".join(self.formatter.info(item) for item in lines))
        for channel in list(self.channels):
            channel.deliver(line, payload)

    def urc_later(self, delay: float, line: Info | list[Info]) -> Timer:
        return self.clock.call_later(delay, self.urc, line)

    # -- the SIM as other subsystems see it -------------------------------------------------
    def sim_ready(self) -> bool:
        """Whether the SIM is present and unlocked (SMS storage, CSCA...). A subsystem that
        models the SIM answers through its `sim_ready()`; without one the SIM is ready."""
        return all(s.sim_ready() for s in self.subsystems if hasattr(s, "sim_ready"))

    # -- errors -----------------------------------------------------------------------------
    def error_reply(self, error: AtError) -> Final:
        code = error.code
        if isinstance(code, str):
            code = self.profile.error_code(code)
        if code is None:
            return ERROR
        return CmsError(code) if error.cms else CmeError(code)

    # -- V.250 settings, as AT&W saved them -------------------------------------------------
    def default_line_settings(self) -> LineSettings:
        settings = LineSettings(echo=self.profile.echo)
        sregs = self.profile.data.get("v250", {}).get("sregs", {})
        settings.sregs.update({number: spec["default"] for number, spec in sregs.items()})
        return settings

    def saved_line_settings(self) -> LineSettings:
        saved = self.store.load("v250", {})
        settings = self.default_line_settings()
        for key in ("echo", "verbose", "quiet"):
            if key in saved:
                setattr(settings, key, saved[key])
        settings.sregs.update({int(k): v for k, v in saved.get("sregs", {}).items()})
        return settings

    def save_line_settings(self, settings: LineSettings) -> None:
        self.store.save("v250", {**asdict(settings), "cmee": self.cmee})

    # -- power ------------------------------------------------------------------------------
    def boot(self) -> None:
        """Power on: every subsystem to its power-on state, then the banner on its timeline."""
        for timer in self._boot_timers:
            timer.cancel()
        self.network.reset()
        for subsystem in self.subsystems:
            subsystem.reset()
        for channel in self.channels:
            channel.reset()
        self.log.emit("boot", profile=self.profile.name)
        values = {k: v for s in self.subsystems for k, v in s.boot_values().items()}
        self._boot_timers = [self.clock.call_later(b.after, self.urc,
                                                   Info.text(b.line.format_map(values)))
                             for b in self.profile.boot if b.when is None or values.get(b.when)]

    @property
    def up(self) -> bool:
        """Out of reset, with the whole boot banner sent."""
        return not self.booting and not any(timer.armed for timer in self._boot_timers)

    def reboot(self) -> None:
        """A reset: the UART goes deaf for the reset time, then the module boots again."""
        self.booting = True
        self.log.emit("reset")
        for channel in self.channels:
            channel.line.forget()  # what the host typed ahead dies with the firmware

        def up() -> None:
            self.booting = False
            self.boot()

        self.clock.call_later(self.profile.reset_delay, up)

    def power_loss(self) -> None:
        """A brown-out: the running command gets no final result, unsaved state is lost (every
        subsystem resets at the boot that follows), then the module boots as after a reset."""
        self.log.emit("power-loss")
        for channel in self.channels:
            channel.power_loss()
        self.reboot()
