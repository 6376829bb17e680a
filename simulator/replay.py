"""Replay reference transcripts (`*.transcripts.yaml`) against fresh simulator processes.

Each scenario gets its own `python -m simulator run` process (fresh state, its own data
directory) and is driven over the real PTY with pyserial, the way a host program would.
Scenarios are reported `PASS id`, `FAIL id: step N: expected '...' got '...'` or
`SKIP id: reason`, then one summary line.

Everything above the "I/O" section needs no simulator: the transcript model and send
classification, line matching, byte-stream splitting and reports are pure functions, and the
replay engine talks to the module only through a `Transport`.
"""

from __future__ import annotations

import argparse
import codecs
import fnmatch
import functools
import json
import os
import queue
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum, auto
from pathlib import Path
from typing import IO, Protocol

import serial
import yaml

PROMPT = ">"
CTRL_Z, ESC = "\x1a", "\x1b"
ESCAPE_SEQUENCE = "+++"
# Expect [] asserts silence; this is how long we listen for it.
QUIET_SECONDS = 0.5
# Quiet gap that ends the start-up drain (boot URCs, answers to repeated probes).
SETTLE_SECONDS = 0.2
# The probe is repeated because a booting module ignores input, as real ones do.
PROBE_INTERVAL = 1.0
START_TIMEOUT = 60.0  # a loaded machine starts slowly
STOP_TIMEOUT = 5.0

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# --- transcript model --------------------------------------------------------------------


class Kind(StrEnum):
    SEND = "send"
    EXPECT = "expect"
    URC = "urc"
    WAIT = "wait"
    REMOTE = "remote"
    NOTE = "note"


class Mode(Enum):
    """What the module's UART does with the host's next bytes, as the transcript implies."""

    COMMAND = auto()  # AT command lines, each ended by CR
    PROMPT = auto()  # payload after a '>' prompt
    ONLINE = auto()  # transparent data mode after CONNECT, left with +++


@dataclass(frozen=True)
class Step:
    index: int  # 1-based position in the scenario's YAML step list, for reports
    kind: Kind
    text: str = ""  # send, wait, remote, note
    lines: tuple[str, ...] = ()  # expect, urc
    data: bool = False  # send: raw payload, written without a CR
    mode: Mode = Mode.COMMAND  # send: the UART mode it is typed in
    seconds: float | None = None  # wait: duration named in the text, in module time


@dataclass(frozen=True)
class Scenario:
    id: str
    steps: tuple[Step, ...]


# A bare CONNECT (optionally with a rate) enters data mode; M66's "CONNECT OK" does not.
_ONLINE_RESULT = re.compile(r"CONNECT(?: \d+)?")
# URCs that drop a module out of transparent mode by itself.
_DATA_MODE_EXITS = frozenset({"NO CARRIER", "CLOSED"})
_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|hours?|h)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"m": 0.001, "s": 1.0, "h": 3600.0}  # by first letter; minutes are "min..."


def parse_seconds(text: str) -> float | None:
    """The first duration named in a wait's free text ("at least 500 ms guard" -> 0.5)."""
    found = _DURATION.search(text)
    if not found:
        return None
    unit = found[2].lower()
    factor = 60.0 if unit.startswith("min") else _UNIT_SECONDS[unit[0]]
    return float(found[1]) * factor


def is_data_send(text: str, mode: Mode) -> bool:
    """True when a send is raw payload (no CR): after '>' or CONNECT, Ctrl-Z/ESC, or +++."""
    return mode is not Mode.COMMAND or text == ESCAPE_SEQUENCE or text.endswith((CTRL_Z, ESC))


