"""The machines one export is audited against: the order's, and its sub-orders' refunds.

An export names one machine. When a shipped machine lives under it (Taobao refunds under
``taobao_order``), a ``refund_status`` column is audited against that child machine, each
change judged with the main order's status on the same row as its parent status. Naming
the child machine (``taobao_refund``) audits the same pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from orderfsm.check.audit.rules import StepRules
from orderfsm.model.compile import SHIPPED_TABLES, CompiledMachine, load


def child_machine(machine: CompiledMachine) -> CompiledMachine | None:
    """The shipped machine whose parent is ``machine`` (Taobao refunds), if any."""
    for name in SHIPPED_TABLES:
        candidate = load(name)
        if candidate.parent is not None and candidate.parent.name == machine.name:
            return candidate
    return None


def spellings(machine: CompiledMachine) -> dict[str, str]:
    """Every text an export may carry for a status (code, name, aliases, raw) -> its name.

    Exact text only: ``"012"`` or ``"10.0"`` are not ``10``, in both engines alike.
    """
    out: dict[str, str] = {}
    for s in machine.states:
        for value in (s.code, s.name, *s.aliases, *([s.raw] if s.raw else [])):
            out.setdefault(str(value), s.name)
    return out


@dataclass(frozen=True, slots=True)
class Part:
    """One machine of the audit, with what the engines need to judge its changes fast."""

    machine: CompiledMachine
    rules: StepRules
    spell: dict[str, str]
    history: frozenset[str]
    final: frozenset[str]

    @classmethod
    def of(cls, machine: CompiledMachine) -> Part:
        return cls(
            machine,
            StepRules(machine),
            spellings(machine),
            machine.history_states,
            frozenset(s.name for s in machine.states if s.final),
        )


@dataclass(frozen=True, slots=True)
class Parts:
    """The order's machine and, when there is one, its sub-orders' refund machine."""

    main: Part
    refund: Part | None

    @classmethod
    def of(cls, machine: CompiledMachine) -> Parts:
        """The parts for ``machine``, shared per machine (their verdict caches fill once)."""
        return _parts_of(machine)

    @classmethod
    def build(cls, machine: CompiledMachine) -> Parts:
        if machine.parent is not None:
            return cls(Part.of(machine.parent), Part.of(machine))
        child = child_machine(machine)
        return cls(Part.of(machine), None if child is None else Part.of(child))

    @property
    def machines(self) -> dict[str, CompiledMachine]:
        out = {self.main.machine.name: self.main.machine}
        if self.refund is not None:
            out[self.refund.machine.name] = self.refund.machine
        return out


@lru_cache(maxsize=32)
def _parts_of(machine: CompiledMachine) -> Parts:
    return Parts.build(machine)
