"""What an audit found: findings, exact counts and a summary, with what is kept capped.

Findings are counted exactly however many there are; only the first ``keep`` of each
list are held (and printed), so a file where every row is illegal costs no more memory
than a clean one. :meth:`AuditResult.to_json` is the ``--json`` object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from orderfsm.check.audit.dwell import TimeReport
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.table import Code

FindingKind = Literal["illegal", "skipped", "quarantine", "forced", "input"]
"""``illegal`` fails the audit; ``skipped`` and ``quarantine`` are warnings; ``forced`` is
a change the order recorded as forced by its caller (``via`` column), listed on its own
whatever the rules say of it; ``input`` is a row that could not be used (fails)."""

EXIT_CLEAN = 0
EXIT_FINDINGS = 1


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One illegal step, warning (skipped steps, quarantine), forced step, or row the audit
    could not use.

    ``source``/``target`` are the platform's codes (``from``/``to`` in JSON); an input
    problem has neither, and names the ``column`` instead.
    """

    kind: FindingKind
    file: str
    line: int
    order_id: str
    rule: str
    detail: str
    machine: str = ""
    sub_order_id: str | None = None
    source: Code | None = None
    target: Code | None = None
    column: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "order_id": self.order_id}
        if self.sub_order_id is not None:
            out["sub_order_id"] = self.sub_order_id
        if self.kind == "input":
            out["column"] = self.column
        else:
            out.update({"machine": self.machine, "from": self.source, "to": self.target})
        out.update({"rule": self.rule, "detail": self.detail})
        return out

    def text(self) -> str:
        where = f"{self.file}:{self.line}: order {self.order_id}"
        if self.sub_order_id is not None:
            where += f" sub-order {self.sub_order_id}"
        if self.kind == "input":
            return f"{where}: bad input{f' ({self.column})' if self.column else ''}: {self.detail}"
        return f"{where}: {self.kind} {self.machine}: {self.source} -> {self.target}: {self.detail}"


@dataclass(slots=True)
class AuditResult:
    """Findings (the first ``keep`` of each kind) and exact counts for one audit run."""

    machine: CompiledMachine
    engine: str
    machines: dict[str, CompiledMachine] = field(default_factory=dict)
    keep: int = 1000
    files: list[str] = field(default_factory=list)
    rows: int = 0
    orders: int = 0
    steps: int = 0
    illegal: list[AuditFinding] = field(default_factory=list)
    warnings: list[AuditFinding] = field(default_factory=list)
    forced: list[AuditFinding] = field(default_factory=list)
    problems: list[AuditFinding] = field(default_factory=list)
    counts: Counter[FindingKind] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    taken: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """``(machine, from, to)`` status names -> how many times orders changed so (any verdict)."""
    judged: Counter[tuple[str, str, str, FindingKind]] = field(default_factory=Counter)
    """``(machine, from, to, kind)`` status names -> how many of those changes were
    ``illegal``, ``skipped``, ``quarantine`` or ``forced``, each judged in its own context (the overlay draws these)."""
    non_final: Counter[tuple[str, str]] = field(default_factory=Counter)
    """``(machine, status name)`` -> how many orders (or sub-orders) ended there, not final."""
    notes: list[str] = field(default_factory=list)
    listener: Callable[[AuditFinding], None] | None = None
    time: TimeReport | None = None
    """Dwell statistics and overdue stays, when the export has a time column (else ``None``,
    and the report is as it was before times: no ``time`` key, no ``overdue`` list)."""

    def add(self, finding: AuditFinding) -> None:
        """Count ``finding``; hold it if fewer than ``keep`` of its kind are held."""
        self.counts[finding.kind] += 1
        self.rules[f"{finding.kind}: {finding.rule}"] += 1
        if finding.source is not None and finding.target is not None:
            m = self.machines.get(finding.machine, self.machine)
            src, dst = m.status(finding.source).name, m.status(finding.target).name
            self.judged[(finding.machine, src, dst, finding.kind)] += 1
        held = {
            "illegal": self.illegal,
            "skipped": self.warnings,
            "quarantine": self.warnings,
            "forced": self.forced,
            "input": self.problems,
        }[finding.kind]
        if len(held) < self.keep:
            held.append(finding)
            if self.listener is not None:
                self.listener(finding)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def exit_code(self) -> int:
        """1 when anything is illegal or a row could not be used, else 0 (overdue orders
        are operations, not broken rules: see ``docs/audit.md``, "Exit codes")."""
        return EXIT_FINDINGS if self.counts["illegal"] or self.counts["input"] else EXIT_CLEAN

    def code(self, machine: str, name: str) -> Code:
        return self.machines.get(machine, self.machine).table.state(name).code

    def summary(self) -> dict[str, Any]:
        return {
            "machine": self.machine.name,
            "engine": self.engine,
            "files": list(self.files),
            "rows": self.rows,
            "orders": self.orders,
            "steps": self.steps,
            "illegal": self.counts["illegal"],
            "skipped": self.counts["skipped"],
            "quarantine": self.counts["quarantine"],
            "forced": self.counts["forced"],
            "input_problems": self.counts["input"],
            "by_rule": dict(sorted(self.rules.items())),
            "non_final": [
                {"machine": m, "status": self.code(m, s), "orders": n}
                for (m, s), n in sorted(self.non_final.items())
            ],
            "taken": [
                {"machine": m, "from": self.code(m, a), "to": self.code(m, b), "count": n}
                for (m, a, b), n in sorted(self.taken.items())
            ],
            "shown": {
                "illegal": len(self.illegal),
                "warnings": len(self.warnings),
                "forced": len(self.forced),
                "problems": len(self.problems),
            },
            "notes": list(self.notes),
        } | ({} if self.time is None else {"time": self.time.summary()})

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "illegal": [f.to_json() for f in self.illegal],
            "warnings": [f.to_json() for f in self.warnings],
            "forced": [f.to_json() for f in self.forced],
            "problems": [f.to_json() for f in self.problems],
        } | ({} if self.time is None else {"overdue": [o.to_json() for o in self.time.overdue]})

    def text_summary(self) -> str:
        lines = [
            f"orderfsm audit ({self.machine.name}, {self.engine} engine): {self.rows} rows, "
            f"{self.orders} orders, {self.steps} status changes",
            f"  illegal: {self.counts['illegal']}, skipped steps (warnings): "
            f"{self.counts['skipped']}, quarantine (warnings): {self.counts['quarantine']}, "
            f"forced: {self.counts['forced']}, rows not usable: {self.counts['input']}",
        ]
        for rule, n in sorted(self.rules.items()):
            lines.append(f"  {n:>8}  {rule}")
        ending = sum(self.non_final.values())
        if ending:
            parts = ", ".join(
                f"{self.code(m, s)} ({m}): {n}" for (m, s), n in sorted(self.non_final.items())
            )
            lines.append(f"  {ending} ended in a non-final status: {parts}")
        held_lists: tuple[tuple[str, int, list[AuditFinding]], ...] = (
            ("illegal", self.counts["illegal"], self.illegal),
            ("warning", self.counts["skipped"] + self.counts["quarantine"], self.warnings),
            ("forced", self.counts["forced"], self.forced),
            ("input", self.counts["input"], self.problems),
        )
        for kind, count, held in held_lists:
            if count > len(held):
                lines.append(
                    f"  showing the first {len(held)} of {count} {kind} findings (--max-findings)"
                )
        if self.time is not None:
            lines.extend(self.time.text_lines())
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.append("FAILED" if self.exit_code else "OK")
        return "\n".join(lines) + "\n"
