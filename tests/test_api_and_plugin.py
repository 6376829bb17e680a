"""The Python API (`simulator.start`) and the pytest plugin's `modemsim` fixture."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import threading
import tomllib
from importlib.metadata import entry_points

import pytest
from control import booted
from modem import ROOT, Port

import simulator
from simulator.api import Modem, ProcessModem, ThreadModem


def test_fixture_gives_a_running_module_with_the_verbs_as_methods(modemsim):
    modem = modemsim("bc660k", time_scale=20)
    assert isinstance(modem, ThreadModem)
    assert isinstance(modem.port_path, str) and modem.port_path.startswith("/dev/pts/")
    port = booted(modem)
    assert modem.fault("AT+CGMI", reply="ERROR", times=1)["added"]["times"] == 1
    assert port.command("AT+CGMI") == b"\r\nERROR\r\n"
    modem.urc("+API")
    assert port.expect(b"+API\r\n") == b"\r\n+API\r\n"
    assert modem.signal(rssi=-77)["signal"]["rssi"] == -77
    assert modem.network_register(roaming=True)["network"]["registration"] == "roaming"
    assert modem.state()["network"]["signal"]["rssi"] == -77
    with pytest.raises(simulator.VerbError, match="has no SMS"):
        modem.sms_deliver(from_="+8613800000000", text="hi")
    with pytest.raises(simulator.UsageError):
        modem.time_scale(-1)
    with pytest.raises(simulator.VerbError, match="unexpected keyword"):
        modem.reboot(hard=True)


def test_methods_carry_the_verbs_signatures():
    assert set(inspect.signature(Modem.fault).parameters) >= {"pattern", "reply", "bytes"}
    assert list(inspect.signature(Modem.sms_deliver).parameters) == ["self", "from_", "text"]
    assert "PSM_EINT" in Modem.wake.__doc__
    for name in ("network_register", "network_deregister", "network_deny", "network_search",
                 "sim_remove", "sim_insert", "sim_pin_required", "pdp_deactivate",
                 "socket_close", "socket_reset", "mqtt_drop", "wake", "psm_enter", "reboot",
                 "brownout", "urc", "fault", "fault_clear", "time_scale", "state", "signal"):
        assert callable(getattr(Modem, name)), name


def test_subprocess_module_has_the_same_handle(modemsim):
    modem = modemsim("ec200t", time_scale=20, in_process=False)
    assert isinstance(modem, ProcessModem) and modem.port_path.startswith("/dev/pts/")
    port = booted(modem)
    modem.fault("AT+CGMM", silent=True, times=1)
    port.write(b"AT+CGMM\r")
    assert port.quiet_for(0.3) == b""
    assert port.command("AT+CGMM") == b"\r\nEC200T\r\n\r\nOK\r\n"
    with pytest.raises(simulator.VerbError, match="has no power saving mode"):
        modem.psm_enter()
    proc = modem.proc
    modem.stop()
    assert proc.returncode == 0 and not modem.control_path.exists()
    with pytest.raises(simulator.VerbError, match="no module running"):
        modem.state()


def test_sync_use_without_the_fixture(tmp_path):
    with simulator.start("m66", time_scale=20, data_dir=tmp_path, link=tmp_path / "m") as modem:
        modem.wait_ready()
        port = Port(modem.open_serial(timeout=0.05))
        assert port.command("ATE0") == b"ATE0\r\r\nOK\r\n"
        port.close()
        assert (tmp_path / "m").is_symlink()
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.ctl").exists()
    modem.stop()  # stopping twice is harmless
    with pytest.raises(simulator.VerbError, match="has been stopped"):
        modem.state()


def test_async_use_does_not_block_the_callers_loop(tmp_path):
    async def main() -> tuple[dict, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        async with simulator.start("bc660k", time_scale=20, data_dir=tmp_path) as modem:
            state = modem.state()
        await modem.astop()  # again, harmless
        task.cancel()
        return state, ticks

    state, ticks = asyncio.run(main())
    assert state["profile"] == "bc660k" and ticks > 0


def test_start_refuses_bad_options(tmp_path):
    with pytest.raises(TypeError, match="warp"):
        simulator.start("bc660k", warp=9)
    with pytest.raises(Exception, match="unknown profile"):
        simulator.start("nokia3310", data_dir=tmp_path)
    assert not [t for t in threading.enumerate() if t.name.startswith("modemsim-")]


def test_plugin_is_declared_as_a_pytest11_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    target = project["entry-points"]["pytest11"]["modemsim"]
    module = __import__(target, fromlist=["modemsim"])
    assert module.modemsim.__name__ == "modemsim"


def _pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """A foreign test suite using the plugin: through the entry point when the package is
    installed (scripts/test installs it), else loaded by name as the entry point would."""
    installed = any(e.name == "modemsim" for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "simulator.pytest_plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "-q", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_the_documented_example_passes_and_a_failure_shows_what_was_injected(tmp_path):
    (tmp_path / "test_fails.py").write_text(
        "def test_fails(modemsim):\n"
        "    modem = modemsim('bc660k', time_scale=20)\n"
        "    modem.fault('AT+QIOPEN*', reply='ERROR', times=1)\n"
        "    modem.network_deregister()\n"
        "    assert False, 'firmware gave up'\n")
    done = _pytest(tmp_path, str(ROOT / "examples" / "test_with_modemsim.py"), "test_fails.py")
    out = done.stdout
    assert done.returncode == 1 and "1 failed, 2 passed" in out, out + done.stderr
    assert out.count("modemsim traffic") == 1  # only the failed test's log
    assert "** control verb=fault args={'pattern': 'AT+QIOPEN*'" in out
    assert "** control verb=network deregister" in out
    assert out.index("verb=fault") < out.index("verb=network deregister")


def test_json_event_stream_records_control_and_faults(modemsim, tmp_path):
    modem = modemsim("bc660k", time_scale=20, log_json=tmp_path / "events.jsonl")
    port = booted(modem)
    modem.fault("AT+CGMI", reply="+CME ERROR: 4", times=1)
    port.command("AT+CGMI")
    modem.urc("+X", inside=True)
    port.command("ATI")
    modem.brownout()
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    kinds = [(e["kind"], e.get("verb") or e.get("fault")) for e in events
             if e["kind"] in ("control", "fault", "power-loss")]
    assert kinds[-6:] == [("control", "fault"), ("fault", "command"), ("control", "urc"),
                          ("fault", "urc-inside"), ("control", "brownout"), ("power-loss", None)]
    hit = next(e for e in events if e["kind"] == "fault" and e.get("fault") == "command")
    assert hit["line"] == "AT+CGMI" and hit["reply"] == "+CME ERROR: 4"
    assert all(e["source"] == "api" for e in events if e["kind"] == "control" and
               e["verb"] != "state")
