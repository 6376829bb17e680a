"""The subsystems a profile can be made of, by the name profiles use in `subsystems:`."""

from __future__ import annotations

from simulator.subsystems.bands import Bands
from simulator.subsystems.base import Subsystem
from simulator.subsystems.charset import Charset
from simulator.subsystems.files import ModuleFiles
from simulator.subsystems.http import HttpClient
from simulator.subsystems.identity import Identity
from simulator.subsystems.mqtt import Mqtt
from simulator.subsystems.packet import Packet
from simulator.subsystems.pdp import PdpContexts, StaticLink
from simulator.subsystems.power import Power
from simulator.subsystems.psm import Psm
from simulator.subsystems.qcfg import SystemConfig
from simulator.subsystems.qi_config import QiConfig
from simulator.subsystems.qi_errors import QiErrors
from simulator.subsystems.qi_services import QiServices
from simulator.subsystems.qi_sockets import QiSockets
from simulator.subsystems.radio import Radio
from simulator.subsystems.registration import Registration
from simulator.subsystems.rrc import Rrc
from simulator.subsystems.rtc import Rtc
from simulator.subsystems.signal import SignalReport
from simulator.subsystems.sim import Sim
from simulator.subsystems.sleep import DeepSleep
from simulator.subsystems.sms import Sms
from simulator.subsystems.ssl_contexts import SslContexts
from simulator.subsystems.ssl_sockets import SslSockets
from simulator.subsystems.v250 import V250, QEcho

REGISTRY: dict[str, type[Subsystem]] = {cls.name: cls for cls in (
    V250, QEcho, Identity, Power, Sim, Radio, Registration, SignalReport, Packet, Rtc, Rrc,
    Charset, Sms, ModuleFiles, SslContexts, Mqtt, HttpClient, PdpContexts, StaticLink, QiErrors,
    QiConfig, QiSockets, QiServices, SslSockets, SystemConfig, Bands, Psm, DeepSleep)}
