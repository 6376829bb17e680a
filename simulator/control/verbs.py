"""The control verbs: what a tester can make a running module's world do.

Each verb asks the model for one thing. Verbs about the network, power, URCs, faults and time
work on every module; the others need a subsystem that provides the methods their
`Capability` names (a subsystem that provides them serves the verb, nothing else to register):

| verb | subsystem method |
|---|---|
| `sim remove` / `sim insert` / `sim pin-required` | `remove()`, `insert()`, `require_pin()` |
| `pdp deactivate CID` | `deactivate_by_network(cid)` |
| `socket close ID` / `socket reset ID` | `close_by_peer(id)`, `reset_by_peer(id)` |
| `mqtt drop CLIENT` | `drop_broker(client)` |
| `sms deliver --from N --text T` | `deliver(sender, text)` |
| `wake` | `wake()` (the PSM_EINT pin) |
| `psm enter` | `enter_psm()` |

Such a method raises ValueError or LookupError with a readable message when its argument names
nothing (no such socket); the control surface reports that as the verb's error. These verbs
answer with their subsystem's snapshot.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal

from simulator.at.replies import Info
from simulator.control.registry import Capability, verb
from simulator.faults import fault_from_args

if TYPE_CHECKING:
    from simulator.channel import Channel
    from simulator.module import Module

Result = dict[str, Any]

SIM = Capability("SIM", ("insert", "remove", "require_pin"))
PDP = Capability("PDP contexts", ("deactivate_by_network",))
SOCKETS = Capability("sockets", ("close_by_peer", "reset_by_peer"))
MQTT = Capability("MQTT client", ("drop_broker",))
SMS = Capability("SMS", ("deliver",))
WAKE = Capability("PSM_EINT wake-up pin", ("wake",))
PSM = Capability("power saving mode (PSM)", ("enter_psm",))

# the physical range each signal figure can take (dBm, dB; 3GPP TS 36.133 extended ranges)
SIGNAL_RANGES = {"rssi": (-120, -20), "rsrp": (-156, -31), "rsrq": (-34, 3), "sinr": (-23, 40)}


# -- the whole module ----------------------------------------------------------------------
@verb("state")
def state(m: Module) -> Result:
    """The module's state as JSON: clock, channels, network, subsystems, timers, faults."""
    return {
        "name": m.name,
        "profile": m.profile.name,
        "model": m.profile.module,
        "family": m.profile.family,
        "booting": m.booting,  # in reset, the UART deaf
        "up": m.up,  # out of reset with the boot banner sent
        "clock": {"now": round(m.clock.now(), 3), "scale": m.clock.scale,
                  "rtc": m.clock.wall().isoformat()},
        "channels": [_channel(c) for c in m.channels],
        "network": _network(m),
        "subsystems": {s.name: s.snapshot() for s in m.subsystems},
        "timers": [{"does": t.name[:160], "remaining": round(t.remaining(), 3)}
                   for t in m.clock.pending()],
        "faults": m.faults.snapshot(),
    }


def _channel(c: Channel) -> Result:
    s = c.settings
    return {"name": c.name, "mode": c.line.mode.name.lower(), "echo": s.echo,
            "verbose": s.verbose, "quiet": s.quiet, "held_urcs": len(c._held),
            "unsent_bytes": c.outbox.pending()}


def _network(m: Module) -> Result:
    n = m.network
    return {"registration": n.state.name.lower(), "stat": int(n.state),
            "registered": n.state.registered, "operator": asdict(n.operator),
            "cell": asdict(n.cell), "signal": asdict(n.signal)}


@verb("reboot")
def reboot(m: Module) -> Result:
    """Reset the module: the boot banner follows; the port and its link stay valid."""
    m.reboot()
    return {"booting": True}


@verb("brownout")
def brownout(m: Module) -> Result:
    """Power loss mid-command: no final result, unsaved state lost, then boot."""
    m.power_loss()
    return {"booting": True}


def _check_scale(scale: float) -> None:
    if scale <= 0:
        raise ValueError("SCALE must be positive")


@verb("time-scale", check=_check_scale)
def time_scale(m: Module, scale: float) -> Result:
    """Module seconds per real second from now on (pending timers follow)."""
    m.clock.set_scale(scale)
    return {"scale": scale}


# -- the network ---------------------------------------------------------------------------
@verb("network register")
def network_register(m: Module, *, roaming: bool = False) -> Result:
    """The network accepts the module (home, or roaming with --roaming)."""
    m.network.register(roaming)
    return {"network": _network(m)}


@verb("network deregister")
def network_deregister(m: Module) -> Result:
    """Coverage is lost: the module keeps searching."""
    m.network.deregister()
    return {"network": _network(m)}


@verb("network deny")
def network_deny(m: Module) -> Result:
    """The network rejects the module's registration."""
    m.network.deny()
    return {"network": _network(m)}


