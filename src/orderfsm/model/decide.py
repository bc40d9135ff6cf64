"""Decide what one observed snapshot means for the order we hold.

Pure: :func:`plan_taobao` takes what the order holds (:class:`HeldTaobao`) and a
snapshot record and returns an :class:`ApplyResult` listing, per part of the order
(the main status, each sub-order's own status, each sub-order's refund), the outcome and
the steps to record. The stateful order commits those steps atomically; nothing here
mutates anything.

Rules (documented in ``docs/webhooks.md``):

- **stale**: the snapshot's ``modify_time`` is older than the newest one applied. Without
  timestamps, a status that *comes before* the held one in the progress order of
  :mod:`orderfsm.model.progress` is stale too, unless it is one step ahead (an order in
  a history state stands where it entered it).
- **duplicate**: the observed status (and the variables it states) is the one held.
- **advanced**: a path of table edges leads there, every guard passing with what the
  snapshot states (:class:`Said`: the variables, which only an edge's ``set`` changes;
  the parent statuses a refund's steps may have happened under). A snapshot that
  skipped steps is filled in by the shortest such path and flagged ``reconstructed``.
- **inconsistent**: the status code and its description disagree (the numeric code wins,
  see :data:`CODE_WINS`, and is applied); or the table has a path but no path passes the
  guards with what the snapshot states (the note names the guard; nothing changes); or
  a sub-order would move while its order's part is refused; or one snapshot names a
  sub-order twice.
- **illegal**: no path; nothing changes unless ``force=True``, which records one forced
  step (``via="forced"``).
- **unknown_status**: the machine does not know the value. The part moves into the
  machine's quarantine state (Taobao: ``OTHER_STATUS(9)``) when it has one, otherwise it
  stays where it is; either way with a warning and never an exception. A recognised
  status later releases it from quarantine in one step (``via="release"``).

A refused part (``PartResult.refused``) records nothing; the order adds no sub-order
for it and moves no clock.

Parts are decided independently (one sub-order's illegal refund does not stop its
siblings). Where several outcomes apply, ``ApplyResult.outcome`` is the most serious in
the order :data:`SEVERITY` and the others are listed in ``also``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, NamedTuple

from orderfsm.errors import InvalidOrderState, OrderFsmError, UnknownStatus
from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.paths import Said, guarded_path, shortest_path, steps_of, why_refused
from orderfsm.model.progress import comes_before
from orderfsm.model.records import IcbuSnapshot, SubOrderSnapshot, TaobaoSnapshot
from orderfsm.model.synthetic import Via, may_park, quarantine_state, synthetic_step
from orderfsm.model.table import State

_log = logging.getLogger("orderfsm.ingest")
_NOTHING_SAID = Said({})

Outcome = Literal["advanced", "duplicate", "stale", "illegal", "inconsistent", "unknown_status"]
Part = Literal["order", "sub_order_status", "refund"]
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


@dataclass(frozen=True, slots=True, repr=False)
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
    refused: bool = False
    """Whether the part was refused (stale, illegal unforced, or inconsistent with the
    order or its own guards): a refused part changes nothing."""

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

    def __repr__(self) -> str:
        """One line: the part, the move and the outcome (the provenance stays in the fields)."""
        return f"<PartResult {self._shown()}>"

    def _shown(self) -> str:
        where = self.part if self.sub_order is None else f"{self.part} {self.sub_order!r}"
        move = f"{self.before} -> {self.after}" if self.steps else f"{self.before}"
        via = f" via {self.via}" if self.steps and self.via != "snapshot" else ""
        return f"{where}: {move} {self.outcome}{via}{' (refused)' if self.refused else ''}"


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


Verdict = Literal["waiting", "confirmed", "rejected"]


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """What became of a request sent to the platform (``order.request``): still
    ``waiting`` (nothing the platform said moved its part), ``confirmed`` (its part moved
    through the status the request leads to) or ``rejected`` (its part moved elsewhere,
    its event is no longer accepted, or the caller gave up: ``reject_request``).
    ``part`` is ``"order"`` or ``"refund"`` (of ``sub_order``)."""

    part: Part
    sub_order: Hashable | None
    event: str
    verdict: Verdict
    note: str = ""


@dataclass(frozen=True, slots=True, repr=False)
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
    """Extended state the steps changed (ICBU ``pay_step``), as it is afterwards."""
    changed: bool = False
    """Whether the order changed (a step, an added sub-order, the clock): its version
    went up by one exactly then."""
    requests: tuple[RequestOutcome, ...] = ()
    """What the snapshot did to each request pending before it (``order.request``)."""

    @property
    def taken(self) -> Literal["all", "some", "none"]:
        """How much of the snapshot was taken: ``"all"`` (no part refused), ``"none"``
        (every part refused: nothing changed, clock and version included) or ``"some"``
        (a partly taken snapshot: ``parts`` says which part was refused and why)."""
        refused = sum(p.refused for p in self.parts)
        return "all" if not refused else "none" if refused == len(self.parts) else "some"

    def __repr__(self) -> str:
        """One line per snapshot: the outcome, whether it changed the order, each part in
        short (the provenance of every step stays available as fields)."""
        changed = "changed" if self.changed else "unchanged"
        parts = "; ".join(p._shown() for p in self.parts)
        return f"<ApplyResult {self.outcome} ({changed}, version {self.version}): {parts}>"

    def part(self, part: Part, sub_order: Hashable | None = None) -> PartResult:
        """The result for one part (``KeyError`` if the snapshot did not mention it)."""
        for p in self.parts:
            if p.part == part and p.sub_order == sub_order:
                return p
        raise KeyError((part, sub_order))


class HeldTaobao(NamedTuple):
    """What a Taobao order holds, as the planner needs it (and as a stored dict says it;
    a named tuple, cheap to build on every apply and every load)."""

    status: State
    sub_statuses: Mapping[Hashable, State]
    refunds: Mapping[Hashable, State]
    observed_at: int | None
    parked: Mapping[tuple[Part, Hashable], State] = MappingProxyType({})
    """For each quarantined part (``("order", None)``, ``("sub_order_status", id)``),
    the status it held before it was parked, when known."""


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
    said: Said = _NOTHING_SAID,
    parked_from: State | None = None,
) -> PartResult:
    """Decide one part: ``current`` is held, ``observed`` is what the snapshot says;
    ``remembered`` is the status a history state (ICBU ``frozen``) was entered from,
    ``said`` the context the snapshot states (variables, parent statuses), and
    ``parked_from`` the status the part held before it was quarantined (``None``: not
    known, the part was constructed in quarantine)."""
    said = replace(said, variables=machine.variables(said.variables))
    result = PartResult(part, sub_order, "duplicate", current, current, observed)
    if timing == "older":
        note = "older modify_time than already applied"
        return replace(result, outcome="stale", note=note, refused=True)
    target = _resolve(machine, observed)
    if target is None:
        return _unknown(machine, result)
    if target == current and said.reached(said.variables):
        return result
    if target.quarantine:  # the platform itself says the status is unenumerated
        return _unknown(machine, result)
    if current.quarantine:
        return _release(
            machine,
            result,
            target,
            parked_from=parked_from,
            timing=timing,
            force=force,
            remembered=remembered,
            said=said,
        )
    path = guarded_path(machine, current, target, said, remembered)
    one_step = path is not None and len(path) == 1
    if (
        timing == "unknown"
        and not one_step
        and comes_before(machine, target, current, said, remembered)
    ):
        note = f"{target} comes before {current} and no timestamp says otherwise"
        return replace(result, outcome="stale", note=note, refused=True)
    if path is not None:
        via: Via = "reconstructed" if len(path) > 1 else "snapshot"
        steps = steps_of(machine, path)
        return replace(result, outcome="advanced", after=target, steps=steps, via=via)
    table_path = shortest_path(machine, current, target, remembered)
    if table_path is not None:
        note = why_refused(machine, table_path, said, remembered)
        return replace(result, outcome="inconsistent", note=note, refused=True)
    note = f"{machine.name}: no path from {current} to {target}"
    if not force:
        return replace(result, outcome="illegal", note=note, refused=True)
    step = synthetic_step(current, target, "forced", f"forced by the caller: {note}")
    return replace(result, outcome="illegal", after=target, steps=(step,), via="forced", note=note)


def _release(
    machine: CompiledMachine,
    result: PartResult,
    target: State,
    *,
    parked_from: State | None,
    timing: Timing,
    force: bool,
    remembered: State | None,
    said: Said,
) -> PartResult:
    """Leave quarantine for ``target``, judged exactly as a direct change from the status
    the part held before it was parked would be: back to that status, or along a path
    from it, is a release (one step, ``via="release"``); anything else is refused as that
    change would be (stale, inconsistent, illegal), or forced with ``force``. Quarantine
    is a waiting room, never a way round the table. Without a known pre-park status (an
    order constructed in quarantine) any recognised status releases the part."""
    release = "a recognised status left quarantine"
    if parked_from is not None and not parked_from.quarantine:
        judged = decide(
            machine,
            parked_from,
            target.code,
            part=result.part,
            sub_order=result.sub_order,
            timing=timing,
            force=force,
            remembered=remembered,
            said=said,
        )
        release = f"{release}, judged from {parked_from}, held before quarantine"
        if judged.refused:
            note = f"{judged.note} (judged from {parked_from}, held before quarantine)"
            return replace(result, outcome=judged.outcome, note=note, refused=True)
        if judged.forced:
            step = synthetic_step(
                result.before, target, "forced", f"forced by the caller: {judged.note}"
            )
            return replace(
                result,
                outcome="illegal",
                after=target,
                steps=(step,),
                via="forced",
                note=judged.note,
            )
    step = synthetic_step(result.before, target, "release", release)
    return replace(result, outcome="advanced", after=target, steps=(step,), via="release")


def _unknown(machine: CompiledMachine, result: PartResult) -> PartResult:
    """An unknown status: the part waits in the quarantine state, or, where the machine
    has none or the part is final (a final status is never left, not even for
    quarantine), the snapshot is refused for it and nothing changes."""
    jail = quarantine_state(machine)
    current = result.before
    if jail is not None and current == jail:  # still waiting
        note = f"{machine.name}: unknown status {result.observed!r}; stays in {jail}"
        return replace(result, outcome="unknown_status", note=note)
    if jail is None or not may_park(machine, current):
        why = "the machine has no quarantine state" if jail is None else "it is final"
        note = f"{machine.name}: unknown status {result.observed!r}; kept {current} ({why})"
        return replace(result, outcome="unknown_status", note=note, refused=True)
    note = f"{machine.name}: unknown status {result.observed!r}; quarantined in {jail}"
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
    order_part = decide(
        main,
        held.status,
        observed,
        part="order",
        timing=timing,
        force=force,
        parked_from=held.parked.get(("order", None)),
    )
    if clash is not None:
        inconsistencies.append(clash)
        order_part = _mark_inconsistent(order_part)
    parts.append(order_part)
    # A refund's guards read the main order: its steps happened under one of the statuses
    # the main order passes through in this snapshot.
    parents = (order_part.before, *(step.target for step in order_part.steps))

    ids = Counter(s.sub_order_id for s in snapshot.sub_orders if s.sub_order_id is not None)
    unmatched = [s.path for s in snapshot.sub_orders if s.sub_order_id is None]
    reported: set[str] = set()
    for sub in snapshot.sub_orders:
        sid = sub.sub_order_id
        if sid is None or sid in reported:
            continue
        if ids[sid] > 1:
            reported.add(sid)
            parts.append(_repeated(sid, held.sub_statuses.get(sid, held.status), ids[sid]))
            continue
        # A refund's guards also read the sub-order's own status: the statuses it passes
        # through in this snapshot (its held one if the snapshot states none).
        own: tuple[State, ...] = (held.sub_statuses.get(sid, held.status),)
        if sub.status is not None:
            current = held.sub_statuses.get(sid, held.status)
            part = decide(
                main,
                current,
                sub.status,
                part="sub_order_status",
                sub_order=sid,
                timing=timing,
                force=force,
                parked_from=held.parked.get(("sub_order_status", sid)),
            )
            clash = _sub_status_clash(main, sub)
            if clash is not None:
                inconsistencies.append(clash)
                part = _mark_inconsistent(part)
            parts.append(_against_order(part, order_part))
            own = (part.before, *(step.target for step in part.steps))
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
                    said=Said({}, parents=parents, sub_orders=own),
                )
            )
    result = _combine(parts, inconsistencies, snapshot.modify_time)
    skipped = tuple(f"{path}: sub-order without an id: not applied" for path in unmatched)
    return replace(result, warnings=result.warnings + skipped)


def first_sight_taobao(
    snapshot: TaobaoSnapshot, main: CompiledMachine, refund: CompiledMachine
) -> HeldTaobao:
    """What an order first seen in ``snapshot`` holds, read as :func:`plan_taobao` reads
    it: the order's status (the code wins over its description), each sub-order's own
    status and refund status. A status the machine does not know is held in its
    quarantine status (a refund, whose machine has none, at its initial status: applying
    the snapshot then says ``unknown_status``); a sub-order without an id, or named twice,
    is not held (applying the snapshot says why). The clock is left to that apply."""
    _expect(snapshot, TaobaoSnapshot, "purchase_page' or 'status_callback")
    status = _first_status(main, _main_status(main, snapshot)[0], main.initial)
    ids = Counter(s.sub_order_id for s in snapshot.sub_orders)
    subs = [
        s for s in snapshot.sub_orders if s.sub_order_id is not None and ids[s.sub_order_id] == 1
    ]
    return HeldTaobao(
        status,
        {s.sub_order_id: _first_status(main, s.status, status) for s in subs},
        {s.sub_order_id: _first_status(refund, s.refund_status, refund.initial) for s in subs},
        None,
    )


def _first_status(machine: CompiledMachine, observed: object, absent: State) -> State:
    """The status ``observed`` names, the quarantine status for one the machine does not
    know (else ``absent``), or ``absent`` where nothing was observed."""
    if observed is None:
        return absent
    return _resolve(machine, observed) or quarantine_state(machine) or absent


def _repeated(sid: str, held: State, times: int) -> PartResult:
    """The part for a sub-order a snapshot names more than once: which one to believe is
    unknowable, so none is applied."""
    note = f"sub-order {sid!r} appears {times} times in one snapshot: not applied"
    return PartResult(
        "sub_order_status", sid, "inconsistent", held, held, None, note=note, refused=True
    )


def _against_order(part: PartResult, order: PartResult) -> PartResult:
    """Refuse a sub-order's status move when the snapshot's own order status was refused
    (stale, illegal or inconsistent): the sub-order would run against its order."""
    if not part.steps or not order.refused:
        return part
    note = (
        f"sub-order {part.sub_order!r} would move {part.before} -> {part.after} while the "
        f"snapshot's order status {order.observed!r} is {order.outcome} for the order in "
        f"{order.before}: not applied"
    )
    return replace(
        part,
        outcome="inconsistent",
        also=(part.outcome, *part.also),
        after=part.before,
        steps=(),
        via="snapshot",
        note=note,
        refused=True,
    )


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
    warnings = [
        p.note
        for p in parts
        if p.outcome in ("unknown_status", "illegal") or (p.outcome == "inconsistent" and p.note)
    ]
    warnings += [
        f"{i.code_field}={i.code!r} disagrees with {i.text_field}={i.text!r}"
        + (f" (sub-order {i.sub_order!r})" if i.sub_order is not None else "")
        + f"; {i.winner} wins"
        for i in inconsistencies
    ]
    return ApplyResult(
        changed=any(p.steps for p in parts),
        outcome=ranked[0],
        also=tuple(ranked[1:]),
        parts=tuple(parts),
        inconsistencies=tuple(inconsistencies),
        warnings=tuple(warnings),
        observed_at=observed_at,
    )


def log_outcome(result: ApplyResult) -> None:
    """Log what ``result`` means, once per snapshot, on the ``orderfsm.ingest`` logger.

    WARNING only for what needs a person: an unknown status (quarantine included), an
    inconsistent snapshot, or a field the snapshot could not use (a sub-order without an
    id, a ``pay_step`` the table does not list); INFO for an illegal step (routine while
    the platform lags behind a local action, see ``docs/webhooks.md``); DEBUG for
    everything else (advanced, duplicate, stale). One record per snapshot, however many
    sub-orders say the same thing: the repeated notes are shown once each. The record
    carries the result as ``record.apply_result``.
    """
    illegal = {p.note for p in result.parts if p.outcome == "illegal"}
    person = [w for w in result.warnings if w not in illegal]
    level = logging.WARNING if person else logging.INFO if result.warnings else logging.DEBUG
    if not _log.isEnabledFor(level):
        return
    notes = "; ".join(dict.fromkeys(result.warnings))
    _log.log(
        level,
        "snapshot %s%s",
        result.outcome,
        f": {notes}" if notes else "",
        extra={"apply_result": result},
    )


# ----------------------------------------------------------------------------- ICBU


def plan_icbu(
    status: State,
    snapshot: IcbuSnapshot,
    machine: CompiledMachine,
    *,
    remembered: State | None = None,
    force: bool = False,
    variables: Mapping[str, str] | None = None,
) -> ApplyResult:
    """Decide an ICBU snapshot against the held ``status`` and ``variables`` (``pay_step``).

    ``alibaba.seller.order.get`` carries no modification time, so staleness is judged by
    the progress order alone. The ``icbu_trade`` table has no quarantine status, so an
    unknown ``trade_status`` leaves the order where it is (outcome ``unknown_status``).
    The snapshot's ``pay_step`` is part of what it observes: a path is taken only if its
    guards pass with the ``pay_step`` held and it ends with the ``pay_step`` the snapshot
    states, which only an edge that sets it (``request_balance``) can change; otherwise
    the outcome is ``inconsistent``, naming the guard. ``ApplyResult.variables`` is the
    extended state after the steps, when they changed it. A ``pay_step`` the table does
    not list is ignored with a warning.
    """
    _expect(snapshot, IcbuSnapshot, "icbu_order")
    held = machine.variables(variables)
    wanted, warnings = stated_variables(machine, snapshot)
    said = Said(held, wanted)
    part = decide(
        machine,
        status,
        snapshot.trade_status,
        part="order",
        force=force,
        remembered=remembered,
        said=said,
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
    after = dict(held)
    for step in part.steps:
        after = step.transition.apply(after)
    if wanted is not None and not said.reached(after) and part.outcome != "inconsistent":
        shown = ", ".join(f"{k} {v!r}" for k, v in sorted(wanted.items()))
        warnings.append(f"{shown} ignored: the snapshot is {part.outcome}")
    changed = tuple((k, v) for k, v in sorted(after.items()) if held.get(k) != v)
    return replace(result, warnings=(*result.warnings, *warnings), variables=changed)


def stated_variables(
    machine: CompiledMachine, snapshot: IcbuSnapshot
) -> tuple[dict[str, str] | None, list[str]]:
    """The variables the snapshot states (``pay_step``), and a warning for a value the
    table does not list (that value is then treated as not stated)."""
    if snapshot.pay_step is None:
        return None, []
    try:
        machine.variables({"pay_step": snapshot.pay_step})
    except InvalidOrderState as e:
        return None, [f"pay_step ignored: {e}"]
    return {"pay_step": snapshot.pay_step}, []
