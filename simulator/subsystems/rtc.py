"""The real-time clock as the host sees it: AT+CCLK (read and set, quarter-hour time zone),
and network time zone reporting and update (AT+CTZR, AT+CTZU) on registration (NITZ).

The time itself is the module clock's RTC (clock.wall()/set_wall(), UTC); this subsystem keeps
the zone and whether one is known, and renders the family's format.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.at.dispatcher import READ, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms
from simulator.world.network import Reg

_CCLK = re.compile(r"(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d{1,2})?")


class Rtc(TestForms, Subsystem):
    name = "rtc"
    section = "rtc"
    schema: Any = {
        "local": bool,  # CCLK shows local time (true) or UTC plus the zone (BC660K)
        "zone": int,  # quarter hours at power-on
        "zone_known": bool,  # the zone is shown before the network or a CCLK write set it
        "zone_range": [int],  # lowest and highest zone AT+CCLK accepts
        "nitz_always": bool,  # the network's zone applies without AT+CTZU (NB-IoT)
        "ctzu": int,  # AT+CTZU at power-on
        "ctzu_modes": [int],
        "ctzr_modes": [int],
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.zone = 0
        self.zone_known = False
        self.ctzu = 0
        self.ctzr = 0
        module.network.subscribe(self._on_network)

    def reset(self) -> None:
        self.zone = self.config.get("zone", 0)
        self.zone_known = self.config.get("zone_known", True)
        self.ctzu = self.config.get("ctzu", 0)
        self.ctzr = 0

    def _on_network(self, state: Reg) -> None:
        if not state.registered:
            return
        zone = self.m.network.zone
        if self.ctzu or self.config.get("nitz_always", False):
            self.zone, self.zone_known = zone, True
        tz = Quoted(f"{zone:+03d}")
        if self.ctzr == 1:
            self.m.urc(Info.of("+CTZV", tz))
        elif self.ctzr == 2:
            local = self.m.clock.wall() + timedelta(minutes=15 * zone)
            self.m.urc(Info.of("+CTZE", tz, 0, Quoted(local.strftime("%Y/%m/%d,%H:%M:%S"))))

    # -- AT+CCLK ----------------------------------------------------------------------------
    def now(self) -> datetime:
        """What the RTC shows: local time, or UTC on families that print UTC and a zone."""
        wall = self.m.clock.wall()
        return wall + timedelta(minutes=15 * self.zone) if self.config.get("local", True) else wall

    @command("+CCLK", READ)
    def cclk_read(self) -> Replies:
        shown = self.now().strftime("%y/%m/%d,%H:%M:%S")
        if self.zone_known:
            shown += f"{self.zone:+03d}"
        return Info.of("+CCLK", Quoted(shown))

    @command("+CCLK", WRITE)
    def cclk_write(self, when: str) -> Replies:
        match = _CCLK.fullmatch(when.strip())
        if not match:
            raise AtError("invalid_param")
        yy, mo, dd, hh, mi, ss = (int(g) for g in match.groups()[:6])
        low, high = self.config.get("zone_range", [-48, 56])
        zone = int(match[7]) if match[7] else self.zone
        if not low <= zone <= high:
            raise AtError("invalid_param")
        try:
            shown = datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=UTC)
        except ValueError:
            raise AtError("invalid_param") from None
        local = self.config.get("local", True)
        self.m.clock.set_wall(shown - timedelta(minutes=15 * zone) if local else shown)
        self.zone = zone
        if match[7]:
            self.zone_known = True
        return None

    # -- AT+CTZU / AT+CTZR ------------------------------------------------------------------
    @command("+CTZU", WRITE)
    def ctzu_write(self, n: int) -> Replies:
        if n not in self.config.get("ctzu_modes", [0, 1]):
            raise AtError("invalid_param")
        self.ctzu = n
        return None

    @command("+CTZU", READ)
    def ctzu_read(self) -> Replies:
        return Info.of("+CTZU", self.ctzu)

    @command("+CTZR", WRITE)
    def ctzr_write(self, n: int) -> Replies:
        if n not in self.config.get("ctzr_modes", [0, 1, 2]):
            raise AtError("invalid_param")
        self.ctzr = n
        return None

    @command("+CTZR", READ)
    def ctzr_read(self) -> Replies:
        return Info.of("+CTZR", self.ctzr)

    def snapshot(self) -> dict[str, Any]:
        return {"time": self.now().strftime("%Y-%m-%d %H:%M:%S"), "zone": self.zone,
                "zone_known": self.zone_known, "ctzu": self.ctzu, "ctzr": self.ctzr}
