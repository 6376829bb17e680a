"""A module's persistent data directory: its saved settings (AT&W, SMS, ...), one JSON
document per key; the module's files live beside them in `files/` (world/disk.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Store:
    """JSON documents in the module's data directory, one file per key."""

    def __init__(self, root: Path):
        self.root = root

    def load(self, key: str, default: Any = None) -> Any:
        path = self.root / f"{key}.json"
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return default

    def save(self, key: str, value: Any) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{key}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value, indent=1, sort_keys=True))
        tmp.replace(path)  # a crash mid-save never leaves half a file
