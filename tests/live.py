"""A simulation inside the test process, for tests that act on the world the way the control
surface will (the network takes a PDP context away): its event loop runs on a thread, and the
test talks to the module over the real PTY with pyserial, as everywhere else.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import serial
from atport import AtPort
from modem import Port

from simulator.runner import Options, Simulation

T = TypeVar("T")


class Live:
    def __init__(self, profile: str, data_dir: Path, routes: list[str], scale: float):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        options = Options(profile=profile, data_dir=data_dir, time_scale=scale, routes=routes)
        self.simulation = asyncio.run_coroutine_threadsafe(
            Simulation.start(options), self.loop).result(20)
        self.port = AtPort(Port(serial.Serial(self.simulation.port_path, timeout=0.05)))

    @property
    def module(self) -> Any:
        return self.simulation.module

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run `func(*args)` on the simulation's loop and return its result."""

        async def run() -> T:
            return func(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(20)

    def close(self) -> None:
        self.port.close()
        asyncio.run_coroutine_threadsafe(self.simulation.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(20)
        self.loop.close()
