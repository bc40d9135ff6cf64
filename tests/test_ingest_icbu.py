"""IcbuOrder.apply: alibaba.seller.order.get snapshots (002) against the held order."""

from __future__ import annotations

import logging
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

import orderfsm
from orderfsm.ingest import IcbuSnapshot, parse

PAYLOADS = resources.files("orderfsm") / "data" / "payloads"
DERIVED = Path(__file__).parent / "fixtures" / "002_order_get_response_derived.json"
MACHINE = orderfsm.load("icbu_trade")


def documented() -> IcbuSnapshot:
    (snap,) = parse((PAYLOADS / "002_order_get_response.xml").read_bytes(), "icbu_order")
    assert isinstance(snap, IcbuSnapshot)
    return snap


def observed(trade_status: str, **changes: object) -> IcbuSnapshot:
    fields: dict[str, object] = {"trade_status": trade_status, "status_action": None}
    fields.update(changes)
    return IcbuSnapshot(
        order_id="12345",
        trade_status=str(fields["trade_status"]),
        pay_step=fields.get("pay_step"),  # type: ignore[arg-type]
        status_action=fields["status_action"],  # type: ignore[arg-type]
        actions=(),
        path="$",
    )


def test_the_002_example_advances_a_new_order_along_the_happy_path() -> None:
    order = orderfsm.IcbuOrder()
    result = order.apply(replace(documented(), pay_step=None))
    part = result.part("order")
    assert result.outcome == "advanced" and part.reconstructed
    assert order.status.name == "trade_success"
    passed = [s.name for s in part.passed_through]
    assert "frozen" not in passed and "charge_back" not in passed  # never invents a dispute
    assert passed[:3] == ["to_be_audited", "unpay", "paying"]
    assert [c.step.target for c in order.history][-1] == order.status
    assert all(c.step.transition in MACHINE.edges for c in order.history)
    assert order.apply(replace(documented(), pay_step=None)).outcome == "duplicate"


def test_a_reconstruction_no_guard_lets_through_is_inconsistent_naming_the_guard() -> None:
    """A chargeback with pay_step ADVANCE for an order still being audited: every path to
    charge_back leaves unpay by a step whose guard wants the advance paid (BALANCE)."""
    order = orderfsm.IcbuOrder(status="to_be_audited", pay_step="FULL")
    result = order.apply(replace(documented(), trade_status="charge_back", pay_step="ADVANCE"))
    assert result.outcome == "inconsistent"
    assert "advance_paid" in result.part("order").note
    assert (order.status.name, order.pay_step, order.version, order.history) == (
        "to_be_audited",
        "FULL",
        0,
        (),
    )


def test_the_002_example_with_pay_step_advance_ships_on_the_advance() -> None:
    """trade_success with pay_step ADVANCE (the document's own XML example) is reachable
    from unpay/ADVANCE by shipping on the advance (decision balance-before-shipment), and
    from undeliver/FULL no step sets pay_step back to ADVANCE."""
    order = orderfsm.IcbuOrder(status="unpay", pay_step="ADVANCE")
    result = order.apply(documented())
    assert result.outcome == "advanced"
    assert (order.status.name, order.pay_step) == ("trade_success", "ADVANCE")
    fresh = orderfsm.IcbuOrder(status="undeliver", pay_step="FULL")
    result = fresh.apply(documented())
    assert result.outcome == "inconsistent"
    assert "no step on the way sets it to 'ADVANCE'" in result.part("order").note
    assert (fresh.status.name, fresh.pay_step, fresh.version) == ("undeliver", "FULL", 0)


def test_the_derived_json_applies_like_the_xml() -> None:
    (snap,) = parse(DERIVED.read_bytes(), "icbu_order")
    assert isinstance(snap, IcbuSnapshot)
    a, b = orderfsm.IcbuOrder(), orderfsm.IcbuOrder()
    a.apply(snap)
    b.apply(documented())
    assert (a.status, a.pay_step, a.history) == (b.status, b.pay_step, b.history)


def test_leaving_frozen_returns_to_the_remembered_status() -> None:
    order = orderfsm.IcbuOrder(status="frozen", frozen_from="undeliver")
    result = order.apply(observed("delivering"))
    assert [(s.source.name, s.target.name) for s in result.part("order").steps] == [
        ("frozen", "undeliver"),
        ("undeliver", "delivering"),
    ]
    assert order.frozen_from is None


def test_entering_frozen_remembers_where_from() -> None:
    order = orderfsm.IcbuOrder(status="undeliver")
    assert order.apply(observed("frozen")).outcome == "advanced"
    assert order.frozen_from is not None and order.frozen_from.name == "undeliver"
    assert order.must_intercept


def test_stale_and_illegal() -> None:
    done = orderfsm.IcbuOrder(status="trade_success")
    assert done.apply(observed("unpay")).outcome == "stale"
    assert done.status.name == "trade_success"
    gone = orderfsm.IcbuOrder(status="trade_unavailable")
    result = gone.apply(observed("paid"))
    assert result.outcome == "illegal" and gone.status.name == "trade_unavailable"
    forced = gone.apply(observed("paid"), force=True)
    assert forced.part("order").forced and gone.status.name == "paid"


def test_unknown_trade_status_keeps_the_order_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    order = orderfsm.IcbuOrder(status="paid")
    with caplog.at_level(logging.WARNING, logger="orderfsm.ingest"):
        result = order.apply(observed("wait_seller_dance"))
    assert result.outcome == "unknown_status"
    assert order.status.name == "paid"
    assert any("wait_seller_dance" in r.getMessage() for r in caplog.records)


def test_status_action_disagreeing_with_trade_status() -> None:
    order = orderfsm.IcbuOrder(status="unpay")
    result = order.apply(observed("paying", status_action="unpay"))
    assert result.outcome == "inconsistent"
    assert result.also == ("advanced",)
    assert result.inconsistencies[0].winner == "trade_status"
    assert order.status.name == "paying"


def test_an_undocumented_pay_step_is_ignored_with_a_warning() -> None:
    order = orderfsm.IcbuOrder(status="unpay", pay_step="BALANCE")
    result = order.apply(observed("unpay", pay_step="LATER"))
    assert result.outcome == "duplicate"
    assert order.pay_step == "BALANCE"
    assert any("pay_step" in w for w in result.warnings)
