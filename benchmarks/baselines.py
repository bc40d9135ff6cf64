"""The baselines the benchmark compares orderfsm with, all built from the same shipped table.

Each baseline implements the benchmark's service operation on ``taobao_order`` - create
an order with two sub-orders (or restore it from its stored dict), fire events, write the
stored dict in orderfsm's own format - the way its library's documentation shows:

* :class:`PerOrderMachine`: a ``transitions.Machine`` built for every order;
* :class:`SharedMachine`: one ``transitions.Machine``, orders joined with ``add_model``
  and left with ``remove_model``;
* :class:`StatemachineOrder`: a ``python-statemachine`` class built once, one instance per
  order (the ``bench`` extra installs it);
* :class:`DictOrder`: plain dicts of the same table - the floor, no library at all.

None of them checks guards (the ``taobao_order`` edges the benchmark fires carry none), so
they do less than orderfsm does; they are what a user could write instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

from transitions import Machine

import orderfsm

FORMAT = "orderfsm.taobao_order/2"
HISTORY_KEYS = ("sub_order", "part", "src", "dst", "event", "via")
TABLE = orderfsm.load("taobao_order").table
STATES = [s.name for s in TABLE.states]
CODE = {s.name: s.code for s in TABLE.states}
NAME = {s.code: s.name for s in TABLE.states}
EDGES = [(t.event, t.src, t.dst) for t in TABLE.transitions if t.dst is not None]
REFUND_INITIAL = orderfsm.load("taobao_refund").initial.code
MAIN_INITIAL = TABLE.initial


def stored(
    status: str, subs: list[Any], history: dict[str, list[Any]], version: int
) -> dict[str, Any]:
    """The stored dict, field for field what ``TaobaoOrder.to_dict`` writes."""
    return {
        "format": FORMAT,
        "version": version,
        "observed_at": None,
        "status": CODE[status],
        "sub_orders": [
            {"id": sid, "status": CODE[MAIN_INITIAL], "refund_status": REFUND_INITIAL}
            for sid in subs
        ],
        "history": history,
    }


def entry(src: str, dst: str, event: str) -> tuple[Any, ...]:
    """One history entry, its values in the order of the stored columns."""
    return (None, "order", CODE[src], CODE[dst], event, "trigger")


class _Model:
    """What a transitions user would keep per order: the state plus the order's data."""

    def __init__(self, subs: list[Any], status: str = MAIN_INITIAL) -> None:
        self.state = status
        self.subs = subs
        self.history: dict[str, list[Any]] = {key: [] for key in HISTORY_KEYS}
        self.version = 0

    def record(self, event: str, src: str) -> None:
        for column, value in zip(self.history.values(), entry(src, self.state, event), strict=True):
            column.append(value)
        self.version += 1

    def to_dict(self) -> dict[str, Any]:
        return stored(
            self.state, self.subs, {k: list(v) for k, v in self.history.items()}, self.version
        )


class PerOrderMachine:
    """(a) ``Machine(model=order, states=..., transitions=..., initial=...)`` per order."""

    transitions: ClassVar[list[dict[str, str]]] = [
        {"trigger": e, "source": s, "dest": d} for e, s, d in EDGES
    ]

    def __init__(self, subs: list[Any]) -> None:
        self.model = _Model(subs)
        Machine(
            model=self.model,
            states=STATES,
            transitions=self.transitions,
            initial=MAIN_INITIAL,
            auto_transitions=False,
        )

    def fire(self, event: str) -> None:
        src = self.model.state
        self.model.trigger(event)
        self.model.record(event, src)


class SharedMachine:
    """(b) one shared ``Machine(model=None, ...)``; each order is ``add_model``-ed for its
    events and ``remove_model``-ed when the request is done."""

    machine = Machine(
        model=None,
        states=STATES,
        transitions=[{"trigger": e, "source": s, "dest": d} for e, s, d in EDGES],
        initial=MAIN_INITIAL,
        auto_transitions=False,
    )

    def __init__(self, subs: list[Any]) -> None:
        self.model = _Model(subs)
        self.machine.add_model(self.model)

    def fire(self, event: str) -> None:
        src = self.model.state
        self.model.trigger(event)
        self.model.record(event, src)

    def close(self) -> None:
        self.machine.remove_model(self.model)


def _statemachine_class() -> Any:
    from statemachine import State, StateMachine  # noqa: PLC0415 - only with the bench extra

    # python-statemachine 2.x refuses a state no edge touches (the quarantine status), and
    # the baseline's events never reach it: it is left out.
    connected = {MAIN_INITIAL, *(s for _, s, _ in EDGES), *(d for _, _, d in EDGES)}
    attrs: dict[str, Any] = {
        s.name: State(s.name, value=s.name, initial=s.name == MAIN_INITIAL, final=s.final)
        for s in TABLE.states
        if s.name in connected
    }
    events: dict[str, Any] = {}
    for e, s, d in EDGES:
        edge = attrs[s].to(attrs[d])
        events[e] = edge if e not in events else events[e] | edge
    attrs.update(events)
    return type("TaobaoStatemachine", (StateMachine,), attrs)


