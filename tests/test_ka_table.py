"""The KA PoolOrderStatusEnum reconstruction: the documented facts hold, and a copy of the
table loaded from a path behaves exactly like the shipped one.

Source: 000_29cd69a61e8d9e8a.txt, "Comparison with KA Orders": 12 statuses; description =
English enum name; refunds integrated into the main status; no finance confirmation;
payment by system auto-deduction (no proof upload); trade + order + sub-order; can cancel
before shipment.
"""

from __future__ import annotations

import shutil
import tomllib
from collections import deque
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import KaTrade, TransitionRejected

MACHINE = orderfsm.load("ka_pool_order")
LIFECYCLE_1688 = {
    "waitbuyerpay",
    "waitsellersend",
    "waitlogisticstakein",
    "waitbuyerreceive",
    "waitbuyersign",
    "signinsuccess",
    "confirm_goods",
    "success",
    "cancel",
    "terminated",
}


# The seller's two ways of shipping (decision ka-shipping-routes).
SHIPPING = ("ship", "ship_for_pickup")


def reachable_without(events: tuple[str, ...]) -> set[str]:
    """Statuses reachable from the initial status without ever firing one of ``events``."""
    seen = {MACHINE.initial.name}
    queue = deque(seen)
    while queue:
        for t in MACHINE.transitions_from(queue.popleft()):
            if t.event not in events and t.dst not in seen:
                seen.add(str(t.dst))
                queue.append(str(t.dst))
    return seen


def test_twelve_statuses_lifecycle_plus_folded_refunds() -> None:
    codes = {s.code for s in MACHINE.states}
    assert len(MACHINE.states) == 12
    assert codes >= LIFECYCLE_1688
    refunds = {s.code for s in MACHINE.states if "refund" in s.tags}
    assert codes - LIFECYCLE_1688 == refunds and refunds


def test_the_table_says_it_is_a_reconstruction_and_everything_is_inferred() -> None:
    assert MACHINE.table.reconstruction
    for s in MACHINE.states:
        assert s.provenance.kind == "inferred" and s.provenance.basis, s
    for t in MACHINE.table.transitions:
        assert t.provenance.kind == "inferred" and t.provenance.basis, t


def test_description_is_the_english_enum_name() -> None:
    for s in MACHINE.states:
        assert s.description == s.name
        assert s.name.isupper() and s.name.isidentifier()


def test_refunds_are_part_of_the_main_status() -> None:
    """'Refund Status: Integrated into main status': no parent machine, no refund enum."""
    assert MACHINE.table.parent is None
    assert not [m for m in orderfsm.MACHINES if m.startswith("ka_") and m != "ka_pool_order"]
    assert any(
        "refund" in MACHINE.table.state(str(t.dst)).tags
        for t in MACHINE.edges
        if t.event == "apply_refund"
    )


def test_no_finance_confirmation_and_no_proof_upload() -> None:
    """'No finance confirmation'; 'System auto-deduction' (no proof upload)."""
    assert all(t.actor != "finance" for t in MACHINE.edges)
    assert not [e for e in MACHINE.event_names if "finance" in e or "proof" in e or "upload" in e]


def test_payment_is_a_system_deduction() -> None:
    """Every edge taking an unpaid order on towards fulfilment is the platform's deduction."""
    unpaid = {s.name for s in MACHINE.states if s.phase == "payment"}
    assert unpaid
    for t in MACHINE.edges:
        if t.src in unpaid and not MACHINE.table.state(str(t.dst)).final:
            assert (t.event, t.actor) == ("auto_deduct", "platform")


