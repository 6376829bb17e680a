"""Every example dialog of the EC200 TCP/IP guide, replayed against ec200t over its PTY.

Each example runs on a fresh module with its preconditions (transcripts/ec200.setup.yaml) and
real peers on 127.0.0.1 standing in for the guide's servers and clients; routes send the
guide's addresses to them. The examples that cannot replay, and why, are in
transcripts/ec200.skip.yaml.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from peers import SntpServer, TcpPeer, UdpPeer, connect, free_port
from qi import ctl
from replaying import HERE, copies, overrides, replay, setup

from simulator.replay import ReplayOptions, override_for

SCALE = 50.0  # module seconds per real second
REPLAY_SCALE = SCALE / 2  # the guide's waits ("at least 1 s") get a margin of 100 %
SCENARIOS = copies("ec200")
SETUP = setup("ec200")
OVERRIDES = overrides("ec200")


@dataclass
class World:
    """The guide's far ends, on 127.0.0.1."""

    server: TcpPeer = field(default_factory=TcpPeer)
    udp_far: UdpPeer = field(default_factory=UdpPeer)  # 10.7.89.10:6969
    udp_client: UdpPeer = field(default_factory=UdpPeer)  # 10.7.76.34:7687
    sntp: SntpServer = field(default_factory=lambda: SntpServer(datetime(
        2019, 9, 8, 17, 32, 42, tzinfo=UTC)))
    listen_port: int = field(default_factory=free_port)  # the module's port 2020
    service_port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    client_port: int = field(default_factory=free_port)  # 172.31.242.222:54091
    client: socket.socket | None = None
    pty: str = ""  # the module's PTY, for control verbs

    def routes(self) -> list[str]:
        return [
            f"220.180.239.212:8009=127.0.0.1:{self.server.port}",
            f"0.0.0.0:2020=127.0.0.1:{self.listen_port}",
            f"172.31.242.222:54091=127.0.0.1:{self.client_port}",
            f"0.0.0.0:3030=127.0.0.1:{self.service_port}",
            f"10.7.89.10:6969=127.0.0.1:{self.udp_far.port}",
            f"10.7.76.34:7687=127.0.0.1:{self.udp_client.port}",
            f"202.112.10.36:123=127.0.0.1:{self.sntp.port}",
            "61.135.169.125=127.0.0.1",
        ]

    def close(self) -> None:
        for peer in (self.server, self.udp_far, self.udp_client, self.sntp):
            peer.close()
        if self.client is not None:
            self.client.close()

    # -- what the remote steps do ----------------------------------------------------------
    def expect_tcp(self, data: bytes) -> None:
        got = self.server.connection().wait_received(len(data))
        assert got == data, got

    def send_tcp(self, data: bytes) -> None:
        self.server.connection().send(data)

    def close_tcp(self) -> None:
        self.server.connection().close()

    def client_connects(self) -> None:
        self.client = connect(self.listen_port, self.client_port)

    def client_sends(self, data: bytes) -> None:
        assert self.client is not None
        self.client.sendall(data)

    def datagram_at(self, peer: UdpPeer, data: bytes) -> None:
        got, source = peer.wait(1)[0]
        assert got == data and source == ("127.0.0.1", self.service_port), (got, source)


