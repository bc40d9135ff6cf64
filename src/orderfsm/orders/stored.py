"""The stored format shared by every order type: field reading, the header, history entries.

``order.to_dict()`` gives a dict of strings, ints, lists and dicts only (stable key
order, so ``json.dumps`` of it is deterministic); ``from_dict`` reads it back, validating
every field (:class:`~orderfsm.errors.PayloadError` with the path of a bad one).
``version`` counts the order's changes. The order core (:mod:`orderfsm.orders.core`)
writes and reads every order type's dict with these helpers; optimistic concurrency on
top is :mod:`orderfsm.orders.concurrency`.

A stored dict is accepted exactly when the library could have produced it: when
replaying its history through the one definition in :mod:`orderfsm.orders.producible`
yields every stored field; here live the checks around it (:func:`check_version`,
:func:`unambiguous_ids`).

The format is versioned by the ``format`` tag's suffix. ``/2`` (what ``to_dict`` writes)
keeps the history as columns, one array per field, entry ``i`` being the ``i``-th cell
of each (``"history": {"sub_order": [...], "part": [...], "src": [...], "dst": [...],
"event": [...], "via": [...]}``; a KA trade's columns are ``order``, ``sub_order``,
``src``, ``dst``, ``event``); a bad cell is named ``$.history.src[3]``. ``/1`` kept it as
an array of entry objects (``$.history[3].src``); every ``/1`` dict is still read, with
the same checks, and written back as ``/2``.

Loading costs little more with a long history than with none: a history written the way
``to_dict`` writes it, of steps that need no context to replay (:func:`table_rows`), is
checked by :func:`quick_history` / :func:`quick_ka_history` (C-level passes over its
columns, no object per entry) and kept as columns, decoded into
:class:`~orderfsm.orders.history.Change` objects on the first read of ``order.history``;
new steps are appended after it and ``to_dict`` writes the columns back as they came. A
history of table steps that need their context passes the same checks, is decoded from
its columns and replayed (:func:`~orderfsm.orders.producible.replay`). Anything else
(another spelling of a status, a ``forced``, ``quarantine`` or ``release`` step, an
error) is read entry by entry (:func:`change_from`) and replayed, which also names the
bad field. Every way accepts exactly the same dicts, with the same result.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import gt, itemgetter
from typing import Any, cast, overload

from orderfsm.errors import OrderFsmError, PayloadError, TransitionRejected
from orderfsm.model.bounded import is_id, is_integer, refusal, shown
from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.guards import REGISTRY
from orderfsm.model.synthetic import SYNTHETIC_VIAS, TABLE_VIAS, synthetic_step
from orderfsm.model.table import State
from orderfsm.orders.history import Change
from orderfsm.orders.ids import SubOrderId

_ID_TYPES: frozenset[type] = frozenset({str, int})

HISTORY_KEYS = ("sub_order", "part", "src", "dst", "event", "via")
"""The fields of a Taobao or ICBU history entry, in the order ``to_dict`` writes them."""
TIME_KEY = "at"
"""The column (format ``/2``) or entry field (``/1``) holding when each entry happened,
written only when some entry's time is known (see ``docs/time.md``)."""
KA_HISTORY_KEYS = ("order", "sub_order", "src", "dst", "event")
"""The fields of a KA history entry, in the order ``to_dict`` writes them."""

Row = tuple[Any, ...]
"""A history entry as its stored values, in the order of its format's keys."""


def part_of(change: Change) -> str:
    if change.sub_order is None:
        return "order"
    return "sub_order_status" if change.sub_order_status else "refund"


