"""Profiles: YAML data describing one module model, with inheritance from a family base.

A profile names its base with `extends:`; mappings merge key by key, anything else replaces.
Every profile is validated on load against the core schema plus the sections its subsystems
declare, and errors name the file and the key at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from simulator.at.formatter import Style
from simulator.resources import profile_dir


class ProfileError(Exception):
    pass


class Duration:
    """Schema marker: seconds as a number or a string like "2.5s", "300ms", "2min", "20h"."""

    UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}

    @classmethod
    def parse(cls, value: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|min|h)\s*", str(value))
        if not match:
            raise ValueError(f"expected a duration like 2.5s or 300ms, got {value!r}")
        return float(match[1]) * cls.UNITS[match[2]]


CORE_SCHEMA: dict[str, Any] = {
    "extends": str,
    "abstract": bool,
    "module": str,
    "family": str,
    "description": str,
    "grammar": str,
    "subsystems": [str],
    "echo": bool,
    "line_limit": int,
    "urc_gap": Duration,
    # a line may name subsystem values ("{cpin}") and show only while a flag holds ("when")
    "boot": [{"after": Duration, "line": str, "when": str}],
    "reset_delay": Duration,
    "format": {"colon_space": bool, "colon_space_except": [str]},
    "commands": {"disable": [str]},  # handlers of a shared subsystem this model lacks
    "errors": {"names": {str: int}, "cme": {int: str}, "cms": {int: str}},
}


@dataclass(frozen=True)
class BootLine:
    after: float
    line: str
    when: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    file: Path
    data: dict[str, Any]

    @property
    def module(self) -> str:
        return self.data["module"]

    @property
    def family(self) -> str:
        return self.data["family"]

    @property
    def grammar(self) -> str:
        return self.data["grammar"]

    @property
    def subsystems(self) -> list[str]:
        return self.data["subsystems"]

    @property
    def echo(self) -> bool:
        return self.data["echo"]

    @property
    def line_limit(self) -> int:
        return self.data["line_limit"]

    @property
    def urc_gap(self) -> float:
        return Duration.parse(self.data.get("urc_gap", "5ms"))

    @property
    def reset_delay(self) -> float:
        return Duration.parse(self.data.get("reset_delay", "0.5s"))

    @property
    def boot(self) -> list[BootLine]:
        return [BootLine(Duration.parse(b["after"]), b["line"], b.get("when"))
                for b in self.data.get("boot", [])]

    @property
    def style(self) -> Style:
        fmt, errors = self.data.get("format", {}), self.data.get("errors", {})
        return Style(
            colon_space=fmt.get("colon_space", True),
            colon_space_except=frozenset(fmt.get("colon_space_except", [])),
            cme_text=dict(errors.get("cme", {})),
            cms_text=dict(errors.get("cms", {})),
        )

    def error_code(self, name: str) -> int | None:
        return self.data.get("errors", {}).get("names", {}).get(name)


REQUIRED = ("module", "family", "grammar", "subsystems", "echo", "line_limit")


def available() -> list[str]:
    """Names of the concrete profiles (family bases are abstract and not listed)."""
    names = []
    for path in sorted(profile_dir().glob("*.yaml")):
        if not _read(path).get("abstract"):
            names.append(path.stem)
    return names


@cache
def load(name: str) -> Profile:
    """A profile by name, or by the path of a YAML file (whose base may be a shipped one)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else profile_dir() / f"{name}.yaml"
    if not path.is_file():
        if path.suffix and path.parent != profile_dir():
            raise ProfileError(f"{path}: no such file")
        raise ProfileError(f"unknown profile {name!r} (known: {', '.join(available())})")
    data = _resolve(path, ())
    for key in REQUIRED:
        if key not in data:
            raise ProfileError(f"{path}: missing key {key!r}")
    validate(data, _schema(data.get("subsystems", [])), path)
    return Profile(path.stem, path, data)


def _resolve(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if path in seen:
        raise ProfileError(f"{path}: 'extends' loops back to itself")
    data = _read(path)
    base_name = data.get("extends")
    if base_name is None:
        return data
    base_path = path.parent / f"{base_name}.yaml"
    if not base_path.is_file():
        base_path = profile_dir() / f"{base_name}.yaml"
    if not base_path.is_file():
        raise ProfileError(f"{path}: extends: no profile {base_name!r}")
    merged = merge(_resolve(base_path, (*seen, path)), data)
    merged.pop("abstract", None)
    if "abstract" in data:
        merged["abstract"] = data["abstract"]
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a profile is a mapping of keys")
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _schema(subsystems: list[str]) -> dict[str, Any]:
    from simulator.subsystems import REGISTRY
    from simulator.world import internet, network

    schema = {**CORE_SCHEMA, "network": network.SCHEMA, "internet": internet.SCHEMA}
    for name in subsystems:
        cls = REGISTRY.get(name)
        if cls and cls.section:
            schema[cls.section] = cls.schema
    return schema


def validate(value: Any, schema: Any, path: Path, where: str = "") -> None:
    """Check `value` against `schema`; raise ProfileError naming the file and key."""

    def fail(message: str) -> None:
        raise ProfileError(f"{path}: {where or '<top>'}: {message}")

    if schema is Any:
        return
    if schema is Duration:
        try:
            Duration.parse(value)
        except ValueError as exc:
            fail(str(exc))
    elif isinstance(schema, list):
        if not isinstance(value, list):
            fail(f"expected a list, got {value!r}")
        for i, item in enumerate(value):
            validate(item, schema[0], path, f"{where}[{i}]")
    elif isinstance(schema, dict):
        if not isinstance(value, dict):
            fail(f"expected a mapping, got {value!r}")
        free = next((k for k in schema if isinstance(k, type)), None)
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if free is not None:
                if not isinstance(key, free):
                    raise ProfileError(f"{path}: {here}: key must be {free.__name__}")
                validate(item, schema[free], path, here)
            elif key not in schema:
                raise ProfileError(f"{path}: {here}: unknown key")
            else:
                validate(item, schema[key], path, here)
    elif schema is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            fail(f"expected a number, got {value!r}")
    elif schema in (int, str) and (not isinstance(value, schema) or isinstance(value, bool)):
        fail(f"expected {schema.__name__}, got {value!r}")
    elif schema is bool and not isinstance(value, bool):
        fail(f"expected true or false, got {value!r}")
