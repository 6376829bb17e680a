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
    tasks: list[asyncio.Task | None] = []

    @command("+SLOW", EXEC)
    async def slow(self) -> Replies:
        self.m.urc_later(0.5, Info.of("+TICK", 1))  # falls due while this command runs
        await self.m.clock.sleep(2)
        return [Info.text("line one"), Info.text("line two")]

    @command("+SEND", WRITE, EXEC)
    def send(self, length: int | None = None) -> Replies:
        return Prompt(on_data=lambda data: [Info.of("+GOT", len(data), data.decode())],
                      length=length)

    @command("+WHERE", EXEC)
    async def where(self) -> Replies:
        self.tasks.append(asyncio.current_task())  # the task a handler's coroutine runs in
        return None

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


def test_a_line_that_never_waits_is_answered_within_the_read(lab) -> None:
    async def run() -> list[bytes]:
        module, writes = await lab()
        module.channels[0].receive(b"AT\rAT+CMEE=1\r" + b"AT\r" * 3000)  # far past recursion
        return writes  # no turn of the event loop in between

    writes = asyncio.run(run())
    assert b"".join(writes) == b"\r\nOK\r\n" * 3002


def test_a_coroutine_handler_runs_in_a_task_of_its_own(lab) -> None:
    async def run() -> tuple[asyncio.Task | None, asyncio.Task | None]:
        module, writes = await lab()
        Lab.tasks = []
        module.channels[0].receive(b"AT+WHERE\r")  # received inside this (the test's) task
        await until(writes, b"OK\r\n")
        return asyncio.current_task(), Lab.tasks[0]

    mine, handler = asyncio.run(run())
    assert handler is not None and handler is not mine


@pytest.mark.parametrize("turns", [0, 3])
def test_power_loss_unwinds_a_waiting_line(lab, turns: int) -> None:
    """Cut the power right after a waiting line started (before its task first ran, or
    while it waits): it never answers, and the module's command lock is free again."""
    async def run() -> tuple[bool, bytes]:
        module, writes = await lab()
        module.channels[0].receive(b"AT+SLOW\r")
        assert module.busy.locked()
        for _ in range(turns):
            await asyncio.sleep(0)
        module.power_loss()
        for _ in range(3):
            await asyncio.sleep(0)
        return module.busy.locked(), b"".join(writes)

    locked, wire = asyncio.run(run())
    assert not locked and b"line one" not in wire and b"OK" not in wire
