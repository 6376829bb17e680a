"""The CLI contract other tools depend on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from modem import ROOT, Sim


def modemsim(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, **kwargs)


def test_profiles_table() -> None:
    out = modemsim("profiles")
    assert out.returncode == 0
    rows = [line.split()[0] for line in out.stdout.splitlines()]
    assert rows == ["profile", "bc660k", "ec200t", "fcm360w", "m66", "n11v2"]
    assert "quectel-nbiot" in out.stdout and "+PBREADY" in out.stdout


def test_unknown_profile_exits_non_zero() -> None:
    out = modemsim("run", "--profile", "nope")
    assert out.returncode != 0 and "unknown profile 'nope'" in out.stderr and out.stdout == ""


def test_broken_profile_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: bc660k\nline_limit: -x\n")
    out = modemsim("run", "--profile", str(bad))
    assert out.returncode != 0 and str(bad) in out.stderr and "line_limit" in out.stderr


def test_ready_line_link_and_clean_exit(tmp_path: Path) -> None:
    link = tmp_path / "modem0"
    sim = Sim("bc660k", tmp_path / "data", "--link", str(link), "--name", "dev1")
    assert sim.ready == f"dev1 ready on {sim.path} (link {link})"
    assert os.path.realpath(link) == sim.path
    port = sim.open()
    assert port.expect(b"+CPIN: READY\r\n").startswith(b"\r\nRDY\r\n")
    port.close()
    sim.proc.send_signal(signal.SIGINT)
    assert sim.proc.wait(timeout=15) == 0
    assert not link.exists() and not link.is_symlink()
    assert sim.proc.stdout.read() == b""  # exactly one line on stdout


def test_sigterm_exits_zero(tmp_path: Path) -> None:
    sim = Sim("ec200t", tmp_path)
    assert sim.stop() == 0


def test_traffic_log_text_and_json(tmp_path: Path) -> None:
    text, jsonl = tmp_path / "t.log", tmp_path / "t.jsonl"
    sim = Sim("ec200t", tmp_path / "d", "--log", str(text), "--log-json", str(jsonl),
              time_scale=50)
    port = sim.open()
    port.expect(b"+QIND: PB DONE\r\n")
    port.command("AT")
    port.close()
    sim.stop()
    log = text.read_text()
    assert "pty <- AT<CR>" in log and "pty -> AT<CR>\n" in log
    assert "pty -> <CR><LF>OK<CR><LF>" in log
    assert '"kind": "rx"' in jsonl.read_text() and '"data": "AT\\r"' in jsonl.read_text()


def test_startup_is_quick(tmp_path: Path) -> None:
    """The ready line comes before the module could have booted, so drivers can open at once."""
    sim = Sim("ec200t", tmp_path)  # Sim waits at most 20 s; the goal (<1 s) is a benchmark
    port = sim.open()
    assert port.command("AT") == b"AT\r\r\nOK\r\n"  # answers before the banner is out
    port.close()
    assert sim.stop() == 0