@verb("network search")
def network_search(m: Module) -> Result:
    """A new search; the profile's outcome follows after its search time."""
    m.network.search()
    return {"network": _network(m)}


def _check_signal(**values: int | None) -> None:
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        raise ValueError("give at least one of --rssi, --rsrp, --rsrq, --sinr")
    for name, value in given.items():
        low, high = SIGNAL_RANGES[name]
        if not low <= value <= high:
            raise ValueError(f"--{name} {value} is outside {low}..{high}")


@verb("signal", check=_check_signal)
def signal(m: Module, *, rssi: int | None = None, rsrp: int | None = None,
           rsrq: int | None = None, sinr: int | None = None) -> Result:
    """Set the radio signal: RSSI and RSRP in dBm, RSRQ and SINR in dB."""
    for name, value in (("rssi", rssi), ("rsrp", rsrp), ("rsrq", rsrq), ("sinr", sinr)):
        if value is not None:
            setattr(m.network.signal, name, value)
    return {"signal": asdict(m.network.signal)}


# -- URCs and faults -----------------------------------------------------------------------
def _check_urc(text: str, inside: bool = False) -> None:
    if not text.strip():
        raise ValueError("TEXT is empty")


@verb("urc", check=_check_urc)
def urc(m: Module, text: str, *, inside: bool = False) -> Result:
    """Send TEXT as a URC (--inside: into the middle of the next multi-line response).

    Without --inside it waits for a running command's final result, as every URC does."""
    if inside:
        m.faults.urc_inside(text)
    else:
        m.urc(Info.text(text))
    return {"urc": text, "inside": inside}


@verb("fault", check=fault_from_args)
def fault(m: Module, pattern: str | None = None, *, reply: str | None = None,
          times: int | None = None, delay: float | None = None, silent: bool = False,
          bytes: Literal["drop", "corrupt", "fragment"] | None = None,
          rate: float | None = None, seed: int | None = None,
          stall: float | None = None) -> Result:
    """Inject a fault: PATTERN --reply/--delay/--silent, --bytes KIND --rate R, --stall S.

    COMMAND_PATTERN matches the command line as typed, case-insensitively, `*` a wildcard:
    --reply TEXT answers TEXT (lines split at newlines, the last is the final result) instead
    of running the command, --delay SECONDS runs it that much later, --silent swallows it;
    all for --times N lines, or until `fault clear`. --bytes drop|corrupt|fragment --rate R
    [--seed S] garbles everything the module sends; --stall SECONDS makes the port deaf and
    mute for that long (what it had to say comes out after)."""
    added = fault_from_args(pattern, reply=reply, times=times, delay=delay, silent=silent,
                            bytes=bytes, rate=rate, seed=seed, stall=stall)
    return {"added": m.faults.add(added)}


@verb("fault clear")
def fault_clear(m: Module) -> Result:
    """Remove every fault: rules, byte noise, a stall, URCs waiting to go inside."""
    m.faults.clear()
    return {"faults": m.faults.snapshot()}


# -- verbs served by subsystems ------------------------------------------------------------
@verb("sim remove", needs=SIM)
def sim_remove(sim: Any) -> None:
    """The SIM card leaves its holder."""
    sim.remove()


@verb("sim insert", needs=SIM)
def sim_insert(sim: Any) -> None:
    """A SIM card is inserted."""
    sim.insert()


@verb("sim pin-required", needs=SIM)
def sim_pin_required(sim: Any) -> None:
    """The SIM asks for its PIN (+CPIN: SIM PIN)."""
    sim.require_pin()


@verb("pdp deactivate", needs=PDP)
def pdp_deactivate(pdp: Any, cid: int) -> None:
    """The network deactivates PDP context CID (its sockets close)."""
    pdp.deactivate_by_network(cid)


@verb("socket close", needs=SOCKETS)
def socket_close(sockets: Any, id_: int) -> None:
    """The remote peer closes connection ID."""
    sockets.close_by_peer(id_)


@verb("socket reset", needs=SOCKETS)
def socket_reset(sockets: Any, id_: int) -> None:
    """The remote peer resets connection ID."""
    sockets.reset_by_peer(id_)


@verb("mqtt drop", needs=MQTT)
def mqtt_drop(mqtt: Any, client: int) -> None:
    """The broker link of MQTT client CLIENT breaks."""
    mqtt.drop_broker(client)


@verb("sms deliver", needs=SMS)
def sms_deliver(sms: Any, *, from_: str, text: str) -> None:
    """An SMS arrives from --from NUMBER with --text TEXT."""
    sms.deliver(from_, text)


@verb("wake", needs=WAKE)
def wake(power: Any) -> None:
    """Pulse the PSM_EINT pin: the module wakes from PSM or deep sleep."""
    power.wake()


@verb("psm enter", needs=PSM)
def psm_enter(power: Any) -> None:
    """The network releases the connection and the module enters PSM now."""
    power.enter_psm()
