"""The MQTT flows of the BC660K document (3.1.5 AWS IoT, 3.1.6 Alibaba Cloud; the power-off and
the PSM design) replayed whole with the replay tool against a mosquitto of the test's own.

The rows (verbatim copies in tests/transcripts/bc660k.mqtt.transcripts.yaml, plus the power rows
R4-1 and 5-1) join into flows as bc660k.mqtt.setup.yaml says; bc660k.mqtt.skip.yaml corrects
the document's misspellings. The test adds what the document elides or leaves to the cloud:

- AWS IoT: the host is routed to the broker's mutual-TLS listener; the certificate uploads
  send test certificates padded to the document's byte counts; the "cloud publishes" steps
  publish the console's message from an independent client, which first checks what the
  module published.
- Alibaba Cloud: the broker takes only the credentials the aliauth triple signs (computed
  here); a front subscribes the device to its reply topics as the cloud does; the "cloud
  replies" steps answer the property post on post_reply, "cloud pushes" sends the downlink.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from cellular import variant
from cloud import AutoSubscribe
from replaying import copies, overrides, replay, setup
from servers import Broker, Pki, padded

from simulator.replay import CTRL_Z, Override, ReplayOptions, override_for

# MQTT and TLS run on real sockets; 5x keeps the module's 10 s CONNACK wait at 2 s
SCALE = 5.0

AWS_HOST, AWS_ADDRESS = "a9ohm2zbim3d5-ats.iot.us-east-1.amazonaws.com", "54.204.191.103"
REPORT = ("aws/meter001/data/report/message", b'{"temp",22.5,"humi",68}')
CONSOLE = ("toaws/smartKit001/update/message", '{"message": "Hello from AWS IoT console"}')
# the uploads' sizes the module reports (AmazonRootCA1.pem and the thing's certificate and key)
DOC_SIZES = {"cacert": 1187, "clientcert": 1224, "clientkey": 1675}

ALI_HOST = "iot-06z00hxss3rggno.mqtt.iothub.aliyuncs.com"
PRODUCT, DEVICE, SECRET = "i2uq00ze3N3", "device001", "3af2ccf1273f1b8866effc4d64b85d07"
POST = f"/sys/{PRODUCT}/{DEVICE}/thing/event/property/post"
PUSH = (f"/{PRODUCT}/{DEVICE}/user/reply", "LED status:off")
# what the bc660k profile signs with (profiles/quectel-nbiot.yaml mqtt.aliauth): HMAC-SHA256
# and a fixed timestamp, over plain TCP (securemode 3)
SIGN_METHOD, TIMESTAMP = "hmacsha256", "2524608000000"


def rows() -> dict[str, dict]:
    return {row["id"]: row for name in ("bc660k.mqtt", "bc660k.power") for row in copies(name)}


def flow(name: str) -> tuple[list[dict], list[str]]:
    """The flow's raw steps, and the ids of the rows in it."""
    plan, copied = setup("bc660k.mqtt"), rows()
    steps: list[dict] = []
    ids: list[str] = []
    for part in plan["flows"][name]:
        if part in plan["blocks"]:
            steps += plan["blocks"][part]
        else:
            steps += copied[part]["steps"]
            ids.append(part)
    return steps, ids


def override(ids: list[str]) -> Override:
    """The skip-list entries of every row in a flow, merged."""
    skips = overrides("bc660k.mqtt")
    tolerate: dict[str, tuple[str, ...]] = {}
    send: dict[str, str] = {}
    for row in dict.fromkeys(ids):
        found = override_for(row, skips)
        assert found.skip is None, row
        for line, accepted in found.tolerate.items():
            tolerate[line] = tuple(dict.fromkeys(tolerate.get(line, ()) + accepted))
        send.update(found.send)
    return Override(None, tolerate, send)


def pem_files(pki: Pki) -> dict[str, Path]:
    """The test's files for the document's AmazonRootCA1.pem, certificate and private key."""
    return {"cacert": pki.ca_pem, "clientcert": pki.client_pem, "clientkey": pki.client_key}


def uploads(steps: list[dict], pki: Pki) -> dict[str, str]:
    """Each PEM the document shows by its first and last lines -> the test's certificate of
    that kind, padded to the document's size, ended by Ctrl-Z."""
    files = pem_files(pki)
    sends: dict[str, str] = {}
    kind = None
    for step in steps:
        text = step.get("send")
        if text is None:
            continue
        if kind is not None:
            sends[text] = padded(files[kind].read_bytes(), DOC_SIZES[kind]).decode() + CTRL_Z
            kind = None
        kind = next((k for k in files if text == f'AT+QSSLCFG=0,0,"{k}"'), None)
    assert len(sends) == len(files), sends
    return sends


def test_padded_certificates_still_load(pki, tmp_path) -> None:
    """The uploads' padding (newlines after the PEM block) is nothing to TLS."""
    for kind, path in pem_files(pki).items():
        (tmp_path / kind).write_bytes(padded(path.read_bytes(), DOC_SIZES[kind]))
        assert (tmp_path / kind).stat().st_size == DOC_SIZES[kind]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(tmp_path / "cacert"))
    ctx.load_cert_chain(str(tmp_path / "clientcert"), str(tmp_path / "clientkey"))
    assert ctx.cert_store_stats()["x509_ca"] == 1


def with_cloud(steps: list[dict], cloud: dict[str, Callable[[], str | None]]) -> list[dict]:
    """The document's waits for the cloud become remote steps that the test's cloud plays."""
    return [{"remote": step["wait"]} if step.get("wait") in cloud else step for step in steps]


