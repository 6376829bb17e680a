"""The traffic log: every byte in and out, and every model or control event, with a timestamp.

Two renderings of the same events: a human one with visible <CR><LF>, and JSON lines for tools.
Anyone may subscribe in process (the control surface and tests do).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

Event = dict[str, Any]
_NAMES = {0x0D: "<CR>", 0x0A: "<LF>", 0x1A: "<SUB>", 0x1B: "<ESC>", 0x08: "<BS>"}


def visible(data: bytes) -> str:
    return "".join(
        _NAMES.get(b) or (chr(b) if 0x20 <= b < 0x7F else f"<{b:02X}>") for b in data
    )


class TrafficLog:
    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []
        self._files: list[IO[str]] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def open_text(self, path: Path) -> None:
        stream = path.open("a", buffering=1)
        self._files.append(stream)
        self.subscribe(lambda e: stream.write(_text(e) + "\n"))

    def open_json(self, path: Path) -> None:
        stream = path.open("a", buffering=1)
        self._files.append(stream)
        self.subscribe(lambda e: stream.write(json.dumps(e) + "\n"))

    def bytes_in(self, channel: str, data: bytes) -> None:
        if self._subscribers:  # bulk data (transparent mode) costs nothing unobserved
            self.emit("rx", channel=channel, data=data.decode("latin-1"))

    def bytes_out(self, channel: str, data: bytes) -> None:
        if self._subscribers:
            self.emit("tx", channel=channel, data=data.decode("latin-1"))

    def emit(self, kind: str, **detail: Any) -> None:
        if not self._subscribers:
            return
        event = {"t": time.time(), "kind": kind, **detail}
        for callback in list(self._subscribers):
            callback(event)

    def close(self) -> None:
        for stream in self._files:
            stream.close()
        self._files.clear()


def _text(event: Event) -> str:
    stamp = datetime.fromtimestamp(event["t"]).strftime("%H:%M:%S.%f")
    kind = event["kind"]
    if kind in ("rx", "tx"):
        arrow = "<-" if kind == "rx" else "->"
        return f"{stamp} {event['channel']} {arrow} {visible(event['data'].encode('latin-1'))}"
    detail = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("t", "kind"))
    return f"{stamp} ** {kind} {detail}"
