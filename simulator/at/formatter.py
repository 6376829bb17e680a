"""The one place where reply values become bytes, following V.250 and the profile's spelling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from simulator.at.replies import (
    CmeError,
    CmsError,
    Data,
    Final,
    Info,
    NoResult,
    Prompt,
    Quoted,
    Result,
)


@dataclass
class LineSettings:
    """The V.250 settings of one channel (ATE, ATV, ATQ, S-registers)."""

    echo: bool = True
    verbose: bool = True
    quiet: bool = False
    sregs: dict[int, int] = field(default_factory=lambda: {3: 13, 4: 10, 5: 8})

    @property
    def eol(self) -> bytes:
        return bytes((self.sregs[3], self.sregs[4]))


@dataclass(frozen=True)
class Style:
    """How a family spells its replies (from the profile's `format` section)."""

    colon_space: bool = True
    colon_space_except: frozenset[str] = frozenset()
    cme_text: dict[int, str] = field(default_factory=dict)
    cms_text: dict[int, str] = field(default_factory=dict)


class Formatter:
    def __init__(self, style: Style):
        self.style = style

    def info(self, line: Info) -> str:
        fields = ",".join(_field(f) for f in line.fields)
        if line.prefix is None:
            return fields
        space = line.colon_space
        if space is None:
            space = self.style.colon_space != (line.prefix in self.style.colon_space_except)
        return f"{line.prefix}:{' ' if space else ''}{fields}"

    def lines(self, lines: list[Info | Data], s: LineSettings, inside: Sequence[Info] = ()
              ) -> bytes:
        """An information block: the leading EOL once (verbose only), a trailing one per line.

        `inside` are URCs some firmware lets slip in after the first line of a block (a fault
        the control surface injects); each is framed as a URC of its own.
        """
        if not lines:
            return b""
        eol = s.eol
        out = bytearray(eol if s.verbose else b"")
        for i, line in enumerate(lines):
            out += line.payload if isinstance(line, Data) else self.info(line).encode("latin-1")
            out += eol
            if i == 0:
                out += b"".join(self.urc(urc, s) for urc in inside)
        return bytes(out)

    def final(self, final: Final, s: LineSettings, cmee: int) -> bytes:
        if isinstance(final, NoResult) or s.quiet:
            return b""
        if isinstance(final, CmeError | CmsError):
            if cmee == 0:
                return self.final(Result("ERROR", 4), s, cmee)
            kind, table = ("CMS", self.style.cms_text) if isinstance(final, CmsError) else (
                "CME", self.style.cme_text)
            detail = table.get(final.code, str(final.code)) if cmee == 2 else str(final.code)
            return self._wrap(f"+{kind} ERROR: {detail}", s)
        assert isinstance(final, Result)
        if not s.verbose and final.code is not None:
            return str(final.code).encode() + bytes((s.sregs[3],))
        return self._wrap(final.text, s)

    def urc(self, line: Info, s: LineSettings) -> bytes:
        return self._wrap(self.info(line), s)

    def prompt(self, prompt: Prompt, s: LineSettings) -> bytes:
        return s.eol + prompt.text.encode("latin-1")

    @staticmethod
    def _wrap(text: str, s: LineSettings) -> bytes:
        eol = s.eol
        body = text.encode("latin-1") + eol
        return eol + body if s.verbose else body


def _field(value: int | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Quoted):
        return f'"{value}"'
    return str(value)
