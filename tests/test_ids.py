"""Reading ``{id: status}`` arguments: the plain-argument shortcut decides like the full check."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderfsm.errors import InvalidOrderState
from orderfsm.orders.ids import id_items, is_id

keys = st.one_of(
    st.sampled_from(["7", "a", "", "07"]),
    st.integers(-2, 9),
    st.booleans(),
    st.floats(allow_nan=False, min_value=-2, max_value=9),
)


@given(ids=st.lists(keys, max_size=5), shape=st.sampled_from(["list", "tuple", "dict", "iter"]))
def test_ids_are_accepted_exactly_when_each_is_a_str_or_int_with_its_own_text(
    ids: list[Any], shape: str
) -> None:
    value: Any = {
        "list": ids,
        "tuple": tuple(ids),
        "dict": dict.fromkeys(ids),  # equal keys (1, 1.0, True) collapse, as in any dict
        "iter": iter(ids),
    }[shape]
    given_ids = list(dict.fromkeys(ids)) if shape == "dict" else ids
    valid = all(is_id(k) for k in given_ids) and len({str(k) for k in given_ids}) == len(given_ids)
    if valid:
        assert id_items(value, "sub_orders") == [(k, None) for k in given_ids]
    else:
        with pytest.raises(InvalidOrderState, match="sub_orders"):
            id_items(value, "sub_orders")
