"""The PTY port: the module's UART as /dev/pts/N, with an optional stable symlink.

The slave is put in raw mode (the module does its own echo and line handling) and kept open by
the simulator, so the master never reads EIO while no client is attached and clients may open,
close and reopen the port at will. Output a client has not read waits in the kernel and in a
bounded queue; with nobody reading for long, the oldest bytes go, as on an unread UART.
Bulk data (transparent mode, pushed socket data) never gets that far: the channel sees the
queue through FlowControl and waits below its high-water mark, like hardware flow control.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from pathlib import Path

from simulator.channel import HIGH_WATER, Channel, FlowControl
from simulator.module import Module

_QUEUE_LIMIT = 1 << 20
_LOW_WATER = HIGH_WATER // 4


class PtyPort:
    def __init__(self, module: Module, link: Path | None = None):
        self.module = module
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.link = link
        if link is not None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(self.path)
        self._queue = bytearray()
        self._answer: bytearray | None = None  # what the read being handled makes us write
        self._loop = asyncio.get_running_loop()
        self._reading = False
        flow = FlowControl(self._pending, self._pause_reading, self._resume_reading)
        self.channel: Channel = module.attach("pty", self._write, flow)
        self._resume_reading()

    def _pause_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.master)
            self._reading = False

    def _resume_reading(self) -> None:
        if not self._reading:
            self._loop.add_reader(self.master, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO cannot happen while we hold the slave; anything else is transient
        if not data:
            return
        # Echo, response lines and the final result of a line answered at once leave in one
        # write: one system call, and one wake-up for the host waiting on its answer.
        self._answer = bytearray()
        try:
            self.channel.receive(data)
        finally:
            answer, self._answer = self._answer, None
            if answer:
                self._send(bytes(answer))

    def _pending(self) -> int:
        return len(self._queue) + len(self._answer or b"")

    def _write(self, data: bytes) -> None:
        if self._answer is not None:
            self._answer += data
        else:
            self._send(data)

    def _send(self, data: bytes) -> None:
        if not self._queue:
            try:
                sent = os.write(self.master, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            data = data[sent:]
            if not data:
                return
            self._loop.add_writer(self.master, self._flush)
        self._queue += data
        if len(self._queue) > _QUEUE_LIMIT:
            dropped = len(self._queue) - _QUEUE_LIMIT
            del self._queue[:dropped]
            self.module.log.emit("pty-overrun", dropped=dropped)

    def _flush(self) -> None:
        try:
            sent = os.write(self.master, self._queue)
        except (BlockingIOError, InterruptedError):
            return
        del self._queue[:sent]
        if not self._queue:
            self._loop.remove_writer(self.master)
        if len(self._queue) < _LOW_WATER:
            self.channel.drained()

    def close(self) -> None:
        self._pause_reading()
        self._loop.remove_writer(self.master)
        self.module.detach(self.channel)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                if self.link.is_symlink():
                    self.link.unlink()
        os.close(self.master)
        os.close(self._slave)
