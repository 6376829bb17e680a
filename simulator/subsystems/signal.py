"""Signal and serving-cell reports, all read from the one signal model of the world network:
AT+CSQ and AT+CESQ (27.007), and Quectel's AT+QCSQ, AT+QENG and AT+QNWINFO.
"""

from __future__ import annotations

from typing import Any

from simulator.at.dispatcher import EXEC, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms
from simulator.world.network import Reg


class SignalReport(TestForms, Subsystem):
    name = "signal"
    section = "signal"
    schema: Any = {
        "rat": str,  # "GSM", "LTE" or "NBIoT": which fields CESQ/QCSQ fill
        "qeng": str,  # AT+QENG dialect: "servingcell" (LTE Standard) or "nbiot" (BC660K)
        "tests": TESTS_SCHEMA,
    }

    @property
    def _heard(self) -> bool:
        """The radio is on and hears the network (searching counts; CFUN=0 does not)."""
        return self.m.network.state != Reg.NOT_SEARCHING

    @property
    def _camped(self) -> bool:
        return self.m.network.state.registered

    @property
    def _rat(self) -> str:
        return self.config.get("rat", "LTE")

    @command("+CSQ", EXEC)
    def csq(self) -> Replies:
        sig = self.m.network.signal
        return Info.of("+CSQ", sig.csq(), sig.ber) if self._heard else Info.of("+CSQ", 99, 99)

    @command("+CESQ", EXEC)
    def cesq(self) -> Replies:
        sig = self.m.network.signal
        if not self._heard:
            return Info.of("+CESQ", 99, 99, 255, 255, 255, 255)
        if self._rat == "GSM":
            return Info.of("+CESQ", sig.rxlev(), sig.ber, 255, 255, 255, 255)
        return Info.of("+CESQ", 99, 99, 255, 255, sig.rsrq_index(), sig.rsrp_index())

    @command("+QCSQ", EXEC)
    def qcsq(self) -> Replies:
        sig = self.m.network.signal
        if not self._camped:
            return Info.of("+QCSQ", Quoted("NOSERVICE"))
        if self._rat == "GSM":
            return Info.of("+QCSQ", Quoted("GSM"), sig.rssi)
        # SINR in fifths of a dB from -20 dB, as Quectel prints it
        sinr = max(0, min(250, (sig.sinr + 20) * 5))
        return Info.of("+QCSQ", Quoted(self._rat), sig.rssi, sig.rsrp, sinr, sig.rsrq)

    @command("+QNWINFO", EXEC)
    def qnwinfo(self) -> Replies:
        net = self.m.network
        if not self._camped:
            return Info.of("+QNWINFO", "No Service")
        cell = net.cell
        if self._rat == "GSM":
            access, band = "GSM", "GSM 900"
        else:
            access, band = f"{cell.duplex} LTE", f"LTE BAND {cell.band}"
        return Info.of("+QNWINFO", Quoted(access), Quoted(net.operator.numeric), Quoted(band),
                       cell.earfcn)

    @command("+QENG", WRITE)
    def qeng(self, kind: int | str) -> Replies:
        dialect = self.config.get("qeng", "servingcell")
        if dialect == "nbiot" and kind == 0:
            return self._qeng_nbiot()
        if dialect == "servingcell" and isinstance(kind, str):
            if kind.lower() == "servingcell":
                return self._qeng_servingcell()
            if kind.lower() == "neighbourcell":
                return None  # no neighbours in the simulated network
        raise AtError("invalid_param")

    def _qeng_nbiot(self) -> Replies:
        net = self.m.network
        if not self._heard:
            return None  # the cell is known from cell selection on, before the attach ends
        c, s = net.cell, net.signal
        return Info.of("+QENG", 0, c.earfcn, c.earfcn_offset, c.pci, Quoted(c.ci), s.rsrp,
                       s.rsrq, s.rssi, s.sinr, c.band, Quoted(c.tac), c.ecl, c.tx_power,
                       c.op_mode)

    def _qeng_servingcell(self) -> Replies:
        net = self.m.network
        head = Quoted("servingcell")
        if net.state == Reg.DENIED:
            return Info.of("+QENG", head, Quoted("LIMSRV"))
        if not self._camped:
            return Info.of("+QENG", head, Quoted("SEARCH"))
        c, s, op = net.cell, net.signal, net.operator
        rrc = next((x for x in self.m.subsystems if x.name == "rrc"), None)
        state = "CONNECT" if getattr(rrc, "connected", False) else "NOCONN"
        srxlev = max(0, s.rsrp + 140 - 14)
        return Info.of("+QENG", head, Quoted(state), Quoted("LTE"), Quoted(c.duplex),
                       op.numeric[:3], op.numeric[3:], c.ci.lstrip("0") or "0", c.pci, c.earfcn,
                       c.band, c.bandwidth, c.bandwidth, c.tac, s.rsrp, s.rsrq, s.rssi, s.sinr,
                       srxlev)
