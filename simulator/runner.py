"""A running module with its ports: what `modemsim run` and the Python API start and stop."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simulator import profile as profiles
from simulator.clock import Clock
from simulator.control import Control
from simulator.control.client import default_socket
from simulator.control.scenario import Scenario, ScenarioRun
from simulator.control.server import ControlServer
from simulator.module import Module
from simulator.ports.pty import PtyPort
from simulator.ports.rfc2217 import Rfc2217Framing
from simulator.ports.spawn import SpawnPort
from simulator.ports.stream import StreamPort
from simulator.traffic import TrafficLog


@dataclass
class Options:
    profile: str
    name: str | None = None
    link: Path | None = None
    time_scale: float = 1.0
    log: Path | None = None
    log_json: Path | None = None
    data_dir: Path | None = None
    tcp: list[tuple[str, int]] = field(default_factory=list)
    rfc2217: list[tuple[str, int]] = field(default_factory=list)
    unix: list[Path] = field(default_factory=list)
    spawn: list[str] | None = None  # a program to run with the UART as its terminal
    control: Path | None = None  # the control socket; default LINK.ctl, or by the PTY's name
    scenario: Path | None = None
    routes: list[str] = field(default_factory=list)  # REMOTE=LOCAL (simulator.world.routes)


class Simulation:
    def __init__(self, module: Module, pty: PtyPort, streams: list[StreamPort],
                 server: ControlServer, scenario: ScenarioRun | None):
        self.module = module
        self.pty = pty
        self.streams = streams
        self.control = server.control
        self.server = server
        self.scenario = scenario
        self.spawned: SpawnPort | None = None

    @property
    def port_path(self) -> str:
        return self.pty.path

    @property
    def control_path(self) -> Path:
        return self.server.path

    def ready_line(self) -> str:
        line = f"{self.module.name} ready on {self.pty.path}"
        return line + (f" (link {self.pty.link})" if self.pty.link else "")

    @classmethod
    async def start(cls, options: Options) -> Simulation:
        profile = profiles.load(options.profile)  # ProfileError names the file and key
        scenario = Scenario.load(options.scenario) if options.scenario else None
        log = TrafficLog()
        if options.log:
            log.open_text(options.log)
        if options.log_json:
            log.open_json(options.log_json)
        module = Module(profile, name=options.name, clock=Clock(options.time_scale),
                        data_dir=options.data_dir, log=log, routes=options.routes)
        if scenario:
            scenario.check(module)  # ScenarioError names the line of a verb it cannot serve
        pty = PtyPort(module, options.link)
        server = ControlServer(Control(module), _control_path(options, pty))
        simulation = cls(module, pty, [], server, None)
        try:
            await server.start()
            for host, port in options.tcp:
                stream = StreamPort(module)
                simulation.streams.append(stream)
                await stream.listen_tcp(host, port)
            for host, port in options.rfc2217:
                stream = StreamPort(module, Rfc2217Framing)
                simulation.streams.append(stream)
                await stream.listen_tcp(host, port)
            for path in options.unix:
                stream = StreamPort(module)
                simulation.streams.append(stream)
                await stream.listen_unix(path)
        except BaseException:
            await simulation.stop()  # a port that could not open: give back what did
            raise
        if scenario:
            simulation.scenario = scenario.start(server.control)
        module.boot()
        if options.spawn:
            simulation.spawned = SpawnPort(module, options.spawn)
        return simulation

    async def stop(self) -> None:
        if self.spawned:
            self.spawned.close()
        if self.scenario:
            self.scenario.stop()
        await self.server.close()
        for stream in self.streams:
            await stream.close()
        self.pty.close()
        self.module.log.close()


def _control_path(options: Options, pty: PtyPort) -> Path:
    if options.control:
        return options.control
    if options.link:
        return options.link.with_name(options.link.name + ".ctl")
    return default_socket(pty.path)
