"""The documents' own dialogs replayed against the profiles over a real PTY."""

from __future__ import annotations

import pytest
from modem import ROOT

from simulator import replay

TRANSCRIPTS = ROOT / "tests" / "transcripts"


@pytest.mark.parametrize(
    ("profile", "transcripts", "passed", "skipped"),
    [("n11v2", "n11v2.spine.yaml", 10, 1), ("bc660k", "bc660k.spine.yaml", 3, 0)],
)
def test_spine_dialogs_replay(capsys, profile: str, transcripts: str, passed: int,
                              skipped: int) -> None:
    known = TRANSCRIPTS / f"{profile}.known.yaml"
    code = replay.main([str(TRANSCRIPTS / transcripts), "--profile", profile, "--time-scale", "20",
                        "--jobs", "2", "--skip-list", str(known)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.rstrip().endswith(f"replay: {passed} passed, 0 failed, {skipped} skipped"), out
