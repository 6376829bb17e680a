"""Identity commands and boot banners of all five profiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import BOOT_TAIL

from simulator.subsystems.identity import luhn_digit, luhn_valid

BANNERS = {
    "bc660k": b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n",
    "ec200t": b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n"
              b"\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n",
    "m66": b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n",
    "n11v2": b"\r\n+PBREADY\r\n",
    "fcm360w": b"\r\nready\r\n",
}


@pytest.mark.parametrize("profile", sorted(BANNERS))
def test_boot_banner(sim, profile: str) -> None:
    port = sim(profile, time_scale=10).open()
    assert port.expect(BOOT_TAIL[profile]) == BANNERS[profile]


@pytest.mark.parametrize(
    ("profile", "reset", "answer"),
    [("bc660k", "AT+QRST=1", b"\r\nOK\r\n"), ("ec200t", "AT+CFUN=1,1", b"\r\nOK\r\n"),
     ("fcm360w", "AT+QRST", b"\r\nOK\r\n")],
)
def test_reset_prints_the_banner_again(modem, profile: str, reset: str, answer: bytes) -> None:
    port = modem(profile)
    assert port.command(reset) == answer
    assert port.expect(BOOT_TAIL[profile]) == BANNERS[profile]
    port.command("ATE0") if profile != "fcm360w" else None
    assert port.command("AT") == b"\r\nOK\r\n"


def test_module_is_deaf_while_resetting(modem) -> None:
    port = modem("bc660k", time_scale=1)
    port.command("AT+QRST=1")
    port.write(b"AT\r")  # lost: the firmware is restarting
    assert port.expect(b"+CPIN: READY\r\n") == BANNERS["bc660k"]


@pytest.mark.parametrize(
    ("profile", "command", "pattern"),
    [
        ("bc660k", "ATI",
         rb"\r\nQuectel_Ltd\r\nQuectel_BC660K-GL\r\nRevision: BC660KGLAAR01A03\r\n\r\nOK\r\n"),
        ("bc660k", "AT+CGSN=1", rb"\r\n\+CGSN:(\d{15})\r\n\r\nOK\r\n"),
        ("ec200t", "ATI", rb"\r\nQuectel\r\nEC200T\r\nRevision: EC200TCNDAR02A12M16\r\n\r\nOK\r\n"),
        ("ec200t", "AT+CGSN", rb"\r\n(\d{15})\r\n\r\nOK\r\n"),
        ("ec200t", "AT+GSN", rb"\r\n(\d{15})\r\n\r\nOK\r\n"),
        ("ec200t", "AT+CGMR", rb"\r\nEC200TCNDAR02A12M16\r\n\r\nOK\r\n"),
        ("ec200t", "AT+GMR", rb"\r\nEC200TCNDAR02A12M16\r\n\r\nOK\r\n"),
        ("ec200t", "AT+CGSN=?", rb"\r\nOK\r\n"),
        ("m66", "ATI", rb"\r\nQuectel_Ltd\r\nQuectel_M66\r\nRevision: M66FAR02A08\r\n\r\nOK\r\n"),
        ("m66", "AT+CGMR", rb"\r\nRevision: M66FAR02A08\r\n\r\nOK\r\n"),
        ("m66", "AT+GSN", rb"\r\n(\d{15})\r\n\r\nOK\r\n"),
        ("n11v2", "ATI", rb"\r\nNEOWAY\r\nN11V2\r\nREVISION V003\r\n\r\nOK\r\n"),
        ("n11v2", "AT+CGMI", rb"\r\n\+CGMI: Neoway Corp Ltd\r\n\r\nOK\r\n"),
        ("n11v2", "AT+CGMM", rb"\r\n\+CGMM: N11 V2\r\n\r\nOK\r\n"),
        ("n11v2", "AT+CGMR", rb"\r\n\+CGMR: N11_1167_SQS63002_V003\r\n\r\nOK\r\n"),
        ("n11v2", "AT+GMR", rb"\r\n\+GMR:N11_1167_SQS63002_V003\r\n\r\nOK\r\n"),
        ("n11v2", "AT+CGSN", rb"\r\n\+CGSN:355910044336974\r\n\r\nOK\r\n"),
        ("fcm360w", "AT+QVERSION", rb"\r\n\+QVERSION: FCM360WAAR01A01\r\n\r\nOK\r\n"),
        ("fcm360w", "ATI", rb"\r\nERROR\r\n"),
        ("fcm360w", "ATV0", rb"\r\nERROR\r\n"),
    ],
)
def test_identity(modem, profile: str, command: str, pattern: bytes) -> None:
    reply = modem(profile).command(command)
    match = re.fullmatch(pattern, reply)
    assert match, reply
    if match.groups():
        assert luhn_valid(match[1].decode())


def test_generated_identity_is_stable_per_name_and_differs_between_names(sim, tmp_path: Path):
    def imei(*extra: str) -> bytes:
        port = sim("ec200t", *extra, data_dir=tmp_path / "-".join(extra or ("x",))).open()
        port.expect(BOOT_TAIL["ec200t"])
        port.command("ATE0")
        return port.command("AT+GSN")

    assert imei("--name", "a") == imei("--name", "a") != imei("--name", "b")


def test_fcm360w_echo_is_qecho_and_saved(sim, tmp_path: Path) -> None:
    port = sim("fcm360w", data_dir=tmp_path / "w").open()
    port.expect(b"ready\r\n")
    assert port.command("AT") == b"\r\nOK\r\n"
    assert port.command("AT+QECHO=1") == b"\r\nOK\r\n"
    assert port.command("AT") == b"AT\r\r\nOK\r\n"
    port.close()
    port = sim("fcm360w", data_dir=tmp_path / "w").open()
    port.expect(b"ready\r\n")
    assert port.command("AT") == b"AT\r\r\nOK\r\n"


@pytest.mark.parametrize(("digits", "check"),
                         [("49015420323751", "8"), ("8986112222300041176", "9")])
def test_luhn(digits: str, check: str) -> None:
    assert luhn_digit(digits) == check and luhn_valid(digits + check)
    assert not luhn_valid(digits + str((int(check) + 1) % 10))
