"""The unit of a Taobao callback's ``modify_time`` (issue 19.1, 19.3): the document gives a
number (003_36c64fc11abf7e3f.txt, 返回响应 示例: ``"modify_time": 0``) and no unit, so the
history records it in seconds by its magnitude (an inference, docs/time.md), and the
deadline questions count from it in either unit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import TaobaoSnapshot, parse
from orderfsm.model.deadlines import DAY, deadline_of, due
from orderfsm.model.records import MILLISECONDS_FROM, in_seconds

MAIN = orderfsm.load("taobao_order")
# 2025-01-05 00:00:01 UTC: the createTime of 001's example order, as milliseconds.
SENT_MS = 1_736_035_201_000
CALLBACK = resources.files("orderfsm") / "data" / "payloads" / "003_status_callback.json"


def callback(status: str, modify_time: object) -> TaobaoSnapshot:
    message: dict[str, Any] = {"purchase_id": 1, "status": status, "modify_time": modify_time}
    (snap,) = parse(json.dumps({"messageBody": [message]}), "status_callback")
    assert isinstance(snap, TaobaoSnapshot)
    return snap


def test_the_documents_callback_sends_a_number() -> None:
    body = json.loads(CALLBACK.read_text("utf-8"))
    assert body["messageBody"][0]["modify_time"] == 0  # a number; its unit is not stated
    (snap,) = parse(CALLBACK.read_bytes(), "status_callback")
    assert isinstance(snap, TaobaoSnapshot)
    assert (snap.modify_time, snap.modified_at) == (0, 0)


def test_a_millisecond_modify_time_is_recorded_in_seconds_and_kept_as_sent() -> None:
    order = orderfsm.TaobaoOrder(0)
    order.apply(callback("ORDER_PAY_STATUS", str(SENT_MS)))
    assert order.history[-1].at == SENT_MS // 1000
    assert order.observed_at == SENT_MS  # what the platform sent: staleness compares these
    # the caller's clock in seconds is not "earlier" than the platform's milliseconds
    order.trigger("finance_approve", at=SENT_MS // 1000 + 60)
    assert order.history[-1].at == SENT_MS // 1000 + 60


def test_a_deadline_counts_from_a_millisecond_modify_time() -> None:
    """Before, the milliseconds were read as seconds: the business-day count failed with
    a ValueError (year out of range) instead of answering."""
    order = orderfsm.TaobaoOrder(0)
    order.apply(callback("ORDER_PAY_STATUS", SENT_MS))
    due_ = order.deadline()
    entered = SENT_MS // 1000  # Sunday 2025-01-05: Monday and Tuesday are the 2 business days
    assert due_ is not None and (due_.entered, due_.at) == (entered, entered + 2 * DAY)
    assert datetime.fromtimestamp(due_.at, UTC).date().isoformat() == "2025-01-07"


@given(st.integers(0, MILLISECONDS_FROM - 1))
def test_a_smaller_time_is_seconds(seconds: int) -> None:
    assert in_seconds(seconds) == seconds


@given(st.integers(MILLISECONDS_FROM // 1000, 10**13), st.integers(0, 999))
def test_a_larger_time_is_milliseconds_rounded_down(seconds: int, millis: int) -> None:
    assert in_seconds(seconds * 1000 + millis) == seconds


def test_an_instant_no_calendar_holds_is_a_named_error() -> None:
    finance = deadline_of(MAIN, MAIN.status(1))
    assert finance is not None and finance.unit == "business_days"
    with pytest.raises(orderfsm.OrderFsmError, match="no instant a calendar can count"):
        due(finance, 10**15)