# Remote steps of the guide, by what they say, and what plays them.
REMOTE: list[tuple[str, Callable[[World], None]]] = [
    (r"the network registers the module", lambda w: ctl(w.pty, "network register")),
    (r"220\.180\.239\.212:8009 accepts", lambda w: w.server.connection()),
    (r"has received 'test1' 'test' '12345'", lambda w: w.expect_tcp(b"test1test12345")),
    (r"server sends 14 bytes", lambda w: w.send_tcp(b"test1test12345")),
    (r"server receives the raw bytes 'hello'", lambda w: w.expect_tcp(b"hello")),
    (r"server sends 'Test 1'", lambda w: w.send_tcp(b"Test 1\r\n")),
    (r"server closes the TCP connection", lambda w: w.close_tcp()),
    (r"client 172\.31\.242\.222:54091 connects", lambda w: w.client_connects()),
    (r"client 172\.31\.242\.222:54091 sends 4 bytes 'test'", lambda w: w.client_sends(b"test")),
    (r"10\.7\.89\.10:6969 receives", lambda w: w.datagram_at(w.udp_far, b"1234567890")),
    (r"10\.7\.76\.34:7687 sends a 4-byte datagram 'AAAA'",
     lambda w: w.udp_client.sendto(b"AAAA", w.service_port)),
    (r"10\.7\.76\.34:7687 receives", lambda w: w.datagram_at(w.udp_client, b"1234567890")),
    (r"host 61\.135\.169\.125 answers", lambda w: None),  # the radio model answers pings
    (r"NTP server 202\.112\.10\.36:123 answers", lambda w: None),
]


def play(world: World) -> Callable[[str], str | None]:
    def remote(text: str) -> str | None:
        for pattern, action in REMOTE:
            if re.search(pattern, text):
                try:
                    action(world)
                except AssertionError as exc:
                    return f"remote {text!r}: {exc}"
                return None
        return f"no peer plays {text!r}"

    return remote


def steps_for(scenario: dict) -> list:
    blocks = SETUP["scenarios"].get(scenario["id"], [])
    return [step for block in blocks for step in SETUP["blocks"][block]] + scenario["steps"]


GROUPS = {  # examples replayed side by side, each on its own module, to keep the suite quick
    "contexts": ("qicsgp-", "ctx-", "qigeterror-", "derived-ato-", "ping", "ntp-"),
    "tcp-client": ("tcp-buffer-", "tcp-direct-"),
    "transparent": ("tcp-transparent-", "derived-transparent-"),
    "servers": ("tcp-server-", "udp-service-"),
}


def group_of(scenario_id: str) -> str:
    return next(name for name, prefixes in GROUPS.items() if scenario_id.startswith(prefixes))


def replay_example(scenario: dict, sim, data: Path) -> str | None:
    """Replay one example on a module of its own (and data of its own); the failure, or None."""
    world = World()
    try:
        override = override_for(scenario["id"], OVERRIDES)
        routes = [arg for route in world.routes() for arg in ("--route", route)]
        s = sim(str(HERE / "ec200t-replay.yaml"), *routes, time_scale=SCALE,
                data_dir=data / scenario["id"])
        world.pty = s.path
        options = ReplayOptions(profile="ec200t", timeout=10.0, time_scale=REPLAY_SCALE)
        return replay(s.path, steps_for(scenario), options, override, remote=play(world))
    finally:
        world.close()


@pytest.mark.parametrize("group", GROUPS)
def test_guide_examples(group: str, sim, tmp_path: Path) -> None:
    chosen = [s for s in SCENARIOS if group_of(s["id"]) == group
              and not override_for(s["id"], OVERRIDES).skip]
    assert chosen
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        results = list(pool.map(lambda s: (s["id"], replay_example(s, sim, tmp_path)), chosen))
    failures = [f"{sid}: {failure} (setup steps count first)" for sid, failure in results
                if failure]
    assert not failures, "\n".join(failures)


def test_every_example_is_replayed_or_listed_with_a_reason() -> None:
    ids = [s["id"] for s in SCENARIOS]
    assert len(ids) == 30 and all(group_of(i) for i in ids)
    skipped = {i for i in ids if override_for(i, OVERRIDES).skip}
    assert skipped == {"tcp-direct-recv"}
    assert set(OVERRIDES) <= set(ids)  # no entry for an example that does not exist
    # every example says what it needs before it starts (an empty list is a statement too)
    assert set(ids) - set(SETUP["scenarios"]) == {"qicsgp-query-and-set", "ctx-configure"}
    assert set(SETUP["scenarios"]) <= set(ids)
