"""One module's control surface: runs verbs on it and leaves each in the traffic log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.control.registry import VerbError, lookup

if TYPE_CHECKING:
    from simulator.module import Module


class Control:
    def __init__(self, module: Module):
        self.m = module

    def run(self, name: Any, args: Any = None, source: str = "api") -> dict[str, Any]:
        """Run verb `name` with JSON-style `args`; VerbError (UsageError) when it cannot."""
        spec = lookup(name)
        bound = spec.bind(args)
        target = spec.needs.provider(self.m) if spec.needs else self.m
        self.m.log.emit("control", verb=spec.name, args=args or {}, source=source)
        try:
            result = spec.func(target, **bound)
        except (ValueError, LookupError) as exc:  # the model's word on a bad id or state
            raise VerbError(f"{spec.name}: {exc}") from None
        # a verb served by a subsystem answers with that subsystem's state
        return result if result is not None else {target.name: target.snapshot()}
