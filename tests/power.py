"""Helpers for the power-model tests: a console that keeps every line the module printed with
its arrival order (so a test can check that URCs came in the documented order), the
document's bring-up, and the control socket."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from cellular import variant
from modem import Port

from simulator.control.client import request

FINAL = re.compile(r"OK|ERROR|\+CME ERROR: .*")
PSM_REQUEST = 'AT+CPSMS=1,,,"01000010","00000000"'  # 20 h periodic TAU, no active time
TAIL = b"+CPIN: READY\r\n"
Pattern = str | re.Pattern[str]


def profile(tmp_path: Path, name: str = "bc660k-power", **sections: Any) -> str:
    """bc660k with a 40 s UART idle window (2 s at the tests' 20x time) so that a loaded host
    never lets the module fall asleep between two commands, plus `sections`."""
    sleep = {"idle_window": "40s", **sections.pop("sleep", {})}
    return variant(tmp_path, "bc660k", name, sleep=sleep, **sections)


def ctl(path: Path, verb: str, **args: Any) -> dict[str, Any]:
    return request(path, verb, args)


def subsystems(path: Path) -> dict[str, Any]:
    return ctl(path, "state")["subsystems"]


class Console:
    """Every line from the module in arrival order; each line is taken once."""

    def __init__(self, port: Port):
        self.port = port
        self.lines: list[str] = []
        self.taken: set[int] = set()
        self._partial = b""

    def _fill(self, deadline: float) -> bool:
        chunk = self.port.port.read(self.port.port.in_waiting or 1)
        if chunk:
            *complete, self._partial = (self._partial + chunk).split(b"\r\n")
            self.lines += [line.decode("latin-1") for line in complete if line]
        return time.monotonic() < deadline

    def _find(self, pattern: Pattern, start: int = 0) -> int | None:
        for i in range(start, len(self.lines)):
            line = self.lines[i]
            hit = pattern.fullmatch(line) if isinstance(pattern, re.Pattern) else line == pattern
            if i not in self.taken and hit:
                return i
        return None

    def wait(self, pattern: Pattern, timeout: float = 15.0) -> int:
        """Where the first line like `pattern` not taken yet is; it is taken."""
        deadline = time.monotonic() + timeout
        while (found := self._find(pattern)) is None:
            if not self._fill(deadline):
                raise AssertionError(f"no {pattern!r} in {timeout} s; got {self.lines!r}")
        self.taken.add(found)
        return found

    def in_order(self, *patterns: Pattern, timeout: float = 15.0) -> list[int]:
        """Each pattern's line, in this order (an assertion fails otherwise)."""
        found = [self.wait(p, timeout) for p in patterns]
        assert found == sorted(found), [self.lines[i] for i in sorted(found)]
        return found

    def command(self, text: str, timeout: float = 15.0) -> list[str]:
        """Send a command; its lines up to its final result. A URC that crossed it (one
        another command set off just before) stays untaken for a later wait."""
        start = len(self.lines)
        self.port.write(text.encode("latin-1") + b"\r")
        deadline = time.monotonic() + timeout
        while (end := self._find(FINAL, start)) is None:
            if not self._fill(deadline):
                raise AssertionError(f"no final result for {text!r}; got {self.lines[start:]!r}")
        own = [i for i in range(start, end + 1)
               if i not in self.taken and _answers(text, self.lines[i])]
        self.taken.update(own)
        return [self.lines[i] for i in own]

    def ok(self, *commands: str) -> None:
        for text in commands:
            assert self.command(text) == ["OK"], text

    def quiet(self, seconds: float) -> list[str]:
        """What arrived in the next `seconds` (the test asserts what must not have)."""
        start = len(self.lines)
        deadline = time.monotonic() + seconds
        while self._fill(deadline):
            pass
        return self.lines[start:]

    def poll(self, text: str, wanted: str, timeout: float = 15.0) -> None:
        """Repeat a query (the document polls AT+CEREG? every 500 ms) until a line of its
        answer starts with `wanted`."""
        deadline = time.monotonic() + timeout
        while not any(line.startswith(wanted) for line in self.command(text)):
            assert time.monotonic() < deadline, f"{text} never answered {wanted}"
            self.quiet(0.05)


def _answers(command: str, line: str) -> bool:
    """Whether `line` can be `command`'s answer: its own prefix, or text without a prefix,
    rather than a URC (another prefix, or a deferred result such as SEND OK)."""
    if line in ("SEND OK", "CLOSE OK", "RDY"):
        return False
    prefix = re.match(r"(\+[A-Z]+):", line)
    name = re.match(r"AT(\+[A-Z]+)", command, re.IGNORECASE)
    return prefix is None or (name is not None and prefix[1] == name[1].upper())


def bring_up(con: Console, *, psm: bool = True, cereg: int = 0) -> None:
    """The document's 2-1 .. 2-9 (PSM or power-off design): radio off while configuring, so the
    attach carries the settings, then registered with the RRC connection reported."""
    con.ok("AT+QSCLK=0", "AT+CFUN=0", "AT+QBAND=0",
           PSM_REQUEST if psm else "AT+CPSMS=0", "AT+CEDRXS=0,5")
    if psm:
        con.ok("AT+QNBIOTEVENT=1,1", 'AT+QCFG="dsevent",1')
    con.ok('AT+QCGDEFCONT="IPV4V6","ctnb"', "AT+CSCON=1", "AT+CFUN=1")
    con.wait("+CSCON:1")
    con.poll("AT+CEREG?", f"+CEREG:{cereg},1")
