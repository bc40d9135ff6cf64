"""The Spark engine: the portable audit query on a Spark session, local or a cluster.

Each file is read by Spark (CSV, Parquet: any path Spark reads) or, for JSON Lines, by
the stream engine's own reader on the driver (so values normalise exactly as there). Rows
are not numbered while they are read: a row's position is Spark's
``monotonically_increasing_id`` (its read partition in the upper bits, its index in that
partition in the lower ones) with the file's index above it, which orders rows as the
file does; only rows with findings get a line number, from the row counts of the
partitions before theirs (one small aggregate per file). Line numbers count records after
the header, as in the DuckDB engine. The machine's tables become temporary views, then the
query of the DuckDB engine runs (:func:`~orderfsm.check.audit.readback.one_pass`),
findings read back in file order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orderfsm.check.audit.columns import INTEGER_SEQ, MAX_FIELD, Columns
from orderfsm.check.audit.dwell import TIME_PATTERN
from orderfsm.check.audit.dwell_sql import read_time_rows, time_query
from orderfsm.check.audit.parts import Parts
from orderfsm.check.audit.readback import Lookups, one_pass, read_rows
from orderfsm.check.audit.reader import (
    FIELD_LIMIT,
    AuditInputError,
    Header,
    file_format,
    jsonl_records,
    open_csv,
)
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.sql import AuditSql, literal

FILE_SHIFT = 56
"""A row's position is ``file index << FILE_SHIFT`` plus its id within the file (so up to
127 files, and read partitions below ``2 ** 23`` per file)."""

PARTITION_SHIFT = 33
"""Where ``monotonically_increasing_id`` puts the partition index (Spark's layout)."""

LINE = "COALESCE(line, -1 - pos)"
"""A row's line: given (JSON Lines), else ``-1 - pos``, numbered only for findings
(:meth:`_Lines.line`)."""

ROLES = ("order_id", "seq_raw", "status", "sub_order_id", "refund_status", "via", "at_raw")

LONG_CHECKED = ("order_id", "seq_raw", "status", "sub_order_id", "refund_status")
"""The fields a row is dropped for when longer than ``MAX_FIELD``, in the stream reader's order."""


def session(master: str | None) -> Any:
    """The Spark session to run on: a Spark Connect one for an ``sc://`` URL, else the
    active session (when no master is given) or one on ``master`` (default ``local[*]``)."""
    try:
        from pyspark.sql import SparkSession  # noqa: PLC0415
    except ImportError:
        raise AuditInputError(
            "the Spark engine needs pyspark: pip install 'orderfsm[spark]'"
        ) from None
    builder = SparkSession.builder
    if master is not None and master.startswith("sc://"):
        return builder.remote(master).getOrCreate()
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    spark = (
        builder.master(master or "local[*]")
        .appName("orderfsm-audit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")  # the report is ours: no progress, no warnings
    return spark


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class _Loaded:
    """One file as rows of ``raw``: its frame, where its first record's line is (``None``:
    each row carries its line), and the columns its header resolved."""

    frame: Any
    first_line: int | None
    columns: Columns


def _picked(names: list[str], header: Header) -> list[str]:
    return [
        f"CAST({_q(names[i])} AS STRING)" if i >= 0 else "CAST(NULL AS STRING)"
        for i in header.positions
    ]


def _csv(spark: Any, path: str, columns: Columns, result: AuditResult) -> _Loaded:
    reader = spark.read.options(
        header=True,
        inferSchema=False,
        mode="FAILFAST",
        quote='"',
        escape='"',
        encoding="UTF-8",
        maxCharsPerColumn=FIELD_LIMIT,
    )
    frame = reader.csv(path)
    names = list(frame.columns)
    local = Path(path)
    if local.is_file():  # the header checked as the other engines check it
        with open_csv(local, columns, result.note) as (_, header):
            pass
        if len(names) != len(header.names):
            raise AuditInputError(
                f"{path}: line 1: Spark reads {len(names)} columns where the header names "
                f"{len(header.names)}"
            )
    else:
        header = Header(path, names, columns, result.note)
    return _Loaded(frame.selectExpr(*_as_roles(_picked(names, header))), 2, header.columns)


def _parquet(spark: Any, path: str, columns: Columns, result: AuditResult) -> _Loaded:
    frame = spark.read.parquet(path)
    names = list(frame.columns)
    header = Header(path, names, columns, result.note)
    return _Loaded(frame.selectExpr(*_as_roles(_picked(names, header))), 1, header.columns)


def _jsonl(spark: Any, path: str, columns: Columns, result: AuditResult) -> _Loaded:
    chosen: list[Columns] = []

    def problem(line: int, column: str, detail: str) -> None:
        result.add(AuditFinding("input", path, line, "", "bad input", detail, column=column))

    rows = [
        (*(v or None for v in record[1:]), record[0])
        for record in jsonl_records(Path(path), columns, problem, result.note, chosen.append)
    ]
    schema = ", ".join(f"{r} string" for r in ROLES) + ", line bigint"
    frame = spark.createDataFrame(rows, schema)
    return _Loaded(frame, None, chosen[0] if chosen else columns.resolve_seq([]))


def _as_roles(picked: list[str]) -> list[str]:
    return [
        *(f"{e} AS {r}" for e, r in zip(picked, ROLES, strict=True)),
        "CAST(NULL AS BIGINT) AS line",
    ]


class _Lines:
    """Line numbers of rows by position: per file, where each read partition starts."""

    def __init__(self) -> None:
        self.starts: list[dict[int, int]] = []

    def add(self, frame: Any, first_line: int | None) -> None:
        """Count the rows of each read partition of ``frame`` (``mid``: its row ids)."""
        if first_line is None:
            self.starts.append({})
            return
        counts = sorted(
            (int(r[0]), int(r[1]))
            for r in frame.selectExpr(f"shiftright(mid, {PARTITION_SHIFT}) AS part")
            .groupBy("part")
            .count()
            .collect()
        )
        starts, line = {}, first_line
        for part, count in counts:
            starts[part] = line
            line += count
        self.starts.append(starts)

    def line(self, pos: int) -> int:
        file, mid = pos >> FILE_SHIFT, pos & ((1 << FILE_SHIFT) - 1)
        part, index = mid >> PARTITION_SHIFT, mid & ((1 << PARTITION_SHIFT) - 1)
        return self.starts[file][part] + index


def load(
    spark: Any, files: Sequence[str], columns: Columns, result: AuditResult
) -> tuple[Columns, _Lines]:
    """Register views ``raw`` (every row, fields as text, ``long`` naming a field over
    ``MAX_FIELD``) and ``history`` (the rows judged); the columns and the line numbering."""
    from pyspark.sql import functions  # noqa: PLC0415

    readers = {"csv": _csv, "parquet": _parquet, "jsonl": _jsonl}
    lines = _Lines()
    frames = []
    resolved = columns
    long_field = (
        "CASE "
        + " ".join(f"WHEN LENGTH({f}) > {MAX_FIELD} THEN '{f}'" for f in LONG_CHECKED)
        + " END"
    )
    for n, path in enumerate(files):
        loaded = readers[file_format(Path(path))](spark, path, columns, result)
        resolved = loaded.columns
        frame = loaded.frame.withColumn("mid", functions.monotonically_increasing_id())
        lines.add(frame, loaded.first_line)
        frames.append(
            frame.selectExpr(
                *ROLES,
                "line",
                f"shiftleft(CAST({n} AS BIGINT), {FILE_SHIFT}) + mid AS pos",
                f"{literal(path)} AS filename",
                f"{long_field} AS long",
            )
        )
    raw = frames[0]
    for frame in frames[1:]:
        raw = raw.unionByName(frame)
    raw.createOrReplaceTempView("raw")
    spark.sql(
        f"SELECT filename AS file, {LINE} AS line, pos, order_id, sub_order_id, "
        f"{_seq_expression(spark)} AS seq, status, refund_status, via, at_raw, "
        f"CASE WHEN regexp_extract(at_raw, '^{TIME_PATTERN}', 0) = at_raw "
        "THEN CAST(at_raw AS BIGINT) END AS at_time FROM raw WHERE long IS NULL"
    ).createOrReplaceTempView("history")
    return resolved, lines


def _seq_expression(spark: Any) -> str:
    """``seq`` as integers when the first usable row's is one, else as text (the rule of
    the other engines)."""
    first = spark.sql(
        "SELECT seq_raw FROM raw WHERE long IS NULL AND COALESCE(order_id, '') <> '' "
        "AND COALESCE(seq_raw, '') <> '' ORDER BY pos LIMIT 1"
    ).collect()
    if first and INTEGER_SEQ.match(first[0][0]):
        return (
            "CASE WHEN regexp_extract(seq_raw, '^-?[0-9]{1,18}', 0) = seq_raw "
            "THEN CAST(seq_raw AS BIGINT) END"
        )
    return "NULLIF(seq_raw, '')"


def audit_spark(
    parts: Parts,
    files: Sequence[str],
    columns: Columns,
    result: AuditResult,
    master: str | None = None,
) -> AuditResult:
    """Run the audit on Spark; findings and counts as the other engines report them."""
    from py4j.protocol import Py4JError  # noqa: PLC0415
    from pyspark.errors import PySparkException  # noqa: PLC0415

    spark = session(master)
    sql = AuditSql(parts)

    def long_length(field: str, pos: int) -> int:
        found = spark.sql(f"SELECT LENGTH({field}) FROM raw WHERE pos = {int(pos)}").collect()
        return int(found[0][0])

    def raw_seq(pos: int) -> str:
        found = spark.sql(f"SELECT COALESCE(seq_raw, '') FROM raw WHERE pos = {int(pos)}").collect()
        return "" if not found else str(found[0][0])

    try:
        c, lines = load(spark, files, columns, result)
        for table in sql.tables():
            name = table.split(" ", 1)[0]
            spark.sql(f"WITH {table} SELECT * FROM {name}").createOrReplaceTempView(name)
        rows = spark.sql(one_pass(sql, LINE, "pos")).toLocalIterator()

        def numbered() -> Iterator[tuple[Any, ...]]:
            for row in rows:
                values = tuple(row)
                if values[3] is not None and values[3] < 0:
                    values = (*values[:3], lines.line(-1 - values[3]), *values[4:])
                yield values

        read_rows(numbered(), sql, c, result, Lookups(long_length, raw_seq))
        if result.time is not None:  # a query of its own: the findings query is untouched

            def where(pos: int, line: int | None) -> tuple[str, int]:
                number = line if line is not None and line >= 0 else lines.line(pos)
                return files[pos >> FILE_SHIFT], number

            query = time_query(sql, result.time.given)
            read_time_rows((tuple(r) for r in spark.sql(query).toLocalIterator()), result, where)
        return result
    except (PySparkException, Py4JError) as exc:  # malformed input, a path Spark cannot read
        raise AuditInputError(f"Spark cannot run the audit: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
