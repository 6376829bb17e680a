"""An installed (non-editable) package carries its grammars and profiles."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from modem import ROOT


def test_wheel_ships_grammars_and_profiles(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True,
                   timeout=300)
    (wheel,) = tmp_path.glob("modemsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for grammar in (ROOT / "grammars").glob("*.lark"):
        assert f"simulator/grammars/{grammar.name}" in names
    for profile in (ROOT / "profiles").glob("*.yaml"):
        assert f"simulator/profiles/{profile.name}" in names
    assert any(n.endswith("entry_points.txt") for n in names)
