"""The DuckDB engine: the portable audit query, in process, over CSV, JSON Lines or Parquet.

The files are loaded once into a table (file order kept: DuckDB preserves insertion
order, so ``rowid`` is the row's position), the machine's tables are created from the
query's ``VALUES``, and one query materialises the changes and reads findings (in
batches) and summary counts from them. DuckDB sorts as needed: input order does not
matter beyond ties in the ordering column (file order then). Line numbers count records
after the header (a file with blank lines or quoted line breaks numbers them differently
from the stream engine); a malformed file is an :class:`AuditInputError` with DuckDB's
message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from orderfsm.check.audit.columns import Columns, Record
from orderfsm.check.audit.parts import Parts
from orderfsm.check.audit.reader import (
    AuditInputError,
    Header,
    Note,
    Problem,
    check_fields,
    file_format,
    short,
)
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.rules import forced
from orderfsm.check.audit.sql import AuditSql

try:
    import duckdb
except ImportError:  # pragma: no cover - the audit extra is not installed
    duckdb = None  # type: ignore[assignment]


def connect() -> Any:
    """A fresh in-memory DuckDB connection, or a clear error when DuckDB is not installed."""
    if duckdb is None:
        raise AuditInputError(
            "the DuckDB engine and Parquet input need duckdb: pip install 'orderfsm[audit]'"
        )
    return duckdb.connect(":memory:")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def parquet_columns(con: Any, path: Path) -> list[str]:
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise AuditInputError(f"{path}: cannot read as Parquet: {_first_line(exc)}") from None
    return [str(r[0]) for r in rows]


def parquet_records(path: Path, columns: Columns, problem: Problem, note: Note) -> Iterator[Record]:
    """The rows of a Parquet export, in file order, read through DuckDB; lines are row numbers."""
    con = connect()
    names = parquet_columns(con, path)
    header = Header(str(path), names, columns, note)
    c = header.columns
    picked = [c.order_id, c.seq, c.status]
    picked += [c.sub_order_id] if header.sub_order_id >= 0 else []
    picked += [c.refund_status] if header.refund_status >= 0 else []
    picked += [c.via] if header.via >= 0 else []
    select = ", ".join(f"CAST({_q(n)} AS VARCHAR)" for n in picked)
    cursor = con.execute(
        f"SELECT {select} FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
        [str(path)],
    )
    number = 0
    while batch := cursor.fetchmany(65536):
        for row in batch:
            number += 1
            oid, seq, status = (v if v is not None else "" for v in row[:3])
            rest = list(row[3:])
            sub = rest.pop(0) if header.sub_order_id >= 0 else None
            refund = rest.pop(0) if header.refund_status >= 0 else None
            via = rest.pop(0) if header.via >= 0 else None
            if not check_fields((oid, seq, status), (c.order_id, c.seq, c.status), number, problem):
                continue
            yield (
                number,
                oid,
                seq,
                status,
                "" if sub is None and header.sub_order_id >= 0 else sub,
                "" if refund is None and header.refund_status >= 0 else refund,
                "" if via is None and header.via >= 0 else via,
            )


def first_value(path: Path, column: str) -> object:
    con = connect()
    names = parquet_columns(con, path)
    if column not in names:
        return None
    row = con.execute(f"SELECT {_q(column)} FROM read_parquet(?) LIMIT 1", [str(path)]).fetchone()
    return None if row is None else row[0]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _reader(path: Path) -> tuple[str, list[Any]]:
    fmt = file_format(path)
    if fmt == "csv":
        return (
            "read_csv(?, header = true, delim = ',', quote = '\"', escape = '\"', "
            "filename = true, all_varchar = true)",
            [str(path)],
        )
    if fmt == "jsonl":
        return "read_json(?, format = 'newline_delimited', filename = true)", [str(path)]
    return "read_parquet(?, filename = true)", [str(path)]


def load(con: Any, files: Sequence[Path], columns: Columns, result: AuditResult) -> Columns:
    """Create table ``raw`` (every file's rows, in order) and view ``history``; the columns."""
    resolved: Columns | None = None
    for n, path in enumerate(files):
        source, params = _reader(path)
        try:
            names = [
                str(r[0])
                for r in con.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()
            ]
        except duckdb.Error as exc:
            raise AuditInputError(f"{path}: cannot read: {_first_line(exc)}") from None
        names = [x for x in names if x != "filename"]
        if names and names[0].startswith("\ufeff"):
            raise AuditInputError(f"{path}: line 1: a byte-order mark DuckDB did not strip")
        header = Header(str(path), names, columns, result.note)
        c = resolved = header.columns
        picked = [
            f"CAST({_q(c.order_id)} AS VARCHAR) AS order_id",
            f"{_q(c.seq)} AS seq_raw",
            f"CAST({_q(c.status)} AS VARCHAR) AS status",
            (
                f"CAST({_q(c.sub_order_id)} AS VARCHAR)"
                if header.sub_order_id >= 0
                else "CAST(NULL AS VARCHAR)"
            )
            + " AS sub_order_id",
            (
                f"CAST({_q(c.refund_status)} AS VARCHAR)"
                if header.refund_status >= 0
                else "CAST(NULL AS VARCHAR)"
            )
            + " AS refund_status",
            (f"CAST({_q(c.via)} AS VARCHAR)" if header.via >= 0 else "CAST(NULL AS VARCHAR)")
            + " AS via",
            f"{n} AS file_index",
            f"{1 if file_format(path) == 'csv' else 0} AS header_lines",
            "filename",
        ]
        verb = "CREATE TEMP TABLE raw AS" if n == 0 else "INSERT INTO raw"
        try:
            con.execute(f"{verb} SELECT {', '.join(picked)} FROM {source}", params)
        except duckdb.Error as exc:
            raise AuditInputError(f"{path}: cannot read: {_first_line(exc)}") from None
    assert resolved is not None
    con.execute(
        "CREATE TEMP VIEW history AS SELECT r.filename AS file, "
        "CAST(r.pos - s.start + 1 + r.header_lines AS BIGINT) AS line, r.pos, "
        "r.order_id, r.sub_order_id, r.seq, r.status, r.refund_status, r.via "
        "FROM (SELECT *, rowid AS pos, " + _seq_expression(con) + " AS seq FROM raw) r "
        "JOIN (SELECT file_index, MIN(rowid) AS start FROM raw GROUP BY file_index) s "
        "USING (file_index)"
    )
    return resolved


def _seq_expression(con: Any) -> str:
    """``seq`` as integers when every value is one, else as text (the stream engine's rule)."""
    kind = con.execute("SELECT typeof(seq_raw) FROM raw LIMIT 1").fetchone()
    if kind is not None and kind[0] in ("VARCHAR",):
        all_int = con.execute(
            "SELECT bool_and(TRY_CAST(seq_raw AS BIGINT) IS NOT NULL OR seq_raw IS NULL "
            "OR seq_raw = '') FROM raw"
        ).fetchone()
        if all_int is not None and all_int[0]:
            return "CAST(NULLIF(seq_raw, '') AS BIGINT)"
        return "NULLIF(seq_raw, '')"
    return "seq_raw"


def _one_pass(sql: AuditSql) -> str:
    """The portable CTEs, with the changes materialised (DuckDB's ``AS MATERIALIZED``) and
    read once for findings (in file order), counts, changes taken and statuses ended in."""
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
    query = sql.query(select, only=[name for name, _ in sql.steps_ctes()])
    return query.replace("\nsteps AS (", "\nsteps AS MATERIALIZED (", 1)


def audit_duckdb(
    parts: Parts, files: Sequence[Path], columns: Columns, result: AuditResult
) -> AuditResult:
    """Run the audit in DuckDB; findings and counts as the stream engine reports them."""
    con = connect()
    c = load(con, files, columns, result)
    sql = AuditSql(parts)
    for table in sql.tables():
        name = table.split(" ", 1)[0]
        con.execute(f"CREATE TEMP TABLE {name} AS WITH {table} SELECT * FROM {name}")
    cursor = con.execute(_one_pass(sql))
    names = parts.machines
    role = {
        "order_id": c.order_id,
        "seq": c.seq,
        "status": c.status,
        "sub_order_id": c.sub_order_id,
        "refund_status": c.refund_status,
        "via": c.via,
        "parent": c.status,
    }
    main = parts.main.machine.name
    # in batches: an export where every row is illegal must not be held whole
    while batch := cursor.fetchmany(10_000):
        for row in batch:
            what, kind, file, line, _pos, oid, sub, machine, src, dst, verdict, problem, raw = row[
                :13
            ]
            n, m = row[13:]
            if what == "count":
                result.rows, result.orders = int(n), int(m)
            elif what == "ending":
                result.non_final[(machine, dst)] += int(n)
            elif what == "taken":
                result.taken[(machine, src, dst)] += int(n)
                result.steps += int(n)
            elif kind == "input":
                shown = short("" if raw is None else raw)
                detail = {
                    "order_id": "empty order id",
                    "seq": f"empty {c.seq}",
                    "sub_order_id": "a refund status without a sub-order id",
                    "via": f"unknown {c.via} {shown}",
                    "parent": f"unknown {main} status {shown}",
                }.get(problem, f"unknown {machine} status {shown}")
                result.add(
                    AuditFinding(
                        "input", file, line, oid, "bad input", detail, column=role[problem]
                    )
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
