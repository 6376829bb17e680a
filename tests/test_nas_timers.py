"""The 3GPP bit strings of the power-saving timers, both ways: what the host writes in
AT+CPSMS / AT+CEDRXS decoded, and what the network grants encoded for AT+CEREG / AT+CEDRXRDP."""

from __future__ import annotations

import pytest

from simulator.world.nas_timers import (
    T3324,
    T3412,
    edrx_code,
    edrx_cycle,
    is_bits,
    paging_window,
)

# GPRS Timer 3 (T3412 extended): bits 8-6 the unit, 5-1 the count
T3412_TABLE = [
    ("00000000", 0.0),
    ("00000001", 600.0),  # 10 min x 1
    ("00011111", 18600.0),  # 10 min x 31
    ("00100001", 3600.0),  # 1 h
    ("00111000", 86400.0),  # 1 h x 24
    ("01000010", 72000.0),  # 10 h x 2: the document's 20 h request
    ("01100101", 10.0),  # 2 s x 5
    ("10000011", 90.0),  # 30 s x 3
    ("10100010", 120.0),  # 1 min x 2
    ("11000001", 1152000.0),  # 320 h
    ("11100000", None),  # deactivated
    ("11111111", None),  # deactivated, whatever the count
]
# GPRS Timer 2 (T3324): units 2 s, 1 min, 6 min; 111 deactivates; other units count minutes
T3324_TABLE = [
    ("00000000", 0.0),  # the document's request: PSM as soon as the connection is released
    ("00000101", 10.0),
    ("00011111", 62.0),
    ("00100001", 60.0),
    ("00101010", 600.0),
    ("01000011", 1080.0),  # 6 min x 3
    ("01100010", 120.0),  # unit 011 is read as minutes
    ("10000001", 60.0),  # so is 100
    ("11100000", None),  # deactivated
    ("11101010", None),
]


@pytest.mark.parametrize(("bits", "seconds"), T3412_TABLE)
def test_t3412_decodes(bits: str, seconds: float | None) -> None:
    assert T3412.decode(bits) == seconds


@pytest.mark.parametrize(("bits", "seconds"), T3324_TABLE)
def test_t3324_decodes(bits: str, seconds: float | None) -> None:
    assert T3324.decode(bits) == seconds


@pytest.mark.parametrize(("code", "seconds", "bits"), [
    (T3412, 72000, "00110100"),  # 20 h: exact in hours (the finest unit that holds it)
    (T3412, 3600, "00000110"),  # 10 min x 6
    (T3412, 10, "01100101"),
    (T3412, 62, "01111111"),  # 2 s x 31
    (T3412, 90, "10000011"),  # 30 s x 3
    (T3412, 3 * 3600 + 1, "00010011"),  # not exact: the shortest value not below, 190 min
    (T3412, 400 * 3600, "11000010"),  # 2 x 320 h
    (T3412, 10**9, "11011111"),  # beyond the table: the longest value
    (T3412, None, "11100000"),
    (T3324, 0, "00000000"),
    (T3324, 10, "00000101"),
    (T3324, 120, "00100010"),  # 2 min
    (T3324, 61, "00011111"),  # not exact: rounded up to 62 s
    (T3324, 3600, "01001010"),  # 6 min x 10
    (T3324, None, "11100000"),
])
def test_encodes_what_the_network_grants(code, seconds, bits: str) -> None:
    assert code.encode(seconds) == bits


@pytest.mark.parametrize("code", [T3412, T3324])
def test_every_string_survives_a_round_trip_through_its_seconds(code) -> None:
    for value in range(256):
        bits = f"{value:08b}"
        seconds = code.decode(bits)
        assert code.decode(code.encode(seconds)) == seconds, bits


@pytest.mark.parametrize("bad", ["", "0100001", "010000100", "0100001x", "2", "01 00010"])
def test_malformed_strings_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        T3412.decode(bad)
    with pytest.raises(ValueError):
        T3324.decode(bad)
    assert not is_bits(bad, 8)


@pytest.mark.parametrize(("bits", "seconds"), [
    ("0010", 20.48), ("0011", 40.96), ("0101", 81.92), ("1001", 163.84), ("1010", 327.68),
    ("1011", 655.36), ("1100", 1310.72), ("1101", 2621.44), ("1110", 5242.88),
    ("1111", 10485.76),
    ("0000", 20.48), ("0001", 20.48), ("0100", 20.48), ("0110", 20.48), ("0111", 20.48),
    ("1000", 20.48),  # values NB-S1 lacks read as 0010
])
def test_edrx_cycle_in_nb_s1_mode(bits: str, seconds: float) -> None:
    assert edrx_cycle(bits) == seconds


@pytest.mark.parametrize(("seconds", "bits"), [
    (20.48, "0010"), (1, "0010"), (41, "0101"), (163.84, "1001"), (10**6, "1111")])
def test_edrx_code_for_a_cycle(seconds: float, bits: str) -> None:
    assert edrx_code(seconds) == bits


@pytest.mark.parametrize(("bits", "seconds"), [
    ("0000", 2.56), ("0011", 10.24), ("0111", 20.48), ("1111", 40.96)])
def test_paging_time_window(bits: str, seconds: float) -> None:
    assert paging_window(bits) == seconds
