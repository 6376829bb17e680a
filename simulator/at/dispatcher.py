"""Maps (command name, kind) to the handler that a subsystem declared next to its state.

A handler is a method decorated with @command. Its parameters after `self` are the command's
arguments, converted by annotation (int accepts decimal or 0x hex, str accepts quoted or bare
text); a parameter named `ctx` receives the Context instead. It returns reply values.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from simulator.at.command import Arg, Bare, Command, Kind
from simulator.at.errors import AtError
from simulator.at.replies import Replies

TEST, READ, WRITE, EXEC = Kind.TEST, Kind.READ, Kind.WRITE, Kind.EXEC
_MARK = "_at_commands"


def command(name: str, *kinds: Kind) -> Callable[[Callable], Callable]:
    """Declare a handler for `name` (as typed after AT: "+CSQ", "E", "&W") and its kinds."""

    def mark(func: Callable) -> Callable:
        getattr(func, _MARK, None) or setattr(func, _MARK, [])
        getattr(func, _MARK).extend((name.upper(), kind) for kind in kinds or (EXEC,))
        return func

    return mark


@dataclass
class Context:
    """What a handler may need besides its arguments: the command and the channel it came on."""

    command: Command
    channel: Any  # simulator.channel.Channel; Any to keep the AT layer free of the port layer


Handler = Callable[..., Replies]


class Dispatcher:
    def __init__(self, owners: Iterable[object], disabled: Iterable[str] = ()):
        self._table: dict[tuple[str, Kind], Handler] = {}
        for owner in owners:
            for _, method in inspect.getmembers(owner, inspect.ismethod):
                for key in getattr(method, _MARK, ()):
                    self._table[key] = method  # later owners override earlier ones
            # handlers whose command names come from profile data
            for name, kind, handler in getattr(owner, "data_handlers", lambda: ())():
                self._table[(name, kind)] = handler
        off = {name.upper() for name in disabled}  # what this model lacks of a shared set
        self._table = {key: h for key, h in self._table.items() if key[0] not in off}

    def knows(self, name: str) -> bool:
        return any(key[0] == name for key in self._table)

    def lookup(self, cmd: Command) -> Handler | None:
        handler = self._table.get((cmd.name, cmd.kind))
        if handler is None and cmd.name.startswith("S") and cmd.name[1:].isdigit():
            handler = self._table.get(("S", cmd.kind))  # one handler serves every S-register
        return handler

    def call(self, handler: Handler, ctx: Context) -> Replies | Awaitable[Replies]:
        """The handler's replies; a coroutine handler's awaitable, for the caller to await."""
        try:
            args = bind(handler, ctx)
        except AtError as error:
            # a subsystem may answer bad arguments its own way (QI commands: ERROR + 552)
            hook = getattr(getattr(handler, "__self__", None), "bind_error", None)
            raise (hook(ctx, error) if hook else error) from None
        return handler(*args)


@dataclass(frozen=True)
class _Param:
    name: str
    wanted: frozenset[type] | None  # None: Any, the handler reads the raw argument
    default: Any
    rest: bool  # *args: takes every remaining argument as typed


@dataclass(frozen=True)
class _Plan:
    """How a handler's parameters take a command's arguments (worked out once per function)."""

    params: tuple[_Param, ...]
    wants_ctx: bool


def _plan(handler: Handler) -> _Plan:
    func = getattr(handler, "__func__", handler)
    plan = getattr(func, "_at_plan", None)
    if plan is None:
        hints = typing.get_type_hints(func)
        params = []
        for p in inspect.signature(handler).parameters.values():
            if p.name == "ctx":
                continue
            hint = hints.get(p.name, str)
            wanted = None if hint is Any else frozenset(
                t for t in typing.get_args(hint) if t is not type(None)) or frozenset({hint})
            params.append(_Param(p.name, wanted, p.default, p.kind is p.VAR_POSITIONAL))
        plan = _Plan(tuple(params), "ctx" in inspect.signature(handler).parameters)
        func._at_plan = plan
    return plan


def bind(handler: Handler, ctx: Context) -> list[Any]:
    """Convert the command's arguments to the handler's parameters, or raise invalid_param."""
    plan = _plan(handler)
    args = ctx.command.args
    if len(args) > len(plan.params) and not any(p.rest for p in plan.params):
        raise AtError("invalid_param")
    values: list[Any] = [ctx] if plan.wants_ctx else []
    for i, param in enumerate(plan.params):
        if param.rest:
            values.extend(args[i:])
            break
        arg = args[i] if i < len(args) else None
        if arg is None:
            if param.default is inspect.Parameter.empty:
                raise AtError("invalid_param")
            values.append(param.default)
        else:
            values.append(_convert(arg, param.wanted))
    return values


def _convert(arg: Arg, wanted: frozenset[type] | None) -> Any:
    if wanted is None:
        return arg  # the handler reads the raw argument itself
    if isinstance(arg, int):
        if int in wanted:
            return arg
        raise AtError("invalid_param")
    if int in wanted and isinstance(arg, Bare):
        try:
            return int(arg, 16) if arg[:2].lower() == "0x" else int(arg, 10)
        except ValueError:
            if str not in wanted:
                raise AtError("invalid_param") from None
    if str in wanted and isinstance(arg, str):
        return arg
    raise AtError("invalid_param")
