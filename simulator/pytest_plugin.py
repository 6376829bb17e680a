"""The pytest plugin, installed with the package (entry point `pytest11`, name `modemsim`).

It provides the `modemsim` fixture, a factory of running modules:

    def test_firmware_retries_a_failed_open(modemsim):
        modem = modemsim("bc660k", time_scale=60)       # a simulator.api.Modem handle
        port = modem.open_serial()
        modem.fault("AT+QIOPEN*", reply="ERROR", times=1)
        ...

`modemsim(profile, **options)` takes `simulator.start`'s options; `in_process=False` runs the
module as a `modemsim run` subprocess. Each module keeps its data directory and traffic log
under the test's tmp_path and is stopped after the test; when the test fails, the end of each
traffic log (bytes both ways, control verbs, faults that fired) is attached to the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import simulator
from simulator.api import Modem

LOG_TAIL = 200  # lines of each traffic log shown with a failed test
_LOGS = pytest.StashKey[list[Path]]()


@pytest.fixture
def modemsim(request: pytest.FixtureRequest, tmp_path: Path
             ) -> Iterator[Callable[..., Modem]]:
    """Start simulated modules: `modemsim("bc660k", time_scale=60)`; all stop after the test."""
    started: list[Modem] = []
    logs = request.node.stash.setdefault(_LOGS, [])

    def start(profile: str, **options: Any) -> Modem:
        home = tmp_path / "modemsim" / f"{len(started)}-{Path(profile).stem}"
        options.setdefault("data_dir", home / "data")
        options.setdefault("log", home / "traffic.log")
        home.mkdir(parents=True, exist_ok=True)
        modem = simulator.start(profile, **options)
        started.append(modem)
        logs.append(Path(options["log"]))
        return modem

    yield start
    for modem in started:
        modem.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for path in item.stash.get(_LOGS, []):
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-LOG_TAIL:]
            report.sections.append((f"modemsim traffic {path}", "\n".join(tail)))
