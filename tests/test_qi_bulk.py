"""1 MiB of random bytes through each access mode of ec200t and back from a local echo server,
compared byte for byte: nothing lost, nothing reordered, nothing added."""

from __future__ import annotations

import os
import threading

import pytest
from atport import AtPort
from peers import TcpPeer
from qi import open_module, opened, read_once, send

SIZE = 1 << 20
SCALE = 5.0  # a 200 ms guard time: bulk data never looks like an escape
OPEN = 'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,{mode}'
PUSH = b'+QIURC: "recv",0,'


@pytest.fixture
def echo():
    server = TcpPeer(echo=True)
    yield server
    server.close()


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


def module(sim, echo: TcpPeer) -> AtPort:
    return open_module(sim, "ec200t", [f"220.180.239.212:8009=127.0.0.1:{echo.port}"],
                       scale=SCALE)


def test_transparent_mode(sim, echo, data):
    port = module(sim, echo)
    assert port.at(OPEN.format(mode=2)) == b"\r\nCONNECT\r\n"
    writer = threading.Thread(target=lambda: [port.write(data[i:i + 4096])
                                              for i in range(0, SIZE, 4096)])
    writer.start()
    assert port.take_bytes(SIZE, timeout=120) == data
    writer.join(10)
    assert echo.connection().received == data
    assert port.silence(0.1) == b""


def test_buffer_mode_with_qisend_and_qird(sim, echo, data):
    port = module(sim, echo)
    opened(port, OPEN.format(mode=0))
    back = bytearray()
    position = 0
    while position < SIZE:
        chunk = data[position:position + 1460]
        result = send(port, 0, chunk)
        if result == b"\r\nSEND OK\r\n":
            position += len(chunk)
        else:
            assert result == b"\r\nSEND FAIL\r\n", result  # full: read, then try again
        if result != b"\r\nSEND OK\r\n" or position % (8 * 1460) == 0:
            while piece := read_once(port, 0):
                back += piece
    while len(back) < SIZE:
        back += read_once(port, 0)
    assert bytes(back) == data
    assert port.at("AT+QISEND=0,0") == b"\r\n+QISEND: %d,%d,0\r\n\r\nOK\r\n" % (SIZE, SIZE)
    assert port.at("AT+QIRD=0,0") == b"\r\n+QIRD: %d,%d,0\r\n\r\nOK\r\n" % (SIZE, SIZE)


def test_direct_push_mode(sim, echo, data):
    port = module(sim, echo)
    opened(port, OPEN.format(mode=1))
    pushed = bytearray()

    def item() -> bytes:
        """The next line or prompt, in stream order; pushed data is collected on the way."""
        assert port.take_bytes(2) == b"\r\n"
        start = port.take_bytes(2)
        if start == b"> ":
            return start
        line = start + port.take(b"\r\n")[:-2]
        if line.startswith(PUSH):
            pushed.extend(port.take_bytes(int(line[len(PUSH):])))
        return line

    position = 0
    while position < SIZE:
        chunk = data[position:position + 1460]
        port.write(b"AT+QISEND=0,%d\r" % len(chunk))
        while item() != b"> ":
            pass
        port.write(chunk)
        while (line := item()).startswith(PUSH):
            pass
        assert line in (b"SEND OK", b"SEND FAIL"), line
        if line == b"SEND OK":
            position += len(chunk)
    while len(pushed) < SIZE:
        assert item().startswith(PUSH)
    assert bytes(pushed) == data
