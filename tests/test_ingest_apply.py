"""TaobaoOrder.apply: the six outcomes, built from the documents' payload examples."""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import SEVERITY, TaobaoSnapshot, parse

PAYLOADS = resources.files("orderfsm") / "data" / "payloads"
MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")


def snapshots(name: str, kind: str = "purchase_page") -> list[TaobaoSnapshot]:
    out = []
    for s in parse((PAYLOADS / name).read_bytes(), kind):
        assert isinstance(s, TaobaoSnapshot)
        out.append(s)
    return out


def callback(status: object, modify_time: int | None, **subs: object) -> TaobaoSnapshot:
    """The 003 callback example with its placeholder values replaced."""
    body: dict[str, Any] = json.loads((PAYLOADS / "003_status_callback.json").read_bytes())
    order = body["messageBody"][0]
    order["status"] = status
    order["purchase_id"] = 200058578338
    if modify_time is None:
        del order["modify_time"]
    else:
        order["modify_time"] = modify_time
    template = order["sub_purchase_orders"][0]
    order["sub_purchase_orders"] = [
        {**template, "sub_purchase_order_id": sid, "status": st} for sid, st in subs.items()
    ]
    (snap,) = parse(body, "status_callback")
    assert isinstance(snap, TaobaoSnapshot)
    return snap


def explained(order: orderfsm.TaobaoOrder, start: int | str | None = None) -> bool:
    """Whether replaying the order's history from its start reproduces every status.

    A sub-order's own status starts at a status its order held (the one when it was added).
    """
    status = MAIN.status(start) if start is not None else MAIN.initial
    passed = {status}
    subs: dict[object, Any] = {}
    refunds: dict[object, Any] = {}
    for change in order.history:
        step = change.step
        if change.sub_order is None:
            held = status
        elif change.sub_order_status:
            first = change.sub_order not in subs and step.source in passed
            held = step.source if first else subs.get(change.sub_order)
        else:
            held = refunds.get(change.sub_order, REFUND.initial)
        if step.source != held:
            return False
        machine = REFUND if change.sub_order is not None and not change.sub_order_status else MAIN
        if change.via in ("trigger", "snapshot", "reconstructed") and step.transition not in (
            machine.edges
        ):
            return False
        if change.sub_order is None:
            status = step.target
            passed.add(status)
        elif change.sub_order_status:
            subs[change.sub_order] = step.target
        else:
            refunds[change.sub_order] = step.target
    return (
        status == order.status
        and all(order.sub_order_status(k) == v for k, v in subs.items())
        and all(order.refund_status(k) == v for k, v in refunds.items())
    )


# ----------------------------------------------------------------------------- advanced


def test_advanced_with_reconstructed_steps_from_the_000_example() -> None:
    order = orderfsm.TaobaoOrder()
    (snap,) = snapshots("000_api_response_example.json")
    result = order.apply(snap)
    assert result.outcome == "advanced"
    main = result.part("order")
    assert main.reconstructed
    assert [s.code for s in main.passed_through] == [0, 1, 2]
    assert [s.event for s in main.steps] == [
        "creation_complete",
        "upload_payment_proof",
        "finance_approve",
        "payment_complete",
    ]
    assert order.status.code == 10
    # per sub-order: 1001 stays without refund, 1002 has applied for one
    assert order.refund_status("1001").code == 0
    assert order.refund_status("1002").code == 10
    assert order.sub_order_status("1002").code == 11
    assert result.part("refund", "1001").outcome == "duplicate"
    assert result.part("refund", "1002").outcome == "advanced"
    assert not result.part("refund", "1002").reconstructed
    assert result.version == order.version == 1
    assert explained(order)


def test_one_documented_step_is_advanced_without_reconstruction() -> None:
    order = orderfsm.TaobaoOrder(status=0)
    result = order.apply(callback("ORDER_PAY_STATUS", 100))
    assert result.outcome == "advanced"
    assert not result.part("order").reconstructed
    assert [c.via for c in order.history] == ["snapshot"]
    assert order.status.code == 1


# ----------------------------------------------------------------------------- duplicate


def test_duplicate_is_an_idempotent_no_op() -> None:
    order = orderfsm.TaobaoOrder()
    (snap,) = snapshots("000_api_response_example.json")
    order.apply(snap)
    before = order.to_dict()
    again = order.apply(snap)
    assert again.outcome == "duplicate"
    assert again.also == ()
    assert not again.changed
    assert order.to_dict() == before


# ----------------------------------------------------------------------------- stale


def test_stale_by_modify_time_changes_nothing() -> None:
    order = orderfsm.TaobaoOrder(status=0)
    order.apply(callback("WAIT_SELLER_SEND_GOODS", 2000))
    before = order.to_dict()
    result = order.apply(callback("ORDER_PAY_STATUS", 1000))
    assert result.outcome == "stale"
    assert not result.changed
    assert order.to_dict() == before
    assert order.observed_at == 2000


