"""The control socket and `modemsim ctl`: the protocol, its refusals, exit codes, targets."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pytest
from control import booted, ctl
from modem import ROOT

from simulator.control.client import default_socket


def _talk(path, *lines: bytes) -> list[dict]:
    """Send raw request lines on one connection; the answers, one per non-blank line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        reader = sock.makefile("rb")
        answers = []
        for line in lines:
            sock.sendall(line)
            if line.strip():
                answers.append(json.loads(reader.readline()))
        return answers


def _ctl(*words: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", "ctl", *words], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def ec200t(modemsim, tmp_path):
    return modemsim("ec200t", time_scale=20, link=tmp_path / "modem0")


def test_socket_is_owner_only_next_to_the_link(ec200t, tmp_path):
    path = tmp_path / "modem0.ctl"
    assert ec200t.control_path == path
    mode = path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ctl-")]  # staging gone


def test_bad_requests_are_refused_and_the_module_carries_on(ec200t):
    port = booted(ec200t)
    answers = _talk(
        ec200t.control_path,
        b"{not json\n",
        b"\xff\xfe\n",
        b"[1, 2]\n",
        b'{"args": {}}\n',
        b"\n",  # blank lines are ignored
        b'{"verb": "launch missiles", "id": 9}\n',
        b'{"verb": 42}\n',
        b'{"verb": "signal", "args": {"rssi": "loud"}}\n',
        b'{"verb": "signal", "args": [1]}\n',
        b'{"verb": "fault", "args": {"pattern": "AT", "warp": 9}}\n',
        b'{"verb": "state", "id": "after"}\n',  # the same connection still works
    )
    assert [a["ok"] for a in answers] == [False] * 9 + [True]
    assert all(a.get("usage") for a in answers[:-1])
    assert answers[0]["error"].startswith("bad JSON")
    assert answers[1]["error"].startswith("bad JSON")
    assert "unknown verb 'launch missiles'" in answers[4]["error"] and answers[4]["id"] == 9
    assert "unknown verb 42" in answers[5]["error"]
    assert answers[6]["error"] == "signal: --rssi expects an integer, got 'loud'"
    assert "unknown argument 'warp'" in answers[8]["error"]
    assert answers[-1]["id"] == "after" and answers[-1]["result"]["profile"] == "ec200t"
    assert answers[-1]["result"]["faults"]["rules"] == []  # nothing half-applied
    assert port.command("AT+CGMI") == b"\r\nQuectel\r\n\r\nOK\r\n"


def test_an_over_long_request_is_refused_and_the_socket_still_serves(ec200t):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(ec200t.control_path))
        sock.sendall(b'{"verb": "urc", "args": {"text": "' + b"x" * 100_000 + b'"}}\n')
        answer = json.loads(sock.makefile("rb").readline())
    assert not answer["ok"] and "longer than" in answer["error"]
    assert ctl(ec200t, "state")["name"] == "ec200t"


def test_ctl_prints_json_and_exits_zero(ec200t, tmp_path):
    port = booted(ec200t)
    done = _ctl(str(tmp_path / "modem0"), "fault", "AT+CGMI", "--reply", "+CME ERROR: 3",
                "--times", "1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"added": {"fault": "command", "pattern": "AT+CGMI",
                                                 "reply": "+CME ERROR: 3", "times": 1}}
    assert port.command("AT+CGMI") == b"\r\n+CME ERROR: 3\r\n"
    done = _ctl(str(ec200t.control_path), "signal", "--rssi", "-99")  # the socket as TARGET
    assert done.returncode == 0 and json.loads(done.stdout)["signal"]["rssi"] == -99
    done = _ctl(str(tmp_path / "modem0"), "urc", '+QIURC: "closed",1')
    assert done.returncode == 0
    assert port.expect(b'"closed",1\r\n') == b'\r\n+QIURC: "closed",1\r\n'
    done = _ctl(str(tmp_path / "modem0"), "network", "register", "--roaming")
    assert json.loads(done.stdout)["network"]["registration"] == "roaming"


@pytest.mark.parametrize(("words", "status", "message"), [
    (["teleport"], 2, "unknown verb 'teleport'"),
    ([], 2, "unknown verb '(none)'"),
    (["network", "explode"], 2, "unknown verb 'network explode'"),
    (["signal", "--rssi", "x"], 2, "invalid int value: 'x'"),
    (["signal"], 2, "give at least one of --rssi"),
    (["fault", "AT", "--bytes", "drop"], 2, "--bytes takes no pattern"),
    (["time-scale", "-1"], 2, "SCALE must be positive"),
    (["psm", "enter"], 1, "not available: profile ec200t has no power saving mode (PSM)"),
])
def test_ctl_refuses_with_a_clear_error(ec200t, tmp_path, words, status, message):
    done = _ctl(str(tmp_path / "modem0"), *words)
    assert (done.returncode, done.stdout) == (status, "")
    assert message in done.stderr
    assert ctl(ec200t, "state")["faults"]["rules"] == []


def test_ctl_says_when_no_module_runs(tmp_path):
    done = _ctl(str(tmp_path / "nothing"), "state")
    assert done.returncode == 1 and "no module running at" in done.stderr
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "gone.ctl"))  # a socket file nobody listens on
    stale.close()
    done = _ctl(str(tmp_path / "gone"), "state")
    assert done.returncode == 1 and "no module running at" in done.stderr


def test_ctl_verb_help(tmp_path):
    done = _ctl(str(tmp_path / "x"), "fault", "--help")
    assert done.returncode == 0 and "--stall" in done.stdout and "COMMAND_PATTERN" in done.stdout
    done = _ctl("--help")
    assert done.returncode == 0 and "sms deliver" in done.stdout


def test_module_without_link_listens_by_its_pty_name(modemsim):
    modem = modemsim("m66", time_scale=20)
    assert modem.control_path == default_socket(modem.port_path)
    done = _ctl(modem.port_path, "state")
    assert done.returncode == 0 and json.loads(done.stdout)["profile"] == "m66"
    path = modem.control_path
    modem.stop()
    assert not path.exists()  # removed on exit


def test_run_with_control_option_over_a_subprocess(sim, tmp_path):
    control = tmp_path / "elsewhere" / "m.sock"
    s = sim("bc660k", "--control", str(control))
    port = s.open()
    port.expect(b"+CPIN: READY\r\n")
    done = _ctl(str(control), "urc", "+PING")
    assert done.returncode == 0, done.stderr
    assert port.expect(b"+PING\r\n") == b"\r\n+PING\r\n"
    assert stat.S_IMODE(os.stat(control).st_mode) == 0o600
    port.close()
    assert s.stop() == 0
    assert not control.exists()