class Field:
    """A value read from the dict, with its path for error messages."""

    def __init__(self, value: object, path: str) -> None:
        self.value = value
        self.path = path

    def get(self, key: str) -> Field:
        if not isinstance(self.value, Mapping):
            raise PayloadError(self.path, "expected an object")
        if key not in self.value:
            raise PayloadError(f"{self.path}.{key}", "required field is missing")
        return Field(self.value[key], f"{self.path}.{key}")

    def integer(self, *, nullable: bool = False) -> int | None:
        if self.value is None and nullable:
            return None
        if is_integer(self.value):
            return self.value
        raise PayloadError(self.path, refusal(self.value, "an integer"))

    def items(self) -> list[Field]:
        if not isinstance(self.value, list):
            raise PayloadError(self.path, "expected an array")
        return [Field(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    @overload
    def sub_id(self) -> SubOrderId: ...
    @overload
    def sub_id(self, *, nullable: bool) -> SubOrderId | None: ...
    def sub_id(self, *, nullable: bool = False) -> SubOrderId | None:
        if self.value is None and nullable:
            return None
        if is_id(self.value):
            return self.value
        raise PayloadError(self.path, refusal(self.value, "a sub-order id (str or int)"))

    def status(self, machine: CompiledMachine) -> State:
        if not is_id(self.value):
            raise PayloadError(self.path, refusal(self.value, "a status code"))
        try:
            return machine.status(self.value)
        except OrderFsmError as e:
            raise PayloadError(self.path, str(e)) from None


def header(root: Field, expected_format: str, older: str) -> int:
    """Check the ``format`` tag (the current one or the ``older`` one, still read) and
    return the (non-negative) ``version``."""
    if root.get("format").value not in (expected_format, older):
        raise PayloadError("$.format", f"expected {expected_format!r} (or {older!r})")
    version = root.get("version").integer()
    assert version is not None
    if version < 0:
        raise PayloadError("$.version", "must not be negative")
    return version


def change_from(
    entry: Field, main: CompiledMachine, refund: CompiledMachine, subs: Collection[Hashable]
) -> Change:
    part = entry.get("part").value
    if part not in ("order", "sub_order_status", "refund"):
        raise PayloadError(entry.get("part").path, f"unknown part {shown(part)}")
    sid = entry.get("sub_order").sub_id(nullable=True)
    if (sid is None) != (part == "order") or (sid is not None and sid not in subs):
        raise PayloadError(entry.get("sub_order").path, f"does not fit part {shown(part)}")
    via = entry.get("via").value
    if not isinstance(via, str) or via not in (*TABLE_VIAS, *SYNTHETIC_VIAS):
        raise PayloadError(entry.get("via").path, f"unknown via {shown(via)}")
    machine = refund if part == "refund" else main
    src, dst = entry.get("src").status(machine), entry.get("dst").status(machine)
    event = entry.get("event")
    if via in SYNTHETIC_VIAS:  # whether the library records it is for the replay to judge
        step = synthetic_step(src, dst, via, f"restored {via} step")
    else:
        step = table_step(machine, src, dst, event)
    return Change(sid, step, part == "sub_order_status", via, entry_time(entry))


def entry_time(entry: Field) -> int | None:
    """When a stored entry happened: its ``at`` (an integer, or null for not known), or
    ``None`` where the history stores no times."""
    if isinstance(entry, ColumnEntry):
        present = TIME_KEY in entry.columns
    else:
        present = isinstance(entry.value, Mapping) and TIME_KEY in entry.value
    return entry.get(TIME_KEY).integer(nullable=True) if present else None


def has_times(raw: object, *, columnar: bool) -> bool:
    """Whether a stored history (format ``/2`` columns or ``/1`` entries) stores times."""
    if columnar:
        return (type(raw) is dict or isinstance(raw, Mapping)) and TIME_KEY in raw
    return isinstance(raw, list) and any(isinstance(e, Mapping) and TIME_KEY in e for e in raw)


def time_paths(index: int, *, columnar: bool) -> str:
    """How a stored entry's time is named in an error (``$.history.at[3]`` or
    ``$.history[3].at``)."""
    return f"$.history.{TIME_KEY}[{index}]" if columnar else f"$.history[{index}].{TIME_KEY}"


def changes_shown(vias: Sequence[str]) -> int:
    """The fewest changes a history shows: one per trigger, one per run of other steps
    (one apply records its steps together), counted where the run starts (first, or
    right after a trigger); C-level passes, so cheap for long histories."""
    if vias.count("trigger") == len(vias):
        return len(vias)
    triggers = list(map("trigger".__eq__, vias))
    starts: int = sum(map(gt, triggers, triggers[1:]))
    return sum(triggers) + (not triggers[0]) + starts


def check_version(version: int, *, least: int, most: int | None, silent_changes: bool) -> None:
    """The version counts changes: at least ``least``, at most ``most`` (when every change
    leaves a step), and more than 0 without history only if the order can change without
    a step (``silent_changes``: a Taobao order, by a new sub-order or a newer clock)."""
    if version < least:
        raise PayloadError(
            "$.version", f"is {version}, but the history shows at least {least} changes"
        )
    if most is not None and version > most:
        raise PayloadError("$.version", f"is {version}, but the history shows at most {most}")
    if version > 0 and least == 0 and not silent_changes:
        raise PayloadError("$.version", f"is {version}, but the history is empty")


def unambiguous_ids(ids: Iterable[tuple[Hashable, Field]], what: str) -> None:
    """Refuse ids given twice, and ids that differ only in type (``7`` and ``"7"``)."""
    seen: dict[str, Hashable] = {}
    for sid, at in ids:
        other = seen.get(str(sid))
        if other is not None:
            problem = (
                f"duplicate {what} id {sid!r}"
                if other == sid
                else f"{what} id {sid!r} is ambiguous beside {other!r}"
            )
            raise PayloadError(at.path, problem)
        seen[str(sid)] = sid


def table_step(machine: CompiledMachine, src: State, dst: State, event: Field) -> Step:
    for t in machine.transitions_from(src):
        if t.dst == dst.name and t.event == event.value:
            return Step(src, dst, t.event, t.actor, t)
    raise PayloadError(
        event.path, f"{machine.name} has no edge {src} -> {dst} on {shown(event.value)}"
    )


# ---------------------------------------------------------------- the quick path
#
# A stored history is checked before the order is returned, but decoded into
# ``Change``/``Step`` objects only when someone reads ``order.history``. The check runs
# as a few passes of C-level operations over the columns (zip, set inclusion, tuple
# slices; a ``/1`` history is transposed first) and accepts only entries exactly as ``to_dict`` writes them
# (status codes of the code's own type, table steps); anything else - a spelling
# ``from_dict`` also accepts, a ``forced``/``quarantine``/``release`` step, or an error -
# goes to the entry-by-entry path, which decodes eagerly or names the bad field. So the
# quick path only ever accepts what the entry-by-entry path accepts.


_CONTEXT_FREE = frozenset({"status", "target"})


@lru_cache(maxsize=64)
def table_rows(machine: CompiledMachine, plain: bool) -> frozenset[tuple[object, object, str]]:
    """The table steps of ``machine`` as stored: ``(src code, dst code, event)``; with
    ``plain``, only those whose replay depends on nothing but the step: an edge whose
    guards read only its statuses (and which the pure core takes), that sets no variable,
    and that neither enters nor leaves a history state. A history of plain steps is kept
    as checked columns; any other table step is replayed in the context the history
    gives it (:mod:`orderfsm.orders.producible`)."""
    code = {s.name: s.code for s in machine.states}
    jail = machine.history_states
    rows: set[tuple[object, object, str]] = set()
    for state in machine.states:
        for t in machine.transitions_from(state):
            if t.dst is None:
                continue
            guards = (*machine.event(t.event).guards, *t.guards)
            if plain and (
                t.sets
                or t.src in jail
                or t.dst in jail
                or any(not _CONTEXT_FREE.issuperset(REGISTRY[g].reads) for g in guards)
                or not _taken(machine, state, t.event, t.dst)
            ):
                continue
            rows.add((state.code, code[t.dst], t.event))
    return frozenset(rows)


def _taken(machine: CompiledMachine, state: State, event: str, dst: str) -> bool:
    try:
        return machine.transition(state, event).target.name == dst
    except TransitionRejected:
        return False


@dataclass(frozen=True, slots=True)
class QuickCheck:
    """What the quick path checks a Taobao/ICBU history against, built once per machines."""

    steps: frozenset[tuple[object, object, object, str, str]]
    """Every stored ``(part, src, dst, event, via)`` a table step can have: the order and
    a sub-order's own status move on the main machine, a refund on the refund machine."""
    code_types: frozenset[type]
    """The types of the status codes (so ``True`` never passes for ``1``)."""


def quick_check(main: CompiledMachine, refund: CompiledMachine, *, plain: bool) -> QuickCheck:
    return QuickCheck(
        frozenset(
            (part, *edge, via)
            for part, machine in (("order", main), ("sub_order_status", main), ("refund", refund))
            for edge in table_rows(machine, plain)
            for via in TABLE_VIAS
        ),
        code_types(main) | code_types(refund),
    )


def by_code(machine: CompiledMachine) -> dict[object, State]:
    """``machine``'s statuses by their codes, as :meth:`~orderfsm.CompiledMachine.status`
    resolves each. A value found here is a status code only if it has the code's own type
    (``True`` is not ``1``): anything else is for :meth:`Field.status` to resolve (every
    spelling) or name."""
    return {state.code: machine.status(state.code) for state in machine.states}


@dataclass(frozen=True, slots=True)
class PairCodes:
    """What reading a Taobao/ICBU stored dict needs of its two machines (the order's and
    its sub-orders' refunds'), built once per pair (:func:`pair_codes`)."""

    main: Mapping[object, State]
    """The main machine's statuses by code (:func:`by_code`)."""
    refund: Mapping[object, State]
    """The refund machine's statuses by code."""
    plain: QuickCheck
    """The quick check of a history of steps that need no context to replay."""
    contextual: QuickCheck
    """The quick check of a history of any table steps."""


def pair_codes(main: CompiledMachine, refund: CompiledMachine) -> PairCodes:
    """The :class:`PairCodes` of two machines, built once per pair and kept with ``main``
    (by the refund machine's identity: machines compare by name, and an edited table keeps
    its name; each entry holds its machine, so its id stays its own)."""
    pairs: dict[int, tuple[CompiledMachine, PairCodes]] = main.derived("pair_codes", dict)
    hit = pairs.get(id(refund))
    if hit is not None and hit[0] is refund:
        return hit[1]
    codes = PairCodes(
        by_code(main),
        by_code(refund),
        quick_check(main, refund, plain=True),
        quick_check(main, refund, plain=False),
    )
    pairs[id(refund)] = (refund, codes)
    return codes


@lru_cache(maxsize=64)
def code_types(machine: CompiledMachine) -> frozenset[type]:
    """The types of ``machine``'s status codes (so ``True`` never passes for ``1``)."""
    return frozenset(type(s.code) for s in machine.states)


_SUB_TYPES = _ID_TYPES | {type(None)}

Columns = tuple[Sequence[Any], ...]
"""A history as its columns, in the order of its format's keys."""


def history_columns(raw: object, keys: Sequence[str], *, columnar: bool) -> Columns | None:
    """The columns of a stored history, when it has the shape ``to_dict`` writes: an
    object of equally long arrays (``columnar``, format ``/2``) or an array of objects
    (format ``/1``, transposed); ``None`` for any other shape."""
    if columnar:
        if type(raw) is not dict:
            return None
        try:
            columns: Columns = itemgetter(*keys)(raw)
        except KeyError:
            return None
        if set(map(type, columns)) != {list} or len(set(map(len, columns))) != 1:
            return None
        return columns
    if type(raw) is not list:
        return None
    if not raw:
        return ((),) * len(keys)
    try:  # a missing key or a non-object entry: entry by entry
        return tuple(zip(*map(itemgetter(*keys), raw), strict=True))
    except (KeyError, TypeError):
        return None


def quick_history(columns: Columns, check: QuickCheck, held: Mapping[Hashable, object]) -> bool:
    """Whether every entry of a Taobao/ICBU history (:data:`HISTORY_KEYS` columns) is a
    table step ``check`` allows (:attr:`PairCodes.plain`: one that needs no context to
    replay, see :func:`table_rows`; else any) written as ``to_dict`` writes it, and each
    part's steps chain and end in its ``held`` status code (keyed by
    ``(part, sub_order)``)."""
    subs, parts, srcs, dsts, events, vias = columns
    if not srcs:
        return True
    try:  # an unhashable value: entry by entry
        return (
            check.steps.issuperset(zip(parts, srcs, dsts, events, vias, strict=True))
            and {*map(type, srcs), *map(type, dsts)} <= check.code_types
            and set(map(type, subs)) <= _SUB_TYPES
            and chains(parts, subs, srcs, dsts, held)
        )
    except TypeError:
        return False


def quick_ka_history(
    columns: Columns, machine: CompiledMachine, held: Mapping[Hashable, object], *, plain: bool
) -> bool:
    """Whether every entry of a KA history (:data:`KA_HISTORY_KEYS` columns) is a table
    step (with ``plain``: one that needs no context to replay) written as ``to_dict``
    writes it and each sub-order's steps chain and end in its ``held`` status code
    (keyed by ``(order, sub_order)``)."""
    orders, subs, srcs, dsts, events = columns
    if not srcs:
        return True
    try:  # an unhashable value: entry by entry
        return (
            table_rows(machine, plain).issuperset(zip(srcs, dsts, events, strict=True))
            and {*map(type, srcs), *map(type, dsts)} <= code_types(machine)
            and {*map(type, orders), *map(type, subs)} <= _ID_TYPES
            and chains(orders, subs, srcs, dsts, held)
        )
    except TypeError:
        return False


def entry_paths(index: int, *, columnar: bool) -> tuple[str, str]:
    """How a stored history entry and its ``src`` cell are named in an error: format
    ``/2`` ``$.history[3]`` and ``$.history.src[3]``, format ``/1`` ``$.history[3]`` and
    ``$.history[3].src`` (as :func:`history_entries` names them)."""
    src = f"$.history.src[{index}]" if columnar else f"$.history[{index}].src"
    return f"$.history[{index}]", src


def chains(
    outer: Sequence[Hashable],
    inner: Sequence[Hashable],
    srcs: Sequence[object],
    dsts: Sequence[object],
    held: Mapping[Any, object],
) -> bool:
    """Whether each part (``(outer[i], inner[i])``) is one the order holds, its steps
    continue from where its previous one ended, and its last one ends in its ``held``
    status code."""
    key = (outer[0], inner[0])
    if outer.count(key[0]) == len(outer) and inner.count(key[1]) == len(inner):
        # one part, the usual case (counting compares by identity first: no hashing)
        return key in held and srcs[1:] == dsts[:-1] and held[key] == dsts[-1]
    last: dict[Hashable, object] = {}
    for key, src, dst in zip(zip(outer, inner, strict=True), srcs, dsts, strict=True):
        if last.get(key, src) != src:
            return False
        last[key] = dst
    return last.keys() <= held.keys() and all(held[key] == dst for key, dst in last.items())


@lru_cache(maxsize=4096, typed=True)
def decode_step(machine: CompiledMachine, src: object, dst: object, event: str) -> Step:
    """The table step a quick-checked history entry stores (it is known to exist; steps
    are immutable, so one is shared by every entry that stores it)."""
    source = machine.status(cast(Any, src))
    target = machine.status(cast(Any, dst))
    for t in machine.transitions_from(source):
        if t.dst == target.name and t.event == event:
            return Step(source, target, t.event, t.actor, t)
    raise AssertionError(f"{machine.name}: a checked entry names no edge: {src} -> {dst}")


def decode_change(row: Row, main: CompiledMachine, refund: CompiledMachine) -> Change:
    """The :class:`Change` a quick-checked Taobao/ICBU history entry stores."""
    sid, part, src, dst, event, via = row
    step = decode_step(refund if part == "refund" else main, src, dst, event)
    return Change(sid, step, part == "sub_order_status", via)


def change_row(change: Change) -> Row:
    """A :class:`Change` as the values of its stored entry (:data:`HISTORY_KEYS`)."""
    step = change.step
    return (
        change.sub_order,
        part_of(change),
        step.source.code,
        step.target.code,
        step.event,
        change.via,
    )


def history_entries(root: Field, keys: Sequence[str], *, columnar: bool) -> list[Field]:
    """The history's entries for the entry-by-entry path (format ``/2``: one
    :class:`ColumnEntry` per index, after checking the columns' shape)."""
    history = root.get("history")
    if not columnar:
        return history.items()
    if not isinstance(history.value, Mapping):
        raise PayloadError(history.path, "expected an object of columns")
    values: dict[str, list[Any]] = {}
    for key in keys:
        column = history.get(key)
        if not isinstance(column.value, list):
            raise PayloadError(column.path, "expected an array")
        values[key] = column.value
    first = len(values[keys[0]])
    for key, column_values in values.items():
        if len(column_values) != first:
            raise PayloadError(
                f"{history.path}.{key}", f"has {len(column_values)} entries, {keys[0]} has {first}"
            )
    return [ColumnEntry(values, i, history.path) for i in range(first)]


class ColumnEntry(Field):
    """Entry ``index`` of a columnar history, read like an entry object: its fields are
    the columns' cells (``$.history.src[3]``)."""

    def __init__(self, columns: Mapping[str, list[Any]], index: int, path: str) -> None:
        super().__init__(None, f"{path}[{index}]")
        self.columns = columns
        self.index = index
        self.history_path = path

    def get(self, key: str) -> Field:
        if key not in self.columns:
            raise PayloadError(f"{self.history_path}.{key}", "required field is missing")
        return Field(self.columns[key][self.index], f"{self.history_path}.{key}[{self.index}]")