def test_stale_without_timestamps_when_the_order_has_passed_the_status() -> None:
    order = orderfsm.TaobaoOrder(status=11)
    (snap,) = snapshots("000_api_response_example.json")  # main status 10, no modify_time
    result = order.apply(snap)
    assert result.part("order").outcome == "stale"
    assert order.status.code == 11


def test_without_timestamps_going_around_a_cycle_is_taken_as_stale() -> None:
    order = orderfsm.TaobaoOrder(status=1)
    result = order.apply(callback("WAIT_BUYER_P", None))  # forward would be 1 -> 3 -> 0
    assert result.outcome == "stale"
    assert order.status.code == 1


def test_a_newer_timestamp_is_not_stale_even_for_an_earlier_status() -> None:
    order = orderfsm.TaobaoOrder(status=1)
    order.apply(callback("ORDER_PAY_STATUS", 10))
    result = order.apply(callback("WAIT_BUYER_P", 20))  # 1 -> 3 -> 0: a refusal
    assert result.outcome == "advanced"
    assert [s.code for s in result.part("order").passed_through] == [3]


# ----------------------------------------------------------------------------- illegal


def test_illegal_changes_nothing_and_force_is_recorded() -> None:
    order = orderfsm.TaobaoOrder(status=4)  # CANCEL is final
    before = order.to_dict()
    result = order.apply(callback("WAIT_SELLER_SEND_GOODS", 5))
    assert result.outcome == "illegal"
    assert not result.changed
    assert order.to_dict() | {"observed_at": None} == before
    assert any("no path" in w for w in result.warnings)

    forced = order.apply(callback("WAIT_SELLER_SEND_GOODS", 5), force=True)
    assert forced.outcome == "illegal"
    assert forced.part("order").forced
    assert order.status.code == 10
    (change,) = order.history
    assert change.via == "forced"
    assert change.step.transition.provenance.kind == "inferred"
    assert explained(order, start=4)


def test_illegal_refund_on_one_sub_order_leaves_its_sibling_advancing() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"1001": 0, "1002": 100})
    body = json.loads((PAYLOADS / "000_api_response_example.json").read_bytes())
    subs = body["data"]["data"][0]["subOrderVOS"]
    subs[0]["refundStatus"] = 10
    subs[1]["refundStatus"] = -10  # REFUND_SUCCESSFUL(100) is final; -10 does not lead to it
    (snap,) = parse(body, "purchase_page")
    assert isinstance(snap, TaobaoSnapshot)
    result = order.apply(snap)
    assert result.part("refund", "1001").outcome == "advanced"
    assert result.part("refund", "1002").outcome == "illegal"
    assert result.outcome == "illegal"
    assert "advanced" in result.also
    assert order.refund_status("1001").code == 10
    assert order.refund_status("1002").code == 100
    assert explained(order, start=11)


def test_an_earlier_refund_status_without_timestamps_is_stale() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"1002": 100})
    (snap,) = snapshots("000_api_response_example.json")  # 1002: refundStatus 10
    assert order.apply(snap).part("refund", "1002").outcome == "stale"
    assert order.refund_status("1002").code == 100


# ----------------------------------------------------------------------------- inconsistent


def test_inconsistent_001_example_code_wins_and_is_reported() -> None:
    order = orderfsm.TaobaoOrder()
    first, _ = snapshots("001_purchase_page_response.json")
    result = order.apply(first)
    assert result.outcome == "inconsistent"
    assert "advanced" in result.also
    (clash,) = result.inconsistencies
    assert (clash.code_field, clash.code, clash.text_field, clash.text, clash.winner) == (
        "status",
        5,
        "orderStatusDesc",
        "WAIT_BUYER_P",
        "status",
    )
    assert order.status.name == "WAIT_FINANCE_PAY"
    assert order.sub_order_status("200058578339").raw == "WAIT_BUYER_P"
    assert any("status wins" in w for w in result.warnings)
    assert explained(order)


def test_sub_order_status_clash_with_sub_order_result() -> None:
    body = json.loads((PAYLOADS / "001_purchase_page_response.json").read_bytes())
    sub = body["data"]["data"][0]["subOrderVOS"][0]
    sub["subOrderStatus"] = "WAIT_SELLER_SEND_GOODS"
    snap = parse(body, "purchase_page")[0]
    assert isinstance(snap, TaobaoSnapshot)
    result = orderfsm.TaobaoOrder().apply(snap)
    part = result.part("sub_order_status", "200058578339")
    assert part.outcome == "inconsistent"
    assert part.after.code == 10
    assert {i.sub_order for i in result.inconsistencies} == {None, "200058578339"}


# ----------------------------------------------------------------------------- unknown


