"""What the parser hands the dispatcher: one typed command of a command line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    TEST = "=?"
    READ = "?"
    WRITE = "="
    EXEC = ""


class Bare(str):
    """An unquoted parameter that is not a number (Neoway's unquoted hosts, placeholders...)."""


class Raw(str):
    """The raw rest of a command line, quotes and commas included (AT+QMTPUB's inline payload)."""


Arg = int | str | None  # int, quoted str, Bare, Raw, or None for an omitted parameter


@dataclass(frozen=True)
class Command:
    name: str  # canonical upper case: "+CSQ", "$MYCMD", "E", "S7", "&W", "D"
    kind: Kind
    args: tuple[Arg, ...] = ()

    def __str__(self) -> str:
        if self.kind is not Kind.WRITE:
            return f"{self.name}{self.kind.value}"
        shown = ",".join("" if a is None else f'"{a}"' if _quoted(a) else str(a) for a in self.args)
        return f"{self.name}={shown}"


def _quoted(arg: Arg) -> bool:
    return isinstance(arg, str) and not isinstance(arg, Bare | Raw)
