"""``orderfsm check``: conformance and lint over every machine, as one report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orderfsm.check.claims import Claim, shipped_claims
from orderfsm.check.conformance import Discrepancy, discrepancies
from orderfsm.check.lint import Finding, lint
from orderfsm.model.compile import SHIPPED_TABLES, CompiledMachine, load


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``orderfsm check`` found. ``ok`` is False on an unresolved discrepancy
    or a lint error."""

    machines: tuple[str, ...]
    discrepancies: tuple[Discrepancy, ...]
    lint: tuple[Finding, ...]
    claims: tuple[Claim, ...]

    @property
    def unresolved(self) -> tuple[Discrepancy, ...]:
        return tuple(d for d in self.discrepancies if not d.resolved)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.lint if f.level == "error")

    @property
    def unchecked(self) -> tuple[Claim, ...]:
        """Claims that state no computable fact, with the reason (kind ``informative``)."""
        return tuple(c for c in self.claims if c.kind == "informative")

    @property
    def ok(self) -> bool:
        return not self.unresolved and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "machines": list(self.machines),
            "claims_checked": len(self.claims) - len(self.unchecked),
            "discrepancies": [d.to_json() for d in self.discrepancies],
            "lint": [f.to_json() for f in self.lint],
            "unchecked_claims": [
                {
                    "id": c.id,
                    "source": c.doc,
                    "section": c.section,
                    "says": c.says,
                    "reason": str(c.get("reason")),
                }
                for c in self.unchecked
            ],
        }


def _unused_decisions(machine: CompiledMachine, found: Sequence[Discrepancy]) -> list[Finding]:
    used = {d.decision.id for d in found if d.decision is not None and d.machine == machine.name}
    return [
        Finding(
            machine.name,
            "warning",
            "unused_decision",
            f"decision {d.id!r} resolves no discrepancy the claims produce; is it stale?",
        )
        for d in machine.table.decisions
        # a decision that names claims is meant to resolve a discrepancy; one that only
        # records a choice where the documents are silent is not expected to.
        if d.id not in used and (d.follows or d.claims)
    ]


def run_check(
    tables: Sequence[str | Path | Mapping[str, Any] | CompiledMachine] = (),
    claims: Sequence[Claim] | None = None,
) -> Report:
    """Check the shipped machines, or only ``tables`` (names or paths) if given.

    A user table whose machine name matches a shipped one replaces it, and the shipped
    claims about that machine are checked against it. Exported status histories are
    audited by :func:`orderfsm.check.audit.audit_files` (``orderfsm audit``), not here.
    """
    machines: dict[str, CompiledMachine] = {}
    for source in tables or SHIPPED_TABLES:
        m = source if isinstance(source, CompiledMachine) else load(source)
        machines[m.name] = m
    selected = list(machines)
    for m in list(machines.values()):
        if m.parent is not None:
            machines.setdefault(m.parent.name, m.parent)
    all_claims = tuple(shipped_claims() if claims is None else claims)
    relevant = tuple(
        c for c in all_claims if (c.machine in selected) or (c.machine is None and not tables)
    )
    view: Mapping[str, CompiledMachine] = machines
    found = tuple(d for d in discrepancies(relevant, view) if d.machine in selected or not tables)
    findings: list[Finding] = []
    for name in selected:
        findings.extend(lint(machines[name]))
        findings.extend(_unused_decisions(machines[name], found))
    return Report(tuple(selected), found, tuple(findings), relevant)
