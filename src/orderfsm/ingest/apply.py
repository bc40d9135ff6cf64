"""Decide what one observed snapshot means for the order we hold.

Pure: :func:`plan_taobao` takes what the order holds (:class:`HeldTaobao`) and a
snapshot record and returns an :class:`ApplyResult` listing, per part of the order
(the main status, each sub-order's own status, each sub-order's refund), the outcome and
the steps to record. The stateful order commits those steps atomically; nothing here
mutates anything.

Rules (documented in ``docs/webhooks.md``):

- **stale**: the snapshot's ``modify_time`` is older than the newest one applied. Without
  timestamps on both sides, a status the order has already passed (there is a path from
  it to the held status) is stale too, unless it is a single documented step ahead.
- **duplicate**: the observed status is the held one; nothing to do.
- **advanced**: a path of table edges leads there. A snapshot that skipped steps is
  filled in by the shortest path (breadth-first over the table's edges, guards aside:
  the platform already did it) and flagged ``reconstructed``.
- **illegal**: no path; nothing changes unless ``force=True``, which records one forced
  step (``via="forced"``).
- **inconsistent**: the status code and its description disagree. The numeric code
  wins (see :data:`CODE_WINS`); the order moves as the code says.
- **unknown_status**: the machine does not know the value. The part moves into the
  machine's quarantine state (Taobao: ``OTHER_STATUS(9)``) when it has one, otherwise it
  stays where it is; either way with a warning and never an exception. A recognised
  status later releases it from quarantine in one step (``via="release"``).

Parts are decided independently (one sub-order's illegal refund does not stop its
siblings). Where several outcomes apply, ``ApplyResult.outcome`` is the most serious in
the order :data:`SEVERITY` and the others are listed in ``also``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from orderfsm.errors import InvalidOrderState, OrderFsmError, UnknownStatus
from orderfsm.ingest.records import IcbuSnapshot, SubOrderSnapshot, TaobaoSnapshot
from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.guards import HISTORY_GUARD
from orderfsm.model.table import Provenance, State, Transition

_log = logging.getLogger("orderfsm.ingest")

Outcome = Literal["advanced", "duplicate", "stale", "illegal", "inconsistent", "unknown_status"]
Part = Literal["order", "sub_order_status", "refund"]
Via = Literal["trigger", "snapshot", "reconstructed", "forced", "quarantine", "release"]
Timing = Literal["older", "same", "newer", "unknown"]

SEVERITY: tuple[Outcome, ...] = (
    "unknown_status",
    "illegal",
    "inconsistent",
    "advanced",
    "stale",
    "duplicate",
)
"""Outcomes from most to least serious: the first that applies is ``ApplyResult.outcome``.

A snapshot older by ``modify_time`` is stale as a whole (every part is), so its outcome is
``"stale"``; a part that is merely behind does not hide what happened to the others."""

CODE_WINS = (
    "the numeric `status` code wins over `orderStatusDesc`: the code is the "
    "TaoBaoOrderStatusEnum value this machine models, while the description is 'the Taobao "
    "raw status' (000_29cd69a61e8d9e8a.txt \u00a7 Checklist), another system's view that can "
    "lag; 001_7aaff76250cc2543.txt \u00a7 返回响应 shows status 5 (WAIT_FINANCE_PAY) with "
    "orderStatusDesc WAIT_BUYER_P while payTime is null: finance has not yet paid Taobao"
)
TRADE_STATUS_WINS = (
    "`trade_status` wins over `status_action.status`: it is the order-status field "
    "002_72f8e4474636d231.txt \u00a7 响应参数 documents with its 16 values; status_action "
    "describes the actions on offer (its example repeats trade_success)"
)
SUB_STATUS_WINS = (
    "`subOrderStatus` wins over the `status` inside `subOrderResult`: it is the field the "
    "purchase page documents for the sub-order (000_29cd69a61e8d9e8a.txt \u00a7 Fields Visible "
    "to Customers); subOrderResult is the platform's raw creation result"
)


@dataclass(frozen=True, slots=True)
class PartResult:
    """What one snapshot did to one part of the order.

    ``steps`` are the steps to record (empty when nothing changes); ``via`` says how
    they were obtained. ``observed`` is the value the snapshot carried, as sent.
    """

    part: Part
    sub_order: Hashable | None
    outcome: Outcome
    before: State
    after: State
    observed: object
    steps: tuple[Step, ...] = ()
    via: Via = "snapshot"
    also: tuple[Outcome, ...] = ()
    note: str = ""

    @property
    def reconstructed(self) -> bool:
        """Whether intermediate statuses were filled in by shortest path."""
        return self.via == "reconstructed"

    @property
    def forced(self) -> bool:
        return self.via == "forced"

    @property
    def passed_through(self) -> tuple[State, ...]:
        """The statuses between ``before`` and ``after`` that the snapshot skipped."""
        return tuple(s.target for s in self.steps[:-1])


@dataclass(frozen=True, slots=True)
class Inconsistency:
    """A status code and its description that name different statuses."""

    sub_order: Hashable | None
    code_field: str
    code: object
    text_field: str
    text: str
    winner: str
    reason: str


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The decision for one snapshot; ``version`` is the order's version afterwards."""

    outcome: Outcome
    also: tuple[Outcome, ...]
    parts: tuple[PartResult, ...]
    inconsistencies: tuple[Inconsistency, ...] = ()
    warnings: tuple[str, ...] = ()
    version: int = 0
    observed_at: int | None = None
    variables: tuple[tuple[str, str], ...] = ()
    """Extended state the snapshot sets (ICBU ``pay_step``), validated against the table."""

    @property
    def changed(self) -> bool:
        return any(p.steps for p in self.parts)

    def part(self, part: Part, sub_order: Hashable | None = None) -> PartResult:
        """The result for one part (``KeyError`` if the snapshot did not mention it)."""
        for p in self.parts:
            if p.part == part and p.sub_order == sub_order:
                return p
        raise KeyError((part, sub_order))


