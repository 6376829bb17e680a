"""Test helper: a module run inside the test process, on its real PTY, with its asyncio loop on
a thread of its own. Tests talk to it over the PTY with pyserial like any host, and call into
the module (deliver an SMS, register on the network) the way the control surface will.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import serial
from modem import Port

from simulator.runner import Options, Simulation

T = TypeVar("T")


class LiveModule:
    def __init__(self, profile: str, data_dir: Path, time_scale: float = 50.0):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        options = Options(profile=profile, data_dir=data_dir, time_scale=time_scale)
        self.simulation: Simulation = self._run(Simulation.start(options))
        self.module = self.simulation.module
        self.ports: list[Port] = []

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `function` on the module's loop thread and return what it returns."""

        async def invoke() -> T:
            return function(*args, **kwargs)

        return self._run(invoke())

    def open(self) -> Port:
        port = Port(serial.Serial(self.simulation.port_path, timeout=0.05))
        self.ports.append(port)
        return port

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        for port in self.ports:
            port.close()
        self._run(self.simulation.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
