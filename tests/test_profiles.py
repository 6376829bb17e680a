"""Profiles: all five load, inheritance merges, validation names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import profile as profiles
from simulator.profile import ProfileError

FIVE = ["bc660k", "ec200t", "fcm360w", "m66", "n11v2"]


def test_the_five_profiles_are_listed_and_bases_are_not() -> None:
    assert profiles.available() == FIVE


@pytest.mark.parametrize("name", FIVE)
def test_every_profile_loads(name: str) -> None:
    p = profiles.load(name)
    assert p.module and p.family and p.subsystems


def test_inheritance_merges_mappings_and_replaces_the_rest() -> None:
    ec200t = profiles.load("ec200t")
    assert ec200t.family == "quectel-lte"  # from quectel-lte
    assert ec200t.data["errors"]["cme"][10] == "SIM not inserted"  # from quectel
    m66 = profiles.load("m66")
    assert m66.error_code("invalid_param") == 3765  # quectel-gsm overrides one name...
    assert m66.error_code("sim_pin") == 11  # ...and keeps the others


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("extends: ec200t\necho: maybe\n", "echo: expected true or false"),
        ("extends: ec200t\nline_limit: big\n", "line_limit: expected int"),
        ("extends: ec200t\nboot:\n  - {after: soon, line: RDY}\n", "boot[0].after"),
        ("extends: ec200t\nidentity: {modle: X}\n", "identity.modle: unknown key"),
        ("extends: ec200t\nbogus: 1\n", "bogus: unknown key"),
        ("extends: nowhere\n", "extends: no profile 'nowhere'"),
        ("extends: ec200t\nv250: {sregs: {x: {default: 1}}}\n", "v250.sregs.x: key must be int"),
        ("echo: [unclosed\n", "not valid YAML"),
    ],
)
def test_validation_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        profiles.load(path)
    assert path in str(info.value) and message in str(info.value)


def test_a_profile_file_outside_the_tree_extends_a_shipped_one(tmp_path: Path) -> None:
    p = profiles.load(write(tmp_path, "extends: ec200t\nidentity: {imei: '490154203237518'}\n"))
    assert p.data["identity"]["imei"] == "490154203237518"
    assert p.data["identity"]["model"] == "EC200T"


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="unknown profile 'ec999'.*ec200t"):
        profiles.load("ec999")
