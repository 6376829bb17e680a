"""Scenario files: validation with line numbers, and timelines running on a real module."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from control import booted, ctl, wait_for
from modem import ROOT

from simulator.control import VERBS
from simulator.control.scenario import Scenario, ScenarioError

EXAMPLES = sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_the_examples_are_valid_and_include_the_required_ones():
    names = {p.stem for p in EXAMPLES}
    assert {"network-drops-during-upload", "broker-flaps-every-minute"} <= names
    for path in EXAMPLES:
        scenario = Scenario.load(path)
        assert scenario.description and scenario.events


def test_every_verb_can_be_written_in_a_scenario(tmp_path):
    words = {
        "time-scale": "time-scale 2", "signal": "signal --rssi -90", "urc": "urc RDY",
        "fault": "fault AT+X --silent", "pdp deactivate": "pdp deactivate 1",
        "socket close": "socket close 0", "socket reset": "socket reset 0",
        "mqtt drop": "mqtt drop 0", "sms deliver": "sms deliver --from 10086 --text hi",
    }
    lines = "\n".join(f"  - at: {i}s\n    do: {words.get(name, name)}"
                      for i, name in enumerate(VERBS))
    scenario = Scenario.load(_write(tmp_path, "events:\n" + lines))
    assert [e.actions[0].verb.name for e in scenario.events] == list(VERBS)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("events:\n  - at: 5s\n    do: netwrk register\n", 3, "unknown verb 'netwrk register'"),
    ("events:\n  - at: soon\n    do: reboot\n", 2, "expected a duration"),
    ("events:\n  - at: 1s\n    every: 2s\n    do: reboot\n", 2, "exactly one of at:"),
    ("events:\n  - every: 0s\n    do: reboot\n", 2, "longer than zero"),
    ("events:\n  - at: 1s\n", 2, "missing do:"),
    ("events:\n  - at: 1s\n    delay: 1s\n    do: reboot\n", 3, "delay: goes with after:"),
    ("events:\n  - after: AT+X\n    times: 0\n    do: reboot\n", 3, "whole number"),
    ("events:\n  - at: 1s\n    when: now\n    do: reboot\n", 3, "unknown key 'when'"),
    ("events:\n  - at: 1s\n    do: signal --rssi 5\n", 3, "--rssi 5 is outside"),
    ("events:\n  - at: 1s\n    do: [reboot, {verb: urc}]\n", 3, "urc: TEXT is required"),
    ("events:\n  - at: 1s\n    do: {text: hi}\n", 3, "names its verb"),
    ("events:\n  - at: 1s\n    do: urc 'unclosed\n", 3, "No closing quotation"),
    ("faults:\n  - {bytes: drop, rate: 2}\n", 2, "--rate R with 0 < R <= 1"),
    ("faults:\n  - AT+X --reply\n", 2, "expected one argument"),
    ("faults:\n  - {pattern: AT+X, reply: OK, silent: true}\n", 2, "exclude each other"),
    ("timeline: []\n", 1, "unknown key 'timeline'"),
    ("events: {at: 1s}\n", 1, "expected a list"),
    ("events:\n  - at: 1s\n    do: [\n", 4, "not valid YAML"),
])
def test_errors_name_the_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        Scenario.load(path)
    assert str(caught.value).startswith(f"{path}:{line}:")
    assert message in str(caught.value)


TIMELINE = """
    description: every trigger once
    faults:
      - {pattern: "AT+CGMI", reply: "+CME ERROR: 3", times: 1}
      - "AT+CGMR --silent --times 1"
    events:
      - at: 2s
        do: signal --rssi -100
      - after: "at+cgmm*"
        delay: 4s
        do: {verb: urc, text: "+AFTER: 1"}
      - every: 1s
        times: 3
        do: [urc +TICK]
"""


def test_a_timeline_runs_on_the_module(modemsim, tmp_path):
    modem = modemsim("bc660k", time_scale=20, scenario=_write(tmp_path, TIMELINE))
    seen = []
    ticks = threading.Event()

    def watch(event: dict) -> None:
        if event["kind"] == "urc":
            seen.append(event["line"])
            if seen.count("+TICK") == 3:
                ticks.set()

    modem.module.log.subscribe(watch)
    port = booted(modem)
    assert port.command("AT+CGMI") == b"\r\n+CME ERROR: 3\r\n"  # standing fault, once
    assert port.command("AT+CGMI") == b"\r\nQuectel_Ltd\r\n\r\nOK\r\n"
    assert ticks.wait(10) and seen.count("+TICK") == 3
    wait_for(lambda: ctl(modem, "state")["network"]["signal"]["rssi"] == -100)
    assert port.command("AT+CGMM") == b"\r\nQuectel_BC660K-GL\r\n\r\nOK\r\n"
    assert port.expect(b"+AFTER: 1\r\n").endswith(b"\r\n+AFTER: 1\r\n")
    port.write(b"AT+CGMR\r")  # the silent rule, then the one-shot `after` stays spent
    assert port.quiet_for(0.3) == b""
    assert port.command("AT+CGMM") == b"\r\nQuectel_BC660K-GL\r\n\r\nOK\r\n"
    assert port.quiet_for(0.4) == b""
    assert seen.count("+TICK") == 3 and seen.count("+AFTER: 1") == 1


def test_network_drops_during_upload_example(modemsim):
    path = ROOT / "examples" / "scenarios" / "network-drops-during-upload.yaml"
    modem = modemsim("bc660k", time_scale=100, scenario=path)
    seen = []  # (verb, source) of every control event but `state`
    modem.module.log.subscribe(lambda e: e["kind"] == "control" and e["verb"] != "state" and
                               seen.append((e["verb"], e["source"])))
    port = booted(modem)
    ctl(modem, "network register")
    port.write(b"AT+QISEND=0,5\r")  # whatever the socket model answers, the network drops
    wait_for(lambda: len(seen) == 3)
    assert seen == [("network register", "socket"), ("network deregister", "scenario:9"),
                    ("network register", "scenario:12")]
    assert ctl(modem, "state")["network"]["registration"] == "home"


def test_a_verb_the_module_cannot_serve_stops_the_start_naming_the_line(tmp_path):
    path = ROOT / "examples" / "scenarios" / "broker-flaps-every-minute.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", "--profile", "tests/profiles/bare.yaml",
         "--data-dir", str(tmp_path), "--scenario", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert f"{path}:7: mqtt drop: not available: profile bare has no MQTT client" in done.stderr


def test_run_refuses_a_broken_scenario_file(tmp_path):
    path = _write(tmp_path, "events:\n  - at: 1s\n    do: warp 9\n")
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", "--profile", "bc660k", "--data-dir",
         str(tmp_path), "--scenario", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"{path}:3: events[0].do: unknown verb 'warp 9'" in done.stderr


def test_scenario_over_the_cli_with_a_standing_fault(sim, tmp_path):
    path = _write(tmp_path, """
        faults:
          - {pattern: "AT+CGMI", reply: ERROR}
        events:
          - at: 5s
            do: urc +HELLO
    """)
    s = sim("ec200t", "--scenario", str(path))
    port = s.open()
    port.expect(b"+QIND: PB DONE\r\n")  # 4.5 s into the boot
    assert port.expect(b"+HELLO\r\n") == b"\r\n+HELLO\r\n"
    port.command("ATE0")
    assert port.command("AT+CGMI") == b"\r\nERROR\r\n"
    assert port.command("AT+CGMI") == b"\r\nERROR\r\n"  # no --times: until cleared
