"""Small pieces the cellular subsystems share: string parameters that a family insists be
quoted, and test-form (`=?`) answers written in the profile.
"""

from __future__ import annotations

from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import TEST
from simulator.at.errors import AtError
from simulator.at.replies import Info, Replies

# command -> the text after "+CMD: " ("" answers a bare OK; one line per "\n")
TESTS_SCHEMA: Any = {str: str}


def text(value: str, strict: bool) -> str:
    """A string parameter. Neoway rejects 27.007 strings given without quotes."""
    if strict and isinstance(value, Bare):
        raise AtError("invalid_param")
    return str(value)


class TestForms:
    """Mixin: answer `AT+CMD=?` from the subsystem's `tests:` profile table."""

    config: dict[str, Any]

    def data_handlers(self) -> list[tuple[str, Any, Any]]:
        return [(name.upper(), TEST, self._test_form) for name in self.config.get("tests", {})]

    def _test_form(self, ctx: Any, *args: Any) -> Replies:
        body = self.config["tests"][next(k for k in self.config["tests"]
                                         if k.upper() == ctx.command.name)]
        return [Info.of(ctx.command.name, line) for line in body.split("\n") if line]
