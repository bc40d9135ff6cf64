"""ICBU's contractual shipment date (issue 19.2): the table says undeliver's deadline comes
from the order's own ``shipment_date`` (002_72f8e4474636d231.txt, 响应参数 shipment_date);
the order carries it (from the payload or its constructor), stores it, and answers the
deadline questions from it and its history's payment times."""

from __future__ import annotations

import contextlib
import copy
import json
import pickle
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import IcbuOrder
from orderfsm.ingest import parse
from orderfsm.model.deadlines import DAY, deadline_of, due
from orderfsm.model.records import ShipmentDate

MACHINE = orderfsm.load("icbu_trade")
MONDAY_NOON = int(datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp())
EXAMPLE = (
    resources.files("orderfsm") / "data" / "payloads" / "002_order_get_response.xml"
).read_bytes()
ADVANCE_PAID = ("pay", "payment_verified", "capture")
TO_SHIP = ("release_for_shipment",)
BALANCE_PAID = ("request_balance", "pay", "payment_verified", "capture")


def run(order: IcbuOrder, events: tuple[str, ...], start: int, gap: int = DAY) -> int:
    """Trigger ``events`` one ``gap`` apart from ``start``; the time of the last."""
    at = start
    for i, event in enumerate(events):
        at = start + i * gap
        order.trigger(event, at=at)
    return at


def test_the_documents_example_carries_a_relative_shipment_date() -> None:
    (snapshot,) = parse(EXAMPLE, "icbu_order")
    assert snapshot.shipment_date == ShipmentDate("relative", 2, 213453)
    order = IcbuOrder.from_snapshot(snapshot)
    assert order.shipment_date == snapshot.shipment_date
    assert IcbuOrder.from_dict(order.to_dict()).shipment_date == snapshot.shipment_date


def test_the_table_says_undeliver_is_late_by_the_orders_shipment_date() -> None:
    rule = deadline_of(MACHINE, MACHINE.status("undeliver"))
    assert rule is not None and (rule.term, rule.unit) == ("shipment_date", "calendar_days")
    assert (rule.least, rule.most) == (None, None)
    assert {f for f, _ in rule.provenance.inferred} == {"unit", "start"}
    with pytest.raises(orderfsm.OrderFsmError, match="comes from shipment_date"):
        due(rule, MONDAY_NOON)


def test_relative_counts_from_the_advance_payment() -> None:
    order = IcbuOrder("unpay", "ADVANCE", shipment_date=ShipmentDate("relative", 5))
    run(order, ADVANCE_PAID + TO_SHIP, MONDAY_NOON)
    paid_at = MONDAY_NOON + DAY  # payment_verified: the order entered paid
    due_ = order.deadline()
    assert due_ is not None and due_.entered == MONDAY_NOON + 3 * DAY
    assert due_.at == paid_at + 5 * DAY
    assert not order.overdue(due_.at) and order.overdue(due_.at + 1)


def test_relative_balance_counts_from_the_balance_payment_and_relative_still_from_the_advance() -> (
    None
):
    events = ADVANCE_PAID + BALANCE_PAID + TO_SHIP
    balance = IcbuOrder("unpay", "ADVANCE", shipment_date=ShipmentDate("relative_balance", 3))
    advance = IcbuOrder("unpay", "ADVANCE", shipment_date=ShipmentDate("relative", 3))
    for order in (balance, advance):
        run(order, events, MONDAY_NOON)
        assert order.status.name == "undeliver" and order.pay_step == "BALANCE"
    # paid: the advance at index 1, the balance at index 5 (request_balance, pay, verified)
    assert (d := balance.deadline()) is not None and d.at == MONDAY_NOON + 5 * DAY + 3 * DAY
    assert (d := advance.deadline()) is not None and d.at == MONDAY_NOON + 1 * DAY + 3 * DAY


def test_a_full_payment_is_the_advance_and_has_no_balance() -> None:
    for kind, expected in (("relative", MONDAY_NOON + DAY + 2 * DAY), ("relative_balance", None)):
        order = IcbuOrder("unpay", "FULL", shipment_date=ShipmentDate(kind, 2))
        run(order, ADVANCE_PAID + TO_SHIP, MONDAY_NOON)
        due_ = order.deadline()
        assert due_ is not None and due_.at == expected


