"""Reading exports row by row: CSV, JSON Lines and Parquet, bad input named, never fatal.

Every reader yields :data:`~orderfsm.check.audit.columns.Record` tuples in file order and
reports what it cannot use through ``problem(line, column, detail)``: a row with too few
fields, a JSON Lines line that is not an object, a value that is not text or a number, a
byte that is not UTF-8 in a field the audit reads. Such a row is skipped (and counted);
a file that cannot be read at all (missing, no header, a required column missing) raises
:class:`AuditInputError` naming the file, line and column. Line numbers are physical
lines of the file (blank lines and quoted line breaks counted); for Parquet, row numbers.
A UTF-8 byte-order mark is skipped. Columns the audit does not read are ignored, and said
once through ``note``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orderfsm.check.audit.columns import MAX_FIELD, Columns, Record
from orderfsm.errors import OrderFsmError

Problem = Callable[[int, str, str], None]
Note = Callable[[str], None]

FIELD_LIMIT = 1 << 20
"""Largest CSV field the stream engine parses, and longest line DuckDB reads (1 MiB): a
file with a longer one (typically an unterminated quote) cannot be audited (exit 2) in
either engine. (DuckDB left to its own line limit spends minutes on a 1.5 MB line.)"""

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")


class AuditInputError(OrderFsmError):
    """The export cannot be audited at all (missing file, header or column, bad ordering)."""


def unreadable_csv(file: str, line: int, exc: csv.Error) -> AuditInputError:
    """The error for a CSV the csv module cannot parse past ``line`` (a field over
    :data:`FIELD_LIMIT`: an unterminated quote swallowing the rest of the file)."""
    text = str(exc)
    if "field limit" in text:
        text += f" ({FIELD_LIMIT} characters: an unterminated quote?)"
    elif "unexpected end of data" in text:
        text += " (an unterminated quote)"
    return AuditInputError(f"{file}: line {line}: cannot read as CSV: {text}")


def file_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from the file's suffix (CSV when unknown)."""
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return "csv"


def bad_utf8(value: str) -> int | None:
    """The index of the first undecodable byte in ``value`` (read with surrogateescape)."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length said."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


class Header:
    """Where each column the audit reads sits, checked against the file's header."""

    def __init__(self, file: str, names: list[str], columns: Columns, note: Note) -> None:
        columns = columns.resolve_seq(names)
        self.names = names
        missing = [c for c in columns.required if c not in names]
        if missing:
            raise AuditInputError(
                f"{file}: line 1: the header has no column {missing[0]!r} "
                f"(it has: {', '.join(short(n, 30) for n in names) or 'nothing'}); "
                "rename columns with --column ROLE=NAME"
            )
        duplicated = sorted({n for n in names if names.count(n) > 1 and n in _roles(columns)})
        if duplicated:
            raise AuditInputError(f"{file}: line 1: column {duplicated[0]!r} appears twice")
        self.columns = columns
        self.order_id = names.index(columns.order_id)
        self.seq = names.index(columns.seq)
        self.status = names.index(columns.status)
        self.sub_order_id = (
            names.index(columns.sub_order_id) if columns.sub_order_id in names else -1
        )
        self.refund_status = (
            names.index(columns.refund_status) if columns.refund_status in names else -1
        )
        self.via = names.index(columns.via) if columns.via in names else -1
        self.at = names.index(columns.at) if columns.at in names else -1
        self.width = max(self.positions) + 1
        ignored = [n for n in names if n not in _roles(columns)]
        if ignored:
            note(f"{file}: ignored columns: {', '.join(short(n, 30) for n in ignored)}")

    @property
    def positions(self) -> tuple[int, int, int, int, int, int, int]:
        """Where each role sits (``-1``: absent): order id, seq, status, sub-order id,
        refund status, via, at."""
        return (
            self.order_id,
            self.seq,
            self.status,
            self.sub_order_id,
            self.refund_status,
            self.via,
            self.at,
        )


def _roles(columns: Columns) -> set[str]:
    return {
        columns.order_id,
        columns.seq,
        columns.status,
        columns.sub_order_id,
        columns.refund_status,
        columns.machine,
        columns.via,
        columns.at,
    }


def check_fields(
    values: tuple[str, ...], names: tuple[str, ...], line: int, problem: Problem
) -> bool:
    """Whether the fields read are usable: not too long, valid UTF-8, ids not empty."""
    for value, name in zip(values, names, strict=True):
        if len(value) > MAX_FIELD:
            problem(line, name, f"{name} is longer than {MAX_FIELD} characters ({len(value)})")
            return False
        at = bad_utf8(value)
        if at is not None:
            problem(line, name, f"{name} is not UTF-8 (character {at + 1})")
            return False
    return True


def csv_records(path: Path, columns: Columns, problem: Problem, note: Note) -> Iterator[Record]:
    """The rows of a CSV export with a header row (any dialect csv.reader reads by default)."""
    with open_csv(path, columns, note) as (reader, header):
        yield from csv_rows(reader, header, problem, str(path))


CsvReader = Any
"""A ``csv.reader`` (``_csv.Reader``, which has no public type)."""


