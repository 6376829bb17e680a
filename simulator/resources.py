"""Where the shipped data (grammars, profiles) and the per-user directories are."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A source checkout keeps the data at the top of the repository; an installed wheel
    # carries it inside the package (simulator/grammars, simulator/profiles).
    local = _PACKAGE.parent / name
    return local if local.is_dir() else _PACKAGE / name


def grammar_dir() -> Path:
    return _data_dir("grammars")


def profile_dir() -> Path:
    return _data_dir("profiles")


def user_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "modemsim"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_data_dir(module_name: str) -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "modemsim" / module_name


def runtime_dir() -> Path:
    """Per-user runtime files (control sockets of modules started without --link)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "modemsim" if base else Path(f"/tmp/modemsim-{os.getuid()}")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():  # a shared /tmp: never use another user's directory
        raise PermissionError(f"{path} belongs to another user")
    return path
