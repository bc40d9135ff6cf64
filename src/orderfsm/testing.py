"""Hypothesis strategies over orderfsm machines, for the library's tests and yours.

    from hypothesis import given
    from orderfsm.testing import histories

    @given(histories("taobao_order"))
    def test_my_service_follows_the_rules(history): ...

Every strategy takes a machine (a compiled machine or anything :func:`orderfsm.load`
accepts) and builds only from the table, so it works on user tables too. Strategies
compose: :func:`histories_with_illegal_step` draws from :func:`histories`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from orderfsm.check.paths import Config, PathStep, initial_configs, moves
from orderfsm.check.paths import Path as StepPath
from orderfsm.model.compile import CompiledMachine, load
from orderfsm.model.table import Code, State
from orderfsm.orders.ids import SubOrderId
from orderfsm.orders.taobao import TaobaoOrder

MachineLike = CompiledMachine | str | Path | Mapping[str, Any]


def _machine(machine: MachineLike) -> CompiledMachine:
    return machine if isinstance(machine, CompiledMachine) else load(machine)


@dataclass(frozen=True, slots=True)
class History:
    """A valid event history: the steps taken from the start configuration, in order."""

    machine: CompiledMachine
    start: Config
    steps: StepPath

    @property
    def statuses(self) -> tuple[State, ...]:
        return (self.start.status, *(s.target for s in self.steps))

    @property
    def end(self) -> Config:
        return _config_after(self.machine, self.start, self.steps)


@dataclass(frozen=True, slots=True)
class IllegalHistory:
    """A valid history with exactly one illegal event injected at ``position``.

    ``events`` is the whole sequence to replay; replaying it must be refused at
    ``position`` (the event there is not accepted in the status reached by then), and the
    events after it stay valid, because a refused event changes nothing.
    """

    history: History
    position: int
    illegal_event: str
    config: Config

    @property
    def status_at_injection(self) -> State:
        return self.config.status

    @property
    def events(self) -> tuple[str, ...]:
        names = [s.event for s in self.history.steps]
        return (*names[: self.position], self.illegal_event, *names[self.position :])


def _config_after(machine: CompiledMachine, start: Config, steps: StepPath) -> Config:
    config = start
    for step in steps:
        config = next(c for s, c in moves(machine, config) if s.transition == step.transition)
    return config


@st.composite
def histories(draw: st.DrawFn, machine: MachineLike, max_steps: int = 12) -> History:
    """Valid histories of ``machine`` from its initial status: each step one that really fires.

    At every step the history may stop, or take any transition that fires in the current
    configuration (guards evaluated with a parent status that lets it, for sub-order
    machines). Shrinks towards short histories.
    """
    m = _machine(machine)
    start = draw(st.sampled_from(initial_configs(m)))
    config, steps = start, []
    for _ in range(max_steps):
        options = sorted(moves(m, config), key=lambda pair: m.edges.index(pair[0].transition))
        if not options or not draw(st.booleans()):
            break
        step, config = draw(st.sampled_from(options))
        steps.append(step)
    return History(m, start, tuple(steps))


@st.composite
def histories_with_illegal_step(
    draw: st.DrawFn, machine: MachineLike, max_steps: int = 12
) -> IllegalHistory:
    """A valid history plus one event that is refused where it is injected (and where)."""
    m = _machine(machine)
    history = draw(
        histories(m, max_steps).filter(
            lambda h: any(
                _illegal_events(m, c)
                for c in (_config_after(m, h.start, h.steps[:i]) for i in range(len(h.steps) + 1))
            )
        )
    )
    candidates = [
        i
        for i in range(len(history.steps) + 1)
        if _illegal_events(m, _config_after(m, history.start, history.steps[:i]))
    ]
    position = draw(st.sampled_from(candidates))
    config = _config_after(m, history.start, history.steps[:position])
    event = draw(st.sampled_from(_illegal_events(m, config)))
    return IllegalHistory(history, position, event, config)


def _illegal_events(machine: CompiledMachine, config: Config) -> list[str]:
    return [
        e
        for e in machine.event_names
        if not any(
            machine.allows(
                config.status, e, parent=p, variables=config.variables, history=config.history
            )
            for p in machine.parent_statuses
        )
    ]


@st.composite
def taobao_orders(
    draw: st.DrawFn,
    max_sub_orders: int = 4,
    max_events: int = 16,
    sub_order_ids: st.SearchStrategy[SubOrderId] | None = None,
) -> TaobaoOrder:
    """Random Taobao orders reached by playing accepted events on a new order.

    The order gets up to ``max_sub_orders`` sub-orders, then up to ``max_events``
    events each drawn from those the order (or one of its sub-orders) accepts at that
    moment, so every main/refund combination produced is one the rules can reach.
    """
    ids = draw(
        st.lists(
            sub_order_ids or st.text("0123456789", min_size=1, max_size=6),
            max_size=max_sub_orders,
            unique=True,
        )
    )
    order = TaobaoOrder(sub_orders=ids)
    for _ in range(max_events):
        options: list[tuple[str, SubOrderId | None]] = [(e, None) for e in order.enabled_events()]
        options += [(e, sid) for sid in ids for e in order.enabled_events(sid)]
        if not options or not draw(st.booleans()):
            break
        event, sub_order = draw(st.sampled_from(options))
        order.trigger(event, sub_order=sub_order)
    return order


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One row of an exported status history (see :func:`exports`); codes as the platform's."""

    order_id: str
    seq: int
    status: Code
    sub_order_id: str = ""
    refund_status: Code | str = ""


