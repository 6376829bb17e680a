"""Who the module says it is: manufacturer, model, revision, IMEI, and the SIM's IMSI/ICCID
numbers (generated once per module name, valid check digits, overridable in the profile).

Which identity commands exist and how each answers is profile data (`identity.responses`),
because the families spell them differently (`+CGSN: <imei>`, a bare IMEI, `Revision: ...`).
"""

from __future__ import annotations

from typing import Any

from faker import Faker

from simulator.at.command import Kind
from simulator.at.dispatcher import Context
from simulator.at.errors import AtError
from simulator.at.parser import parse
from simulator.at.replies import Info, Replies
from simulator.subsystems.base import Subsystem


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that makes `digits + check` valid (IMEI, ICCID)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_digit(number[:-1]) == number[-1]


class Identity(Subsystem):
    name = "identity"
    section = "identity"
    schema: Any = {
        "manufacturer": str,
        "model": str,
        "revision": str,
        "imei_tac": str,  # the 8-digit type allocation code generated IMEIs start with
        "imsi_plmn": str,  # MCC+MNC of generated IMSIs
        "iccid_prefix": str,
        "imei": str,
        "imsi": str,
        "iccid": str,
        "responses": {str: [str]},  # command as typed ("I", "+CGSN=1") -> lines
    }

    def __init__(self, module: Any):
        super().__init__(module)
        fake = Faker()
        fake.seed_instance(f"identity:{module.name}")
        cfg = self.config
        tac = cfg.get("imei_tac", "86000000")
        self.imei: str = cfg.get("imei") or _with_check(tac + fake.numerify("#" * (14 - len(tac))))
        plmn = cfg.get("imsi_plmn", "46000")
        self.imsi: str = cfg.get("imsi") or plmn + fake.numerify("#" * (15 - len(plmn)))
        prefix = cfg.get("iccid_prefix", "898600")
        self.iccid: str = cfg.get("iccid") or _with_check(
            prefix + fake.numerify("#" * (19 - len(prefix)))
        )

    def values(self) -> dict[str, str]:
        cfg = self.config
        return {
            "manufacturer": cfg.get("manufacturer", ""),
            "model": cfg.get("model", ""),
            "revision": cfg.get("revision", ""),
            "imei": self.imei,
            "imsi": self.imsi,
            "iccid": self.iccid,
        }

    def data_handlers(self) -> list[tuple[str, Kind, Any]]:
        # the table's keys are command lines themselves, so the family grammar reads them
        self._table = {}
        for typed, lines in self.config.get("responses", {}).items():
            (cmd,) = parse(self.m.profile.grammar, typed)
            self._table[str(cmd)] = lines
        return [(cmd.name, cmd.kind, self.answer)
                for cmd in (parse(self.m.profile.grammar, k)[0] for k in self.config.get(
                    "responses", {}))]

    def answer(self, ctx: Context, *args: Any) -> Replies:
        """Answer an identity command from the profile's table, keyed by the command as typed."""
        lines = self._table.get(str(ctx.command))
        if lines is None:
            raise AtError("invalid_param")
        values = self.values()
        return [Info.text(line.format(**values)) for line in lines]


def _with_check(digits: str) -> str:
    return digits + luhn_digit(digits)
