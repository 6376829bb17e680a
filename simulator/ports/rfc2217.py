"""RFC 2217 (telnet COM port control) framing for a stream port, so pyserial's `rfc2217://`
and other RFC 2217 clients can set line parameters and read modem lines as on a real UART.
pyserial's PortManager does the telnet negotiation; the line it controls is a virtual one.
"""

from __future__ import annotations

from collections.abc import Callable

from serial import rfc2217


class VirtualLine:
    """The UART settings and modem lines an RFC 2217 client sees and sets."""

    def __init__(self) -> None:
        self.baudrate = 115200
        self.bytesize = 8
        self.parity = "N"
        self.stopbits = 1
        self.rtscts = False
        self.xonxoff = False
        self.break_condition = False
        self.rts = True
        self.dtr = True
        self.cts = True
        self.dsr = True
        self.cd = False
        self.ri = False

    def reset_input_buffer(self) -> None:
        """Nothing is buffered between the client and the module's line discipline."""

    def reset_output_buffer(self) -> None:
        """Output goes to the client as it is produced."""


class _Connection:
    def __init__(self, write: Callable[[bytes], None]):
        self.write = write


class Rfc2217Framing:
    def __init__(self, write: Callable[[bytes], None]):
        self.line = VirtualLine()
        self._manager = rfc2217.PortManager(self.line, _Connection(write))

    def inbound(self, data: bytes) -> bytes:
        """Telnet commands are consumed; what remains is what the host typed."""
        return b"".join(self._manager.filter(data))

    def outbound(self, data: bytes) -> bytes:
        return b"".join(self._manager.escape(data))
