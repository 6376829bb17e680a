"""Keyed configuration commands (AT+QSSLCFG, AT+QMTCFG, AT+QHTTPCFG): a key names a setting
of one or more values; giving the values sets them, leaving them out queries them.

Which keys a family has, their defaults and their ranges are profile data:

    keys:
      keepalive: {values: [120], ranges: [[0, 3600]]}
      will: {values: [0, 0, 0, "", ""], ranges: [[0, 1], [0, 2], [0, 1]]}

A default that is a string makes that value a string; the others are integers (decimal or
0x hex). `ranges` bounds the integers in order; a value without a range is free.
"""

from __future__ import annotations

from typing import Any

from simulator.at.command import Arg, Bare
from simulator.at.errors import AtError

KEY_SCHEMA: Any = {str: {"values": [Any], "ranges": [[int]], "min": int}}


def to_int(arg: Arg) -> int:
    """A numeric argument as typed (decimal, or 0x hex as the cipher suites are written)."""
    if isinstance(arg, int):
        return arg
    if isinstance(arg, Bare):
        text = str(arg)
        try:
            return int(text, 16) if text[:2].lower() == "0x" else int(text, 10)
        except ValueError:
            pass
    raise AtError("invalid_param")


def to_str(arg: Arg) -> str:
    if arg is None or isinstance(arg, int):
        raise AtError("invalid_param")
    return str(arg)


class KeyTable:
    """The settings of one configurable thing (an MQTT client, an SSL context...)."""

    def __init__(self, specs: dict[str, dict[str, Any]]):
        self.specs = {key.lower(): spec for key, spec in specs.items()}
        self.values: dict[str, list[Any]] = {k: list(s["values"]) for k, s in self.specs.items()}

    def knows(self, key: str) -> bool:
        return key.lower() in self.specs

    def get(self, key: str) -> list[Any]:
        return self.values[key.lower()]

    def first(self, key: str) -> Any:
        return self.values[key.lower()][0]

    def set(self, key: str, args: list[Arg]) -> None:
        """Set the values given (a prefix of the key's values); AtError on a bad one."""
        key = key.lower()
        spec = self.specs.get(key)
        if spec is None:
            raise AtError("invalid_param")
        defaults = spec["values"]
        if len(args) > len(defaults) or len(args) < spec.get("min", 1):
            raise AtError("invalid_param")
        ranges = spec.get("ranges", [])
        new = list(self.values[key])
        for i, arg in enumerate(args):
            if arg is None:
                continue  # an empty field keeps the value
            if isinstance(defaults[i], str):
                new[i] = to_str(arg)
                continue
            value = to_int(arg)
            if i < len(ranges) and not ranges[i][0] <= value <= ranges[i][1]:
                raise AtError("invalid_param")
            new[i] = value
        self.values[key] = new
