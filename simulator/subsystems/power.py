"""Power and resets: the commands that reboot the module (which ones is profile data), and the
boot banner that follows. The NB-IoT power model (PSM, deep sleep) grows here.
"""

from __future__ import annotations

from typing import Any

from simulator.at.command import Kind
from simulator.at.dispatcher import Context
from simulator.at.errors import AtError
from simulator.at.parser import parse
from simulator.subsystems.base import Subsystem


class Power(Subsystem):
    name = "power"
    section = "power"
    schema: Any = {"reset_commands": [str]}  # command lines that reboot (after their OK)

    def data_handlers(self) -> list[tuple[str, Kind, Any]]:
        self._resets = [parse(self.m.profile.grammar, c)[0] for c in self.config.get(
            "reset_commands", [])]
        return [(cmd.name, cmd.kind, self.reset_command) for cmd in self._resets]

    def reset_command(self, ctx: Context, *args: Any) -> None:
        if str(ctx.command) not in {str(c) for c in self._resets}:
            raise AtError("invalid_param")
        # deaf from now on; the OK of this command still goes out, as on the real module
        self.m.reboot()