def next_mode(mode: Mode, kind: Kind, lines: Sequence[str]) -> Mode:
    """The UART mode after the module printed `lines` as a response or as URCs."""
    if not lines:
        return mode
    last = lines[-1]
    if last == PROMPT:
        return Mode.PROMPT
    if _ONLINE_RESULT.fullmatch(last):
        return Mode.ONLINE
    # A URC in data mode is usually received payload; only a final result leaves it.
    if kind is Kind.EXPECT or last in _DATA_MODE_EXITS:
        return Mode.COMMAND
    return mode


def _parse_step(raw: object, index: int) -> Step:
    """A step as written, before the send classification that needs its neighbours."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ValueError(f"step {index}: expected a one-key mapping, got {raw!r}")
    ((key, value),) = raw.items()
    try:
        kind = Kind(key)
    except ValueError:
        raise ValueError(f"step {index}: unknown step kind {key!r}") from None
    if kind in (Kind.EXPECT, Kind.URC):
        if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
            raise ValueError(f"step {index}: {key} must be a list of strings, got {value!r}")
        return Step(index, kind, lines=tuple(value))
    if not isinstance(value, str):
        raise ValueError(f"step {index}: {key} must be a string, got {value!r}")
    seconds = parse_seconds(value) if kind is Kind.WAIT else None
    return Step(index, kind, text=value, seconds=seconds)


def classify_steps(raw_steps: Sequence[object]) -> tuple[Step, ...]:
    """Typed steps from a scenario's YAML list; each send is marked as data or command."""
    return _classified(_parse_step(raw, index) for index, raw in enumerate(raw_steps, 1))


def _classified(parsed: Iterable[Step]) -> tuple[Step, ...]:
    steps: list[Step] = []
    mode = Mode.COMMAND
    for step in parsed:
        if step.kind in (Kind.EXPECT, Kind.URC):
            mode = next_mode(mode, step.kind, step.lines)
        elif step.kind is Kind.SEND:
            step = replace(step, data=is_data_send(step.text, mode), mode=mode)
            if mode is Mode.PROMPT and step.text.endswith((CTRL_Z, ESC)):
                mode = Mode.COMMAND  # Ctrl-Z sends, ESC cancels: data entry is over
        steps.append(step)
    return tuple(steps)


def substitute_sends(steps: Sequence[Step], send: Mapping[str, str]) -> tuple[Step, ...]:
    """What the host really types where the document misspells a command or elides input: a
    send's text replaced, or a wait ("host writes the 1757 bytes ...") turned into a send."""
    if not send:
        return tuple(steps)
    return _classified(
        Step(step.index, Kind.SEND, text=send[step.text])
        if step.kind in (Kind.SEND, Kind.WAIT) and step.text in send
        else step
        for step in steps
    )


def parse_transcripts(document: object) -> list[Scenario]:
    if not isinstance(document, list):
        raise ValueError("a transcript file must be a YAML list of scenarios")
    scenarios = []
    for entry in document:
        if not isinstance(entry, Mapping) or "id" not in entry or "steps" not in entry:
            raise ValueError(f"a scenario needs an id and steps: {entry!r:.80}")
        try:
            scenarios.append(Scenario(str(entry["id"]), classify_steps(entry["steps"])))
        except ValueError as exc:
            raise ValueError(f"scenario {entry['id']}: {exc}") from None
    return scenarios


def select_scenarios(scenarios: Iterable[Scenario], globs: Sequence[str]) -> list[Scenario]:
    if not globs:
        return list(scenarios)
    return [s for s in scenarios if any(fnmatch.fnmatchcase(s.id, g) for g in globs)]


def payload_bytes(step: Step) -> bytes:
    """What goes on the wire for a send: data as is, a command line ended by CR."""
    return step.text.encode() if step.data else f"{step.text}\r".encode()


def echo_lines(step: Step) -> frozenset[str]:
    """Lines the module may echo back for a send (command echo, or payload echo like QISDE)."""
    if step.mode is Mode.ONLINE:
        return frozenset()  # transparent mode never echoes; the peer may send the same text
    text = step.text.rstrip(CTRL_Z + ESC) if step.data else step.text
    return frozenset(line for line in _LINE_BREAK.split(text) if line.strip())


