"""Fuzzing ``from_dict`` of every order type: any field of a valid dict replaced by any
JSON value (or deleted) either loads into an order that round-trips, or raises
:class:`orderfsm.PayloadError` naming a path; nothing else escapes."""

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from support import json_paths

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 200) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def taobao() -> dict[str, Any]:
    order = orderfsm.TaobaoOrder(
        status=10, sub_orders={"a": 0, "b": 0}, sub_order_statuses={"a": 11}
    )
    order.trigger("apply_refund", sub_order="a")
    order.trigger("ship")
    return order.to_dict()


def icbu() -> dict[str, Any]:
    order = orderfsm.IcbuOrder(status="undeliver")
    order.trigger("open_refund")
    return order.to_dict()


def ka() -> dict[str, Any]:
    trade = orderfsm.KaTrade({"o1": ["a", "b"], "o2": ["c"]})
    trade.trigger("auto_deduct")
    trade.trigger("ship", order="o1")
    return trade.to_dict()


KINDS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[Any], Any]]] = {
    "taobao": (taobao, orderfsm.TaobaoOrder.from_dict),
    "icbu": (icbu, orderfsm.IcbuOrder.from_dict),
    "ka": (ka, orderfsm.KaTrade.from_dict),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_mutated_dicts_load_or_raise_payload_error(kind: str, data: st.DataObject) -> None:
    build, load = KINDS[kind]
    doc = build()
    path = data.draw(st.sampled_from(json_paths(doc)[1:]))  # [1:]: not the root itself
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(JSON)
    try:
        order = load(doc)
    except orderfsm.PayloadError as exc:
        assert exc.path.startswith("$")
        return
    assert load(order.to_dict()).to_dict() == order.to_dict()
