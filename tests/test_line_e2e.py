"""V.250 line behaviour over a real PTY, byte for byte."""

from __future__ import annotations

import pytest
from modem import NUMERIC_FINAL


def test_echo_on_by_default_and_off_after_ate0(sim):
    port = sim("ec200t").open()
    port.expect(b"+QIND: PB DONE\r\n")
    assert port.command("AT") == b"AT\r\r\nOK\r\n"
    assert port.command("ATE0") == b"ATE0\r\r\nOK\r\n"
    assert port.command("AT") == b"\r\nOK\r\n"


def test_lowercase_prefix_and_garbage_before_at(modem):
    port = modem("ec200t")
    assert port.command("at") == b"\r\nOK\r\n"
    assert port.command(b"\x00zzAT+CGMI") == b"\r\nQuectel\r\n\r\nOK\r\n"


def test_line_without_at_gets_no_answer(modem):
    port = modem("ec200t")
    port.write(b"hello\r")
    assert port.quiet_for(0.3) == b""
    assert port.command("AT") == b"\r\nOK\r\n"


def test_crlf_terminator_swallows_lf(sim):
    port = sim("ec200t").open()
    port.expect(b"+QIND: PB DONE\r\n")
    port.write(b"AT\r\n")
    assert port.expect(b"OK\r\n") == b"AT\r\r\nOK\r\n"
    port.write(b"AT\r\n")
    assert port.expect(b"OK\r\n") == b"AT\r\r\nOK\r\n"  # no stray LF echoed or parsed


def test_backspace_edits_the_line(modem):
    port = modem("ec200t")
    assert port.command(b"AT+CGMX\x08I") == b"\r\nQuectel\r\n\r\nOK\r\n"


def test_a_slash_repeats_previous_line(modem):
    port = modem("ec200t")
    first = port.command("AT+CGMM")
    port.write(b"A/")
    assert port.expect(b"OK\r\n") == first == b"\r\nEC200T\r\n\r\nOK\r\n"


def test_stray_ctrl_z_and_esc_are_ignored(modem):
    port = modem("ec200t")
    port.write(b"\x1a\x1b")
    assert port.command("AT") == b"\r\nOK\r\n"


@pytest.mark.parametrize("profile", ["ec200t", "m66"])
def test_over_long_line_gets_error_and_port_survives(modem, profile):
    port = modem(profile)
    assert port.command("AT+CGMI" + "X" * 5000) == b"\r\nERROR\r\n"
    assert port.command("AT") == b"\r\nOK\r\n"


def test_verbose_numeric_and_quiet(modem):
    port = modem("ec200t")
    assert port.command("ATV0", final=NUMERIC_FINAL) == b"0\r"
    assert port.command("AT+CGMM", final=NUMERIC_FINAL) == b"EC200T\r\n0\r"
    assert port.command("AT+NOPE", final=NUMERIC_FINAL) == b"4\r"
    assert port.command("ATV1") == b"\r\nOK\r\n"
    port.write(b"ATQ1\r")
    assert port.quiet_for(0.3) == b""
    port.write(b"AT+CGMM\r")
    assert port.expect(b"EC200T\r\n") == b"\r\nEC200T\r\n"
    assert port.quiet_for(0.3) == b""
    assert port.command("ATQ0") == b"\r\nOK\r\n"


def test_cmee_modes(modem):
    port = modem("ec200t")
    assert port.command("AT+CGSN=9") == b"\r\nERROR\r\n"
    assert port.command("AT+CMEE=1") == b"\r\nOK\r\n"
    assert port.command("AT+CGSN=9") == b"\r\n+CME ERROR: 50\r\n"
    assert port.command("AT+CMEE=2") == b"\r\nOK\r\n"
    assert port.command("AT+CGSN=9") == b"\r\n+CME ERROR: Incorrect parameters\r\n"
    assert port.command("AT+CMEE?") == b"\r\n+CMEE: 2\r\n\r\nOK\r\n"
    assert port.command("AT+CMEE=3") == b"\r\n+CME ERROR: Incorrect parameters\r\n"
    # an unknown command is a plain ERROR whatever the CMEE mode
    assert port.command("AT+NOPE") == b"\r\nERROR\r\n"


