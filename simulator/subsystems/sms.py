"""SMS (3GPP TS 27.005): message format (text/PDU), service centre, text-mode parameters,
message memories, new-message indications, and sending, writing, reading, listing and deleting
messages. Messages are real TS 23.040 PDUs (simulator.sms.pdu); the memories persist in the
module's data directory. `deliver` / `deliver_pdu` bring a message in from the network side
(the control surface calls them).

What differs per family (test-form spellings, memory sizes, index base, the `+CMTI` spacing,
whether bad arguments fail before or after the `>` prompt) is profile data (`sms:`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from simulator.at.command import Bare
from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Field, Info, Prompt, Quoted, Replies
from simulator.profile import Duration
from simulator.sms import gsm7, pdu
from simulator.sms.pdu import Coding, PduError
from simulator.sms.store import Memories, Memory, Status, Stored
from simulator.subsystems.base import Subsystem
from simulator.subsystems.charset import Charset

# 27.005 3.2.5 <err> values this subsystem raises
NOT_ALLOWED = 302
INVALID_PDU_PARAM = 304
INVALID_TEXT_PARAM = 305
SIM_NOT_INSERTED = 310
INVALID_INDEX = 321
MEMORY_FULL = 322
SMSC_UNKNOWN = 330
NO_NETWORK = 331

_STORE_KEY = "sms"
_LOG_LIMIT = 200  # sent and received messages kept for the control surface
_TPDU_MAX = 164  # the longest SMS-SUBMIT TPDU in octets
_DELETE = {  # AT+CMGD <delflag> -> the statuses it deletes
    1: {Status.REC_READ},
    2: {Status.REC_READ, Status.STO_SENT},
    3: {Status.REC_READ, Status.STO_SENT, Status.STO_UNSENT},
    4: set(Status),
}
_TESTS = {  # 27.005 test-form answers; profiles spell their own
    "+CMGF": "+CMGF: (0,1)",
    "+CSDH": "+CSDH: (0,1)",
    "+CNMI": "+CNMI: (0-2),(0-3),(0,2),(0,1),(0,1)",
    "+CMGD": "+CMGD: ({first}-{last}),(0-4)",
    "+CMGL": '+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")',
    "+CMGL/pdu": "+CMGL: (0-4)",
    "+CSCB": "+CSCB: (0,1)",
}
_NUMBER_LIST = re.compile(r"(\d+(-\d+)?(,\d+(-\d+)?)*)?")  # "0,1,5,320-478,922"


def _cms(code: int) -> AtError:
    return AtError(code, cms=True)


class Sms(Subsystem):
    name = "sms"
    section = "sms"
    schema: Any = {
        "memories": {str: int},  # slots per memory ("SM", "ME"); "MT" is both
        "first_index": int,  # the number of the first slot (0 on some firmware, 1 on most)
        "default_memory": str,  # <mem1..3> until AT+CPMS chooses (then saved)
        "smsc": str,  # the service centre the SIM holds until AT+CSCA changes it
        "scts_zone": int,  # the network's time zone in quarter hours, for time stamps
        "cnmi": [int],  # AT+CNMI at power-on
        "cnmi_ranges": [[int]],  # accepted values of each AT+CNMI parameter
        "indication_buffer": int,  # indications AT+CNMI mode 0 keeps (the oldest go)
        "tests": {str: str},  # test-form answers by command ("+CMGL/pdu" for PDU mode)
        "cmti_separator": str,  # between the two +CMTI fields (M66 prints ", ")
        "empty_index": str,  # "ok" or "error": AT+CMGR / AT+CMGD on an empty slot
        "prompt": str,  # the data-entry prompt after AT+CMGS / AT+CMGW
        "send_time": Duration,  # how long the network takes to accept a message
        "report_time": Duration,  # from sending to the status report (+CDS)
        "require_quotes": bool,  # unquoted strings (numbers, <stat>) are errors
        "late_errors": bool,  # a bad AT+CMGS / AT+CMGW line still prompts, fails after Ctrl-Z
        "too_long_error": int,  # +CMS ERROR for a text that does not fit one message
    }

    def __init__(self, module: Any):
        super().__init__(module)
        cfg = self.config
        self.memories = Memories(cfg.get("memories", {"SM": 50}), cfg.get("first_index", 1))
        saved = self.m.store.load(_STORE_KEY, {})
        self.memories.load(saved.get("memories", {}))
        default = cfg.get("default_memory", "SM")
        self.cpms: list[str] = [m if self.memories.get(m) else default
                                for m in saved.get("cpms", [default] * 3)]
        smsc = saved.get("smsc", [cfg["smsc"], None] if cfg.get("smsc") else None)
        self.smsc: pdu.Address | None = pdu.Address.parse(*smsc) if smsc and smsc[0] else None
        self.mr: int = saved.get("mr", self.m.rng.randrange(256))
        self.ref: int = saved.get("ref", self.m.rng.randrange(256))
        self.sent: list[dict[str, Any]] = saved.get("sent", [])
        self.received: list[dict[str, Any]] = saved.get("received", [])
        self.reset()

    def reset(self) -> None:
        self.text_mode = False
        self.show_header = False
        self.csmp: list[int | str] = [17, 167, 0, 0]
        self.cnmi: list[int] = list(self.config.get("cnmi", [2, 1, 0, 0, 0]))
        self.cscb: list[Any] = [0, "", ""]
        self._buffered: list[list[Info]] = []

    # -- persistence and state ----------------------------------------------------------------
    def _save(self) -> None:
        del self.sent[:-_LOG_LIMIT], self.received[:-_LOG_LIMIT]
        self.m.store.save(_STORE_KEY, {
            "memories": self.memories.to_json(),
            "cpms": self.cpms,
            "smsc": [self.smsc.text, self.smsc.toa] if self.smsc else None,
            "mr": self.mr,
            "ref": self.ref,
            "sent": self.sent,
            "received": self.received,
        })

    def snapshot(self) -> dict[str, Any]:
        memories = {}
        for name in self.memories.slots:
            memory = self.memories.get(name)
            assert memory is not None
            memories[name] = [{"index": i, "status": s.status.text, **_summary(s)}
                              for i, s in memory.items()]
        return {
            "cmgf": int(self.text_mode), "csdh": int(self.show_header), "csmp": self.csmp,
            "cscb": self.cscb,
            "cnmi": self.cnmi, "cpms": self.cpms, "csca": self.smsc.text if self.smsc else "",
            "memories": memories, "sent": self.sent, "received": self.received,
        }

    # -- helpers ------------------------------------------------------------------------------
    @property
    def _charset(self) -> Charset:
        return self.m.get(Charset)

    def _need_sim(self) -> None:
        if not self.m.sim_ready():
            raise _cms(SIM_NOT_INSERTED)

    def _memory(self, which: int) -> Memory:
        memory = self.memories.get(self.cpms[which])
        assert memory is not None  # cpms only ever names memories the profile has
        return memory

    def _now(self) -> datetime:
        zone = timezone(timedelta(minutes=15 * self.config.get("scts_zone", 0)))
        return self.m.clock.wall().astimezone(zone).replace(microsecond=0)

    def _test(self, name: str) -> Replies:
        return Info.text(self.config.get("tests", {}).get(name, _TESTS[name]))

    def _duration(self, key: str, default: str) -> float:
        return Duration.parse(self.config.get(key, default))

    def _quoted(self, value: object) -> bool:
        return not (self.config.get("require_quotes") and isinstance(value, Bare))

    def _bad_param(self) -> AtError:
        return _cms(INVALID_TEXT_PARAM if self.text_mode else INVALID_PDU_PARAM)

    # -- settings -----------------------------------------------------------------------------
    @command("+CMGF", WRITE)
    def cmgf_write(self, mode: int = 0) -> None:
        if mode not in (0, 1):
            raise AtError("invalid_param")
        self.text_mode = bool(mode)

    @command("+CMGF", READ)
    def cmgf_read(self) -> Replies:
        return Info.of("+CMGF", int(self.text_mode))

    @command("+CMGF", TEST)
    def cmgf_test(self) -> Replies:
        return self._test("+CMGF")

    @command("+CSDH", WRITE)
    def csdh_write(self, show: int = 0) -> None:
        if show not in (0, 1):
            raise AtError("invalid_param")
        self.show_header = bool(show)

    @command("+CSDH", READ)
    def csdh_read(self) -> Replies:
        return Info.of("+CSDH", int(self.show_header))

    @command("+CSDH", TEST)
    def csdh_test(self) -> Replies:
        return self._test("+CSDH")

    @command("+CSMP", WRITE)
    def csmp_write(self, fo: int | None = None, vp: int | str | None = None,
                   pid: int | None = None, dcs: int | None = None) -> None:
        new = [v if v is not None else old for v, old in zip((fo, vp, pid, dcs), self.csmp,
                                                              strict=True)]
        first, validity = int(new[0]), new[1]
        if any(not isinstance(v, int) or not 0 <= v <= 255 for v in (new[0], new[2], new[3])):
            raise AtError("invalid_param")
        vpf = (first >> 3) & 3
        if vpf == 3:
            if not isinstance(validity, str):
                raise AtError("invalid_param")
            try:
                pdu.parse_time_text(validity)
            except PduError:
                raise AtError("invalid_param") from None
        elif not isinstance(validity, int) or not 0 <= validity <= 255:
            raise AtError("invalid_param")
        self.csmp = new

    @command("+CSMP", READ)
    def csmp_read(self) -> Replies:
        fo, vp, pid, dcs = self.csmp
        return Info.of("+CSMP", fo, Quoted(vp) if isinstance(vp, str) else vp, pid, dcs)

    @command("+CSMP", TEST)
    def csmp_test(self) -> Replies:
        text = self.config.get("tests", {}).get("+CSMP")
        return Info.text(text) if text else None

    @command("+CSCA", WRITE)
    def csca_write(self, sca: str, tosca: int | None = None) -> None:
        self._need_sim()
        if not self._quoted(sca):
            raise AtError("invalid_param")
        try:
            number = self._charset.from_te(sca)
            self.smsc = pdu.Address.parse(number, tosca) if number else None
        except (ValueError, PduError):
            raise AtError("invalid_param") from None
        if self.smsc and self.smsc.alphanumeric:
            raise AtError("invalid_param")
        self._save()

    @command("+CSCA", READ)
    def csca_read(self) -> Replies:
        self._need_sim()
        if self.smsc is None:
            return Info.of("+CSCA", Quoted(""), pdu.TOA_UNKNOWN)
        return Info.of("+CSCA", Quoted(self._charset.to_te(self.smsc.text)), self.smsc.toa)

    @command("+CSCA", TEST)
    def csca_test(self) -> None:
        """Answered with OK alone."""

    @command("+CSCB", WRITE)
    def cscb_write(self, mode: int = 0, mids: str | None = None, dcss: str | None = None) -> None:
        """Cell broadcast selection: which message identifiers and codings to take (or, mode 1,
        refuse). No broadcasts reach a simulated module, so the choice is only kept."""
        lists = [v if v is not None else old for v, old in zip((mids, dcss), self.cscb[1:],
                                                               strict=True)]
        if mode not in (0, 1) or not all(_NUMBER_LIST.fullmatch(v) for v in lists):
            raise AtError("invalid_param")
        self.cscb = [mode, *lists]

    @command("+CSCB", READ)
    def cscb_read(self) -> Replies:
        mode, mids, dcss = self.cscb
        return Info.of("+CSCB", mode, Quoted(mids), Quoted(dcss))

    @command("+CSCB", TEST)
    def cscb_test(self) -> Replies:
        return self._test("+CSCB")

    # -- memories -----------------------------------------------------------------------------
    @command("+CPMS", WRITE)
    def cpms_write(self, mem1: str, mem2: str | None = None, mem3: str | None = None) -> Replies:
        self._need_sim()
        chosen = list(self.cpms)
        for i, name in enumerate((mem1, mem2, mem3)):
            if name is None:
                continue
            if not self._quoted(name) or name.upper() not in self.memories.names():
                raise _cms(NOT_ALLOWED)
            chosen[i] = name.upper()
        self.cpms = chosen
        self._save()
        counts: list[Field] = []
        for which in range(3):
            memory = self._memory(which)
            counts += [memory.used, memory.capacity]
        return Info.of("+CPMS", *counts)

    @command("+CPMS", READ)
    def cpms_read(self) -> Replies:
        self._need_sim()
        fields: list[Field] = []
        for which in range(3):
            memory = self._memory(which)
            fields += [Quoted(self.cpms[which]), memory.used, memory.capacity]
        return Info.of("+CPMS", *fields)

    @command("+CPMS", TEST)
    def cpms_test(self) -> Replies:
        text = self.config.get("tests", {}).get("+CPMS")
        if text:
            return Info.text(text)
        names = "(" + ",".join(f'"{n}"' for n in self.memories.names()) + ")"
        return Info.of("+CPMS", names, names, names)

    # -- new-message indications ----------------------------------------------------------
    @command("+CNMI", WRITE)
    def cnmi_write(self, mode: int | None = None, mt: int | None = None, bm: int | None = None,
                   ds: int | None = None, bfr: int | None = None) -> None:
        ranges = self.config.get("cnmi_ranges", [[0, 1, 2], [0, 1, 2, 3], [0, 2], [0, 1], [0, 1]])
        new = [v if v is not None else old for v, old in zip((mode, mt, bm, ds, bfr), self.cnmi,
                                                              strict=True)]
        if any(v not in allowed for v, allowed in zip(new, ranges, strict=True)):
            raise AtError("invalid_param")
        self.cnmi = new
        if new[0] != 0:  # indications flow again: the buffered ones go out, or are dropped
            buffered, self._buffered = self._buffered, []
            if new[4] == 0:
                for lines in buffered:
                    self.m.urc(lines)

    @command("+CNMI", READ)
    def cnmi_read(self) -> Replies:
        return Info.of("+CNMI", *self.cnmi)

    @command("+CNMI", TEST)
    def cnmi_test(self) -> Replies:
        return self._test("+CNMI")

    def _indicate(self, lines: list[Info]) -> None:
        """A new-message indication, sent or (CNMI mode 0) kept in the TA's buffer."""
        if self.cnmi[0] == 0:
            self._buffered.append(lines)
            del self._buffered[:-self.config.get("indication_buffer", 10)]
        else:
            self.m.urc(lines)

    # -- reading, listing, deleting --------------------------------------------------------
    def _slot(self, memory: Memory, index: int) -> Stored | None:
        if not memory.first <= index < memory.first + memory.capacity:
            raise _cms(INVALID_INDEX)
        stored = memory.get(index)
        if stored is None and self.config.get("empty_index", "ok") == "error":
            raise _cms(INVALID_INDEX)
        return stored

    @command("+CMGR", WRITE)
    def cmgr(self, index: int) -> Replies:
        self._need_sim()
        stored = self._slot(self._memory(0), index)
        if stored is None:
            return None
        lines = self._read_lines(stored)
        if stored.status is Status.REC_UNREAD:
            stored.status = Status.REC_READ
            self._save()
        return lines

    @command("+CMGR", TEST)
    def cmgr_test(self) -> None:
        """Answered with OK alone."""

    @command("+CMGL", WRITE, EXEC)
    def cmgl(self, stat: int | str | None = None) -> Replies:
        self._need_sim()
        wanted = self._list_filter(stat)
        lines: list[Info] = []
        changed = False
        for index, stored in self._memory(0).items():
            if stored.status not in wanted:
                continue
            lines += self._list_lines(index, stored)
            if stored.status is Status.REC_UNREAD:
                stored.status = Status.REC_READ
                changed = True
        if changed:
            self._save()
        return lines

    def _list_filter(self, stat: int | str | None) -> set[Status]:
        if self.text_mode:
            if stat is None:
                return {Status.REC_UNREAD}
            if isinstance(stat, int | Bare):
                raise self._bad_param()  # text mode takes the quoted names only
            if stat.upper() == "ALL":
                return set(Status)
            status = Status.from_text(stat.upper())
        else:
            if stat is None:
                return {Status.REC_UNREAD}
            if not isinstance(stat, int):
                raise self._bad_param()
            if stat == 4:
                return set(Status)
            status = Status(stat) if 0 <= stat <= 3 else None
        if status is None:
            raise self._bad_param()
        return {status}

    @command("+CMGL", TEST)
    def cmgl_test(self) -> Replies:
        return self._test("+CMGL" if self.text_mode else "+CMGL/pdu")

    @command("+CMGD", WRITE)
    def cmgd(self, index: int, delflag: int = 0) -> None:
        self._need_sim()
        memory = self._memory(0)
        if delflag == 0:
            if self._slot(memory, index) is not None:
                memory.delete(index)
                self._save()
            return
        if delflag not in _DELETE:
            raise self._bad_param()
        for i, stored in memory.items():
            if stored.status in _DELETE[delflag]:
                memory.delete(i)
        self._save()

    @command("+CMGD", TEST)
    def cmgd_test(self) -> Replies:
        self._need_sim()
        memory = self._memory(0)
        template = self.config.get("tests", {}).get("+CMGD", _TESTS["+CMGD"])
        return Info.text(template.format(first=memory.first,
                                         last=memory.first + memory.capacity - 1))

    # -- how messages look in each mode ----------------------------------------------------
    def _read_lines(self, stored: Stored) -> list[Info]:
        if not self.text_mode:
            return [Info.of("+CMGR", int(stored.status), None, len(stored.tpdu)),
                    Info.text(stored.pdu.hex().upper())]
        message = stored.message()
        fields = [Quoted(stored.status.text), *self._fields(message, stored.smsc, listing=False)]
        return [Info("+CMGR", tuple(fields)), Info.text(self._body(message.user_data))]

    def _list_lines(self, index: int, stored: Stored) -> list[Info]:
        if not self.text_mode:
            return [Info.of("+CMGL", index, int(stored.status), None, len(stored.tpdu)),
                    Info.text(stored.pdu.hex().upper())]
        message = stored.message()
        fields = [index, Quoted(stored.status.text),
                  *self._fields(message, stored.smsc, listing=True)]
        return [Info("+CMGL", tuple(fields)), Info.text(self._body(message.user_data))]

    def _number(self, address: pdu.Address | None) -> Field:
        return Quoted(self._charset.to_te(address.text)) if address else Quoted("")

    def _fields(self, message: pdu.Tpdu, smsc: pdu.Address | None, listing: bool) -> list[Field]:
        """The header fields of a DELIVER or SUBMIT after <stat> (27.005 3.4.3 / 3.4.2)."""
        assert not isinstance(message, pdu.StatusReport)  # memories hold DELIVERs and SUBMITs
        deliver = isinstance(message, pdu.Deliver)
        address = message.sender if isinstance(message, pdu.Deliver) else message.recipient
        ud = message.user_data
        fields: list[Field] = [self._number(address), None]
        if deliver or listing:
            fields.append(Quoted(pdu.time_text(message.timestamp)) if deliver else None)
        if not self.show_header:
            return fields
        if listing:
            return [*fields, address.toa, ud.length]
        fields += [address.toa, message.first_octet, message.pid, ud.dcs]
        if isinstance(message, pdu.Submit):
            fields.append(_validity_field(message.validity))
        return [*fields, self._number(smsc), smsc.toa if smsc else None, ud.length]

    def _body(self, ud: pdu.UserData) -> str:
        """27.005 <data>: GSM text in the TE set; with a header or octet coding, hex octets."""
        if ud.coding is Coding.GSM7 and not ud.header:
            return self._charset.to_te(ud.text)
        return ud.encode()[1].hex().upper()

    # -- sending and writing -------------------------------------------------------------------
    def _prompt(self, on_data: Callable[[bytes], Awaitable[Replies]],
                error: AtError | None = None) -> Prompt:
        """The `>` prompt. A bad command line fails at once, or, on families that check late,
        only once the payload is in."""
        if error is not None and not self.config.get("late_errors"):
            raise error

        async def take(data: bytes) -> Replies:
            if error is not None:
                raise error
            return await on_data(data)

        return Prompt(take, text=self.config.get("prompt", "> "))

    def _text_address(self, target: str | None, toa: int | None) -> pdu.Address:
        """A <da>/<oa> typed in the TE character set."""
        if target is None:
            return pdu.Address("", pdu.TOA_UNKNOWN)
        if not self._quoted(target) or (toa is not None and not 128 <= toa <= 255):
            raise _cms(INVALID_TEXT_PARAM)
        try:
            address = pdu.Address.parse(self._charset.from_te(target), toa)
        except (ValueError, PduError):
            raise _cms(INVALID_TEXT_PARAM) from None
        if address.alphanumeric:
            raise _cms(INVALID_TEXT_PARAM)
        return address

    def _pdu_length(self, target: str | None) -> int:
        if not isinstance(target, Bare) or not target.isdigit():
            raise _cms(INVALID_PDU_PARAM)
        length = int(target)
        if not 1 <= length <= _TPDU_MAX:
            raise _cms(INVALID_PDU_PARAM)
        return length

    def _text_user_data(self, body: bytes) -> pdu.UserData:
        """The typed text as TP-UD: in the TE set for GSM 7-bit, hex octets for 8-bit, UCS2,
        or when <fo> says a header is included (27.005 3.1)."""
        fo, _, _, dcs = self.csmp
        assert isinstance(fo, int) and isinstance(dcs, int)
        wire = body.decode("latin-1")
        coding = pdu.coding_of(dcs)
        try:
            if coding is Coding.GSM7 and not fo & 0x40:
                text = self._charset.from_te(wire)
                ud = pdu.UserData(dcs, gsm7.decode(gsm7.encode(text, replace="?")))
            else:
                octets = bytes.fromhex(wire.strip())
                if fo & 0x40:
                    udl = len(octets) * 8 // 7 if coding is Coding.GSM7 else len(octets)
                    ud = pdu.UserData.decode(dcs, True, udl, octets)
                elif coding is Coding.UCS2:
                    if len(octets) % 2:
                        raise ValueError("UCS2 takes two octets a character")
                    ud = pdu.UserData(dcs, octets.decode("utf-16-be", "replace"))
                else:
                    ud = pdu.UserData(dcs, data=octets)
        except (ValueError, PduError):
            raise _cms(INVALID_TEXT_PARAM) from None
        if ud.length > (pdu.GSM7_MAX if ud.coding is Coding.GSM7 else pdu.OCTETS_MAX):
            raise _cms(self.config.get("too_long_error", INVALID_TEXT_PARAM))
        return ud

    def _text_submit(self, address: pdu.Address, body: bytes) -> pdu.Submit:
        fo, vp, pid, _ = self.csmp
        assert isinstance(fo, int) and isinstance(pid, int)
        vpf = (fo >> 3) & 3
        validity: pdu.Validity = None
        if vpf == 2 and isinstance(vp, int):
            validity = vp
        elif vpf == 3 and isinstance(vp, str):
            validity = pdu.parse_time_text(vp)
        return pdu.Submit(address, self._text_user_data(body), 0, pid, validity,
                          status_report=bool(fo & 0x20), reject_duplicates=bool(fo & 0x04),
                          reply_path=bool(fo & 0x80))

    def _pdu_payload(self, body: bytes, length: int) -> tuple[pdu.Address | None, bytes]:
        """The hex PDU typed after the prompt: SMSC address, then a TPDU of `length` octets."""
        try:
            raw = bytes.fromhex(body.decode("latin-1").strip())
            smsc, tpdu = pdu.split_smsc(raw)
        except (ValueError, PduError):
            raise _cms(INVALID_PDU_PARAM) from None
        if len(tpdu) != length:
            raise _cms(INVALID_PDU_PARAM)
        return smsc, tpdu

    @command("+CMGS", WRITE)
    def cmgs(self, target: str, toda: int | None = None) -> Replies:
        self._need_sim()
        if self.text_mode:
            try:
                address, error = self._text_address(target, toda), None
            except AtError as exc:
                address, error = pdu.Address(""), exc

            async def send_text(body: bytes) -> Replies:
                mr = await self._transmit(None, self._text_submit(address, body))
                return Info.of("+CMGS", mr)

            return self._prompt(send_text, error)
        try:
            length, error = self._pdu_length(target), None
        except AtError as exc:
            length, error = 0, exc

        async def send_pdu(body: bytes) -> Replies:
            smsc, tpdu = self._pdu_payload(body, length)
            try:
                submit = pdu.Submit.decode(tpdu)
            except PduError:
                raise _cms(INVALID_PDU_PARAM) from None
            return Info.of("+CMGS", await self._transmit(smsc, submit))

        return self._prompt(send_pdu, error)

    @command("+CMGS", TEST)
    def cmgs_test(self) -> None:
        """Answered with OK alone."""

    async def _transmit(self, smsc: pdu.Address | None, submit: pdu.Submit) -> int:
        """Hand a SUBMIT to the network; the message reference it got, or a +CMS ERROR."""
        center = smsc or self.smsc
        if center is None:
            raise _cms(SMSC_UNKNOWN)
        if not self.m.network.state.registered:
            raise _cms(NO_NETWORK)
        await self.m.clock.sleep(self._duration("send_time", "1s"))
        self.mr = (self.mr + 1) % 256
        sent = replace(submit, mr=self.mr)
        when = self._now()
        self.sent.append({"time": when.isoformat(), "to": sent.recipient.text,
                          **_content(sent.user_data),
                          "pdu": pdu.join_smsc(center, sent.encode()).hex().upper(),
                          "mr": self.mr})
        self._save()
        if sent.status_report and self.cnmi[3] == 1:
            report = pdu.StatusReport(self.mr, sent.recipient, when, when)
            self.m.clock.call_later(self._duration("report_time", "3s"), self._report, center,
                                    report)
        return self.mr

    def _report(self, center: pdu.Address, report: pdu.StatusReport) -> None:
        discharged = replace(report, discharge=self._now())
        tpdu = discharged.encode()
        if self.text_mode:
            lines = [Info.of("+CDS", discharged.first_octet, discharged.mr,
                             self._number(discharged.recipient), discharged.recipient.toa,
                             Quoted(pdu.time_text(discharged.timestamp)),
                             Quoted(pdu.time_text(discharged.discharge)), discharged.status)]
        else:
            lines = [Info.of("+CDS", len(tpdu)),
                     Info.text(pdu.join_smsc(center, tpdu).hex().upper())]
        self._indicate(lines)

    @command("+CMGW", WRITE, EXEC)
    def cmgw(self, target: str | None = None, second: int | str | None = None,
             third: int | str | None = None) -> Replies:
        self._need_sim()
        if self.text_mode:
            return self._cmgw_text(target, second, third)
        try:
            length, error = self._pdu_length(target), None
            status = Status.STO_UNSENT if second is None else self._write_status(second)
            if third is not None:
                raise _cms(INVALID_PDU_PARAM)
        except AtError as exc:
            length, status, error = 0, Status.STO_UNSENT, exc

        async def write_pdu(body: bytes) -> Replies:
            smsc, tpdu = self._pdu_payload(body, length)
            try:
                pdu.decode(tpdu, mobile_originated=not status.received)
            except PduError:
                raise _cms(INVALID_PDU_PARAM) from None
            return self._write(Stored(status, pdu.join_smsc(smsc or self.smsc, tpdu)))

        return self._prompt(write_pdu, error)

    def _cmgw_text(self, target: str | None, toa: int | str | None,
                   stat: int | str | None) -> Replies:
        try:
            if isinstance(toa, str):
                raise _cms(INVALID_TEXT_PARAM)
            address = self._text_address(target, toa)
            status = Status.STO_UNSENT if stat is None else self._write_status(stat)
            error = None
        except AtError as exc:
            address, status, error = pdu.Address(""), Status.STO_UNSENT, exc

        async def write_text(body: bytes) -> Replies:
            submit = self._text_submit(address, body)
            message: pdu.Tpdu = submit
            if status.received:
                message = pdu.Deliver(address, self._now(), submit.user_data, submit.pid)
            return self._write(Stored(status, pdu.join_smsc(self.smsc, message.encode())))

        return self._prompt(write_text, error)

    def _write_status(self, stat: int | str) -> Status:
        """<stat> of AT+CMGW: the quoted name in text mode, the number in PDU mode."""
        if self.text_mode:
            status = Status.from_text(stat.upper()) if isinstance(stat, str) and not isinstance(
                stat, Bare) else None
        else:
            status = Status(stat) if isinstance(stat, int) and 0 <= stat <= 3 else None
        if status is None:
            raise self._bad_param()
        return status

    def _write(self, stored: Stored) -> Replies:
        index = self._memory(1).put(stored)
        if index is None:
            raise _cms(MEMORY_FULL)
        self._save()
        return Info.of("+CMGW", index)

    @command("+CMGW", TEST)
    def cmgw_test(self) -> None:
        """Answered with OK alone."""

    @command("+CMSS", WRITE)
    async def cmss(self, index: int, da: str | None = None, toda: int | None = None) -> Replies:
        self._need_sim()
        stored = self._slot(self._memory(1), index)
        if stored is None:
            raise _cms(INVALID_INDEX)
        message = stored.message()
        if not isinstance(message, pdu.Submit):
            raise _cms(NOT_ALLOWED)  # only SUBMITs can be sent
        if da is not None:
            try:
                message = replace(message, recipient=self._text_address(da, toda))
            except AtError:
                raise self._bad_param() from None
        mr = await self._transmit(stored.smsc, message)
        stored.status = Status.STO_SENT
        stored.pdu = pdu.join_smsc(stored.smsc, replace(message, mr=mr).encode())
        self._save()
        return Info.of("+CMSS", mr)

    @command("+CMSS", TEST)
    def cmss_test(self) -> None:
        """Answered with OK alone."""

    # -- the control surface ---------------------------------------------------------------
    def put(self, data: bytes | str, status: Status = Status.REC_UNREAD, memory: str = "SM",
            index: int | None = None) -> int:
        """Place a message (SMSC address then TPDU) in a memory without any indication, as a
        SIM prepared elsewhere holds it; at `index`, or the lowest free slot. Returns the index;
        ValueError when the slot is not there or the memory is full, PduError for a bad PDU."""
        raw = bytes.fromhex(data) if isinstance(data, str) else data
        stored = Stored(status, raw)
        stored.message()  # a PDU the memories could not show is refused here
        target = self.memories.slots.get(memory)
        if target is None:
            raise ValueError(f"no memory {memory!r}")
        if index is None:
            index = target.put(stored)
            if index is None:
                raise ValueError(f"{memory} is full")
        elif target.valid(index):
            target.slots[index] = stored
        else:
            raise ValueError(f"{memory} has no slot {index}")
        self._save()
        return index

    # -- incoming messages (the network side; the control surface calls these) ---------------
    def deliver(self, sender: str, text: str, *, timestamp: datetime | None = None,
                klass: int | None = None, smsc: str | None = None) -> list[int | None]:
        """A text from `sender` arrives, cut into concatenated parts when it is long, as the
        network delivers it. Returns each part's storage index (None: shown with +CMT, or not
        received because the SIM is missing or the memory is full)."""
        address = pdu.Address.parse(sender)
        center = pdu.Address.parse(smsc) if smsc else self.smsc
        when = timestamp or self._now()
        self.ref = (self.ref + 1) % 256
        parts = pdu.split_text(text, self.ref)
        indexes = []
        for i, ud in enumerate(parts):
            if klass is not None:
                ud = replace(ud, dcs=pdu.dcs_for(ud.coding, klass))
            tpdu = pdu.Deliver(address, when, ud, more=i < len(parts) - 1).encode()
            indexes.append(self.deliver_pdu(pdu.join_smsc(center, tpdu)))
        return indexes

    def deliver_pdu(self, data: bytes | str) -> int | None:
        """An SMS-DELIVER (SMSC address then TPDU, bytes or hex) arrives: stored in <mem3> and
        announced with +CMTI, or shown at once with +CMT, as AT+CNMI asks. PduError when
        `data` is not a valid DELIVER."""
        raw = bytes.fromhex(data) if isinstance(data, str) else data
        smsc, tpdu = pdu.split_smsc(raw)
        message = pdu.Deliver.decode(tpdu)
        entry = {"time": self._now().isoformat(), "from": message.sender.text,
                 **_content(message.user_data), "pdu": raw.hex().upper()}
        if not self.m.sim_ready():
            self.m.log.emit("sms-lost", reason="no SIM", **entry)
            return None
        mt = self.cnmi[1]
        klass = pdu.message_class(message.user_data.dcs)
        if (mt == 2 and klass != 2) or (mt == 3 and klass == 3):
            self.received.append({**entry, "memory": None, "index": None})
            self._save()
            self._indicate(self._cmt_lines(raw, message, smsc))
            return None
        memory = self._memory(2)
        index = memory.put(Stored(Status.REC_UNREAD, raw))
        self.received.append({**entry, "memory": memory.name, "index": index})
        self._save()
        if index is None:
            self.m.log.emit("sms-lost", reason=f"{memory.name} full", **entry)
            return None
        if mt != 0:
            separator = self.config.get("cmti_separator", ",")
            self._indicate([Info.of("+CMTI", f'"{memory.name}"{separator}{index}')])
        return index

    def _cmt_lines(self, raw: bytes, message: pdu.Deliver,
                   smsc: pdu.Address | None) -> list[Info]:
        if not self.text_mode:
            return [Info.of("+CMT", None, len(raw) - (raw[0] + 1)), Info.text(raw.hex().upper())]
        fields = self._fields(message, smsc, listing=False)
        return [Info("+CMT", tuple(fields)), Info.text(self._body(message.user_data))]


def _validity_field(validity: pdu.Validity) -> Field:
    if isinstance(validity, int):
        return validity
    if isinstance(validity, datetime):
        return Quoted(pdu.time_text(validity))
    if isinstance(validity, bytes):
        return Quoted(validity.hex().upper())
    return None


def _content(ud: pdu.UserData) -> dict[str, Any]:
    """What a message says, for logs and snapshots: its text, or its octets in hex."""
    if ud.coding is Coding.DATA8:
        return {"data": ud.data.hex().upper()}
    concat = ud.concat
    part = {"part": [concat.ref, concat.seq, concat.total]} if concat else {}
    return {"text": ud.text, **part}


def _summary(stored: Stored) -> dict[str, Any]:
    message = stored.message()
    if isinstance(message, pdu.Deliver):
        return {"from": message.sender.text, "time": message.timestamp.isoformat(),
                **_content(message.user_data)}
    assert isinstance(message, pdu.Submit)
    return {"to": message.recipient.text, **_content(message.user_data)}
