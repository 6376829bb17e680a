"""The TE character set (AT+CSCS, 27.007 5.5): how text fields travel between host and module.

Every string a module shows or takes in a text field (SMS numbers and bodies, phonebook
names) is converted through the selected set. Which sets a family offers is profile data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import READ, TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.sms import gsm7
from simulator.subsystems.base import Subsystem


def _gsm_out(text: str) -> str:
    return "".join(map(chr, gsm7.encode(text, replace="?")))


def _gsm_in(wire: str) -> str:
    if any(ord(c) > 0x7F for c in wire):
        raise ValueError("GSM 7-bit codes are below 0x80")
    return gsm7.decode([ord(c) for c in wire])


def _hex_in(wire: str) -> bytes:
    try:
        return bytes.fromhex(wire)
    except ValueError:
        raise ValueError(f"{wire!r} is not hex") from None


def _ucs2_in(wire: str) -> str:
    if len(wire) % 4:
        raise ValueError("UCS2 text is four hex digits per character")
    return _hex_in(wire).decode("utf-16-be", "replace")


def _ira_out(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _ira_in(wire: str) -> str:
    if not wire.isascii():
        raise ValueError("IRA is 7-bit")
    return wire


# name -> (module text to wire text, wire text to module text); wire text is one char a byte
CONVERTERS: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    "GSM": (_gsm_out, _gsm_in),
    "IRA": (_ira_out, _ira_in),
    "UCS2": (lambda t: t.encode("utf-16-be").hex().upper(), _ucs2_in),
    # HEX: the module's own (GSM 7-bit) codes as hex digits, with no other conversion
    "HEX": (lambda t: bytes(gsm7.encode(t, replace="?")).hex().upper(),
            lambda w: gsm7.decode(_hex_in(w))),
    "PCCP936": (lambda t: t.encode("gbk", "replace").decode("latin-1"),
                lambda w: w.encode("latin-1").decode("gbk")),
}


class Charset(Subsystem):
    name = "charset"
    section = "charset"
    schema: Any = {
        "supported": [str],  # names AT+CSCS accepts, in the order the test form lists them
        "default": str,
        "test": str,  # the test response as the family prints it
        "require_quotes": bool,  # an unquoted name is an error (Neoway)
    }

    def __init__(self, module: Any):
        super().__init__(module)
        unknown = set(self.supported) - set(CONVERTERS)
        if unknown:
            raise ValueError(f"no converter for character sets {sorted(unknown)}")
        self.current = self.default

    @property
    def supported(self) -> list[str]:
        return self.config.get("supported", ["GSM", "IRA", "UCS2"])

    @property
    def default(self) -> str:
        return self.config.get("default", "GSM")

    def reset(self) -> None:
        self.current = self.default

    def snapshot(self) -> dict[str, Any]:
        return {"cscs": self.current}

    def to_te(self, text: str) -> str:
        """Module text as the host sees it in the selected set."""
        return CONVERTERS[self.current][0](text)

    def from_te(self, wire: str) -> str:
        """Host text in the selected set as module text; ValueError when it is not valid."""
        try:
            return CONVERTERS[self.current][1](wire)
        except UnicodeDecodeError as exc:
            raise ValueError(str(exc)) from None

    @command("+CSCS", WRITE)
    def cscs_write(self, chset: str) -> None:
        if self.config.get("require_quotes") and isinstance(chset, Bare):
            raise AtError("invalid_param")
        if chset.upper() not in self.supported:
            raise AtError("invalid_param")
        self.current = chset.upper()

    @command("+CSCS", READ)
    def cscs_read(self) -> Replies:
        return Info.of("+CSCS", Quoted(self.current))

    @command("+CSCS", TEST)
    def cscs_test(self) -> Replies:
        listed = ",".join(f'"{name}"' for name in self.supported)
        return Info.text(self.config.get("test", f"+CSCS: ({listed})"))
