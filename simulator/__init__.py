"""modemsim: simulated cellular and Wi-Fi modules on a virtual serial port.

`simulator.start(profile, **options)` runs one from Python (see simulator.api).
"""

from simulator.api import Modem, StartError, start
from simulator.control import UsageError, VerbError

__all__ = ["Modem", "StartError", "UsageError", "VerbError", "start"]
