"""modemsim: simulated cellular and Wi-Fi modules on a virtual serial port.

`simulator.start(profile, **options)` runs one from Python (see simulator.api).
"""

from __future__ import annotations

import importlib
from typing import Any

# the API is imported on first use, so `import simulator.x` stays light for the CLI
_LAZY = {"start": "simulator.api", "Modem": "simulator.api", "StartError": "simulator.api",
         "VerbError": "simulator.control", "UsageError": "simulator.control"}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
