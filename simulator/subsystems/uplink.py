"""The moment data is about to leave the module: a subsystem that models the radio's low-power
states (PSM, idle) brings the radio up first by defining `async def uplink(self) -> None`
(EXIT PSM, +CSCON: 1), so MQTT, HTTP and sockets print their results after those URCs.
`carried` tells whether the context an application names has an address to send from.

A command whose last packet carries the Release Assistance Indication (AT+QPING's <RAI>, a
send's <RAI>) calls `release_assistance(module, rai)` once that packet is out: the subsystem
that models the RRC connection (`release_assistance(self, rai)`) lets the network release it."""

from __future__ import annotations

from typing import Any

from simulator.subsystems.pdp import Bearer


def uplink_ready(module: Any) -> bool:
    """Whether data may go out at once (an open connection is kept up for it); False: the
    radio must come up first, `await uplink(module)` (a send accepted locally in PSM)."""
    return all(hook() for subsystem in module.subsystems
               if (hook := getattr(subsystem, "uplink_ready", None)) is not None)


async def uplink(module: Any) -> None:
    for subsystem in module.subsystems:
        hook = getattr(subsystem, "uplink", None)
        if hook is not None:
            await hook()


def release_assistance(module: Any, rai: int) -> None:
    """RAI 1: no more data either way; 2: only the one reply to come. 0 asks for nothing."""
    if not rai:
        return
    for subsystem in module.subsystems:
        hook = getattr(subsystem, "release_assistance", None)
        if hook is not None:
            hook(rai)


def carried(module: Any, cid: int | None) -> bool:
    """Whether context `cid` (None: the bearer's default) is up; a module that models no bearer
    is always connected."""
    bearer = next((s for s in module.subsystems if isinstance(s, Bearer)), None)
    if bearer is None:
        return True
    return bearer.address(bearer.default if cid is None else cid) is not None
