"""Quarantine cannot rewind an order (issue 16.4).

An unknown platform status parks a part in the quarantine status (Taobao
``OTHER_STATUS(9)``) while the part is not final; a final part keeps its status. A
recognised status releases the part exactly when a direct change from the status held
before it was parked would be accepted.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import IcbuSnapshot
from orderfsm.model.decide import decide
from orderfsm.model.synthetic import quarantine_state
from test_ingest_apply import callback

MAIN = orderfsm.load("taobao_order")
MACHINES = [
    orderfsm.load(n) for n in ("taobao_order", "taobao_refund", "icbu_trade", "ka_pool_order")
]


@pytest.mark.parametrize("final", ["WAIT_BUYER_CONFIRM_GOODS", "CANCEL"])
def test_an_unknown_status_never_takes_an_order_out_of_a_final_status(final: str) -> None:
    """The issue's repro: 11, an unknown status, then WAIT_BUYER_P must not end in 0."""
    order = orderfsm.TaobaoOrder(status=final)
    parked = order.apply(callback("SOMETHING_NEW", None))
    assert parked.outcome == "unknown_status"
    assert parked.taken == "none" and not parked.changed
    assert order.status.name == final and order.version == 0
    rewound = order.apply(callback("WAIT_BUYER_P", None))
    assert rewound.outcome in ("stale", "illegal") and not rewound.changed
    assert order.status.name == final
    assert not order.can("cancel")
    assert order.history == ()


def test_a_release_is_judged_from_the_status_held_before_quarantine() -> None:
    order = orderfsm.TaobaoOrder(status="WAIT_SELLER_SEND_GOODS", sub_orders=["a"])
    order.apply(callback("SOMETHING_NEW", 10, a="SOMETHING_NEW"))
    assert order.status.code == 9 and order.sub_order_status("a").code == 9
    # Back to awaiting payment is no more legal from quarantine than from 10.
    refused = order.apply(callback("WAIT_BUYER_P", 11, a="WAIT_BUYER_P"))
    assert refused.part("order").refused and refused.taken == "none"
    assert "held before quarantine" in refused.part("order").note
    assert order.status.code == 9 and order.sub_order_status("a").code == 9
    assert order.observed_at == 10 and order.version == 1
    # Shipping is: one release step, judged as the edge 10 -> 11.
    released = order.apply(callback("WAIT_BUYER_CONFIRM_GOODS", 12, a="WAIT_BUYER_CONFIRM_GOODS"))
    assert released.outcome == "advanced" and released.part("order").via == "release"
    assert order.status.code == 11 and order.sub_order_status("a").code == 11


def test_forcing_a_release_records_a_forced_step() -> None:
    order = orderfsm.TaobaoOrder(status="WAIT_SELLER_SEND_GOODS")
    order.apply(callback("SOMETHING_NEW", None))
    result = order.apply(callback("CANCEL", 5), force=True)  # no path 10 -> 4
    assert result.part("order").forced and order.status.code == 4
    assert [c.via for c in order.history] == ["quarantine", "forced"]
    again = orderfsm.TaobaoOrder.from_dict(order.to_dict())
    assert again.to_dict() == order.to_dict()


@pytest.mark.parametrize("final", ["trade_success", "trade_close", "trade_unavailable"])
def test_icbu_finals_keep_their_status_through_an_unknown_one(final: str) -> None:
    order = orderfsm.IcbuOrder(status=final)
    unknown = order.apply(IcbuSnapshot("1", "SOMETHING_NEW", None, None, (), "$"))
    assert unknown.outcome == "unknown_status" and unknown.taken == "none"
    later = order.apply(IcbuSnapshot("1", "unpay", None, None, (), "$"))
    assert later.taken == "none" and order.status.name == final and order.version == 0


@given(machine=st.sampled_from(MACHINES), data=st.data())
def test_no_machine_leaves_a_final_status_through_an_unknown_one(
    machine: orderfsm.CompiledMachine, data: st.DataObject
) -> None:
    """On every shipped machine (KA included), an unknown status leaves a final part
    where it is, and no recognised status that follows moves it unforced."""
    finals = [s for s in machine.states if s.final]
    final = data.draw(st.sampled_from(finals))
    unknown = decide(machine, final, "SOMETHING_NEW", part="order")
    assert unknown.refused and unknown.steps == () and unknown.after == final
    seen = data.draw(st.sampled_from(machine.states))
    later = decide(machine, final, seen.code, part="order")
    assert later.after == final or machine.has_edge(final, later.after)


@given(held=st.sampled_from(MAIN.states), seen=st.sampled_from(MAIN.states), data=st.data())
def test_a_release_is_decided_as_the_direct_change_would_be(
    held: Any, seen: Any, data: st.DataObject
) -> None:
    """For every pair of Taobao statuses: from quarantine entered from ``held``, ``seen``
    is taken exactly when a direct change ``held -> seen`` would be, and ends there."""
    jail = quarantine_state(MAIN)
    assert jail is not None
    if held.quarantine or held.final or seen.quarantine:
        return
    timing = data.draw(st.sampled_from(["unknown", "newer", "same"]))
    force = data.draw(st.booleans())
    direct = decide(MAIN, held, seen.code, part="order", timing=timing, force=force)
    released = decide(
        MAIN, jail, seen.code, part="order", timing=timing, force=force, parked_from=held
    )
    assert released.refused == direct.refused
    assert released.after == (jail if direct.refused else direct.after)
    if not released.refused:
        assert released.via == ("forced" if direct.forced else "release")
