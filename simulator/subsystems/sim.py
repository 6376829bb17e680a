"""The SIM card and the module's SIM interface: presence, PIN/PUK state and retries, the PIN
lock, and the card's files as a host reads them (AT+CIMI, the ICCID command, AT+CNUM, AT+CRSM).

The card (present, PIN, lock, retries) outlives reboots and is saved in the module's data
directory; the interface state (READY / SIM PIN / SIM PUK) is worked out again at every boot.
The control surface calls `insert()`, `remove()` and `require_pin()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.at.dispatcher import EXEC, READ, WRITE, Context, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Quoted, Replies
from simulator.clock import Timer
from simulator.profile import Duration
from simulator.subsystems.base import Subsystem
from simulator.subsystems.common import TESTS_SCHEMA, TestForms, text
from simulator.subsystems.identity import Identity

READY, SIM_PIN, SIM_PUK = "READY", "SIM PIN", "SIM PUK"
ABSENT, BLOCKED = "absent", "blocked"  # no card; PUK retries used up

EF_ICCID, EF_IMSI, EF_AD, EF_SPN, EF_MSISDN = 0x2FE2, 0x6F07, 0x6FAD, 0x6F46, 0x6F40
READ_BINARY, READ_RECORD, GET_RESPONSE = 176, 178, 192

_LINES: Any = [{"after": Duration, "line": str}]


def bcd_swapped(digits: str, length: int) -> bytes:
    """Digits packed two per byte, low nibble first, padded with F (ICCID, dialling numbers)."""
    padded = digits.ljust(length * 2, "F")
    return bytes.fromhex("".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2)))


def ef_imsi(imsi: str) -> bytes:
    """EF IMSI (TS 31.102 4.2.2): length, then the parity/type nibble and the digits."""
    nibbles = ("9" if len(imsi) % 2 else "1") + imsi
    return bytes([(len(nibbles) + 1) // 2]) + bcd_swapped(nibbles, 8)


def ef_msisdn(number: str, alpha: str, alpha_len: int = 14) -> bytes:
    """One EF MSISDN record (TS 31.102 4.2.26): alpha tag, then the dialling number."""
    digits = number.lstrip("+")
    bcd = bcd_swapped(digits, 10)
    length = (len(digits) + 1) // 2 + 1
    ton = 0x91 if number.startswith("+") else 0x81
    tag = alpha.encode("latin-1")[:alpha_len].ljust(alpha_len, b"\xff")
    return tag + bytes([length, ton]) + bcd + b"\xff\xff"


def fcp(fid: int, content: bytes, record: int | None) -> bytes:
    """A 3G GET RESPONSE template (TS 102 221 11.1.1.3) for a transparent or linear file."""
    if record is None:
        descriptor = bytes([0x82, 2, 0x41, 0x21])
    else:
        descriptor = bytes([0x82, 5, 0x42, 0x21, 0, record, len(content) // record])
    body = (descriptor + bytes([0x83, 2, fid >> 8, fid & 0xFF, 0x8A, 1, 5])
            + bytes([0x8B, 3, 0x6F, 0x06, 1, 0x80, 2, len(content) >> 8, len(content) & 0xFF]))
    return bytes([0x62, len(body)]) + body


class Sim(TestForms, Subsystem):
    name = "sim"
    section = "sim"
    schema: Any = {
        "present": bool,
        "pin": str,
        "puk": str,
        "pin2": str,
        "pin_enabled": bool,  # the card asks for its PIN at power-on
        "pin_retries": int,
        "puk_retries": int,
        "msisdn": str,  # the own number (AT+CNUM, EF MSISDN); empty for none
        "msisdn_alpha": str,
        "spn": str,  # service provider name (EF SPN)
        "strict_quotes": bool,  # string parameters must be quoted (else ERROR)
        "cimi_prefix": str,  # "+CIMI" where the IMSI line has a prefix; absent: bare
        # ICCID commands: command -> {prefix: "+QCCID" (or "" for a bare line), quoted: bool}
        "iccid": {str: {"prefix": str, "quoted": bool}},
        "absent_plain_error": [str],  # commands that answer a bare ERROR without a card
        "absent_line": str,  # the +CPIN line of the boot banner without a card ("" for none)
        "facilities": [str],  # AT+CLCK facilities besides "SC"
        "unlocked": _LINES,  # URCs after the PIN is entered (or a READY card is inserted)
        "removed": _LINES,  # URCs when the card is pulled out
        "tests": TESTS_SCHEMA,
    }

    def __init__(self, module: Any):
        super().__init__(module)
        cfg = self.config
        saved = module.store.load("sim", {})
        self.present: bool = cfg.get("present", True)
        self.pin: str = saved.get("pin", cfg.get("pin", "1234"))
        self.puk: str = cfg.get("puk", "12345678")
        self.pin2: str = saved.get("pin2", cfg.get("pin2", "5678"))
        self.pin_enabled: bool = saved.get("pin_enabled", cfg.get("pin_enabled", False))
        self.pin_retries: int = saved.get("pin_retries", cfg.get("pin_retries", 3))
        self.puk_retries: int = saved.get("puk_retries", cfg.get("puk_retries", 10))
        self.locks: dict[str, int] = {}  # other CLCK facilities: barring, FDN
        self.state = ABSENT
        self.powered = True  # CFUN=0 powers the card down on some families
        self.qsimstat = 0
        self._listeners: list[Callable[[bool], None]] = []
        self._pending: list[Timer] = []  # URCs on their way; a reboot drops them

    # -- the card ---------------------------------------------------------------------------
    def _save(self) -> None:
        self.m.store.save("sim", {"pin": self.pin, "pin2": self.pin2,
                                  "pin_enabled": self.pin_enabled,
                                  "pin_retries": self.pin_retries,
                                  "puk_retries": self.puk_retries})

    def _card_state(self) -> str:
        if not self.present:
            return ABSENT
        if self.puk_retries == 0:
            return BLOCKED
        if self.pin_retries == 0:
            return SIM_PUK
        return SIM_PIN if self.pin_enabled else READY

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        """`listener(ready)` runs whenever the card becomes usable or stops being usable."""
        self._listeners.append(listener)

    @property
    def ready(self) -> bool:
        return self.state == READY and self.powered

    def sim_ready(self) -> bool:
        """What other subsystems ask the module (SMS storage, the SMSC...)."""
        return self.ready

    def _set(self, state: str) -> None:
        was = self.ready
        self.state = state
        if self.ready != was:
            for listener in list(self._listeners):
                listener(self.ready)

    def reset(self) -> None:
        for timer in self._pending:
            timer.cancel()
        self._pending = []
        self.powered = True
        self.locks = {}
        self._set(self._card_state())

    def boot_values(self) -> dict[str, Any]:
        line = self.config.get("absent_line", "+CPIN: NOT INSERTED")
        cpin = line if self.state == ABSENT else f"+CPIN: {self._cpin_code()}"
        return {"cpin": cpin, "sim_present": self.state != ABSENT, "sim_ready": self.ready}

    def _cpin_code(self) -> str:
        return {BLOCKED: "SIM PUK"}.get(self.state, self.state)

    def _emit(self, key: str) -> None:
        self._pending = [t for t in self._pending if not t.cancelled and t.remaining() > 0]
        for item in self.config.get(key, []):
            line = Info.text(item["line"].format_map(self.boot_values()))
            delay = Duration.parse(item["after"])
            if delay:
                self._pending.append(self.m.urc_later(delay, line))
            else:
                self.m.urc(line)

    # -- the control surface ----------------------------------------------------------------
    def insert(self) -> None:
        if self.present:
            return
        self.present = True
        self._qsimstat_urc()
        self._set(self._card_state())
        if self.state == READY:
            self._emit("unlocked")
        else:
            self.m.urc(Info.text(f"+CPIN: {self._cpin_code()}"))

    def remove(self) -> None:
        if not self.present:
            return
        self.present = False
        self._qsimstat_urc()
        self._emit("removed")  # the card's own reports come before the network ones
        self._set(ABSENT)

    def require_pin(self) -> None:
        """The card now asks for its PIN, as after a swap to a locked card."""
        self.pin_enabled = True
        self._save()
        if self.present:
            state = self._card_state()
            self.m.urc(Info.text(f"+CPIN: {'SIM PUK' if state == BLOCKED else state}"))
            self._set(state)

    def power(self, on: bool) -> None:
        """CFUN=0 on families that power the card down with the radio."""
        if on == self.powered:
            return
        was = self.ready
        self.powered = on
        if self.ready != was:
            for listener in list(self._listeners):
                listener(self.ready)
        if on and self.ready:
            self._emit("unlocked")

    # -- guards other subsystems use --------------------------------------------------------
    def require_ready(self, command: str) -> None:
        """Raise the error the family gives when `command` needs an unlocked card."""
        if self.state == ABSENT:
            plain = command.upper() in self.config.get("absent_plain_error", [])
            raise AtError(None if plain else "sim_not_inserted")
        if not self.powered:
            raise AtError("sim_powered_down")
        if self.state in (SIM_PIN, SIM_PUK, BLOCKED):
            raise AtError({SIM_PIN: "sim_pin", SIM_PUK: "sim_puk"}.get(self.state, "sim_failure"))

    def _require_present(self, command: str) -> None:
        """For what a locked card still answers (its ICCID, its PIN state)."""
        if self.state == ABSENT or not self.powered:
            self.require_ready(command)

    def _text(self, value: str) -> str:
        return text(value, self.config.get("strict_quotes", False))

    # -- PIN --------------------------------------------------------------------------------
    @command("+CPIN", READ)
    def cpin_read(self) -> Replies:
        self._require_present("+CPIN")
        return Info.of("+CPIN", self._cpin_code())

    @command("+CPIN", WRITE)
    def cpin_write(self, pin: str, newpin: str | None = None) -> Replies:
        self._require_present("+CPIN")
        pin = self._text(pin)
        if self.state == SIM_PIN:
            self._check_pin(pin)
        elif self.state == SIM_PUK:
            if newpin is None or not _valid_pin(self._text(newpin)):
                raise AtError("invalid_param")
            self._check_puk(pin)
            self.pin = self._text(newpin)
        else:
            raise AtError("sim_failure" if self.state == BLOCKED else "not_allowed")
        self.pin_retries, self.puk_retries = self._full_retries()
        self._save()
        self._set(READY)
        self._emit("unlocked")
        return None

    def _full_retries(self) -> tuple[int, int]:
        return self.config.get("pin_retries", 3), self.config.get("puk_retries", 10)

    def _check_pin(self, pin: str) -> None:
        if pin == self.pin:
            self.pin_retries = self._full_retries()[0]
            self._save()
            return
        self.pin_retries = max(0, self.pin_retries - 1)
        self._save()
        if self.pin_retries == 0:
            self._set(SIM_PUK)
            raise AtError("sim_puk")
        raise AtError("incorrect_password")

    def _check_puk(self, puk: str) -> None:
        if puk == self.puk:
            return
        self.puk_retries = max(0, self.puk_retries - 1)
        self._save()
        if self.puk_retries == 0:
            self._set(BLOCKED)
            raise AtError("sim_failure")
        raise AtError("incorrect_password")

    @command("+QPINC", READ)
    def qpinc_read(self) -> Replies:
        self._require_present("+QPINC")
        return [Info.of("+QPINC", Quoted("SC"), self.pin_retries, self.puk_retries),
                Info.of("+QPINC", Quoted("P2"), *self._full_retries())]

    @command("+CLCK", WRITE)
    def clck(self, fac: str, mode: int, passwd: str | None = None, _class: int = 7) -> Replies:
        fac = self._text(fac).upper()
        if fac != "SC" and fac not in self.config.get("facilities", []):
            raise AtError("invalid_param")
        if mode not in (0, 1, 2):
            raise AtError("invalid_param")
        self._require_present("+CLCK")
        if mode == 2:
            state = int(self.pin_enabled) if fac == "SC" else self.locks.get(fac, 0)
            return Info.of("+CLCK", state)
        if passwd is None:
            raise AtError("invalid_param")
        self.require_ready("+CLCK")
        if fac == "SC":
            self._check_pin(self._text(passwd))
            self.pin_enabled = bool(mode)  # the card asks for it from the next power-on
            self._save()
        else:
            self.locks[fac] = mode
        return None

    @command("+CPWD", WRITE)
    def cpwd(self, fac: str, old: str, new: str) -> Replies:
        fac, old, new = self._text(fac).upper(), self._text(old), self._text(new)
        if fac not in ("SC", "P2") or not _valid_pin(new):
            raise AtError("invalid_param")
        self.require_ready("+CPWD")
        if fac == "P2":
            if old != self.pin2:
                raise AtError("incorrect_password")
            self.pin2 = new
        else:
            if not self.pin_enabled:
                raise AtError("not_allowed")
            self._check_pin(old)
            self.pin = new
        self._save()
        return None

    # -- what the card holds ----------------------------------------------------------------
    def _identity(self) -> Identity:
        return self.m.get(Identity)

    @command("+CIMI", EXEC)
    def cimi(self) -> Replies:
        self.require_ready("+CIMI")
        prefix = self.config.get("cimi_prefix")
        imsi = self._identity().imsi
        return Info.of(prefix, imsi) if prefix else Info.text(imsi)

    def data_handlers(self) -> list[tuple[str, Any, Any]]:
        iccid = [(name.upper(), EXEC, self._iccid) for name in self.config.get("iccid", {})]
        return iccid + super().data_handlers()

    def _iccid(self, ctx: Context) -> Replies:
        self._require_present(ctx.command.name)
        spec = next(v for k, v in self.config["iccid"].items() if k.upper() == ctx.command.name)
        value = self._identity().iccid
        field = Quoted(value) if spec.get("quoted") else value
        prefix = spec.get("prefix", "")
        return Info.of(prefix, field) if prefix else Info.text(value)

    @command("+CNUM", EXEC)
    def cnum(self) -> Replies:
        self.require_ready("+CNUM")
        number = self.msisdn
        if not number:
            return None
        kind = 145 if number.startswith("+") else 129
        return Info.of("+CNUM", Quoted(self.config.get("msisdn_alpha", "")), Quoted(number), kind)

    @property
    def msisdn(self) -> str:
        imsi = self._identity().imsi
        return self.config.get("msisdn", "+86138" + imsi[-8:])

    def files(self) -> dict[int, tuple[bytes, int | None]]:
        """The elementary files a host reads, as (content, record length or None)."""
        ident = self._identity()
        spn = self.config.get("spn", self.m.network.home.short).encode("latin-1")[:16]
        mnc_len = len(self.m.network.home.numeric) - 3
        record = ef_msisdn(self.msisdn, self.config.get("msisdn_alpha", ""))
        return {
            EF_ICCID: (bcd_swapped(ident.iccid, 10), None),
            EF_IMSI: (ef_imsi(ident.imsi), None),
            EF_AD: (bytes([0, 0, 0, mnc_len]), None),
            EF_SPN: (b"\x01" + spn.ljust(16, b"\xff"), None),
            EF_MSISDN: (record, len(record)),
        }

    @command("+CRSM", WRITE)
    def crsm(self, cmd: int, fileid: int | None = None, p1: int = 0, p2: int = 0,
             p3: int = 0, _data: str | None = None, _pathid: str | None = None) -> Replies:
        """Restricted SIM access: READ BINARY, READ RECORD and GET RESPONSE of the files a host
        reads (writes are not offered: the simulated card is read-only)."""
        self._require_present("+CRSM")
        if cmd not in (READ_BINARY, READ_RECORD, GET_RESPONSE):
            return Info.of("+CRSM", 0x6D, 0)  # instruction not supported
        found = self.files().get(fileid) if fileid is not None else None
        if found is None:
            return Info.of("+CRSM", 0x6A, 0x82)  # file not found
        if self.state != READY and fileid != EF_ICCID:
            return Info.of("+CRSM", 0x69, 0x82)  # security status not satisfied
        content, record = found
        if cmd == GET_RESPONSE:
            body = fcp(fileid, content, record)
        elif cmd == READ_RECORD:
            if record is None or not 1 <= p1 <= len(content) // record:
                return Info.of("+CRSM", 0x6A, 0x83)  # record not found
            body = content[(p1 - 1) * record:p1 * record]
        else:
            if record is not None:
                return Info.of("+CRSM", 0x69, 0x81)  # wrong file structure
            offset = (p1 << 8) | p2
            if offset >= len(content):
                return Info.of("+CRSM", 0x6B, 0)  # wrong offset
            body = content[offset:offset + (p3 or 256)]
        return Info.of("+CRSM", 0x90, 0, Quoted(body.hex().upper()))

    @command("+CSIM", WRITE)
    def csim(self, length: int, apdu: str) -> Replies:
        """Generic SIM access, enough for what hosts send: VERIFY and UNBLOCK CHV without data,
        which only ask how many attempts are left (TS 102 221: status 63Cx)."""
        self._require_present("+CSIM")
        try:
            raw = bytes.fromhex(apdu)
        except ValueError:
            raise AtError("invalid_param") from None
        if len(apdu) != length or len(raw) < 4:
            raise AtError("invalid_param")
        ins, p2 = raw[1], raw[3]
        if ins in (0x20, 0x2C) and len(raw) <= 5:
            pin_left, puk_left = (self.pin_retries, self.puk_retries) if p2 < 0x80 else \
                self._full_retries()
            status = f"63C{(pin_left if ins == 0x20 else puk_left) & 0xF:X}"
        else:
            status = "6D00"  # instruction not supported
        return Info.of("+CSIM", 4, Quoted(status))

    # -- Quectel SIM detection --------------------------------------------------------------
    @command("+QSIMSTAT", READ)
    def qsimstat_read(self) -> Replies:
        return Info.of("+QSIMSTAT", self.qsimstat, int(self.present))

    @command("+QSIMSTAT", WRITE)
    def qsimstat_write(self, enable: int) -> Replies:
        if enable not in (0, 1):
            raise AtError("invalid_param")
        self.qsimstat = enable
        return None

    def _qsimstat_urc(self) -> None:
        if self.qsimstat and self.m.dispatcher.knows("+QSIMSTAT"):
            self.m.urc(Info.of("+QSIMSTAT", 1, int(self.present)))

    @command("+QINISTAT", EXEC)
    def qinistat(self) -> Replies:
        # bit 0 CPIN READY, bit 1 SMS done, bit 2 phonebook done
        return Info.of("+QINISTAT", 7 if self.ready else 0)

    def snapshot(self) -> dict[str, Any]:
        return {"state": self.state, "present": self.present, "powered": self.powered,
                "pin_enabled": self.pin_enabled, "pin_retries": self.pin_retries,
                "puk_retries": self.puk_retries}


def _valid_pin(pin: str) -> bool:
    return pin.isdigit() and 4 <= len(pin) <= 8
