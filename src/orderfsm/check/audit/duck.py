"""The DuckDB engine: the portable audit query, in process, over CSV, JSON Lines or Parquet.

Nothing is loaded into a table: the files are views (a row's position is its number in
its file, by DuckDB's streaming ``ROW_NUMBER() OVER ()``, file order kept) that the one
audit query streams into its window sort; the machine's tables are created from the
query's ``VALUES``; findings (in batches) and summary counts come from that one query.
File names and line numbers are not carried through the sorts: they are found from the
positions of the rows with findings. DuckDB sorts as needed: input order does not
matter beyond ties in the ordering column (file order then). Line numbers count records
after the header (a file with blank lines or quoted line breaks numbers them differently
from the stream engine); a malformed file is an :class:`AuditInputError` with DuckDB's
message."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from orderfsm.check.audit.columns import INTEGER_SEQ, MAX_FIELD, Columns, Record
from orderfsm.check.audit.dwell import TIME_PATTERN
from orderfsm.check.audit.dwell_sql import Locate, read_time_rows, time_query
from orderfsm.check.audit.parts import Parts
from orderfsm.check.audit.readback import Lookups, one_pass, read_rows
from orderfsm.check.audit.reader import (
    FIELD_LIMIT,
    AuditInputError,
    Header,
    Note,
    Problem,
    check_fields,
    file_format,
    jsonl_records,
    open_csv,
)
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.sql import AuditSql

try:
    import duckdb
except ImportError:  # pragma: no cover - the audit extra is not installed
    duckdb = None  # type: ignore[assignment]


MEMORY_LIMIT = "1GB"
"""DuckDB's memory for the audit query: past it, its window sorts spill to disk (DuckDB's
own default is 80 % of the machine's memory, which a large export fills on a machine
others share). At 1M rows the query stays under it; at 10M it spills, in a third of
the memory and 1.7x-2x the CPU time of the query held in memory; 100M rows ran in
1.3 GB (docs/performance.md, "History audit")."""


def connect(spill: Path | None = None, memory: str = MEMORY_LIMIT) -> Any:
    """A fresh in-memory DuckDB connection, or a clear error when DuckDB is not installed.

    With ``spill`` (a private folder the caller removes after closing the connection), the
    query runs in ``memory`` (a size DuckDB reads, checked by
    :func:`~orderfsm.check.audit.run.memory_size`) and spills there; without, DuckDB's defaults hold
    (small reads). ``preserve_insertion_order`` stays on: positions (line numbers) are
    rows' numbers in file order (:func:`load`), which a scan out of order would break."""
    if duckdb is None:
        raise AuditInputError(
            "the DuckDB engine and Parquet input need duckdb: pip install 'orderfsm[audit]'"
        )
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")  # printed on stdout: into a --json report
    if spill is not None:
        con.execute(f"SET temp_directory = {_literal(spill)}")
        con.execute(f"SET memory_limit = '{memory}'")
    return con


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
    picked += [c.at] if header.at >= 0 else []
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
            at = rest.pop(0) if header.at >= 0 else None
            if not check_fields(
                (oid, seq, status, sub or "", refund or ""),
                (c.order_id, c.seq, c.status, c.sub_order_id, c.refund_status),
                number,
                problem,
            ):
                continue
            yield (
                number,
                oid,
                seq,
                status,
                "" if sub is None and header.sub_order_id >= 0 else sub,
                "" if refund is None and header.refund_status >= 0 else refund,
                "" if via is None and header.via >= 0 else via,
                "" if at is None and header.at >= 0 else at,
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


FILE_STRIDE = 1 << 40
"""Positions of one file's rows: below the next file's (see :func:`load`)."""


def locate(located: Sequence[tuple[str, int]], pos: int) -> tuple[str, int]:
    """The file and line of the row at ``pos`` (see :func:`load`)."""
    file, past = located[pos // FILE_STRIDE]
    return file, pos % FILE_STRIDE + past


ROLES = ("order_id", "seq", "status", "sub_order_id", "refund_status", "via", "at")
"""The columns of table ``raw``, one per role (``seq`` as ``seq_raw``, ``at`` as
``at_raw``), all text."""

LONG_CHECKED = ("order_id", "seq_raw", "status", "sub_order_id", "refund_status")
"""The fields a row is dropped for when longer than ``MAX_FIELD``, in the stream
reader's order (:func:`~orderfsm.check.audit.reader.check_fields`)."""


def _csv_source(path: Path) -> str:
    return (
        f"read_csv({_literal(path)}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"filename = true, all_varchar = true, max_line_size = {FIELD_LIMIT})"
    )


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _csv_picked(con: Any, path: Path, columns: Columns, note: Note) -> tuple[Columns, list[str]]:
    """The header read as the stream engine reads it (same checks: a duplicated or
    missing column, a byte-order mark), and DuckDB's columns picked by position."""
    with open_csv(path, columns, note) as (_, header):
        pass
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {_csv_source(path)}").fetchall()
    except duckdb.Error as exc:
        raise AuditInputError(f"{path}: cannot read: {_first_line(exc)}") from None
    names = [str(r[0]) for r in described if str(r[0]) != "filename"]
    if len(names) != len(header.names):
        raise AuditInputError(
            f"{path}: line 1: DuckDB reads {len(names)} columns where the header names "
            f"{len(header.names)}"
        )
    picked = [
        f"CAST({_q(names[i])} AS VARCHAR)" if i >= 0 else "CAST(NULL AS VARCHAR)"
        for i in header.positions
    ]
    return header.columns, [*picked, "CAST(NULL AS BIGINT)", "1", "filename"]


def _jsonl_picked(
    path: Path, columns: Columns, result: AuditResult, folder: Path, n: int
) -> tuple[Columns, list[str], str]:
    """JSON Lines through the stream engine's own reader (so values normalise exactly as
    there, and bad lines are the same findings), written to a CSV DuckDB then reads."""
    chosen: list[Columns] = []
    file = str(path)

    def problem(line: int, column: str, detail: str) -> None:
        result.add(AuditFinding("input", file, line, "", "bad input", detail, column=column))

    out = folder / f"{n}.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(("line", *ROLES))
        for record in jsonl_records(path, columns, problem, result.note, chosen.append):
            writer.writerow("" if v is None else v for v in record)
    source = (
        f"read_csv({_literal(out)}, header = true, delim = ',', quote = '\"', escape = '\"', "
        "all_varchar = true)"
    )
    picked = [f"NULLIF({_q(role)}, '')" for role in ROLES]
    name = _literal(path)
    return (
        chosen[0] if chosen else columns.resolve_seq([]),
        [*picked, "CAST(line AS BIGINT)", "0", name],
        source,
    )


def load(
    con: Any,
    files: Sequence[Path],
    columns: Columns,
    result: AuditResult,
    folder: Path,
    *,
    located: list[tuple[str, int]],
) -> Columns:
    """Create views ``raw`` (every file's rows, in order, every field as text; ``long``
    names a field over ``MAX_FIELD``, for which the stream reader drops a row) and
    ``history`` (the rows the audit judges); the columns. ``folder`` holds JSON Lines
    files converted to CSV; ``located`` gets each file's name and how far its lines are
    past its positions (:func:`locate`).

    Nothing is loaded: each query that reads ``raw`` reads the files (the audit query
    streams them into its sort). A row's position is its number in its file (DuckDB's
    streaming ``ROW_NUMBER() OVER ()``, file order kept) above the file's index times
    :data:`FILE_STRIDE` (JSON Lines: its line); its line is that number past the header."""
    resolved: Columns | None = None
    long_field = (
        "CASE "
        # strlen (bytes) first: LENGTH (characters) scans, and is never larger
        + " ".join(
            f"WHEN strlen({f}) > {MAX_FIELD} AND LENGTH({f}) > {MAX_FIELD} THEN '{f}'"
            for f in LONG_CHECKED
        )
        + " END"
    )
    selects = []
    located.clear()
    for n, path in enumerate(files):
        fmt = file_format(path)
        if fmt == "csv":
            resolved, picked = _csv_picked(con, path, columns, result.note)
            source = _csv_source(path)
        elif fmt == "jsonl":
            resolved, picked, source = _jsonl_picked(path, columns, result, folder, n)
        else:
            resolved, picked = _parquet_picked(con, path, columns, result.note)
            source = f"read_parquet({_literal(path)})"
        names = [*(r if r not in ("seq", "at") else f"{r}_raw" for r in ROLES), "given_line"]
        select = ", ".join(f"{e} AS {a}" for e, a in zip(picked, names, strict=False))
        numbered = f"SELECT *, ROW_NUMBER() OVER () AS number FROM (SELECT {select} FROM {source})"
        try:  # the file's first row: DuckDB's own reading errors surface here, named
            con.execute(f"SELECT * FROM ({numbered}) LIMIT 1").fetchall()
        except duckdb.Error as exc:
            raise AuditInputError(f"{path}: cannot read: {_first_line(exc)}") from None
        selects.append(
            f"SELECT {', '.join(names[:-1])}, {_literal(path)} AS filename, "
            f"COALESCE(given_line, number + {picked[-2]}) AS line, "
            f"{n} * {FILE_STRIDE} + COALESCE(given_line, number) AS pos, "
            f"{long_field} AS long FROM ({numbered})"
        )
        located.append((str(path), int(picked[-2])))
    assert resolved is not None
    con.execute("CREATE TEMP VIEW raw AS " + "\nUNION ALL\n".join(selects))
    con.execute(
        # file and line are not carried through the sorts: found from pos, for findings
        "CREATE TEMP VIEW history AS SELECT CAST(NULL AS STRING) AS file, "
        "CAST(NULL AS BIGINT) AS line, pos, "
        f"order_id, sub_order_id, {_seq_expression(con, selects)} AS seq, status, "
        f"refund_status, via, at_raw, CASE WHEN regexp_full_match(at_raw, '{TIME_PATTERN}') "
        "THEN CAST(at_raw AS BIGINT) END AS at_time "
        "FROM raw WHERE long IS NULL"
    )
    return resolved


def _parquet_picked(
    con: Any, path: Path, columns: Columns, note: Note
) -> tuple[Columns, list[str]]:
    names = parquet_columns(con, path)
    header = Header(str(path), names, columns, note)
    c = header.columns
    at = (
        (c.order_id, True),
        (c.seq, True),
        (c.status, True),
        (c.sub_order_id, header.sub_order_id >= 0),
        (c.refund_status, header.refund_status >= 0),
        (c.via, header.via >= 0),
        (c.at, header.at >= 0),
    )
    picked = [
        f"CAST({_q(name)} AS VARCHAR)" if present else "CAST(NULL AS VARCHAR)"
        for name, present in at
    ]
    return c, [*picked, "CAST(NULL AS BIGINT)", "0", "filename"]


def _seq_expression(con: Any, selects: Sequence[str]) -> str:
    """``seq`` as integers when the first usable row's is one, else as text: the stream
    engine's rule (a later value that is not an integer is then a problem, not text).

    The first usable row is read file by file with ``LIMIT 1`` and no ``ORDER BY``:
    DuckDB keeps insertion order (``preserve_insertion_order``, on by default), so the
    scan stops there instead of sorting every row (a whole scan was 7 % of the audit)."""
    first = None
    for select in selects:
        first = con.execute(
            f"SELECT seq_raw FROM ({select}) WHERE long IS NULL AND COALESCE(order_id, '') <> '' "
            "AND COALESCE(seq_raw, '') <> '' LIMIT 1"
        ).fetchone()
        if first is not None:
            break
    if first is not None and INTEGER_SEQ.match(first[0]):
        return (
            "CASE WHEN regexp_full_match(seq_raw, '-?[0-9]{1,18}') AND LENGTH(seq_raw) < 19 "
            "THEN CAST(seq_raw AS BIGINT) END"
        )
    return "NULLIF(seq_raw, '')"


def _raw_seq(con: Any, pos: int) -> str:
    row = con.execute("SELECT COALESCE(seq_raw, '') FROM raw WHERE pos = ?", [pos]).fetchone()
    return "" if row is None else str(row[0])


def audit_duckdb(
    parts: Parts,
    files: Sequence[Path],
    columns: Columns,
    result: AuditResult,
    memory: str = MEMORY_LIMIT,
) -> AuditResult:
    """Run the audit in DuckDB; findings and counts as the stream engine reports them.

    One private folder holds the JSON Lines files converted to CSV and what the query
    spills past ``memory``; the connection is closed before it is removed."""
    with tempfile.TemporaryDirectory(prefix="orderfsm-audit-") as folder:
        con = connect(Path(folder) / "spill", memory)
        try:
            located: list[tuple[str, int]] = []
            c = load(con, files, columns, result, Path(folder), located=located)
            _run(con, parts, c, result, lambda pos: locate(located, pos))
            if result.time is not None:  # a query of its own: the findings query is untouched
                _run_time(con, parts, result, lambda pos, _: locate(located, pos))
            return result
        finally:
            con.close()


def _run_time(con: Any, parts: Parts, result: AuditResult, where: Locate) -> None:
    """The time query (:mod:`~orderfsm.check.audit.dwell_sql`) read into ``result.time``."""
    assert result.time is not None
    try:
        cursor = con.execute(time_query(AuditSql(parts), result.time.given))

        def batches() -> Iterator[tuple[Any, ...]]:
            while batch := cursor.fetchmany(10_000):
                yield from batch

        read_time_rows(batches(), result, where)
    except duckdb.Error as exc:
        raise AuditInputError(f"cannot read: {_first_line(exc)}") from None


def _run(
    con: Any,
    parts: Parts,
    c: Columns,
    result: AuditResult,
    where: Callable[[int], tuple[str, int]],
) -> AuditResult:
    """The audit query over the loaded ``history``, read into ``result``."""
    sql = AuditSql(parts)
    for table in sql.tables():
        name = table.split(" ", 1)[0]
        con.execute(f"CREATE TEMP TABLE {name} AS WITH {table} SELECT * FROM {name}")
    try:
        cursor = con.execute(one_pass(sql, "line", "pos"))
    except duckdb.Error as exc:
        raise AuditInputError(f"cannot read: {_first_line(exc)}") from None

    def long_length(field: str, pos: int) -> int:
        row = con.execute(f"SELECT LENGTH({field}) FROM raw WHERE pos = ?", [pos]).fetchone()
        return int(row[0])

    def batches() -> Iterator[tuple[Any, ...]]:
        # in batches: an export where every row is illegal must not be held whole
        while batch := cursor.fetchmany(10_000):
            yield from batch

    try:  # the files are read as the query runs: a malformed row can surface here
        return read_rows(
            batches(), sql, c, result, Lookups(long_length, lambda pos: _raw_seq(con, pos), where)
        )
    except duckdb.Error as exc:
        raise AuditInputError(f"cannot read: {_first_line(exc)}") from None
