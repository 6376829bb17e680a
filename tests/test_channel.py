"""A channel in process: URCs never split a response, prompts, and handler failures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simulator import profile as profiles
from simulator.at.dispatcher import EXEC, WRITE, command
from simulator.at.replies import Info, Prompt, Replies
from simulator.clock import Clock
from simulator.module import Module
from simulator.subsystems import REGISTRY
from simulator.subsystems.base import Subsystem


class Lab(Subsystem):
    """Commands that exist only to put the channel through its paces."""

    name = "lab"

    @command("+SLOW", EXEC)
    async def slow(self) -> Replies:
        self.m.urc_later(0.5, Info.of("+TICK", 1))  # falls due while this command runs
        await self.m.clock.sleep(2)
        return [Info.text("line one"), Info.text("line two")]

    @command("+SEND", WRITE, EXEC)
    def send(self, length: int | None = None) -> Replies:
        return Prompt(on_data=lambda data: [Info.of("+GOT", len(data), data.decode())],
                      length=length)

    @command("+BROKEN", EXEC)
    def broken(self) -> Replies:
        return 1 / 0  # a bug, not a module error


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(REGISTRY, "lab", Lab)
    base = profiles.load("ec200t")
    profile = profiles.Profile("lab", base.file, {**base.data, "boot": [],
                                                  "subsystems": [*base.subsystems, "lab"]})

    async def start() -> tuple[Module, list[bytes]]:
        module = Module(profile, clock=Clock(scale=20), data_dir=tmp_path)
        writes: list[bytes] = []
        channel = module.attach("test", writes.append)
        module.boot()
        channel.settings.echo = False
        return module, writes

    return start


async def until(writes: list[bytes], tail: bytes) -> None:
    for _ in range(2000):
        if b"".join(writes).endswith(tail):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(b"".join(writes))


def test_urc_waits_for_the_final_result_and_gets_its_own_write(lab) -> None:
    async def run() -> list[bytes]:
        module, writes = await lab()
        module.channels[0].receive(b"AT+SLOW\r")
        await until(writes, b"+TICK: 1\r\n")
        return writes

    writes = asyncio.run(run())
    assert writes == [b"\r\nline one\r\nline two\r\n", b"\r\nOK\r\n", b"\r\n+TICK: 1\r\n"]


@pytest.mark.parametrize(
    ("typed", "wire"),
    [
        (b"AT+SEND\rhello\x1a", b'\r\n> \r\n+GOT: 5,hello\r\n\r\nOK\r\n'),
        (b"AT+SEND=3\ra\x1ab", b'\r\n> \r\n+GOT: 3,a\x1ab\r\n\r\nOK\r\n'),
        (b"AT+SEND\rnever mind\x1b", b"\r\n> \r\nOK\r\n"),
        (b"AT+SEND\r\nxy\x1a", b'\r\n> \r\n+GOT: 2,xy\r\n\r\nOK\r\n'),
    ],
)
def test_prompt(lab, typed: bytes, wire: bytes) -> None:
    async def run() -> bytes:
        module, writes = await lab()
        module.channels[0].receive(typed)
        await until(writes, b"OK\r\n")
        return b"".join(writes)

    assert asyncio.run(run()) == wire


def test_a_handler_bug_is_an_error_reply_and_the_channel_lives_on(lab) -> None:
    async def run() -> bytes:
        module, writes = await lab()
        events = []
        module.log.subscribe(events.append)
        module.channels[0].receive(b"AT+BROKEN\rAT\r")
        await until(writes, b"\r\nERROR\r\n\r\nOK\r\n")
        assert any(e["kind"] == "internal-error" for e in events)
        return b"".join(writes)

    assert asyncio.run(run()) == b"\r\nERROR\r\n\r\nOK\r\n"