@dataclass(frozen=True, slots=True)
class HeldTaobao:
    """What a Taobao order holds, as the planner needs it."""

    status: State
    sub_statuses: Mapping[Hashable, State]
    refunds: Mapping[Hashable, State]
    observed_at: int | None


# ----------------------------------------------------------------------------- paths


def shortest_path(
    machine: CompiledMachine, src: State, dst: State, remembered: State | None = None
) -> tuple[Transition, ...] | None:
    """The fewest table edges from ``src`` to ``dst`` (ties: table order), or ``None``.

    A reconstructed path never passes *through* a history state (ICBU ``frozen``): a
    later snapshot cannot tell that a dispute came and went, and inventing one would be
    worse than skipping it. Leaving a history state it starts in, it only returns to the
    ``remembered`` status (any, when that is unknown).
    """
    if src == dst:
        return ()
    interrupts = machine.history_states
    came_from: dict[str, tuple[str, Transition] | None] = {src.name: None}
    queue = deque([src.name])
    while queue:
        name = queue.popleft()
        if name in interrupts and name != src.name:
            continue
        for t in machine.transitions_from(name):
            assert t.dst is not None
            if t.dst in came_from or (name in interrupts and not _may_return(t, remembered)):
                continue
            came_from[t.dst] = (name, t)
            if t.dst == dst.name:
                return _unwind(came_from, dst.name)
            queue.append(t.dst)
    return None


def _may_return(edge: Transition, remembered: State | None) -> bool:
    """Whether an edge leaving a history state fits what the order remembers."""
    if HISTORY_GUARD not in edge.guards or remembered is None:
        return True
    return edge.dst == remembered.name


def _unwind(
    came_from: Mapping[str, tuple[str, Transition] | None], end: str
) -> tuple[Transition, ...]:
    edges: list[Transition] = []
    link = came_from[end]
    while link is not None:
        edges.append(link[1])
        link = came_from[link[0]]
    return tuple(reversed(edges))


def _steps(machine: CompiledMachine, edges: tuple[Transition, ...]) -> tuple[Step, ...]:
    state = machine.table.state
    return tuple(Step(state(t.src), state(t.dst or t.src), t.event, t.actor, t) for t in edges)


def synthetic_step(src: State, dst: State, via: Via, basis: str) -> Step:
    """A recorded step no table edge provides (forced, quarantine, release)."""
    edge = Transition(
        src=src.name,
        dst=dst.name,
        event=f"<{via}>",
        actor="platform",
        provenance=Provenance("inferred", basis=basis),
    )
    return Step(src, dst, edge.event, edge.actor, edge)


def quarantine_state(machine: CompiledMachine) -> State | None:
    return next((s for s in machine.states if s.quarantine), None)


# ----------------------------------------------------------------------------- one part


