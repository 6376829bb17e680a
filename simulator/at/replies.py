"""Replies as values. Handlers return these; only the formatter turns them into bytes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


class Quoted(str):
    """A field rendered inside double quotes."""


Field = int | str | None  # None renders as an empty field


@dataclass(frozen=True)
class Info:
    """One information line: `+PREFIX: f1,f2` (spacing per profile) or, with no prefix, text."""

    prefix: str | None
    fields: tuple[Field, ...] = ()
    colon_space: bool | None = None  # None: the profile decides for this prefix

    @staticmethod
    def of(prefix: str, *fields: Field) -> Info:
        return Info(prefix, fields)

    @staticmethod
    def text(text: str) -> Info:
        return Info(None, (text,))


@dataclass(frozen=True)
class Data:
    """Raw bytes inside a response (socket payloads after a `+QIRD: n` line)."""

    payload: bytes


class Final:
    """Base of the final result codes: exactly one ends every command line."""


@dataclass(frozen=True)
class Result(Final):
    """A V.250 result code with its numeric (ATV0) form, or a module-specific final text."""

    text: str
    code: int | None = None


@dataclass(frozen=True)
class Online(Result):
    """CONNECT, and the channel goes online with `link` (a simulator.line.online.DataLink):
    raw bytes both ways until the host escapes with +++ or the link drops (NO CARRIER)."""

    link: Any = None


def online(link: Any) -> Online:
    return Online("CONNECT", 1, link)


OK = Result("OK", 0)
CONNECT = Result("CONNECT", 1)
RING = Result("RING", 2)
NO_CARRIER = Result("NO CARRIER", 3)
ERROR = Result("ERROR", 4)


@dataclass(frozen=True)
class CmeError(Final):
    """`+CME ERROR: <n>` (or ERROR / the text, per AT+CMEE)."""

    code: int


@dataclass(frozen=True)
class CmsError(Final):
    code: int


@dataclass(frozen=True)
class NoResult(Final):
    """The command ends without a final result line (M66 AT+QILOCIP prints the bare IP)."""


@dataclass(frozen=True)
class Prompt:
    """Enter data entry: print the prompt, collect bytes, then call `on_data`.

    `length` None means variable length: Ctrl-Z sends and ESC cancels. With a length, exactly
    that many bytes are collected and Ctrl-Z is data. `on_data` returns the replies that end
    the command (`SEND OK`...); `on_cancel` runs on ESC or time-out, unless `on_timeout` is
    given: then the time-out hands it the bytes collected so far (AT+QFWRITE).
    """

    on_data: Callable[[bytes], Awaitable[Replies] | Replies]
    length: int | None = None
    text: str = "> "
    timeout: float | None = None
    echo: bool = True
    on_cancel: Callable[[], Replies] | None = None
    on_timeout: Callable[[bytes], Awaitable[Replies] | Replies] | None = None


Reply = Info | Data | Final | Prompt
Replies = Reply | list[Reply] | None


@dataclass
class Response:
    """What one command produced: its lines and at most one final result or prompt."""

    lines: list[Info | Data] = field(default_factory=list)
    final: Final | None = None
    prompt: Prompt | None = None

    @staticmethod
    def of(replies: Replies | Any) -> Response:
        response = Response()
        items = replies if isinstance(replies, list) else [] if replies is None else [replies]
        for item in items:
            if isinstance(item, Info | Data):
                response.lines.append(item)
            elif isinstance(item, Final):
                response.final = item
            elif isinstance(item, Prompt):
                response.prompt = item
            else:
                raise TypeError(f"not a reply: {item!r}")
        return response
