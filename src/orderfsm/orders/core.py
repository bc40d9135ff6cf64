"""The one order core every order class is a declaration over.

An order is parts (a status each, on the machine that drives it), a history of the
steps they took, and a version counting its changes. The order classes
(:class:`~orderfsm.TaobaoOrder`, :class:`~orderfsm.IcbuOrder`,
:class:`~orderfsm.KaTrade`) declare what parts they have, which machine drives each and
how events and snapshots route to them; this core holds what they share, once:

- **one history**, kept as the values it is stored as: a restored history's checked
  columns (:attr:`_stored`), then a whole row per entry recorded since (:attr:`_recorded`:
  its stored values, then what the class keeps beside them, such as the step taken);
  decoded into history items only when read (:meth:`_decoded`, by the class's
  :meth:`_item`), so recording a change builds no item and ``to_dict`` transposes rows;
- **one stored-format codec**: :meth:`to_dict` writes ``format``, the class's fields and
  the history columns; :meth:`_load` reads a dict back: the header, the class's parts
  (:meth:`_read`; first by :meth:`_read_plain`, which reads a dict written as ``to_dict``
  writes it with type checks only and hands anything else to the checked read, so both
  accept and refuse alike), the history (the quick column check where the class allows
  it, else entry by entry and replayed through :mod:`orderfsm.orders.producible`, the one
  definition of what an order can be), the version, then :meth:`_restore` sets it all
  at once;
- **one copy/pickle path** (:class:`~orderfsm.orders.copying.LockedOrder`) and one
  lock serialising changes.

Like XState's actor over pure logic: the decisions are pure functions of what the order
holds (:meth:`orderfsm.CompiledMachine.transition`, :func:`orderfsm.model.decide.decide`,
:func:`~orderfsm.orders.producible.replay`); an order object is the convenience that
holds the result, records it and persists it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import zip_longest
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

from orderfsm.errors import OrderFsmError, PayloadError, TransitionRejected, UnknownSubOrder
from orderfsm.model.bounded import is_integer
from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.deadlines import Due, Holidays, due_now, no_holidays
from orderfsm.model.decide import ApplyResult, Part, RequestOutcome, Verdict, log_outcome
from orderfsm.model.table import State
from orderfsm.orders.copying import LockedOrder
from orderfsm.orders.history import Change
from orderfsm.orders.ids import SubOrderId
from orderfsm.orders.listeners import notify
from orderfsm.orders.producible import (
    End,
    Entry,
    as_constructed,
    pending_request,
    replay,
    some_time,
)
from orderfsm.orders.stored import (
    HISTORY_KEYS,
    TIME_KEY,
    Columns,
    Field,
    Row,
    change_from,
    change_row,
    changes_shown,
    check_version,
    decode_change,
    decode_step,
    has_times,
    header,
    history_columns,
    history_entries,
    pair_codes,
    part_of,
    quick_history,
)


class Timed(Protocol):
    """A history item: it says when it happened (``None``: not known)."""

    @property
    def at(self) -> int | None: ...


Item = TypeVar("Item", bound=Timed)

ORDER_PART: tuple[str, None] = ("order", None)
"""The key of an order's own status among its parts."""


class Held(NamedTuple):
    """What a stored dict says an order holds, read by the class (:meth:`OrderCore._read`):
    each part's stored status (keyed as the history's part columns key it), the fuller
    end state of the parts that hold more than a status (variables, a remembered status),
    and the class's own ``state`` (restored by :meth:`OrderCore._restore`)."""

    statuses: Mapping[Hashable, State]
    more: Mapping[Hashable, End]
    state: Any

    def ends(self) -> dict[Hashable, End]:
        """Every part's end state, as the replay checks it."""
        more = self.more
        return {part: more.get(part) or End(status) for part, status in self.statuses.items()}


class Versions(NamedTuple):
    """How many changes a history shows: at least ``least``, at most ``most`` (``None``:
    no bound), and whether the order can change without a step (``silent``)."""

    least: int
    most: int | None
    silent: bool


