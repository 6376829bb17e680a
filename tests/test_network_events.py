"""What the control surface will trigger, driven in process on a real module: coverage loss
and recovery, denial, roaming, cell changes, SIM removal, insertion and a PIN request. The
module, its channel and its clock are the real ones; only the host side is this test.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from modem import FINAL

from simulator import profile as profiles
from simulator.clock import Clock
from simulator.module import Module
from simulator.subsystems.sim import Sim
from simulator.world.network import Reg


class Host:
    """A host on one channel of an in-process module."""

    def __init__(self, module: Module):
        self.module = module
        self.out = bytearray()
        self.channel = module.attach("test", self.out.extend)

    async def _wait(self, found, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while (end := found()) is None:
            assert time.monotonic() < deadline, f"timed out; got {bytes(self.out)!r}"
            await asyncio.sleep(0.005)
        return end

    def _take(self, end: int) -> bytes:
        data = bytes(self.out[:end])
        del self.out[:end]
        return data

    async def at(self, line: str) -> bytes:
        self.channel.receive(line.encode() + b"\r")

        def final() -> int | None:
            match = FINAL.search(self.out)
            return match.end() if match else None

        return self._take(await self._wait(final))

    async def until(self, line: str) -> bytes:
        needle = b"\r\n" + line.encode() + b"\r\n"

        def found() -> int | None:
            at = self.out.find(needle)
            return at + len(needle) if at >= 0 else None

        return self._take(await self._wait(found))

    async def state(self, wanted: Reg) -> None:
        await self._wait(lambda: 0 if self.module.network.state == wanted else None)


def run(profile: str, tmp_path: Path, scenario) -> None:
    async def main() -> None:
        module = Module(profiles.load(profile), clock=Clock(50), data_dir=tmp_path)
        host = Host(module)
        module.boot()
        await host.state(Reg.HOME)
        await host.at("ATE0")
        await scenario(module, host)

    asyncio.run(main())


def test_coverage_loss_recovery_denial_roaming_and_cell_change(tmp_path):
    async def scenario(module: Module, host: Host) -> None:
        net = module.network
        await host.at("AT+CREG=2;+CEREG=1")
        net.deregister()
        assert (await host.until("+CEREG: 2")).endswith(b"\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n")
        net.register(roaming=True)
        await host.until('+CREG: 5,"1A2D","01A2D001",7')
        await host.until("+CEREG: 5")
        net.move(ci="01A2D002")  # the cell changed: only mode 2 shows it
        assert await host.until('+CREG: 5,"1A2D","01A2D002",7') == (
            b'\r\n+CREG: 5,"1A2D","01A2D002",7\r\n')
        net.deny(cause=11)
        await host.until("+CEREG: 3")
        assert (await host.at("AT+COPS?")).endswith(b"\r\n+COPS: 0\r\n\r\nOK\r\n")
        net.register()
        await host.until("+CEREG: 1")
        assert (await host.at("AT+CGPADDR=1")).startswith(b"\r\n+CGPADDR: 1,\"10.7.")

    run("ec200t", tmp_path, scenario)


def test_sim_removed_inserted_and_locked(tmp_path):
    async def scenario(module: Module, host: Host) -> None:
        sim = module.get(Sim)
        await host.at("AT+CMEE=1;+CEREG=1;+QSIMSTAT=1")
        sim.remove()
        got = await host.until("+CEREG: 0")
        assert b"\r\n+QSIMSTAT: 1,0\r\n" in got and b"\r\n+CPIN: NOT READY\r\n" in got
        assert await host.at("AT+CPIN?") == b"\r\n+CME ERROR: 10\r\n"
        assert await host.at("AT+QSIMSTAT?") == b"\r\n+QSIMSTAT: 1,0\r\n\r\nOK\r\n"
        sim.insert()
        await host.until("+QSIMSTAT: 1,1")
        await host.until("+CEREG: 2")
        await host.until("+CEREG: 1")
        assert await host.at("AT+CPIN?") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"
        sim.require_pin()
        await host.until("+CPIN: SIM PIN")
        await host.until("+CEREG: 0")
        assert await host.at("AT+CIMI") == b"\r\n+CME ERROR: 11\r\n"
        assert await host.at('AT+CPIN="1234"') == b"\r\nOK\r\n"
        await host.until("+CPIN: READY")
        await host.until("+CEREG: 1")
        assert module.get(Sim).snapshot()["state"] == "READY"

    run("ec200t", tmp_path, scenario)


def test_nbiot_timers_show_in_modes_4_and_5(tmp_path):
    async def scenario(module: Module, host: Host) -> None:
        await host.at("AT+CEREG=4")
        assert await host.at("AT+CEREG?") == b'\r\n+CEREG:4,1,"4C10","05C4EF33",9\r\n\r\nOK\r\n'
        await host.at('AT+CPSMS=1,,,"01000010","00000000"')  # a TAU asks for PSM
        assert await host.until('+CEREG:1,"4C10","05C4EF33",9,,,"00000000","01000010"')
        module.network.timers.active_time = "00100001"  # what the power model will grant
        module.network.move()
        assert await host.until('+CEREG:1,"4C10","05C4EF33",9,,,"00100001","01000010"')
        module.network.timers.active_time = None
        assert await host.at("AT+CEREG?") == b'\r\n+CEREG:4,1,"4C10","05C4EF33",9\r\n\r\nOK\r\n'

    run("bc660k", tmp_path, scenario)