def test_unknown_status_003_is_quarantined_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    order = orderfsm.TaobaoOrder(status=10)
    (snap,) = snapshots("003_status_callback.json", "status_callback")
    with caplog.at_level(logging.WARNING, logger="orderfsm.ingest"):
        result = order.apply(snap)
    assert result.outcome == "unknown_status"
    assert order.status.name == "OTHER_STATUS"
    assert order.sub_order_status("string").name == "OTHER_STATUS"
    assert any("unknown status 'string'" in r.getMessage() for r in caplog.records)
    # a recognised status later releases the order from quarantine in one step
    released = order.apply(callback("WAIT_BUYER_CONFIRM_GOODS", 1))
    assert released.outcome == "advanced"
    assert released.part("order").via == "release"
    assert order.status.code == 11
    assert explained(order, start=10)


def test_unknown_refund_code_keeps_the_refund_and_warns() -> None:
    body = json.loads((PAYLOADS / "000_api_response_example.json").read_bytes())
    body["data"]["data"][0]["subOrderVOS"][0]["refundStatus"] = 55
    (snap,) = parse(body, "purchase_page")
    assert isinstance(snap, TaobaoSnapshot)
    order = orderfsm.TaobaoOrder()
    result = order.apply(snap)
    assert result.outcome == "unknown_status"
    assert result.part("refund", "1001").outcome == "unknown_status"
    assert order.refund_status("1001").code == 0
    assert order.status.code == 10  # the rest of the snapshot still applies


def test_sub_orders_without_an_id_are_reported_not_applied() -> None:
    body = json.loads((PAYLOADS / "000_customer_fields.json").read_bytes()) | {"purchaseId": 7}
    (snap,) = parse(body, "purchase_page")
    order = orderfsm.TaobaoOrder()
    result = order.apply(snap)
    assert order.sub_orders == {}
    assert any("without an id" in w for w in result.warnings)


# ----------------------------------------------------------------------------- properties


@given(
    held=st.sampled_from(MAIN.states),
    seen=st.sampled_from(MAIN.states),
    force=st.booleans(),
    timed=st.booleans(),
)
def test_every_pair_of_main_statuses_gets_a_sound_outcome(
    held: Any, seen: Any, force: bool, timed: bool
) -> None:
    order = orderfsm.TaobaoOrder(status=held)
    before = order.to_dict()
    result = order.apply(callback(seen.raw, 10 if timed else None), force=force)
    part = result.part("order")
    assert result.outcome == part.outcome
    assert result.outcome in SEVERITY
    if part.refused:
        assert order.to_dict() == before  # a refused snapshot changes nothing, not the clock
    elif part.outcome == "duplicate":  # only the clock moves, and the version with it
        moved = {"observed_at": 10, "version": 1} if timed else {}
        assert order.to_dict() == before | moved
    else:
        assert order.status == seen or (seen.quarantine is False and order.status.quarantine)
    if part.outcome == "advanced" and part.via in ("snapshot", "reconstructed"):
        assert MAIN.has_edge(held, part.steps[0].target)
        assert len(part.steps) == len(part.passed_through) + 1
    assert explained(order, start=held.code)


# The order's true life (scenarios 1 and 2 of 000): finance refuses once, then it goes through.
TRUE_LIFE = ["WAIT_BUYER_P", "ORDER_PAY_STATUS", "ORDER_FINANCE_REFUSE_STATUS", "WAIT_BUYER_P",
             "ORDER_PAY_STATUS", "ORDER_FINANCE_PASS_STATUS", "WAIT_FINANCE_PAY",
             "WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_CONFIRM_GOODS"]  # fmt: skip


@given(
    delivered=st.lists(st.integers(0, len(TRUE_LIFE) - 1), min_size=1, max_size=20),
)
def test_callbacks_in_any_order_with_repeats_converge_on_the_newest(delivered: list[int]) -> None:
    """Out-of-order, duplicated and missing callbacks: the order ends at the newest one seen,
    never moves backwards, and its history stays explained."""
    order = orderfsm.TaobaoOrder()
    newest = -1
    for i in delivered:
        result = order.apply(callback(TRUE_LIFE[i], 1000 + i))
        if i < newest:
            assert result.outcome == "stale"
        newest = max(newest, i)
        assert order.status == MAIN.status(TRUE_LIFE[newest])
    assert explained(order)


def test_a_snapshot_of_the_wrong_platform_is_an_orderfsm_error() -> None:
    (icbu,) = parse((PAYLOADS / "002_order_get_response.xml").read_bytes(), "icbu_order")
    order = orderfsm.TaobaoOrder()
    with pytest.raises(orderfsm.OrderFsmError, match="TaobaoSnapshot"):
        order.apply(icbu)  # type: ignore[arg-type]
    with pytest.raises(orderfsm.OrderFsmError, match="IcbuSnapshot"):
        orderfsm.IcbuOrder().apply(snapshots("000_api_response_example.json")[0])  # type: ignore[arg-type]
    assert order.version == 0
