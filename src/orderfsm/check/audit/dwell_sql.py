"""Time in the audit as portable SQL: a query of its own, run only when times are read.

It reads ``history`` as the findings query does, with two more columns: ``at_time`` (the
row's time as ``BIGINT``, NULL when empty or not a time: each engine parses it like the
stream engine, :data:`~orderfsm.check.audit.dwell.TIME`) and ``at_raw`` (the cell as
written). The findings query is not touched: it never reads these columns. Steps:

1. ``time_read``/``timed``: a row's time is read when its order id, ordering value and
   ``via`` are usable; the latest time before it in its order (a running ``MAX`` over the
   order's rows by ``seq, pos``) makes an earlier one a problem, not a time (``at_ok``);
2. the findings query's CTEs up to ``changes`` (each part's rows and their statuses),
   carrying ``at_ok``;
3. ``stays``: the rows where a part's status changes (its stays), each with the next
   stay's status and time (``LEAD``);
4. one row set: the dwell histogram (rounded as :func:`~orderfsm.check.audit.dwell.rounded`,
   per machine, status, next status and rounded value: count and exact maximum), the
   stays in a status with a deadline whose wait exceeds the deadline's lower bound
   (exact for calendar days; for business days the exact deadline is computed from
   :mod:`orderfsm.model.deadlines` when the rows are read), the time problems, and
   ``as_of`` (given, else the latest usable time).

Percentiles are computed from the histogram rows by the same Python as the stream
engine's (:class:`~orderfsm.check.audit.dwell.TimeReport`), so every engine reports the
same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from orderfsm.check.audit.columns import KNOWN_VIAS
from orderfsm.check.audit.dwell import TimeReport, lower_bound, rounded_sql, time_problem
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.sql import AuditSql, literal, values_cte

TIME_COLUMNS = ("what", "machine", "src", "dst", "pos", "line", "order_id", "sub_order_id",
                "t1", "t2", "n", "raw")  # fmt: skip
"""Columns of a :func:`time_query` row (see :func:`read_time_rows`)."""


def deadline_rows(sql: AuditSql) -> list[tuple[str, str, int]]:
    """``(machine, status name, lower bound in seconds)`` per deadline of the audit's
    machines that has a count of its own (:func:`~orderfsm.model.deadlines.counted_deadline_of`)."""
    return [
        (name, rule.status, lower_bound(rule))
        for name, machine in sql.parts.machines.items()
        for rule in machine.table.deadlines
        if rule.most is not None
    ]


def time_query(sql: AuditSql, as_of: int | None) -> str:
    """The portable time query over ``history`` (with ``at_time``, ``at_raw``); ``as_of`` the
    instant still-waiting stays are judged at (``None``: the latest usable time)."""
    vias = ", ".join(literal(v) for v in sorted(KNOWN_VIAS))
    reads = (
        "h.order_id IS NOT NULL AND h.order_id <> '' AND h.seq IS NOT NULL\n"
        f"      AND (COALESCE(h.via, '') = '' OR h.via IN ({vias}))"
    )
    entity = "PARTITION BY machine, order_id, sub_key ORDER BY seq, pos"
    steps = dict(sql.steps_ctes(timed=True))
    dwell = "(s.left_at - s.entered)"
    instant = "CAST(NULL AS BIGINT)" if as_of is None else str(int(as_of))
    ctes = [
        *sql.tables(),
        values_cte("deadlines", ("machine", "state", "lower_bound"), deadline_rows(sql)),
        "time_read AS (\n"
        f"  SELECT h.*, CASE WHEN {reads} THEN 1 ELSE 0 END AS reads_time,\n"
        f"    MAX(CASE WHEN {reads} THEN h.at_time END) OVER (PARTITION BY h.order_id\n"
        "      ORDER BY h.seq, h.pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS latest\n"
        "  FROM history h\n"
        ")",
        "timed AS (\n"
        "  SELECT t.*, CASE WHEN t.reads_time = 1 AND t.at_time >= COALESCE(t.latest, t.at_time)\n"
        "    THEN t.at_time END AS at_ok\n"
        "  FROM time_read t\n"
        ")",
        *(steps[name] for name in ("observed", "resolved", "usable", "changes")),
        "stays AS (\n"
        "  SELECT c.machine, c.order_id, c.sub_order_id, c.pos, c.line, c.state,\n"
        f"    c.at_ok AS entered, LEAD(c.state) OVER ({entity}) AS next_state,\n"
        f"    LEAD(c.at_ok) OVER ({entity}) AS left_at\n"
        "  FROM changes c\n"
        "  WHERE c.prev IS NULL OR c.prev <> c.state\n"
        ")",
        f"as_of AS (\n  SELECT COALESCE({instant}, MAX(at_ok)) AS instant FROM timed\n)",
    ]
    none, big = "CAST(NULL AS STRING)", "CAST(NULL AS BIGINT)"
    select = f"""SELECT * FROM (
  SELECT 'dwell' AS what, s.machine, s.state AS src, s.next_state AS dst, {big} AS pos,
    {big} AS line, {none} AS order_id, {none} AS sub_order_id, {rounded_sql(dwell)} AS t1,
    MAX({dwell}) AS t2, COUNT(*) AS n, {none} AS raw
  FROM stays s
  WHERE s.next_state IS NOT NULL AND s.entered IS NOT NULL AND s.left_at IS NOT NULL
  GROUP BY s.machine, s.state, s.next_state, {rounded_sql(dwell)}
  UNION ALL
  SELECT 'overdue', s.machine, s.state, s.next_state, s.pos, s.line, s.order_id,
    s.sub_order_id, s.entered, s.left_at, 0, {none}
  FROM stays s
  JOIN deadlines d ON d.machine = s.machine AND d.state = s.state
  CROSS JOIN as_of a
  WHERE s.entered IS NOT NULL AND (s.next_state IS NULL OR s.left_at IS NOT NULL)
    AND COALESCE(s.left_at, a.instant) - s.entered > d.lower_bound
  UNION ALL
  SELECT 'problem', {none}, {none}, {none}, t.pos, t.line, t.order_id, {none}, t.latest,
    {big}, 0, t.at_raw
  FROM timed t
  WHERE t.reads_time = 1 AND COALESCE(t.at_raw, '') <> '' AND t.at_ok IS NULL
  UNION ALL
  SELECT 'as_of', {none}, {none}, {none}, {big}, {big}, {none}, {none}, instant, {big}, 0,
    {none}
  FROM as_of
) everything
ORDER BY what, pos, machine"""
    return "WITH\n" + ",\n".join(ctes) + "\n" + select


Locate = Callable[[int, Any], tuple[str, int]]
"""A row's file and line from its position and the line the query carries (may be NULL)."""


