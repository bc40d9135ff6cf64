"""KaTrade serialises to a plain JSON-able dict with a version counter, and back."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm

KA = orderfsm.load("ka_pool_order")
LEAVES = [("o1", "a"), ("o1", "b"), ("o2", "c")]


@st.composite
def trades(draw: st.DrawFn) -> orderfsm.KaTrade:
    """A trade moved by up to 12 accepted events, each on the trade, an order or a sub-order."""
    trade = orderfsm.KaTrade({"o1": ["a", "b"], "o2": ["c"]})
    targets = [(None, None), ("o1", None), ("o2", None), *LEAVES]
    for _ in range(draw(st.integers(0, 12))):
        options = [(e, o, s) for o, s in targets for e in trade.enabled_events(o, s)]
        if not options:
            break
        event, order, sub = draw(st.sampled_from(options))
        trade.trigger(event, order=order, sub_order=sub)
    return trade


@given(trades())
def test_round_trip_through_json_keeps_everything(trade: orderfsm.KaTrade) -> None:
    data = json.loads(json.dumps(trade.to_dict()))
    again = orderfsm.KaTrade.from_dict(data)
    assert again.to_dict() == trade.to_dict()
    assert again.status == trade.status and again.version == trade.version
    assert again.remembered == trade.remembered
    for order, sub in LEAVES:
        assert again.enabled_events(order, sub) == trade.enabled_events(order, sub)


def test_version_counts_accepted_events_only() -> None:
    trade = orderfsm.KaTrade({"o1": ["a"]})
    trade.trigger("auto_deduct")
    with pytest.raises(orderfsm.TransitionRejected):
        trade.trigger("confirm_receipt")
    assert trade.version == 1


def base() -> dict[str, Any]:
    trade = orderfsm.KaTrade({"o1": ["a"]})
    trade.trigger("auto_deduct")
    return trade.to_dict()


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d.update(format="x"), "$.format"),
        (lambda d: d.update(machine="taobao_order"), "$.machine"),
        (lambda d: d.update(version="1"), "$.version"),
        (
            lambda d: d["orders"][0]["sub_orders"][0].update(status="flying"),
            "$.orders[0].sub_orders[0].status",
        ),
        (
            lambda d: d["orders"][0]["sub_orders"].append(dict(d["orders"][0]["sub_orders"][0])),
            "$.orders[0].sub_orders[1].id",
        ),
        (lambda d: d["history"]["event"].__setitem__(0, "ship"), "$.history.event[0]"),
        (lambda d: d["history"]["sub_order"].__setitem__(0, "zz"), "$.history[0]"),
        (lambda d: d.update(orders=[], history={k: [] for k in d["history"]}), "$.orders"),
    ],
)
def test_bad_dicts_name_the_field(edit: Any, path: str) -> None:
    data = base()
    edit(data)
    with pytest.raises(orderfsm.PayloadError) as info:
        orderfsm.KaTrade.from_dict(data)
    assert info.value.path == path
