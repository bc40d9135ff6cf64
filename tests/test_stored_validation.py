"""from_dict accepts a stored dict exactly when the library could have produced it (9.8).

Every ``to_dict`` output round-trips (random walks with ``force`` over every order type);
dicts the library could not have written are refused naming the field.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import IcbuSnapshot, SubOrderSnapshot, TaobaoSnapshot
from support import format_1, history_rows, with_history_rows

MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")
ICBU = orderfsm.load("icbu_trade")
KA = orderfsm.load("ka_pool_order")
SUB_IDS = ("s1", "s2", 7)


def round_trips(order: Any) -> None:
    data = order.to_dict()
    again = type(order).from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data


# ----------------------------------------------------------------------------- random walks

main_values = st.sampled_from([*(s.code for s in MAIN.states), "NOPE"])
sub_snapshots = st.builds(
    SubOrderSnapshot,
    sub_order_id=st.sampled_from(["s1", "s2", "s3"]),
    status=st.none() | st.sampled_from([*(str(s.raw) for s in MAIN.states), "NOPE"]),
    refund_status=st.none() | st.sampled_from([*(int(s.code) for s in REFUND.states), 55]),
    refund_id=st.none(),
    detail_status=st.none(),
    path=st.just("$"),
)
taobao_snapshots = st.builds(
    TaobaoSnapshot,
    kind=st.just("status_callback"),
    order_id=st.just("1"),
    status_code=st.none() | st.sampled_from([int(s.code) for s in MAIN.states]),
    status_text=st.none() | st.sampled_from([str(s.raw) for s in MAIN.states]),
    modify_time=st.none() | st.integers(0, 20),
    sub_orders=st.lists(sub_snapshots, max_size=3).map(tuple),
    path=st.just("$"),
)
taobao_steps = st.one_of(
    st.tuples(st.just("main"), st.sampled_from(MAIN.event_names)),
    st.tuples(st.just("refund"), st.sampled_from(REFUND.event_names), st.sampled_from(SUB_IDS)),
    st.tuples(st.just("apply"), taobao_snapshots, st.booleans()),
)


def taobao_walk(start: Any, steps: list[tuple[Any, ...]]) -> orderfsm.TaobaoOrder:
    order = orderfsm.TaobaoOrder(None if start == "NOPE" else start, {"s1": None, 7: 10})
    for step in steps:
        if step[0] == "apply":
            order.apply(step[1], force=step[2])
            continue
        with contextlib.suppress(orderfsm.TransitionRejected, orderfsm.UnknownSubOrder):
            order.trigger(step[1], sub_order=step[2] if step[0] == "refund" else None)
    return order


@given(start=main_values, steps=st.lists(taobao_steps, max_size=15))
def test_every_taobao_walk_round_trips(start: Any, steps: list[tuple[Any, ...]]) -> None:
    round_trips(taobao_walk(start, steps))


icbu_snapshots = st.builds(
    IcbuSnapshot,
    order_id=st.just("1"),
    trade_status=st.sampled_from([*(str(s.code) for s in ICBU.states), "nope"]),
    pay_step=st.none() | st.sampled_from(["ADVANCE", "BALANCE", "FULL", "LATER"]),
    status_action=st.none(),
    actions=st.just(()),
    path=st.just("$"),
)
icbu_steps = st.one_of(
    st.tuples(st.just("trigger"), st.sampled_from(ICBU.event_names)),
    st.tuples(st.just("apply"), icbu_snapshots, st.booleans()),
)


@given(
    start=st.sampled_from([s.code for s in ICBU.states if s.name not in ICBU.history_states]),
    pay_step=st.sampled_from(["ADVANCE", "BALANCE", "FULL"]),
    steps=st.lists(icbu_steps, max_size=15),
)
def test_every_icbu_walk_round_trips(start: Any, pay_step: str, steps: list[Any]) -> None:
    round_trips(icbu_walk(start, pay_step, steps))


def icbu_walk(start: Any, pay_step: str, steps: list[Any]) -> orderfsm.IcbuOrder:
    order = orderfsm.IcbuOrder(start, pay_step=pay_step)
    for step in steps:
        if step[0] == "apply":
            order.apply(step[1], force=step[2])
            continue
        with contextlib.suppress(orderfsm.TransitionRejected):
            order.trigger(step[1])
    return order


ka_steps = st.tuples(
    st.sampled_from(KA.event_names),
    st.sampled_from([None, ("o1", None), ("o1", "a"), ("o2", "c"), (9, 9)]),
)


@given(steps=st.lists(ka_steps, max_size=15))
def test_every_ka_walk_round_trips(steps: list[Any]) -> None:
    round_trips(ka_walk(steps))


def ka_walk(steps: list[Any]) -> orderfsm.KaTrade:
    trade = orderfsm.KaTrade({"o1": ["a", "b"], "o2": ["c"], 9: [9]})
    for event, address in steps:
        order, sub = address or (None, None)
        with contextlib.suppress(orderfsm.TransitionRejected):
            trade.trigger(event, order=order, sub_order=sub)
    return trade


# ----------------------------------------------------------------------------- refusals


def busy_taobao() -> orderfsm.TaobaoOrder:
    # s1's goods have shipped ahead of the order's other sub-orders: it may apply for a
    # refund while the main order still awaits shipment.
    order = orderfsm.TaobaoOrder(sub_orders=["s1"], sub_order_statuses={"s1": 11})
    for event in ("creation_complete", "upload_payment_proof", "finance_approve"):
        order.trigger(event)
    order.trigger("payment_complete")
    order.trigger("apply_refund", sub_order="s1")
    return order


def refused(order_type: Any, data: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        order_type.from_dict(data)
    assert e.value.path == path
    assert words in e.value.problem


def test_version_0_with_history_is_refused() -> None:
    data = busy_taobao().to_dict() | {"version": 0}
    refused(orderfsm.TaobaoOrder, data, "$.version", "at least 5 changes")


def test_a_status_the_history_does_not_lead_to_is_refused() -> None:
    data = busy_taobao().to_dict() | {"status": 11}
    refused(orderfsm.TaobaoOrder, data, "$.history", "stored status is WAIT_BUYER_CONFIRM")


@pytest.mark.parametrize("stored_format", ["/1", "/2"])
def test_reversed_duplicated_or_cut_history_is_refused(stored_format: str) -> None:
    data = busy_taobao().to_dict()
    rows = history_rows(data)

    def edited(rows: list[dict[str, Any]]) -> dict[str, Any]:
        new = with_history_rows(data, rows)
        return format_1(new) if stored_format == "/1" else new

    def src(i: int) -> str:
        return f"$.history[{i}].src" if stored_format == "/1" else f"$.history.src[{i}]"

    refused(orderfsm.TaobaoOrder, edited(rows[::-1]), src(2), "does not continue")
    refused(orderfsm.TaobaoOrder, edited([rows[0], *rows]), src(1), "does not continue")
    refused(orderfsm.TaobaoOrder, edited(rows[:1] + rows[2:]), src(1), "does not continue")


def test_emptied_history_is_refused_where_every_change_leaves_a_step() -> None:
    order = orderfsm.IcbuOrder()
    order.trigger("draft_order")
    for data in (order.to_dict(), format_1(order.to_dict())):
        refused(orderfsm.IcbuOrder, emptied(data), "$.version", "at most 0")
    trade = orderfsm.KaTrade({"o": ["a"]})
    trade.trigger("auto_deduct")
    for data in (trade.to_dict(), format_1(trade.to_dict())):
        refused(orderfsm.KaTrade, emptied(data), "$.version", "at most 0")


def emptied(data: dict[str, Any]) -> dict[str, Any]:
    if data["format"].endswith("/1"):
        return data | {"history": []}
    return with_history_rows(data, [])


def test_ids_7_and_the_string_7_side_by_side_are_refused() -> None:
    data = orderfsm.TaobaoOrder(sub_orders=["7"]).to_dict()
    data["sub_orders"].append(dict(data["sub_orders"][0], id=7))
    refused(orderfsm.TaobaoOrder, data, "$.sub_orders[1].id", "ambiguous beside '7'")
    trade = orderfsm.KaTrade({"o": ["7"]}).to_dict()
    trade["orders"][0]["sub_orders"].append(dict(trade["orders"][0]["sub_orders"][0], id=7))
    refused(orderfsm.KaTrade, trade, "$.orders[0].sub_orders[1].id", "ambiguous")
    with pytest.raises(orderfsm.OrderFsmError, match="cannot be told apart"):
        orderfsm.TaobaoOrder(sub_orders=[7, "7"]).to_dict()


def test_forced_steps_must_be_jumps_the_library_forces() -> None:
    order = orderfsm.TaobaoOrder(status="CANCEL")
    snapshot = TaobaoSnapshot("status_callback", "1", 10, None, None, (), "$")
    assert order.apply(snapshot, force=True).part("order").forced  # 4 -> 10: no path
    data = order.to_dict()
    assert data["history"]["via"] == ["forced"]
    round_trips(order)
    for stored in (data, format_1(data)):
        jump = with_history_rows(data, [history_rows(data)[0] | {"src": 12}])
        # 12 -> 10 has a table path: never forced
        refused(orderfsm.TaobaoOrder, same_format(jump, stored), "$.history[0]", "table has a path")
        jail = with_history_rows(data, [history_rows(data)[0] | {"via": "quarantine"}])
        refused(orderfsm.TaobaoOrder, same_format(jail, stored), "$.history[0]", "must enter OTHER")


def same_format(data: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """``data`` (format ``/2``) in the format of ``like``."""
    return format_1(data) if like["format"].endswith("/1") else data


def test_an_icbu_order_forced_into_frozen_restores_from_its_own_dict() -> None:
    order = orderfsm.IcbuOrder("trade_success")
    result = order.apply(IcbuSnapshot("1", "frozen", None, None, (), "$"), force=True)
    assert result.part("order").forced and order.status.name == "frozen"
    round_trips(order)
    data = order.to_dict()
    assert data["frozen_from"] == "trade_success"
    refused(
        orderfsm.IcbuOrder,
        data | {"frozen_from": "paid"},
        "$.frozen_from",
        "remembers trade_success",
    )


def test_stored_dicts_of_format_1_written_before_still_read() -> None:
    """A dict as the previous release wrote it (format /1, sub-order starting at 12)."""
    data = {
        "format": "orderfsm.taobao_order/1",
        "version": 2,
        "observed_at": 2000,
        "status": 10,
        "sub_orders": [{"id": "s1", "status": 10, "refund_status": 0}],
        "history": [
            {"sub_order": None, "part": "order", "src": 12, "dst": 0, "event": "creation_complete", "via": "trigger"},
            {"sub_order": None, "part": "order", "src": 0, "dst": 1, "event": "upload_payment_proof", "via": "reconstructed"},
            {"sub_order": None, "part": "order", "src": 1, "dst": 5, "event": "finance_approve_and_pay", "via": "reconstructed"},
            {"sub_order": None, "part": "order", "src": 5, "dst": 10, "event": "payment_complete", "via": "reconstructed"},
            {"sub_order": "s1", "part": "sub_order_status", "src": 12, "dst": 0, "event": "creation_complete", "via": "reconstructed"},
            {"sub_order": "s1", "part": "sub_order_status", "src": 0, "dst": 1, "event": "upload_payment_proof", "via": "reconstructed"},
            {"sub_order": "s1", "part": "sub_order_status", "src": 1, "dst": 5, "event": "finance_approve_and_pay", "via": "reconstructed"},
            {"sub_order": "s1", "part": "sub_order_status", "src": 5, "dst": 10, "event": "payment_complete", "via": "reconstructed"},
        ],
    }  # fmt: skip
    again = orderfsm.TaobaoOrder.from_dict(data)
    assert again.to_dict()["format"] == "orderfsm.taobao_order/2"
    assert format_1(again.to_dict()) == data
    assert orderfsm.TaobaoOrder.from_dict(again.to_dict()).to_dict() == again.to_dict()


# ----------------------------------------------------------------------------- the quick path
#
# from_dict checks a history written as to_dict writes it by C-level passes and decodes
# it on first read; anything else goes entry by entry. Both must decide the same.

CELL_VALUES = st.sampled_from(
    [
        *{s.code for s in (*MAIN.states, *REFUND.states, *ICBU.states, *KA.states)},
        *{*MAIN.event_names, *REFUND.event_names, *ICBU.event_names, *KA.event_names},
        *("trigger", "snapshot", "reconstructed", "forced", "quarantine", "release"),
        *("order", "sub_order_status", "refund", "s1", "s2", "7", "o1", "a", 9),
        *(None, True, False, 1.0, 10.0, "10", [], {}, [1], {"a": 1}),
    ]
)


def respellings(value: Any) -> st.SearchStrategy[Any]:
    """Values equal to ``value`` (or naming the same status) in another type."""
    if isinstance(value, int) and not isinstance(value, bool):
        return st.sampled_from(
            [float(value), str(value), *([bool(value)] if value in (0, 1) else [])]
        )
    return st.just(value)


def decide(order_type: Any, data: dict[str, Any]) -> tuple[str, Any]:
    """What ``from_dict`` makes of ``data``: the refusal's path and problem, or the
    order's stored form (as JSON: ``True == 1`` in Python, not in JSON) and history."""
    try:
        order = order_type.from_dict(copy.deepcopy(data))
    except orderfsm.PayloadError as e:
        return "refused", (e.path, e.problem)
    return "accepted", (json.dumps(order.to_dict()), order.history)