def decide(
    machine: CompiledMachine,
    current: State,
    observed: object,
    *,
    part: Part,
    sub_order: Hashable | None = None,
    timing: Timing = "unknown",
    force: bool = False,
    remembered: State | None = None,
) -> PartResult:
    """Decide one part: ``current`` is held, ``observed`` is what the snapshot says;
    ``remembered`` is the status a history state (ICBU ``frozen``) was entered from."""
    result = PartResult(part, sub_order, "duplicate", current, current, observed)
    if timing == "older":
        return replace(result, outcome="stale", note="older modify_time than already applied")
    target = _resolve(machine, observed)
    if target is None:
        return _unknown(machine, result)
    if target == current:
        return result
    if target.quarantine:  # the platform itself says the status is unenumerated
        return _unknown(machine, result)
    if current.quarantine:
        step = synthetic_step(current, target, "release", "a recognised status left quarantine")
        return replace(result, outcome="advanced", after=target, steps=(step,), via="release")
    path = shortest_path(machine, current, target, remembered)
    if timing == "unknown" and (path is None or len(path) > 1):
        # In a history state, "already passed" is judged from where the order entered it.
        entered_from = remembered if current.name in machine.history_states else None
        behind = shortest_path(machine, target, entered_from or current)
        if behind is not None:
            note = f"{target} comes before {current} and no timestamp says otherwise"
            return replace(result, outcome="stale", note=note)
    if path is not None:
        via: Via = "reconstructed" if len(path) > 1 else "snapshot"
        steps = _steps(machine, path)
        return replace(result, outcome="advanced", after=target, steps=steps, via=via)
    note = f"{machine.name}: no path from {current} to {target}"
    if not force:
        return replace(result, outcome="illegal", note=note)
    step = synthetic_step(current, target, "forced", f"forced by the caller: {note}")
    return replace(result, outcome="illegal", after=target, steps=(step,), via="forced", note=note)


def _unknown(machine: CompiledMachine, result: PartResult) -> PartResult:
    jail = quarantine_state(machine)
    current = result.before
    if jail is None:
        note = (
            f"{machine.name}: unknown status {result.observed!r}; "
            f"kept {current} (the machine has no quarantine state)"
        )
        return replace(result, outcome="unknown_status", note=note)
    note = f"{machine.name}: unknown status {result.observed!r}; quarantined in {jail}"
    if current == jail:
        return replace(result, outcome="unknown_status", note=note)
    step = synthetic_step(current, jail, "quarantine", f"unknown status {result.observed!r}")
    return replace(
        result, outcome="unknown_status", after=jail, steps=(step,), via="quarantine", note=note
    )


# ----------------------------------------------------------------------------- Taobao


def timing_of(observed_at: int | None, held_at: int | None) -> Timing:
    if observed_at is None or held_at is None:
        return "unknown"
    if observed_at < held_at:
        return "older"
    return "same" if observed_at == held_at else "newer"


def plan_taobao(
    held: HeldTaobao,
    snapshot: TaobaoSnapshot,
    main: CompiledMachine,
    refund: CompiledMachine,
    *,
    force: bool = False,
) -> ApplyResult:
    """Decide every part of a Taobao snapshot against what the order holds."""
    _expect(snapshot, TaobaoSnapshot, "purchase_page' or 'status_callback")
    timing = timing_of(snapshot.modify_time, held.observed_at)
    parts: list[PartResult] = []
    inconsistencies: list[Inconsistency] = []

    observed, clash = _main_status(main, snapshot)
    order_part = decide(main, held.status, observed, part="order", timing=timing, force=force)
    if clash is not None:
        inconsistencies.append(clash)
        order_part = _mark_inconsistent(order_part)
    parts.append(order_part)

    unmatched = [s.path for s in snapshot.sub_orders if s.sub_order_id is None]
    for sub in snapshot.sub_orders:
        sid = sub.sub_order_id
        if sid is None:
            continue
        if sub.status is not None:
            current = held.sub_statuses.get(sid, main.initial)
            part = decide(
                main,
                current,
                sub.status,
                part="sub_order_status",
                sub_order=sid,
                timing=timing,
                force=force,
            )
            clash = _sub_status_clash(main, sub)
            if clash is not None:
                inconsistencies.append(clash)
                part = _mark_inconsistent(part)
            parts.append(part)
        if sub.refund_status is not None:
            current = held.refunds.get(sid, refund.initial)
            parts.append(
                decide(
                    refund,
                    current,
                    sub.refund_status,
                    part="refund",
                    sub_order=sid,
                    timing=timing,
                    force=force,
                )
            )
    result = _combine(parts, inconsistencies, snapshot.modify_time)
    skipped = tuple(f"{path}: sub-order without an id: not applied" for path in unmatched)
    return replace(result, warnings=result.warnings + skipped)


def _main_status(
    machine: CompiledMachine, snapshot: TaobaoSnapshot
) -> tuple[object, Inconsistency | None]:
    """The value that decides the main status, and the code/description clash, if any."""
    if snapshot.status_code is None:
        return snapshot.status_text, None
    code, text = snapshot.status_code, snapshot.status_text
    if text is None or _same_status(machine, code, text):
        return code, None
    return code, Inconsistency(None, "status", code, "orderStatusDesc", text, "status", CODE_WINS)


