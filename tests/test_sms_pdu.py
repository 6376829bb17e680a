"""The SMS codec (simulator.sms): tables from TS 23.038 / 23.040, and cross-checks against two
independent PyPI implementations: smspdudecoder decodes what our encoder makes, and
python-gsmmodem-new (a host-side library) encodes SUBMITs for our decoder.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from io import StringIO

import pytest
from gsmmodem import pdu as host
from smspdudecoder.codecs import GSM as RefGsm
from smspdudecoder.elements import Date as RefDate
from smspdudecoder.fields import SMSDeliver, SMSSubmit

from simulator.sms import gsm7, pdu
from simulator.sms.pdu import (
    Address,
    Coding,
    Concat,
    Deliver,
    Element,
    PduError,
    Submit,
    UserData,
)

CST = timezone(timedelta(hours=8))


def zone(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def ref_deliver(data: bytes) -> dict:
    return SMSDeliver.decode(StringIO(data.hex().upper()))


def ref_submit(data: bytes) -> dict:
    return SMSSubmit.decode(StringIO(data.hex().upper()))


# -- GSM 7-bit alphabet ------------------------------------------------------------------------


@pytest.mark.parametrize(("char", "septets"), [
    ("@", [0x00]), ("£", [0x01]), ("$", [0x02]), ("\n", [0x0A]), ("Δ", [0x10]),
    ("_", [0x11]), ("Ξ", [0x1A]), ("É", [0x1F]), (" ", [0x20]), ("¤", [0x24]),
    ("¡", [0x40]), ("Ä", [0x5B]), ("§", [0x5F]), ("¿", [0x60]), ("à", [0x7F]),
    ("€", [0x1B, 0x65]), ("{", [0x1B, 0x28]), ("}", [0x1B, 0x29]), ("\\", [0x1B, 0x2F]),
    ("[", [0x1B, 0x3C]), ("~", [0x1B, 0x3D]), ("]", [0x1B, 0x3E]), ("|", [0x1B, 0x40]),
    ("^", [0x1B, 0x14]), ("\f", [0x1B, 0x0A]),
])
def test_gsm7_table(char, septets):
    assert gsm7.encode(char) == septets
    assert gsm7.decode(septets) == char


def test_gsm7_alphabet_matches_an_independent_table():
    for code, char in enumerate(RefGsm.ALPHABET):
        if code != gsm7.ESCAPE:
            assert gsm7.encode(char) == [code], repr(char)
    for code, char in RefGsm.ALPHABET_EXT.items():
        assert gsm7.encode(char) == [gsm7.ESCAPE, code], repr(char)
    assert len(gsm7.EXTENSION) == len(RefGsm.ALPHABET_EXT)


def test_gsm7_rejects_or_replaces_characters_outside_the_alphabet():
    assert not gsm7.encodable("ok 你好")
    with pytest.raises(ValueError):
        gsm7.encode("你")
    assert gsm7.decode(gsm7.encode("a你b", replace="?")) == "a?b"


def test_unknown_extension_code_reads_as_its_default_character():
    assert gsm7.decode([0x1B, 0x41]) == "A"


@pytest.mark.parametrize(("text", "packed"), [
    ("hellohello", "E8329BFD4697D9EC37"),  # TS 23.040 9.2.3.24 style classic
    ("How are you?", "C8F71D14969741F977FD07"),
    ("", ""),
])
def test_septet_packing(text, packed):
    assert gsm7.pack(gsm7.encode(text)).hex().upper() == packed
    assert gsm7.decode(gsm7.unpack(bytes.fromhex(packed), len(text))) == text


@pytest.mark.parametrize("extra", range(7))
def test_fill_bits_after_every_header_size_decode_with_the_reference(extra):
    """Headers of 3..9 octets need 0..6 fill bits before the first septet (TS 23.040
    9.2.3.24); a private IEI pads the header to each size."""
    header = (Element(0x70, bytes(extra)),)
    text = "fill bits @ 7-bit"  # no escapes: the reference slices characters by septet count
    message = Deliver(Address.parse("123"), datetime(2024, 1, 1, tzinfo=CST),
                      UserData(0, text, header=header))
    ref = ref_deliver(b"\x00" + message.encode())
    assert ref["user_data"]["data"] == text
    assert Deliver.decode(message.encode()).user_data == message.user_data


@pytest.mark.parametrize("fill", range(7))
def test_pack_unpack_with_fill_bits(fill):
    rng = random.Random(fill)
    for length in (1, 7, 8, 9, 153):
        septets = [rng.randrange(128) for _ in range(length)]
        packed = gsm7.pack(septets, fill)
        assert len(packed) == (fill + 7 * length + 7) // 8
        assert packed[0] & ((1 << fill) - 1) == 0  # the fill bits are zero
        assert gsm7.unpack(packed, length, fill) == septets


def test_random_texts_decode_with_the_reference_codec():
    rng = random.Random(7)
    alphabet = [c for i, c in enumerate(gsm7.DEFAULT) if i != gsm7.ESCAPE] + ["€", "{", "]"]
    for _ in range(50):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 60)))
        packed = gsm7.pack(gsm7.encode(text))
        assert RefGsm.decode(packed.hex().upper())[: len(text)].rstrip("@") == text.rstrip("@")


# -- addresses, time stamps, validity, coding ----------------------------------------------


@pytest.mark.parametrize(("text", "toa", "encoded"), [
    ("+8613800138000", None, "0D91683108108300F0"),
    ("10086", None, "05810180F6"),
    ("18777397945", 161, "0BA18177377949F5"),
    ("*100#", None, "05811A00FB"),  # * and # are semi-octets A and B
    ("Bank", None, "07D0C2B07B0D"),
])
def test_address_encoding(text, toa, encoded):
    address = Address.parse(text, toa)
    assert address.encode().hex().upper() == encoded
    assert Address.decode(address.encode(), 0) == (address, len(address.encode()))
    assert address.text == text


def test_smsc_address_and_none():
    smsc = Address.parse("+8613800755500")
    assert smsc.encode_smsc().hex().upper() == "0891683108705505F0"
    assert pdu.split_smsc(bytes.fromhex("00" + "0400")) == (None, bytes.fromhex("0400"))


def test_bad_numbers_are_rejected():
    with pytest.raises(PduError):
        Address("12x4", pdu.TOA_UNKNOWN)
    with pytest.raises(PduError):
        Address("1234", 0x11)


@pytest.mark.parametrize(("when", "encoded"), [
    (datetime(2014, 3, 26, 13, 52, 30, tzinfo=CST), "41306231250323"),
    (datetime(2013, 3, 25, 23, 1, 56, tzinfo=zone(-7 * 60)), "3130523210658A"),
    (datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC), "12211332959500"),
    (datetime(2020, 6, 1, 0, 0, 0, tzinfo=zone(5 * 60 + 45)), "02601000000032"),
    (datetime(2020, 6, 1, 0, 0, 0, tzinfo=zone(-(3 * 60 + 30))), "02601000000049"),
])
def test_time_stamps_with_quarter_hour_zones(when, encoded):
    assert pdu.encode_time(when).hex().upper() == encoded
    assert pdu.decode_time(bytes.fromhex(encoded)) == when
    assert RefDate.decode(encoded) == when  # the reference converts to UTC; same instant


def test_time_text_form():
    when = datetime(2014, 3, 26, 13, 57, 58, tzinfo=CST)
    assert pdu.time_text(when) == "14/03/26,13:57:58+32"
    assert pdu.parse_time_text("14/03/26,13:57:58+32") == when
    assert pdu.time_text(datetime(2013, 1, 2, 3, 4, 5, tzinfo=zone(-150))) == (
        "13/01/02,03:04:05-10")
    with pytest.raises(PduError):
        pdu.parse_time_text("2014/03/26 13:57:58")


def test_bad_time_stamp_is_a_pdu_error():
    with pytest.raises(PduError):
        pdu.decode_time(bytes.fromhex("41006231250323"))  # month 0


@pytest.mark.parametrize(("vp", "duration"), [
    (0, timedelta(minutes=5)), (143, timedelta(hours=12)), (144, timedelta(hours=12, minutes=30)),
    (167, timedelta(hours=24)), (168, timedelta(days=2)), (196, timedelta(days=30)),
    (197, timedelta(weeks=5)), (255, timedelta(weeks=63)),
])
def test_relative_validity(vp, duration):
    assert pdu.relative_validity(vp) == duration


@pytest.mark.parametrize(("dcs", "coding", "klass"), [
    (0x00, Coding.GSM7, None), (0x04, Coding.DATA8, None), (0x08, Coding.UCS2, None),
    (0x10, Coding.GSM7, 0), (0x18, Coding.UCS2, 0), (0x16, Coding.DATA8, 2),
    (0x24, Coding.DATA8, None), (0x0C, Coding.GSM7, None), (0xC8, Coding.GSM7, None),
    (0xE0, Coding.UCS2, None), (0xF0, Coding.GSM7, 0), (0xF5, Coding.DATA8, 1),
    (0x90, Coding.GSM7, None),
])
def test_data_coding_schemes(dcs, coding, klass):
    assert pdu.coding_of(dcs) is coding
    assert pdu.message_class(dcs) == klass


# -- user data and concatenation -------------------------------------------------------------


def test_text_picks_gsm7_or_ucs2():
    assert UserData.of_text("Hello").coding is Coding.GSM7
    assert UserData.of_text("Grüße ü").coding is Coding.GSM7  # ü is in the GSM alphabet
    assert UserData.of_text("Ça coûte 5€").coding is Coding.UCS2  # û is not
    assert UserData.of_text("你好").encode() == (4, bytes.fromhex("4F60597D"))


@pytest.mark.parametrize(("text", "sizes"), [
    ("a" * 160, [160]),
    ("a" * 161, [153, 8]),
    ("a" * 306, [153, 153]),
    ("€" * 80, [160]),
    ("a" + "€" * 80, [153, 8]),  # 1 + 76 escape pairs fill 153; the pair is never split
    ("中" * 70, [140]),
    ("中" * 71, [134, 8]),
    ("中" * 66 + "😀" + "中" * 5, [132, 14]),  # the surrogate pair moves whole
])
def test_split_text_sizes(text, sizes):
    """Payload per part: septets for GSM 7-bit, octets for UCS2 (the header comes on top)."""
    parts = pdu.split_text(text, ref=9)
    assert [len(gsm7.encode(p.text)) if p.coding is Coding.GSM7 else len(p.payload())
            for p in parts] == sizes
    assert "".join(p.text for p in parts) == text
    assert all(p.encode() for p in parts)  # every part fits one message
    if len(parts) > 1:
        assert [p.concat for p in parts] == [Concat(9, len(parts), i + 1)
                                              for i in range(len(parts))]


def test_user_data_over_one_message_is_refused():
    with pytest.raises(PduError):
        UserData.of_text("a" * 161).encode()
    with pytest.raises(PduError):
        UserData.of_text("中" * 71).encode()


def test_n11v2_manual_concatenated_segment_decodes_like_the_reference():
    """The 140-octet segment of the N11V2 manual's AT+CMGR example (UDH 05 00 03 14 04 01)."""
    ud = bytes.fromhex(
        "050003140401E27778592EA7E7EBE9373C3C279BCF68F59AADC78FED62779BA596D7EBAEB5B91EBD16A5"
        "D46C35F98406A744E311A95C32594DA75688B50EADACA6D689150EADF1B2BC5E579AD575E5B5582D5EAB"
        "D5624C36A3D56C375C0E1693CD6835DB0D9783A15C91D2E06BDAA558AC1F60C52B937CADCD2B747AA902"
        "1BDEC627E8E9441BD42655DEF446")
    ours = UserData.decode(0x00, True, 160, ud)
    assert ours.concat == Concat(0x14, 4, 1)
    tpdu = (bytes.fromhex("44") + Address.parse("66421").encode() + bytes((0, 0))
            + pdu.encode_time(datetime(2011, 9, 13, 16, 37, 59, tzinfo=CST)) + bytes((160,)) + ud)
    ref = ref_deliver(b"\x00" + tpdu)
    assert ours.text == ref["user_data"]["data"]
    assert ref["user_data"]["header"]["elements"][0]["data"] == {
        "reference": 0x14, "parts_count": 4, "part_number": 1}


