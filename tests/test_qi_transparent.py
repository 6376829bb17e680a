"""Transparent mode on ec200t: CONNECT, raw bytes both ways, the +++ guard times, ATO and
AT+QISWTMD back in, NO CARRIER when the peer goes, and packetised uplink."""

from __future__ import annotations

import time

import pytest
import serial
from atport import AtPort
from modem import Port
from peers import TcpPeer, free_port
from qi import ctl, open_module, read_once

SCALE = 20.0  # module seconds per real second
GUARD = 1.0 / SCALE  # the profile's 1 s guard time, in real seconds
OPEN = 'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,2'


@pytest.fixture
def peer():
    server = TcpPeer()
    yield server
    server.close()


@pytest.fixture
def online(sim, peer):
    port = open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"],
                       scale=SCALE)
    assert port.at(OPEN) == b"\r\nCONNECT\r\n"
    return port, peer.connection()


def quiet(seconds: float = 3 * GUARD) -> None:
    """Keep the line silent: the guard time (a real pause is what is under test)."""
    time.sleep(seconds)


def escape(port) -> bytes:
    quiet()
    port.write(b"+++")
    return port.take(b"OK\r\n")


def test_bytes_go_both_ways_unframed(online):
    port, conn = online
    port.write(b"hello\r\nAT\x1a\x1b")
    assert conn.wait_received(11) == b"hello\r\nAT\x1a\x1b"
    conn.send(b"\r\nOK\r\nraw")
    assert port.take(b"raw") == b"\r\nOK\r\nraw"


def test_escape_with_guard_times_then_buffer_mode(online):
    port, conn = online
    port.write(b"data")
    conn.wait_received(4)
    assert escape(port) == b"\r\nOK\r\n"
    assert conn.received == b"data"  # the escape itself never reached the peer
    assert port.at("AT+QISTATE=1,0").split(b",")[-2] == b"0"  # now buffer mode
    conn.send(b"later")
    assert port.urc('+QIURC: "recv",0') == b'\r\n+QIURC: "recv",0\r\n'
    assert read_once(port, 0) == b"later"
    assert port.at("ATO") == b"\r\nCONNECT\r\n"
    port.write(b"again")
    assert conn.wait_received(9) == b"dataagain"
    assert escape(port) == b"\r\nOK\r\n"
    assert port.at("AT+QISWTMD=0,2") == b"\r\nCONNECT\r\n"
    conn.send(b"down")
    assert port.take(b"down") == b"down"


def test_plus_in_a_stream_is_data(online):
    port, conn = online
    port.write(b"a+++b")  # no silence around it
    assert conn.wait_received(5) == b"a+++b"
    quiet()
    port.write(b"+++c")  # silence before, but data right after
    assert conn.wait_received(9) == b"a+++b+++c"
    quiet()
    port.write(b"e+++")  # right after data: no silence before
    quiet()
    port.write(b"d")
    assert conn.wait_received(14) == b"a+++b+++ce+++d"
    quiet()
    port.write(b"+")
    quiet(GUARD / 4)
    port.write(b"+")
    port.write(b"x")  # the third '+' never comes: both are data
    assert conn.wait_received(17) == b"a+++b+++ce+++d++x"
    quiet()
    port.write(b"++")
    quiet(2 * GUARD)  # the window closes before the third: data
    port.write(b"+")
    assert conn.wait_received(20, timeout=5) == b"a+++b+++ce+++d++x+++"
    assert port.silence(3 * GUARD) == b""  # and no OK: the third '+' was data too


def test_slow_plus_within_the_window_escapes(sim, peer):
    scale = 5.0  # a 200 ms window: room for a loaded machine between the three writes
    port = open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"],
                       scale=scale)
    assert port.at(OPEN) == b"\r\nCONNECT\r\n"
    quiet(1.5 / scale)
    for _ in range(3):
        port.write(b"+")
        quiet(0.02)  # three '+' spread over the window, nothing else
    assert port.take(b"OK\r\n") == b"\r\nOK\r\n"
    assert peer.connection().received == b""


def test_peer_close_gives_no_carrier_after_the_last_byte(online):
    port, conn = online
    conn.send(b"last words")
    conn.close()
    assert port.take(b"NO CARRIER\r\n") == b"last words\r\nNO CARRIER\r\n"
    assert b",4,1,0,0," in port.at("AT+QISTATE=1,0")  # closing, until AT+QICLOSE
    assert port.at("ATO") == b"\r\nNO CARRIER\r\n"
    assert port.at("AT+QICLOSE=0") == b"\r\nOK\r\n"


def test_ato_without_a_transparent_session(sim):
    port = open_module(sim, "ec200t")
    assert port.at("ATO") == b"\r\nNO CARRIER\r\n"


def test_uplink_packets_follow_transpktsize_and_transwaittm(sim, peer):
    port = open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"],
                       scale=5.0)
    assert port.at('AT+QICFG="transpktsize",8;+QICFG="transwaittm",10') == b"\r\nOK\r\n"
    assert port.at(OPEN) == b"\r\nCONNECT\r\n"
    conn = peer.connection()
    port.write(b"0123456789abc")  # one full packet goes at once, the rest waits 1 s
    assert conn.wait_received(8) == b"01234567"
    started = time.monotonic()
    assert conn.wait_received(13) == b"0123456789abc"
    waited = time.monotonic() - started
    assert 0.1 < waited < 5  # transwaittm 10 x 100 ms of module time is 0.2 s real here


def test_qiclose_from_another_port_hangs_the_online_one_up(sim, peer):
    tcp = free_port()

    def with_tcp(profile: str, *args: str, **kwargs: object):
        return sim(profile, *args, "--tcp", f"127.0.0.1:{tcp}", **kwargs)

    port = open_module(with_tcp, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"],
                       scale=SCALE)
    assert port.at(OPEN) == b"\r\nCONNECT\r\n"
    other = AtPort(Port(serial.serial_for_url(f"socket://127.0.0.1:{tcp}", timeout=0.05)))
    assert other.at("ATE0").endswith(b"OK\r\n")
    assert other.at("AT+QICLOSE=0") == b"\r\nOK\r\n"
    assert port.take(b"NO CARRIER\r\n") == b"\r\nNO CARRIER\r\n"
    other.close()


def test_a_reset_ends_online_mode_without_a_word(online):
    port, conn = online
    pty = port.port.port
    ctl(pty, "reboot")
    assert port.take(b"+QIND: PB DONE\r\n").startswith(b"\r\nRDY\r\n")  # no NO CARRIER
    assert conn.closed.wait(5)  # the connection went with the firmware
    assert port.at("AT").endswith(b"\r\nOK\r\n")  # command mode again (echo on after reset)
    port.at("ATE0")
    assert port.at("AT+QISTATE") == b"\r\nOK\r\n"