class StatemachineOrder:
    """(c) one ``python-statemachine`` class built from the table, an instance per order."""

    machine_class: Any = None

    def __init__(self, subs: list[Any], status: str = MAIN_INITIAL) -> None:
        if StatemachineOrder.machine_class is None:
            StatemachineOrder.machine_class = _statemachine_class()
        self.model = _Model(subs, status)
        self.sm = StatemachineOrder.machine_class(self.model, state_field="state")

    def fire(self, event: str) -> None:
        src = self.model.state
        self.sm.send(event)
        self.model.record(event, src)


class DictOrder:
    """(d) the floor: a ``{(status, event): status}`` dict and the stored dict written by hand."""

    step: ClassVar[dict[tuple[str, str], str]] = {(s, e): d for e, s, d in EDGES}

    def __init__(self, subs: list[Any], status: str = MAIN_INITIAL) -> None:
        self.model = _Model(subs, status)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DictOrder:
        order = cls([s["id"] for s in data["sub_orders"]], NAME[data["status"]])
        order.model.history = {k: list(v) for k, v in data["history"].items()}
        order.model.version = data["version"]
        return order

    def fire(self, event: str) -> None:
        src = self.model.state
        try:
            self.model.state = self.step[src, event]
        except KeyError:
            raise ValueError(f"{event!r} refused in {src}") from None
        self.model.record(event, src)


REFUND_TABLE = orderfsm.load("taobao_refund").table
REFUND_CODES = {s.code for s in REFUND_TABLE.states}
MAIN_CODES = set(CODE.values())
TABLE_STEPS = {
    (part, CODE[t.src], CODE[t.dst], t.event)
    for part in ("order", "sub_order_status")
    for t in TABLE.transitions
    if t.dst is not None
} | {
    ("refund", s.code, d.code, t.event)
    for t in REFUND_TABLE.transitions
    if t.dst is not None
    for s in REFUND_TABLE.states
    if s.name == t.src
    for d in REFUND_TABLE.states
    if d.name == t.dst
}
"""Every ``(part, src code, dst code, event)`` a table edge gives (guards aside)."""


def _code(value: Any, codes: set[Any]) -> Any:
    if type(value) is not int or value not in codes:
        raise ValueError(f"not a status code: {value!r}")
    return value


def _integer(value: Any) -> int:
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise ValueError(f"not an integer: {value!r}")
    return value


class CheckedDictOrder(DictOrder):
    """(d') the floor with the checks ``from_dict`` makes of a dict written as ``to_dict``
    writes it, written by hand on plain dicts and sets: the format tag, the version (an
    integer, not negative, consistent with the history), the status codes (of their own
    type), the sub-orders (objects, ids of one type, distinct), ``observed_at``, and the
    history (columns of equal length; each entry a table edge of its part's machine and
    a known ``via``; each part's steps chained, ending in its stored status). It does not
    replay guards (the steps the bench fires have none), so it checks less than
    ``from_dict``, never more."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DictOrder:
        if type(data) is not dict or data.get("format") != FORMAT:
            raise ValueError("not a taobao_order/2 dict")
        version = _integer(data["version"])
        status = _code(data["status"], MAIN_CODES)
        observed_at = data["observed_at"]
        if observed_at is not None:
            _integer(observed_at)
        held: dict[tuple[str, Any], Any] = {("order", None): status}
        ids = []
        for sub in data["sub_orders"]:
            sid = sub["id"]
            if type(sid) is not str:
                _integer(sid)
            ids.append(sid)
            held["sub_order_status", sid] = _code(sub["status"], MAIN_CODES)
            held["refund", sid] = _code(sub["refund_status"], REFUND_CODES)
        if len({str(i) for i in ids}) != len(ids):
            raise ValueError("duplicate or ambiguous sub-order ids")
        history = data["history"]
        columns = [history[key] for key in HISTORY_KEYS]
        if len({len(c) for c in columns}) != 1:
            raise ValueError("history columns of different lengths")
        last: dict[tuple[str, Any], Any] = {}
        triggers = runs = 0  # one change per trigger, one per run of snapshot steps
        previous = "trigger"
        for sid, part, src, dst, event, via in zip(*columns, strict=True):
            key = (part, sid)
            if (part, src, dst, event) not in TABLE_STEPS or key not in held:
                raise ValueError(f"not a table step: {part} {src} -> {dst} on {event}")
            if via not in ("trigger", "snapshot", "reconstructed"):
                raise ValueError(f"unknown via {via!r}")
            if last.get(key, src) != src:
                raise ValueError("history reordered or cut")
            last[key] = dst
            if via == "trigger":
                triggers += 1
            elif previous == "trigger":
                runs += 1
            previous = via
        if any(held[key] != dst for key, dst in last.items()):
            raise ValueError("the history does not end in the stored statuses")
        least = triggers + runs + (observed_at is not None and runs == 0)
        most = None if observed_at is not None else len(columns[0]) + len(ids)
        if version < least or (most is not None and version > most):
            raise ValueError(f"version {version} does not fit the history")
        if version > 0 and least == 0 and not ids and observed_at is None:
            raise ValueError("a version without history")
        order = cls(ids, NAME[status])
        order.model.history = {k: list(v) for k, v in zip(HISTORY_KEYS, columns, strict=True)}
        order.model.version = version
        return order
