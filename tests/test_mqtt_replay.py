"""The FCM360W manual's MQTT example (4.5.1) replayed with the replay tool, the document's
broker (112.31.84.164:8306) routed to a mosquitto of the test's own."""

from __future__ import annotations

from replaying import copies, overrides, replay

from simulator.replay import ReplayOptions, override_for

SCALE = 10.0
# "another client publishes ... to topic/example": a retained message the broker hands to
# the module when it subscribes
EXAMPLE = ("topic/example", "This is the payload related to topic")


def test_fcm360w_mqtt_without_ssl(sim, own_broker) -> None:
    broker = own_broker()
    publisher = broker.client(client_id="doc-publisher")
    publisher.publish(*EXAMPLE, qos=0, retain=True)
    publisher.close()
    (scenario,) = copies("fcm360w.mqtt")
    override = override_for(scenario["id"], overrides("fcm360w.mqtt"))
    s = sim("fcm360w", "--route", f"112.31.84.164:8306=127.0.0.1:{broker.plain}",
            time_scale=SCALE)
    options = ReplayOptions(profile="fcm360w", timeout=15.0, time_scale=SCALE / 2)
    failure = replay(s.path, scenario["steps"], options, override)
    assert failure is None, failure
