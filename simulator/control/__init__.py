"""The control surface: verbs (registry, verbs), the module-side runner (surface), the JSON-lines
socket (server, client) and scenario files (scenario)."""

from simulator.control import verbs  # noqa: F401  (registers the verbs)
from simulator.control.registry import VERBS, UsageError, VerbError
from simulator.control.surface import Control

__all__ = ["VERBS", "Control", "UsageError", "VerbError"]
