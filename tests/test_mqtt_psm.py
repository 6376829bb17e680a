"""MQTT through the bc660k's power model, over the PTY with a real mosquitto: a publish,
subscribe, unsubscribe or disconnect in PSM brings the radio up first (OK, EXIT PSM,
+CSCON: 1, then the result), and deep sleep drops the MQTT link without a word to the host."""

from __future__ import annotations

from cellular import boot
from power import TAIL, Console, bring_up, ctl, profile

ENTER_PSM, EXIT_PSM = '+QNBIOTEVENT: "ENTER PSM"', '+QNBIOTEVENT: "EXIT PSM"'
ENTER_SLEEP, EXIT_SLEEP = '+QNBIOTEVENT: "ENTER DEEPSLEEP"', '+QNBIOTEVENT: "EXIT DEEPSLEEP"'
SCALE = 2.0  # the module's 10 s MQTT timeout is 5 s here


def start(sim, tmp_path, **sections) -> tuple[Console, object]:
    """A bc660k whose network keeps the connection until the test lets it go (`psm enter`)."""
    control = tmp_path / "mqtt-psm.ctl"
    port = boot(sim, profile(tmp_path, "bc660k-mqtt-psm", network={"inactivity": "1h"},
                             **sections),
                TAIL, "--control", str(control), time_scale=SCALE)
    con = Console(port)
    bring_up(con)
    return con, control


def connect(con: Console, port: int, client_id: str) -> None:
    con.ok(f'AT+QMTOPEN=0,"127.0.0.1",{port}')
    con.wait("+QMTOPEN: 0,0")
    con.ok(f'AT+QMTCONN=0,"{client_id}"')
    con.wait("+QMTCONN: 0,0,0")


def into_psm(con: Console, control) -> None:
    ctl(control, "psm enter")
    con.in_order("+CSCON:0", ENTER_PSM)


def from_psm(con: Console, command: str, result: str) -> None:
    """`command` in PSM: exactly OK, EXIT PSM, +CSCON: 1, then `result`, nothing between."""
    before = len(con.lines)
    con.command(command)
    con.wait(result)
    assert con.lines[before:] == ["OK", EXIT_PSM, "+CSCON:1", result]


def test_publish_subscribe_unsubscribe_disconnect_from_psm(sim, tmp_path, own_broker) -> None:
    broker = own_broker()
    observer = broker.client(client_id="psm-observer")
    observer.subscribe("psm/up")
    con, control = start(sim, tmp_path)
    connect(con, broker.plain, "psm-device")
    into_psm(con, control)
    from_psm(con, 'AT+QMTPUB=0,1,1,0,"psm/up",5,"hello"', "+QMTPUB: 0,1,0")
    message = observer.next()
    assert (message.topic, message.payload) == ("psm/up", b"hello")
    into_psm(con, control)
    from_psm(con, 'AT+QMTSUB=0,2,"psm/down",1', "+QMTSUB: 0,2,0,1")
    observer.publish("psm/down", "ping", qos=0)
    con.wait('+QMTRECV: 0,0,"psm/down","ping"')
    into_psm(con, control)
    from_psm(con, 'AT+QMTUNS=0,3,"psm/down"', "+QMTUNS: 0,3,0")
    # connected, a publish only restarts the connection's timer: no PSM events
    before = len(con.lines)
    con.command('AT+QMTPUB=0,4,1,0,"psm/up",3,"bye"')
    con.wait("+QMTPUB: 0,4,0")
    assert con.lines[before:] == ["OK", "+QMTPUB: 0,4,0"]
    assert observer.next().payload == b"bye"
    into_psm(con, control)
    from_psm(con, "AT+QMTDISC=0", "+QMTDISC: 0,0")  # the DISCONNECT goes out over the radio
    observer.close()


def test_deep_sleep_drops_the_mqtt_link(sim, tmp_path, own_broker) -> None:
    broker = own_broker()
    observer = broker.client(client_id="sleep-observer")
    observer.subscribe("sleep/will")
    # an 8 s UART idle window (4 s here): deep sleep follows PSM soon
    con, control = start(sim, tmp_path, sleep={"idle_window": "8s"})
    con.ok('AT+QMTCFG="will",0,1,0,0,"sleep/will","gone"')
    connect(con, broker.plain, "sleeper")
    con.ok("AT+QSCLK=1")
    into_psm(con, control)
    con.wait(ENTER_SLEEP)
    # the broker lost the client without a DISCONNECT: it sends the will
    will = observer.next(timeout=15)
    assert (will.topic, will.payload) == ("sleep/will", b"gone")
    ctl(control, "wake")  # PSM_EINT
    con.wait(EXIT_SLEEP)
    assert not [line for line in con.lines if line.startswith("+QMTSTAT")]
    assert con.command("AT+QMTCONN?") == ["OK"]  # no client open
    assert con.command('AT+QMTPUB=0,1,1,0,"sleep/up",5,"hello"') == ["ERROR"]
    # the host opens again, as the document's T6-1-1 does
    from_psm(con, 'AT+QMTOPEN=0,"127.0.0.1",' + str(broker.plain), "+QMTOPEN: 0,0")
    con.ok('AT+QMTCONN=0,"sleeper"')
    con.wait("+QMTCONN: 0,0,0")
    observer.close()