def read_time_rows(
    rows: Iterable[Sequence[Any]], result: AuditResult, locate: Locate
) -> TimeReport:
    """The rows of :func:`time_query` (in its order) read into ``result.time``, time
    problems into ``result``'s problems."""
    report = result.time
    assert report is not None
    for row in rows:
        what, machine, src, dst, pos, line, oid, sub, t1, t2, n, raw = row[: len(TIME_COLUMNS)]
        if what == "as_of":  # first: the overdue candidates after it need it
            if report.given is None:
                report.latest = None if t1 is None else int(t1)
        elif what == "dwell":
            report.dwelt(machine, src, dst, int(t1), int(n))
            key = (machine, src, dst)
            report.maxima[key] = max(report.maxima[key], int(t2))
        elif what == "overdue":
            file, at_line = locate(int(pos), line)
            left = None if t2 is None else int(t2)
            stay = ((0, int(pos), machine), oid, sub or None, machine, src, int(t1), left)
            report.stay((*stay, file, at_line))
        else:
            file, at_line = locate(int(pos), line)
            detail = time_problem(report.column, raw, None if t1 is None else int(t1), oid)
            assert detail is not None
            result.add(
                AuditFinding("input", file, at_line, oid, "bad input", detail, column=report.column)
            )
    return report.finish()
