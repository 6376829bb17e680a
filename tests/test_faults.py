"""The fault model on its own: command patterns, and the outbox keeping bytes in order through
fragmentation and stalls (a real module and channel on a real event loop)."""

from __future__ import annotations

import asyncio

import pytest

from simulator import profile
from simulator.clock import Clock
from simulator.faults import ByteNoise, Pattern, Stall, fault_from_args
from simulator.module import Module


@pytest.mark.parametrize(("pattern", "line", "matches"), [
    ("AT+QIOPEN*", 'AT+QIOPEN=1,0,"TCP","10.0.0.1",80', True),
    ("at+qiopen*", "AT+QIOPEN", True),
    ("AT+QIOPEN*", "AT+QICLOSE=0", False),
    ("AT+CSQ?", "AT+CSQ?", True),  # `?` is a character of AT syntax, not a wildcard
    ("AT+CSQ?", "AT+CSQ1", False),
    ("AT+[X]", "AT+[X]", True),
    ("*+CGMI", "ATE0;+CGMI", True),
    ("AT", "ATI", False),  # the whole line, not a prefix
    ("AT*=*,5", "AT+QISEND=0,5", True),
])
def test_pattern(pattern, line, matches):
    assert Pattern(pattern).matches(line) is matches


def test_fault_kinds_from_arguments():
    assert fault_from_args(stall=3) == Stall(3)
    assert fault_from_args(bytes="drop", rate=0.5) == ByteNoise("drop", 0.5, None)
    rule = fault_from_args("AT", reply="+CSQ: 1,2\nOK", times=2)
    response = rule.response()
    assert [str(line.fields[0]) for line in response.lines] == ["+CSQ: 1,2"]
    assert response.final.text == "OK" and response.final.code == 0  # the standard OK
    assert fault_from_args("AT", delay=1).response() is None  # delayed, then run for real



def test_outbox_keeps_order_through_fragments_and_a_stall(tmp_path):
    async def main() -> list[bytes]:
        m = Module(profile.load("bc660k"), clock=Clock(1000.0), data_dir=tmp_path)
        writes: list[bytes] = []
        channel = m.attach("test", writes.append)
        m.faults.add(ByteNoise("fragment", 0.5, 11))
        channel.write(b"first line\r\n")
        channel.write(b"second\r\n")
        m.faults.add(Stall(5.0))
        channel.write(b"during the stall\r\n")
        m.faults.clear()  # ends the stall and the noise; the rest goes out in order
        channel.write(b"after\r\n")
        while channel.outbox.pending():
            await asyncio.sleep(0.001)
        return writes

    writes = asyncio.run(main())
    assert b"".join(writes) == b"first line\r\nsecond\r\nduring the stall\r\nafter\r\n"
    assert len(writes) > 4 and writes[-1] == b"after\r\n"


def test_byte_noise_without_a_seed_is_still_reproducible_per_module(tmp_path):
    def run() -> bytes:
        async def main() -> bytes:
            m = Module(profile.load("bc660k"), clock=Clock(1.0), data_dir=tmp_path)
            writes: list[bytes] = []
            channel = m.attach("test", writes.append)
            m.faults.add(ByteNoise("corrupt", 0.5))
            channel.write(bytes(range(32, 96)))
            return b"".join(writes)

        return asyncio.run(main())

    first = run()
    assert first != bytes(range(32, 96)) and run() == first