# -- whole TPDUs against the reference decoder -------------------------------------------------


@pytest.mark.parametrize(("sender", "text", "header"), [
    ("+8613912345678", "hello @ world {x} €", ()),
    ("10086", "你好，世界", ()),
    ("Bank", "Your code is 1234", ()),
    ("+447700900123", "part one of three" * 5, (Concat(200, 3, 1).element(),)),
    ("+447700900123", "wide reference", (Concat(0x1234, 2, 2, wide=True).element(),)),
    ("+447700900123", "中文分段", (Concat(77, 2, 1).element(),)),
])
def test_deliver_encodes_what_the_reference_decodes(sender, text, header):
    when = datetime(2024, 2, 29, 23, 59, 1, tzinfo=CST)
    smsc = Address.parse("+8613800100500")
    message = Deliver(Address.parse(sender), when, UserData.of_text(text, header=header),
                      status_report=True)
    data = pdu.join_smsc(smsc, message.encode())
    ref = ref_deliver(data)
    assert ref["smsc"]["number"] == "8613800100500"
    assert ref["header"]["mti"] == "deliver" and ref["header"]["sri"] is True
    assert ref["header"]["udhi"] is bool(header)
    assert ref["header"]["mms"] is True  # TP-MMS set: no more messages waiting
    assert ref["sender"]["number"] == sender.lstrip("+")
    assert ref["scts"] == when
    assert ref["user_data"]["data"] == text
    if header:
        concat = Concat.of(header[0])
        assert ref["user_data"]["header"]["elements"][0]["data"] == {
            "reference": concat.ref, "parts_count": concat.total, "part_number": concat.seq}
    assert Deliver.decode(message.encode()) == message


