"""Online data mode: every byte from the host goes to a sink, except a `+++` escape that keeps
the guard times of V.250 (and of Quectel's transparent mode):

1. at least `guard` seconds of silence before the first `+`,
2. the three `+` within `guard` seconds of each other's start, nothing else mixed in,
3. at least `guard` seconds of silence after the third.

Anything else, a `+++` in the middle of a stream included, is data. Bytes that arrive in one
read arrived together (no silence between them), so the escape can only start a read after a
silence and only end one; the check works on whole reads and stays fast for bulk data.
Times are module time from the clock, so the guard time scales with --time-scale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from simulator.clock import Clock, Timer

PLUS = ord("+")


class OnlinePort(Protocol):
    """What a channel in online mode offers the link it carries."""

    def write(self, data: bytes) -> None: ...

    def room(self) -> bool:
        """Whether the host is keeping up (the port's output queue is below its high water)."""
        ...

    def when_room(self, callback: Callable[[], None]) -> None:
        """Call `callback` once, when the output queue has drained."""
        ...

    def pause_input(self) -> None: ...

    def resume_input(self) -> None: ...

    def hangup(self) -> None:
        """The link dropped: NO CARRIER, back to command mode."""
        ...


class DataLink(Protocol):
    """What a channel carries in online mode (a transparent-mode socket)."""

    guard: float  # module seconds of silence around +++

    def go_online(self, port: OnlinePort) -> None: ...

    def uplink(self, data: bytes) -> None:
        """Bytes from the host."""
        ...

    def escaped(self) -> None:
        """The host left online mode (+++ or the port closed); the link itself stays up."""
        ...


class Escape:
    def __init__(self, clock: Clock, guard: float, sink: Callable[[bytes], None],
                 on_escape: Callable[[], None]):
        self.clock = clock
        self.guard = guard
        self._sink = sink
        self._on_escape = on_escape
        self._last = clock.now()  # entering online mode counts as the last activity
        self._held = 0  # '+' bytes that may yet be an escape
        self._held_since = 0.0
        self._timer: Timer | None = None

    def feed(self, data: bytes) -> None:
        if not data:
            return
        now = self.clock.now()
        silent_before = now - self._last >= self.guard
        self._last = now
        self._cancel_timer()
        if self._held:
            room = 3 - self._held
            lead = _leading_plus(data, room)
            if lead == len(data) and now - self._held_since <= self.guard:
                self._held += lead
                self._arm()
                return
            self._flush_held()
            self._sink(data)
            return
        if silent_before and len(data) <= 3 and _leading_plus(data, 3) == len(data):
            self._held, self._held_since = len(data), now
            self._arm()
            return
        self._sink(data)

    def _arm(self) -> None:
        if self._held == 3:
            self._timer = self.clock.call_later(self.guard, self._escape)
        else:  # the rest of the sequence must come within the window, or the '+'s are data
            due = self._held_since + self.guard - self.clock.now()
            self._timer = self.clock.call_later(max(0.0, due), self._give_up)

    def _escape(self) -> None:
        self._timer = None
        self._held = 0
        self._on_escape()

    def _give_up(self) -> None:
        self._timer = None
        self._flush_held()

    def _flush_held(self) -> None:
        held, self._held = self._held, 0
        if held:
            self._sink(b"+" * held)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """Online mode ended some other way (the link dropped): pending '+'s go nowhere."""
        self._cancel_timer()
        self._held = 0


def _leading_plus(data: bytes, most: int) -> int:
    count = 0
    for byte in data[:most]:
        if byte != PLUS:
            break
        count += 1
    return count
