"""How the NAS writes its power-saving timers, as AT+CPSMS, AT+CEREG and AT+CEDRXS show them.

GPRS Timer 3 (T3412 extended, the periodic TAU) and GPRS Timer 2 (T3324, the active time) are
8-bit strings: bits 8-6 the unit, bits 5-1 the count (3GPP TS 24.008 10.5.7.4a, 10.5.7.3).
The eDRX cycle and the paging time window are 4-bit strings (TS 24.008 10.5.5.32; the NB-S1
column, the only radio the NB-IoT modules have). Both directions are here: what the host
requests is decoded, what the network grants is encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BITS = re.compile(r"[01]+")


@dataclass(frozen=True)
class TimerCode:
    """One of the two GPRS timer encodings: seconds per unit value; None deactivates."""

    name: str
    units: dict[int, int | None]
    other: int | None  # what a unit value the table lacks means

    def decode(self, bits: str) -> float | None:
        """Seconds, or None for a deactivated timer; ValueError for a malformed string."""
        value = _parse(bits, 8)
        step = self.units.get(value >> 5, self.other)
        return None if step is None else float(step * (value & 0x1F))

    def encode(self, seconds: float | None) -> str:
        """The string for `seconds` (None: deactivated): exact in the finest unit that can
        hold it, else the shortest value not below it, else the longest the code has."""
        if seconds is None:
            unit = next(u for u, step in self.units.items() if step is None)
            return f"{unit << 5:08b}"
        steps = sorted((step, unit) for unit, step in self.units.items() if step is not None)
        for step, unit in steps:
            count, rest = divmod(seconds, step)
            if rest == 0 and count <= 31:
                return f"{unit << 5 | int(count):08b}"
        for step, unit in steps:
            count = -(-seconds // step)
            if count <= 31:
                return f"{unit << 5 | int(count):08b}"
        step, unit = steps[-1]
        return f"{unit << 5 | 31:08b}"


# GPRS Timer 3: T3412 extended (the periodic TAU in PSM)
T3412 = TimerCode("T3412", {0b000: 600, 0b001: 3600, 0b010: 36000, 0b011: 2, 0b100: 30,
                            0b101: 60, 0b110: 1152000, 0b111: None}, other=3600)
# GPRS Timer 2: T3324 (the active time); unit values it lacks count in minutes
T3324 = TimerCode("T3324", {0b000: 2, 0b001: 60, 0b010: 360, 0b111: None}, other=60)

# eDRX cycle length in NB-S1 mode; every value this table lacks is read as 0010
EDRX_CYCLES = {0b0010: 20.48, 0b0011: 40.96, 0b0101: 81.92, 0b1001: 163.84, 0b1010: 327.68,
               0b1011: 655.36, 0b1100: 1310.72, 0b1101: 2621.44, 0b1110: 5242.88,
               0b1111: 10485.76}
EDRX_FALLBACK = 0b0010
PTW_STEP = 2.56  # NB-S1 paging time window: (value + 1) x 2.56 s


def edrx_cycle(bits: str) -> float:
    """The eDRX cycle in seconds that a 4-bit value stands for."""
    value = _parse(bits, 4)
    return EDRX_CYCLES.get(value, EDRX_CYCLES[EDRX_FALLBACK])


def paging_window(bits: str) -> float:
    return round((_parse(bits, 4) + 1) * PTW_STEP, 2)


def edrx_code(seconds: float) -> str:
    """The shortest NB-S1 eDRX cycle not below `seconds` (the longest one past the table)."""
    fitting = [value for value, cycle in sorted(EDRX_CYCLES.items(), key=lambda kv: kv[1])
               if cycle >= seconds]
    return f"{fitting[0] if fitting else 0b1111:04b}"


def is_bits(text: str, width: int) -> bool:
    return len(text) == width and _BITS.fullmatch(text) is not None


def _parse(bits: str, width: int) -> int:
    if not is_bits(bits, width):
        raise ValueError(f"expected {width} bits, got {bits!r}")
    return int(bits, 2)