class OrderCore(LockedOrder, Generic[Item]):
    """What every order class shares (see the module docstring)."""

    __slots__ = ("_history", "_machine", "_recorded", "_stored", "_version")

    FORMAT: ClassVar[str]
    """The ``format`` tag ``to_dict`` writes (``.../2``: the history as columns)."""
    FORMAT_1: ClassVar[str]
    """The older tag still read (``.../1``: the history as an array of entry objects)."""
    HISTORY_KEYS: ClassVar[tuple[str, ...]]
    """The stored history's columns, in the order ``to_dict`` writes them."""
    EXTRA_CELLS: ClassVar[int] = 2
    """How many values a recorded row keeps after its stored ones: its time (``at``), then
    what :meth:`_item` decodes it from (see there)."""

    _machine: CompiledMachine
    _stored: Columns
    _recorded: list[Row]
    _history: list[Item]
    _version: int

    def _begin(self) -> None:
        """Start with no history, version 0 and a lock (the end of every constructor)."""
        self._stored = ()  # a restored history's checked columns, not yet decoded
        self._recorded = []  # every entry since (or all, once decoded): whole rows
        self._history = []  # the items of the first rows, decoded when the history is read
        self._version = 0
        self._lock = self._new_lock()

    # ---------------------------------------------------------------- reading
    @property
    def machine(self) -> CompiledMachine:
        return self._machine

    @property
    def version(self) -> int:
        """How many times the order has changed (for compare-and-set saving)."""
        return self._version

    def _decoded(self) -> list[Item]:
        """The whole history as items, oldest first, decoding what is not yet (caller
        holds the lock): a restored history's columns become whole rows first."""
        if self._stored:
            extra = (None,) * self.EXTRA_CELLS
            self._recorded[:0] = [(*row, *extra) for row in zip(*self._stored, strict=True)]
            self._stored = ()
        done = len(self._history)
        if done < len(self._recorded):
            self._history.extend(map(self._item, self._recorded[done:]))
        return self._history

    def _items(self) -> tuple[Item, ...]:
        """The history, oldest first, decoded now where not yet."""
        with self._lock:
            return tuple(self._decoded())

    def _record(self, items: Sequence[Item], *, changed: bool = True) -> None:
        """Append ``items`` to the history and count one change if anything changed
        (caller holds the lock)."""
        self._recorded.extend(self._whole_rows(items))
        self._version += changed

    def _whole_rows(self, items: Sequence[Item]) -> list[Row]:
        """History items as whole rows: their stored values, their time, the item itself."""
        rows = self._rows(items)
        return [(*row, item.at, item) for row, item in zip(rows, items, strict=True)]

    def _item(self, row: Row) -> Item:
        """The history item a whole row holds: the one recorded, else decoded from the
        stored values of a quick-checked restored entry (whose time is not known)."""
        item: Item | None = row[-1]
        return self._decode(row[: -self.EXTRA_CELLS]) if item is None else item

    # ---------------------------------------------------------------- the stored format
    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict with the version counter (see :mod:`orderfsm.orders.stored`);
        reads the held state directly under the lock: no copies, no derived statuses."""
        with self._lock:
            out = self._fields({"format": self.FORMAT})
            self._requests_out(out)
            out["history"] = self._history_out()
            return out

    def _history_out(self) -> dict[str, Any]:
        """The stored history's columns (caller holds the lock), with an ``at`` column
        only where some entry's time is known (so a history without times is written as
        before times existed)."""
        columns = self._columns_out()
        out = dict(zip(self.HISTORY_KEYS, columns, strict=False))
        times = next(columns, [])
        if times.count(None) != len(times):
            out[TIME_KEY] = times
        return out

    def _latest_time(self) -> int | None:
        """The time of the latest entry whose time is known (caller holds the lock;
        quick-checked restored columns hold no times)."""
        at = len(self.HISTORY_KEYS)
        return next((row[at] for row in reversed(self._recorded) if row[at] is not None), None)

    def _time_of(self, at: int | None, *, told: bool) -> int | None:
        """The time to record a change at: ``at``, checked against the latest one recorded
        (caller holds the lock). A time the caller passed (``told``) that goes back is
        refused; a snapshot's own time that goes back is not recorded (the platform's clock
        and the caller's disagree; neither is invented)."""
        if at is None:
            return None
        if not is_integer(at):
            raise OrderFsmError(f"at: expected an integer time, got {at!r}")
        latest = self._latest_time()
        if latest is None or at >= latest:
            return at
        if told:
            raise OrderFsmError(f"at: {at} is earlier than {latest}, the latest time recorded")
        return None

    def _columns_out(self) -> Iterator[list[Any]]:
        """Every column of the history as a new list: the stored ones (the restored
        columns' values, then the recorded rows'), then the extra cells of recorded rows
        (``None`` for restored entries)."""
        stored, recorded = self._stored, self._recorded
        if not recorded:
            return map(list, stored) if stored else ([] for _ in self.HISTORY_KEYS)
        new = zip(*recorded, strict=True)
        if not stored:
            return map(list, new)
        missing = (None,) * len(stored[0])
        return ([*old, *cells] for old, cells in zip_longest(stored, new, fillvalue=missing))

    def _read_plain(self, data: object) -> tuple[int, bool, Held, object] | None:
        """``(version, columnar, held, raw history)`` of a dict exactly as ``to_dict``
        writes it (format, version, the class's fields by :meth:`_read_fields`; no
        platform requests), read with type checks only; ``None`` for anything else, which
        the checked read then reads (it accepts all this does, with the same result, and
        names what it refuses)."""
        if type(data) is not dict or "requests" in data or "pending" in data:
            return None
        tag, version = data.get("format"), data.get("version")
        if tag.__class__ is not str or tag not in (self.FORMAT, self.FORMAT_1):
            return None
        if not is_integer(version) or version < 0 or "history" not in data:
            return None
        held = self._read_fields(data)
        if held is None:
            return None
        return version, tag == self.FORMAT, held, data["history"]

    def _load(self, data: Mapping[str, Any]) -> None:
        """Fill this fresh order from ``data``, accepting it exactly when the library could
        have written it (:mod:`orderfsm.orders.producible`); :class:`PayloadError` names
        the first field that says otherwise."""
        plain = self._read_plain(data)
        requests: int = 0
        pending: Sequence[Field] = ()
        if plain is None:
            root = Field(data, "$")
            version = header(root, self.FORMAT, self.FORMAT_1)
            columnar = root.get("format").value == self.FORMAT
            held = self._read(root)
            requests, pending = read_requests(root)
            raw = root.get("history").value
        else:
            version, columnar, held, raw = plain
        keys = self.HISTORY_KEYS
        stored = history_columns(raw, keys, columnar=columnar)
        timed = has_times(raw, columnar=columnar)
        if timed:  # times are read and checked entry by entry
            stored, keys = None, (*keys, TIME_KEY)
        history: list[Item] = []
        moved: set[Hashable] = set()
        if stored is not None and self._quick(stored, held, plain=True):
            pass  # steps that need no context to replay: kept as the checked columns
        else:
            if stored is not None and self._quick(stored, held, plain=False):
                history = list(map(self._decode, zip(*stored, strict=True)))
            else:  # entry by entry: other spellings, synthetic steps, or an error
                fields = history_entries(Field(data, "$"), keys, columnar=columnar)
                history = [self._entry(field, held) for field in fields]
                rows = self._rows(history)
                stored = tuple(zip(*rows, strict=True)) if rows else ((),) * len(self.HISTORY_KEYS)
            entries = self._replayed(history)
            if timed:
                some_time(entries, columnar=columnar)
            moved = replay(entries, held.ends(), columnar=columnar)
        for part, end in held.more.items():
            if end.remembered is not None and part not in moved:
                as_constructed(self._machine, end)  # as constructed, or after quick steps
        shown = self._versions(held, stored)
        most = None if shown.most is None else shown.most + requests
        check_version(version, least=shown.least + requests, most=most, silent_changes=shown.silent)
        with self._lock:
            self._restore(held.state)
            if history:
                self._history = history
                self._recorded = self._whole_rows(history)
            elif stored[0]:  # quick-checked: kept undecoded, copied (nothing shared)
                self._stored = tuple(map(tuple, stored))
            self._version = version
            self._restore_requests(requests, pending)

    # ---------------------------------------------------------------- what a class declares
    def _decode(self, row: Row) -> Item:
        """The history item a quick-checked stored row holds."""
        raise NotImplementedError

    def _rows(self, items: Sequence[Item]) -> list[Row]:
        """History items as their stored rows (:attr:`HISTORY_KEYS` order)."""
        raise NotImplementedError

    def _fields(self, out: dict[str, Any]) -> dict[str, Any]:
        """``out`` with every stored field but ``format`` and ``history`` added, in the
        order written."""
        raise NotImplementedError

    def _read(self, root: Field) -> Held:
        """The parts a stored dict holds, each field checked (not yet the history)."""
        raise NotImplementedError

    def _read_fields(self, data: dict[str, Any]) -> Held | None:
        """What :meth:`_read` reads, from a dict whose fields are exactly as ``to_dict``
        writes them, by type checks and lookups only; ``None`` where any is not (then
        :meth:`_read` reads it, and names any problem). A class without this fast read
        always answers ``None``."""
        return None

    def _quick(self, columns: Columns, held: Held, *, plain: bool) -> bool:
        """Whether the stored columns pass the quick check (see :mod:`orderfsm.orders.stored`):
        every entry a table step (``plain``: one that needs no context) written as
        ``to_dict`` writes it, each part's steps chaining to its stored status."""
        raise NotImplementedError

    def _entry(self, field: Field, held: Held) -> Item:
        """One stored history entry, read and checked field by field."""
        raise NotImplementedError

    def _replayed(self, items: Sequence[Item]) -> list[Entry]:
        """What the replay judges of each history item."""
        raise NotImplementedError

    def _versions(self, held: Held, columns: Columns) -> Versions:
        """How many changes the history (as its stored columns) shows."""
        raise NotImplementedError

    def _restore(self, state: Any) -> None:
        """Set the held parts from :attr:`Held.state` (caller holds the lock)."""
        raise NotImplementedError

    def _requests_out(self, out: dict[str, Any]) -> None:
        """Add the pending requests to ``out`` (an order that takes none: nothing)."""

    def _restore_requests(self, requests: int, pending: Sequence[Field]) -> None:
        """Set the stored requests, each checked (caller holds the lock); an order that
        takes none refuses any."""
        if requests or pending:
            raise PayloadError("$.requests", "this order takes no platform requests")


