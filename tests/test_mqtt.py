"""MQTT against a real mosquitto: the module's AT+QMT* answers, and what an independent client
sees of the module's messages."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal

import pytest
from appkit import Lines, attached, upload

from simulator.control import VerbError
from simulator.control.client import request


def connect(lines: Lines, port: int, client_id: str, client: int = 0, extra: str = "") -> None:
    assert lines.command(f'AT+QMTOPEN={client},"127.0.0.1",{port}') == ["OK"]
    assert lines.wait(rf"\+QMTOPEN: {client},") == f"+QMTOPEN: {client},0"
    assert lines.command(f'AT+QMTCONN={client},"{client_id}"{extra}') == ["OK"]
    assert lines.wait(rf"\+QMTCONN: {client},") == f"+QMTCONN: {client},0,0"


def module(modem, profile: str = "fcm360w", *extra: str) -> Lines:
    lines = Lines(modem(profile, *extra, time_scale=1.0))
    if profile != "fcm360w":
        attached(lines)  # MQTT needs the default bearer
    return lines


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_and_subscribe_round_trip(modem, broker, qos: int) -> None:
    lines = module(modem)
    observer = broker.client(client_id=f"obs-rt{qos}")
    observer.subscribe("rt/up", 2)
    connect(lines, broker.plain, f"rt{qos}")
    assert lines.command(f'AT+QMTSUB=0,1,"rt/down",{qos}') == ["OK"]
    assert lines.wait(r"\+QMTSUB:") == f"+QMTSUB: 0,1,0,{qos}"
    mid = 0 if qos == 0 else 7
    assert lines.command(f'AT+QMTPUB=0,{mid},{qos},0,"rt/up",11') == ["> "]
    assert lines.command("hello, \"up\"")[-1] == "OK"
    assert lines.wait(r"\+QMTPUB:") == f"+QMTPUB: 0,{mid},0"
    got = observer.next()
    assert (got.topic, got.payload, got.qos) == ("rt/up", b'hello, "up"', qos)
    observer.publish("rt/down", b"a,b \"c\"", qos=qos)
    line = lines.wait(r"\+QMTRECV:")
    received_mid = int(line.split(",")[1])
    assert (received_mid == 0) == (qos == 0)
    assert line == f'+QMTRECV: 0,{received_mid},"rt/down",7,"a,b "c""'
    assert lines.command("AT+QMTDISC=0") == ["OK"]
    assert lines.wait(r"\+QMTDISC:") == "+QMTDISC: 0,0"
    observer.close()


def test_publish_ended_by_ctrl_z_and_cancelled_by_esc(modem, broker) -> None:
    lines = module(modem)
    observer = broker.client(client_id="obs-ctrlz")
    observer.subscribe("cz/#")
    connect(lines, broker.plain, "ctrlz")
    assert lines.command('AT+QMTPUB=0,0,0,0,"cz/esc"') == ["> "]
    assert lines.command("never sent\x1b")[-1] == "OK"
    assert lines.command('AT+QMTPUB=0,1,1,1,"cz/a"') == ["> "]
    assert lines.command("line one\r\nline two\x1a")[-1] == "OK"
    assert lines.wait(r"\+QMTPUB:") == "+QMTPUB: 0,1,0"
    got = observer.next()
    assert (got.topic, got.payload, got.retain) == ("cz/a", b"line one\r\nline two", False)
    observer.close()


def test_retained_message_reaches_a_later_subscriber(modem, broker) -> None:
    lines = module(modem)
    connect(lines, broker.plain, "retainer")
    assert lines.command('AT+QMTPUB=0,3,1,1,"keep/me",4') == ["> "]
    assert lines.command("kept")[-1] == "OK"
    assert lines.wait(r"\+QMTPUB:") == "+QMTPUB: 0,3,0"
    late = broker.client(client_id="late")
    late.subscribe("keep/me")
    got = late.next()
    assert (got.payload, got.retain) == (b"kept", True)
    late.close()


def test_will_is_published_when_the_module_vanishes(sim, broker) -> None:
    s = sim("fcm360w", time_scale=1.0)
    port = s.open()
    port.expect(b"ready\r\n")
    lines = Lines(port)
    observer = broker.client(client_id="obs-will")
    observer.subscribe("wills/+", 1)
    assert lines.command('AT+QMTCFG="will",0,1,1,0,"wills/dev","gone, sadly"') == ["OK"]
    assert lines.command('AT+QMTCFG="will",0') == ['+QMTCFG: "will",1,1,0,"wills/dev",'
                                                  '"gone, sadly"', "OK"]
    connect(lines, broker.plain, "willer")
    os.kill(s.proc.pid, signal.SIGKILL)  # no DISCONNECT: the broker must publish the will
    got = observer.next()
    assert (got.topic, got.payload) == ("wills/dev", b"gone, sadly")
    observer.close()


def test_broker_restart_gives_qmtstat(modem, own_broker) -> None:
    b = own_broker()
    lines = module(modem)
    connect(lines, b.plain, "restart")
    b.stop()
    assert lines.wait(r"\+QMTSTAT:") == "+QMTSTAT: 0,1"
    assert lines.command("AT+QMTCONN?") == ["OK"]  # nothing open any more
    b.start()
    connect(lines, b.plain, "restart")  # the same client index works again at once


def test_lost_keepalive_gives_qmtstat_2(modem, own_broker) -> None:
    b = own_broker()
    lines = module(modem)
    assert lines.command('AT+QMTCFG="keepalive",0,1') == ["OK"]
    connect(lines, b.plain, "sleepy")
    b.freeze()
    assert lines.wait(r"\+QMTSTAT:", timeout=20) == "+QMTSTAT: 0,2"


def test_messages_in_flight_are_limited(modem, own_broker) -> None:
    b = own_broker()
    lines = module(modem)
    connect(lines, b.plain, "window")
    b.freeze()  # no PUBACK comes back: the window fills
    for mid in range(1, 6):
        assert lines.command(f'AT+QMTPUB=0,{mid},1,0,"w/x",1') == ["> "]
        assert lines.command("x")[-1] == "OK"
    assert lines.command('AT+QMTPUB=0,6,1,0,"w/x",1') == ["ERROR"]
    b.thaw()
    assert sorted(lines.wait(r"\+QMTPUB:") for _ in range(5)) == [
        f"+QMTPUB: 0,{mid},0" for mid in range(1, 6)]


def test_buffered_receive_slots(modem, broker) -> None:
    lines = module(modem)
    assert lines.command('AT+QMTCFG="recv/mode",0,1') == ["OK"]
    connect(lines, broker.plain, "slots")
    assert lines.command('AT+QMTSUB=0,1,"slot/#",1') == ["OK"]
    lines.wait(r"\+QMTSUB:")
    observer = broker.client(client_id="obs-slots")
    observer.publish("slot/a", b"first")
    assert lines.wait(r"\+QMTRECV:") == "+QMTRECV: 0,0"
    observer.publish("slot/b", b"second")
    assert lines.wait(r"\+QMTRECV:") == "+QMTRECV: 0,1"
    assert lines.command("AT+QMTRECV?") == ["+QMTRECV: 0,1,1,0,0,0", "OK"]
    answer = lines.command("AT+QMTRECV=0,1")
    assert answer[0].startswith("+QMTRECV: 0,") and answer[0].endswith(',"slot/b",6,"second"')
    assert lines.command("AT+QMTRECV?") == ["+QMTRECV: 0,1,0,0,0,0", "OK"]
    observer.close()


def test_persistent_session_keeps_subscriptions(modem, broker) -> None:
    lines = module(modem)
    assert lines.command('AT+QMTCFG="session",0,0') == ["OK"]
    connect(lines, broker.plain, "durable")
    assert lines.command('AT+QMTSUB=0,2,"durable/in",1') == ["OK"]
    assert lines.wait(r"\+QMTSUB:") == "+QMTSUB: 0,2,0,1"
    assert lines.command("AT+QMTDISC=0") == ["OK"]
    lines.wait(r"\+QMTDISC:")
    observer = broker.client(client_id="obs-durable")
    observer.publish("durable/in", b"while away", qos=1)
    connect(lines, broker.plain, "durable")  # no new AT+QMTSUB
    assert lines.wait(r"\+QMTRECV:").endswith('"durable/in",10,"while away"')
    observer.close()


def test_open_failures_have_their_result_codes(modem, broker) -> None:
    lines = module(modem)
    assert lines.command('AT+QMTOPEN=0,"no-such-host.invalid",1883') == ["OK"]
    assert lines.wait(r"\+QMTOPEN:") == "+QMTOPEN: 0,4"
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert lines.command(f'AT+QMTOPEN=1,"127.0.0.1",{closed}') == ["OK"]
    assert lines.wait(r"\+QMTOPEN:") == "+QMTOPEN: 1,3"
    assert lines.command('AT+QMTCONN=1,"x"') == ["ERROR"]  # nothing open
    assert lines.command('AT+QMTOPEN=9,"127.0.0.1",1883') == ["ERROR"]
    assert lines.command('AT+QMTCFG="keepalive",0') == ['+QMTCFG: "keepalive",120', "OK"]
    assert lines.command('AT+QMTCFG="version",0,5') == ["ERROR"]
    connect(lines, broker.plain, "twice")
    assert lines.command(f'AT+QMTOPEN=0,"127.0.0.1",{broker.plain}') == ["OK"]
    assert lines.wait(r"\+QMTOPEN:") == "+QMTOPEN: 0,2"  # identifier occupied
    assert lines.command("AT+QMTOPEN?") == [f'+QMTOPEN: 0,"127.0.0.1",{broker.plain}', "OK"]
    assert lines.command("AT+QMTCONN?") == ["+QMTCONN: 0,3", "OK"]


def _tls_module(modem, pki, certificate: bytes | None, key: bytes | None) -> Lines:
    lines = module(modem)
    upload(lines, "ca.pem", pki.ca_pem.read_bytes())
    settings = ['"seclevel",2,2', '"cacert",2,"ca.pem"']
    if certificate is not None and key is not None:
        upload(lines, "user.pem", certificate)
        upload(lines, "user_key.pem", key)
        settings += ['"clientcert",2,"user.pem"', '"clientkey",2,"user_key.pem"']
    for setting in settings:
        assert lines.command(f"AT+QSSLCFG={setting}") == ["OK"]
    assert lines.command('AT+QMTCFG="ssl",0,1,2') == ["OK"]
    return lines


def test_mutual_tls_succeeds_with_the_trusted_client_certificate(modem, broker, pki) -> None:
    lines = _tls_module(modem, pki, pki.client_pem.read_bytes(), pki.client_key.read_bytes())
    assert lines.command('AT+QSSLCFG="seclevel",2') == ['+QSSLCFG: "seclevel",2,2', "OK"]
    observer = broker.client(client_id="obs-mtls")
    observer.subscribe("secure/+")
    connect(lines, broker.mtls, "mtls")
    assert lines.command('AT+QMTPUB=0,1,1,0,"secure/x",6') == ["> "]
    assert lines.command("sealed")[-1] == "OK"
    assert observer.next().payload == b"sealed"
    observer.close()


@pytest.mark.parametrize("client", ["none", "stranger"])
def test_mutual_tls_fails_without_a_trusted_client_certificate(modem, broker, pki,
                                                               client: str) -> None:
    cert, key = (None, None) if client == "none" else (pki.stranger_pem.read_bytes(),
                                                       pki.stranger_key.read_bytes())
    lines = _tls_module(modem, pki, cert, key)
    assert lines.command(f'AT+QMTOPEN=0,"127.0.0.1",{broker.mtls}') == ["OK"]
    assert lines.wait(r"\+QMTOPEN:") == "+QMTOPEN: 0,-1"


def test_server_not_trusted_fails_the_handshake(modem, broker, pki) -> None:
    lines = module(modem)
    upload(lines, "other.pem", pki.other_ca.cert_pem.bytes())
    for setting in ['"seclevel",0,1', '"cacert",0,"other.pem"']:
        assert lines.command(f"AT+QSSLCFG={setting}") == ["OK"]
    assert lines.command('AT+QMTCFG="ssl",0,1,0') == ["OK"]
    assert lines.command(f'AT+QMTOPEN=0,"127.0.0.1",{broker.tls}') == ["OK"]
    assert lines.wait(r"\+QMTOPEN:") == "+QMTOPEN: 0,-1"
    assert lines.command('AT+QSSLCFG="cacert",0,"missing.pem"') == ["OK"]
    assert lines.command(f'AT+QMTOPEN=0,"127.0.0.1",{broker.tls}') == ["OK"]
    assert lines.wait(r"\+QMTOPEN:") == "+QMTOPEN: 0,-1"


def _alibaba_password(pk: str, dn: str, secret: str, client_id: str, ts: str) -> str:
    # Alibaba's signing rule, written from its documentation, independent of the module
    content = f"clientId{client_id}deviceName{dn}productKey{pk}timestamp{ts}"
    return hmac.new(secret.encode(), content.encode(), hashlib.sha256).hexdigest()


def test_aliauth_credentials_pass_the_brokers_check(modem, own_broker) -> None:
    pk, dn, secret = "i2uq00ze3N3", "device001", "3af2ccf1273f1b8866effc4d64b85d07"
    password = _alibaba_password(pk, dn, secret, dn, "2524608000000")
    b = own_broker(users={f"{dn}&{pk}": password})
    lines = module(modem, "bc660k")
    assert lines.command(f'AT+QMTCFG="aliauth",0,"{pk}","{dn}","{secret}"') == ["OK"]
    connect(lines, b.auth, dn)
    log = b.log()
    assert f"as {dn}|securemode=3,signmethod=hmacsha256,timestamp=2524608000000|" in log
    assert f"u'{dn}&{pk}'" in log
    assert lines.command("AT+QMTDISC=0") == ["OK"]
    lines.wait(r"\+QMTDISC:")
    assert lines.command(f'AT+QMTCFG="aliauth",0,"{pk}","{dn}","wrongsecret"') == ["OK"]
    assert lines.command(f'AT+QMTOPEN=0,"127.0.0.1",{b.auth}') == ["OK"]
    assert lines.wait(r"\+QMTOPEN:") == "+QMTOPEN: 0,0"
    assert lines.command(f'AT+QMTCONN=0,"{dn}"') == ["OK"]
    assert lines.wait(r"\+QMTCONN:") == "+QMTCONN: 0,0,5"  # mosquitto: not authorized
    assert lines.wait(r"\+QMTSTAT:") == "+QMTSTAT: 0,1"  # and it closes the connection


def test_bc660k_inline_payload_with_quotes(modem, broker) -> None:
    lines = module(modem, "bc660k")
    observer = broker.client(client_id="obs-inline")
    observer.subscribe("aws/#")
    connect(lines, broker.plain, "smartKit001")
    assert lines.command('AT+QMTPUB=0,1,1,0,"aws/m/data",23,"{"temp",22.5,"humi",68}"') == [
        "OK"]
    assert lines.wait(r"\+QMTPUB:") == "+QMTPUB: 0,1,0"
    assert observer.next().payload == b'{"temp",22.5,"humi",68}'
    # the document's copy that lost its opening quote: the length says what was meant
    assert lines.command('AT+QMTPUB=0,2,1,0,"aws/m/data",23,{"temp",22.5,"humi",68}"') == [
        "OK"]
    assert observer.next().payload == b'{"temp",22.5,"humi",68}'
    assert lines.wait(r"\+QMTPUB:") == "+QMTPUB: 0,2,0"
    assert lines.command('AT+QMTPUB=0,3,1,0,"aws/m/data",5,"too long"') == ["ERROR"]
    observer.close()


def test_mqtt_5_where_the_profile_says_so(modem, broker, tmp_path) -> None:
    profile = tmp_path / "fcm360w-mqtt5.yaml"
    profile.write_text("extends: fcm360w\nmqtt:\n  versions: {3: '3.1', 4: '3.1.1', 5: '5'}\n"
                       "  keys:\n    version: {values: [4], ranges: [[3, 5]]}\n")
    lines = Lines(modem_with(modem, str(profile)))
    assert lines.command('AT+QMTCFG="version",0,5') == ["OK"]
    observer = broker.client(client_id="obs-v5")
    observer.subscribe("v5/#")
    connect(lines, broker.plain, "five")
    assert lines.command('AT+QMTPUB=0,1,2,0,"v5/x",2') == ["> "]
    assert lines.command("v5")[-1] == "OK"
    assert observer.next().payload == b"v5"
    log = broker.log()
    assert "as five (p5" in log
    observer.close()


def modem_with(modem, profile: str):
    """A module from a profile file (its boot banner is the fcm360w one)."""
    from conftest import BOOT_TAIL

    BOOT_TAIL.setdefault(profile, BOOT_TAIL["fcm360w"])
    return modem(profile, time_scale=1.0)


def test_control_verb_mqtt_drop_breaks_the_broker_link(modem, broker, tmp_path) -> None:
    control = tmp_path / "m.ctl"
    lines = module(modem, "fcm360w", "--control", str(control))
    connect(lines, broker.plain, "dropme")
    assert "mqtt" in request(control, "mqtt drop", {"client": 0})
    assert lines.wait(r"\+QMTSTAT:") == "+QMTSTAT: 0,1"
    with pytest.raises(VerbError, match="no open broker link"):
        request(control, "mqtt drop", {"client": 0})
