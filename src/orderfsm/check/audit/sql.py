"""The audit as one portable SQL query: the same verdicts as the stream engine, set-based.

The query reads a relation ``history(file, line, pos, order_id, sub_order_id, seq, status,
refund_status, via)``: one row per exported row, ``pos`` its position across all files
(ties in ``seq`` keep it), ``sub_order_id``/``refund_status``/``via`` NULL when the export
has none.
It carries the machine as data: every spelling of every status, the history states, the
final statuses, and every change that is not one legal step with its verdict
(:meth:`StepRules.verdicts`, computed from the pure core). It then

1. resolves each row's statuses (order, sub-order and refund parts, the refund's parent
   status; a row with a ``via`` observes one part),
2. keeps the changes (``LAG`` over each order's, or sub-order's, rows by ``seq, pos``),
3. finds what a history state remembers (a running count of non-history rows makes
   runs; ``FIRST_VALUE`` of the run is the status it was entered from); a machine
   without history states skips these windows,
4. for a change out of a quarantine state, finds the status the order was parked from
   (the latest change into it: rare rows, joined; machines without one skip this),
5. joins the verdicts: an unmatched change is legal; a ``via`` of ``forced`` makes the
   change a ``forced`` finding whatever its verdict.

Written for DuckDB and Spark SQL alike, so it avoids what differs between them: no
``QUALIFY``, no ``IGNORE NULLS``, no ``::`` casts, no ``VARCHAR`` (``STRING`` is in both),
no ``FILTER`` clauses, no backslashes or quotes inside literals (those are ``CHR(92)``
and ``CHR(39)``: Spark reads backslash escapes in literals, DuckDB does not), no empty
``VALUES`` (a never-matching row instead), and NULLs never compared in joins
(``COALESCE`` to ``''``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from orderfsm.check.audit.columns import KNOWN_VIAS
from orderfsm.check.audit.parts import Part, Parts
from orderfsm.check.audit.rules import Verdict

VERDICT_COLUMNS = ("machine", "src", "dst", "remembered", "parent", "verdict", "kind", "rule")


def literal(text: str) -> str:
    """A portable SQL string literal for ``text``."""
    if "'" not in text and "\\" not in text:
        return f"'{text}'"
    pieces: list[str] = []
    for i, chunk in enumerate(text.replace("\\", "'\\").split("'")):
        if i:
            pieces.append("CHR(92)" if chunk.startswith("\\") else "CHR(39)")
        plain = chunk.removeprefix("\\") if i else chunk
        if plain:
            pieces.append(f"'{plain}'")
    return f"CONCAT({', '.join(pieces)})" if len(pieces) > 1 else pieces[0]


def values_cte(name: str, columns: Sequence[str], rows: Iterable[Sequence[str | int]]) -> str:
    """A CTE ``name`` of literal ``rows`` (one row no join can match when there are none)."""
    body = [
        "(" + ", ".join(str(v) if isinstance(v, int) else literal(v) for v in row) + ")"
        for row in rows
    ]
    if not body:  # no empty VALUES: one row no join can match
        body = ["(" + ", ".join("NULL" for _ in columns) + ")"]
    cols = ", ".join(columns)
    rows_sql = ",\n    ".join(body)
    return f"{name} AS (\n  SELECT * FROM (VALUES\n    {rows_sql}\n  ) AS t({cols})\n)"


class AuditSql:
    """The machine tables and the query for one :class:`Parts`; ``verdicts`` maps ids back."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.verdicts: list[Verdict] = []
        self._verdict_rows: list[tuple[str, str, str, str, str, int, str, str]] = []
        index: dict[Verdict, int] = {}
        for part in self._parts:
            for key, verdict in part.rules.verdicts():
                vid = index.setdefault(verdict, len(index))
                if vid == len(self.verdicts):
                    self.verdicts.append(verdict)
                self._verdict_rows.append(
                    (
                        part.machine.name,
                        key.src,
                        key.dst,
                        key.remembered,
                        key.parent,
                        vid,
                        verdict.kind,
                        verdict.rule,
                    )
                )

    @property
    def _parts(self) -> tuple[Part, ...]:
        p = self.parts
        return (p.main,) if p.refund is None else (p.main, p.refund)

    def tables(self) -> list[str]:
        """The machine as ``VALUES`` relations (the first CTEs of the query)."""
        spellings = [
            (part.machine.name, spelling, name)
            for part in self._parts
            for spelling, name in part.spell.items()
        ]
        history = [(part.machine.name, s) for part in self._parts for s in sorted(part.history)]
        final = [(part.machine.name, s) for part in self._parts for s in sorted(part.final)]
        quarantine = [
            (part.machine.name, s) for part in self._parts for s in sorted(part.rules.quarantine)
        ]
        return [
            values_cte("spellings", ("machine", "spelling", "state"), spellings),
            values_cte("history_states", ("machine", "state"), history),
            values_cte("quarantine_states", ("machine", "state"), quarantine),
            values_cte("final_states", ("machine", "state"), final),
            values_cte("verdicts", VERDICT_COLUMNS, self._verdict_rows),
        ]

    def steps_ctes(self, timed: bool = False) -> list[tuple[str, str]]:
        """CTEs from ``history`` to ``judged`` (every change) and ``problems`` (unusable rows).

        ``timed``: the rows come from a relation ``timed`` (``history`` with ``at_ok``, a
        row's usable time: :mod:`~orderfsm.check.audit.dwell_sql`) and every row from
        ``observed`` on carries it."""
        main = literal(self.parts.main.machine.name)
        source, at = ("timed", ", h.at_ok") if timed else ("history", "")
        refund = self.parts.refund
        one_part = "COALESCE(h.via, '') <> ''"
        if refund is None:
            main_sub, main_where = "h.sub_order_id", ""
        else:  # with a via, a sub-order id names the sub-order's own status
            main_sub = f"CASE WHEN {one_part} AND h.sub_order_id <> '' THEN h.sub_order_id END"
            main_where = f"\n  WHERE NOT ({one_part} AND COALESCE(h.refund_status, '') <> '')"
        observed = [
            f"  SELECT {main} AS machine, h.file, h.line, h.pos, h.order_id, {main_sub} AS "
            "sub_order_id, h.seq, h.status AS raw, CAST(NULL AS STRING) AS parent_raw,\n"
            f"    h.via, 1 AS reports{at}\n  FROM {source} h{main_where}"
        ]
        if refund is not None:
            observed.append(
                f"  SELECT {literal(refund.machine.name)} AS machine, h.file, h.line, h.pos, "
                "h.order_id, h.sub_order_id, h.seq, h.refund_status AS raw, h.status AS "
                f"parent_raw,\n    h.via, CASE WHEN {one_part} THEN 1 ELSE 0 END AS reports{at}\n"
                f"  FROM {source} h\n"
                "  WHERE h.refund_status IS NOT NULL AND h.refund_status <> ''"
            )
        vias = ", ".join(literal(v) for v in sorted(KNOWN_VIAS))
        entity = "PARTITION BY machine, order_id, sub_key ORDER BY seq, pos"
        ctes = [
            "observed AS (\n" + "\n  UNION ALL\n".join(observed) + "\n)",
            "resolved AS (\n"
            "  SELECT o.*, s.state, COALESCE(p.state, '') AS parent,\n"
            "    COALESCE(o.sub_order_id, '') AS sub_key,\n"
            "    CASE WHEN o.reports = 1 AND o.machine <> "
            f"{main} AND COALESCE(o.parent_raw, '') <> ''\n"
            "      AND p.state IS NULL THEN 1 ELSE 0 END AS bad_parent\n"
            "  FROM observed o\n"
            "  LEFT JOIN spellings s ON s.machine = o.machine AND s.spelling = o.raw\n"
            f"  LEFT JOIN spellings p ON p.machine = {main} AND p.spelling = o.parent_raw\n"
            ")",
            "problems AS (\n"
            "  SELECT * FROM (\n"
            "    SELECT file, line, pos, COALESCE(order_id, '') AS order_id, sub_order_id,\n"
            "      machine, raw, parent_raw, via,\n"
            "      CASE\n"
            "        WHEN order_id IS NULL OR order_id = '' THEN CASE WHEN reports = 1 "
            "THEN 'order_id' END\n"
            "        WHEN seq IS NULL THEN CASE WHEN reports = 1 THEN 'seq' END\n"
            f"        WHEN COALESCE(via, '') <> '' AND via NOT IN ({vias})\n"
            "          THEN CASE WHEN reports = 1 THEN 'via' END\n"
            "        WHEN bad_parent = 1 THEN 'parent'\n"
            f"        WHEN machine <> {main} AND (sub_order_id IS NULL OR sub_order_id = '')\n"
            "          THEN 'sub_order_id'\n"
            f"        WHEN state IS NULL THEN CASE WHEN machine = {main} THEN 'status'\n"
            "          ELSE 'refund_status' END\n"
            "      END AS problem\n"
            "    FROM resolved\n"
            "  ) x\n"
            "  WHERE problem IS NOT NULL\n"
            ")",
            "usable AS (\n"  # only what later steps read: the changes are materialised
            "  SELECT machine, file, line, pos, order_id, sub_order_id, seq, via, state, parent,\n"
            f"    sub_key{', at_ok' if timed else ''}\n"
            "  FROM resolved\n"
            "  WHERE state IS NOT NULL AND order_id IS NOT NULL AND order_id <> ''\n"
            f"    AND seq IS NOT NULL AND bad_parent = 0\n"
            f"    AND (COALESCE(via, '') = '' OR via IN ({vias}))\n"
            f"    AND (machine = {main} OR (sub_order_id IS NOT NULL AND sub_order_id <> ''))\n"
            ")",
            "changes AS (\n"
            f"  SELECT u.*, LAG(state) OVER ({entity}) AS prev,\n"
            f"    CASE WHEN LEAD(pos) OVER ({entity}) IS NULL THEN 1 ELSE 0 END AS last_row\n"
            "  FROM usable u\n"
            ")",
            *(self._remembering_ctes(entity) if self._has_history else self._plain_ctes()),
            *(self._parked_ctes() if self._has_quarantine else []),
            self._judged_cte(),
        ]
        return [(cte.split(" ", 1)[0], cte) for cte in ctes]

    def _judged_cte(self) -> str:
        remembered = "COALESCE(p.parked, s.remembered)" if self._has_quarantine else "s.remembered"
        parked = (
            "  LEFT JOIN parked p ON p.pos = s.pos AND p.machine = s.machine AND p.latest = 1\n"
            if self._has_quarantine
            else ""
        )
        return (
            "judged AS (\n"
            "  SELECT s.file, s.line, s.pos, s.order_id, s.sub_order_id, s.machine,\n"
            "    s.prev AS src, s.state AS dst, v.verdict,\n"
            "    CASE WHEN s.via = 'forced' THEN 'forced' ELSE v.kind END AS kind, v.rule\n"
            "  FROM steps s\n"
            f"{parked}"
            "  LEFT JOIN verdicts v ON v.machine = s.machine AND v.src = s.prev\n"
            f"    AND v.dst = s.state AND v.remembered = {remembered} AND v.parent = s.parent\n"
            "  WHERE s.prev IS NOT NULL AND s.prev <> s.state\n"
            ")"
        )

    @property
    def _has_quarantine(self) -> bool:
        return any(part.rules.quarantine for part in self._parts)

    def _parked_ctes(self) -> list[str]:
        """Where each release from quarantine was parked from: the status before the latest
        change into the quarantine state. Both are rare: filtered by literals (cheaper than
        joins over every change) and joined, not windowed over every row."""

        def parked_in(column: str) -> str:
            return " OR ".join(
                f"(s.machine = {literal(part.machine.name)} AND s.{column} IN "
                f"({', '.join(literal(q) for q in sorted(part.rules.quarantine))}))"
                for part in self._parts
                if part.rules.quarantine
            )

        return [
            "releases AS (\n"
            "  SELECT s.pos, s.machine, s.order_id, s.sub_key, s.seq\n"
            "  FROM steps s\n"
            f"  WHERE ({parked_in('prev')}) AND s.state <> s.prev\n"
            ")",
            "entries AS (\n"
            "  SELECT s.pos, s.machine, s.order_id, s.sub_key, s.seq, s.prev\n"
            "  FROM steps s\n"
            f"  WHERE ({parked_in('state')}) AND s.prev IS NOT NULL AND s.prev <> s.state\n"
            f"    AND NOT ({parked_in('prev')})\n"
            ")",
            "parked AS (\n"
            "  SELECT r.pos, r.machine, e.prev AS parked,\n"
            "    ROW_NUMBER() OVER (PARTITION BY r.pos, r.machine ORDER BY e.seq DESC, e.pos DESC)\n"
            "      AS latest\n"
            "  FROM releases r\n"
            "  JOIN entries e ON e.machine = r.machine AND e.order_id = r.order_id\n"
            "    AND e.sub_key = r.sub_key AND (e.seq < r.seq OR (e.seq = r.seq AND e.pos < r.pos))\n"
            ")",
        ]

    @property
    def _has_history(self) -> bool:
        return any(part.history for part in self._parts)

    @staticmethod
    def _plain_ctes() -> list[str]:
        """Without history states nothing is remembered: the changes (and each entity's
        last row, for the statuses orders end in) are the steps."""
        return [
            "steps AS (\n"
            "  SELECT c.*, '' AS remembered\n"
            "  FROM changes c\n"
            "  WHERE c.prev IS NULL OR c.prev <> c.state OR c.last_row = 1\n"
            ")"
        ]

    @staticmethod
    def _remembering_ctes(entity: str) -> list[str]:
        """Runs start at each non-history status; a history state remembers its run's head."""
        return [
            "kept AS (\n"
            "  SELECT c.*, CASE WHEN hs.state IS NULL THEN 1 ELSE 0 END AS opens_run,\n"
            "    CASE WHEN hs.state IS NULL AND qs.state IS NULL THEN c.state ELSE '' END AS memo\n"
            "  FROM changes c\n"
            "  LEFT JOIN history_states hs ON hs.machine = c.machine AND hs.state = c.state\n"
            "  LEFT JOIN quarantine_states qs ON qs.machine = c.machine AND qs.state = c.state\n"
            "  WHERE c.prev IS NULL OR c.prev <> c.state OR c.last_row = 1\n"
            ")",
            "runs AS (\n"
            f"  SELECT k.*, SUM(opens_run) OVER ({entity}\n"
            "    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run\n"
            "  FROM kept k\n"
            ")",
            "heads AS (\n"
            "  SELECT r.*, FIRST_VALUE(memo) OVER (\n"
            "    PARTITION BY machine, order_id, sub_key, run ORDER BY seq, pos\n"
            "    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS head\n"
            "  FROM runs r\n"
            ")",
            "steps AS (\n"
            "  SELECT h.*, CASE WHEN ph.state IS NULL THEN ''\n"
            "    ELSE COALESCE(LAG(h.head) OVER (PARTITION BY h.machine, h.order_id, h.sub_key\n"
            "      ORDER BY h.seq, h.pos), '') END AS remembered\n"
            "  FROM heads h\n"
            "  LEFT JOIN history_states ph ON ph.machine = h.machine AND ph.state = h.prev\n"
            ")",
        ]

    def query(self, select: str, only: Sequence[str] | None = None) -> str:
        """``WITH`` every table and step CTE (or ``only`` these step CTEs), then ``select``."""
        steps = [cte for name, cte in self.steps_ctes() if only is None or name in only]
        ctes = ",\n".join([*([] if only is not None else self.tables()), *steps])
        return f"WITH\n{ctes}\n{select}"

    def findings_query(self, only: Sequence[str] | None = None) -> str:
        """The portable query ``--emit-sql`` prints: one row per finding, in file order.

        Columns: ``kind`` (``illegal``, ``skipped``, ``quarantine``, ``forced`` or
        ``input``), ``file``, ``line``, ``order_id``, ``sub_order_id``, ``machine``,
        ``src``/``dst`` (status names), ``verdict`` (an index into :attr:`verdicts`; NULL
        for input problems and for a forced change the rules allow), ``rule``, ``problem``
        (what an input problem is about: ``order_id``, ``seq``, ``via``, ``parent`` (the
        ``status`` of a refund row with a ``via``), ``sub_order_id``, ``status`` or
        ``refund_status``) and ``raw`` (its value).
        """
        select = (
            "SELECT kind, file, line, order_id, sub_order_id, machine, src, dst, verdict, rule,\n"
            "  problem, raw\n"
            "FROM (\n"
            "  SELECT kind, file, line, pos, order_id, sub_order_id, machine, src, dst, verdict,\n"
            "    rule,\n"
            "    CAST(NULL AS STRING) AS problem, CAST(NULL AS STRING) AS raw\n"
            "  FROM judged WHERE verdict IS NOT NULL OR kind = 'forced'\n"
            "  UNION ALL\n"
            "  SELECT 'input' AS kind, file, line, pos, order_id, sub_order_id, machine,\n"
            "    CAST(NULL AS STRING) AS src, CAST(NULL AS STRING) AS dst,\n"
            "    CAST(NULL AS INT) AS verdict, 'bad input' AS rule, problem,\n"
            "    CASE problem WHEN 'via' THEN via WHEN 'parent' THEN parent_raw ELSE raw END AS raw\n"
            "  FROM problems\n"
            ") f\n"
            "ORDER BY pos, machine"
        )
        return self.query(select, only)
