"""PDP contexts of ec200t: AT+QICSGP kept across reboots, AT+QIACT / AT+QIDEACT with the
network's response times, and the network taking a context away (+QIURC: "pdpdeact")."""

from __future__ import annotations

import re
import time

import pytest
from atport import AtPort
from peers import TcpPeer, wait_for
from qi import BOOTED, ctl, open_module, opened, own_address

from simulator.control import VerbError

OPEN = 'AT+QIOPEN={cid},{sid},"TCP","220.180.239.212",8009,0,{mode}'


@pytest.fixture
def peer():
    server = TcpPeer()
    yield server
    server.close()


def booted(sim, *args: str, scale: float = 20.0, **kwargs) -> tuple[AtPort, str]:
    """A booted ec200t, echo off, not registered yet."""
    s = sim("ec200t", *args, time_scale=scale, **kwargs)
    port = AtPort(s.open())
    port.take(BOOTED["ec200t"])
    assert port.at("ATE0").endswith(b"OK\r\n")
    return port, s.path


def test_qicsgp_is_saved_across_reboots_and_restarts(sim, tmp_path):
    data = tmp_path / "nv"
    port, pty = booted(sim, data_dir=data)
    assert port.at("AT+QICSGP=1") == b'\r\n+QICSGP: 1,"","","",0\r\n\r\nOK\r\n'
    assert port.at('AT+QICSGP=1,1,"UNINET","user","pw",2') == b"\r\nOK\r\n"
    assert port.at('AT+QICSGP=2,2,"cmnet"') == b"\r\nOK\r\n"
    assert port.at("AT+CFUN=1,1") == b"\r\nOK\r\n"
    port.take(BOOTED["ec200t"])
    assert port.at("ATE0").endswith(b"OK\r\n")  # echo is back on after the reset
    assert port.at("AT+QICSGP=1") == b'\r\n+QICSGP: 1,"UNINET","user","pw",2\r\n\r\nOK\r\n'
    port.close()
    again, _ = booted(sim, data_dir=data)
    assert again.at("AT+QICSGP=2") == b'\r\n+QICSGP: 2,"cmnet","","",0\r\n\r\nOK\r\n'
    assert again.at("AT+QICSGP=?") == (
        b'\r\n+QICSGP: (1-15),(1-3),<APN>,<username>,<password>,(0-3),(0,1)\r\n\r\nOK\r\n')
    for bad in ("AT+QICSGP=0", "AT+QICSGP=16", 'AT+QICSGP=1,4,"x"', 'AT+QICSGP=1,1,"x","u","p",4',
                'AT+QICSGP=1,1', "AT+QICSGP=1,1,2"):
        assert again.at(bad) == b"\r\nERROR\r\n", bad


def test_activation_needs_the_network_and_takes_its_time(sim):
    scale = 2.0
    port, pty = booted(sim, scale=scale)
    ctl(pty, "network deregister")  # out of coverage
    assert port.at("AT+QIACT=1") == b"\r\nERROR\r\n"
    assert port.at("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 561, pdp context opening failed\r\n\r\nOK\r\n")
    ctl(pty, "network register")
    started = time.monotonic()
    assert port.at("AT+QIACT=1") == b"\r\nOK\r\n"
    assert time.monotonic() - started >= 0.8 / scale * 0.9  # the profile's activate time
    assert port.at("AT+QIACT=1") == b"\r\nERROR\r\n"  # already active
    assert port.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 572, operation not allowed\r\n\r\nOK\r\n"
    address = own_address(port)  # the packet domain's context, its address from the network
    assert port.at("AT+CGPADDR=1") == b'\r\n+CGPADDR: 1,"%s"\r\n\r\nOK\r\n' % address
    assert port.at("AT+QIACT=?") == b"\r\n+QIACT: (1-15)\r\n\r\nOK\r\n"