@contextmanager
def open_csv(path: Path, columns: Columns, note: Note) -> Iterator[tuple[CsvReader, Header]]:
    """A ``csv.reader`` positioned after the header row, and the checked header.

    The reader is strict, as DuckDB's is: a quote that does not close a quoted field (or
    never closes) makes the file unreadable rather than one odd field."""
    file = str(path)
    csv.field_size_limit(FIELD_LIMIT)
    try:
        handle = path.open(encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise AuditInputError(f"{file}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle, strict=True)
        names: list[str] = []
        while not names:
            try:
                names = next(reader)
            except StopIteration:
                raise AuditInputError(f"{file}: no header row (the file is empty)") from None
            except csv.Error as exc:
                raise unreadable_csv(file, reader.line_num, exc) from None
        if names[0].startswith("\ufeff"):
            names[0] = names[0][1:]
        yield reader, Header(file, names, columns, note)


def csv_rows(
    reader: CsvReader, header: Header, problem: Problem, file: str = ""
) -> Iterator[Record]:
    """The records of an open CSV export (see :func:`open_csv`); a row the csv module
    cannot parse raises :class:`AuditInputError`."""
    c = header.columns
    io, iq, ist, isub, iref, ivia, iat = header.positions
    width = header.width
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise unreadable_csv(file, start, exc) from None
        if len(row) < width:
            if row:  # blank lines are skipped
                problem(start, "", f"the row has {len(row)} fields, the header names {width}")
            continue
        oid, seq, status = row[io], row[iq], row[ist]
        sub = row[isub] if isub >= 0 else None
        refund = row[iref] if iref >= 0 else None
        via = row[ivia] if ivia >= 0 else None
        at = row[iat] if iat >= 0 else None
        if not (
            len(oid) <= 64
            and len(status) <= 64
            and len(seq) <= 64
            and oid.isascii()
            and status.isascii()
        ) and not check_fields((oid, seq, status), (c.order_id, c.seq, c.status), start, problem):
            continue
        extra = (sub or "", refund or "")
        if (
            len(extra[0]) > 64 or len(extra[1]) > 64 or not (extra[0] + extra[1]).isascii()
        ) and not check_fields(extra, (c.sub_order_id, c.refund_status), start, problem):
            continue
        yield (start, oid, seq, status, sub, refund, via, at)


def _scalar(value: object) -> str | None:
    """A JSON value as the text a CSV export would carry; ``None`` if it is not a scalar."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None


def jsonl_records(
    path: Path,
    columns: Columns,
    problem: Problem,
    note: Note,
    resolved: Callable[[Columns], None] | None = None,
) -> Iterator[Record]:
    """The rows of a JSON Lines export: one object per line, keys named like CSV columns.

    Values normalise to the text a CSV export would carry: text as it is, numbers as
    Python writes them (``10``, ``1.5``), ``null`` as empty; ``true``/``false``, arrays and
    objects are problems, and so is text that is not valid Unicode (a lone surrogate).
    ``resolved`` hears the columns once the first object has named the ordering column.
    """
    file = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise AuditInputError(f"{file}: cannot read: {exc.strerror or exc}") from None
    ignored: set[str] = set()
    chosen: Columns | None = None
    with handle:
        for number, raw in enumerate(handle, start=1):
            data = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem(number, "", f"not UTF-8 (byte {exc.start + 1})")
                continue
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except json.JSONDecodeError as exc:
                problem(number, "", f"not JSON: {exc.msg} (column {exc.colno})")
                continue
            except RecursionError:
                problem(number, "", "not usable JSON: nested too deeply")
                continue
            if not isinstance(item, dict):
                problem(number, "", f"expected a JSON object, got {type(item).__name__}")
                continue
            if chosen is None:
                chosen = columns.resolve_seq(list(item))
                if resolved is not None:
                    resolved(chosen)
            record = _json_record(number, item, chosen, problem)
            new = set(item) - _roles(chosen) - ignored
            if new and len(ignored) < 20:
                ignored |= new
                note(f"{file}: ignored keys: {', '.join(sorted(short(k, 30) for k in new))}")
            if record is not None:
                yield record


def _json_record(
    number: int, item: dict[str, object], c: Columns, problem: Problem
) -> Record | None:
    values: list[str | None] = []
    for name, required in (
        (c.order_id, True),
        (c.seq, True),
        (c.status, True),
        (c.sub_order_id, False),
        (c.refund_status, False),
        (c.via, False),
        (c.at, False),
    ):
        if name not in item:
            if required:
                problem(number, name, f"the object has no key {name!r}")
                return None
            values.append(None)
            continue
        value = _scalar(item[name])
        if value is None:
            problem(number, name, f"{name} is {type(item[name]).__name__}, not text or a number")
            return None
        if len(value) > MAX_FIELD:
            problem(number, name, f"{name} is longer than {MAX_FIELD} characters ({len(value)})")
            return None
        bad = bad_utf8(value)
        if bad is not None:
            problem(number, name, f"{name} is not valid Unicode (character {bad + 1})")
            return None
        values.append(value)
    oid, seq, status, sub, refund, via, at = values
    assert oid is not None and seq is not None and status is not None
    return (number, oid, seq, status, sub, refund, via, at)
