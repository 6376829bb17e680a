"""The documented dialogs of each family, replayed over a real PTY with the replay tool.

The scenarios are copies of the reference transcripts that concern the cellular core
(tests/transcripts/*.cellular.yaml). A scenario's `profile:` names the variant below that sets
up the document's precondition; ec200t and m66 have no such dialogs in their documents.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulator.replay import PASS, ReplayOptions, load_scenarios, replay_all

HERE = Path(__file__).parent / "transcripts"
NEOWAY_DOC_SCAN = {  # the operator names as the N11V2 manual's scan example prints them
    "operator": {"long": "CU-GSM", "short": "CU-GSM", "numeric": "46000", "act": 3},
    "neighbours": [{"long": "CU-GSM", "short": "CU-GSM", "numeric": "46001", "act": 3,
                    "forbidden": True}],
}
VARIANTS: dict[str, tuple[str, dict]] = {
    "n11v2": ("n11v2", {}),
    "n11v2-nosim": ("n11v2", {"sim": {"present": False}}),
    "n11v2-pin": ("n11v2", {"sim": {"pin_enabled": True}}),
    "n11v2-puk": ("n11v2", {"sim": {"pin_enabled": True, "pin_retries": 0}}),
    "n11v2-weak": ("n11v2", {"network": {"signal": {"rssi": -111}}}),
    "n11v2-unicom": ("n11v2", {"network": {"operator": {
        "long": "China Unicom", "short": "CU", "numeric": "46001", "act": 3}}}),
    "n11v2-doc-scan": ("n11v2", {"network": NEOWAY_DOC_SCAN}),
    "bc660k": ("bc660k", {}),
    "bc660k-doc": ("bc660k", {"identity": {"imsi": "460113061353533",
                                           "iccid": "89861122223000411769"}}),
    "bc660k-searching": ("bc660k", {"network": {"outcome": "none"}}),
    "bc660k-idle": ("bc660k", {"radio": {"on_after": "1h"}}),
    "bc660k-denied": ("bc660k", {"network": {"outcome": "deny"}}),
}


def scenarios_by_variant() -> dict[str, list[tuple[Path, str]]]:
    found: dict[str, list[tuple[Path, str]]] = {}
    for path in sorted(HERE.glob("*.cellular.yaml")):
        for entry in yaml.safe_load(path.read_text()):
            found.setdefault(entry["profile"], []).append((path, entry["id"]))
    return found


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_documented_dialogs(tmp_path, variant):
    """Every scenario of the variant, a fresh simulator each, a few at a time."""
    base, sections = VARIANTS[variant]
    profile = tmp_path / f"{variant}-variant.yaml"
    profile.write_text(yaml.safe_dump({"extends": base, **sections}))
    wanted = scenarios_by_variant()[variant]
    scenarios = [s for path in {p for p, _ in wanted} for s in load_scenarios(path)
                 if (path, s.id) in wanted]
    options = ReplayOptions(profile=str(profile), timeout=10.0, time_scale=20.0)
    results = list(replay_all(scenarios, {}, options, jobs=4))
    assert len(results) == len(wanted)
    failed = [f"{r.id}: {r.detail}" for r in results if r.status != PASS]
    assert not failed, failed


def test_every_scenario_names_a_known_variant():
    assert set(scenarios_by_variant()) == set(VARIANTS)
