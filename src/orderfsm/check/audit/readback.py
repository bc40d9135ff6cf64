"""The audit query's one pass, and its rows read back into a result: shared by the SQL engines.

Both SQL engines (DuckDB, Spark) run the portable CTEs of :class:`AuditSql` over a
relation ``raw`` (every row, its fields as text, ``long`` naming a field over
``MAX_FIELD``) and its usable part ``history``, select findings, counts, the changes
taken and the statuses orders end in in one query (:func:`one_pass`), and read its rows
into an :class:`AuditResult` with the same details the stream engine gives
(:func:`read_rows`). What only the engine knows (a long field's length, a row's raw
ordering value) it answers through :class:`Lookups`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from orderfsm.check.audit.columns import MAX_FIELD, Columns
from orderfsm.check.audit.reader import short
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.rules import forced
from orderfsm.check.audit.sql import AuditSql

ROW_WIDTH = 15
"""Columns of a :func:`one_pass` row: what, kind, file, line, pos, order_id, sub_order_id,
machine, src, dst, verdict, problem, raw, n, m."""


@dataclass(frozen=True)
class Lookups:
    """Per-row questions asked only for findings: ``long_length(field, pos)`` (characters of a
    long field), ``raw_seq(pos)`` (the ordering value as written) and, when the query does
    not carry them (NULL), ``locate(pos)`` (the row's file and line)."""

    long_length: Callable[[str, int], int]
    raw_seq: Callable[[int], str]
    locate: Callable[[int], tuple[str, int]] | None = None


def one_pass(sql: AuditSql, line: str, pos: str) -> str:
    """The portable CTEs then one ``SELECT`` of findings (in file order), counts, changes
    taken and statuses ended in; ``line``/``pos`` are ``raw``'s expressions for a row's
    line and position."""
    none = "CAST(NULL AS STRING)"
    select = f"""SELECT * FROM (
  SELECT 'finding' AS what, kind, file, line, pos, order_id, sub_order_id, machine, src, dst,
    verdict, {none} AS problem, {none} AS raw, 0 AS n, 0 AS m
  FROM judged WHERE verdict IS NOT NULL OR kind = 'forced'
  UNION ALL
  SELECT 'finding', 'input', file, line, pos, order_id, sub_order_id, machine, {none}, {none},
    NULL, problem,
    CASE problem WHEN 'via' THEN via WHEN 'parent' THEN parent_raw ELSE raw END, 0, 0
  FROM problems
  UNION ALL
  SELECT 'finding', 'input', filename, {line}, {pos}, '', NULL, NULL, {none}, {none},
    NULL, 'long', long, 0, 0
  FROM raw WHERE long IS NOT NULL
  UNION ALL
  SELECT 'taken', NULL, NULL, NULL, NULL, NULL, NULL, machine, prev, state, NULL, NULL, NULL,
    COUNT(*), 0
  FROM steps WHERE prev IS NOT NULL AND prev <> state GROUP BY machine, prev, state
  UNION ALL
  SELECT 'ending', NULL, NULL, NULL, NULL, NULL, NULL, machine, NULL, state, NULL, NULL, NULL,
    COUNT(*), 0
  FROM steps s WHERE last_row = 1
    AND NOT EXISTS (SELECT 1 FROM final_states f WHERE f.machine = s.machine AND f.state = s.state)
  GROUP BY machine, state
  UNION ALL
  SELECT 'count', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    COUNT(*), COUNT(DISTINCT CASE WHEN order_id <> '' THEN order_id END)
  FROM history
) everything
ORDER BY what, pos, machine"""
    return sql.query(select, only=[name for name, _ in sql.steps_ctes()])


def read_rows(
    rows: Iterable[Sequence[Any]],
    sql: AuditSql,
    c: Columns,
    result: AuditResult,
    lookups: Lookups,
) -> AuditResult:
    """The rows of :func:`one_pass` (in its order) read into ``result``."""
    names = sql.parts.machines
    role = {
        "order_id": c.order_id,
        "seq": c.seq,
        "status": c.status,
        "sub_order_id": c.sub_order_id,
        "refund_status": c.refund_status,
        "via": c.via,
        "parent": c.status,
        "long": "",
    }
    long_role = {
        "order_id": c.order_id,
        "seq_raw": c.seq,
        "status": c.status,
        "sub_order_id": c.sub_order_id,
        "refund_status": c.refund_status,
    }
    main = sql.parts.main.machine.name
    for row in rows:
        what, kind, file, line, pos, oid, sub, machine, src, dst, verdict, problem, raw, n, m = row[
            :ROW_WIDTH
        ]
        if what == "finding" and file is None and lookups.locate is not None:
            file, line = lookups.locate(pos)
        if what == "count":
            result.rows, result.orders = int(n), int(m)
        elif what == "ending":
            result.non_final[(machine, dst)] += int(n)
        elif what == "taken":
            result.taken[(machine, src, dst)] += int(n)
            result.steps += int(n)
        elif kind == "input" and problem == "long":
            name = long_role[raw]
            # only for findings shown: each lookup may be a query of its own
            shown_length = (
                lookups.long_length(raw, pos) if len(result.problems) < result.keep else 0
            )
            detail = f"{name} is longer than {MAX_FIELD} characters ({shown_length})"
            result.add(AuditFinding("input", file, line, "", "bad input", detail, column=name))
        elif kind == "input":
            shown = short("" if raw is None else raw)
            if problem == "seq" and len(result.problems) < result.keep:
                raw = lookups.raw_seq(pos)  # only for findings shown: the detail
                shown = short(raw)
            detail = {
                "order_id": "empty order id",
                "seq": f"empty {c.seq}"
                if not raw
                else f"{c.seq} {shown} is not an integer like the first row's",
                "sub_order_id": "a refund status without a sub-order id",
                "via": f"unknown {c.via} {shown}",
                "parent": f"unknown {main} status {shown}",
            }.get(problem, f"unknown {machine} status {shown}")
            result.add(
                AuditFinding("input", file, line, oid, "bad input", detail, column=role[problem])
            )
        else:
            v = None if verdict is None else sql.verdicts[verdict]
            if kind == "forced":
                v = forced(v)
            assert v is not None
            state = names[machine].table.state
            result.add(
                AuditFinding(
                    v.kind,
                    file,
                    line,
                    oid,
                    v.rule,
                    v.detail,
                    machine=machine,
                    sub_order_id=sub,
                    source=state(src).code,
                    target=state(dst).code,
                )
            )
    return result
