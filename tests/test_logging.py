"""Quiet logs and short reprs: routine webhook outcomes at DEBUG, one WARNING per snapshot
only for what needs a person, and results that print in a line."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

import orderfsm
from orderfsm.ingest import IcbuSnapshot, parse
from support import PAYLOADS
from test_ingest_apply import callback

SRC = Path(__file__).resolve().parents[1] / "src" / "orderfsm"
SHIPPED, PAID = "WAIT_BUYER_CONFIRM_GOODS", "WAIT_SELLER_SEND_GOODS"
WEBHOOKS = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"


def records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "orderfsm.ingest"]


def test_duplicate_and_stale_snapshots_log_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    order = orderfsm.TaobaoOrder(status=10, sub_orders=["s1", "s2"])
    with caplog.at_level(logging.DEBUG, logger="orderfsm.ingest"):
        assert order.apply(callback(11, 5, s1=SHIPPED, s2=SHIPPED)).outcome == "advanced"
        assert order.apply(callback(11, 5, s1=SHIPPED, s2=SHIPPED)).outcome == "duplicate"
        assert order.apply(callback(10, 3, s1=PAID, s2=PAID)).outcome == "stale"
    logged = records(caplog)
    assert [level for level, _ in logged] == [logging.DEBUG] * 3
    assert [message.split(":")[0] for _, message in logged] == [
        "snapshot advanced",
        "snapshot duplicate",
        "snapshot stale",
    ]
    assert all(r.apply_result.outcome in r.getMessage() for r in caplog.records)  # type: ignore[attr-defined]


def test_quarantine_of_every_sub_order_warns_once_per_snapshot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    order = orderfsm.TaobaoOrder(status=10, sub_orders=["s1", "s2", "s3"])
    with caplog.at_level(logging.DEBUG, logger="orderfsm.ingest"):
        result = order.apply(callback("NEW_PLATFORM_STATUS", 5, s1="X", s2="X", s3="X"))
    assert result.outcome == "unknown_status"
    assert len([p for p in result.parts if p.via == "quarantine"]) == 4
    (logged,) = records(caplog)
    level, message = logged
    assert level == logging.WARNING
    note = "taobao_order: unknown status 'X'; quarantined in OTHER_STATUS(9)"
    assert message.count(note) == 1


def test_an_inconsistent_snapshot_warns_and_an_illegal_one_informs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    xml = (PAYLOADS / "002_order_get_response.xml").read_bytes()
    (snap,) = parse(xml, "icbu_order")
    assert isinstance(snap, IcbuSnapshot)
    with caplog.at_level(logging.DEBUG, logger="orderfsm.ingest"):
        inconsistent = orderfsm.IcbuOrder(status="unpay").apply(snap)  # pay_step FULL held
        illegal = orderfsm.TaobaoOrder(status=4).apply(callback(10, 5))  # a closed order
    assert (inconsistent.outcome, illegal.outcome) == ("inconsistent", "illegal")
    assert [level for level, _ in records(caplog)] == [logging.WARNING, logging.INFO]


def test_nothing_is_formatted_when_the_level_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="orderfsm.ingest"):
        orderfsm.TaobaoOrder(status=10).apply(callback(11, 5))
    assert records(caplog) == []


def test_results_steps_and_changes_print_in_a_line_with_their_provenance_kept() -> None:
    order = orderfsm.TaobaoOrder(status=0, sub_orders=["s1"])
    result = order.apply(callback(11, 5, s1=SHIPPED))
    assert result.parts[0].reconstructed
    shown = repr(result)
    assert "\n" not in shown and "provenance" not in shown and len(shown) < 300
    assert shown.startswith("<ApplyResult advanced (changed, version 1): order: ")
    step = result.parts[0].steps[0]
    assert repr(step) == (
        "<Step TAOBAO_ORDER_WAIT_BUYER_PAY(0) -> ORDER_PAY_STATUS(1) "
        "on 'upload_payment_proof' by buyer>"
    )
    assert step.transition.provenance.sources or step.transition.provenance.basis
    change = order.history[0]
    assert repr(change).startswith("<Change order: TAOBAO_ORDER_WAIT_BUYER_PAY(0) -> ")
    assert repr(change).endswith("via reconstructed>")


def test_every_logger_name_is_documented() -> None:
    names = set(re.findall(r'getLogger\("([^"]+)"\)', _source()))
    assert names, "the library logs somewhere"
    text = WEBHOOKS.read_text(encoding="utf-8")
    assert all(f"`{name}`" in text for name in names), names


def _source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
