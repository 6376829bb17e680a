"""TPDUs of 3GPP TS 23.040 as values: SMS-DELIVER (network to module), SMS-SUBMIT (module to
network) and SMS-STATUS-REPORT, with the parts they are made of: addresses (BCD semi-octets or
GSM 7-bit alphanumeric), service-centre time stamps with quarter-hour zones, validity periods,
data coding schemes, and user data with its header (concatenation IEI 0x00 and 0x08).

A stored or exchanged PDU is the SMSC address (24.011 RP layer) followed by the TPDU, as
27.005 PDU mode shows it; `split_smsc` / `join_smsc` move between the two.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import IntEnum

from simulator.sms import gsm7


class PduError(ValueError):
    """A PDU (or a part of one) that does not follow TS 23.040."""


# -- addresses (TS 23.040 9.1.2.5, TS 24.008 10.5.4.7) --------------------------------------

TOA_UNKNOWN = 129
TOA_INTERNATIONAL = 145
TOA_NATIONAL = 161
TOA_ALPHANUMERIC = 208
_BCD = "0123456789*#abc"  # semi-octet values 0..14; 15 fills an odd count


@dataclass(frozen=True)
class Address:
    """A phone number (digits without "+", the type of address says international) or an
    alphanumeric sender name."""

    digits: str
    toa: int = TOA_UNKNOWN

    def __post_init__(self) -> None:
        if not 128 <= self.toa <= 255:
            raise PduError(f"type of address {self.toa} lacks its extension bit")
        if not self.alphanumeric and any(c not in _BCD for c in self.digits.lower()):
            raise PduError(f"{self.digits!r} is not a BCD number")

    @classmethod
    def parse(cls, text: str, toa: int | None = None) -> Address:
        """A number as a host types it: "+" means international, letters an alphanumeric
        sender; an explicit `toa` wins."""
        digits = text[1:] if text.startswith("+") else text
        if toa is None:
            if text.startswith("+"):
                toa = TOA_INTERNATIONAL
            elif all(c in _BCD for c in text.lower()):
                toa = TOA_UNKNOWN
            else:
                toa = TOA_ALPHANUMERIC
        if toa & 0x70 == 0x50:
            digits = text
        return cls(digits, toa)

    @property
    def alphanumeric(self) -> bool:
        return self.toa & 0x70 == 0x50

    @property
    def international(self) -> bool:
        return self.toa & 0x70 == 0x10

    @property
    def text(self) -> str:
        """The number as 27.005 shows it: international numbers with a leading "+"."""
        return ("+" if self.international else "") + self.digits

    def encode(self) -> bytes:
        """The TP-OA / TP-DA / TP-RA field: length in useful semi-octets, type, value."""
        if self.alphanumeric:
            septets = gsm7.encode(self.digits)
            return bytes((math.ceil(len(septets) * 7 / 4), self.toa)) + gsm7.pack(septets)
        return bytes((len(self.digits), self.toa)) + _bcd(self.digits)

    def encode_smsc(self) -> bytes:
        """The RP service-centre address: length in octets (type included), type, value."""
        body = bytes((self.toa,)) + _bcd(self.digits)
        return bytes((len(body),)) + body

    @classmethod
    def decode(cls, data: bytes, pos: int) -> tuple[Address, int]:
        count, toa = _take(data, pos, 2)
        octets = math.ceil(count / 2)
        value = _take(data, pos + 2, octets)
        if toa & 0x70 == 0x50:
            text = gsm7.decode(gsm7.unpack(value, count * 4 // 7))
            return cls(text, toa), pos + 2 + octets
        return cls(_unbcd(value)[:count], toa), pos + 2 + octets

    @classmethod
    def decode_smsc(cls, data: bytes, pos: int = 0) -> tuple[Address | None, int]:
        (length,) = _take(data, pos, 1)
        if length == 0:
            return None, pos + 1
        body = _take(data, pos + 1, length)
        return cls(_unbcd(body[1:]), body[0]), pos + 1 + length


def _bcd(digits: str) -> bytes:
    nibbles = [_BCD.index(c) for c in digits.lower()]
    if len(nibbles) % 2:
        nibbles.append(15)
    return bytes(lo | hi << 4 for lo, hi in zip(nibbles[::2], nibbles[1::2], strict=True))


def _unbcd(data: bytes) -> str:
    out = []
    for octet in data:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble == 15:
                return "".join(out)
            out.append(_BCD[nibble])
    return "".join(out)


def _take(data: bytes, pos: int, count: int) -> bytes:
    if pos + count > len(data):
        raise PduError(f"PDU ends at octet {len(data)}, {pos + count} needed")
    return data[pos:pos + count]


def split_smsc(pdu: bytes) -> tuple[Address | None, bytes]:
    """A 27.005 PDU (SMSC address, then TPDU) into its two parts."""
    smsc, pos = Address.decode_smsc(pdu)
    return smsc, pdu[pos:]


def join_smsc(smsc: Address | None, tpdu: bytes) -> bytes:
    return (smsc.encode_smsc() if smsc else b"\x00") + tpdu


# -- time stamps (TS 23.040 9.2.3.11) -------------------------------------------------------


def encode_time(when: datetime) -> bytes:
    """Seven swapped-BCD octets; the zone in quarter hours, bit 3 of the last octet its sign."""
    offset = when.utcoffset() or timedelta(0)
    quarters = round(offset.total_seconds() / 900)
    digits = f"{when:%y%m%d%H%M%S}{abs(quarters):02d}"
    octets = bytearray(int(digits[i + 1]) << 4 | int(digits[i]) for i in range(0, 14, 2))
    if quarters < 0:
        octets[6] |= 0x08
    return bytes(octets)


def decode_time(data: bytes) -> datetime:
    if len(data) != 7:
        raise PduError("a time stamp has 7 octets")
    values = [(o & 0x0F) * 10 + (o >> 4) for o in data[:6]]
    zone = data[6]
    quarters = ((zone & 0x07) * 10 + (zone >> 4)) * (-1 if zone & 0x08 else 1)
    year, month, day, hour, minute, second = values
    try:
        return datetime(2000 + year, month, day, hour, minute, second,
                        tzinfo=timezone(timedelta(minutes=15 * quarters)))
    except ValueError as exc:
        raise PduError(f"bad time stamp {data.hex()}: {exc}") from None


_TIME_TEXT = re.compile(r"(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d\d?)")


def time_text(when: datetime) -> str:
    """27.005's time-string: "yy/MM/dd,hh:mm:ss±zz", zone in quarter hours."""
    offset = when.utcoffset() or timedelta(0)
    quarters = round(offset.total_seconds() / 900)
    return f"{when:%y/%m/%d,%H:%M:%S}{'-' if quarters < 0 else '+'}{abs(quarters):02d}"


