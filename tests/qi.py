"""Helpers for the Quectel socket tests: a booted module with routes, its context up."""

from __future__ import annotations

import re
from pathlib import Path

from atport import AtPort

from simulator.control.client import request, resolve

BOOTED = {"ec200t": b"+QIND: PB DONE\r\n", "bc660k": b"+CPIN: READY\r\n",
          "fcm360w": b"ready\r\n"}


PROFILES = Path(__file__).parent / "profiles"


def open_module(sim, profile: str, routes: list[str] = (), scale: float = 20.0,
                **kwargs) -> AtPort:
    """Boot a module through the CLI with `routes`; echo off; ec200t's context 1 up.
    `profile` may name a test profile in tests/profiles, "ec200t-internet" extending ec200t."""
    args = [a for route in routes for a in ("--route", route)]
    family = profile.split("-")[0]
    if family != profile:
        profile = str(PROFILES / f"{profile}.yaml")
    s = sim(profile, *args, time_scale=scale, **kwargs)
    port = AtPort(s.open())
    port.take(BOOTED[family])
    if family != "fcm360w":
        ctl(s.path, "network register")  # what the radio model does once it has attached
        assert port.at("ATE0").endswith(b"OK\r\n")
    if family == "ec200t":
        assert port.at("AT+QIACT=1") == b"\r\nOK\r\n"
    return port


def opened(port: AtPort, line: str, sid: int = 0) -> None:
    """Send an AT+QIOPEN for modes 0/1 and wait for its success URC."""
    assert port.at(line) == b"\r\nOK\r\n"
    assert port.urc(f"+QIOPEN: {sid},0").endswith(f"+QIOPEN: {sid},0\r\n".encode())


def send(port: AtPort, sid: int, data: bytes) -> bytes:
    """A fixed-length AT+QISEND; the final result line (ERROR comes without a prompt)."""
    reply = port.at(f"AT+QISEND={sid},{len(data)}", prompt=True)
    if not reply.endswith(b"> "):
        return reply
    port.write(data)
    return port.take(b"\r\n", 10) + port.take(b"\r\n")


def read_all(port: AtPort, sid: int, size: int, chunk: int = 1500) -> bytes:
    """AT+QIRD until `size` bytes came back."""
    got = bytearray()
    while len(got) < size:
        got += read_once(port, sid, chunk)
    return bytes(got)


def read_once(port: AtPort, sid: int, chunk: int = 1500, command: str = "+QIRD") -> bytes:
    """One read (AT+QIRD, or AT+QSSLRECV with `command`): the bytes it returned."""
    port.write(f"AT{command}={sid},{chunk}\r".encode())
    port.take(f"\r\n{command}: ".encode())  # a "recv" URC may come first
    count = int(port.take(b"\r\n")[:-2])
    data = port.take_bytes(count)
    tail = port.take(b"OK\r\n")
    assert tail == (b"\r\n\r\nOK\r\n" if count else b"\r\nOK\r\n"), tail
    return data


def ctl(pty: str, verb: str, **args: object) -> dict:
    """A control verb for the module on `pty`, as `modemsim ctl` sends it."""
    return request(resolve(pty), verb, args)


def own_address(port: AtPort, cid: int = 1) -> bytes:
    """The module's address on context `cid` (the network hands it out), from AT+QIACT?."""
    listing = port.at("AT+QIACT?")
    found = re.search(rb'\+QIACT: %d,1,\d,"([^"]+)"' % cid, listing)
    assert found, listing
    return found[1]
