"""Test helpers for the control surface: verbs over a module's real control socket, a booted
port, and waiting on a condition (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from modem import Port

from simulator.api import Modem
from simulator.control import VERBS
from simulator.control.client import request

T = TypeVar("T")


def ctl(modem: Modem, verb: str, *positional: Any, **options: Any) -> dict[str, Any]:
    """One verb over the control socket (JSON lines), as `modemsim ctl` sends it."""
    names = [p.key for p in VERBS[verb].params if p.positional][:len(positional)]
    args = dict(zip(names, positional, strict=True))
    return request(modem.control_path, verb, {**args, **options})


def wait_for(probe: Callable[[], T], timeout: float = 10.0) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
    return value


def settled(modem: Modem) -> bool:
    """Booted, and nothing due soon (the banner and anything else boot set off is out)."""
    state = ctl(modem, "state")
    return state["up"] and all(t["remaining"] > 10 for t in state["timers"])


def booted(modem: Modem, echo: bool = False) -> Port:
    """The module's PTY once its boot banner is out (consumed), echo off unless asked."""
    port = Port(modem.open_serial(timeout=0.05))
    wait_for(lambda: settled(modem))
    port.command("AT" if echo else "ATE0")  # whatever of the banner arrived goes with it
    return port