@pytest.mark.parametrize("state", MACHINE.states, ids=str)
def test_cancel_allowed_exactly_before_shipment(state: orderfsm.State) -> None:
    """'Can cancel before shipment': before = reachable without shipping. An unpaid order
    ends in CANCEL, a paid one in TERMINATED (decision ka-paid-cancel-terminates)."""
    before_shipment = reachable_without(SHIPPING)
    if state.final:
        assert not MACHINE.allows(state, "cancel")
    elif state.name in before_shipment:
        paid = state.phase != "payment"
        expected = "TERMINATED" if paid else "CANCEL"
        assert MACHINE.transition(state, "cancel").target.name == expected
    else:
        with pytest.raises(TransitionRejected) as caught:
            MACHINE.transition(state, "cancel")
        assert "cancelled until it ships" in caught.value.rule
        assert "Comparison with KA Orders" in caught.value.source


def test_every_shipped_status_is_tagged_and_no_other() -> None:
    before = reachable_without(SHIPPING)
    for s in MACHINE.states:
        assert ("shipped" in s.tags) == (s.name not in before), s


# ------------------------------------------------------------------ a user-supplied copy


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> orderfsm.CompiledMachine:
    target = tmp_path_factory.mktemp("tables") / "my_ka.toml"
    with resources.as_file(
        resources.files("orderfsm") / "data" / "tables" / "ka_pool_order.toml"
    ) as src:
        shutil.copy(src, target)
    return orderfsm.load(target)


def test_shipping_has_a_direct_and_a_pickup_route() -> None:
    """Decision ka-shipping-routes: waitlogisticstakein, waitbuyersign and signinsuccess are
    statuses some orders pass through, not steps every order takes."""
    assert MACHINE.transition("waitsellersend", "ship").target.code == "waitbuyerreceive"
    assert MACHINE.transition("waitsellersend", "ship_for_pickup").target.code == (
        "waitlogisticstakein"
    )
    assert MACHINE.transition("waitbuyerreceive", "confirm_receipt").target.code == (
        "confirm_goods"
    )
    assert MACHINE.transition("waitbuyerreceive", "deliver").target.code == "waitbuyersign"


def test_copy_loads_through_the_same_validation(
    copied: orderfsm.CompiledMachine, tmp_path: Path
) -> None:
    assert copied is not MACHINE
    assert copied.states == MACHINE.states and copied.edges == MACHINE.edges
    broken = tmp_path / "broken.toml"
    assert copied.table.file.endswith("my_ka.toml")
    text = Path(copied.table.file).read_text(encoding="utf-8")
    broken.write_text(
        text.replace(
            'guards = ["before_shipment"]', 'guards = ["orderfsm.model.guards.before_shipment"]'
        )
    )
    with pytest.raises(orderfsm.TableError, match="unknown guard") as caught:
        orderfsm.load(broken)
    assert caught.value.file == str(broken) and caught.value.entry == "events.cancel.guards"


def test_a_decoded_mapping_loads_identically(copied: orderfsm.CompiledMachine) -> None:
    data = tomllib.loads(Path(copied.table.file).read_text(encoding="utf-8"))
    from_mapping = orderfsm.load(data)
    assert from_mapping.states == MACHINE.states and from_mapping.edges == MACHINE.edges
    assert from_mapping.table.file == "<mapping>"


@given(events=st.lists(st.sampled_from(MACHINE.event_names), max_size=30), data=st.data())
def test_copy_behaves_identically(
    copied: orderfsm.CompiledMachine, events: list[str], data: st.DataObject
) -> None:
    shipped = KaTrade({"o1": ["a", "b"], "o2": ["c"]})
    mine = KaTrade({"o1": ["a", "b"], "o2": ["c"]}, machine=copied)
    for event in events:
        order = data.draw(st.sampled_from([None, "o1", "o2"]))
        outcomes = []
        for trade in (shipped, mine):
            try:
                outcomes.append([s.target for s in trade.trigger(event, order=order)])
            except TransitionRejected as exc:
                outcomes.append([type(exc).__name__, exc.rule, exc.status, *exc.allowed])
        assert outcomes[0] == outcomes[1]
        assert shipped.status == mine.status
        assert {k: v.sub_orders for k, v in shipped.orders.items()} == {
            k: v.sub_orders for k, v in mine.orders.items()
        }
