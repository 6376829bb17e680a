"""The one owner of time: module time runs `scale` times faster than the host's monotonic clock.

Every delay in the simulator (boot, registration, URC after OK, PSM timers, prompt time-outs)
goes through a Clock, so a 20-hour TAU runs in seconds under test. Timers are kept in module
time, which lets the scale change while they are pending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


class Timer:
    """A callback due at a module time; cancellable, re-armed when the scale changes."""

    def __init__(self, clock: Clock, due: float, callback: Callable[..., Any], args: tuple):
        self.clock = clock
        self.due = due
        self._callback = callback
        self._args = args
        self._handle: asyncio.TimerHandle | None = None
        self.cancelled = False

    def remaining(self) -> float:
        return max(0.0, self.due - self.clock.now())

    @property
    def armed(self) -> bool:
        """Still to fire (neither fired nor cancelled)."""
        return self in self.clock._timers

    @property
    def name(self) -> str:
        """What the timer will do, for the control surface's `state`."""
        target = getattr(self._callback, "__qualname__", type(self._callback).__name__)
        return target if not self._args else f"{target}{self._args!r}"

    def cancel(self) -> None:
        self.cancelled = True
        if self._handle:
            self._handle.cancel()
        self.clock._timers.discard(self)

    def _arm(self) -> None:
        if self._handle:
            self._handle.cancel()
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(self.clock.to_host(self.remaining()), self._fire)

    def _fire(self) -> None:
        self.clock._timers.discard(self)
        if not self.cancelled:
            self._callback(*self._args)


class Clock:
    """Scaled module time plus a settable real-time clock (what AT+CCLK reads)."""

    def __init__(self, scale: float = 1.0):
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._scale = scale
        self._host_origin = time.monotonic()
        self._module_origin = 0.0
        self._timers: set[Timer] = set()
        self._wall_origin = time.time()
        self._rtc_offset = 0.0  # seconds AT+CCLK or NTP moved the RTC away from host time

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        """Module time in seconds since the clock was made."""
        return self._module_origin + (time.monotonic() - self._host_origin) * self._scale

    def to_host(self, module_seconds: float) -> float:
        return module_seconds / self._scale

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._module_origin = self.now()
        self._host_origin = time.monotonic()
        self._scale = scale
        for timer in list(self._timers):
            timer._arm()

    def pending(self) -> list[Timer]:
        """The armed timers, soonest first."""
        return sorted(self._timers, key=lambda timer: timer.due)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(self, self.now() + max(0.0, delay), callback, args)
        self._timers.add(timer)
        timer._arm()
        return timer

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        done = asyncio.get_running_loop().create_future()
        timer = self.call_later(delay, lambda: done.done() or done.set_result(None))
        try:
            await done
        finally:
            timer.cancel()

    # The module's RTC: host wall time advanced at the scaled rate, settable by AT+CCLK / NTP.
    def wall(self) -> datetime:
        seconds = self._wall_origin + self.now() + self._rtc_offset
        return datetime.fromtimestamp(0, UTC) + timedelta(seconds=seconds)

    def set_wall(self, when: datetime) -> None:
        self._rtc_offset = when.timestamp() - self._wall_origin - self.now()
