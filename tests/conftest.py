from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from modem import Port, Sim


def pytest_configure(config: pytest.Config) -> None:
    # An installed package brings the `modemsim` fixture through its pytest11 entry point;
    # a bare checkout registers the same plugin here.
    if not config.pluginmanager.has_plugin("modemsim"):
        config.pluginmanager.register(importlib.import_module("simulator.pytest_plugin"),
                                      "modemsim")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Callable[..., Sim]]:
    """Start simulators through the real CLI; every one is stopped after the test."""
    started: list[Sim] = []

    def start(profile: str, *extra: str, time_scale: float = 20.0,
              data_dir: Path | None = None) -> Sim:
        s = Sim(profile, data_dir or tmp_path / "data", *extra, time_scale=time_scale)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


BOOT_TAIL = {
    "bc660k": b"+CPIN: READY\r\n",
    "ec200t": b"+QIND: PB DONE\r\n",
    "m66": b"SMS Ready\r\n",
    "n11v2": b"+PBREADY\r\n",
    "fcm360w": b"ready\r\n",
}


@pytest.fixture
def modem(sim: Callable[..., Sim]) -> Iterator[Callable[..., Port]]:
    """A booted module's PTY, echo off, ready for exact-byte assertions."""
    ports: list[Port] = []

    def open_modem(profile: str, *extra: str, echo: bool = False, **kwargs) -> Port:
        port = sim(profile, *extra, **kwargs).open()
        port.expect(BOOT_TAIL[profile])
        if not echo and profile != "fcm360w":
            port.command("ATE0")
        ports.append(port)
        return port

    yield open_modem
    for port in ports:
        port.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory):
    from servers import Pki

    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory, pki):
    """One mosquitto for the tests that leave it running as it was."""
    from servers import Broker

    b = Broker(tmp_path_factory.mktemp("broker"), pki)
    yield b
    b.stop()


@pytest.fixture
def own_broker(tmp_path: Path, pki):
    """A mosquitto of the test's own, for tests that stop, freeze or reconfigure it."""
    from servers import Broker

    brokers = []

    def start(**kwargs):
        b = Broker(tmp_path / f"broker{len(brokers)}", pki, **kwargs)
        brokers.append(b)
        return b

    yield start
    for b in brokers:
        b.thaw()
        b.stop()
