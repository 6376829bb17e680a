"""The Python API: start a module from a program or a test, drive it with the control verbs.

    import simulator

    modem = simulator.start("bc660k", time_scale=60)   # in this process, in its own thread
    port = serial.Serial(modem.port_path)
    modem.fault("AT+QIOPEN*", reply="ERROR", times=1)
    modem.network_deregister()
    modem.stop()                                        # or: await modem.astop()

Every verb is a method named after it (`network register` -> `network_register`, `sim
pin-required` -> `sim_pin_required`), taking the verb's positional arguments and its options as
keywords (`fault("AT*", delay=2)`, `sms_deliver(from_="+8613800000000", text="hi")`). A verb
that cannot run raises `VerbError` (`UsageError` for a bad argument).

`in_process=False` runs the module as a `modemsim run` subprocess instead, reached through its
control socket; the handle is the same.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import serial

from simulator.control import VERBS, VerbError
from simulator.control.client import NotRunning, request
from simulator.control.registry import Verb
from simulator.runner import Options, Simulation

T = TypeVar("T")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class StartError(Exception):
    """The module did not come up (its error output says why)."""


class Modem(ABC):
    """A running module: its PTY (`port_path`), its control socket, the verbs as methods."""

    port_path: str
    control_path: Path
    profile: str

    @abstractmethod
    def _call(self, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run one verb on the module (each way of running a module reaches it its own way)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the module and give back its PTY, sockets and files; idempotent."""

    async def astop(self) -> None:
        """Stop from async code without blocking its event loop."""
        await asyncio.to_thread(self.stop)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the module is out of reset with its boot banner sent (so a port opened
        now starts clean: pyserial flushes what arrived before it opened)."""
        deadline = time.monotonic() + timeout
        while not self.state()["up"]:
            if time.monotonic() > deadline:
                raise StartError(f"{self.profile} did not finish booting in {timeout} s")
            time.sleep(0.01)

    def open_serial(self, **kwargs: Any) -> serial.Serial:
        """The PTY opened with pyserial (115200 8N1 unless told otherwise)."""
        return serial.Serial(self.port_path, **{"baudrate": 115200, "timeout": 1.0, **kwargs})

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.astop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.profile} on {self.port_path}>"


def _verb_method(spec: Verb) -> Callable[..., dict[str, Any]]:
    """A method with the verb's signature that sends its arguments as the verb's JSON args."""
    params = list(inspect.signature(spec.func).parameters.values())[1:]
    signature = inspect.Signature(params)

    def method(self: Modem, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise VerbError(f"{spec.name}: {exc}") from None
        return self._call(spec.name, {k.rstrip("_"): v for k, v in bound.arguments.items()})

    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__name__ = method.__qualname__ = spec.method
    method.__doc__ = inspect.getdoc(spec.func)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_param, *params], return_annotation=dict[str, Any])
    return method


for _spec in VERBS.values():
    setattr(Modem, _spec.method, _verb_method(_spec))


class ThreadModem(Modem):
    """A module in this process, on an event loop of its own in a daemon thread."""

    def __init__(self, options: Options):
        self.profile = options.profile
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=f"modemsim-{options.name or options.profile}")
        self._thread.start()
        self._stopped = False
        try:
            self.simulation = self._wait(Simulation.start(options), START_TIMEOUT)
        except BaseException:
            self._end_loop()
            raise
        self.module = self.simulation.module  # in-process reach, e.g. module.log.subscribe
        self.port_path = self.simulation.port_path
        self.control_path = self.simulation.control_path

    def _wait(self, work: Awaitable[T], timeout: float) -> T:
        async def run() -> T:
            return await work

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def _call(self, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        if self._stopped:
            raise NotRunning(f"{self.profile} on {self.port_path} has been stopped")

        async def run() -> dict[str, Any]:
            return self.simulation.control.run(verb, args, source="api")

        return self._wait(run(), START_TIMEOUT)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._wait(self.simulation.stop(), STOP_TIMEOUT)
        finally:
            self._end_loop()

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT)
        self._loop.close()


class ProcessModem(Modem):
    """A module in a `modemsim run` subprocess, driven through its control socket."""

    READY = re.compile(r"(\S+) ready on (/dev/pts/\d+)( \(link (.+)\))?")

    def __init__(self, options: Options):
        self.profile = options.profile
        self._private: tempfile.TemporaryDirectory[str] | None = None
        if options.control is None and options.link is None:
            self._private = tempfile.TemporaryDirectory(prefix="modemsim-")
            options.control = Path(self._private.name) / "control.ctl"
        self.control_path = options.control or Path(f"{options.link}.ctl")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "run", *_argv(options)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        match = self.READY.fullmatch(self._ready_line())
        if match is None:
            self.stop()
            raise StartError("modemsim run printed no ready line")
        self.port_path = match[2]

    def _ready_line(self) -> str:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(START_TIMEOUT)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line:
            self.stop()
            raise StartError(f"modemsim run did not start: {self.proc.stderr.read().decode()}")
        return line

    def _call(self, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        return request(self.control_path, verb, args)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        if self._private is not None:
            self._private.cleanup()
            self._private = None


def _argv(o: Options) -> list[str]:
    argv = ["--profile", o.profile, "--time-scale", repr(o.time_scale)]
    for flag, value in (("--name", o.name), ("--link", o.link), ("--log", o.log),
                        ("--log-json", o.log_json), ("--data-dir", o.data_dir),
                        ("--control", o.control), ("--scenario", o.scenario)):
        if value is not None:
            argv += [flag, str(value)]
    for host, port in o.tcp:
        argv += ["--tcp", f"{host}:{port}"]
    for path in o.unix:
        argv += ["--unix", str(path)]
    return argv


_PATHS = ("link", "log", "log_json", "data_dir", "control", "scenario")


def start(profile: str, *, in_process: bool = True, **options: Any) -> Modem:
    """Start a module; `options` are `modemsim run`'s (time_scale=60, link=..., data_dir=...,
    log=..., log_json=..., tcp=[("127.0.0.1", 7000)], unix=[...], control=..., scenario=...).

    With in_process=False the module runs in a `modemsim run` subprocess.
    """
    for key in _PATHS:
        if options.get(key) is not None:
            options[key] = Path(options[key])
    options["unix"] = [Path(p) for p in options.get("unix", [])]
    opts = Options(profile=profile, **options)  # TypeError names an unknown option
    return ThreadModem(opts) if in_process else ProcessModem(opts)
