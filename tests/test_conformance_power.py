"""The power-off and PSM flows of the BC660K document, replayed over a real PTY with the
replay tool: verbatim copies (tests/transcripts/bc660k.power.transcripts.yaml), the rows each
one needs before it (bc660k.power.setup.yaml) and what cannot replay, with the reason
(bc660k.power.skip.yaml). The sections repeat their power rows word for word: a dialog that
several sections share (same steps, same tolerances) is replayed once for all of them."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml
from cellular import variant
from peers import twin_peers

from simulator.replay import (
    PASS,
    SKIP,
    ReplayOptions,
    load_overrides,
    override_for,
    parse_transcripts,
    replay_all,
)

HERE = Path(__file__).parent / "transcripts"
COPIES = HERE / "bc660k.power.transcripts.yaml"
SETUP = HERE / "bc660k.power.setup.yaml"
SKIPS = HERE / "bc660k.power.skip.yaml"


def scenarios() -> list:
    setup = yaml.safe_load(SETUP.read_text())
    found = []
    for entry in yaml.safe_load(COPIES.read_text()):
        blocks = [name for pattern, names in setup["scenarios"].items()
                  if fnmatch.fnmatchcase(entry["id"], pattern) for name in names]
        steps = [step for name in blocks for step in setup["blocks"][name]] + entry["steps"]
        found += parse_transcripts([{"id": entry["id"], "steps": steps}])
    return found


def distinct(wanted: list, overrides: dict) -> dict[tuple, list]:
    """The scenarios grouped by what a replay of them does (their notes aside)."""
    groups: dict[tuple, list] = {}
    for scenario in wanted:
        override = override_for(scenario.id, overrides)
        steps = tuple((s.kind, s.text, s.lines, s.data) for s in scenario.steps
                      if s.kind.value != "note")
        key = (steps, override.skip, tuple(sorted(override.tolerate.items())))
        groups.setdefault(key, []).append(scenario)
    return groups


def test_power_flows_replay(tmp_path):
    wanted = scenarios()
    overrides = load_overrides([SKIPS])
    groups = list(distinct(wanted, overrides).values())
    # the document's servers: a TCP and a UDP peer answering "hello world", ping targets
    tcp, udp = twin_peers(b"hello world")
    routes = (f"220.180.239.212:8058=127.0.0.1:{tcp.port}", "8.8.8.8=127.0.0.1",
              "221.229.214.202=127.0.0.1")
    # a 40 s UART idle window (2 s here): the replayer's silence checks never outlast it
    profile = variant(tmp_path, "bc660k", "bc660k-replay", sleep={"idle_window": "40s"})
    options = ReplayOptions(profile=profile, timeout=10.0, time_scale=20.0, routes=routes)
    try:
        results = list(replay_all([group[0] for group in groups], overrides, options, jobs=4))
    finally:
        tcp.close()
        udp.close()
    assert len(results) == len(groups)
    failed = [f"{[s.id for s in group]}: {r.detail}" for group, r in zip(groups, results,
                                                                         strict=True)
              if r.status not in (PASS, SKIP)]
    assert not failed, failed
    played = [s.id for group, r in zip(groups, results, strict=True) if r.status == PASS
              for s in group]
    skipped = {s.id for group, r in zip(groups, results, strict=True) if r.status == SKIP
               for s in group}
    assert skipped == {s.id for s in wanted if override_for(s.id, overrides).skip}
    assert len(played) + len(skipped) == len(wanted)
    assert len(played) >= 70  # every power row but the LwM2M, cloud MQTT and prose ones


def test_every_setup_and_skip_entry_names_copied_dialogs():
    ids = [s.id for s in scenarios()]
    setup = yaml.safe_load(SETUP.read_text())
    for pattern in [*setup["scenarios"], *load_overrides([SKIPS])]:
        assert fnmatch.filter(ids, pattern), pattern