def entry_by_entry(order_type: Any, data: dict[str, Any]) -> tuple[str, Any]:
    with mock.patch.object(order_type, "_quick", lambda *_, **__: False):
        return decide(order_type, data)


def walked_orders() -> st.SearchStrategy[Any]:
    """Orders of every type after a random walk with ``force`` (at least one step)."""
    return st.one_of(
        st.builds(taobao_walk, main_values, st.lists(taobao_steps, min_size=1, max_size=12)),
        st.builds(
            icbu_walk,
            st.just("intention_processing"),
            st.sampled_from(["ADVANCE", "FULL"]),
            st.lists(icbu_steps, max_size=12),
        ),
        st.builds(ka_walk, st.lists(ka_steps, min_size=1, max_size=12)),
    )


@given(order=walked_orders(), data=st.data())
def test_a_corrupted_history_cell_is_decided_as_entry_by_entry(order: Any, data: Any) -> None:
    """Any single history cell replaced: the quick path refuses exactly what the
    entry-by-entry path refuses (same field path and problem), accepts the rest to an
    equal order with an equal decoded history; an untouched dict round-trips both ways."""
    stored = order.to_dict()
    assert decide(type(order), stored) == entry_by_entry(type(order), stored)
    assert decide(type(order), stored)[1][0] == json.dumps(stored)
    old = format_1(stored)
    assert decide(type(order), old) == entry_by_entry(type(order), old)
    assert decide(type(order), old)[1][0] == json.dumps(stored)  # read /1, written /2
    rows = history_rows(stored)
    if not rows:
        return
    entry = data.draw(st.integers(0, len(rows) - 1), label="entry")
    key = data.draw(st.sampled_from(sorted(rows[entry])), label="column")
    value = data.draw(CELL_VALUES | respellings(rows[entry][key]), label="value")
    corrupted = copy.deepcopy(stored)
    corrupted["history"][key][entry] = value
    if data.draw(st.booleans(), label="as format /1"):
        corrupted = format_1(corrupted)
    outcome = decide(type(order), corrupted)
    assert outcome == entry_by_entry(type(order), corrupted)
    if outcome[0] == "refused":
        path = outcome[1][0]
        assert path.startswith("$.history") or path in ("$.version", "$.frozen_from"), path


