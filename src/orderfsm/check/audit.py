"""Auditing exported status histories: does each order's recorded sequence follow the rules?

An export is a CSV file with a header row naming at least ``order_id`` and ``status``
columns (other columns are ignored), or a JSON-lines file of objects with those keys.
Rows are read in file order; each order's statuses are checked pairwise against the
machine: a repeated status is fine, a direct transition is fine, a change that skips
statuses the machine would pass through is a warning (with the shortest path it
skipped), and a change no path explains, an unknown status, or any change after a final
status is an error. Status values may be any spelling the machine accepts.
"""

from __future__ import annotations

import csv
import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orderfsm.check.lint import Finding, Level
from orderfsm.errors import TableError, UnknownStatus
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.table import State


@dataclass(frozen=True, slots=True)
class Row:
    """One recorded status of one order, with where it was read from."""

    order_id: str
    status: object
    line: int


def read_export(path: str | Path) -> list[Row]:
    """Read a CSV (header with ``order_id`` and ``status``) or JSON-lines export."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TableError(str(p), "<file>", f"cannot read: {exc}") from None
    if p.suffix in (".jsonl", ".ndjson"):
        return list(_json_lines(str(p), text))
    return list(_csv_rows(str(p), text))


def _json_lines(file: str, text: str) -> Iterator[Row]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TableError(file, f"line {n}", f"not JSON: {exc.msg}") from None
        if not isinstance(item, dict) or "order_id" not in item or "status" not in item:
            raise TableError(file, f"line {n}", "expected an object with 'order_id' and 'status'")
        yield Row(str(item["order_id"]), item["status"], n)


def _csv_rows(file: str, text: str) -> Iterator[Row]:
    reader = csv.DictReader(text.splitlines())
    missing = {"order_id", "status"} - set(reader.fieldnames or ())
    if missing:
        raise TableError(file, "line 1", f"the header needs columns {sorted(missing)}")
    for n, item in enumerate(reader, start=2):
        status: object = item["status"]
        if isinstance(status, str) and status.lstrip("-").isdigit():
            status = int(status)  # CSV has no types: an integer-looking status is a code
        yield Row(item["order_id"], status, n)


def _path_between(machine: CompiledMachine, a: State, b: State) -> list[State] | None:
    """The shortest sequence of statuses from ``a`` to ``b`` (guards aside), or None."""
    previous: dict[str, str | None] = {a.name: None}
    queue = deque([a.name])
    while queue:
        name = queue.popleft()
        if name == b.name:
            chain = []
            at: str | None = name
            while at is not None:
                chain.append(machine.table.state(at))
                at = previous[at]
            return chain[::-1]
        for t in machine.transitions_from(name):
            if t.dst and t.dst not in previous:
                previous[t.dst] = name
                queue.append(t.dst)
    return None


def audit(machine: CompiledMachine, rows: Iterable[Row], file: str = "<rows>") -> list[Finding]:
    """Every problem in the recorded histories, as findings naming the file, line and order."""
    last: dict[str, State] = {}
    out: list[Finding] = []

    def report(level: Level, rule: str, row: Row, detail: str) -> None:
        where = f"{file}:{row.line}: order {row.order_id}"
        out.append(Finding(machine.name, level, rule, f"{where}: {detail}"))

    for row in rows:
        if isinstance(row.status, bool) or not isinstance(row.status, int | str):
            report("error", "history_unknown_status", row, f"unknown status {row.status!r}")
            continue
        try:
            status = machine.status(row.status)
        except UnknownStatus:
            report("error", "history_unknown_status", row, f"unknown status {row.status!r}")
            continue
        before = last.get(row.order_id)
        last[row.order_id] = status
        if before is None or before == status:
            continue
        if before.final:
            report("error", "history_after_final", row, f"{before} is final but became {status}")
        elif machine.has_edge(before, status):
            continue
        elif (path := _path_between(machine, before, status)) is not None:
            skipped = " -> ".join(str(s) for s in path)
            report(
                "warning",
                "history_skipped_steps",
                row,
                f"{before} -> {status} skips steps ({skipped})",
            )
        else:
            report("error", "history_illegal", row, f"no path from {before} to {status}")
    return out