def replay_flow(sim, profile: str, routes: list[str], name: str, extra_sends: dict[str, str],
                cloud: dict[str, Callable[[], str | None]]) -> None:
    steps, ids = flow(name)
    found = override(ids)
    s = sim(profile, *[a for r in routes for a in ("--route", r)], time_scale=SCALE)
    options = ReplayOptions(profile="bc660k", timeout=15.0, time_scale=SCALE)
    failure = replay(s.path, with_cloud(steps, cloud), options, found,
                     remote=lambda text: cloud[text](), send=extra_sends)
    assert failure is None, failure


def module_profile(tmp_path: Path) -> str:
    """bc660k whose network keeps the connection until RAI ends it (the document's flows show
    no release between rows), whose DNS knows the AWS host's address (the ping), and whose
    UART idle window (4 s here) outlasts any pause of a loaded host between two commands."""
    return variant(tmp_path, "bc660k", "bc660k-mqtt", network={"inactivity": "1h"},
                   internet={"hosts": {AWS_HOST: [AWS_ADDRESS]}}, sleep={"idle_window": "20s"})


class AwsConsole:
    """The AWS IoT console: sees the device's reports, publishes to what the device reads."""

    def __init__(self, broker: Broker):
        self.client = broker.client(client_id="aws-console")
        self.client.subscribe(REPORT[0])

    def publish(self) -> str | None:
        got = self.client.next()
        if (got.topic, got.payload) != REPORT:
            return f"the cloud got {got.topic} {got.payload!r}"
        self.client.publish(*CONSOLE, qos=0)
        return None


@pytest.mark.parametrize("design", ["poweroff", "psm"])
def test_aws_iot_flow(sim, own_broker, pki, tmp_path, design: str) -> None:
    broker = own_broker()
    console = AwsConsole(broker)
    routes = [f"{AWS_HOST}:8883=127.0.0.1:{broker.mtls}", f"{AWS_ADDRESS}=127.0.0.1",
              "8.8.8.8=127.0.0.1"]
    steps, _ = flow(f"aws-{design}")
    try:
        replay_flow(sim, module_profile(tmp_path), routes, f"aws-{design}", uploads(steps, pki),
               {"cloud publishes to the subscribed topic": console.publish})
    finally:
        console.client.close()
    log = broker.log()
    assert "as smartKit001" in log  # the mutual-TLS listener took the device's certificate
    if design == "psm":
        assert log.count("as meter001") == 2  # T6-1-1 and Q6-1-2, each after deep sleep


def ali_credentials(client_id: str) -> tuple[str, str, str]:
    """Alibaba's device-SDK signature: the HMAC of the sorted parameters, keyed by the secret."""
    params = {"clientId": client_id, "deviceName": DEVICE, "productKey": PRODUCT,
              "timestamp": TIMESTAMP}
    content = "".join(f"{k}{params[k]}" for k in sorted(params))
    password = hmac.new(SECRET.encode(), content.encode(), hashlib.sha256).hexdigest()
    return (f"{client_id}|securemode=3,signmethod={SIGN_METHOD},timestamp={TIMESTAMP}|",
            f"{DEVICE}&{PRODUCT}", password)


class AliCloud:
    """Alibaba Cloud IoT: answers property posts on post_reply, pushes the downlink."""

    def __init__(self, broker: Broker):
        self.client = broker.client(client_id="ali-cloud")
        self.client.subscribe(POST)

    def reply(self) -> str | None:
        got = self.client.next()
        try:
            request = json.loads(got.payload)
        except ValueError:
            return f"the cloud got no JSON: {got.payload!r}"
        if request.get("method") != "thing.event.property.post":
            return f"the cloud got {request!r}"
        answer = {"code": 200, "data": {}, "id": request["id"], "message": "success",
                  "method": request["method"], "version": request["version"]}
        self.client.publish(f"{POST}_reply", json.dumps(answer, separators=(",", ":")), qos=0)
        return None

    def push(self) -> str | None:
        self.client.publish(*PUSH, qos=0)
        return None


@pytest.mark.parametrize("design", ["poweroff", "psm"])
def test_alibaba_cloud_flow(sim, own_broker, tmp_path, design: str) -> None:
    client_id, username, password = ali_credentials(DEVICE)
    broker = own_broker(users={username: password})
    front = AutoSubscribe(broker.auth, [f"{POST}_reply", PUSH[0]])
    cloud = AliCloud(broker)
    routes = [f"{ALI_HOST}:1883=127.0.0.1:{front.port}", "8.8.8.8=127.0.0.1"]
    try:
        replay_flow(sim, module_profile(tmp_path), routes, f"ali-{design}", {},
               {"cloud replies": cloud.reply, "cloud pushes a downlink message": cloud.push})
    finally:
        cloud.client.close()
        front.close()
    log = broker.log()
    assert front.subscribed.is_set()
    connected = f"as {client_id} (p2, c1, k1200, u'{username}')"
    assert log.count(connected) == (3 if design == "psm" else 1), log


def test_the_flows_use_every_copied_row() -> None:
    plan = setup("bc660k.mqtt")
    used = {part for parts in plan["flows"].values() for part in parts}
    copied = {row["id"] for row in copies("bc660k.mqtt")}
    assert copied <= used
    assert used - set(plan["blocks"]) <= set(rows())
    for pattern in overrides("bc660k.mqtt"):
        assert fnmatch.filter(used, pattern), pattern