def later_claims(steps: Sequence[Step], start: int) -> tuple[str, ...]:
    """Lines that steps[start:] may still consume, so an early arrival can be set aside.

    Any later URC may come early (its timer may run fast), but a response cannot come
    before its command: expect lines only count up to the next send.
    """
    claims: list[str] = []
    before_send = True
    for step in steps[start:]:
        if step.kind is Kind.SEND:
            before_send = False
        elif step.kind is Kind.URC or (step.kind is Kind.EXPECT and before_send):
            claims.extend(step.lines)
    return tuple(claims)


# --- matching ---------------------------------------------------------------------------

# `<IMEI>`, `<Received data>`, `<type_name>`: document placeholders for values that vary.
_PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z0-9_]*(?: [A-Za-z0-9_]+)*)>")
# HTTP bodies in the transcripts are real markup; their tags are literal text.
_HTML_TAGS = frozenset(
    {"html", "head", "body", "title", "br", "p", "div", "span", "string", "pre", "meta"}
    | {f"h{level}" for level in range(1, 7)}
)


@functools.lru_cache(maxsize=4096)
def line_pattern(expected: str) -> re.Pattern[str]:
    """A regex for an expected line: literal, except that a placeholder matches any run."""
    parts: list[str] = []
    position = 0
    for token in _PLACEHOLDER.finditer(expected):
        if token[1].lower() in _HTML_TAGS:
            continue
        parts += [re.escape(expected[position : token.start()]), ".+"]
        position = token.end()
    parts.append(re.escape(expected[position:]))
    return re.compile("".join(parts), re.DOTALL)


def line_matches(expected: str, got: str, alternatives: Iterable[str] = ()) -> bool:
    """Whether `got` is `expected` or one of the tolerated alternatives (placeholders apply)."""
    return any(line_pattern(want).fullmatch(got) for want in (expected, *alternatives))


@dataclass(frozen=True)
class Override:
    """A skip-list entry: skip the scenario, tolerate other lines for expected ones, and/or
    send other input than the document prints (`substitute_sends`)."""

    skip: str | None = None
    tolerate: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    send: Mapping[str, str] = field(default_factory=dict)


def _parse_override(key: str, value: object) -> Override:
    if isinstance(value, str):
        return Override(skip=value)
    if not isinstance(value, Mapping) or not set(value) <= {"skip", "tolerate", "send"}:
        raise ValueError(f"{key}: expected a reason or a mapping with skip/tolerate/send")
    send = value.get("send") or {}
    if not isinstance(send, Mapping) or not all(isinstance(v, str) for v in send.values()):
        raise ValueError(f"{key}: send must map a document's input to the input to send")
    tolerate = value.get("tolerate") or {}
    if not isinstance(tolerate, Mapping):
        raise ValueError(f"{key}: tolerate must map an expected line to accepted lines")
    accepted: dict[str, tuple[str, ...]] = {}
    for expected, lines in tolerate.items():
        lines = [lines] if isinstance(lines, str) else lines
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise ValueError(f"{key}: tolerate {expected!r}: give a line or a list of lines")
        accepted[str(expected)] = tuple(lines)
    skip = value.get("skip")
    return Override(
        None if skip is None else str(skip),
        accepted,
        {str(printed): typed for printed, typed in send.items()},
    )


def parse_overrides(document: object) -> dict[str, Override]:
    """A skip list: `id-or-glob: reason` or `id-or-glob: {skip: reason, tolerate: {...}}`."""
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ValueError("a skip list must be a YAML mapping of scenario id to entry")
    return {str(key): _parse_override(str(key), value) for key, value in document.items()}


