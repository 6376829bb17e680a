"""The spawn port: run a program whose terminal is the module's UART (its stdin and stdout
are the serial line), e.g. a firmware build for the host or a test script.
"""

from __future__ import annotations

import asyncio
import os
import tty

from ptyprocess import PtyProcess

from simulator.channel import Channel
from simulator.module import Module


class SpawnPort:
    def __init__(self, module: Module, argv: list[str]):
        self.module = module
        self.proc = PtyProcess.spawn(argv, echo=False)
        tty.setraw(self.proc.fd)  # the module does its own echo and line handling
        os.set_blocking(self.proc.fd, False)
        self._loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = self._loop.create_future()
        self.channel: Channel = module.attach(f"spawn:{argv[0]}", self._write)
        self._loop.add_reader(self.proc.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.proc.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # EIO: the program closed its terminal or exited
        if data:
            self.channel.receive(data)
        else:
            self._finish()

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.proc.fd, data)
        except OSError:
            self._finish()

    def _finish(self) -> None:
        if self.exited.done():
            return
        self._loop.remove_reader(self.proc.fd)
        self.module.detach(self.channel)
        self.proc.wait()
        status = self.proc.exitstatus if self.proc.exitstatus is not None else 1
        self.module.log.emit("spawn-exit", status=status)
        self.exited.set_result(status)

    def close(self) -> None:
        if not self.exited.done():
            self.proc.terminate(force=True)
            self._finish()