@dataclass(frozen=True, slots=True)
class Export:
    """An exported status history of several orders, as :func:`exports` draws it.

    ``mutations`` counts the rows changed after the valid histories were drawn (0: every
    change is one accepted event). ``refunds`` says whether the rows carry sub-order
    refund columns.
    """

    machine: CompiledMachine
    rows: tuple[ExportRow, ...]
    refunds: bool
    mutations: int

    def csv(self) -> str:
        """The export as CSV text with a header row, rows in this order."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        header = ["order_id", "seq", "status"]
        header += ["sub_order_id", "refund_status"] if self.refunds else []
        writer.writerow(header)
        for r in self.rows:
            row: list[object] = [r.order_id, r.seq, r.status]
            row += [r.sub_order_id, r.refund_status] if self.refunds else []
            writer.writerow(row)
        return out.getvalue()


def _order_rows(
    draw: st.DrawFn, machine: CompiledMachine, order_id: str, max_steps: int
) -> list[ExportRow]:
    if machine.name == "taobao_order":
        order = draw(taobao_orders(max_sub_orders=2, max_events=max_steps))
        main = order.machine.initial
        rows = [ExportRow(order_id, 0, main.code)]
        rows += [
            ExportRow(order_id, 0, main.code, str(sid), order.refund_machine.initial.code)
            for sid in order.sub_orders
        ]
        for change in order.history:
            if change.sub_order is None:
                main = change.step.target
                rows.append(ExportRow(order_id, 0, main.code))
            else:
                target = change.step.target.code
                rows.append(ExportRow(order_id, 0, main.code, str(change.sub_order), target))
        return rows
    history = draw(histories(machine, max_steps))
    return [ExportRow(order_id, 0, s.code) for s in history.statuses]


@st.composite
def exports(
    draw: st.DrawFn,
    machine: MachineLike,
    max_orders: int = 4,
    max_steps: int = 8,
    mutate: bool = True,
) -> Export:
    """Exported status histories of up to ``max_orders`` orders of ``machine``.

    Each order's rows come from a valid history (:func:`histories`, or for
    ``taobao_order`` a :func:`taobao_orders` order with sub-order refunds, each row
    carrying the main status beside the refund). With ``mutate``, rows may then be
    dropped (skipped steps), repeated (duplicates) or replaced by any status (illegal
    steps, or excursions the rules allow). Rows are ordered by order id then ``seq``.
    Naming ``taobao_refund`` draws Taobao orders with refunds, as for ``taobao_order``.
    """
    m = _machine(machine)
    main = m.parent if m.parent is not None else m
    refunds = main.name == "taobao_order"
    n = draw(st.integers(min_value=1, max_value=max_orders))
    rows: list[ExportRow] = []
    mutations = 0
    for i in range(n):
        order_id = f"o{i:03d}"
        own = _order_rows(draw, main, order_id, max_steps)
        if mutate:
            for _ in range(draw(st.integers(min_value=0, max_value=3))):
                action = draw(st.sampled_from(("drop", "repeat", "replace")))
                at = draw(st.integers(min_value=0, max_value=len(own) - 1))
                mutations += 1
                if action == "drop" and len(own) > 1:
                    own.pop(at)
                elif action == "repeat":
                    own.insert(at, own[at])
                elif refunds and own[at].sub_order_id and draw(st.booleans()):
                    child = load("taobao_refund")
                    code = draw(st.sampled_from([s.code for s in child.states]))
                    own[at] = ExportRow(order_id, 0, own[at].status, own[at].sub_order_id, code)
                else:
                    code = draw(st.sampled_from([s.code for s in main.states]))
                    own[at] = ExportRow(
                        order_id, 0, code, own[at].sub_order_id, own[at].refund_status
                    )
        rows.extend(
            ExportRow(r.order_id, seq, r.status, r.sub_order_id, r.refund_status)
            for seq, r in enumerate(own, start=1)
        )
    return Export(main, tuple(rows), refunds, mutations)


__all__ = [
    "Export",
    "ExportRow",
    "History",
    "IllegalHistory",
    "PathStep",
    "exports",
    "histories",
    "histories_with_illegal_step",
    "taobao_orders",
]
