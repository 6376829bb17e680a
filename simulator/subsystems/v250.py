"""V.250 basic settings: echo, result format, quiet mode, S-registers, profiles (&W, Z, &F),
and the CMEE error mode. The per-channel settings live in the channel's LineSettings.
"""

from __future__ import annotations

from typing import Any

from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, Context, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Replies
from simulator.subsystems.base import Subsystem


class V250(Subsystem):
    name = "v250"
    section = "v250"
    schema: Any = {
        "cmee": int,  # the AT+CMEE mode at power-on
        "sregs": {int: {"default": int, "min": int, "max": int}},
        "exec_means": {str: int},  # what a bare basic command means (Neoway: ATQ is ATQ1)
        "basic": {str: int},  # other basic commands it keeps (X, L, M, &C, &D...): highest value
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.basic: dict[str, int] = {}

    def reset(self) -> None:
        self.basic = {}
        self.m.cmee = self.m.store.load("v250", {}).get("cmee", self.config.get("cmee", 0))

    def _flag(self, ctx: Context, attr: str, value: int | None) -> None:
        if value is None:
            value = self.config.get("exec_means", {}).get(ctx.command.name, 0)
        if value not in (0, 1):
            raise AtError("invalid_param")
        setattr(ctx.channel.settings, attr, bool(value))

    @command("E", WRITE, EXEC)
    def echo(self, ctx: Context, value: int | None = None) -> None:
        self._flag(ctx, "echo", value)

    @command("V", WRITE, EXEC)
    def verbose(self, ctx: Context, value: int | None = None) -> None:
        self._flag(ctx, "verbose", value)

    @command("Q", WRITE, EXEC)
    def quiet(self, ctx: Context, value: int | None = None) -> None:
        self._flag(ctx, "quiet", value)

    def _sreg(self, ctx: Context) -> tuple[int, dict[str, int]]:
        number = int(ctx.command.name[1:])
        spec = self.config.get("sregs", {}).get(number)
        if spec is None:
            raise AtError("invalid_param")
        return number, spec

    @command("S", READ)
    def sreg_read(self, ctx: Context) -> Replies:
        number, spec = self._sreg(ctx)
        return Info.text(f"{ctx.channel.settings.sregs.get(number, spec['default']):03d}")

    @command("S", WRITE)
    def sreg_write(self, ctx: Context, value: int) -> None:
        number, spec = self._sreg(ctx)
        if not spec.get("min", 0) <= value <= spec.get("max", 255):
            raise AtError("invalid_param")
        ctx.channel.settings.sregs[number] = value

    @command("Z", WRITE, EXEC)
    def restore(self, ctx: Context, value: int = 0) -> None:
        ctx.channel.reset()
        self.m.cmee = self.m.store.load("v250", {}).get("cmee", self.config.get("cmee", 0))

    @command("&F", WRITE, EXEC)
    def factory(self, ctx: Context, value: int = 0) -> None:
        for key, item in vars(self.m.default_line_settings()).items():
            setattr(ctx.channel.settings, key, item)
        self.m.cmee = self.config.get("cmee", 0)
        self.basic = {}

    @command("&W", WRITE, EXEC)
    def save(self, ctx: Context, value: int = 0) -> None:
        self.m.save_line_settings(ctx.channel.settings)

    def data_handlers(self) -> list[tuple[str, Any, Any]]:
        """The other basic commands the module accepts and remembers (ATX4, AT&C1...)."""
        return [(name.upper(), kind, self._store_basic) for name in self.config.get("basic", {})
                for kind in (WRITE, EXEC)]

    def _store_basic(self, ctx: Context, value: int = 0) -> None:
        highest = {k.upper(): v for k, v in self.config["basic"].items()}[ctx.command.name]
        if not 0 <= value <= highest:
            raise AtError("invalid_param")
        self.basic[ctx.command.name] = value

    @command("+CMEE", WRITE)
    def cmee_write(self, n: int = 0) -> None:
        if n not in (0, 1, 2):
            raise AtError("invalid_param")
        self.m.cmee = n

    @command("+CMEE", READ)
    def cmee_read(self) -> Replies:
        return Info.of("+CMEE", self.m.cmee)

    @command("+CMEE", TEST)
    def cmee_test(self) -> Replies:
        return Info.of("+CMEE", "(0-2)")


class QEcho(Subsystem):
    """AT+QECHO (Quectel Wi-Fi modules): echo for every channel, saved at once."""

    name = "qecho"

    @command("+QECHO", WRITE)
    def qecho(self, enable: int) -> None:
        if enable not in (0, 1):
            raise AtError("invalid_param")
        saved = self.m.store.load("v250", {})
        self.m.store.save("v250", {**saved, "echo": bool(enable)})
        for channel in self.m.channels:
            channel.settings.echo = bool(enable)
