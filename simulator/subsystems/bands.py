"""Where the NB-IoT module may look for a cell: the band lock (AT+QBAND, saved) and the stored
frequency list (AT+QCSEARFCN clears it). Both act on the world's network: a search camps only
on a cell in a locked band, and a stale frequency list keeps every search failing until it is
cleared (world setting `network.stale_frequencies`).
"""

from __future__ import annotations

from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import EXEC, READ, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Replies
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms


class Bands(TestForms, Subsystem):
    name = "bands"
    section = "bands"
    schema: Any = {
        "supported": [int],  # the bands the module has, in the order AT+QBAND? lists them
        "searfcn_needs_cfun0": bool,  # AT+QCSEARFCN answers an error outside AT+CFUN=0
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.lock: list[int] | None = None

    def reset(self) -> None:
        self.lock = self.m.store.load("qband", None)
        self.m.network.lock_bands(self.lock)

    @property
    def supported(self) -> list[int]:
        return self.config.get("supported", [])

    @command("+QBAND", WRITE)
    def qband_write(self, count: int, *args: Any) -> Replies:
        bands = [_number(arg) for arg in args]
        if count != len(bands) or len(set(bands)) != len(bands):
            raise AtError("invalid_param")
        if not set(bands) <= set(self.supported):
            raise AtError("invalid_param")
        self.lock = list(bands) or None
        self.m.store.save("qband", self.lock)
        self.m.network.lock_bands(self.lock)
        self.m.log.emit("band-lock", bands=self.lock or "all")
        return None

    @command("+QBAND", READ)
    def qband_read(self) -> Replies:
        shown = self.lock or self.supported
        return Info.of("+QBAND", len(shown), *shown)

    @command("+QCSEARFCN", EXEC)
    def qcsearfcn(self) -> Replies:
        radio = next((s for s in self.m.subsystems if s.name == "radio"), None)
        if self.config.get("searfcn_needs_cfun0", True) and getattr(radio, "fun", 0) != 0:
            raise AtError("not_allowed")
        self.m.network.clear_frequencies()
        self.m.log.emit("frequencies-cleared")
        return None

    def snapshot(self) -> dict[str, Any]:
        return {"lock": self.lock, "frequencies_stale": self.m.network.frequencies_stale}


def _number(arg: Any) -> int:
    """An unquoted decimal parameter (the grammar leaves extra parameters as text)."""
    if isinstance(arg, Bare) and arg.isdigit():
        return int(arg)
    raise AtError("invalid_param")
