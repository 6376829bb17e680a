"""The N11V2 manual's SMS dialogs (tests/transcripts/n11v2_sms.yaml) replayed over the real PTY
with the replay tool's engine, each on a fresh module whose SIM holds what `setup` lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
import yaml
from live import LiveModule

from simulator.replay import Replayer, ReplayOptions, SerialTransport, parse_transcripts
from simulator.sms import pdu
from simulator.sms.store import Status
from simulator.subsystems.sms import Sms

FILE = Path(__file__).parent / "transcripts" / "n11v2_sms.yaml"
DOCUMENT = yaml.safe_load(FILE.read_text())
SCENARIOS = {s.id: s for s in parse_transcripts(DOCUMENT)}
SETUP = {entry["id"]: entry.get("setup", {}) for entry in DOCUMENT}
SMSC = pdu.Address.parse("+8613800755500")


def message(entry: dict[str, Any]) -> tuple[Status, bytes]:
    """A stored message from its description: a raw PDU, or number, time and text / UD."""
    status = Status.from_text(entry["status"])
    assert status is not None, entry
    if "pdu" in entry:
        return status, bytes.fromhex(entry["pdu"])
    address = pdu.Address.parse(entry["number"])
    dcs = entry.get("dcs", 0)
    if "ud" in entry:
        octets = bytes.fromhex(entry["ud"])
        udl = len(octets) * 8 // 7 if pdu.coding_of(dcs) is pdu.Coding.GSM7 else len(octets)
        ud = pdu.UserData.decode(dcs, entry.get("udhi", False), udl, octets)
    else:
        ud = pdu.UserData.of_text(entry["text"])
    if status.received:
        tpdu = pdu.Deliver(address, pdu.parse_time_text(entry["time"]), ud).encode()
    else:
        tpdu = pdu.Submit(address, ud).encode()
    return status, pdu.join_smsc(SMSC, tpdu)


def prepare(live: LiveModule, setup: dict[str, Any]) -> None:
    sms = live.module.get(Sms)
    filler = pdu.join_smsc(SMSC, pdu.Deliver(pdu.Address.parse("10086"),
                                             pdu.parse_time_text("20/01/01,00:00:00+32"),
                                             pdu.UserData.of_text("n")).encode())
    for _ in range(setup.get("fill", 0)):
        live.call(sms.put, filler, Status.REC_READ)
    for entry in setup.get("messages", []):
        status, data = message(entry)
        live.call(sms.put, data, status, "SM", entry["index"])
    if setup.get("registered"):
        live.call(live.module.network.register)


@pytest.fixture
def n11v2(tmp_path: Path) -> Iterator[LiveModule]:
    live = LiveModule("n11v2", tmp_path / "data")
    yield live
    live.stop()


@pytest.mark.parametrize("scenario_id", list(SCENARIOS))
def test_n11v2_sms_transcript(n11v2, scenario_id):
    prepare(n11v2, SETUP[scenario_id])
    options = ReplayOptions(profile="n11v2", timeout=10.0, time_scale=20.0)
    with serial.Serial(n11v2.simulation.port_path, timeout=0) as port:
        failure = Replayer(SerialTransport(port), options).run(SCENARIOS[scenario_id].steps)
    assert failure is None, failure
