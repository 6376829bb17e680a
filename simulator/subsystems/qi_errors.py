"""The TCP/IP error state of Quectel modules: TCP/IP commands fail with a bare ERROR, and
AT+QIGETERROR tells why, for the last TCP/IP command only. Asynchronous results (+QIOPEN,
+QPING, +QNTP, "dnsgip") carry the same codes.

Codes are named symbolically in the code (`"socket_used"`) because the families number them
differently (EC200 563, FCM360W 561); the profile's `qi_errors.codes` table maps them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from simulator.at.dispatcher import EXEC, TEST, Context, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Replies
from simulator.subsystems.base import Subsystem


class QiErrors(Subsystem):
    name = "qi_errors"
    section = "qi_errors"
    schema: Any = {
        "codes": {str: int},  # symbolic name -> this family's code
        "text": {int: str},  # code -> description printed by AT+QIGETERROR
        "separator": str,  # between code and description (the EC200 example: ", ")
        "lowercase": bool,  # print the description in lower case (the EC200 example does)
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.last = 0

    def reset(self) -> None:
        self.last = 0

    def code(self, name: str) -> int:
        codes = self.config.get("codes", {})
        return codes.get(name, codes.get("unknown", 550))

    def fail(self, name: str) -> AtError:
        """Record the failure of the running TCP/IP command; raise what this returns."""
        self.last = self.code(name)
        return AtError(None)

    def succeed(self) -> None:
        self.last = 0

    def bind_error(self, ctx: Context, error: AtError) -> AtError:
        return self.fail("invalid_param")

    @command("+QIGETERROR", EXEC)
    def qigeterror(self) -> Replies:
        text = self.config.get("text", {}).get(self.last, "")
        if self.config.get("lowercase"):
            text = text.lower()
        return Info.of("+QIGETERROR", f"{self.last}{self.config.get('separator', ',')}{text}")

    @command("+QIGETERROR", TEST)
    def qigeterror_test(self) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {"last": self.last}


class QiSubsystem(Subsystem):
    """A subsystem of TCP/IP commands: its failures go through QiErrors."""

    @cached_property  # subsystems live as long as the module
    def errors(self) -> QiErrors:
        return self.m.get(QiErrors)

    def fail(self, name: str) -> AtError:
        return self.errors.fail(name)

    def bind_error(self, ctx: Context, error: AtError) -> AtError:
        return self.errors.fail("invalid_param")
