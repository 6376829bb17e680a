"""One host connection to a module (the PTY, a TCP or a UNIX client): its V.250 settings, its
line discipline, the execution of its command lines and the URCs held back for it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.at.command import Command
from simulator.at.dispatcher import Context
from simulator.at.errors import AtError
from simulator.at.formatter import LineSettings
from simulator.at.parser import parse
from simulator.at.replies import ERROR, NO_CARRIER, OK, Data, Final, Info, Online, Prompt, Response
from simulator.faults import Outbox
from simulator.line.discipline import LineDiscipline, Mode
from simulator.line.online import DataLink

if TYPE_CHECKING:
    from simulator.module import Module


# Output queued towards the host above which bulk data (online mode, pushed socket data) waits.
HIGH_WATER = 1 << 16


def _nothing() -> None:
    pass


@dataclass
class FlowControl:
    """What a port offers for backpressure; a port without it never pushes back."""

    pending: Callable[[], int] = lambda: 0  # bytes written, not yet taken by the host
    pause_reading: Callable[[], None] = _nothing
    resume_reading: Callable[[], None] = _nothing


Urc = Info | list[Info]


class Channel:
    def __init__(self, module: Module, name: str, write: Callable[[bytes], None],
                 flow: FlowControl | None = None):
        self.module = module
        self.name = name
        self._write = write
        self.flow = flow or FlowControl()
        self._room_waiters: list[Callable[[], None]] = []
        self._input_paused = False
        self.link: DataLink | None = None  # what online mode carries
        self.outbox = Outbox(module.faults, self._emit)
        self.settings: LineSettings = module.saved_line_settings()
        self.line = self._new_line()
        self._held: list[tuple[Urc, Data | None]] = []
        self._task: asyncio.Task | None = None  # the line that is waiting on something
        self._receiving = False  # inside receive(): lines start at once (see _on_line)
        self.closed = False
        self.last_input = module.clock.now()  # module time of the host's last byte

    def _new_line(self) -> LineDiscipline:
        return LineDiscipline(self.settings, self.module.profile.line_limit, self.write,
                              self._on_line)

    # -- bytes ------------------------------------------------------------------------------
    def receive(self, data: bytes) -> None:
        self.module.log.bytes_in(self.name, data)
        if self.module.booting or self.module.faults.stalled:
            return  # the UART is not listening until the firmware is up (or unstuck)
        self.last_input = self.module.clock.now()
        self._receiving = True
        try:
            self.line.feed(data)
        finally:
            self._receiving = False

    def write(self, data: bytes) -> None:
        if data and not self.closed:
            self.outbox.put(data)  # byte faults and stalls act here

    def _emit(self, data: bytes) -> None:
        if not self.closed:
            self.module.log.bytes_out(self.name, data)
            self._write(data)
            if self._room_waiters and self.room():
                self.drained()  # output held by a fault went out: bulk data may follow

    # -- flow control -----------------------------------------------------------------------
    def room(self) -> bool:
        return self.flow.pending() + self.outbox.pending() < HIGH_WATER

    def ready(self) -> bool:
        """Whether a URC carrying data would go out now (not held, host keeping up)."""
        return self.line.mode is Mode.COMMAND and not self._held and self.room()

    def when_room(self, callback: Callable[[], None]) -> None:
        self._room_waiters.append(callback)

    def drained(self) -> None:
        """The port's output queue went down (ports call this), or the channel became ready."""
        waiters, self._room_waiters = self._room_waiters, []
        for callback in waiters:
            callback()

    def pause_input(self) -> None:
        if not self._input_paused:
            self._input_paused = True
            self.flow.pause_reading()

    def resume_input(self) -> None:
        if self._input_paused:
            self._input_paused = False
            self.flow.resume_reading()

    # -- URCs -------------------------------------------------------------------------------
    def deliver(self, line: Urc, payload: Data | None = None) -> None:
        """A URC never splits a response: while a command runs it waits for the final result.
        `payload` is raw data that follows the URC's line (pushed socket data)."""
        if self.line.mode is Mode.COMMAND and not self._held:
            self.write(self._urc_bytes(line, payload))
        else:
            self._held.append((line, payload))

    def _urc_bytes(self, line: Urc, payload: Data | None = None) -> bytes:
        if isinstance(line, list):  # lines of one URC go out as one block
            out = self.module.formatter.lines(list(line), self.settings)
        else:
            out = self.module.formatter.urc(line, self.settings)
        return out + payload.payload if payload else out

    def _flush_held(self) -> None:
        if self.line.mode is not Mode.COMMAND:
            return  # still busy: the next final result flushes again
        held, self._held = self._held, []
        for line, payload in held:
            self.write(self._urc_bytes(line, payload))
        self.drained()

    # -- command lines ----------------------------------------------------------------------
    def _on_line(self, body: str | None) -> None:
        """Run a line the host just typed at once, up to its first wait: most commands never
        wait and answer without a trip through the event loop. A line that waits goes on as a
        task; so does one started elsewhere (the backlog after a task, a wake-up), as always."""
        loop = asyncio.get_running_loop()
        if not self._receiving:
            self._task = loop.create_task(self._run_line(body))
            return
        self._task = None
        line = self._run_line(body)
        try:
            waiting = line.send(None)
        except StopIteration:
            return
        self._task = loop.create_task(_Rest(line, waiting))

    async def _settle(self, replies: Awaitable[Any]) -> Any:
        """Await what a handler returned inside the line's task (its coroutine may use
        asyncio.timeout or current_task), never in the eager start of _on_line."""
        if self._task is None or asyncio.current_task() is not self._task:
            try:
                await asyncio.sleep(0)  # the line goes on as a task (see _Rest.send)
            except BaseException:  # cancelled on the way (power loss): the handler never starts
                if inspect.iscoroutine(replies):
                    replies.close()
                raise
        return await replies

    async def _run_line(self, body: str | None) -> None:
        final: Final = ERROR
        try:
            final = await self._execute(body)
            self.write(self.module.formatter.final(final, self.settings, self.module.cmee))
        except Exception as exc:  # a bug must not kill the port: answer like a module would
            final = ERROR
            self.module.log.emit("internal-error", error=repr(exc))
            self.write(self.module.formatter.final(ERROR, self.settings, 0))
        finally:
            if isinstance(final, Online) and final.link is not None and not self.closed:
                self._go_online(final.link)
            else:
                self._command_done()

    def _command_done(self) -> None:
        self.line.done()
        if self._held:
            self.module.clock.call_later(self.module.profile.urc_gap, self._flush_held)
        else:
            self.drained()

    # -- online (transparent) mode ----------------------------------------------------------
    def _go_online(self, link: DataLink) -> None:
        self.link = link
        self.module.log.emit("online", channel=self.name)
        self.line.online(self.module.clock, link.guard, link.uplink, self._escaped)
        link.go_online(self)

    def _leave_online(self, final: Final) -> None:
        self.link = None
        self.line.offline()
        self.resume_input()
        self.write(self.module.formatter.final(final, self.settings, self.module.cmee))
        self.module.log.emit("offline", channel=self.name, result=str(getattr(final, "text", "")))
        self._command_done()

    def _escaped(self) -> None:
        """+++ with its guard times: OK, and the link carries on in command mode."""
        link = self.link
        if link is None:
            return
        link.escaped()
        self._leave_online(OK)

    def hangup(self) -> None:
        """The link dropped while online: NO CARRIER."""
        if self.link is not None:
            self._leave_online(NO_CARRIER)

    async def _execute(self, body: str | None) -> Final:
        if body is None:
            return ERROR  # longer than the module's line buffer
        typed = "AT" + body
        self.module.log.emit("command", channel=self.name, line=typed)
        async with self.module.busy:
            faults = self.module.faults
            forced = await faults.on_command(typed) if faults.rules else None
            if forced is not None:
                self.write(self._render(forced.lines))
                return forced.final or OK
            try:
                commands = parse(self.module.profile.grammar, body)
            except SyntaxError:
                return ERROR
            for command in commands:
                response = await self._run_command(command)
                final = response.final or OK
                if final != OK:
                    return final  # the first failure (or a CONNECT...) ends the line
        return OK

    async def _run_command(self, command: Command) -> Response:
        module = self.module
        handler = module.dispatcher.lookup(command)
        if handler is None:
            return Response(final=ERROR)
        ctx = Context(command, self)
        try:
            replies = module.dispatcher.call(handler, ctx)
            if inspect.isawaitable(replies):
                replies = await self._settle(replies)
            response = Response.of(replies)
            self.write(self._render(response.lines))
            while response.prompt is not None:
                response = await self._data_entry(response.prompt)
                self.write(self._render(response.lines))
        except AtError as error:
            return Response(final=module.error_reply(error))
        return response

    def _render(self, lines: list[Info | Data]) -> bytes:
        inside = self.module.faults.take_inside(lines)  # a URC injected into the response
        return self.module.formatter.lines(lines, self.settings, inside)

    async def _data_entry(self, prompt: Prompt) -> Response:
        """Print the prompt, collect the payload, and hand it to the command."""
        loop = asyncio.get_running_loop()
        payload: asyncio.Future[bytes | None] = loop.create_future()
        self.write(self.module.formatter.prompt(prompt, self.settings))
        self.line.collect(prompt.length, lambda data: payload.done() or payload.set_result(data),
                          echo=prompt.echo)
        timer = None
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            timed_out = True
            self.line.take_data() if prompt.on_timeout else self.line.cancel_data()

        if prompt.timeout is not None:
            timer = self.module.clock.call_later(prompt.timeout, expire)
        data = await payload
        if timer:
            timer.cancel()
        if data is None:
            replies = prompt.on_cancel() if prompt.on_cancel else OK
        else:
            handler = prompt.on_timeout if timed_out and prompt.on_timeout else prompt.on_data
            replies = handler(data)
            if inspect.isawaitable(replies):
                replies = await self._settle(replies)
        return Response.of(replies)

    # -- deep sleep -------------------------------------------------------------------------
    def sleep(self, on_edge: Callable[[], None], keep: bool = False) -> None:
        """The UART goes off: silent, deaf; a byte from the host calls `on_edge`."""
        self.line.sleep(on_edge, keep)

    def wake(self) -> bytes:
        """The UART is back: URCs held meanwhile go out; returns the bytes kept while asleep."""
        kept = self.line.wake()
        self._flush_held()
        return kept

    def reset(self) -> None:
        """After a reboot the channel's V.250 settings are the saved ones again, and online
        mode is over (the sockets went with the firmware)."""
        if self.link is not None:
            self.link = None
            self.line.offline()
            self.line.done()
            self.resume_input()
        saved = self.module.saved_line_settings()
        for key, value in vars(saved).items():
            setattr(self.settings, key, value)  # the line discipline shares this object

    def power_loss(self) -> None:
        """Power gone: the running command never finishes, nothing waiting goes out."""
        if self._task and not self._task.done():
            self._task.cancel()
        self._held.clear()
        self.outbox.clear()
        self.link = None  # the sockets go with the power; online mode with them
        self._room_waiters.clear()
        self.resume_input()
        self.line = self._new_line()

    def close(self) -> None:
        self.closed = True
        if self.link is not None:
            link, self.link = self.link, None
            link.escaped()
        if self._task and not self._task.done():
            self._task.cancel()


class _Rest(Coroutine[Any, Any, None]):
    """The rest of a coroutine started by hand, as a task runs it: the first step hands the
    task what the coroutine waits on; every later send or throw (a cancellation, even one
    before that first step) goes to the coroutine, so its `finally` and `async with` unwind."""

    def __init__(self, coro: Coroutine[Any, Any, None], waiting: Any):
        self._coro = coro
        self._first: list[Any] = [waiting]

    def send(self, value: Any) -> Any:
        if self._first:
            waiting = self._first.pop()
            if waiting is not None:
                return waiting
            # a bare yield asks for one turn of the loop: this first step comes a turn later
        return self._coro.send(value)

    def throw(self, *exc: Any) -> Any:
        self._first.clear()
        return self._coro.throw(*exc)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, Any, None]:  # the ABC asks for it; tasks use send
        return self._coro.__await__()
