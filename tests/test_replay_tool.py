"""The transcript replay tool (simulator/replay.py) without the simulator.

Pure parts are table-driven; the engine runs over a scripted fake transport; the process and
PTY plumbing runs against a tiny fake modem written to a temporary file.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections import deque
from pathlib import Path

import pytest

from simulator.replay import (
    FAIL,
    PASS,
    SKIP,
    Kind,
    LineSplitter,
    Override,
    Replayer,
    ReplayOptions,
    Result,
    Scenario,
    classify_steps,
    describe_mismatch,
    echo_lines,
    format_result,
    format_summary,
    later_claims,
    line_matches,
    load_scenarios,
    main,
    override_for,
    parse_overrides,
    parse_seconds,
    parse_transcripts,
    payload_bytes,
    replay_scenario,
    report_json,
    skip_reason,
)

COPIES = Path(__file__).parent / "transcripts"  # the documents' dialogs the suite keeps


def sends(raw_steps: list[dict]) -> list[bool]:
    return [s.data for s in classify_steps(raw_steps) if s.kind is Kind.SEND]


# --- step classification ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_steps", "data_flags"),
    [
        ([{"send": "AT+CSQ"}], [False]),
        ([{"send": "+++"}], [True]),  # escape sequence: bare, guard times around it
        ([{"send": "hello\x1b"}], [True]),
        (
            [
                {"send": "AT+QISEND=0"},
                {"expect": [">"]},
                {"send": "test1\x1a"},
                {"expect": ["SEND OK"]},
                {"send": "AT"},
            ],
            [False, True, False],
        ),
        ([{"send": "AT+QISEND=0,4"}, {"expect": [">"]}, {"send": "test"}], [False, True]),
        (  # payload and Ctrl-Z as two sends (bc660k)
            [{"send": "AT+QISEND=0"}, {"expect": [">"]}, {"send": "text"}, {"send": "\x1a"}],
            [False, True, True],
        ),
        (  # Ctrl-Z ends data entry even with no expect after it
            [{"send": "AT+QISEND"}, {"expect": [">"]}, {"send": "a\x1a"}, {"send": "AT"}],
            [False, True, False],
        ),
        (
            [
                {"send": "AT+QIOPEN=1,0,2"},
                {"expect": ["CONNECT"]},
                {"send": "hello"},
                {"send": "+++"},
                {"expect": ["OK"]},
                {"send": "ATO"},
            ],
            [False, True, True, False],
        ),
        ([{"expect": ["CONNECT 115200"]}, {"send": "payload"}], [True]),
        ([{"urc": ["CONNECT OK"]}, {"send": "AT+QISEND"}], [False]),  # M66: command mode
        ([{"urc": ["REMOTE IP: 1.2.3.4", "CONNECT"]}, {"urc": ["data"]}, {"send": "x"}], [True]),
        ([{"urc": ["CONNECT"]}, {"urc": ["CLOSED"]}, {"send": "AT+QIDEACT"}], [False]),
        ([{"expect": ["CONNECT"]}, {"expect": []}, {"send": "x"}], [True]),
        ([{"send": "AT+QISEND"}, {"expect": [">"]}, {"note": "n"}, {"send": "x"}], [False, True]),
    ],
)
def test_data_or_command_line(raw_steps: list[dict], data_flags: list[bool]) -> None:
    assert sends(raw_steps) == data_flags


def test_classify_keeps_positions_and_parses_waits() -> None:
    steps = classify_steps(
        [{"note": "n"}, {"send": "AT"}, {"wait": "at least 500 ms guard"}, {"expect": ["OK"]}]
    )
    assert [(s.index, s.kind) for s in steps] == [
        (1, Kind.NOTE),
        (2, Kind.SEND),
        (3, Kind.WAIT),
        (4, Kind.EXPECT),
    ]
    assert steps[2].seconds == 0.5
    assert steps[3].lines == ("OK",)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"send": "AT", "expect": ["OK"]}, "one-key mapping"),
        ({"sned": "AT"}, "unknown step kind"),
        ({"expect": "OK"}, "list of strings"),
        ({"urc": [1]}, "list of strings"),
        ({"send": ["AT"]}, "must be a string"),
        ("AT", "one-key mapping"),
    ],
)
def test_classify_rejects_malformed_steps(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        classify_steps([raw])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("at least 500 ms guard", 0.5),
        ("up to 150 s", 150.0),
        ("about 10 s (the CCLK reading is 10 s later)", 10.0),
        ("no data typed for 60 s ('within 1 minute')", 60.0),
        ("e.g. 8 minutes", 480.0),
        ("host writes 1024 bytes within 10000 ms", 10.0),
        ("normally 2-5 s", 5.0),
        ("10 seconds", 10.0),
        ("2 hours", 7200.0),
        ("server answers", None),
        ("client 10.72.170.156:38061 sends '1234567890'", None),
    ],
)
def test_parse_seconds(text: str, seconds: float | None) -> None:
    assert parse_seconds(text) == seconds


def test_parse_transcripts_names_the_bad_scenario() -> None:
    with pytest.raises(ValueError, match="scenario broken: step 2"):
        parse_transcripts([{"id": "broken", "steps": [{"send": "AT"}, {"bogus": 1}]}])
    with pytest.raises(ValueError, match="YAML list"):
        parse_transcripts({"id": "x"})


# --- wire bytes and echo --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_steps", "wire", "echo"),
    [
        ([{"send": "AT+CSQ"}], b"AT+CSQ\r", {"AT+CSQ"}),
        ([{"send": "+++"}], b"+++", {"+++"}),
        ([{"send": "AT"}, {"expect": [">"]}, {"send": "test1\x1a"}], b"test1\x1a", {"test1"}),
        ([{"send": "AT"}, {"expect": [">"]}, {"send": "\x1a"}], b"\x1a", set()),
        (
            [{"send": "AT"}, {"expect": [">"]}, {"send": "GET / HTTP/1.1\r\nHost: a\r\n\r\n"}],
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            {"GET / HTTP/1.1", "Host: a"},
        ),
        ([{"expect": ["CONNECT"]}, {"send": "hello"}], b"hello", set()),  # no echo online
    ],
)
def test_payload_and_echo(raw_steps: list[dict], wire: bytes, echo: set[str]) -> None:
    step = classify_steps(raw_steps)[-1]
    assert payload_bytes(step) == wire
    assert echo_lines(step) == echo


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "got", "matches"),
    [
        ("OK", "OK", True),
        ("OK", "OK ", False),
        ("+CGSN:<IMEI>", "+CGSN:866207055068526", True),
        ("+CGSN:<IMEI>", "+CGSN:", False),  # a placeholder stands for something
        ("+SSLTCPCFG: <type>,<type_name>", "+SSLTCPCFG: 1,ca", True),
        ("<Received data>", "anything at all", True),
        ("<html>", "<html>", True),  # markup is literal
        ("<html>", "x", False),
        ("<title>A</title>", "<title>A</title>", True),
        ("+CSQ:xx,99", "+CSQ:24,99", False),  # only <...> tokens are placeholders
        ("+QIRD: 14", "+QIRD: 140", False),
        ("Lose = 0 <0%>", "Lose = 0 <0%>", True),
        ("a.b*c", "a.b*c", True),  # regex characters are literal
        ("a.b*c", "axbbc", False),
    ],
)
def test_line_matches(expected: str, got: str, matches: bool) -> None:
    assert line_matches(expected, got) is matches


def test_tolerated_lines_are_alternatives() -> None:
    assert line_matches("+CSQ:xx,99", "+CSQ:24,99", ["+CSQ:<rssi>,99"])
    assert line_matches("xxxxxxxx", "Quectel_BC660K-GL", ["Quectel_BC660K-GL"])
    assert not line_matches("+CSQ:xx,99", "+CSQ:24,0", ["+CSQ:<rssi>,99"])


# --- byte stream ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"\r\nOK\r\n"], ["OK"]),
        ([b"\r\n+CSQ: 2", b"0,99\r\n\r\nOK\r", b"\n"], ["+CSQ: 20,99", "OK"]),
        ([b"AT+CSQ\r\r\n+CSQ: 20,99\r\n"], ["AT+CSQ", "+CSQ: 20,99"]),
        ([b"\r\n> "], [">"]),
        ([b"\r\n>"], [">"]),
        ([b"\r\n>", b" ", b"test1\r\n"], [">", "test1"]),  # the prompt's space alone
        ([b"\r\n> ", b"test1\r\n\r\nSEND OK\r\n"], [">", "test1", "SEND OK"]),
        ([b"\r\n>x"], []),  # not a prompt: wait for the line end
        ([b"   \r\n\r\n"], []),
        ([b"caf\xc3", b"\xa9\r\n"], ["caf\u00e9"]),  # UTF-8 split across reads
        ([b"a\nb\rc\r\n"], ["a", "b", "c"]),
    ],
)
def test_line_splitter(chunks: list[bytes], lines: list[str]) -> None:
    splitter = LineSplitter()
    assert [line for chunk in chunks for line in splitter.feed(chunk)] == lines


# --- claims, overrides, skips -----------------------------------------------------------------


def test_later_claims_stop_expect_lines_at_the_next_send() -> None:
    steps = classify_steps(
        [
            {"send": "AT+QLWREG"},
            {"expect": ["OK"]},
            {"urc": ['+QLWURC: "registering",102,0']},
            {"expect": ["+QLWREG: 0"]},
            {"send": "AT+CSQ"},
            {"expect": ["+CSQ: 20,99", "OK"]},
            {"urc": ["+CEREG: 1"]},
        ]
    )
    assert later_claims(steps, 2) == (
        '+QLWURC: "registering",102,0',
        "+QLWREG: 0",
        "+CEREG: 1",
    )
    # before the first send only URCs can be claimed: no response precedes its command
    assert later_claims(steps, 0) == ('+QLWURC: "registering",102,0', "+CEREG: 1")


def test_overrides_merge_globs() -> None:
    overrides = parse_overrides(
        {
            "bc660k-*-2-4": {"tolerate": {"xxxxxxxx": ["Quectel_BC660K-GL"]}},
            "bc660k-tcp-*": {"tolerate": {"xxxxxxxx": "BC660KGLAAR01A05"}},
            "bc660k-tcp-psm-2-4": "ATI revision differs per firmware",
            "bc660k-tcp-*-2-*": {"send": {"AT+QMTOOPEN=0": "AT+QMTOPEN=0"}},
        }
    )
    assert override_for("bc660k-tcp-psm-2-4", overrides) == Override(
        skip="ATI revision differs per firmware",
        tolerate={"xxxxxxxx": ("Quectel_BC660K-GL", "BC660KGLAAR01A05")},
        send={"AT+QMTOOPEN=0": "AT+QMTOPEN=0"},
    )
    assert override_for("ec200-x", overrides) == Override()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (["a"], "YAML mapping"),
        ({"a": 3}, "a reason or a mapping"),
        ({"a": {"skp": "x"}}, "a reason or a mapping"),
        ({"a": {"tolerate": ["OK"]}}, "tolerate must map"),
        ({"a": {"tolerate": {"OK": [1]}}}, "a line or a list"),
        ({"a": {"send": {"AT": 1}}}, "send must map"),
    ],
)
def test_overrides_reject_malformed(document: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_overrides(document)


@pytest.mark.parametrize(
    ("raw_steps", "override", "hook", "reason"),
    [
        ([{"send": "AT"}], Override(), False, None),
        ([{"send": "AT"}], Override(skip="contradicts table 3"), False, "contradicts table 3"),
        ([{"remote": "peer sends"}, {"urc": ["X"]}], Override(), False, "needs remote peer"),
        ([{"remote": "peer sends"}, {"urc": ["X"]}], Override(), True, None),
        ([{"note": "n"}, {"wait": "DTR low"}], Override(), False, "nothing to replay"),
    ],
)
def test_skip_reason(
    raw_steps: list[dict], override: Override, hook: bool, reason: str | None
) -> None:
    scenario = Scenario("s", classify_steps(raw_steps))
    assert skip_reason(scenario, override, hook) == reason


# --- reports ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (Result("a", PASS), "PASS a"),
        (
            Result("b", FAIL, "step 4: expected 'OK' got 'ERROR'"),
            "FAIL b: step 4: expected 'OK' got 'ERROR'",
        ),
        (Result("c", SKIP, "needs remote peer"), "SKIP c: needs remote peer"),
    ],
)
def test_format_result(result: Result, line: str) -> None:
    assert format_result(result) == line


@pytest.mark.parametrize(
    ("step", "expected", "got", "waited", "detail"),
    [
        (4, "OK", "ERROR", 10.0, "step 4: expected 'OK' got 'ERROR'"),
        (2, "OK", None, 10.0, "step 2: expected 'OK' got nothing within 10 s"),
        (7, None, "OK", 0.5, "step 7: expected nothing got 'OK'"),
        (1, "Quectel's", "a\x1a", 1.0, "step 1: expected \"Quectel's\" got 'a\\x1a'"),
    ],
)
def test_describe_mismatch(
    step: int, expected: str | None, got: str | None, waited: float, detail: str
) -> None:
    assert describe_mismatch(step, expected, got, waited) == detail


def test_summary_and_json() -> None:
    results = [Result("a", PASS), Result("b", FAIL, "x"), Result("c", SKIP, "y")]
    assert format_summary(results) == "replay: 1 passed, 1 failed, 1 skipped"
    report = json.loads(report_json(results))
    assert (report["passed"], report["failed"], report["skipped"]) == (1, 1, 1)
    assert report["results"][1] == {"id": "b", "status": FAIL, "detail": "x", "seconds": 0.0}


# --- the engine over a scripted transport -----------------------------------------------------


class ScriptedModule:
    """Answers each exact write with canned lines; reading past them times out at once."""

    def __init__(self, replies: dict[bytes, list[str]], boot: list[str] | None = None):
        self.replies = replies
        self.lines: deque[str] = deque(boot or [])
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)
        self.lines.extend(self.replies.get(data, []))

    def read_line(self, deadline: float) -> str | None:
        return self.lines.popleft() if self.lines else None


QUICK = ReplayOptions(profile="fake", timeout=0.05)
STRICT = ReplayOptions(profile="fake", timeout=0.05, strict=True)
READY = {b"ATE0\r": ["ATE0", "OK"]}
OPEN = [{"send": "AT+QIOPEN"}, {"expect": ["OK"]}, {"urc": ["+QIOPEN: 0,0"]}]


@pytest.mark.parametrize(
    ("raw_steps", "replies", "options", "failure"),
    [
        ([{"send": "AT+CSQ"}, {"expect": ["+CSQ: 20,99", "OK"]}],
         {b"AT+CSQ\r": ["AT+CSQ", "+CSQ: 20,99", "OK"]}, QUICK, None),  # echo dropped
        ([{"send": "AT+CSQ"}, {"expect": ["OK"]}],
         {b"AT+CSQ\r": ["ERROR"]}, QUICK, "step 2: expected 'OK' got 'ERROR'"),
        ([{"send": "AT+CSQ"}, {"expect": ["OK"]}],
         {}, QUICK, "step 2: expected 'OK' got nothing within 0.05 s"),
        ([{"send": "AT+CGSN=1"}, {"expect": ["+CGSN:<IMEI>", "OK"]}],
         {b"AT+CGSN=1\r": ["+CGSN:866207055068526", "OK"]}, QUICK, None),
        (OPEN, {b"AT+QIOPEN\r": ["OK", "+CEREG: 1", "+QIOPEN: 0,0"]}, QUICK, None),
        (OPEN, {b"AT+QIOPEN\r": ["OK", "+CEREG: 1", "+QIOPEN: 0,0"]}, STRICT,
         "step 3: expected '+QIOPEN: 0,0' got '+CEREG: 1'"),
        (OPEN, {b"AT+QIOPEN\r": ["+QIOPEN: 0,0", "OK"]}, QUICK, None),  # early URC set aside
        (OPEN, {b"AT+QIOPEN\r": ["+QIOPEN: 0,0", "OK"]}, STRICT,
         "step 2: expected 'OK' got '+QIOPEN: 0,0'"),
        (OPEN, {b"AT+QIOPEN\r": ["+CEREG: 1", "OK"]}, QUICK,
         "step 2: expected 'OK' got '+CEREG: 1'"),  # responses never skip a line
        ([{"send": "ATQ1"}, {"expect": []}], {b"ATQ1\r": ["OK"]}, QUICK,
         "step 2: expected nothing got 'OK'"),
        ([{"send": "ATQ1"}, {"expect": []}, {"send": "AT"}], {b"ATQ1\r": []}, QUICK, None),
        (
            [{"send": "AT+QISEND=0"}, {"expect": [">"]}, {"send": "test1\x1a"},
             {"expect": ["SEND OK"]}],
            {b"AT+QISEND=0\r": [">"], b"test1\x1a": ["test1", "SEND OK"]}, QUICK, None,
        ),
        (  # a URC step's lines come in order; the deferred result waits for the expect
            [{"send": "AT+QPING"}, {"expect": ["OK"]}, {"urc": ["+CSCON: 1"]},
             {"expect": ["+QPING: 0"]}],
            {b"AT+QPING\r": ["OK", "+QPING: 0", "+CSCON: 1"]}, QUICK, None,
        ),
    ],
)  # fmt: skip
def test_replayer(
    raw_steps: list[dict],
    replies: dict[bytes, list[str]],
    options: ReplayOptions,
    failure: str | None,
) -> None:
    module = ScriptedModule({**READY, **replies})
    assert Replayer(module, options).run(classify_steps(raw_steps)) == failure


def test_boot_lines_are_kept_only_when_the_scenario_expects_them() -> None:
    boot = ["RDY", "+CFUN: 1", "+CPIN: READY"]
    booting = classify_steps([{"wait": "power on"}, {"urc": ["RDY", "+CPIN: READY"]}])
    assert Replayer(ScriptedModule(READY, boot), STRICT).run(booting) is None
    plain = classify_steps([{"send": "AT"}, {"expect": ["OK"]}])
    assert Replayer(ScriptedModule({**READY, b"AT\r": ["OK"]}, boot), STRICT).run(plain) is None


def test_probe_is_plain_at_with_keep_echo_and_tolerates_error() -> None:
    module = ScriptedModule({b"AT\r": ["AT", "OK"], b"ATE0\r": ["ERROR"]})
    steps = classify_steps([{"send": "AT+X"}])
    Replayer(module, ReplayOptions(profile="fake", timeout=0.05, no_echo=False)).run(steps)
    assert module.written == [b"AT\r", b"AT+X\r"]
    module.written.clear()
    assert Replayer(module, QUICK).run(steps) is None
    assert module.written == [b"ATE0\r", b"AT+X\r"]


def test_tolerated_line_and_remote_hook() -> None:
    seen: list[str] = []

    def remote(text: str) -> str | None:
        seen.append(text)
        return None if text == "peer sends" else "peer refused"

    steps = classify_steps(
        [{"send": "AT+CSQ"}, {"expect": ["+CSQ:xx,99"]}, {"remote": "peer sends"}]
    )
    module = ScriptedModule({**READY, b"AT+CSQ\r": ["+CSQ:24,99"]})
    tolerate = {"+CSQ:xx,99": ("+CSQ:<rssi>,99",)}
    assert Replayer(module, QUICK, tolerate, remote).run(steps) is None
    assert seen == ["peer sends"]
    refused = classify_steps([{"remote": "peer hangs up"}])
    assert Replayer(ScriptedModule(READY), QUICK, remote=remote).run(refused) == (
        "step 1: peer refused"
    )


def test_sends_substitute_misspelt_commands_and_elided_input() -> None:
    steps = classify_steps([
        {"send": "AT+QMTOOPEN=0"}, {"expect": ["OK"]},
        {"send": "AT+QFWRITE=1,5"}, {"expect": ["CONNECT"]},
        {"wait": "host writes the 5 bytes (not shown)"}, {"expect": ["+QFWRITE: 5,5", "OK"]},
        {"send": "AT+QSSLCFG=0,0,\"cacert\""}, {"expect": [">"]},
        {"send": "-----BEGIN"}, {"expect": ["OK"]},
    ])  # fmt: skip
    module = ScriptedModule({
        **READY, b"AT+QMTOPEN=0\r": ["OK"], b"AT+QFWRITE=1,5\r": ["CONNECT"],
        b"12345": ["+QFWRITE: 5,5", "OK"], b'AT+QSSLCFG=0,0,"cacert"\r': [">"],
        b"PEM\x1a": ["OK"],
    })  # fmt: skip
    send = {
        "AT+QMTOOPEN=0": "AT+QMTOPEN=0",
        "host writes the 5 bytes (not shown)": "12345",
        "-----BEGIN": "PEM\x1a",
    }
    assert Replayer(module, QUICK, send=send).run(steps) is None
    assert module.written[1:] == [
        b"AT+QMTOPEN=0\r",
        b"AT+QFWRITE=1,5\r",
        b"12345",
        b'AT+QSSLCFG=0,0,"cacert"\r',
        b"PEM\x1a",
    ]


def test_wait_pauses_before_a_send_scaled_and_bounded() -> None:
    steps = classify_steps([{"wait": "at least 500 ms guard"}, {"send": "+++"}])
    options = ReplayOptions(profile="fake", timeout=5.0, time_scale=10.0)
    started = time.monotonic()
    Replayer(ScriptedModule(READY), options).run(steps)
    assert 0.05 <= time.monotonic() - started < 1.0


# --- process and PTY plumbing against a fake modem --------------------------------------------

FAKE_MODEM = textwrap.dedent(
    r'''
    """Prints a ready line, then answers ATE0, AT+QISEND=0 (with '>'), dies on AT+CRASH."""
    import os, sys, time, tty
    if "--profile" in sys.argv and sys.argv[sys.argv.index("--profile") + 1] == "broken":
        sys.exit("no such profile")
    master, slave = os.openpty()
    tty.setraw(slave)
    print(f"fake ready on {os.ttyname(slave)}", flush=True)
    def out(text):
        os.write(master, text.encode())
    echo, line, payload = True, b"", None
    out("\r\nRDY\r\n")
    while True:
        for byte in os.read(master, 1024):
            if payload is not None:
                if byte == 0x1A:
                    out("\r\nSEND OK\r\n")
                    time.sleep(0.05)
                    out('\r\n+QIURC: "recv",0\r\n')
                    payload = None
                continue
            if echo:
                os.write(master, bytes([byte]))
            if byte != 0x0D:
                line += bytes([byte])
                continue
            if line == b"ATE0":
                echo = False
                out("\r\nOK\r\n")
            elif line == b"AT+CRASH":
                sys.exit("Traceback: boom")
            elif line == b"AT+QISEND=0":
                payload = b""
                out("\r\n> ")
            else:
                out("\r\nERROR\r\n")
            line = b""
    '''
)

SEND = [
    {"send": "AT+QISEND=0"},
    {"expect": [">"]},
    {"send": "test1\x1a"},
    {"expect": ["SEND OK"]},
    {"urc": ['+QIURC: "recv",0']},
]


@pytest.fixture
def fake_options(tmp_path: Path) -> ReplayOptions:
    script = tmp_path / "fake_modem.py"
    script.write_text(FAKE_MODEM)
    return ReplayOptions(profile="fake", timeout=2.0, simulator=(sys.executable, str(script)))


@pytest.mark.skipif(sys.platform == "win32", reason="needs a PTY")
@pytest.mark.parametrize(
    ("raw_steps", "status", "detail"),
    [
        (SEND, PASS, ""),
        (
            [*SEND, {"send": "AT+CSQ"}, {"expect": ["+CSQ: 20,99", "OK"]}],
            FAIL,
            "step 7: expected '+CSQ: 20,99' got 'ERROR'",
        ),
    ],
)
def test_replay_over_a_real_pty(
    fake_options: ReplayOptions, raw_steps: list[dict], status: str, detail: str
) -> None:
    result = replay_scenario(Scenario("fake", classify_steps(raw_steps)), Override(), fake_options)
    assert (result.status, result.detail) == (status, detail)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a PTY")
def test_simulator_crash_is_named(fake_options: ReplayOptions) -> None:
    steps = classify_steps([{"send": "AT+CRASH"}, {"expect": ["OK"]}])
    result = replay_scenario(Scenario("crash", steps), Override(), fake_options)
    assert result.status == FAIL
    assert result.detail.endswith("(simulator crashed: Traceback: boom)"), result.detail


@pytest.mark.skipif(sys.platform == "win32", reason="needs a PTY")
def test_simulator_that_dies_is_a_failure(fake_options: ReplayOptions) -> None:
    broken = ReplayOptions(profile="broken", simulator=fake_options.simulator)
    result = replay_scenario(Scenario("fake", classify_steps(SEND)), Override(), broken)
    assert result.status == FAIL
    assert result.detail == "simulator exited with 1: no such profile"


# --- command line and the real reference files ------------------------------------------------


def test_main_reports_skips_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transcripts = tmp_path / "t.transcripts.yaml"
    transcripts.write_text(
        "- {id: peer, steps: [{remote: 'server sends'}, {urc: ['+QIURC: 0']}]}\n"
        "- {id: listed, steps: [{send: AT}, {expect: [OK]}]}\n"
        "- {id: other, steps: [{send: AT}]}\n"
    )
    skips = tmp_path / "skip.yaml"
    skips.write_text("listed: contradicts its own table\n")
    argv = [str(transcripts), "--profile", "x", "--skip-list", str(skips), "--only", "p*", "l*"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        "SKIP peer: needs remote peer",
        "SKIP listed: contradicts its own table",
        "replay: 0 passed, 0 failed, 2 skipped",
    ]
    assert main([str(transcripts), "--profile", "x", "--only", "nope"]) == 2
    assert main([str(tmp_path / "missing.yaml"), "--profile", "x"]) == 2


@pytest.mark.parametrize("name", sorted(p.name for p in COPIES.glob("*transcripts.yaml")))
def test_reference_transcripts_classify(name: str) -> None:
    scenarios = load_scenarios(COPIES / name)
    assert scenarios
    for scenario in scenarios:
        steps = scenario.steps
        for before, step in zip(steps, steps[1:], strict=False):
            if before.kind is Kind.EXPECT and before.lines == (">",) and step.kind is Kind.SEND:
                assert step.data, (scenario.id, step.index)