def _sub_status_clash(machine: CompiledMachine, sub: SubOrderSnapshot) -> Inconsistency | None:
    if sub.status is None or sub.detail_status is None:
        return None
    if _same_status(machine, sub.status, sub.detail_status):
        return None
    return Inconsistency(
        sub.sub_order_id,
        "subOrderStatus",
        sub.status,
        "subOrderResult.status",
        sub.detail_status,
        "subOrderStatus",
        SUB_STATUS_WINS,
    )


def _expect(snapshot: object, wanted: type, kinds: str) -> None:
    if not isinstance(snapshot, wanted):
        raise OrderFsmError(
            f"this order applies a {wanted.__name__} (parse(body, '{kinds}')), "
            f"not {type(snapshot).__name__}"
        )


def _resolve(machine: CompiledMachine, value: object) -> State | None:
    """The status ``value`` names in ``machine``, or ``None`` if it names none."""
    if not isinstance(value, int | str):
        return None
    try:
        return machine.status(value)
    except UnknownStatus:
        return None


def _same_status(machine: CompiledMachine, a: object, b: object) -> bool:
    found_a, found_b = _resolve(machine, a), _resolve(machine, b)
    return a == b if found_a is None or found_b is None else found_a == found_b


def _mark_inconsistent(part: PartResult) -> PartResult:
    """Make ``inconsistent`` the part's outcome unless stale/unknown decided it."""
    if part.outcome in ("stale", "unknown_status"):
        return replace(part, also=(*part.also, "inconsistent"))
    return replace(part, outcome="inconsistent", also=(part.outcome, *part.also))


def _combine(
    parts: list[PartResult], inconsistencies: list[Inconsistency], observed_at: int | None
) -> ApplyResult:
    decided = next(o for o in SEVERITY if any(p.outcome == o for p in parts))
    present = {p.outcome for p in parts} | {o for p in parts for o in p.also}
    ranked = [decided, *(o for o in SEVERITY if o in present and o != decided)]
    warnings = [p.note for p in parts if p.outcome in ("unknown_status", "illegal")]
    warnings += [
        f"{i.code_field}={i.code!r} disagrees with {i.text_field}={i.text!r}"
        + (f" (sub-order {i.sub_order!r})" if i.sub_order is not None else "")
        + f"; {i.winner} wins"
        for i in inconsistencies
    ]
    return ApplyResult(
        outcome=ranked[0],
        also=tuple(ranked[1:]),
        parts=tuple(parts),
        inconsistencies=tuple(inconsistencies),
        warnings=tuple(warnings),
        observed_at=observed_at,
    )


def log_warnings(result: ApplyResult) -> None:
    """Log each warning of ``result`` on the ``orderfsm.ingest`` logger (never raises)."""
    for warning in result.warnings:
        _log.warning("%s", warning)


# ----------------------------------------------------------------------------- ICBU


def plan_icbu(
    status: State,
    snapshot: IcbuSnapshot,
    machine: CompiledMachine,
    *,
    remembered: State | None = None,
    force: bool = False,
    pay_step: str | None = None,
) -> ApplyResult:
    """Decide an ICBU snapshot against the held ``status`` (and held ``pay_step``).

    ``alibaba.seller.order.get`` carries no modification time, so staleness is judged by
    the machine alone. The ``icbu_trade`` table has no quarantine status, so an unknown
    ``trade_status`` leaves the order where it is (outcome ``unknown_status``). The
    snapshot's ``pay_step`` is taken only with a status the order advanced to (or whose
    code/description clash was resolved); a stale, duplicate, illegal or unknown snapshot
    cannot rewrite it, and a different ``pay_step`` there is reported as ignored. A
    ``pay_step`` the table does not list is ignored with a warning.
    """
    _expect(snapshot, IcbuSnapshot, "icbu_order")
    part = decide(
        machine, status, snapshot.trade_status, part="order", force=force, remembered=remembered
    )
    clashes: list[Inconsistency] = []
    action = snapshot.status_action
    if action is not None and not _same_status(machine, snapshot.trade_status, action):
        clashes.append(
            Inconsistency(
                None,
                "trade_status",
                snapshot.trade_status,
                "status_action.status",
                action,
                "trade_status",
                TRADE_STATUS_WINS,
            )
        )
        part = _mark_inconsistent(part)
    result = _combine([part], clashes, None)
    if snapshot.pay_step is None:
        return result
    if part.outcome not in ("advanced", "inconsistent"):
        if snapshot.pay_step == pay_step:
            return result
        note = f"pay_step {snapshot.pay_step!r} ignored: the snapshot is {part.outcome}"
        return replace(result, warnings=(*result.warnings, note))
    try:
        machine.variables({"pay_step": snapshot.pay_step})
    except InvalidOrderState as e:
        return replace(result, warnings=(*result.warnings, f"pay_step ignored: {e}"))
    return replace(result, variables=(("pay_step", snapshot.pay_step),))
