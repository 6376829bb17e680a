"""The moment data is about to leave the module: a subsystem that models the radio's low-power
states (PSM, idle) brings the radio up first by defining `async def uplink(self) -> None`
(EXIT PSM, +CSCON: 1), so MQTT, HTTP and sockets print their results after those URCs.
`carried` tells whether the context an application names has an address to send from."""

from __future__ import annotations

from typing import Any

from simulator.subsystems.pdp import Bearer


async def uplink(module: Any) -> None:
    for subsystem in module.subsystems:
        hook = getattr(subsystem, "uplink", None)
        if hook is not None:
            await hook()


def carried(module: Any, cid: int | None) -> bool:
    """Whether context `cid` (None: the bearer's default) is up; a module that models no bearer
    is always connected."""
    bearer = next((s for s in module.subsystems if isinstance(s, Bearer)), None)
    if bearer is None:
        return True
    return bearer.address(bearer.default if cid is None else cid) is not None
