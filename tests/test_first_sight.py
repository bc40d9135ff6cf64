"""First sight: ``from_snapshot`` starts holding an order from the first snapshot seen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import IcbuSnapshot, TaobaoSnapshot, parse
from support import PAYLOADS, TAOBAO_SNAPSHOTS
from test_ingest_apply import callback

FIXTURES = Path(__file__).parent / "fixtures"
MAIN = orderfsm.load("taobao_order")
NAMES = [s.raw or s.name for s in MAIN.states]


def icbu_examples() -> list[IcbuSnapshot]:
    bodies = [
        (PAYLOADS / "002_order_get_response.xml").read_bytes(),
        (FIXTURES / "002_order_get_response_derived.json").read_bytes(),
    ]
    out = []
    for body in bodies:
        (snap,) = parse(body, "icbu_order")
        assert isinstance(snap, IcbuSnapshot)
        out.append(snap)
    return out


def round_trips(order: Any) -> None:
    data = order.to_dict()
    again = type(order).from_dict(data)
    assert again.to_dict() == data and again.version == order.version


@pytest.mark.parametrize("snap", icbu_examples(), ids=["xml", "json"])
def test_a_fresh_icbu_order_from_the_002_example_is_consistent(snap: IcbuSnapshot) -> None:
    guessed = orderfsm.IcbuOrder().apply(snap)  # pay_step FULL: the complaint
    assert guessed.outcome == "inconsistent"
    order = orderfsm.IcbuOrder.from_snapshot(snap)
    assert (order.status.name, order.pay_step) == ("trade_success", "ADVANCE")
    assert order.history == () and order.version == 0
    assert order.apply(snap).outcome == "duplicate"
    round_trips(order)


def test_an_unknown_icbu_status_cannot_start_an_order() -> None:
    (snap,) = icbu_examples()[:1]
    odd = IcbuSnapshot(snap.order_id, "teleported", None, None, (), snap.path)
    with pytest.raises(orderfsm.UnknownStatus, match="teleported"):
        orderfsm.IcbuOrder.from_snapshot(odd)


@pytest.mark.parametrize("snap", TAOBAO_SNAPSHOTS, ids=lambda s: f"{s.kind}-{s.order_id}")
def test_the_documents_taobao_snapshots_start_orders_holding_what_they_say(
    snap: TaobaoSnapshot,
) -> None:
    order = orderfsm.TaobaoOrder.from_snapshot(snap)
    assert order.observed_at == snap.modify_time
    assert set(order.sub_orders) == {s.sub_order_id for s in snap.sub_orders}
    assert order.apply(snap).outcome in ("duplicate", "inconsistent", "unknown_status")
    assert not order.apply(snap).changed  # seeing it again changes nothing
    round_trips(order)


@given(
    status=st.sampled_from([*NAMES, "NEW_PLATFORM_STATUS"]),
    modify_time=st.none() | st.integers(0, 10**13),
    subs=st.dictionaries(
        st.sampled_from(["s1", "s2", "s3"]), st.sampled_from([*NAMES, "X"]), max_size=3
    ),
)
def test_any_first_callback_starts_an_order_that_round_trips_and_sees_itself_again(
    status: str, modify_time: int | None, subs: dict[str, str]
) -> None:
    snap = callback(status, modify_time, **subs)
    order = orderfsm.TaobaoOrder.from_snapshot(snap)
    assert order.history == ()
    assert order.observed_at == modify_time
    assert order.version == (modify_time is not None)  # the clock: one change, or none
    expected = MAIN.status(status) if status in MAIN else MAIN.status("OTHER_STATUS")
    assert order.status == expected
    for sid, sub in subs.items():
        own = MAIN.status(sub) if sub in MAIN else MAIN.status("OTHER_STATUS")
        assert order.sub_order_status(sid) == own
    again = order.apply(snap)
    assert not again.changed and again.outcome in ("duplicate", "unknown_status")
    round_trips(order)


def test_later_callbacks_are_judged_against_the_first_sight() -> None:
    order = orderfsm.TaobaoOrder.from_snapshot(callback("WAIT_BUYER_P", 1000))
    assert order.apply(callback("WAIT_BUYER_P", 500)).outcome == "stale"
    result = order.apply(callback("WAIT_SELLER_SEND_GOODS", 2000))
    assert (result.outcome, result.part("order").via) == ("advanced", "reconstructed")
    round_trips(order)
