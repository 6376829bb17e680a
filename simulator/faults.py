"""Faults a tester injects into a running module, at the layers where real ones misbehave:

- command rules: a command line matching a pattern gets a forced reply, a delay, or no answer
  at all, N times or until cleared;
- URCs that slip into the middle of the next multi-line response, as some firmware lets them;
- byte noise on everything the module sends (drop, corrupt, fragment), from a seeded generator;
- stalls: the port stops answering for a while.

Channels consult `module.faults` for every command line they run and send every byte through
their `Outbox`; with no fault active both pass straight through. Every fault that acts leaves
a `fault` event in the traffic log.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.at.replies import (
    CONNECT,
    ERROR,
    NO_CARRIER,
    OK,
    RING,
    Data,
    Info,
    NoResult,
    Response,
    Result,
)
from simulator.clock import Timer

if TYPE_CHECKING:
    from simulator.module import Module

BYTE_KINDS = ("drop", "corrupt", "fragment")
FRAGMENT_GAP = 0.02  # module seconds between the pieces of a fragmented write
_STANDARD = {r.text: r for r in (OK, CONNECT, RING, NO_CARRIER, ERROR)}


class Pattern:
    """A command line as typed, case-insensitive, `*` matching anything (`AT+QIOPEN*`).

    Only `*` is special: `?`, `[` and `]` are ordinary AT characters.
    """

    def __init__(self, text: str):
        self.text = text
        body = ".*".join(re.escape(part) for part in text.split("*"))
        self._regex = re.compile(body, re.IGNORECASE | re.DOTALL)

    def matches(self, line: str) -> bool:
        return self._regex.fullmatch(line) is not None


@dataclass
class CommandRule:
    pattern: Pattern
    reply: str | None = None
    delay: float = 0.0
    silent: bool = False
    left: int | None = None  # how many more lines it applies to; None: until cleared

    def response(self) -> Response | None:
        """What the module answers instead of running the command (None: run it)."""
        if self.silent:
            return Response(final=NoResult())
        if self.reply is None:
            return None
        *lines, last = self.reply.splitlines()
        return Response(lines=[Info.text(line) for line in lines],
                        final=_STANDARD.get(last, Result(last)))

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fault": "command", "pattern": self.pattern.text}
        if self.reply is not None:
            out["reply"] = self.reply
        if self.delay:
            out["delay"] = self.delay
        if self.silent:
            out["silent"] = True
        out["times"] = self.left
        return out


@dataclass(frozen=True)
class ByteNoise:
    kind: str  # one of BYTE_KINDS
    rate: float  # per byte (drop, corrupt) or per byte boundary (fragment)
    seed: int | None = None

    def describe(self) -> dict[str, Any]:
        return {"fault": "bytes", "bytes": self.kind, "rate": self.rate, "seed": self.seed}


@dataclass(frozen=True)
class Stall:
    seconds: float


Fault = CommandRule | ByteNoise | Stall


def fault_from_args(
    pattern: str | None = None, *, reply: str | None = None, times: int | None = None,
    delay: float | None = None, silent: bool = False, bytes: str | None = None,
    rate: float | None = None, seed: int | None = None, stall: float | None = None,
) -> Fault:
    """The fault the `fault` verb describes; ValueError says what does not fit together."""
    command_options = reply is not None or times is not None or delay is not None or silent
    if stall is not None:
        if pattern is not None or command_options or bytes is not None or rate is not None:
            raise ValueError("--stall takes no pattern and no other option")
        if stall <= 0:
            raise ValueError("--stall must be a positive number of seconds")
        return Stall(stall)
    if bytes is not None:
        if pattern is not None or command_options:
            raise ValueError("--bytes takes no pattern, only --rate and --seed")
        if rate is None or not 0 < rate <= 1:
            raise ValueError("--bytes needs --rate R with 0 < R <= 1")
        return ByteNoise(bytes, rate, seed)
    if rate is not None or seed is not None:
        raise ValueError("--rate and --seed go with --bytes")
    if pattern is None:
        raise ValueError("give a COMMAND_PATTERN, --bytes KIND or --stall SECONDS")
    if not pattern.strip():
        raise ValueError("the command pattern is empty")
    if reply is None and delay is None and not silent:
        raise ValueError(f"{pattern}: give --reply TEXT, --delay SECONDS or --silent")
    if silent and reply is not None:
        raise ValueError("--silent and --reply exclude each other")
    if reply is not None and not reply.strip():
        raise ValueError("--reply needs a non-empty TEXT")
    if delay is not None and delay < 0:
        raise ValueError("--delay must not be negative")
    if times is not None and times < 1:
        raise ValueError("--times must be at least 1")
    return CommandRule(Pattern(pattern), reply, delay or 0.0, silent, times)


class Faults:
    def __init__(self, module: Module):
        self.m = module
        self.rules: list[CommandRule] = []
        self.noise: ByteNoise | None = None
        self.inside: list[Info] = []
        self._rng = random.Random()
        self._stall: Timer | None = None

    # -- adding and clearing ----------------------------------------------------------------
    def add(self, fault: Fault) -> dict[str, Any]:
        if isinstance(fault, CommandRule):
            self.rules.append(fault)
            return fault.describe()
        if isinstance(fault, ByteNoise):
            if fault.seed is None:  # still reproducible: drawn from the module's own generator
                fault = ByteNoise(fault.kind, fault.rate, self.m.rng.randrange(1 << 32))
            self.noise = fault
            self._rng = random.Random(fault.seed)
            return fault.describe()
        self.stall(fault.seconds)
        return {"fault": "stall", "stall": fault.seconds}

    def urc_inside(self, text: str) -> None:
        self.inside.append(Info.text(text))

    def clear(self) -> None:
        self.rules.clear()
        self.noise = None
        self.inside.clear()
        if self._stall is not None:
            self._stall.cancel()
            self._end_stall()

    # -- AT level ---------------------------------------------------------------------------
    async def on_command(self, line: str) -> Response | None:
        """Apply the first rule matching `line`: maybe wait, then maybe answer in its place."""
        rule = next((r for r in self.rules if r.pattern.matches(line)), None)
        if rule is None:
            return None
        if rule.left is not None:
            rule.left -= 1
            if rule.left == 0:
                self.rules.remove(rule)
        self.m.log.emit("fault", line=line, **rule.describe())
        if rule.delay:
            await self.m.clock.sleep(rule.delay)
        return rule.response()

    def take_inside(self, lines: list[Info | Data]) -> list[Info]:
        """The URCs waiting to slip into a response, if `lines` is a multi-line one."""
        if not self.inside or sum(isinstance(line, Info) for line in lines) < 2:
            return []
        taken, self.inside = self.inside, []
        self.m.log.emit("fault", fault="urc-inside",
                        urcs=[self.m.formatter.info(urc) for urc in taken])
        return taken

    # -- byte level -------------------------------------------------------------------------
    @property
    def stalled(self) -> bool:
        return self._stall is not None

    @property
    def clean(self) -> bool:
        return self.noise is None and self._stall is None

    def stall(self, seconds: float) -> None:
        if self._stall is not None:
            self._stall.cancel()
        self._stall = self.m.clock.call_later(seconds, self._end_stall)
        self.m.log.emit("fault", fault="stall", seconds=seconds)

    def _end_stall(self) -> None:
        self._stall = None
        self.m.log.emit("fault", fault="stall-end")
        for channel in list(self.m.channels):
            channel.outbox.pump()

    def mangle(self, data: bytes) -> list[bytes]:
        """`data` as the noisy line delivers it: one piece, or several when fragmented."""
        noise, rng = self.noise, self._rng
        if noise is None:
            return [data]
        if noise.kind == "fragment":
            cuts = [i for i in range(1, len(data)) if rng.random() < noise.rate]
            pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
            if len(pieces) > 1:
                self.m.log.emit("fault", fault="bytes", bytes="fragment", pieces=len(pieces))
            return pieces
        out = bytearray()
        hits = 0
        for byte in data:
            if rng.random() >= noise.rate:
                out.append(byte)
                continue
            hits += 1
            if noise.kind == "corrupt":
                out.append(byte ^ (1 << rng.randrange(8)))
        if hits:
            self.m.log.emit("fault", fault="bytes", bytes=noise.kind, count=hits)
        return [bytes(out)]

    def snapshot(self) -> dict[str, Any]:
        return {
            "rules": [rule.describe() for rule in self.rules],
            "bytes": self.noise.describe() if self.noise else None,
            "stall": round(self._stall.remaining(), 3) if self._stall else None,
            "inside": [self.m.formatter.info(urc) for urc in self.inside],
        }


class Outbox:
    """Everything one channel sends, in order, through the module's byte noise and stalls."""

    def __init__(self, faults: Faults, emit: Callable[[bytes], None]):
        self._faults = faults
        self._emit = emit
        self._items: deque[tuple[bytes, bool]] = deque()  # (data, already through the noise)
        self._gap: Timer | None = None

    def put(self, data: bytes) -> None:
        if not self._items and self._faults.clean:
            self._emit(data)
            return
        self._items.append((data, False))
        self.pump()

    def pump(self) -> None:
        while self._items and self._gap is None and not self._faults.stalled:
            data, mangled = self._items.popleft()
            if not mangled:
                first, *rest = self._faults.mangle(data)
                self._items.extendleft((piece, True) for piece in reversed(rest))
                data = first
            if data:
                self._emit(data)
            if self._items and self._items[0][1]:  # the next piece of a fragmented write
                self._gap = self._faults.m.clock.call_later(FRAGMENT_GAP, self._resume)

    def _resume(self) -> None:
        self._gap = None
        self.pump()

    def pending(self) -> int:
        return sum(len(data) for data, _ in self._items)

    def clear(self) -> None:
        """Power loss: what had not gone out yet never will."""
        self._items.clear()
        if self._gap is not None:
            self._gap.cancel()
            self._gap = None