@pytest.mark.parametrize(("validity", "vpf"), [(None, 0), (167, 2), (0, 2)])
def test_submit_encodes_what_the_reference_decodes(validity, vpf):
    message = Submit(Address.parse("+8613700000000"), UserData.of_text("Hi there"), mr=17,
                     validity=validity, status_report=True)
    data = pdu.join_smsc(None, message.encode())
    ref = ref_submit(data)
    assert ref["header"]["mti"] == "submit" and ref["header"]["srr"] is True
    assert ref["header"]["vpf"] == vpf
    assert ref["message-ref"] == 17
    assert ref["recipient"]["number"] == "8613700000000"
    assert ref["recipient"]["toa"]["ton"] == "international"
    assert ref.get("vp") == validity
    assert ref["user_data"]["data"] == "Hi there"
    assert Submit.decode(message.encode()) == message


def test_submit_with_absolute_and_enhanced_validity_round_trips():
    absolute = datetime(2025, 1, 1, 12, 0, 0, tzinfo=CST)
    for validity in (absolute, bytes.fromhex("01020300000000")):
        message = Submit(Address.parse("123"), UserData.of_text("x"), validity=validity)
        assert Submit.decode(message.encode()).validity == validity


@pytest.mark.parametrize(("text", "srr", "validity"), [
    ("short text", False, None),
    ("hello {world} € " * 12, True, timedelta(days=2)),  # two concatenated GSM 7-bit parts
    ("长消息测试" * 20, False, timedelta(hours=6)),  # two UCS2 parts
])
def test_host_encoded_submits_decode(text, srr, validity):
    parts = host.encodeSmsSubmitPdu("+8613700000000", text, reference=5, validity=validity,
                                    smsc="+8613800100500", requestStatusReport=srr)
    decoded = []
    for part in parts:
        smsc, tpdu = pdu.split_smsc(bytes(part.data))
        assert smsc == Address.parse("+8613800100500")
        decoded.append(Submit.decode(tpdu))
    assert "".join(m.user_data.text for m in decoded) == text
    for message in decoded:
        assert message.recipient.text == "+8613700000000"
        assert message.status_report is srr
        if validity is None:
            assert message.validity is None
        else:
            assert pdu.relative_validity(message.validity) == validity
    if len(parts) > 1:
        assert [m.user_data.concat.seq for m in decoded] == list(range(1, len(parts) + 1))
        assert {m.user_data.concat.total for m in decoded} == {len(parts)}


