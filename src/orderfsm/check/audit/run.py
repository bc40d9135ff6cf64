"""Audit files: pick the machine (given, or named by the file) and the engine, run it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from orderfsm.check.audit.columns import Columns, Record
from orderfsm.check.audit.dwell import TimeReport
from orderfsm.check.audit.parts import Parts
from orderfsm.check.audit.reader import (
    AuditInputError,
    Note,
    Problem,
    csv_records,
    file_format,
    jsonl_records,
)
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.stream import Ordering, StreamAudit
from orderfsm.errors import shown
from orderfsm.model.compile import CompiledMachine, load

Engine = Literal["stream", "duckdb", "spark"]


def declared_machine(path: Path, columns: Columns) -> str | None:
    """The machine the file's ``machine`` column names on its first row, if it has one."""
    import csv  # noqa: PLC0415
    import json  # noqa: PLC0415

    fmt = file_format(path)
    try:
        if fmt == "csv":
            with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
                reader = csv.DictReader(handle)
                row = next(reader, None)
                value = None if row is None else row.get(columns.machine)
        elif fmt == "jsonl":
            with path.open("rb") as raw:
                first = next((x for x in raw if x.strip()), b"{}")
            item = json.loads(first.decode("utf-8-sig", errors="replace"))
            value = item.get(columns.machine) if isinstance(item, dict) else None
        else:
            from orderfsm.check.audit.duck import first_value  # noqa: PLC0415

            value = first_value(path, columns.machine)
    except (OSError, ValueError, RecursionError, csv.Error):
        return None
    return value if isinstance(value, str) and value else None


def resolve_machine(
    machine: str | Path | CompiledMachine | None, paths: Sequence[Path], columns: Columns
) -> CompiledMachine:
    """The machine to audit against: ``machine``, else the one the first file names."""
    if isinstance(machine, CompiledMachine):
        return machine
    if machine is not None:
        return load(machine)
    for path in paths:
        named = declared_machine(path, columns)
        if named is not None:
            return load(named)
    raise AuditInputError(
        f"which machine do the histories follow? Pass --machine NAME_OR_TABLE, or give the "
        f"file a {columns.machine!r} column naming it"
    )


def audit_files(
    paths: Sequence[str | Path],
    machine: str | Path | CompiledMachine | None = None,
    *,
    columns: Columns | None = None,
    engine: Engine | None = None,
    ordering: Ordering = "order",
    keep: int = 1000,
    listener: Callable[[AuditFinding], None] | None = None,
    spark_master: str | None = None,
    as_of: int | None = None,
    duckdb_memory: str | None = None,
) -> AuditResult:
    """Audit the exports ``paths`` (read as one history, in the order given).

    ``engine`` defaults to ``stream`` for CSV and JSON Lines and ``duckdb`` for Parquet.
    ``keep`` caps the findings of each kind held in the result (counts stay exact);
    ``listener`` sees each held finding as it is found. ``spark_master`` is the Spark
    master URL (or Spark Connect ``sc://`` URL) of the ``spark`` engine (default: the
    active session, else ``local[*]``); it reads the paths as given (any path Spark
    reads). When a file has a time column (:func:`timed`), the result's ``time`` holds
    dwell statistics and overdue stays, those still waiting judged at ``as_of`` (seconds
    since the epoch; default: the latest time read). ``duckdb_memory`` is the memory the
    ``duckdb`` engine's query may hold before it spills to disk (``"4GB"``; default
    ``duck.MEMORY_LIMIT``, 1 GB: more memory, less time on large exports). Raises
    :class:`~orderfsm.check.audit.reader.AuditInputError` when the files cannot be
    audited, and the library's own errors for an unknown machine.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise AuditInputError("no file to audit")
    memory = None if duckdb_memory is None else memory_size(duckdb_memory)
    cols = columns or Columns()
    compiled = resolve_machine(machine, files, cols)
    parts = Parts.of(compiled)
    chosen = engine or ("duckdb" if all(file_format(f) == "parquet" for f in files) else "stream")
    result = AuditResult(parts.main.machine, chosen, parts.machines, keep=keep, listener=listener)
    result.files = [str(f) for f in files]
    if timed(files, cols):
        result.time = TimeReport(parts.machines, as_of, keep, cols.at)
    if chosen == "duckdb":
        from orderfsm.check.audit.duck import audit_duckdb  # noqa: PLC0415

        if memory is None:
            return audit_duckdb(parts, files, cols, result)
        return audit_duckdb(parts, files, cols, result, memory)
    if chosen == "spark":
        from orderfsm.check.audit.spark import audit_spark  # noqa: PLC0415

        return audit_spark(parts, [str(p) for p in paths], cols, result, spark_master)
    audit = StreamAudit(parts, result, cols, ordering)
    for f in files:
        if file_format(f) == "csv":
            audit.feed_csv(f)
        else:
            audit.feed(str(f), records(f, cols, _problem(audit, str(f)), result.note))
    return audit.finish()


_SIZE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})? ?([KMGT]i?B)", re.IGNORECASE)


def memory_size(text: object) -> str:
    """``text`` if it is a memory size DuckDB reads (``512MB``, ``4GB``, ``1.5GiB``), else
    :class:`AuditInputError` naming it (it goes into the query's settings)."""
    if not isinstance(text, str) or not _SIZE.fullmatch(text):
        raise AuditInputError(
            f"duckdb memory: expected a size such as '4GB' or '512MB', got {shown(text)}"
        )
    return text


def timed(paths: Sequence[Path], columns: Columns) -> bool:
    """Whether the audit reads times: some file has the time column (CSV, Parquet: in its
    header; JSON Lines: as a key of its first object). Remote paths (Spark) are read by
    Spark: their header is not looked at here."""
    return any(_has_time(path, columns) for path in paths)


def _has_time(path: Path, columns: Columns) -> bool:
    import csv  # noqa: PLC0415
    import json  # noqa: PLC0415

    fmt = file_format(path)
    try:
        if fmt == "csv":
            with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
                return columns.at in next(csv.reader(handle), [])
        if fmt == "jsonl":
            with path.open("rb") as raw:
                first = next((x for x in raw if x.strip()), b"{}")
            item = json.loads(first.decode("utf-8-sig", errors="replace"))
            return isinstance(item, dict) and columns.at in item
        from orderfsm.check.audit.duck import connect, parquet_columns  # noqa: PLC0415

        return columns.at in parquet_columns(connect(), path)
    except (OSError, ValueError, RecursionError, csv.Error, AuditInputError):
        return False


def records(path: Path, columns: Columns, problem: Problem, note: Note) -> Iterator[Record]:
    """The rows of ``path`` in file order, by its format (see :func:`file_format`)."""
    fmt = file_format(path)
    if fmt == "parquet":
        from orderfsm.check.audit.duck import parquet_records  # noqa: PLC0415

        return parquet_records(path, columns, problem, note)
    return (csv_records if fmt == "csv" else jsonl_records)(path, columns, problem, note)


def _problem(audit: StreamAudit, file: str) -> Callable[[int, str, str], None]:
    def problem(line: int, column: str, detail: str) -> None:
        audit.result.add(AuditFinding("input", file, line, "", "bad input", detail, column=column))

    return problem
