"""The message memories of a module: "SM" on the SIM and "ME" in the module's flash, each a
fixed number of numbered slots holding a status and a PDU (SMSC address, then TPDU), the way
EF_SMS keeps them. "MT" is the two seen as one: SM's slots first, then ME's.

The memories live in the module's data directory, so messages survive restarts like a SIM's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from simulator.sms import pdu


class Status(IntEnum):
    """27.005 <stat>: the number is the PDU-mode form, `text` the text-mode one."""

    REC_UNREAD = 0
    REC_READ = 1
    STO_UNSENT = 2
    STO_SENT = 3

    @property
    def text(self) -> str:
        return self.name.replace("_", " ")

    @property
    def received(self) -> bool:
        return self in (Status.REC_UNREAD, Status.REC_READ)

    @classmethod
    def from_text(cls, text: str) -> Status | None:
        return next((s for s in cls if s.text == text), None)


@dataclass
class Stored:
    status: Status
    pdu: bytes  # SMSC address (RP layer) then the TPDU

    @property
    def smsc(self) -> pdu.Address | None:
        return pdu.split_smsc(self.pdu)[0]

    @property
    def tpdu(self) -> bytes:
        return pdu.split_smsc(self.pdu)[1]

    def message(self) -> pdu.Tpdu:
        """SUBMITs are what the module wrote; the received ones are DELIVERs."""
        return pdu.decode(self.tpdu, mobile_originated=not self.status.received)

    def to_json(self) -> dict[str, Any]:
        return {"status": int(self.status), "pdu": self.pdu.hex().upper()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stored:
        return cls(Status(data["status"]), bytes.fromhex(data["pdu"]))


class Memory(Protocol):
    name: str

    @property
    def capacity(self) -> int: ...

    @property
    def first(self) -> int: ...

    @property
    def used(self) -> int: ...

    def get(self, index: int) -> Stored | None: ...

    def put(self, stored: Stored) -> int | None: ...

    def delete(self, index: int) -> bool: ...

    def items(self) -> list[tuple[int, Stored]]: ...


class Slots:
    """One physical memory: `capacity` slots numbered from `first`."""

    def __init__(self, name: str, capacity: int, first: int):
        self.name = name
        self.capacity = capacity
        self.first = first
        self.slots: dict[int, Stored] = {}

    @property
    def used(self) -> int:
        return len(self.slots)

    def valid(self, index: int) -> bool:
        return self.first <= index < self.first + self.capacity

    def get(self, index: int) -> Stored | None:
        return self.slots.get(index)

    def put(self, stored: Stored) -> int | None:
        """Store in the lowest free slot; None when the memory is full."""
        index = next((i for i in range(self.first, self.first + self.capacity)
                      if i not in self.slots), None)
        if index is not None:
            self.slots[index] = stored
        return index

    def delete(self, index: int) -> bool:
        return self.slots.pop(index, None) is not None

    def items(self) -> list[tuple[int, Stored]]:
        return sorted(self.slots.items())


class Combined:
    """"MT": SM's slots, then ME's numbered on after them; new messages fill SM first."""

    name = "MT"

    def __init__(self, sim: Slots, me: Slots):
        self.parts = (sim, me)

    @property
    def first(self) -> int:
        return self.parts[0].first

    @property
    def capacity(self) -> int:
        return sum(p.capacity for p in self.parts)

    @property
    def used(self) -> int:
        return sum(p.used for p in self.parts)

    def _locate(self, index: int) -> tuple[Slots, int] | None:
        sim, me = self.parts
        if sim.valid(index):
            return sim, index
        local = index - sim.capacity
        return (me, local) if me.valid(local) else None

    def get(self, index: int) -> Stored | None:
        found = self._locate(index)
        return found[0].get(found[1]) if found else None

    def put(self, stored: Stored) -> int | None:
        sim, me = self.parts
        index = sim.put(stored)
        if index is not None:
            return index
        index = me.put(stored)
        return None if index is None else index + sim.capacity

    def delete(self, index: int) -> bool:
        found = self._locate(index)
        return found[0].delete(found[1]) if found else False

    def items(self) -> list[tuple[int, Stored]]:
        sim, me = self.parts
        return sim.items() + [(i + sim.capacity, s) for i, s in me.items()]


class Memories:
    """Every memory of the module by name, loadable from and savable to plain JSON."""

    def __init__(self, capacities: dict[str, int], first: int):
        self.slots = {name: Slots(name, size, first) for name, size in capacities.items()}

    def names(self) -> list[str]:
        names = list(self.slots)
        if {"SM", "ME"} <= set(names):
            names.append("MT")
        return names

    def get(self, name: str) -> Memory | None:
        if name == "MT" and "MT" in self.names():
            return Combined(self.slots["SM"], self.slots["ME"])
        return self.slots.get(name)

    def to_json(self) -> dict[str, Any]:
        return {name: {str(i): s.to_json() for i, s in mem.items()}
                for name, mem in self.slots.items()}

    def load(self, data: dict[str, Any]) -> None:
        for name, slots in data.items():
            memory = self.slots.get(name)
            if memory is None:
                continue  # a memory the profile no longer has
            memory.slots = {int(i): Stored.from_json(s) for i, s in slots.items()
                            if memory.valid(int(i))}
