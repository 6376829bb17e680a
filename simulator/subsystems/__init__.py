"""The subsystems a profile can be made of, by the name profiles use in `subsystems:`."""

from __future__ import annotations

from simulator.subsystems.base import Subsystem
from simulator.subsystems.charset import Charset
from simulator.subsystems.identity import Identity
from simulator.subsystems.pdp import PdpContexts, StaticLink
from simulator.subsystems.power import Power
from simulator.subsystems.qi_config import QiConfig
from simulator.subsystems.qi_errors import QiErrors
from simulator.subsystems.qi_services import QiServices
from simulator.subsystems.qi_sockets import QiSockets
from simulator.subsystems.sms import Sms
from simulator.subsystems.v250 import V250, QEcho

REGISTRY: dict[str, type[Subsystem]] = {cls.name: cls for cls in (
    V250, QEcho, Identity, Power, Charset, Sms, PdpContexts, StaticLink, QiErrors, QiConfig,
    QiSockets, QiServices)}
