"""The clock: scaled time, timers that follow a change of scale, the settable RTC."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from simulator.clock import Clock


def test_scaled_sleep_is_faster_than_real_time() -> None:
    async def run() -> float:
        clock = Clock(scale=100)
        start = time.monotonic()
        await clock.sleep(20)  # 20 module seconds
        return time.monotonic() - start

    assert asyncio.run(run()) < 5  # 0.2 s nominal; generous for a loaded machine


def test_changing_the_scale_reschedules_pending_timers() -> None:
    async def run() -> float:
        clock = Clock(scale=1)
        fired = asyncio.Event()
        clock.call_later(3600, fired.set)
        clock.set_scale(36000)  # the hour now takes 0.1 s
        start = time.monotonic()
        await asyncio.wait_for(fired.wait(), 10)
        return time.monotonic() - start

    assert asyncio.run(run()) < 5


def test_cancelled_timer_never_fires() -> None:
    async def run() -> list[int]:
        clock = Clock(scale=1000)
        fired: list[int] = []
        timer = clock.call_later(1, fired.append, 1)
        clock.call_later(2, fired.append, 2)
        timer.cancel()
        await clock.sleep(3)
        return fired

    assert asyncio.run(run()) == [2]


def test_module_time_advances_at_the_scale() -> None:
    clock = Clock(scale=50)
    before = clock.now()
    time.sleep(0.05)
    assert clock.now() - before >= 2.5


def test_rtc_can_be_set() -> None:
    clock = Clock()
    clock.set_wall(datetime(2019, 9, 9, 1, 32, 42, tzinfo=UTC))
    assert abs((clock.wall() - datetime(2019, 9, 9, 1, 32, 42, tzinfo=UTC)).total_seconds()) < 2
