"""Quectel's system configuration keys (AT+QCFG="<key>"[,<value>]): a table of named integer
settings, saved as the module saves them. Which keys a model has, their defaults and ranges are
profile data; the subsystems that act on a key read it with `value()` (deep sleep reads
"dsevent" and "wakeupRXD").
"""

from __future__ import annotations

from typing import Any

from simulator.at.dispatcher import READ, TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.subsystems.base import Subsystem


class SystemConfig(Subsystem):
    name = "qcfg"
    section = "qcfg"
    schema: Any = {"keys": {str: {"default": int, "range": [int]}}}

    def __init__(self, module: Any):
        super().__init__(module)
        self.values: dict[str, int] = {}

    def reset(self) -> None:
        saved = self.m.store.load("qcfg", {})
        self.values = {key: saved.get(key, spec.get("default", 0))
                       for key, spec in self._keys().items()}

    def _keys(self) -> dict[str, dict[str, Any]]:
        return self.config.get("keys", {})

    def value(self, key: str) -> int:
        return self.values.get(key, self._keys().get(key, {}).get("default", 0))

    def _key(self, name: str) -> str:
        """The key as the profile spells it (the module takes any letter case)."""
        found = next((key for key in self._keys() if key.lower() == name.lower()), None)
        if found is None:
            raise AtError("invalid_param")
        return found

    @command("+QCFG", WRITE)
    def qcfg_write(self, name: str, value: int | None = None) -> Replies:
        key = self._key(name)
        if value is None:
            return Info.of("+QCFG", Quoted(key), self.values[key])
        low, high = self._keys()[key].get("range", [0, 1])
        if not low <= value <= high:
            raise AtError("invalid_param")
        self.values[key] = value
        self.m.store.save("qcfg", self.values)
        self.m.log.emit("qcfg", key=key, value=value)
        return None

    @command("+QCFG", READ)
    def qcfg_read(self) -> Replies:
        return [Info.of("+QCFG", Quoted(key), value) for key, value in self.values.items()]

    @command("+QCFG", TEST)
    def qcfg_test(self) -> Replies:
        lines = []
        for key, spec in self._keys().items():
            low, high = spec.get("range", [0, 1])
            lines.append(Info.of("+QCFG", Quoted(key), f"({low}-{high})"))
        return lines

    def snapshot(self) -> dict[str, Any]:
        return dict(self.values)