def parse_time_text(text: str) -> datetime:
    match = _TIME_TEXT.fullmatch(text)
    if not match:
        raise PduError(f"{text!r} is not a yy/MM/dd,hh:mm:ss±zz time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        return datetime(2000 + year, month, day, hour, minute, second,
                        tzinfo=timezone(timedelta(minutes=15 * int(match[7]))))
    except ValueError as exc:
        raise PduError(f"bad time {text!r}: {exc}") from None


def relative_validity(vp: int) -> timedelta:
    """TP-VP in relative format (TS 23.040 9.2.3.12.1)."""
    if not 0 <= vp <= 255:
        raise PduError(f"relative validity {vp} is not an octet")
    if vp <= 143:
        return timedelta(minutes=(vp + 1) * 5)
    if vp <= 167:
        return timedelta(hours=12, minutes=(vp - 143) * 30)
    if vp <= 196:
        return timedelta(days=vp - 166)
    return timedelta(weeks=vp - 192)


# -- data coding scheme (TS 23.038 4) ---------------------------------------------------------


class Coding(IntEnum):
    GSM7 = 0
    DATA8 = 1
    UCS2 = 2


def coding_of(dcs: int) -> Coding:
    group = dcs >> 4
    if group < 0x8:  # general data coding (with or without automatic deletion)
        if dcs & 0x20:
            return Coding.DATA8  # compressed: only the receiver can expand it, pass it as octets
        alphabet = (dcs >> 2) & 3
        return Coding(alphabet) if alphabet < 3 else Coding.GSM7
    if group in (0xC, 0xD):  # message waiting indication, GSM 7-bit
        return Coding.GSM7
    if group == 0xE:  # message waiting indication, UCS2
        return Coding.UCS2
    if group == 0xF:
        return Coding.DATA8 if dcs & 0x04 else Coding.GSM7
    return Coding.GSM7  # reserved groups: TS 23.038 says to assume the default alphabet