def test_a_restored_history_is_decoded_only_when_read() -> None:
    """from_dict leaves a checked history of steps that need no context undecoded; new
    steps follow it in order."""
    order = orderfsm.TaobaoOrder(sub_orders=["s1"])
    for event in ("creation_complete", "upload_payment_proof", "finance_approve"):
        order.trigger(event)
    again = orderfsm.TaobaoOrder.from_dict(order.to_dict())
    assert again._stored and not again._history  # checked, not yet decoded
    again.trigger("payment_complete")
    assert again.history == (*order.history, again.history[-1])
    assert not again._stored


def test_dicts_written_before_the_order_core_round_trip_byte_for_byte() -> None:
    """Format /2 output is unchanged for the orders the library produced before the one
    order core (tests/fixtures/README.md says how the dicts were made)."""
    fixture = Path(__file__).parent / "fixtures" / "stored_before_order_core.jsonl"
    types = {t.FORMAT: t for t in (orderfsm.TaobaoOrder, orderfsm.IcbuOrder, orderfsm.KaTrade)}
    lines = fixture.read_text("utf-8").splitlines()
    assert len(lines) == 117
    for line in lines:
        data = json.loads(line)
        assert json.dumps(types[data["format"]].from_dict(data).to_dict()) == line


# ----------------------------------------------------------------------------- the plain read

FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 20),
    st.just(2**64),
    st.floats(0, 12).map(float),
    st.text(max_size=3),
    st.sampled_from(
        [
            *(s.name for s in MAIN.states),
            *(str(s.raw) for s in MAIN.states if s.raw),
            *(s.name for s in ICBU.states),
            "orderfsm.taobao_order/1",
            "orderfsm.icbu_trade/2",
            "\ud800",
            [],
            {},
            [{}],
            ["s1"],
        ]
    ),
)
_GONE = object()


def field_paths(stored: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every field of a stored dict but the history's cells (their own test covers them),
    including those of each sub-order (Taobao) or order and sub-order (KA)."""
    paths: list[tuple[Any, ...]] = [(key,) for key in stored] + [("requests",), ("pending",)]
    for i, sub in enumerate(stored.get("sub_orders", [])):
        paths += [("sub_orders", i, key) for key in sub]
    for i, order in enumerate(stored.get("orders", [])):
        paths += [("orders", i, key) for key in order]
        paths += [
            ("orders", i, "sub_orders", j, key)
            for j, sub in enumerate(order["sub_orders"])
            for key in sub
        ]
    return paths


def checked_only(order_type: Any, data: dict[str, Any]) -> tuple[str, Any]:
    """What ``from_dict`` makes of ``data`` with every field read by the checked read."""
    with mock.patch.object(order_type, "_read_plain", lambda *_: None):
        return decide(order_type, data)


@given(order=walked_orders(), data=st.data())
def test_the_plain_read_decides_every_stored_dict_as_the_checked_read(
    order: Any, data: Any
) -> None:
    """from_dict reads a dict written as to_dict writes it with type checks only (issue
    22) and hands anything else to the checked read: for any one field replaced by any
    value (another type, another spelling of a status, an id repeated, the field
    missing), both accept to an equal order with an equal history, or refuse naming the
    same field and problem; on every order class."""
    stored = order.to_dict()
    assert decide(type(order), stored) == checked_only(type(order), stored)
    path = data.draw(st.sampled_from(field_paths(stored)), label="field")
    corrupted = copy.deepcopy(stored)
    target = corrupted
    for key in path[:-1]:
        target = target[key]
    current = target.get(path[-1], _GONE)
    value = data.draw(
        st.just(_GONE) | FIELD_VALUES | respellings(current) | st.sampled_from(SUB_IDS),
        label="value",
    )
    if value is _GONE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    assert decide(type(order), corrupted) == checked_only(type(order), corrupted)


def test_the_plain_read_is_taken_for_what_to_dict_writes() -> None:
    """The test above compares two ways only if the plain one is taken: it is, for a
    Taobao order's own dict, and gives what the checked read gives."""
    order = busy_taobao()
    data = order.to_dict()
    plain = order._read_plain(data)
    assert plain is not None
    version, columnar, held, _ = plain
    checked = orderfsm.TaobaoOrder.from_dict(data)._read(orderfsm.orders.stored.Field(data, "$"))
    assert (version, columnar, held) == (data["version"], True, checked)
    assert order._read_plain(data | {"status": True}) is None  # True is not the code 1