def test_absolute_is_the_date_itself_in_milliseconds_or_seconds() -> None:
    date_ms = (MONDAY_NOON + 10 * DAY) * 1000 + 999
    order = IcbuOrder("captured", "FULL", shipment_date=ShipmentDate("absolute", None, date_ms))
    order.trigger("release_for_shipment")  # no time: the absolute date needs none
    due_ = order.deadline()
    assert due_ is not None and due_.at == MONDAY_NOON + 10 * DAY and due_.entered is None
    assert order.overdue(MONDAY_NOON + 10 * DAY + 1)
    in_s = IcbuOrder("undeliver", shipment_date=ShipmentDate("absolute", None, MONDAY_NOON))
    assert (d := in_s.deadline()) is not None and d.at == MONDAY_NOON


def test_unknown_without_the_terms_or_the_payments_time() -> None:
    untimed = IcbuOrder("unpay", "FULL", shipment_date=ShipmentDate("relative", 2))
    for event in ADVANCE_PAID + TO_SHIP:
        untimed.trigger(event)
    no_terms = IcbuOrder("unpay", "FULL")
    run(no_terms, ADVANCE_PAID + TO_SHIP, MONDAY_NOON)
    # constructed with its balance due: its advance was paid before its history began
    balance_due = IcbuOrder("unpay", "BALANCE", shipment_date=ShipmentDate("relative", 2))
    run(balance_due, ADVANCE_PAID + TO_SHIP, MONDAY_NOON)
    for order in (untimed, no_terms, balance_due):
        due_ = order.deadline()
        assert due_ is not None and due_.at is None and not order.overdue(MONDAY_NOON + 99 * DAY)
    assert IcbuOrder("paid").deadline() is None  # paid: the table states no deadline


def test_an_order_without_a_shipment_date_is_stored_as_before() -> None:
    order = IcbuOrder("unpay", "FULL")
    run(order, ADVANCE_PAID, MONDAY_NOON)
    assert "shipment_date" not in order.to_dict()
    with_terms = IcbuOrder("unpay", "FULL", shipment_date=ShipmentDate("relative", 2))
    run(with_terms, ADVANCE_PAID, MONDAY_NOON)
    stored = with_terms.to_dict()
    assert stored["shipment_date"] == {"type": "relative", "duration": 2, "timestamp": None}
    assert json.dumps({k: v for k, v in stored.items() if k != "shipment_date"}) == json.dumps(
        order.to_dict()
    )


def stored_with_terms() -> dict[str, Any]:
    order = IcbuOrder("captured", "FULL", shipment_date=ShipmentDate("relative", 2))
    order.trigger("release_for_shipment", at=MONDAY_NOON)
    return order.to_dict()


@pytest.mark.parametrize(
    ("terms", "path", "problem"),
    [
        ({"type": "weekly", "duration": 2, "timestamp": None}, "$.shipment_date.type", "one of"),
        ({"type": 3, "duration": 2, "timestamp": None}, "$.shipment_date.type", "one of"),
        ({"type": "relative", "duration": -1, "timestamp": None}, ".duration", "not negative"),
        ({"type": "relative", "duration": "2", "timestamp": None}, ".duration", "whole number"),
        ({"type": "relative", "duration": True, "timestamp": None}, ".duration", "whole number"),
        ({"type": "relative", "duration": None, "timestamp": None}, ".duration", "none given"),
        ({"type": "absolute", "duration": None, "timestamp": None}, ".timestamp", "none given"),
        ({"type": "absolute", "duration": None, "timestamp": 1.5}, ".timestamp", "integer"),
        ({"type": "relative", "duration": 2}, "$.shipment_date", "an object of"),
        ({"type": "relative", "duration": 2, "timestamp": None, "x": 1}, "$.shipment_date", "of"),
        ("relative", "$.shipment_date", "an object of"),
    ],
)
def test_a_bad_stored_shipment_date_is_named(terms: object, path: str, problem: str) -> None:
    data = stored_with_terms()
    data["shipment_date"] = terms
    with pytest.raises(orderfsm.PayloadError) as e:
        IcbuOrder.from_dict(data)
    assert path in e.value.path and problem in str(e.value)


