"""Replaying the documents' dialogs from the suite: the verbatim copies under
tests/transcripts/, their skip lists, and a replay over the PTY of a module the test started."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import serial
import yaml

from simulator.replay import (
    Override,
    Replayer,
    ReplayOptions,
    SerialTransport,
    classify_steps,
    load_overrides,
)

HERE = Path(__file__).parent / "transcripts"


def copies(name: str) -> list[dict]:
    """The dialogs of transcripts/NAME.transcripts.yaml, as written."""
    return yaml.safe_load((HERE / f"{name}.transcripts.yaml").read_text())


def setup(name: str) -> dict:
    """transcripts/NAME.setup.yaml: the steps each dialog needs before it."""
    return yaml.safe_load((HERE / f"{name}.setup.yaml").read_text())


def overrides(name: str) -> dict[str, Override]:
    """transcripts/NAME.skip.yaml, or none when those dialogs have no skip list."""
    path = HERE / f"{name}.skip.yaml"
    return load_overrides([path]) if path.exists() else {}


NO_OVERRIDE = Override()


def replay(path: str, steps: Sequence[object], options: ReplayOptions,
           override: Override = NO_OVERRIDE, *, remote: Callable[[str], str | None] | None = None,
           send: Mapping[str, str] | None = None,
           log: Callable[[str], None] = lambda message: None) -> str | None:
    """Replay YAML steps over the PTY at `path`: None, or the first difference. `send` adds
    input a test makes (certificates) to the skip list's substitutions."""
    with serial.Serial(path, timeout=0) as port:
        replayer = Replayer(SerialTransport(port), options, override.tolerate, remote, log,
                            {**override.send, **(send or {})})
        return replayer.run(classify_steps(steps))
