"""What every subsystem is: a cohesive piece of module state with its AT handlers beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from simulator.module import Module


class Subsystem:
    name: ClassVar[str]
    # the profile section this subsystem reads, and its schema (see simulator.profile)
    section: ClassVar[str | None] = None
    schema: ClassVar[Any] = None

    def __init__(self, module: Module):
        self.m = module

    @property
    def config(self) -> dict[str, Any]:
        return self.m.profile.data.get(self.section, {}) if self.section else {}

    def reset(self) -> None:
        """Power-on state: called at every boot, before the banner."""

    def boot_values(self) -> dict[str, Any]:
        """Values the profile's boot lines may name ("{cpin}", `when: sim_ready`)."""
        return {}

    def snapshot(self) -> dict[str, Any]:
        """This subsystem's state as plain data, for `modemsim ctl state` and tests."""
        return {}
