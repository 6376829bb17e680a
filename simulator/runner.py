"""A running module with its ports: what `modemsim run` and the Python API start and stop."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simulator import profile as profiles
from simulator.clock import Clock
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


class Simulation:
    def __init__(self, module: Module, pty: PtyPort, streams: list[StreamPort],
                 spawned: SpawnPort | None):
        self.module = module
        self.pty = pty
        self.streams = streams
        self.spawned = spawned

    @property
    def port_path(self) -> str:
        return self.pty.path

    def ready_line(self) -> str:
        line = f"{self.module.name} ready on {self.pty.path}"
        return line + (f" (link {self.pty.link})" if self.pty.link else "")

    @classmethod
    async def start(cls, options: Options) -> Simulation:
        profile = profiles.load(options.profile)  # ProfileError names the file and key
        log = TrafficLog()
        if options.log:
            log.open_text(options.log)
        if options.log_json:
            log.open_json(options.log_json)
        module = Module(profile, name=options.name, clock=Clock(options.time_scale),
                        data_dir=options.data_dir, log=log)
        pty = PtyPort(module, options.link)
        streams = []
        for host, port in options.tcp:
            stream = StreamPort(module)
            await stream.listen_tcp(host, port)
            streams.append(stream)
        for host, port in options.rfc2217:
            stream = StreamPort(module, Rfc2217Framing)
            await stream.listen_tcp(host, port)
            streams.append(stream)
        for path in options.unix:
            stream = StreamPort(module)
            await stream.listen_unix(path)
            streams.append(stream)
        module.boot()
        spawned = SpawnPort(module, options.spawn) if options.spawn else None
        return cls(module, pty, streams, spawned)

    async def stop(self) -> None:
        if self.spawned:
            self.spawned.close()
        for stream in self.streams:
            await stream.close()
        self.pty.close()
        self.module.log.close()
