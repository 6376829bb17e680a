"""Waiting on the network with a limit in module time (response times, packet time-outs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from simulator.clock import Clock

T = TypeVar("T")


async def within(clock: Clock, work: Awaitable[T], seconds: float) -> T:
    """Await `work` for at most `seconds` of module time; TimeoutError after that."""
    task = asyncio.ensure_future(work)
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = clock.call_later(seconds, expire)
    try:
        return await task
    except asyncio.CancelledError:
        if expired:
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()
