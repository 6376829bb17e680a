"""Scenario files: a timeline of control verbs and standing fault rules, in YAML.

```yaml
description: the network drops while the firmware uploads
faults:                          # in force from the start: `fault` verb arguments
  - {pattern: "AT+QIOPEN*", reply: "ERROR", times: 1}
  - "AT+QIDNSGIP* --delay 5"     # or the words `modemsim ctl` takes after `fault`
events:
  - at: 30s                      # module time after start
    do: network deregister       # the words `modemsim ctl` takes after TARGET
  - after: "AT+QISEND*"          # a command line as typed (case-insensitive, * wildcard)
    delay: 0.5s                  # optional; `times: N` fires on the first N matches (1)
    do: [network deregister, {verb: urc, text: "+QIURC: \\"pdpdeact\\",1"}]
  - every: 60s                   # optional `times: N` stops after N firings
    do: mqtt drop 0
```

The file is validated when loaded (every verb and argument, durations, keys); errors name the
file and line. Verbs a module cannot serve (no MQTT client...) are refused when the scenario
starts on that module, again naming the line. At run time each verb is a `control` event in the
traffic log with `source: scenario:LINE`; a verb the model refuses is a `scenario-error`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from simulator.control.registry import VERBS, Verb, VerbError, lookup, split_argv
from simulator.faults import Pattern
from simulator.profile import Duration

if TYPE_CHECKING:
    from simulator.clock import Timer
    from simulator.control.surface import Control
    from simulator.module import Module
    from simulator.traffic import Event as LogEvent


class ScenarioError(Exception):
    pass


@dataclass(frozen=True)
class Action:
    verb: Verb
    args: dict[str, Any]
    line: int


@dataclass
class Event:
    trigger: str  # "at", "after" or "every"
    line: int
    actions: list[Action]
    seconds: float = 0.0  # at: when; every: the interval; after: the delay
    pattern: Pattern | None = None  # after: the command line that sets it off
    times: int | None = None  # after: 1 unless given; every: unlimited unless given


@dataclass
class Scenario:
    path: Path
    description: str = ""
    faults: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ScenarioError(f"{path}: {exc.strerror}") from None
        return _Reader(path).scenario(text)

    def check(self, module: Module) -> None:
        """Refuse verbs this module has no subsystem for, naming their line."""
        actions = [*self.faults, *(a for e in self.events for a in e.actions)]
        for action in actions:
            if action.verb.needs is not None:
                try:
                    action.verb.needs.provider(module)
                except VerbError as exc:
                    raise ScenarioError(f"{self.path}:{action.line}: {action.verb.name}: "
                                        f"{exc}") from None

    def start(self, control: Control) -> ScenarioRun:
        return ScenarioRun(self, control)


class ScenarioRun:
    """A scenario playing on one module's clock; `stop` cancels what has not happened yet."""

    def __init__(self, scenario: Scenario, control: Control):
        self.scenario = scenario
        self.control = control
        self._clock = control.m.clock
        self._timers: set[Timer] = set()
        self._left: dict[int, int | None] = {}  # per event (by index): firings still to come
        self._after = [(i, e.pattern) for i, e in enumerate(scenario.events) if e.pattern]
        self._unsubscribe = control.m.log.subscribe(self._on_log) if self._after else None
        control.m.log.emit("scenario", file=str(scenario.path), description=scenario.description)
        for action in scenario.faults:
            self._do(action)
        for i, event in enumerate(scenario.events):
            self._left[i] = event.times
            if event.trigger != "after":
                self._later(event.seconds, i)

    def _later(self, delay: float, index: int) -> None:
        timer: Timer | None = None

        def fire() -> None:
            self._timers.discard(timer)
            self._fire(index)

        timer = self._clock.call_later(delay, fire)
        self._timers.add(timer)

    def _fire(self, index: int) -> None:
        event = self.scenario.events[index]
        for action in event.actions:
            self._do(action)
        if event.trigger == "every":
            left = self._left[index]
            if left is not None:
                self._left[index] = left - 1
            if left is None or left > 1:
                self._later(event.seconds, index)

    def _on_log(self, record: LogEvent) -> None:
        if record["kind"] != "command":
            return
        for index, pattern in self._after:
            left = self._left[index]
            if left and pattern.matches(record["line"]):
                self._left[index] = left - 1
                self._later(self.scenario.events[index].seconds, index)

    def _do(self, action: Action) -> None:
        try:
            self.control.run(action.verb.name, action.args, source=f"scenario:{action.line}")
        except VerbError as exc:
            self.control.m.log.emit("scenario-error", line=action.line, error=str(exc))

    def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        self._timers.clear()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


