"""Acceptance with a real client: ModemManager 1.20 in its test mode drives the simulator over
its UNIX socket, on a private D-Bus session bus this test starts and stops.

Each profile runs a list of steps (probe, enable, registered...); later acceptance steps (SMS)
join the lists as functions of the same shape.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cellular import at, boot, variant
from modem import ROOT

pytestmark = pytest.mark.skipif(
    not (shutil.which("ModemManager") and shutil.which("dbus-daemon") and shutil.which("gdbus")),
    reason="ModemManager, dbus-daemon or gdbus is not installed (scripts/test installs them)",
)

MM_NAME = "org.freedesktop.ModemManager1"
MM_PATH = "/org/freedesktop/ModemManager1"


class ModemManager:
    """dbus-daemon on a private socket plus ModemManager in test mode (no udev, no scan)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={workdir / 'bus'}"}
        out = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-pid=1",
             f"--address=unix:path={workdir / 'bus'}"],
            capture_output=True, text=True, check=True, timeout=30)
        self.dbus_pid = int(out.stdout.split()[0])
        self.mm = subprocess.Popen(
            ["ModemManager", "--test-session", "--test-enable", "--test-no-udev",
             "--no-auto-scan", "--log-level=DEBUG", f"--log-file={workdir / 'mm.log'}"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(lambda: self._run(["gdbus", "introspect", "--session", "-d", MM_NAME,
                                      "-o", MM_PATH]).returncode == 0, "MM on the bus")

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60)

    def _wait(self, check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert self.mm.poll() is None, f"ModemManager exited; log: {self.log_tail()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.log_tail()}"
            time.sleep(0.1)

    def log_tail(self) -> str:
        log = self.workdir / "mm.log"
        return "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else ""

    def set_profile(self, ident: str, plugin: str, port: Path) -> None:
        result = self._run(["gdbus", "call", "--session", "-d", MM_NAME, "-o", MM_PATH, "-m",
                            f"{MM_NAME}.Test.SetProfile", ident, plugin, f"['{port}']"])
        assert result.returncode == 0, result.stderr

    def mmcli(self, *args: str) -> str:
        result = self._run(["mmcli", "--test-session", *args])
        assert result.returncode == 0, f"mmcli {' '.join(args)}: {result.stderr}"
        return result.stdout

    def modems(self) -> list[str]:
        listing = json.loads(self.mmcli("-L", "-J"))
        return listing.get("modem-list", [])

    def modem(self, path: str) -> dict:
        return json.loads(self.mmcli("-m", path, "-J"))["modem"]

    def wait_state(self, path: str, states: set[str], timeout: float = 30.0) -> dict:
        found: dict = {}

        def reached() -> bool:
            nonlocal found
            found = self.modem(path)
            return found["generic"]["state"] in states

        self._wait(reached, f"{path} in {states}", timeout)
        return found

    def stop(self) -> None:
        self.mm.terminate()
        try:
            self.mm.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.mm.kill()
            self.mm.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.dbus_pid, signal.SIGTERM)


@pytest.fixture
def mm(tmp_path: Path) -> Iterator[ModemManager]:
    manager = ModemManager(tmp_path)
    yield manager
    manager.stop()


class Run:
    """One profile under ModemManager: what the steps share."""

    def __init__(self, mm: ModemManager, socket: Path, profile: dict, control: Path):
        self.mm = mm
        self.socket = socket
        self.expect = profile
        self.control = control
        self.path = ""
        self.state: dict = {}

    def ctl(self, *words: str) -> dict:
        """A control verb on the simulator, as a tester would run it."""
        result = subprocess.run([sys.executable, "-m", "simulator", "ctl", str(self.control),
                                 *words], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def probe(run: Run) -> None:
    run.mm.set_profile("sim0", "quectel", run.socket)
    run.mm._wait(lambda: bool(run.mm.modems()), "the modem to be listed")
    (run.path,) = run.mm.modems()
    state = run.mm.wait_state(run.path, {"disabled"})
    assert state["generic"]["plugin"] == "quectel"
    assert state["generic"]["model"] == run.expect["model"]
    assert state["3gpp"]["imei"].isdigit() and len(state["3gpp"]["imei"]) == 15


def enable(run: Run) -> None:
    run.mm.mmcli("-m", run.path, "-e")
    run.mm.wait_state(run.path, {"enabled", "searching", "registered"})


def registered(run: Run) -> None:
    state = run.mm.wait_state(run.path, {"registered"})
    assert state["3gpp"]["registration-state"] == "home"
    assert state["3gpp"]["operator-code"] == run.expect["operator"]
    assert state["generic"]["access-technologies"] == run.expect["access"]
    # MM reads the signal (AT+CSQ) on its own schedule, which can come after "registered"
    run.mm._wait(lambda: int(run.mm.modem(run.path)["generic"]["signal-quality"]["value"]) > 0,
                 "a signal quality", timeout=45)
    run.state = state


def sms_list_and_read(run: Run) -> None:
    """An SMS reaches the module (+CMTI); ModemManager lists it and reads its text."""
    run.ctl("sms", "deliver", "--from", "+8613800138000", "--text", "Meter 42: tamper alarm")

    def listed() -> list[str]:
        return json.loads(run.mm.mmcli("-m", run.path, "--messaging-list-sms", "-J")).get(
            "modem.messaging.sms", [])

    run.mm._wait(lambda: bool(listed()), "the delivered SMS to be listed")
    (path,) = listed()
    sms = json.loads(run.mm.mmcli("-s", path, "-J"))["sms"]
    assert sms["content"]["number"] == "+8613800138000"
    assert sms["content"]["text"] == "Meter 42: tamper alarm"
    assert sms["properties"]["state"] == "received"


def sms_send(run: Run) -> None:
    """ModemManager creates and sends an SMS; the module really sent it (its own log)."""
    created = run.mm.mmcli("-m", run.path,
                           "--messaging-create-sms=text='ping from MM',number='+15550100'")
    path = created.split()[-1]
    run.mm.mmcli("-s", path, "--send")
    sent = run.ctl("state")["subsystems"]["sms"]["sent"]
    assert [(m["to"], m["text"]) for m in sent] == [("+15550100", "ping from MM")]
    assert json.loads(run.mm.mmcli("-s", path, "-J"))["sms"]["properties"]["state"] == "sent"


STEPS: dict[str, list[Callable[[Run], None]]] = {
    "ec200t": [probe, enable, registered, sms_list_and_read, sms_send],
    "m66": [probe, enable, registered],
    "bc660k": [probe, enable, registered],
}
EXPECT = {
    "ec200t": {"model": "EC200T", "operator": "46001", "access": ["lte"],
               "tail": b"+QIND: PB DONE\r\n"},
    "m66": {"model": "Quectel_M66", "operator": "46000", "access": [],  # no AcT on GSM M66
            "tail": b"SMS Ready\r\n"},
    "bc660k": {"model": "Quectel_BC660K-GL", "operator": "46011", "access": ["lte"],
               "tail": b"+CPIN: READY\r\n"},
}


@pytest.mark.parametrize("profile", list(STEPS))
def test_modemmanager_probes_enables_and_registers(mm, sim, tmp_path, profile):
    socket, control = tmp_path / "at.sock", tmp_path / "modem.ctl"
    # the banner (with RDY, which the quectel plugin takes for a reset) is over before MM connects
    boot(sim, profile, EXPECT[profile]["tail"], "--unix", str(socket), "--control", str(control))
    run = Run(mm, socket, EXPECT[profile], control)
    for step in STEPS[profile]:
        step(run)


def test_every_connection_gets_its_own_command_channel(mm, sim, tmp_path):
    """A second modem on the same socket while the first is connected: two concurrent
    connections, each answered on its own; the PTY keeps working beside them."""
    socket, control = tmp_path / "at.sock", tmp_path / "modem.ctl"
    port = boot(sim, variant(tmp_path, "ec200t", name="twice"), EXPECT["ec200t"]["tail"],
                "--unix", str(socket), "--control", str(control))
    run = Run(mm, socket, EXPECT["ec200t"], control)
    probe(run)
    first = run.path
    mm.set_profile("sim1", "generic", socket)
    mm._wait(lambda: len(mm.modems()) == 2, "a second modem")
    (second,) = [path for path in mm.modems() if path != first]
    assert mm.wait_state(second, {"disabled"})["generic"]["plugin"] == "generic"
    mm.mmcli("-m", first, "-e")
    assert mm.wait_state(first, {"registered"})["3gpp"]["operator-code"] == "46001"
    assert mm.modem(second)["generic"]["state"] == "disabled"
    assert at(port, "AT+CGMM").endswith(b"\r\nEC200T\r\n\r\nOK\r\n")