class ChangeOrder(OrderCore[Change]):
    """An order whose history is :class:`~orderfsm.orders.history.Change` items (Taobao,
    ICBU): the order's own status and, where the class has them, sub-orders' own statuses
    (on :attr:`_machine`) and refunds (on :attr:`_sub_machine`, whose guards read the
    order's status). Snapshots are applied here, decided by :mod:`orderfsm.model.decide`."""

    __slots__ = ("_pending", "_requests", "_status", "_sub_machine")

    HISTORY_KEYS = HISTORY_KEYS
    _sub_machine: CompiledMachine
    _status: State
    _pending: dict[RequestKey, Step]
    _requests: int

    def _begin(self) -> None:
        super()._begin()
        self._pending = {}
        self._requests = 0

    # ---------------------------------------------------------------- platform requests
    @property
    def pending(self) -> Mapping[RequestKey, Step]:
        """The requests sent to the platform and not yet settled, by part (``("order",
        None)`` or ``("refund", sub_order)``): the step each leads to once confirmed."""
        with self._lock:
            return dict(self._pending)

    def request(self, event: str, sub_order: SubOrderId | None = None) -> Step:
        """Record ``event`` as a request sent to the platform (a cancel or refund through
        its API), pending its confirmation; the status does not move. Returns the step it
        leads to once confirmed. Raises what :meth:`trigger` raises where the event is
        refused, and :class:`~orderfsm.TransitionRejected` where the part already has a
        request pending; nothing changes then. Later snapshots settle it
        (:attr:`ApplyResult.requests`): one that does not move the part leaves it
        ``waiting`` (never illegal); one that moves the part through the step's target
        ``confirmed``; one that moves it elsewhere ``rejected``. :meth:`reject_request`
        gives up on it (a timeout the caller decides)."""
        with self._lock:
            step = self._decide(event, sub_order)
            key = request_key(sub_order)
            if key in self._pending:
                held = self._pending[key]
                raise TransitionRejected(
                    f"{held.event!r} is already pending confirmation for {key[0]}"
                    + (f" {sub_order!r}" if sub_order is not None else ""),
                    rule="one pending platform request per part",
                    source="orderfsm: docs/webhooks.md (platform confirmations)",
                    status=str(step.source),
                )
            self._pending[key] = step
            self._requests += 1
            self._version += 1
        return step

    def reject_request(self, sub_order: SubOrderId | None = None) -> RequestOutcome:
        """Give up on the pending request of the order (or of ``sub_order``'s refund): a
        timeout the caller decides. One change; :class:`OrderFsmError` if none is
        pending."""
        key = request_key(sub_order)
        with self._lock:
            step = self._pending.pop(key, None)
            if step is None:
                raise OrderFsmError(f"no request is pending for {key[0]} {sub_order or ''}")
            self._requests += 1
            self._version += 1
        return RequestOutcome(key[0], sub_order, step.event, "rejected", "rejected by the caller")

    def _settle(self, moved: Mapping[Moved, Sequence[Step]]) -> tuple[RequestOutcome, ...]:
        """Settle every pending request against the steps just committed (caller holds
        the lock): confirmed when its part passed through its target, rejected when the
        part moved elsewhere or its event is no longer accepted, else waiting."""
        out = []
        for key, step in list(self._pending.items()):
            part, sid = key
            steps = moved.get((part, None if sid is None else str(sid)), ())
            if steps:
                confirmed = any(s.target == step.target for s in steps)
                verdict: Verdict = "confirmed" if confirmed else "rejected"
                note = f"{part} moved to {steps[-1].target}"
            elif self._accepts(step.event, sid):
                verdict, note = "waiting", ""
            else:
                verdict, note = "rejected", f"{step.event!r} is no longer accepted"
            if verdict != "waiting":
                del self._pending[key]
            out.append(RequestOutcome(part, sid, step.event, verdict, note))
        return tuple(out)

    def _accepts(self, event: str, sub_order: SubOrderId | None) -> bool:
        """Whether :meth:`trigger` would accept the event now (caller holds the lock)."""
        try:
            self._decide(event, sub_order)
        except TransitionRejected:
            return False
        return True

    def _decide(self, event: str, sub_order: SubOrderId | None) -> Step:
        """The step :meth:`trigger` would take, or its rejection (caller holds the lock)."""
        raise NotImplementedError

    def _triggered(self, change: Change) -> None:
        """Settle the pending requests after a local step (caller holds the lock)."""
        if self._pending:
            self._settle({(part_of(change), text_of(change.sub_order)): (change.step,)})

    def _append(self, sub_order: SubOrderId | None, part: str, step: Step, at: int | None) -> None:
        """Record one triggered step as a whole row: no history item is built until the
        history is read (caller holds the lock)."""
        source, target = step.source, step.target
        row = (sub_order, part, source.code, target.code, step.event, "trigger", at, step)
        self._recorded.append(row)
        self._version += 1

    def _requests_out(self, out: dict[str, Any]) -> None:
        if self._requests:
            out["requests"] = self._requests
        if self._pending:
            out["pending"] = [
                {"part": part, "sub_order": sid, "event": step.event}
                for (part, sid), step in self._pending.items()
            ]

    def _restore_requests(self, requests: int, pending: Sequence[Field]) -> None:
        self._requests = requests
        for field in pending:
            part = field.get("part").value
            sid = field.get("sub_order").sub_id(nullable=True)
            if part not in ("order", "refund") or (part == "order") != (sid is None):
                raise PayloadError(field.path, "expected an order or refund request")
            event = field.get("event")
            if not isinstance(event.value, str) or request_key(sid) in self._pending:
                raise PayloadError(event.path, "expected one event per part")
            self._pending[request_key(sid)] = pending_request(
                self._decide, event.value, sid, event.path
            )
        if len(self._pending) > requests:
            raise PayloadError("$.requests", f"is {requests}, but {len(self._pending)} pending")

    @property
    def status(self) -> State:
        return self._status

    @property
    def history(self) -> tuple[Change, ...]:
        """The accepted events, oldest first, each naming the part that moved
        (``sub_order`` ``None``: the order itself); a restored history is decoded on
        first read."""
        return self._items()

    def _decode(self, row: Row) -> Change:
        return decode_change(row, self._machine, self._sub_machine)

    def _item(self, row: Row) -> Change:
        """The change a whole row holds: its step as recorded, or decoded from its stored
        values (a quick-checked restored entry, whose time is not known)."""
        sid, part, src, dst, event, via, at, step = row
        if step is None:
            step = decode_step(
                self._sub_machine if part == "refund" else self._machine, src, dst, event
            )
        return Change(sid, step, part == "sub_order_status", via, at)

    def _whole_rows(self, items: Sequence[Change]) -> list[Row]:
        return [(*change_row(change), change.at, change.step) for change in items]

    def entered_at(self) -> int | None:
        """When the order entered the status it holds: the time of the last change that
        moved the order itself (``None``: not known, or no change moved it)."""
        with self._lock:
            return self._entered()

    def _entered(self) -> int | None:
        """:meth:`entered_at` (caller holds the lock). A restored entry's time is known
        only if it was read entry by entry (then it is a recorded row)."""
        return next((row[_AT] for row in reversed(self._recorded) if row[0] is None), None)

    def deadline(self, holidays: Holidays = no_holidays) -> Due | None:
        """The deadline that applies to the order's status now (:class:`Due`; ``None``
        where the table states none), from the stored history's times: no clock is read,
        so it is the same after ``to_dict``/``from_dict`` or pickling."""
        with self._lock:
            status, entered = self._status, self._entered()
        return due_now(self._machine, status, entered, holidays)

    def overdue(self, now: int, holidays: Holidays = no_holidays) -> bool:
        """Whether the order is late in its status at ``now`` (an integer time): never
        where the table states no deadline or the entry time is not known."""
        due = self.deadline(holidays)
        return False if due is None else due.overdue(now)

    def _history_out(self) -> dict[str, Any]:
        """The history's columns (see :meth:`OrderCore._history_out`); the usual case,
        every entry recorded here, transposed at once."""
        if self._stored or not self._recorded:
            return super()._history_out()
        sid, part, src, dst, event, via, times, _ = zip(*self._recorded, strict=False)
        out = {
            _SUB_ORDER: list(sid),
            _PART: list(part),
            _SRC: list(src),
            _DST: list(dst),
            _EVENT: list(event),
            _VIA: list(via),
        }
        if times.count(None) != len(times):
            out[TIME_KEY] = list(times)
        return out

    def _rows(self, items: Sequence[Change]) -> list[Row]:
        return list(map(change_row, items))

    def _quick(self, columns: Columns, held: Held, *, plain: bool) -> bool:
        if not columns[0]:
            return True
        codes = {part: status.code for part, status in held.statuses.items()}
        pair = pair_codes(self._machine, self._sub_machine)
        return quick_history(columns, pair.plain if plain else pair.contextual, codes)

    def _entry(self, field: Field, held: Held) -> Change:
        return change_from(field, self._machine, self._sub_machine, self._sub_ids(held))

    def _replayed(self, items: Sequence[Change]) -> list[Entry]:
        main, refund = self._machine, self._sub_machine
        return [
            Entry(
                part_key(c),
                refund,
                c.step,
                c.via,
                i,
                ORDER_PART,
                ("sub_order_status", c.sub_order),
                c.at,
            )
            if c.sub_order is not None and not c.sub_order_status
            else Entry(part_key(c), main, c.step, c.via, i, time=c.at)
            for i, c in enumerate(items)
        ]

    def _sub_ids(self, held: Held) -> Collection[Hashable]:
        """The sub-orders a stored dict holds (none, unless the class has sub-orders)."""
        return ()

    def _versions(self, held: Held, columns: Columns) -> Versions:
        """One change per trigger and per run of snapshot steps, at most one per entry."""
        vias = columns[HISTORY_KEYS.index("via")]
        return Versions(changes_shown(vias), len(vias), silent=False)

    def _applied(self, result: ApplyResult) -> ApplyResult:
        """``result`` with what the order is now (caller holds the lock)."""
        return replace(result, version=self._version)

    def _apply(
        self, plan: Callable[[], ApplyResult], observed: int | None, at: int | None
    ) -> ApplyResult:
        """Decide a snapshot (``plan``, pure), commit its steps at its time (``observed``,
        its ``modify_time``; else ``at``, the caller's), say what changed; what it means is
        logged once on the ``orderfsm.ingest`` logger (:func:`log_outcome`), and each
        recorded step is reported to the listeners (:mod:`orderfsm.orders.listeners`)."""
        with self._lock:
            told = self._time_of(at, told=True)
            time = told if observed is None else self._time_of(observed, told=False)
            planned = plan()  # may decode the history (a part in quarantine): before start
            start = len(self._recorded)
            result = self._applied(self._commit(planned, time))
            changes = [self._item(row) for row in self._recorded[start:]]
            if self._pending:
                moved: dict[Moved, list[Step]] = {}
                for change in changes:
                    key = (part_of(change), text_of(change.sub_order))
                    moved.setdefault(key, []).append(change.step)
                result = replace(result, requests=self._settle(moved))
        log_outcome(result)
        notify(self, changes, result)
        return result

    def _commit(self, result: ApplyResult, at: int | None) -> ApplyResult:
        """Record the steps ``result`` decided, at time ``at`` (caller holds the lock)."""
        raise NotImplementedError


