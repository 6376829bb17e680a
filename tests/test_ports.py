"""TCP and UNIX ports serve the same module as the PTY, one channel per connection."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import serial
from modem import ROOT, Port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_port_with_pyserial_socket_url(sim, tmp_path: Path) -> None:
    tcp = free_port()
    s = sim("ec200t", "--tcp", f"127.0.0.1:{tcp}")
    pty = s.open()
    pty.expect(b"+QIND: PB DONE\r\n")  # booted: no banner will reach the TCP client
    port = Port(serial.serial_for_url(f"socket://127.0.0.1:{tcp}", timeout=0.05))
    assert port.command("AT+CGMM") == b"AT+CGMM\r\r\nEC200T\r\n\r\nOK\r\n"
    # the PTY is another channel of the same module: its echo setting is its own
    assert port.command("ATE0") == b"ATE0\r\r\nOK\r\n"
    assert pty.command("AT") == b"AT\r\r\nOK\r\n"
    port.close()


def unix_port(path: Path) -> Port:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(path))
    sock.settimeout(0.05)

    class SockSerial:
        in_waiting = 0

        def write(self, data: bytes) -> None:
            sock.sendall(data)

        def read(self, n: int) -> bytes:
            try:
                return sock.recv(4096)
            except TimeoutError:
                return b""

        def close(self) -> None:
            sock.close()

    return Port(SockSerial())  # type: ignore[arg-type]


def test_unix_port_serves_concurrent_connections(sim, tmp_path: Path) -> None:
    path = tmp_path / "at.sock"
    sim("bc660k", "--unix", str(path)).open().expect(b"+CPIN: READY\r\n")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    first, second = unix_port(path), unix_port(path)
    assert first.command("ATE0") == b"ATE0\r\r\nOK\r\n"
    assert second.command("ATE0") == b"ATE0\r\r\nOK\r\n"
    assert second.command("AT+CGMM") == b"\r\nQuectel_BC660K-GL\r\n\r\nOK\r\n"
    assert first.command("AT+CGMM") == b"\r\nQuectel_BC660K-GL\r\n\r\nOK\r\n"
    first.close()
    assert second.command("AT") == b"\r\nOK\r\n"  # closing one leaves the other working
    third = unix_port(path)
    assert third.command("AT") == b"AT\r\r\nOK\r\n"
    second.close()
    third.close()


def test_rfc2217_port(sim) -> None:
    tcp = free_port()
    s = sim("m66", "--rfc2217", f"127.0.0.1:{tcp}")
    s.open().expect(b"SMS Ready\r\n")
    client = serial.serial_for_url(f"rfc2217://127.0.0.1:{tcp}", baudrate=9600,
                                   timeout=0.05)
    client.baudrate = 115200  # negotiated over telnet, not passed to the module as data
    port = Port(client)
    assert port.command("AT+CGMM") == b"AT+CGMM\r\r\nQuectel_M66\r\n\r\nOK\r\n"
    assert port.command(b"AT+CGMI\xff") == b"AT+CGMI\xff\r\r\nERROR\r\n"  # 0xFF survives escaping
    port.close()


def test_spawned_program_talks_to_the_module(tmp_path: Path) -> None:
    """--spawn: the program's stdin/stdout is the UART; the simulator exits with its status."""
    firmware = tmp_path / "firmware.py"
    firmware.write_text(
        "import os, sys\n"
        "def ask(line):\n"
        "    os.write(1, line + b'\\r')\n"
        "    got = b''\n"
        "    while not got.endswith(b'OK\\r\\n'):\n"
        "        got += os.read(0, 100)\n"
        "    return got\n"
        "ask(b'ATE0')\n"
        f"open({str(tmp_path / 'seen')!r}, 'wb').write(ask(b'AT+CGMM'))\n"
        "sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", "--profile", "n11v2", "--data-dir",
         str(tmp_path / "d"), "--spawn", f"{sys.executable} {firmware}"],
        cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr
    seen = (tmp_path / "seen").read_bytes()
    assert seen.endswith(b"\r\n+CGMM: N11 V2\r\n\r\nOK\r\n")
