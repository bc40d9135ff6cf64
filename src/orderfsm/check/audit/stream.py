"""The stream engine: one pass over the rows, judging each change as it is read.

Rows must come ordered, and the engine checks that they do (an ordering violation stops
the run with :class:`~orderfsm.check.audit.reader.AuditInputError`: judging out-of-order
rows would report false steps):

- ``ordering="order"`` (the default): by order id, ascending as text or as numbers, then
  by the ordering column. Memory holds one order at a time, whatever the file's size.
- ``ordering="seq"``: by the ordering column alone (a time-ordered log). Memory holds
  the last status of every order seen so far.

Ties in the ordering column keep file order. The ordering column compares as integers
when its first value is one, else as text (ISO-8601 timestamps in one format sort so).
Each change of an order's status (and of each sub-order's refund status) is judged by
:class:`~orderfsm.check.audit.rules.StepRules`; repeated statuses are not changes.

With a time column (``result.time`` set), each row's time is read and each observation
handed to a :class:`~orderfsm.check.audit.dwell.Timeline` (dwell and overdue stays);
such files go through :meth:`StreamAudit.feed`, never the plain loop, so an export
without times costs what it did.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, NoReturn

from orderfsm.check.audit.columns import INTEGER_SEQ, KNOWN_VIAS, Columns, Record
from orderfsm.check.audit.dwell import Timeline
from orderfsm.check.audit.parts import Part, Parts
from orderfsm.check.audit.reader import (
    AuditInputError,
    CsvReader,
    Header,
    check_fields,
    csv_rows,
    open_csv,
    short,
    unreadable_csv,
)
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.rules import StepKey, Verdict, forced

Ordering = Literal["order", "seq"]

_MAX_DIGITS = 30

SMALL_SEQ = 4
"""Ordering values of up to this many digits are converted once and looked up after
(at most 11,110 of them): ``int()`` and its checks were an eighth of the plain loop."""

_Entity = list[str]  # [status name, remembered (or parked-from) status name or ""]
_EntityKey = tuple[str, str | None]  # (part: "" order, "s" sub-order, "r" refund; sub id)


def _numbers_ascend(before: str, after: str) -> bool:
    """Whether both ids are decimal numbers (1 to 30 ASCII digits) and ``after`` is the
    larger one."""
    if not (
        after.isdigit()
        and len(after) <= _MAX_DIGITS
        and after.isascii()
        and before.isdigit()
        and len(before) <= _MAX_DIGITS
        and before.isascii()
    ):
        return False
    # equal lengths compare as text (cheap); otherwise leading zeros make int() necessary
    return after > before if len(after) == len(before) else int(after) > int(before)


class StreamAudit:
    """Judge rows as they are read; feed files in order with :meth:`feed`, then :meth:`finish`."""

    def __init__(
        self, parts: Parts, result: AuditResult, columns: Columns, ordering: Ordering = "order"
    ) -> None:
        self.parts = parts
        self.result = result
        self.columns = columns
        self.ordering = ordering
        self._open: dict[str, dict[_EntityKey, _Entity]] = {}
        self._order = ""
        self._started = False
        self._ids_as_text = True
        self._ids_as_numbers = True
        self._numeric_seq: bool | None = None
        self._last_seq: int | str | None = None
        self._verdicts: dict[tuple[int, str, str, str, str], Verdict | None] = {}
        self._timeline = None if result.time is None else Timeline(result.time)
        self._at: int | None = None  # the time of the row being judged (with a timeline)
        self._small_seqs: dict[str, int] = {}  # short ordering values read, as integers

    # ------------------------------------------------------------------ reading
    def feed_csv(self, path: Path) -> None:
        """Audit one CSV file: the plain case (order rows only, ordered by order) in one
        tight loop, anything else through :meth:`feed`. Both judge exactly alike."""
        file = str(path)
        with open_csv(path, self.columns, self.result.note) as (reader, header):
            simple = header.sub_order_id < 0 and header.refund_status < 0 and header.via < 0
            simple = simple and self._timeline is None  # times are read by feed() alone
            try:
                if self.ordering == "order" and simple:
                    self._feed_plain(file, reader, header)
                else:
                    self.feed(file, csv_rows(reader, header, self._problem_at(file), file))
            except csv.Error as exc:  # the plain loop reads the csv.reader directly
                raise unreadable_csv(file, reader.line_num, exc) from None

    def _problem_at(self, file: str) -> Callable[[int, str, str], None]:
        def problem(line: int, column: str, detail: str) -> None:
            self._problem(file, line, "", column, detail)

        return problem

    def _feed_plain(  # noqa: PLR0915 - one loop, kept whole for speed
        self, file: str, reader: CsvReader, header: Header
    ) -> None:
        """:meth:`feed` for rows of one machine ordered by order, without per-row calls.

        Every branch off the common path (a new order, an unusable field, a change that
        is not one legal step) goes through the same helpers :meth:`feed` uses.
        """
        part = self.parts.main
        machine = part.machine.name
        spell = part.spell
        remembering = part.rules.remembering
        memory = part.rules.memory
        verdicts = self._verdicts
        taken = self.result.taken
        pairs: dict[tuple[str, str], list[Any]] = {}  # (from, to) -> [verdict, count, quiet]
        small, small_get = self._small_seqs, self._small_seqs.get
        io, iq, ist, width = header.order_id, header.seq, header.status, header.width
        c = header.columns
        entity: _Entity | None = None
        order: str | None = None
        if self._started:
            order = self._order
            entity = self._open.pop(order).get(("", None))
        final = part.final
        ending: dict[str, int] = {}
        as_text, as_numbers = self._ids_as_text, self._ids_as_numbers
        last = self._last_seq
        end = reader.line_num
        rows = orders = 0
        problem = self._problem_at(file)
        numeric = self._numeric_seq
        try:
            for row in reader:
                start = end + 1
                end = reader.line_num
                try:
                    oid, seq, status = row[io], row[iq], row[ist]
                except IndexError:
                    self._short_row(file, start, row, width)
                    continue
                name = spell.get(status)
                if (
                    name is None
                    or len(seq) > 64
                    or (oid != order and not (len(oid) <= 64 and oid.isascii()))
                ) and not check_fields(
                    (oid, seq, status), (c.order_id, c.seq, c.status), start, problem
                ):
                    continue  # as the reader drops it in feed()
                rows += 1
                if oid != order:
                    if not oid:
                        self._problem(file, start, "", c.order_id, "empty order id")
                        continue
                    if order is not None:
                        as_text = as_text and oid > order
                        as_numbers = as_numbers and _numbers_ascend(order, oid)
                        if not (as_text or as_numbers):
                            self._unordered(file, start, oid, order)
                        if entity is not None and entity[0] not in final:
                            ending[entity[0]] = ending.get(entity[0], 0) + 1
                    orders += 1
                    order = oid
                    entity = None
                    last = self._last_seq = None
                key = small_get(seq) if numeric else None
                # int() alone would also take " 7", "+7", "7_0" and non-ASCII digits
                if key is not None or (
                    numeric and len(seq) < 19 and seq.isdigit() and seq.isascii()
                ):
                    if key is None:
                        key = int(seq)
                        if len(seq) <= SMALL_SEQ:
                            small[seq] = key
                    if last is not None and key < last:  # type: ignore[operator]
                        self._last_seq = last
                        self._seq_key(file, start, oid, seq)  # raises, naming the line
                    last = key
                else:  # the rest, negative numbers included, as feed() reads them
                    self._last_seq = last
                    if self._seq_key(file, start, oid, seq) is None:
                        continue
                    numeric = self._numeric_seq
                    last = self._last_seq
                if name is None:
                    self._problem(
                        file, start, oid, c.status, f"unknown {machine} status {short(status)}"
                    )
                    continue
                if entity is None:
                    entity = [name, ""]
                    continue
                prev = entity[0]
                if prev == name:
                    continue
                pair = (prev, name)
                try:
                    slot = pairs[pair]
                except KeyError:
                    verdict = part.rules.judge(StepKey(prev, name))
                    quiet = verdict is None and not {prev, name} & remembering
                    slot = pairs[pair] = [verdict, 0, quiet]
                slot[1] += 1
                if slot[2]:  # one legal step, nothing to remember: the common case
                    entity[0] = name
                    continue
                if prev in remembering:
                    remembered = entity[1]
                    cache_key = (id(part), prev, name, remembered, "")
                    try:
                        verdict = verdicts[cache_key]
                    except KeyError:
                        verdict = verdicts[cache_key] = part.rules.judge(
                            StepKey(prev, name, remembered, "")
                        )
                    entity[1] = memory(prev, name, remembered)
                else:
                    verdict = slot[0]
                    if name in remembering:
                        entity[1] = memory(prev, name, "")
                entity[0] = name
                if verdict is not None:
                    self._report(verdict, part, file, start, oid, None, prev, name)
        finally:
            if order is not None:
                self._started, self._order = True, order
                self._open[order] = {} if entity is None else {("", None): entity}
            self._ids_as_text, self._ids_as_numbers = as_text, as_numbers
            self._last_seq = last
            self.result.orders += orders
            for state, n in ending.items():
                self.result.non_final[(machine, state)] += n
            self.result.rows += rows
            for (a, b), (_, n, _) in pairs.items():
                self.result.steps += n
                taken[(machine, a, b)] += n

    def _short_row(self, file: str, line: int, row: list[str], width: int) -> None:
        if row:  # blank lines are skipped
            self._problem(
                file, line, "", "", f"the row has {len(row)} fields, the header names {width}"
            )

    def feed(self, file: str, records: Iterable[Record]) -> None:
        """Audit one file's rows (files continue one another, in the order fed).

        A row with a ``via`` observes one part: the order (no sub-order id), a sub-order's
        own status (a sub-order id, no refund status), or a sub-order's refund under the
        row's ``status`` as its parent. A row without one carries the order's status
        (Taobao: beside a sub-order's refund status) or, for a machine without refunds,
        the status of the order or sub-order it names.
        """
        result = self.result
        by_order = self.ordering == "order"
        main, refund = self.parts.main, self.parts.refund
        main_spell = main.spell
        c = self.columns
        entities: dict[_EntityKey, _Entity] = {}
        if by_order and self._started:
            entities = self._open[self._order]
        timeline = self._timeline
        if timeline is not None:
            timeline.file_index += 1
        for line, oid, seq, status, sub, refund_status, via, at in records:
            result.rows += 1
            if oid != self._order or not self._started:
                if not oid:
                    self._problem(file, line, "", c.order_id, "empty order id")
                    continue
                entities = self._switch(file, line, oid)
            if self._seq_key(file, line, oid, seq) is None:
                continue
            if via and via not in KNOWN_VIAS:
                self._problem(file, line, oid, c.via, f"unknown {c.via} {short(via)}")
                continue
            if timeline is not None:
                self._at, bad = timeline.read(oid, at)
                if bad is not None:
                    self._problem(file, line, oid, c.at, bad)
            is_forced = via == "forced"
            if refund is not None and via and refund_status:
                parent = main_spell.get(status) if status else ""
                if parent is None:
                    self._problem(
                        file,
                        line,
                        oid,
                        c.status,
                        f"unknown {main.machine.name} status {short(status)}",
                    )
                    continue
                self._refund_row(entities, file, line, oid, sub, parent, refund_status, is_forced)
                continue
            name = main_spell.get(status)
            if name is None:
                self._problem(
                    file, line, oid, c.status, f"unknown {main.machine.name} status {short(status)}"
                )
            elif refund is None:
                self._observe(main, entities, ("", sub), name, "", file, line, oid, sub, is_forced)
            elif via and sub:
                self._observe(main, entities, ("s", sub), name, "", file, line, oid, sub, is_forced)
            else:
                self._observe(
                    main, entities, ("", None), name, "", file, line, oid, None, is_forced
                )
            if refund is None or via or not refund_status:
                continue
            self._refund_row(entities, file, line, oid, sub, name or "", refund_status, False)

    def _refund_row(  # noqa: PLR0917 - one row's fields, positional like _observe
        self,
        entities: dict[_EntityKey, _Entity],
        file: str,
        line: int,
        oid: str,
        sub: str | None,
        parent: str,
        refund_status: str,
        is_forced: bool,
    ) -> None:
        """A sub-order's refund status judged under ``parent``, the main order's status
        name (``""``: unknown, any)."""
        refund = self.parts.refund
        assert refund is not None
        c = self.columns
        if not sub:
            self._problem(file, line, oid, c.sub_order_id, "a refund status without a sub-order id")
            return
        name = refund.spell.get(refund_status)
        if name is None:
            self._problem(
                file,
                line,
                oid,
                c.refund_status,
                f"unknown {refund.machine.name} status {short(refund_status)}",
            )
            return
        self._observe(refund, entities, ("r", sub), name, parent, file, line, oid, sub, is_forced)

    def _switch(self, file: str, line: int, oid: str) -> dict[_EntityKey, _Entity]:
        """A row of another order: check the ordering, close the previous order (by order)."""
        if self.ordering == "seq":
            self._started = True
            self._order = oid
            entities = self._open.get(oid)
            if entities is None:
                entities = self._open[oid] = {}
                self.result.orders += 1
            return entities
        if self._started:
            before = self._order
            self._ids_as_text = self._ids_as_text and oid > before
            self._ids_as_numbers = self._ids_as_numbers and _numbers_ascend(before, oid)
            if not (self._ids_as_text or self._ids_as_numbers):
                self._unordered(file, line, oid, before)
            self._close(self._open.pop(before))
            if self._timeline is not None:
                self._timeline.close(before)
        self._started = True
        self._order = oid
        self._last_seq = None
        self.result.orders += 1
        entities = self._open[oid] = {}
        return entities

    def _unordered(self, file: str, line: int, oid: str, before: str) -> NoReturn:
        raise AuditInputError(
            f"{file}: line {line}: order {short(oid)} comes after order {short(before)}: "
            f"the rows are not ordered by {self.columns.order_id} (ascending, as text or "
            f"as numbers) then {self.columns.seq}; sort them, pass --order seq if they "
            "are ordered by the ordering column alone, or use --engine duckdb"
        )

    def _seq_key(self, file: str, line: int, oid: str, seq: str) -> int | str | None:
        if seq == "":
            self._problem(file, line, oid, self.columns.seq, f"empty {self.columns.seq}")
            return None
        if self._numeric_seq is None:
            self._numeric_seq = bool(INTEGER_SEQ.match(seq))
        key: int | str = seq
        if self._numeric_seq:
            try:
                if len(seq) >= 19 or not INTEGER_SEQ.match(seq):  # 64-bit, as SQL's BIGINT
                    raise ValueError(seq)
                key = int(seq)
            except ValueError:
                self._problem(
                    file,
                    line,
                    oid,
                    self.columns.seq,
                    f"{self.columns.seq} {short(seq)} is not an integer like the first row's",
                )
                return None
        last = self._last_seq
        if last is not None and key < last:  # type: ignore[operator]
            scope = f"order {short(oid)}: " if self.ordering == "order" else ""
            raise AuditInputError(
                f"{file}: line {line}: {scope}{self.columns.seq} {short(seq)} comes after "
                f"{short(last)}: the rows are not ordered by "
                + (f"{self.columns.order_id} then " if self.ordering == "order" else "")
                + f"{self.columns.seq}; sort them, or use --engine duckdb"
            )
        self._last_seq = key
        return key

    # ------------------------------------------------------------------ judging
    def _observe(  # noqa: PLR0917 - called once per row: positional arguments are cheapest
        self,
        part: Part,
        entities: dict[_EntityKey, _Entity],
        key: _EntityKey,
        name: str,
        parent: str,
        file: str,
        line: int,
        oid: str,
        sub: str | None,
        is_forced: bool = False,
    ) -> None:
        if self._timeline is not None:
            self._timeline.see(oid, part.machine.name, key, name, self._at, line, file, sub)
        entity = entities.get(key)
        if entity is None:
            entities[key] = [name, ""]
            return
        prev, remembered = entity
        if prev == name:
            return
        if prev not in part.rules.remembering:
            remembered = ""
        result = self.result
        result.steps += 1
        machine = part.machine.name
        result.taken[(machine, prev, name)] += 1
        cache_key = (id(part), prev, name, remembered, parent)
        try:
            verdict = self._verdicts[cache_key]
        except KeyError:
            verdict = self._verdicts[cache_key] = part.rules.judge(
                StepKey(prev, name, remembered, parent)
            )
        if is_forced:
            verdict = forced(verdict)
        if verdict is not None:
            self._report(verdict, part, file, line, oid, sub, prev, name)
        entity[0] = name
        entity[1] = part.rules.memory(prev, name, remembered)

    def _report(  # noqa: PLR0917 - one finding, all positional like _observe
        self,
        verdict: Verdict,
        part: Part,
        file: str,
        line: int,
        oid: str,
        sub: str | None,
        prev: str,
        name: str,
    ) -> None:
        machine = part.machine.name
        self.result.add(
            AuditFinding(
                verdict.kind,
                file,
                line,
                oid,
                verdict.rule,
                verdict.detail,
                machine=machine,
                sub_order_id=sub,
                source=part.machine.table.state(prev).code,
                target=part.machine.table.state(name).code,
            )
        )

    def _problem(self, file: str, line: int, oid: str, column: str, detail: str) -> None:
        self.result.add(AuditFinding("input", file, line, oid, "bad input", detail, column=column))

    def _close(self, entities: dict[_EntityKey, _Entity]) -> None:
        for (kind, _), (name, _) in entities.items():
            part = self.parts.refund if kind == "r" else self.parts.main
            assert part is not None
            if name not in part.final:
                self.result.non_final[(part.machine.name, name)] += 1

    def finish(self) -> AuditResult:
        """Close every open order (counting those not in a final status); the result."""
        for entities in self._open.values():
            self._close(entities)
        self._open.clear()
        if self._timeline is not None:
            self._timeline.finish()
        return self.result
