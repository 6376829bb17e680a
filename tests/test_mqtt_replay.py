"""The FCM360W manual's MQTT example (4.5.1) replayed with the replay tool, the document's
broker (112.31.84.164:8306) routed to a mosquitto of the test's own."""

from __future__ import annotations

from pathlib import Path

import serial
import yaml

from simulator.replay import (
    Replayer,
    ReplayOptions,
    SerialTransport,
    classify_steps,
    load_overrides,
    override_for,
)

HERE = Path(__file__).parent / "transcripts"
SCALE = 10.0
# "another client publishes ... to topic/example": a retained message the broker hands to
# the module when it subscribes
EXAMPLE = ("topic/example", "This is the payload related to topic")


def test_fcm360w_mqtt_without_ssl(sim, own_broker) -> None:
    broker = own_broker()
    publisher = broker.client(client_id="doc-publisher")
    publisher.publish(*EXAMPLE, qos=0, retain=True)
    publisher.close()
    (scenario,) = yaml.safe_load((HERE / "fcm360w.mqtt.transcripts.yaml").read_text())
    override = override_for(scenario["id"],
                            load_overrides([HERE / "fcm360w.mqtt.skip.yaml"]))
    s = sim("fcm360w", "--route", f"112.31.84.164:8306=127.0.0.1:{broker.plain}",
            time_scale=SCALE)
    options = ReplayOptions(profile="fcm360w", timeout=15.0, time_scale=SCALE / 2)
    with serial.Serial(s.path, timeout=0) as port:
        failure = Replayer(SerialTransport(port), options, override.tolerate).run(
            classify_steps(scenario["steps"]))
    assert failure is None, failure
