"""TCP and UNIX stream ports: every connection is its own channel to the same module, so a
client may connect while an earlier connection is still open (ModemManager does). A framing
(RFC 2217) may stand between the socket and the channel. Each connection offers the channel
flow control: its unsent output, and pausing its input (bulk data in transparent mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from simulator.channel import Channel, FlowControl
from simulator.module import Module


class Framing(Protocol):
    def inbound(self, data: bytes) -> bytes: ...

    def outbound(self, data: bytes) -> bytes: ...


class StreamPort:
    def __init__(self, module: Module,
                 framing: Callable[[Callable[[bytes], None]], Framing] | None = None):
        self.module = module
        self._framing = framing
        self.server: asyncio.AbstractServer | None = None
        self.label = ""
        self._path: Path | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._draining: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    async def listen_tcp(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._serve, host, port)
        bound = self.server.sockets[0].getsockname()
        kind = "rfc2217" if self._framing else "tcp"
        self.label = f"{kind}:{bound[0]}:{bound[1]}"

    async def listen_unix(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.server = await asyncio.start_unix_server(self._serve, str(path))
        os.chmod(path, 0o600)
        self._path, self.label = path, f"unix:{path}"

    @property
    def address(self) -> tuple | str:
        assert self.server is not None
        return self.server.sockets[0].getsockname()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or len(self._writers)
        framing = self._framing(writer.write) if self._framing else None
        allowed = asyncio.Event()  # cleared while the channel holds its input back
        allowed.set()
        flow = FlowControl(writer.transport.get_write_buffer_size, allowed.clear, allowed.set)

        def write(data: bytes) -> None:
            writer.write(framing.outbound(data) if framing else data)
            self._watch(writer, channel)

        channel = self.module.attach(f"{self.label}<{peer}>", write, flow)
        self._writers.add(writer)
        try:
            while await allowed.wait() and (data := await reader.read(65536)):
                channel.receive(framing.inbound(data) if framing else data)
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            self.module.detach(channel)
            writer.close()

    def _watch(self, writer: asyncio.StreamWriter, channel: Channel) -> None:
        """Tell the channel once a client that fell behind has caught up."""
        if channel.room() or writer in self._draining:
            return
        self._draining.add(writer)

        async def drain() -> None:
            try:
                await writer.drain()
            except ConnectionError:
                return
            finally:
                self._draining.discard(writer)
            channel.drained()

        task = asyncio.get_running_loop().create_task(drain())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self.server is None:
            return
        self.server.close()
        for writer in list(self._writers):
            writer.close()
        await self.server.wait_closed()
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
