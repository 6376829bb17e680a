"""The moment data is about to leave the module: a subsystem that models the radio's low-power
states (PSM, idle) brings the radio up first by defining `async def uplink(self) -> None`
(EXIT PSM, +CSCON: 1), so MQTT, HTTP and sockets print their results after those URCs."""

from __future__ import annotations

from typing import Any


async def uplink(module: Any) -> None:
    for subsystem in module.subsystems:
        hook = getattr(subsystem, "uplink", None)
        if hook is not None:
            await hook()