_SUB_ORDER, _PART, _SRC, _DST, _EVENT, _VIA = HISTORY_KEYS
_AT = len(HISTORY_KEYS)
"""Where a :class:`ChangeOrder`'s whole row keeps its time (its step follows)."""

RequestKey = tuple[Part, SubOrderId | None]
"""The part a platform request is pending for: ``("order", None)`` or ``("refund", id)``."""
Moved = tuple[str, str | None]
"""A part that moved, its sub-order id as text (as :func:`part_of` and snapshots name it)."""


def request_key(sub_order: SubOrderId | None) -> RequestKey:
    """The part a request addresses: the order, or a sub-order's refund."""
    return ("order", None) if sub_order is None else ("refund", sub_order)


def text_of(sub_order: SubOrderId | None) -> str | None:
    """A sub-order id as snapshots name it (ids are unique by text)."""
    return None if sub_order is None else str(sub_order)


def read_requests(root: Field) -> tuple[int, list[Field]]:
    """The stored ``requests`` count and ``pending`` entries (both optional: written only
    when an order has taken a platform request)."""
    fields = root.value if isinstance(root.value, Mapping) else {}
    requests = root.get("requests").integer() if "requests" in fields else 0
    assert requests is not None
    if requests < 0:
        raise PayloadError("$.requests", "must not be negative")
    pending = root.get("pending").items() if "pending" in fields else []
    return requests, pending


def part_key(change: Change) -> tuple[str, SubOrderId | None]:
    """Which part of the order a change moved: ``("order", None)``, or
    ``("sub_order_status", id)`` / ``("refund", id)`` for a sub-order's."""
    return part_of(change), change.sub_order


def no_sub_orders(who: str, sub_order: SubOrderId | None) -> None:
    """Refuse a ``sub_order=`` given to an order that has no sub-orders."""
    if sub_order is not None:
        raise UnknownSubOrder(
            f"unknown sub-order {sub_order!r}; {who} has no sub-orders: call it without sub_order"
        )