def test_at_most_three_contexts(sim):
    port, pty = booted(sim)
    ctl(pty, "network register")
    assert port.at("AT+QIACT?") == b"\r\nOK\r\n"  # none active: no rows
    for cid in (1, 2, 3):
        assert port.at(f"AT+QIACT={cid}") == b"\r\nOK\r\n"
    assert port.at("AT+QIACT=4") == b"\r\nERROR\r\n"
    rows = re.findall(rb'\+QIACT: (\d),1,1,"10\.7\.\d+\.\d+"\r\n', port.at("AT+QIACT?"))
    assert rows == [b"1", b"2", b"3"]
    assert port.at("AT+CGACT?").count(b",1\r\n") >= 3  # the same contexts, active
    assert port.at("AT+QIDEACT=2") == b"\r\nOK\r\n"
    assert port.at("AT+QIACT=4") == b"\r\nOK\r\n"
    assert port.at("AT+QIDEACT=9") == b"\r\nOK\r\n"  # not active: nothing to do


def test_qideact_closes_that_contexts_sockets(sim, peer):
    port = open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"])
    assert port.at("AT+QIACT=2") == b"\r\nOK\r\n"
    opened(port, OPEN.format(cid=1, sid=0, mode=0), sid=0)
    opened(port, OPEN.format(cid=2, sid=5, mode=0), sid=5)
    first = peer.connection(0)
    assert port.at("AT+QIDEACT=1") == b"\r\nOK\r\n"
    assert first.closed.wait(5)  # the real connection is gone too
    rows = port.at("AT+QISTATE")
    assert rows.count(b"+QISTATE:") == 1 and rows.startswith(b'\r\n+QISTATE: 5,"TCP"')
    assert port.at(OPEN.format(cid=1, sid=0, mode=0)) == b"\r\nERROR\r\n"  # context 1 is down


def test_the_network_deactivates_a_context(sim, peer):
    port = open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"])
    pty = port.port.port
    opened(port, OPEN.format(cid=1, sid=0, mode=0))
    ctl(pty, "pdp deactivate", cid=1)
    assert port.urc('+QIURC: "pdpdeact",1') == b'\r\n+QIURC: "pdpdeact",1\r\n'
    assert port.at("AT+QIACT?") == b"\r\nOK\r\n"
    assert b",4,1,0,0," in port.at("AT+QISTATE=1,0")  # the socket is dead, its ID still taken
    assert peer.connection().closed.wait(5)
    port.write(b"AT+QISEND=0,1\r")
    assert port.take(b"ERROR\r\n") == b"\r\nERROR\r\n"
    assert port.at("AT+QIDEACT=1") == b"\r\nOK\r\n"  # the host cleans up
    assert port.at("AT+QISTATE") == b"\r\nOK\r\n"
    assert port.at("AT+QIACT=1") == b"\r\nOK\r\n"
    with pytest.raises(VerbError, match="not active"):
        ctl(pty, "pdp deactivate", cid=2)


def test_network_deactivation_hangs_up_transparent_mode(sim, peer):
    port = open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"])
    assert port.at(OPEN.format(cid=1, sid=0, mode=2)) == b"\r\nCONNECT\r\n"
    ctl(port.port.port, "pdp deactivate", cid=1)
    assert port.take(b"NO CARRIER\r\n") == b"\r\nNO CARRIER\r\n"
    assert port.urc('+QIURC: "pdpdeact",1')
    assert port.at("AT") == b"\r\nOK\r\n"


def test_losing_the_network_deactivates_contexts(sim):
    port = open_module(sim, "ec200t")
    ctl(port.port.port, "network deregister")
    assert port.urc('+QIURC: "pdpdeact",1')
    assert port.at("AT+QIACT=1") == b"\r\nERROR\r\n"


def test_peer_close_and_reset_from_the_control_surface(sim, peer):
    port = open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{peer.port}"])
    pty = port.port.port
    opened(port, OPEN.format(cid=1, sid=0, mode=0))
    opened(port, OPEN.format(cid=1, sid=1, mode=0), sid=1)
    ctl(pty, "socket close", id=0)
    assert port.urc('+QIURC: "closed",0')
    ctl(pty, "socket reset", id=1)
    assert port.urc('+QIURC: "closed",1')
    wait_for(lambda: all(c.closed.is_set() for c in peer.connections), what="peers closed")
    with pytest.raises(VerbError, match="no connected TCP socket"):
        ctl(pty, "socket close", id=0)
    state = ctl(pty, "state")["subsystems"]["qi_sockets"]
    assert state["0"]["state"] == 4 and state["1"]["state"] == 4
