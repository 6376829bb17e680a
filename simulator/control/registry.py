"""The verbs of the control surface, declared once and reached three ways (control socket and
`modemsim ctl`, the Python API, scenario files).

A verb is a function `f(module, POSITIONAL..., *, OPTION...)` registered with `@verb(NAME)`.
Its signature is its interface: positional parameters are the verb's positional arguments,
keyword-only ones its `--options` (a bool is a flag, a `Literal` a choice), both typed by their
annotations. The same names key JSON requests and scenario mappings (a trailing underscore,
which Python needs for `from_` or `id_`, is dropped: `--from`, `"from"`).
"""

from __future__ import annotations

import argparse
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

if typing.TYPE_CHECKING:
    from simulator.module import Module


class VerbError(Exception):
    """A verb refused: unknown, a bad argument, or not available on this module."""


class UsageError(VerbError):
    """The request itself is wrong (unknown verb, bad argument): exit status 2 in the CLI."""


@dataclass(frozen=True)
class Capability:
    """What a verb needs from the module's subsystems: the methods one of them must have.

    Verbs find their subsystem by these methods, so a subsystem serves the control surface by
    providing them; a module without one answers `not available`.
    """

    what: str  # how the error names it: "this profile has no SIM"
    methods: tuple[str, ...]

    def provider(self, m: Module) -> Any:
        for subsystem in m.subsystems:
            if all(callable(getattr(subsystem, name, None)) for name in self.methods):
                return subsystem
        raise VerbError(f"not available: profile {m.profile.name} has no {self.what}")


@dataclass(frozen=True)
class Param:
    name: str  # the Python parameter name
    kind: Any  # str, int, float, bool, or a Literal
    positional: bool
    required: bool

    @property
    def key(self) -> str:
        """Its name in JSON requests and scenario mappings."""
        return self.name.rstrip("_")

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def shown(self) -> str:
        """How the command line spells it: CID, --rssi."""
        return self.key.upper() if self.positional else self.flag

    def convert(self, verb: str, value: Any) -> Any:
        """A JSON / YAML value checked against the annotation (no silent coercion)."""
        kind, shown = self.kind, self.shown
        if typing.get_origin(kind) is Literal:
            if value not in typing.get_args(kind):
                choices = ", ".join(typing.get_args(kind))
                raise UsageError(f"{verb}: {shown} must be one of {choices}, got {value!r}")
            return value
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
        raise UsageError(f"{verb}: {shown} expects {names[kind]}, got {value!r}")


@dataclass(frozen=True)
class Verb:
    name: str  # as typed: "network register", "time-scale"
    func: Callable[..., dict[str, Any] | None]
    params: tuple[Param, ...]
    needs: Capability | None
    check: Callable[..., Any] | None  # validates arguments without a module (scenarios)

    @property
    def method(self) -> str:
        """The Python API's method name."""
        return self.name.replace(" ", "_").replace("-", "_")

    @property
    def summary(self) -> str:
        return (inspect.getdoc(self.func) or "").split("\n")[0]

    def bind(self, args: Any) -> dict[str, Any]:
        """JSON / YAML arguments (keyed by `Param.key`) as keyword arguments of `func`."""
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise UsageError(f"{self.name}: arguments must be a mapping, got {args!r}")
        by_key = {p.key: p for p in self.params}
        unknown = sorted(set(args) - set(by_key))
        if unknown:
            known = ", ".join(by_key) or "none"
            raise UsageError(f"{self.name}: unknown argument {unknown[0]!r} (known: {known})")
        bound = {}
        for param in self.params:
            if args.get(param.key) is not None:
                bound[param.name] = param.convert(self.name, args[param.key])
            elif param.required:  # null counts as not given
                raise UsageError(f"{self.name}: {param.shown} is required")
        self.validate(bound)
        return bound

    def validate(self, bound: dict[str, Any]) -> None:
        if self.check is None:
            return
        try:
            self.check(**bound)
        except ValueError as exc:
            raise UsageError(f"{self.name}: {exc}") from None

    # -- the command-line form --------------------------------------------------------------
    def argparser(self, prog: str) -> argparse.ArgumentParser:
        parser = _Parser(prog=f"{prog} {self.name}", description=inspect.getdoc(self.func),
                         add_help=False)  # -h must not exit a server or a scenario loader
        for p in self.params:
            if p.positional:
                parser.add_argument(p.name, metavar=p.key.upper(), type=_argtype(p.kind),
                                    nargs=None if p.required else "?", default=None,
                                    choices=_choices(p.kind))
            elif p.kind is bool:
                parser.add_argument(p.flag, dest=p.name, action="store_true", default=None)
            else:
                parser.add_argument(p.flag, dest=p.name, metavar=p.key.upper(),
                                    type=_argtype(p.kind), choices=_choices(p.kind),
                                    required=p.required, default=None)
        return parser

    def parse_argv(self, argv: list[str], prog: str = "modemsim ctl TARGET") -> dict[str, Any]:
        """Command-line words after the verb name as JSON arguments (keyed by `Param.key`)."""
        try:
            namespace = self.argparser(prog).parse_args(argv)
        except _ArgvError as exc:
            raise UsageError(f"{self.name}: {exc}") from None
        by_name = {p.name: p for p in self.params}
        return {by_name[k].key: v for k, v in vars(namespace).items() if v is not None}


class _ArgvError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting (the server parses too)."""

    def error(self, message: str) -> typing.NoReturn:
        raise _ArgvError(message)


def _argtype(kind: Any) -> Callable[[str], Any]:
    return str if typing.get_origin(kind) is Literal else kind


def _choices(kind: Any) -> tuple[str, ...] | None:
    return typing.get_args(kind) if typing.get_origin(kind) is Literal else None


VERBS: dict[str, Verb] = {}


def verb(name: str, *, needs: Capability | None = None,
         check: Callable[..., Any] | None = None) -> Callable[[Callable], Callable]:
    """Register a verb; see the module docstring for how its signature becomes its syntax."""

    def register(func: Callable) -> Callable:
        VERBS[name] = Verb(name, func, tuple(_params(func)), needs, check)
        return func

    return register


def _params(func: Callable) -> Iterable[Param]:
    for i, p in enumerate(inspect.signature(func).parameters.values()):
        if i == 0:
            continue  # the module, or the subsystem serving the verb
        kind = eval(p.annotation, func.__globals__) if isinstance(p.annotation, str) else (
            p.annotation)
        if typing.get_origin(kind) in (typing.Union, types.UnionType):  # X | None
            kind = next(t for t in typing.get_args(kind) if t is not type(None))
        yield Param(p.name, kind, p.kind is p.POSITIONAL_OR_KEYWORD, p.default is p.empty)


def lookup(name: Any) -> Verb:
    if not isinstance(name, str) or name not in VERBS:
        raise UsageError(f"unknown verb {name!r} (known: {', '.join(VERBS)})")
    return VERBS[name]


def split_argv(words: list[str]) -> tuple[Verb, list[str]]:
    """The verb named by the first words (`network register --roaming`) and the rest."""
    for size in (2, 1):
        name = " ".join(words[:size])
        if len(words) >= size and name in VERBS:
            return VERBS[name], words[size:]
    raise UsageError(f"unknown verb {' '.join(words[:2]) or '(none)'!r} "
                     f"(known: {', '.join(VERBS)})")