def message_class(dcs: int) -> int | None:
    """Class 0 (flash) .. 3 (to the host), or None when the scheme carries none."""
    group = dcs >> 4
    if (group < 0x8 and dcs & 0x10) or group == 0xF:
        return dcs & 0x03
    return None


def dcs_for(coding: Coding, klass: int | None = None) -> int:
    return coding << 2 | (0x10 | klass if klass is not None else 0)


# -- user data (TS 23.040 9.2.3.16, 9.2.3.24) -----------------------------------------------

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08
GSM7_MAX = 160  # septets in one TP-UD
OCTETS_MAX = 140


@dataclass(frozen=True)
class Element:
    """One information element of a user data header."""

    iei: int
    data: bytes

    def encode(self) -> bytes:
        return bytes((self.iei, len(self.data))) + self.data


@dataclass(frozen=True)
class Concat:
    """Part `seq` of `total` of the concatenated message `ref` (8- or 16-bit reference)."""

    ref: int
    total: int
    seq: int
    wide: bool = False

    def element(self) -> Element:
        if self.wide:
            return Element(IEI_CONCAT_16, self.ref.to_bytes(2, "big") + bytes((self.total,
                                                                                self.seq)))
        return Element(IEI_CONCAT_8, bytes((self.ref, self.total, self.seq)))

    @classmethod
    def of(cls, element: Element) -> Concat | None:
        if element.iei == IEI_CONCAT_8 and len(element.data) == 3:
            return cls(element.data[0], element.data[1], element.data[2])
        if element.iei == IEI_CONCAT_16 and len(element.data) == 4:
            return cls(int.from_bytes(element.data[:2], "big"), element.data[2],
                       element.data[3], wide=True)
        return None