def test_neoway_cmee_text_is_its_own_table(modem):
    port = modem("n11v2")
    assert port.command("AT+CMEE=2;+CMEE=7") == b"\r\n+CME ERROR: PARAM INVALID\r\n"


def test_chained_commands_and_abort_on_first_failure(modem):
    port = modem("ec200t")
    assert port.command("AT+CGMI;+CGMM") == b"\r\nQuectel\r\n\r\nEC200T\r\n\r\nOK\r\n"
    assert port.command("AT+CGMI;+NOPE;+CMEE=2") == b"\r\nQuectel\r\n\r\nERROR\r\n"
    assert port.command("AT+CMEE?") == b"\r\n+CMEE: 0\r\n\r\nOK\r\n"  # never ran


def test_concatenated_basic_commands(modem):
    port = modem("ec200t")
    assert port.command("AT S7=45 S0=0 L1 V1 X4 &c1 E0 Q0") == b"\r\nOK\r\n"
    assert port.command("ATS7?") == b"\r\n045\r\n\r\nOK\r\n"
    assert port.command("ATE0V0", final=NUMERIC_FINAL) == b"0\r"
    assert port.command("ATV1S3?") == b"\r\n013\r\n\r\nOK\r\n"
    assert port.command("ATS99=1") == b"\r\nERROR\r\n"
    assert port.command("ATS6=11") == b"\r\nERROR\r\n"


def test_syntax_error_is_error(modem):
    port = modem("ec200t")
    for line in ('AT+CGMI="unterminated', "AT+=1", "AT+CGMI;;;+", 'AT+"x"'):
        assert port.command(line) == b"\r\nERROR\r\n", line
    assert port.command("AT") == b"\r\nOK\r\n"


def test_atz_restores_saved_and_at_f_restores_factory(modem):
    port = modem("ec200t")
    assert port.command("ATE0V1;&W") == b"\r\nOK\r\n"
    assert port.command("ATE1") == b"\r\nOK\r\n"  # typed while echo was still off
    assert port.command("ATZ") == b"ATZ\r\r\nOK\r\n"
    assert port.command("AT") == b"\r\nOK\r\n"  # saved echo-off is back
    assert port.command("AT&F") == b"\r\nOK\r\n"
    assert port.command("AT") == b"AT\r\r\nOK\r\n"  # factory echo is on


def test_at_w_survives_a_restart(sim, tmp_path):
    data = tmp_path / "keep"
    first = sim("ec200t", data_dir=data)
    port = first.open()
    port.expect(b"+QIND: PB DONE\r\n")
    assert port.command("ATE0;+CMEE=2;&W") == b"ATE0;+CMEE=2;&W\r\r\nOK\r\n"
    port.close()
    assert first.stop() == 0
    port = sim("ec200t", data_dir=data).open()
    port.expect(b"+QIND: PB DONE\r\n")
    assert port.command("AT+CMEE?") == b"\r\n+CMEE: 2\r\n\r\nOK\r\n"


def test_port_can_be_closed_and_reopened(sim):
    s = sim("ec200t")
    port = s.open()
    port.expect(b"+QIND: PB DONE\r\n")
    port.command("ATE0")
    for _ in range(5):
        port.close()
        port = s.open()
        assert port.command("AT") == b"\r\nOK\r\n"
    port.close()


def test_pty_is_raw(modem):
    """No ICRNL/ONLCR: a CR from the module arrives as CR, an LF as LF."""
    port = modem("ec200t")
    raw = port.command("ATI")
    assert raw.count(b"\r\n") == 6 and b"\n\n" not in raw and b"\r\r" not in raw