# -- loading with line numbers -------------------------------------------------------------
_TOP = {"description", "faults", "events"}
_EVENT = {"at", "after", "every", "delay", "times", "do"}
_TRIGGERS = ("at", "after", "every")


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self._constructor = SafeConstructor()

    def fail(self, node: Node, where: str, message: str) -> NoReturn:
        raise ScenarioError(f"{self.path}:{node.start_mark.line + 1}: {where}: {message}")

    def value(self, node: Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: Node, where: str, allowed: set[str] | None = None) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            self.fail(node, where, "expected a mapping")
        out: dict[str, Node] = {}
        for key, item in node.value:
            name = self.value(key)
            if not isinstance(name, str) or (allowed is not None and name not in allowed):
                known = f" (known: {', '.join(sorted(allowed))})" if allowed else ""
                self.fail(key, where, f"unknown key {name!r}{known}")
            out[name] = item
        return out

    def sequence(self, node: Node, where: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, where, "expected a list")
        return list(node.value)

    def duration(self, node: Node, where: str, positive: bool = False) -> float:
        try:
            seconds = Duration.parse(self.value(node))
        except ValueError as exc:
            self.fail(node, where, str(exc))
        if positive and seconds <= 0:
            self.fail(node, where, "must be longer than zero")
        return seconds

    # -- the document -----------------------------------------------------------------------
    def scenario(self, text: str) -> Scenario:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"{mark.line + 1}:" if mark else ""
            raise ScenarioError(f"{self.path}:{line} not valid YAML: "
                                f"{getattr(exc, 'problem', exc)}") from None
        if root is None:
            raise ScenarioError(f"{self.path}: empty scenario")
        top = self.mapping(root, "scenario", _TOP)
        scenario = Scenario(self.path)
        if "description" in top:
            scenario.description = str(self.value(top["description"]))
        if "faults" in top:
            scenario.faults = [self.fault(node, f"faults[{i}]")
                               for i, node in enumerate(self.sequence(top["faults"], "faults"))]
        if "events" in top:
            scenario.events = [self.event(node, f"events[{i}]")
                               for i, node in enumerate(self.sequence(top["events"], "events"))]
        return scenario

    def fault(self, node: Node, where: str) -> Action:
        spec = VERBS["fault"]
        if isinstance(node, ScalarNode):
            return self.words(node, where, self.split(node, where), spec)
        args = {k: self.value(v) for k, v in self.mapping(node, where).items()}
        return self.bound(node, where, spec, args)

    def event(self, node: Node, where: str) -> Event:
        keys = self.mapping(node, where, _EVENT)
        triggers = [t for t in _TRIGGERS if t in keys]
        if len(triggers) != 1:
            self.fail(node, where, "give exactly one of at:, after:, every:")
        trigger = triggers[0]
        if "do" not in keys:
            self.fail(node, where, "missing do:")
        if "delay" in keys and trigger != "after":
            self.fail(keys["delay"], where, "delay: goes with after:")
        if "times" in keys and trigger == "at":
            self.fail(keys["times"], where, "times: goes with after: or every:")
        event = Event(trigger, node.start_mark.line + 1, self.actions(keys["do"], f"{where}.do"))
        if trigger == "after":
            pattern = self.value(keys["after"])
            if not isinstance(pattern, str) or not pattern.strip():
                self.fail(keys["after"], f"{where}.after", "expected a command pattern")
            event.pattern = Pattern(pattern)
            event.times = 1
            if "delay" in keys:
                event.seconds = self.duration(keys["delay"], f"{where}.delay")
        else:
            event.seconds = self.duration(keys[trigger], f"{where}.{trigger}",
                                          positive=trigger == "every")
        if "times" in keys:
            times = self.value(keys["times"])
            if not isinstance(times, int) or isinstance(times, bool) or times < 1:
                self.fail(keys["times"], f"{where}.times", "expected a whole number >= 1")
            event.times = times
        return event

    def actions(self, node: Node, where: str) -> list[Action]:
        if isinstance(node, SequenceNode):
            return [self.action(item, f"{where}[{i}]") for i, item in enumerate(node.value)]
        return [self.action(node, where)]

    def action(self, node: Node, where: str) -> Action:
        if isinstance(node, ScalarNode):
            return self.words(node, where, self.split(node, where))
        keys = self.mapping(node, where)
        if "verb" not in keys:
            self.fail(node, where, "a mapping action names its verb: {verb: ..., ...}")
        try:
            spec = lookup(self.value(keys.pop("verb")))
        except VerbError as exc:
            self.fail(node, where, str(exc))
        return self.bound(node, where, spec, {k: self.value(v) for k, v in keys.items()})

    def split(self, node: Node, where: str) -> list[str]:
        try:
            return shlex.split(str(self.value(node)))
        except ValueError as exc:
            self.fail(node, where, str(exc))

    def words(self, node: Node, where: str, words: list[str], spec: Verb | None = None
              ) -> Action:
        """An action written as `modemsim ctl` words (after TARGET, or after the verb)."""
        try:
            if spec is None:
                spec, words = split_argv(words)
            args = spec.parse_argv(words)
        except VerbError as exc:
            self.fail(node, where, str(exc))
        return self.bound(node, where, spec, args)

    def bound(self, node: Node, where: str, spec: Verb, args: dict[str, Any]) -> Action:
        try:
            spec.bind(args)
        except VerbError as exc:
            self.fail(node, where, str(exc))
        return Action(spec, args, node.start_mark.line + 1)