def override_for(scenario_id: str, overrides: Mapping[str, Override]) -> Override:
    """All entries whose id glob matches, merged (the bring-up rows repeat per section)."""
    skip: str | None = None
    tolerate: dict[str, tuple[str, ...]] = {}
    send: dict[str, str] = {}
    for pattern, entry in overrides.items():
        if fnmatch.fnmatchcase(scenario_id, pattern):
            skip = skip or entry.skip
            for expected, lines in entry.tolerate.items():
                tolerate[expected] = tolerate.get(expected, ()) + lines
            send.update(entry.send)
    return Override(skip, tolerate, send)


def skip_reason(scenario: Scenario, override: Override, can_drive_remote: bool) -> str | None:
    if override.skip:
        return override.skip
    kinds = {step.kind for step in scenario.steps}
    if Kind.REMOTE in kinds and not can_drive_remote:
        return "needs remote peer"
    if not kinds & {Kind.SEND, Kind.EXPECT, Kind.URC}:
        return "nothing to replay"
    return None


# --- the module's byte stream -----------------------------------------------------------


class LineSplitter:
    """Cuts the module's output into lines: CR or LF ends one, blank lines vanish, and a
    trailing '>' or '> ' is the data prompt (the module prints it without a line end)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._after_prompt = False

    def feed(self, chunk: bytes) -> list[str]:
        text = self._decoder.decode(chunk)
        if self._after_prompt and not self._partial and text.startswith(" "):
            text = text[1:]  # the prompt's space came in a chunk of its own
        self._after_prompt = False
        *complete, self._partial = _LINE_BREAK.split(self._partial + text)
        lines = [line for line in complete if line.strip()]
        if self._partial.rstrip(" ") == PROMPT:
            lines.append(PROMPT)
            self._after_prompt = self._partial == PROMPT
            self._partial = ""
        return lines


# --- reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    id: str
    status: str  # PASS, FAIL or SKIP
    detail: str = ""
    seconds: float = 0.0


def describe_mismatch(step: int, expected: str | None, got: str | None, waited: float) -> str:
    """One line for a FAIL; `expected` None means silence was expected."""
    want = "nothing" if expected is None else repr(expected)
    if got is None:
        return f"step {step}: expected {want} got nothing within {waited:g} s"
    return f"step {step}: expected {want} got {got!r}"


def format_result(result: Result) -> str:
    if result.status == PASS:
        return f"PASS {result.id}"
    return f"{result.status} {result.id}: {result.detail}"


def _counts(results: Sequence[Result]) -> dict[str, int]:
    return {
        "passed": sum(r.status == PASS for r in results),
        "failed": sum(r.status == FAIL for r in results),
        "skipped": sum(r.status == SKIP for r in results),
    }


def format_summary(results: Sequence[Result]) -> str:
    counts = _counts(results)
    return (
        f"replay: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    )


def report_json(results: Sequence[Result]) -> str:
    rows = [
        {"id": r.id, "status": r.status, "detail": r.detail, "seconds": round(r.seconds, 3)}
        for r in results
    ]
    return json.dumps({"results": rows, **_counts(results)}, indent=2)


# --- the replay engine (I/O behind a Transport) -----------------------------------------


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...

    def read_line(self, deadline: float) -> str | None:
        """The next non-blank line, or None once time.monotonic() passes `deadline`."""
        ...


@dataclass(frozen=True)
class ReplayOptions:
    profile: str
    timeout: float = 10.0  # real seconds per expected line or URC
    time_scale: float | None = None  # passed to the simulator; module time runs X times faster
    strict: bool = False
    no_echo: bool = True  # probe with ATE0 (tolerating ERROR) rather than plain AT
    routes: tuple[str, ...] = ()
    remote_hook: str | None = None
    # The command that starts a module; tests put a fake modem here.
    simulator: tuple[str, ...] = (sys.executable, "-m", "simulator")
    log: Callable[[str], None] | None = None

    def real_seconds(self, module_seconds: float) -> float:
        return module_seconds / (self.time_scale or 1.0)


_FINAL_RESULT = re.compile(r"OK|ERROR|\+CM[ES] ERROR:.*")


class Replayer:
    """Drives one scenario over a transport; `run` returns None or the FAIL detail.

    Outside --strict, a line that a later step expects (an early URC, a deferred result) is
    set aside for that step, and a URC step ignores unrelated URCs. An expect step never
    ignores a line: responses must match in order.
    """

    def __init__(
        self,
        transport: Transport,
        options: ReplayOptions,
        tolerate: Mapping[str, Sequence[str]] | None = None,
        remote: Callable[[str], str | None] | None = None,
        log: Callable[[str], None] = lambda message: None,
        send: Mapping[str, str] | None = None,
    ):
        self._io = transport
        self._options = options
        self._tolerate = tolerate or {}
        self._send_instead = send or {}
        self._remote = remote
        self._log = log
        self._pending: deque[str] = deque()  # received, not consumed yet, oldest first
        self._echo: frozenset[str] = frozenset()
        self._pause = 0.0  # real seconds named by wait steps, used by the next I/O step

    def run(self, steps: Sequence[Step]) -> str | None:
        steps = substitute_sends(steps, self._send_instead)
        self._start(later_claims(steps, 0))
        for position, step in enumerate(steps):
            claims = () if self._options.strict else later_claims(steps, position + 1)
            failure = self._do(step, claims)
            if failure:
                return failure
        return None

    def _do(self, step: Step, claims: Sequence[str]) -> str | None:
        if step.kind is Kind.SEND:
            self._send(step)
        elif step.kind is Kind.EXPECT:
            return self._expect(step, claims) if step.lines else self._silence(step, claims)
        elif step.kind is Kind.URC:
            return self._await_urcs(step, claims)
        elif step.kind is Kind.WAIT:
            self._log(f"wait {step.text!r}")
            if step.seconds:
                self._pause += self._options.real_seconds(step.seconds)
        elif step.kind is Kind.REMOTE:
            return self._run_remote(step)
        return None

    def _start(self, claims: Sequence[str]) -> None:
        """Probe until the module answers, then keep only boot lines the scenario expects."""
        probe = "ATE0" if self._options.no_echo else "AT"
        boot: list[str] = []
        deadline = time.monotonic() + self._options.timeout
        answered = False
        while not answered and time.monotonic() < deadline:
            self._io.write(f"{probe}\r".encode())
            retry_at = min(deadline, time.monotonic() + PROBE_INTERVAL)
            while (line := self._io.read_line(retry_at)) is not None:
                if _FINAL_RESULT.fullmatch(line):
                    answered = True
                    break
                if line != probe:
                    boot.append(line)
        if not answered:
            self._log(f"no answer to {probe} within {self._options.timeout:g} s")
        drain_until = time.monotonic() + self._options.timeout  # for a module never silent
        while (
            time.monotonic() < drain_until
            and (line := self._io.read_line(time.monotonic() + SETTLE_SECONDS)) is not None
        ):
            if line != probe and not _FINAL_RESULT.fullmatch(line):
                boot.append(line)
        self._pending.extend(line for line in boot if self._claimed(line, claims))

    def _send(self, step: Step) -> None:
        if self._pause:
            # Transcript pauses are examples ("e.g. 8 minutes"): never longer than a step.
            time.sleep(min(self._pause, self._options.timeout))
            self._pause = 0.0
        self._log(f"{'data' if step.data else 'send'} {step.text!r}")
        self._echo = echo_lines(step)
        self._io.write(payload_bytes(step))

    def _deadline(self) -> float:
        extra, self._pause = self._pause, 0.0
        return time.monotonic() + self._options.timeout + extra

    def _next_line(self, deadline: float) -> str | None:
        if self._pending:
            return self._pending.popleft()
        while (line := self._io.read_line(deadline)) is not None:
            if line not in self._echo:
                self._echo = frozenset()  # echo only ever precedes the answer
                self._log(f"recv {line!r}")
                return line
            self._log(f"echo {line!r}")
        return None

    def _matches(self, expected: str, got: str) -> bool:
        return line_matches(expected, got, self._tolerate.get(expected, ()))

    def _claimed(self, line: str, claims: Sequence[str]) -> bool:
        return any(self._matches(claim, line) for claim in claims)

    def _set_aside(self, lines: list[str]) -> None:
        # Set-aside lines arrived before anything still pending: keep arrival order.
        self._pending.extendleft(reversed(lines))

    def _expect(self, step: Step, claims: Sequence[str]) -> str | None:
        aside: list[str] = []
        try:
            deadline = self._deadline()
            for want in step.lines:
                while True:
                    got = self._next_line(deadline)
                    if got is not None and self._matches(want, got):
                        break
                    if got is None or not self._claimed(got, claims):
                        return describe_mismatch(step.index, want, got, self._options.timeout)
                    aside.append(got)
                deadline = time.monotonic() + self._options.timeout
        finally:
            self._set_aside(aside)
        return None

    def _silence(self, step: Step, claims: Sequence[str]) -> str | None:
        aside: list[str] = []
        deadline = time.monotonic() + QUIET_SECONDS + self._pause
        self._pause = 0.0
        try:
            while (got := self._next_line(deadline)) is not None:
                if not self._claimed(got, claims):
                    return describe_mismatch(step.index, None, got, QUIET_SECONDS)
                aside.append(got)
        finally:
            self._set_aside(aside)
        return None

    def _await_urcs(self, step: Step, claims: Sequence[str]) -> str | None:
        aside: list[str] = []
        try:
            for want in step.lines:
                deadline = self._deadline()
                while True:
                    got = self._next_line(deadline)
                    if got is not None and self._matches(want, got):
                        break
                    if got is None or self._options.strict:
                        return describe_mismatch(step.index, want, got, self._options.timeout)
                    if self._claimed(got, claims):
                        aside.append(got)
                    else:
                        self._log(f"ignored {got!r}")
        finally:
            self._set_aside(aside)
        return None

    def _run_remote(self, step: Step) -> str | None:
        self._log(f"remote {step.text!r}")
        if self._remote is None:
            return f"step {step.index}: no remote hook for {step.text!r}"
        failure = self._remote(step.text)
        return f"step {step.index}: {failure}" if failure else None


# --- I/O: simulator processes and serial ports -------------------------------------------

_READY_LINE = re.compile(r".+? ready on (?P<port>\S+)(?: \(link .+\))?")
_REPO_ROOT = Path(__file__).resolve().parent.parent


class SimulatorError(RuntimeError):
    pass


def simulator_command(options: ReplayOptions, data_dir: Path) -> list[str]:
    command = [*options.simulator, "run", "--profile", options.profile]
    command += ["--data-dir", str(data_dir)]
    if options.time_scale is not None:
        command += ["--time-scale", f"{options.time_scale:g}"]
    for route in options.routes:
        command += ["--route", route]
    return command


def _first_line_then_drain(stream: IO[str], first: queue.Queue[str]) -> None:
    first.put(stream.readline())  # "" at EOF: the process died before it was ready
    for _ in stream:  # keep reading so a chatty simulator never blocks on a full pipe
        pass


class Simulator:
    """One simulator process, from its ready line to SIGTERM; entering yields the PTY path."""

    def __init__(self, command: Sequence[str], workdir: Path):
        self._command = list(command)
        self._stderr_path = workdir / "simulator.stderr"
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        # The simulator imported by `-m simulator` must be this checkout, installed or not.
        path = os.pathsep.join(filter(None, [str(_REPO_ROOT), os.environ.get("PYTHONPATH")]))
        with self._stderr_path.open("w") as stderr:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "PYTHONPATH": path},
            )
        first: queue.Queue[str] = queue.Queue()
        assert self._process.stdout is not None
        threading.Thread(
            target=_first_line_then_drain, args=(self._process.stdout, first), daemon=True
        ).start()
        try:
            return self._await_ready(first)
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _await_ready(self, first: queue.Queue[str]) -> str:
        try:
            line = first.get(timeout=START_TIMEOUT).rstrip("\r\n")
        except queue.Empty:
            raise SimulatorError(f"simulator printed no line in {START_TIMEOUT:g} s") from None
        ready = _READY_LINE.fullmatch(line)
        if ready:
            return ready["port"]
        if not line:
            code = self._process.wait() if self._process else None
            raise SimulatorError(f"simulator exited with {code}: {self.stderr_tail()}")
        raise SimulatorError(f"simulator printed {line!r}, not a ready line")

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def crashed(self) -> bool:
        """Ended other than by our SIGTERM: a clean stop exits 0 (or dies of the signal)."""
        code = self._process.returncode if self._process else None
        return code not in (None, 0, -signal.SIGTERM)

    def stderr_tail(self, lines: int = 5) -> str:
        try:
            tail = self._stderr_path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return " | ".join(tail)


class _UnflushedSerial(serial.Serial):
    """pyserial discards pending input on open, which would lose boot URCs (RDY...) the
    module printed between its ready line and our open; a replay needs them."""

    def _reset_input_buffer(self) -> None:
        pass


class SerialTransport:
    """A pyserial port in non-blocking mode, read through a LineSplitter."""

    def __init__(self, port: serial.Serial):
        self._port = port
        self._splitter = LineSplitter()
        self._lines: deque[str] = deque()

    def write(self, data: bytes) -> None:
        self._port.write(data)
        self._port.flush()

    def read_line(self, deadline: float) -> str | None:
        while not self._lines:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([self._port.fileno()], [], [], remaining)
            if readable:
                self._lines.extend(self._splitter.feed(self._port.read(self._port.in_waiting or 1)))
        return self._lines.popleft()


def _remote_hook(
    command: str, scenario_id: str, port: str, timeout: float
) -> Callable[[str], str | None]:
    """A remote step runs COMMAND in a shell with the step text in $REPLAY_REMOTE."""

    def run(text: str) -> str | None:
        env = {
            **os.environ,
            "REPLAY_SCENARIO": scenario_id,
            "REPLAY_PORT": port,
            "REPLAY_REMOTE": text,
        }
        try:
            done = subprocess.run(command, shell=True, env=env, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return f"remote hook still running after {timeout:g} s"
        return f"remote hook exited with {done.returncode}" if done.returncode else None

    return run


def replay_scenario(scenario: Scenario, override: Override, options: ReplayOptions) -> Result:
    """Replay one scenario on a simulator of its own."""
    reason = skip_reason(scenario, override, options.remote_hook is not None)
    if reason:
        return Result(scenario.id, SKIP, reason)
    started = time.monotonic()
    log = options.log or (lambda message: None)
    with tempfile.TemporaryDirectory(prefix="modemsim-replay-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        simulator = Simulator(simulator_command(options, workdir / "data"), workdir)
        try:
            with simulator as port_path, _UnflushedSerial(port_path, timeout=0) as port:
                remote = None
                if options.remote_hook:
                    remote = _remote_hook(
                        options.remote_hook, scenario.id, port_path, options.timeout
                    )
                replayer = Replayer(
                    SerialTransport(port),
                    options,
                    override.tolerate,
                    remote,
                    lambda message: log(f"{scenario.id}: {message}"),
                    override.send,
                )
                failure = replayer.run(scenario.steps)
        except SimulatorError as exc:  # its message carries the stderr tail
            return Result(scenario.id, FAIL, str(exc), time.monotonic() - started)
        except (serial.SerialException, OSError) as exc:
            failure = f"port: {exc}"
        if failure and simulator.crashed:
            # a crash explains the failure better than the timeout or EIO it caused
            failure += f" (simulator crashed: {simulator.stderr_tail(1)})"
        elif failure and (tail := simulator.stderr_tail()):
            log(f"{scenario.id}: simulator stderr: {tail}")
    status = FAIL if failure else PASS
    return Result(scenario.id, status, failure or "", time.monotonic() - started)


def load_scenarios(path: Path) -> list[Scenario]:
    return parse_transcripts(yaml.safe_load(path.read_text()))


def load_overrides(paths: Iterable[Path]) -> dict[str, Override]:
    overrides: dict[str, Override] = {}
    for path in paths:
        try:
            overrides.update(parse_overrides(yaml.safe_load(path.read_text())))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return overrides


def replay_all(
    scenarios: Sequence[Scenario],
    overrides: Mapping[str, Override],
    options: ReplayOptions,
    jobs: int = 1,
) -> Iterator[Result]:
    """Results in scenario order; with jobs > 1 scenarios run in parallel threads."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(
            lambda s: replay_scenario(s, override_for(s.id, overrides), options), scenarios
        )