@dataclass(frozen=True)
class UserData:
    """TP-UD with the DCS that says how to read it: text (GSM 7-bit, UCS2) or octets."""

    dcs: int = 0
    text: str = ""
    data: bytes = b""  # the payload of an 8-bit message
    header: tuple[Element, ...] = ()

    @classmethod
    def of_text(cls, text: str, klass: int | None = None,
                header: tuple[Element, ...] = ()) -> UserData:
        """GSM 7-bit when every character fits the alphabet, UCS2 otherwise."""
        coding = Coding.GSM7 if gsm7.encodable(text) else Coding.UCS2
        return cls(dcs_for(coding, klass), text, header=header)

    @property
    def coding(self) -> Coding:
        return coding_of(self.dcs)

    @property
    def concat(self) -> Concat | None:
        return next((c for c in map(Concat.of, self.header) if c), None)

    def _udh(self) -> bytes:
        if not self.header:
            return b""
        body = b"".join(e.encode() for e in self.header)
        return bytes((len(body),)) + body

    def payload(self) -> bytes:
        """The octets after the header: UCS2 code units or the 8-bit data (not GSM 7-bit)."""
        if self.coding is Coding.UCS2:
            return self.text.encode("utf-16-be")
        return self.data

    def encode(self) -> tuple[int, bytes]:
        """(TP-UDL, TP-UD). UDL counts septets for GSM 7-bit, octets otherwise."""
        udl, ud = self._encode()
        limit = GSM7_MAX if self.coding is Coding.GSM7 else OCTETS_MAX
        if udl > limit:
            raise PduError(f"user data length {udl} exceeds the {limit} of one message")
        return udl, ud

    def _encode(self) -> tuple[int, bytes]:
        udh = self._udh()
        if self.coding is Coding.GSM7:
            header_septets = math.ceil(len(udh) * 8 / 7)
            septets = gsm7.encode(self.text)
            return (header_septets + len(septets),
                    udh + gsm7.pack(septets, header_septets * 7 - len(udh) * 8))
        body = udh + self.payload()
        return len(body), body

    @property
    def length(self) -> int:
        """TP-UDL, also for user data too long for one message."""
        return self._encode()[0]

    @classmethod
    def decode(cls, dcs: int, udhi: bool, udl: int, ud: bytes) -> UserData:
        coding = coding_of(dcs)
        size = math.ceil(udl * 7 / 8) if coding is Coding.GSM7 else udl
        if len(ud) != size:
            raise PduError(f"user data has {len(ud)} octets, its length says {size}")
        header: tuple[Element, ...] = ()
        udh_len = 0
        if udhi:
            if not ud:
                raise PduError("header indicated but user data is empty")
            udh_len = ud[0] + 1
            header = _elements(_take(ud, 1, ud[0]))
        if coding is Coding.GSM7:
            header_septets = math.ceil(udh_len * 8 / 7)
            if header_septets > udl:
                raise PduError("the user data header is longer than the user data")
            septets = gsm7.unpack(ud[udh_len:], udl - header_septets,
                                  header_septets * 7 - udh_len * 8)
            return cls(dcs, gsm7.decode(septets), header=header)
        body = ud[udh_len:]
        if coding is Coding.UCS2:
            return cls(dcs, body[: len(body) // 2 * 2].decode("utf-16-be", "replace"),
                       header=header)
        return cls(dcs, data=body, header=header)


def _elements(udh: bytes) -> tuple[Element, ...]:
    elements, pos = [], 0
    while pos < len(udh):
        iei, length = _take(udh, pos, 2)
        elements.append(Element(iei, _take(udh, pos + 2, length)))
        pos += 2 + length
    return tuple(elements)


def split_text(text: str, ref: int, wide: bool = False) -> list[UserData]:
    """One message, or the parts of a concatenated one, as a sender's phone cuts it: 153
    septets (GSM 7-bit) or 67 characters (UCS2) per part with an 8-bit reference, never inside
    an escape pair or a surrogate pair."""
    single = UserData.of_text(text)
    gsm = single.coding is Coding.GSM7
    limit = GSM7_MAX if gsm else OCTETS_MAX
    if single.length <= limit:
        return [single]
    udh_octets = 1 + len(Concat(ref, 1, 1, wide).element().encode())
    budget = limit - (math.ceil(udh_octets * 8 / 7) if gsm else udh_octets)
    chunks, current, used = [], "", 0
    for char in text:
        cost = len(gsm7.encode(char)) if gsm else len(char.encode("utf-16-be"))
        if used + cost > budget:
            chunks.append(current)
            current, used = "", 0
        current += char
        used += cost
    chunks.append(current)
    return [UserData(single.dcs, chunk, header=(Concat(ref, len(chunks), i + 1, wide).element(),))
            for i, chunk in enumerate(chunks)]


# -- the TPDUs --------------------------------------------------------------------------------

MTI_DELIVER, MTI_SUBMIT, MTI_STATUS_REPORT = 0, 1, 2
_UDHI, _SR_BIT, _RP = 0x40, 0x20, 0x80


@dataclass(frozen=True)
class Deliver:
    """SMS-DELIVER: a message the SMSC hands to the module."""

    sender: Address
    timestamp: datetime
    user_data: UserData = field(default_factory=UserData)
    pid: int = 0
    more: bool = False  # TP-MMS: more messages wait at the SMSC
    status_report: bool = False  # TP-SRI: the sender asked for a status report
    reply_path: bool = False

    @property
    def first_octet(self) -> int:
        return (MTI_DELIVER | (0 if self.more else 0x04) | (_SR_BIT if self.status_report else 0)
                | (_UDHI if self.user_data.header else 0) | (_RP if self.reply_path else 0))

    def encode(self) -> bytes:
        udl, ud = self.user_data.encode()
        return (bytes((self.first_octet,)) + self.sender.encode()
                + bytes((self.pid, self.user_data.dcs)) + encode_time(self.timestamp)
                + bytes((udl,)) + ud)

    @classmethod
    def decode(cls, tpdu: bytes) -> Deliver:
        fo = _first(tpdu, MTI_DELIVER)
        sender, pos = Address.decode(tpdu, 1)
        pid, dcs = _take(tpdu, pos, 2)
        timestamp = decode_time(_take(tpdu, pos + 2, 7))
        (udl,) = _take(tpdu, pos + 9, 1)
        user_data = UserData.decode(dcs, bool(fo & _UDHI), udl, tpdu[pos + 10:])
        return cls(sender, timestamp, user_data, pid, more=not fo & 0x04,
                   status_report=bool(fo & _SR_BIT), reply_path=bool(fo & _RP))


Validity = int | datetime | bytes | None  # relative TP-VP, absolute time, enhanced 7 octets


@dataclass(frozen=True)
class Submit:
    """SMS-SUBMIT: a message the module hands to the SMSC."""

    recipient: Address
    user_data: UserData = field(default_factory=UserData)
    mr: int = 0
    pid: int = 0
    validity: Validity = None
    status_report: bool = False  # TP-SRR
    reject_duplicates: bool = False
    reply_path: bool = False

    @property
    def vpf(self) -> int:
        if self.validity is None:
            return 0
        if isinstance(self.validity, int):
            return 2
        if isinstance(self.validity, datetime):
            return 3
        return 1

    @property
    def first_octet(self) -> int:
        return (MTI_SUBMIT | (0x04 if self.reject_duplicates else 0) | self.vpf << 3
                | (_SR_BIT if self.status_report else 0)
                | (_UDHI if self.user_data.header else 0) | (_RP if self.reply_path else 0))

    def _vp(self) -> bytes:
        if isinstance(self.validity, int):
            return bytes((self.validity,))
        if isinstance(self.validity, datetime):
            return encode_time(self.validity)
        return self.validity or b""

    def encode(self) -> bytes:
        udl, ud = self.user_data.encode()
        return (bytes((self.first_octet, self.mr)) + self.recipient.encode()
                + bytes((self.pid, self.user_data.dcs)) + self._vp() + bytes((udl,)) + ud)

    @classmethod
    def decode(cls, tpdu: bytes) -> Submit:
        fo = _first(tpdu, MTI_SUBMIT)
        (mr,) = _take(tpdu, 1, 1)
        recipient, pos = Address.decode(tpdu, 2)
        pid, dcs = _take(tpdu, pos, 2)
        pos += 2
        vpf = (fo >> 3) & 3
        validity: Validity = None
        if vpf == 2:
            validity = _take(tpdu, pos, 1)[0]
            pos += 1
        elif vpf == 3:
            validity = decode_time(_take(tpdu, pos, 7))
            pos += 7
        elif vpf == 1:
            validity = _take(tpdu, pos, 7)
            pos += 7
        (udl,) = _take(tpdu, pos, 1)
        user_data = UserData.decode(dcs, bool(fo & _UDHI), udl, tpdu[pos + 1:])
        return cls(recipient, user_data, mr, pid, validity, status_report=bool(fo & _SR_BIT),
                   reject_duplicates=bool(fo & 0x04), reply_path=bool(fo & _RP))


@dataclass(frozen=True)
class StatusReport:
    """SMS-STATUS-REPORT: what became of a submitted message (TP-ST 0 = delivered)."""

    mr: int
    recipient: Address
    timestamp: datetime  # when the SMSC received the SUBMIT
    discharge: datetime  # when it was delivered (or the status last changed)
    status: int = 0
    more: bool = False

    @property
    def first_octet(self) -> int:
        return MTI_STATUS_REPORT | (0 if self.more else 0x04)

    def encode(self) -> bytes:
        return (bytes((self.first_octet, self.mr)) + self.recipient.encode()
                + encode_time(self.timestamp) + encode_time(self.discharge)
                + bytes((self.status,)))

    @classmethod
    def decode(cls, tpdu: bytes) -> StatusReport:
        fo = _first(tpdu, MTI_STATUS_REPORT)
        (mr,) = _take(tpdu, 1, 1)
        recipient, pos = Address.decode(tpdu, 2)
        timestamp = decode_time(_take(tpdu, pos, 7))
        discharge = decode_time(_take(tpdu, pos + 7, 7))
        (status,) = _take(tpdu, pos + 14, 1)
        return cls(mr, recipient, timestamp, discharge, status, more=not fo & 0x04)


Tpdu = Deliver | Submit | StatusReport


def _first(tpdu: bytes, mti: int) -> int:
    (fo,) = _take(tpdu, 0, 1)
    if fo & 0x03 != mti:
        raise PduError(f"message type {fo & 0x03}, expected {mti}")
    return fo


def decode(tpdu: bytes, mobile_originated: bool) -> Tpdu:
    """A TPDU by its message type; the direction tells SUBMIT from SUBMIT-REPORT and so on."""
    (fo,) = _take(tpdu, 0, 1)
    mti = fo & 0x03
    if mobile_originated and mti == MTI_SUBMIT:
        return Submit.decode(tpdu)
    if not mobile_originated and mti == MTI_DELIVER:
        return Deliver.decode(tpdu)
    if not mobile_originated and mti == MTI_STATUS_REPORT:
        return StatusReport.decode(tpdu)
    raise PduError(f"message type {mti} is not handled in this direction")
