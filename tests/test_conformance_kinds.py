"""The claim kinds that state an omission, a complete run, what a text waits for, and what a
status means for a variable: each one can fail. Editing the claim or the table changes
the report; the shipped tables pass only through the decisions that name them."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orderfsm
from orderfsm.check.claims import Claim, parse_claims
from orderfsm.check.conformance import Discrepancy
from orderfsm.errors import OrderFsmError
from test_conformance import BASELINE, CLAIMS, check, table_data, with_fields

BY_ID = {c.id: c for c in CLAIMS}


def replaced(cid: str, **fields: object) -> list[Claim]:
    return [with_fields(c, **fields) if c.id == cid else c for c in CLAIMS]


def found(report: Any, machine: str, subject: str) -> Discrepancy | None:
    return next(
        (d for d in report.discrepancies if d.machine == machine and d.subject == subject), None
    )


def without_decision(name: str, decision: str) -> dict[str, Any]:
    data = table_data(name)
    data["decisions"] = [d for d in data["decisions"] if d["id"] != decision]
    return data


# ------------------------------------------------------------------ drawing


def test_an_arrow_a_drawing_leaves_out_is_a_disagreement() -> None:
    d = found(BASELINE, "taobao_order", "transition 3 -> 0")
    assert d is not None and d.resolved
    sides = {c.claim: c.table_agrees for c in d.claims}
    assert sides["taobao.diagram.main"] is False and sides["taobao.matrix.main"] is True
    # draw the arrow, and the disagreement is gone
    edges = [*BY_ID["taobao.diagram.main"]["edges"], [3, 0]]
    assert found(check(claims=replaced("taobao.diagram.main", edges=edges)), *d_key(d)) is None


def d_key(d: Discrepancy) -> tuple[str, str]:
    return d.machine, d.subject


def test_a_status_a_drawing_leaves_out_is_a_disagreement() -> None:
    d = found(BASELINE, "taobao_refund", "exists -10")
    assert d is not None and d.resolved
    assert {c.claim for c in d.claims} == {"taobao.enum.refund", "taobao.diagram.refund"}
    statuses = [*BY_ID["taobao.diagram.refund"]["statuses"], -10]
    assert (
        found(check(claims=replaced("taobao.diagram.refund", statuses=statuses)), *d_key(d)) is None
    )
    # without the decision that sides with the enum, the omission fails the check
    report = check(taobao_refund=without_decision("taobao_refund", "refund-drawing-omits-refusal"))
    assert not report.ok
    assert any(x.subject == "exists -10" and not x.resolved for x in report.discrepancies)


@settings(max_examples=20)
@given(st.data())
def test_drawing_an_arrow_the_table_lacks_is_reported(data: st.DataObject) -> None:
    machine = orderfsm.load("taobao_order")
    drawn = BY_ID["taobao.diagram.main"]
    codes = list(drawn["statuses"])
    missing = [
        (a, b)
        for a in codes
        for b in codes
        if a != b and not machine.has_edge(a, b) and [a, b] not in drawn["edges"]
    ]
    extra = data.draw(st.sampled_from(missing))
    report = check(claims=replaced(drawn.id, edges=[*drawn["edges"], list(extra)]))
    assert not report.ok, f"a drawn arrow {extra} the table lacks went unnoticed"


def test_a_drawn_arrow_must_join_drawn_statuses() -> None:
    claim = BY_ID["taobao.diagram.refund"]
    bad = with_fields(claim, edges=[*claim["edges"], [10, -10]])
    with pytest.raises(OrderFsmError, match="not drawn"):
        check(claims=[bad])


# ------------------------------------------------------------------ complete paths


def test_a_complete_path_must_start_and_end_the_lifecycle() -> None:
    # Scenario 4 ends the refund at -20; claim it ends at -10 (not final) instead
    ends_early = replaced("taobao.scenario4", statuses=[10, -10])
    assert not check(claims=ends_early).ok
    # Flow 1 starts at 12; a complete run cannot start at 0
    late_start = replaced("taobao.flow1.direct", statuses=[0, 1, 2, 10, 11])
    assert not check(claims=late_start).ok
    # the same paths without the completeness flags are fine
    assert check(
        claims=replaced("taobao.flow1.direct", statuses=[0, 1, 2, 10, 11], starts=False)
    ).ok


def test_making_a_final_status_live_breaks_the_complete_flow() -> None:
    data = table_data("taobao_refund")
    data["events"]["mutant"] = {"description": "a mutation"}
    data["transitions"].append(
        {
            "src": 100,
            "dst": 10,
            "event": "mutant",
            "actor": "platform",
            "provenance": {"kind": "inferred", "basis": "mutation test"},
        }
    )
    data["states"] = [{**s, "final": False} if s["code"] == 100 else s for s in data["states"]]
    report = check(taobao_refund=data)
    assert not report.ok
    assert any(d.subject == "final 100" for d in report.unresolved)


# ------------------------------------------------------------------ texts that wait for an action


def test_a_text_asking_for_an_action_the_table_refuses_is_a_disagreement() -> None:
    d = found(BASELINE, "taobao_order", "transition 3 -> 1")
    assert d is not None and d.resolved and d.decision is not None
    assert d.decision.id == "reupload-after-return"
    report = check(taobao_order=without_decision("taobao_order", "reupload-after-return"))
    assert any(x.subject == "transition 3 -> 1" and not x.resolved for x in report.discrepancies)


@settings(max_examples=20)
@given(st.data())
def test_claiming_a_text_waits_for_a_refused_event_is_reported(data: st.DataObject) -> None:
    machine = orderfsm.load("icbu_trade")
    pairs = [
        (s.code, e)
        for s in machine.states
        for e in machine.event_names
        # refused in every context: each pay_step, and each status frozen may remember
        if not any(
            machine.allows(s, e, variables={"pay_step": p}, history=h)
            for p in ("ADVANCE", "BALANCE", "FULL")
            for h in (None, *machine.states)
        )
        and not s.final
    ]
    code, event = data.draw(st.sampled_from(pairs))
    claim = BY_ID["icbu.enum.waits"]
    entries = [*claim["entries"], {"code": code, "text": "mutant", "event": event}]
    assert not check(claims=replaced(claim.id, entries=entries)).ok


def test_a_decision_can_follow_a_claim_that_speaks_elsewhere() -> None:
    d = found(BASELINE, "taobao_order", "enabled confirm_receipt 11")
    assert d is not None and d.resolved
    assert all(not c.table_agrees for c in d.claims)
    assert d.followed_elsewhere == (("taobao.flow1.ends", True),)
    # make 11 not final: the claim the decision follows no longer holds, so it resolves nothing
    data = table_data("taobao_order")
    for s in data["states"]:
        if s["code"] == 11:
            s["final"] = False
            del s["provenance"]["inferred"]  # an inferred final goes with the final
    after = found(check(taobao_order=data), *d_key(d))
    assert after is not None and not after.resolved
    assert after.broken_decision is not None and "taobao.flow1.ends" in after.broken_decision


# ------------------------------------------------------------------ what a status means for a variable


def test_descriptions_of_unpay_disagree_about_pay_step() -> None:
    balance = found(BASELINE, "icbu_trade", "variable_in unpay pay_step BALANCE")
    full = found(BASELINE, "icbu_trade", "variable_in unpay pay_step FULL")
    assert balance is not None and full is not None
    assert {c.claim: c.table_agrees for c in balance.claims} == {
        "icbu.enum.unpay_zh": False,
        "icbu.faq2.unpay_advance_or_balance": True,
    }
    assert balance.resolved and full.resolved


def test_shipment_date_relative_holds_the_table_to_shipping_on_the_advance() -> None:
    # Release for shipment only once the advance is followed by a balance payment
    # (advance_paid: pay_step BALANCE): no order ships on its advance alone any more.
    data = table_data("icbu_trade")
    for t in data["transitions"]:
        if (t["src"], t.get("dst")) == ("captured", "undeliver"):
            t["guards"] = ["advance_paid"]
    report = check(icbu_trade=data)
    d = found(report, "icbu_trade", "variable_in undeliver pay_step ADVANCE")
    assert d is not None and not d.resolved
    assert {c.claim for c in d.claims} == {"icbu.shipment_date.relative"}


def test_variable_in_claims_parse_and_validate() -> None:
    text = {
        "doc": "x.txt",
        "claims": [
            {
                "id": "x.v",
                "kind": "variable_in",
                "machine": "icbu_trade",
                "section": "s",
                "says": "s",
                "meaning": "m",
                "status": "unpay",
                "variable": "pay_step",
            }
        ],
    }
    with pytest.raises(orderfsm.TableError, match="values"):
        parse_claims(text, "x.toml")


# ------------------------------------------------------------------ decisions quote every opposing source


def test_a_decision_must_quote_every_source_it_goes_against() -> None:
    data = table_data("taobao_order")
    for d in data["decisions"]:
        if d["id"] == "cancel-while-building":
            d["sides"] = [s for s in d["sides"] if s["section"] != "Main Order Flow"]
    report = check(taobao_order=data)
    d = found(report, "taobao_order", "transition 12 -> 4")
    assert d is not None and not d.resolved
    assert d.broken_decision is not None
    assert "does not quote" in d.broken_decision and "Main Order Flow" in d.broken_decision


# ------------------------------------------------------------------ sub_order_enables


def test_a_refund_of_goods_never_shipped_is_a_disagreement() -> None:
    # Drop the guard on the sub-order's own status: a sub-order still awaiting shipment
    # (10) of a main order in 10 may apply again, against 2. Refund Rules.
    data = table_data("taobao_refund")
    for t in data["transitions"]:
        if (t["src"], t["dst"]) == (0, 10):
            t["guards"] = ["main_order_allows_refund"]
    report = check(taobao_refund=data)
    d = found(report, "taobao_refund", "sub_order_enables apply_refund 0 10 10")
    assert d is not None and not d.resolved
    assert {c.claim for c in d.claims} == {"taobao.rules.refund.after_shipment.sub_order"}


@given(st.sampled_from([s.code for s in orderfsm.load("taobao_order").states if s.code != 11]))
@settings(max_examples=4)
def test_a_sub_order_claim_that_lets_an_unshipped_sub_order_refund_is_caught(own: int) -> None:
    claim = BY_ID["taobao.rules.refund.after_shipment.sub_order"]
    report = check(claims=replaced(claim.id, sub_orders=[*claim["sub_orders"], own]))
    d = found(report, "taobao_refund", f"sub_order_enables apply_refund 0 10 {own}")
    assert d is not None and not d.resolved


# ------------------------------------------------------------------ actors_of


def test_a_menu_naming_the_actor_holds_the_table_to_it() -> None:
    # 1688's menus: "Buyer confirms receipt"; give the confirmation to the seller instead.
    data = table_data("ka_pool_order")
    for t in data["transitions"]:
        if t["event"] == "confirm_receipt":
            t["actor"] = "seller"
    report = check(ka_pool_order=data)
    d = found(report, "ka_pool_order", "event_actor confirm_receipt buyer")
    assert d is not None and not d.resolved
    assert {c.claim for c in d.claims} == {
        "purchase_page.menu.1688_confirm_receipt",
        "status_callback.menu.1688_confirm_receipt",
    }


@given(st.sampled_from(["buyer", "finance", "platform"]))
@settings(max_examples=3)
def test_an_exact_actors_claim_naming_another_actor_is_caught(actor: str) -> None:
    # "drafted by <actor> only": the table's seller now goes against the claim
    claim = BY_ID["icbu.enum.seller_drafts"]
    report = check(claims=replaced(claim.id, actors=[actor]))
    d = found(report, "icbu_trade", "event_actor draft_order seller")
    assert d is not None and not d.resolved


def test_draft_role_against_the_seller_s_draft_is_resolved_by_a_decision() -> None:
    d = found(BASELINE, "icbu_trade", "event_actor draft_order buyer")
    assert d is not None and d.resolved and d.decision is not None
    assert d.decision.id == "draft-role"
    # the decision follows the status text: give the draft to the buyer and it breaks
    data = table_data("icbu_trade")
    for t in data["transitions"]:
        if t["event"] == "draft_order":
            t["actor"] = "buyer"
    after = found(check(icbu_trade=data), "icbu_trade", "event_actor draft_order seller")
    assert after is not None and not after.resolved


# ------------------------------------------------------------------ deadline


def test_a_deadline_the_table_does_not_state_as_transcribed_is_a_disagreement() -> None:
    """The Taobao table's deadlines agree with the transcribed Flow 1 time claims; a
    claim saying otherwise, or a table without the deadline, fails the check."""
    assert found(BASELINE, "taobao_order", "deadline 1") is None
    report = check(claims=replaced("taobao.time.finance", within=[1, 3]))
    d = found(report, "taobao_order", "deadline 1")
    assert d is not None and not d.resolved and not report.ok
    report = check(claims=replaced("taobao.time.shipment", unit="business_days"))
    assert found(report, "taobao_order", "deadline 10") is not None and not report.ok
    data = table_data("taobao_order")
    data["deadlines"] = [d for d in data["deadlines"] if d["status"] != 11]
    report = check(taobao_order=data)
    assert found(report, "taobao_order", "deadline 11") is not None and not report.ok


def test_a_deadline_from_the_orders_terms_is_checked_against_its_claim() -> None:
    """ICBU's undeliver is late by the order's own shipment_date (a ``deadline_from``
    claim): a claim naming another unit, a table stating a fixed deadline instead, or a
    table without it, each fails the check."""
    assert BY_ID["icbu.time.shipment_date"].kind == "deadline_from"
    assert found(BASELINE, "icbu_trade", "deadline undeliver") is None
    report = check(claims=replaced("icbu.time.shipment_date", unit="business_days"))
    d = found(report, "icbu_trade", "deadline undeliver")
    assert d is not None and not d.resolved and not report.ok
    fixed = table_data("icbu_trade")
    (entry,) = fixed["deadlines"]
    del entry["from"]
    entry["within"] = [1, 2]
    report = check(icbu_trade=fixed)
    assert found(report, "icbu_trade", "deadline undeliver") is not None and not report.ok
    none = table_data("icbu_trade")
    none["deadlines"] = []
    report = check(icbu_trade=none)
    assert found(report, "icbu_trade", "deadline undeliver") is not None and not report.ok