# --- command line -----------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("transcripts", type=Path, metavar="FILE", help="a *.transcripts.yaml")
    parser.add_argument("--profile", required=True, help="simulator profile, e.g. ec200t")
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        default=[],
        metavar="ID_GLOB",
        help="replay only scenarios whose id matches one of these globs",
    )
    parser.add_argument(
        "--skip-list",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="YAML: id-or-glob: reason, or id-or-glob: {skip: reason, "
        "tolerate: {expected line: [accepted lines]}, send: {printed input: input to send}}; "
        "repeatable",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="S",
        help="real seconds to wait for each expected line or URC "
        "(default 10); also the longest pause a wait step makes",
    )
    parser.add_argument(
        "--time-scale",
        type=_positive_float,
        metavar="X",
        help="passed to the simulator (module time runs X times faster); "
        "durations in wait steps are divided by it",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="no unrelated or early URCs: lines must arrive exactly in order",
    )
    echo = parser.add_mutually_exclusive_group()
    echo.add_argument(
        "--no-echo",
        dest="no_echo",
        action="store_true",
        default=True,
        help="start each scenario with ATE0, tolerating ERROR (default)",
    )
    echo.add_argument(
        "--keep-echo",
        dest="no_echo",
        action="store_false",
        help="start with a plain AT; echoed lines are still dropped",
    )
    parser.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="scenarios to run in parallel (default 1)",
    )
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="A:P=B:Q",
        help="passed to the simulator; repeatable",
    )
    parser.add_argument(
        "--remote-hook",
        metavar="CMD",
        help="shell command run for each remote step, with REPLAY_REMOTE, "
        "REPLAY_SCENARIO and REPLAY_PORT set; without it such scenarios "
        "are skipped",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON report")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every line sent and received to stderr"
    )


def _log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 when nothing failed, 1 on a failure, 2 on unusable input."""
    try:
        scenarios = select_scenarios(load_scenarios(args.transcripts), args.only)
        overrides = load_overrides(args.skip_list)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    if not scenarios:
        print(f"replay: no scenario in {args.transcripts} matches", file=sys.stderr)
        return 2
    options = ReplayOptions(
        profile=args.profile,
        timeout=args.timeout,
        time_scale=args.time_scale,
        strict=args.strict,
        no_echo=args.no_echo,
        routes=tuple(args.route),
        remote_hook=args.remote_hook,
        log=_log_to_stderr if args.verbose else None,
    )
    results = []
    for result in replay_all(scenarios, overrides, options, args.jobs):
        results.append(result)
        if not args.json:
            print(format_result(result), flush=True)
    print(report_json(results) if args.json else format_summary(results))
    return 1 if any(r.status == FAIL for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="replay", description="Replay reference transcripts against the simulator."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