@pytest.mark.parametrize(
    ("xml", "field", "problem"),
    [
        ("<type>monthly</type><duration>2</duration>", "type", "one of"),
        ("<type>relative</type><duration>two</duration>", "duration", "integer"),
        ("<type>relative</type><duration>-2</duration>", "duration", "not negative"),
        ("<type>absolute</type><duration>2</duration>", "date", "none given"),
        ("<duration>2</duration>", "type", "missing"),
    ],
)
def test_a_bad_shipment_date_in_a_payload_is_named(xml: str, field: str, problem: str) -> None:
    body = EXAMPLE.replace(
        EXAMPLE[EXAMPLE.index(b"<shipment_date>") : EXAMPLE.index(b"</shipment_date>")],
        b"<shipment_date>" + xml.encode(),
    )
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(body, "icbu_order")
    assert e.value.path.endswith(f"shipment_date.{field}") and problem in str(e.value)


def test_a_shipment_date_is_checked_where_it_is_made() -> None:
    with pytest.raises(orderfsm.InvalidOrderState, match=r"shipment_date\.type"):
        ShipmentDate("soon", 2)
    with pytest.raises(orderfsm.InvalidOrderState, match=r"shipment_date\.date"):
        ShipmentDate("absolute")
    with pytest.raises(orderfsm.OrderFsmError, match="expected a ShipmentDate"):
        IcbuOrder(shipment_date={"type": "relative", "duration": 2})  # type: ignore[arg-type]
    terms = ShipmentDate("relative_balance", 4, 17)
    assert copy.deepcopy(terms) == terms == pickle.loads(pickle.dumps(terms))


EVENTS = (
    "pay",
    "payment_verified",
    "payment_failed",
    "capture",
    "request_balance",
    "release_for_shipment",
    "open_refund",
    "partial_refund",
    "withdraw_refund",
    "ship",
)
terms = st.one_of(
    st.none(),
    st.builds(ShipmentDate, st.sampled_from(["relative", "relative_balance"]), st.integers(0, 60)),
    st.builds(
        ShipmentDate,
        st.just("absolute"),
        st.none() | st.integers(0, 60),
        st.integers(0, 4_000_000_000_000),
    ),
)


PATHS = (ADVANCE_PAID + TO_SHIP, ADVANCE_PAID + BALANCE_PAID + TO_SHIP)


@st.composite
def walks(draw: st.DrawFn) -> IcbuOrder:
    """An order from ``unpay`` along (a prefix of) a path to ``undeliver``, then a few
    events of any kind; each at a later time or none."""
    order = IcbuOrder(
        "unpay", draw(st.sampled_from(["ADVANCE", "FULL"])), shipment_date=draw(terms)
    )
    path = draw(st.sampled_from(PATHS))
    cut = draw(st.just(len(path)) | st.integers(0, len(path)))
    events = path[:cut] + tuple(draw(st.lists(st.sampled_from(EVENTS), max_size=2)))
    clock = MONDAY_NOON
    for event in events:
        clock += draw(st.integers(0, 3 * DAY))
        with contextlib.suppress(orderfsm.TransitionRejected):
            order.trigger(event, at=draw(st.sampled_from([clock, clock, clock, None])))
    return order


@given(order=walks(), later=st.integers(0, 90 * DAY))
def test_a_deadline_computed_from_a_restored_order_equals_the_original(
    order: IcbuOrder, later: int
) -> None:
    restored = IcbuOrder.from_dict(order.to_dict())
    unpickled = pickle.loads(pickle.dumps(order))
    now = MONDAY_NOON + later
    for clone in (restored, unpickled, copy.deepcopy(order)):
        assert clone.shipment_date == order.shipment_date
        assert clone.deadline() == order.deadline()
        assert clone.overdue(now) == order.overdue(now)


junk = (
    st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.floats() | st.text(max_size=3)
)
stored_terms = junk | st.fixed_dictionaries(
    {
        "type": st.sampled_from(["relative", "relative_balance", "absolute"]) | junk,
        "duration": st.none() | st.integers(-2, 90) | junk,
        "timestamp": st.none() | st.integers(0, 10**13) | junk,
    }
)


@given(terms=stored_terms)
def test_a_stored_shipment_date_is_read_back_exactly_or_refused_by_name(terms: object) -> None:
    """``from_dict`` accepts exactly the shipment dates ``to_dict`` writes."""
    data = stored_with_terms()
    data["shipment_date"] = terms
    try:
        order = IcbuOrder.from_dict(data)
    except orderfsm.PayloadError as e:
        assert e.path.startswith("$.shipment_date")
    else:
        assert order.to_dict() == data