def test_status_report_decodes_with_the_host_library():
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=zone(-7 * 60))
    report = pdu.StatusReport(42, Address.parse("+4915112345678"), when,
                              when + timedelta(seconds=4))
    decoded = host.decodeSmsPdu(pdu.join_smsc(Address.parse("+491710760000"),
                                              report.encode()).hex())
    assert decoded["type"] == "SMS-STATUS-REPORT"
    assert decoded["reference"] == 42
    assert decoded["number"] == "+4915112345678"
    assert decoded["status"] == 0
    assert decoded["discharge"] - decoded["time"] == timedelta(seconds=4)
    assert pdu.StatusReport.decode(report.encode()) == report


def test_manual_examples_decode():
    """The N11V2 manual's PDU examples (Appendix B, AT+CMGR, AT+CMGS)."""
    smsc, tpdu = pdu.split_smsc(bytes.fromhex(
        "0891683110501905F0240BA18177377949F50000413062312503230468341A0D"))
    message = pdu.decode(tpdu, mobile_originated=False)
    assert isinstance(message, Deliver)
    assert smsc.text == "+8613010591500" and message.sender.text == "18777397945"
    assert message.user_data.text == "hhhh" and message.status_report
    assert message.timestamp == datetime(2014, 3, 26, 13, 52, 30, tzinfo=CST)
    _, tpdu = pdu.split_smsc(bytes.fromhex(
        "0891683110808805F001000B813124819396F300080A00680065006C006C006F"))
    message = pdu.decode(tpdu, mobile_originated=True)
    assert isinstance(message, Submit)
    assert message.recipient.digits == "13421839693" and message.user_data.text == "hello"
    assert len(tpdu) == 23


@pytest.mark.parametrize(("hex_tpdu", "mo"), [
    ("04", False),  # cut short
    ("040D91683108108300F0000042502970", False),  # time stamp cut short
    ("040581", False),  # address cut short
    ("0100058101", True),  # address value missing
    ("01000581000F0000000461", True),  # UDL 4 with one octet of data
    ("0100058100F0000001616161", True),  # trailing octets after the user data
    ("00", True),  # a DELIVER where a SUBMIT is expected
    ("02", True),  # a COMMAND: not a message the memories hold
])
def test_malformed_tpdus_raise_pdu_error(hex_tpdu, mo):
    with pytest.raises(PduError):
        pdu.decode(bytes.fromhex(hex_tpdu), mobile_originated=mo)
