"""Socket service options of Quectel modules: AT+QICFG (one table of keys per family, each key
a few integers with their ranges and defaults, not saved) and AT+QISDE (echo of data typed
after the `>` prompt). The socket handlers read the values where they act.
"""

from __future__ import annotations

from typing import Any

from simulator.at.dispatcher import READ, TEST, WRITE, command
from simulator.at.replies import Info, Quoted, Replies
from simulator.subsystems.qi_errors import QiSubsystem


class QiConfig(QiSubsystem):
    name = "qi_config"
    section = "qi_config"
    schema: Any = {
        # key as the test response spells it -> one [min, max, default] per value
        "options": {str: [[int]]},
        "data_echo": bool,  # AT+QISDE at power-on
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.values: dict[str, list[int]] = {}
        self.data_echo = True

    def reset(self) -> None:
        self.values = {key: [spec[2] for spec in specs] for key, specs in self._options().items()}
        self.data_echo = self.config.get("data_echo", True)

    def _options(self) -> dict[str, list[list[int]]]:
        return self.config.get("options", {})

    def _key(self, typed: str) -> str | None:
        return next((k for k in self._options() if k.lower() == typed.lower()), None)

    def has(self, key: str) -> bool:
        return self._key(key) is not None

    def get(self, key: str, index: int = 0, default: int = 0) -> int:
        """A value by key (any case); `default` when this family has no such key."""
        found = self._key(key)
        return self.values[found][index] if found else default

    @command("+QICFG", TEST)
    def qicfg_test(self) -> Replies:
        return [Info.of("+QICFG", Quoted(key), *(_range(spec) for spec in specs))
                for key, specs in self._options().items()]

    @command("+QICFG", WRITE)
    def qicfg(self, key: str, *values: Any) -> Replies:
        self.errors.succeed()
        found = self._key(key)
        specs = self._options().get(found or "", [])
        given = list(values)
        while given and given[-1] is None:
            given.pop()
        if found is None or len(given) > len(specs):
            raise self.fail("invalid_param")
        if not given:
            return Info.of("+QICFG", Quoted(found), *self.values[found])
        new = list(self.values[found])
        for i, (raw, spec) in enumerate(zip(given, specs, strict=False)):
            if raw is None:
                continue  # an omitted value keeps what it was
            number = _int(raw)
            if number is None or not spec[0] <= number <= spec[1]:
                raise self.fail("invalid_param")
            new[i] = number
        self.values[found] = new
        return None

    @command("+QISDE", WRITE)
    def qisde(self, echo: int) -> None:
        self.errors.succeed()
        if echo not in (0, 1):
            raise self.fail("invalid_param")
        self.data_echo = bool(echo)

    @command("+QISDE", READ)
    def qisde_read(self) -> Replies:
        return Info.of("+QISDE", int(self.data_echo))

    @command("+QISDE", TEST)
    def qisde_test(self) -> Replies:
        return Info.of("+QISDE", "(0,1)")

    def snapshot(self) -> dict[str, Any]:
        return {"options": dict(self.values), "data_echo": self.data_echo}


def _range(spec: list[int]) -> str:
    low, high = spec[0], spec[1]
    return f"({low},{high})" if high - low == 1 else f"({low}-{high})"


def _int(raw: Any) -> int | None:
    text = str(raw)
    return int(text) if text.isdigit() else None
