"""Issue 20, source fidelity: the checker does not vouch for a broken decision, every
generated sentence is true of its own table, and the readings the issue corrected hold."""

import re
from pathlib import Path

import pytest

import orderfsm
from orderfsm.check.claims import parse_claims
from orderfsm.check.report import conformance_markdown
from orderfsm.export.json_doc import document as json_document
from orderfsm.model.document import read_document
from orderfsm.model.guards import REGISTRY
from orderfsm.render.reference import BEGIN, reference
from test_conformance import BASELINE, CLAIMS, check, table_data, with_fields
from test_conformance_kinds import BY_ID, found, replaced, without_decision

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ a decision holds only while its claims do


def test_a_decision_breaks_when_a_claim_it_follows_fails_elsewhere_unanswered() -> None:
    # refund-drawing-omits-refusal follows the refund matrix; the table departs from the
    # matrix only at 30 -> -20, under decision cancel-refund-after-return. Take that
    # decision away and the matrix no longer holds, so the drawing's decision breaks too.
    before = found(BASELINE, "taobao_refund", "exists -10")
    assert before is not None and before.resolved
    follows = {f.claim: f for f in before.followed}
    assert follows["taobao.matrix.refund"].departures == ("cancel-refund-after-return",)
    report = check(taobao_refund=without_decision("taobao_refund", "cancel-refund-after-return"))
    after = found(report, "taobao_refund", "exists -10")
    assert after is not None and not after.resolved
    assert after.broken_decision is not None
    assert "taobao.matrix.refund" in after.broken_decision
    assert not report.ok


# ------------------------------------------------------------------ every generated sentence is true


def _sections(page: str) -> list[str]:
    """Each discrepancy's section, up to the next one or the next part of the page."""
    return [s.split("\n## ")[0] for s in page.split("\n### ")[1:]]


def test_every_source_against_is_said_only_when_every_source_is_against() -> None:
    page = conformance_markdown(BASELINE)
    uses = 0
    for section in _sections(page):
        rows = [r for r in section.splitlines() if r.startswith("| `")]
        all_against = all(r.rstrip().endswith("| **no** |") for r in rows)
        if "Every source here is against the table" in section:
            uses += 1
            assert all_against, section.splitlines()[0]
        if "Some sources here agree with the table" in section:
            assert not all_against, section.splitlines()[0]
    assert uses > 0


def test_a_resolved_section_never_says_a_followed_claim_no_longer_holds() -> None:
    page = conformance_markdown(BASELINE)
    for section in _sections(page):
        if "**Unresolved:**" not in section:
            assert "no longer holds" not in section, section.splitlines()[0]


# ------------------------------------------------------------------ a template is no evidence


def test_the_icbu_response_example_is_weighed_as_a_template() -> None:
    claim = BY_ID["icbu.response_example.completed_advance"]
    assert claim.weight == "template"
    for placeholder in ("123456789", "seller 或 buyer", "2343", "view_payment_link"):
        assert placeholder in claim.says
    assert "template" in claim.meaning and "no evidence" in claim.meaning


def test_a_template_never_makes_a_discrepancy_on_its_own() -> None:
    # Let the template say what the table cannot do: a trade still in review whose
    # advance is paid (pay_step BALANCE). A statement saying so would be a discrepancy.
    said = {"status": "to_be_audited", "values": ["BALANCE"]}
    report = check(claims=replaced("icbu.response_example.completed_advance", **said))
    assert report.ok
    assert found(report, "icbu_trade", "variable_in to_be_audited pay_step BALANCE") is None
    as_statement = [
        with_fields(c, **said) if c.id == "icbu.shipment_date.relative" else c for c in CLAIMS
    ]
    assert found(
        check(claims=as_statement), "icbu_trade", "variable_in to_be_audited pay_step BALANCE"
    )


def test_a_decision_that_follows_a_template_resolves_nothing() -> None:
    data = table_data("icbu_trade")
    for d in data["decisions"]:
        if d["id"] == "unpay-means-a-payment-is-due":
            d["follows"] = [*d["follows"], "icbu.response_example.completed_advance"]
    report = check(icbu_trade=data)
    d = found(report, "icbu_trade", "variable_in unpay pay_step BALANCE")
    assert d is not None and not d.resolved
    assert d.broken_decision is not None and "template" in d.broken_decision


def test_an_example_cannot_claim_what_cannot_happen() -> None:
    text = {
        "doc": "x.txt",
        "claims": [
            {
                "id": "x.example",
                "kind": "variable_in",
                "machine": "icbu_trade",
                "section": "s",
                "says": "s",
                "meaning": "m",
                "weight": "example",
                "status": "unpay",
                "variable": "pay_step",
                "values": ["ADVANCE"],
            }
        ],
    }
    with pytest.raises(orderfsm.TableError, match="exact = false"):
        parse_claims(text, "x.toml")


# ------------------------------------------------------------------ no dead guard vocabulary


def test_every_registered_guard_is_used_by_a_shipped_table() -> None:
    used = {"returns_to_history"}  # the compiler attaches it to every history edge
    for name in orderfsm.MACHINES:
        table = orderfsm.load(name).table
        used.update(g for e in table.events for g in e.guards)
        used.update(g for t in table.transitions for g in t.guards)
    assert set(REGISTRY) == used


# ------------------------------------------------------------------ refunds of goods never shipped


def test_goods_never_shipped_cannot_be_refunded_and_returned() -> None:
    # Main order 10 and the sub-order itself 10: the old guard let it run
    # 0 -> 10 -> 20 ("awaiting buyer return") -> 30 ("Buyer returned goods") -> 100.
    order = orderfsm.TaobaoOrder(status=10, sub_orders={"1001": 0})
    assert not order.can("apply_refund", sub_order="1001")
    with pytest.raises(orderfsm.RefundNotAllowed) as info:
        order.trigger("apply_refund", sub_order="1001")
    assert info.value.rule.startswith("a sub-order may apply for a refund only once its goods")
    assert order.refund_status("1001").code == 0


def test_the_api_response_example_is_what_the_table_allows() -> None:
    # 000 "API Response Example": main 10; 1002 is itself 11 and refunds; 1001 (10) does not.
    order = orderfsm.TaobaoOrder(
        status=10,
        sub_orders={"1001": 0, "1002": 0},
        sub_order_statuses={"1001": 10, "1002": 11},
    )
    assert order.trigger("apply_refund", sub_order="1002").target.code == 10
    assert not order.can("apply_refund", sub_order="1001")
    order.trigger("ship")  # once the main order has shipped, every sub-order has
    assert order.trigger("apply_refund", sub_order="1001").target.code == 10


def test_the_refund_guard_reads_the_sub_orders_own_status() -> None:
    refund = orderfsm.load("taobao_refund")
    allowed = {
        (p.code, s.code)
        for p in refund.parent.states
        for s in refund.parent.states
        if refund.allows(0, "apply_refund", parent=p, sub_order=s)
    }
    assert allowed == {(10, 11), *((11, s.code) for s in refund.parent.states)}
    assert not refund.allows(0, "apply_refund", parent=10)  # own status unknown: not shipped


def test_the_refund_window_decision_quotes_every_source_it_reconciles() -> None:
    table = orderfsm.load("taobao_refund").table
    (window,) = [d for d in table.decisions if d.id == "refund-window"]
    quoted = {c.section for c in window.sides}
    assert {
        "2. Refund Rules",
        "Flow 4: Refund/After-Sales Flow",
        "II. Refund/After-Sales Status (RefundStatusEnum)",
        "API Response Example",
    } <= quoted
    assert "1002" in window.reasoning and "never sent" in window.reasoning
    d = found(BASELINE, "taobao_refund", "parent_enables apply_refund 0 10")
    assert d is not None and d.resolved and d.decision is not None
    assert d.decision.id == "refund-window"


# ------------------------------------------------------------------ claims read no actor into a text


# The OpenAPI's caller, a developer, places and pays the purchase orders: the buying side.
ACTOR_WORDS = {
    "buyer": ("buyer", "买家", "developer"),
    "seller": ("seller", "卖家"),
    "finance": ("finance", "财务"),
    "platform": ("platform", "平台"),
}


def _names(text: str, words: tuple[str, ...]) -> bool:
    """Whether ``text`` names the actor as a word (not inside an enum name: WAIT_BUYER_PAY)."""
    return any(re.search(rf"(?<![A-Za-z_]){w}(?!_)", text, re.IGNORECASE) for w in words)


def test_no_claim_reads_an_actor_into_a_text_that_names_none() -> None:
    for claim in CLAIMS:
        for actor, words in ACTOR_WORDS.items():
            if _names(claim.meaning, (actor,)):
                assert _names(claim.says, words), (claim.id, actor)


# ------------------------------------------------------------------ provenance per fact


def test_an_inferred_event_and_actor_are_inferred_in_table_page_and_export() -> None:
    machine = orderfsm.load("taobao_order")
    (close,) = [t for t in machine.table.transitions if t.event == "platform_close"]
    assert close.provenance.of("edge")[0] == "documented"
    assert close.provenance.of("event")[0] == "inferred"
    assert close.provenance.of("actor")[0] == "inferred"
    exported = json_document(machine)
    (row,) = [t for t in exported["transitions"] if t["event"] == "platform_close"]
    assert set(row["provenance"]["inferred"]) == {"event", "actor"}
    assert read_document(exported).transitions == machine.table.transitions
    page = reference(machine)
    assert "on `platform_close`, event:" in page and "on `platform_close`, actor:" in page


@pytest.mark.parametrize(
    ("src", "dst", "facts"),
    [
        (12, 4, {"actor"}),
        (3, 4, {"event", "actor"}),
        (3, 0, {"actor"}),
        (2, 10, {"actor"}),
        (5, 10, {"actor"}),
        (1, 5, {"event", "actor"}),
    ],
)
def test_the_issues_inferred_event_names_and_actors_are_marked(
    src: int, dst: int, facts: set[str]
) -> None:
    machine = orderfsm.load("taobao_order")
    (t,) = [
        t
        for t in machine.table.transitions
        if (machine.status(t.src).code, machine.status(str(t.dst)).code) == (src, dst)
    ]
    assert {f for f, _ in t.provenance.inferred} == facts


def test_final_and_quarantine_by_inference_are_marked() -> None:
    machine = orderfsm.load("taobao_order")
    assert machine.status(11).provenance.of("final")[0] == "inferred"
    assert machine.status(9).provenance.of("quarantine")[0] == "inferred"
    assert "| yes *(inferred)* |" in reference(machine)


@pytest.mark.parametrize("name", orderfsm.MACHINES)
def test_no_page_says_documented_for_an_inferred_fact(name: str) -> None:
    machine = orderfsm.load(name)
    page = (REPO / "docs" / "machines" / f"{name}.md").read_text("utf-8")
    prose = page.split(BEGIN)[0]
    inferred = any(s.provenance.inferred for s in machine.states) or any(
        t.provenance.inferred or not t.provenance.documented for t in machine.table.transitions
    )
    if inferred:
        assert not re.search(
            r"[Ee]very (status and )?(every )?transition[^.]*\*\*documented\*\*", prose
        )


def test_an_inferred_fact_needs_its_basis_and_a_matching_state() -> None:
    data = table_data("taobao_order")
    data["states"][0]["provenance"]["inferred"] = {"final": "because"}
    with pytest.raises(orderfsm.TableError, match="is not final"):
        orderfsm.load(data)
    data = table_data("taobao_order")
    data["transitions"][0]["provenance"]["inferred"] = {"colour": "blue"}
    with pytest.raises(orderfsm.TableError, match="unknown key 'colour'"):
        orderfsm.load(data)


# ------------------------------------------------------------------ KA reconstruction


def test_ka_refund_window_is_decided_with_the_quote_in_view() -> None:
    ka = orderfsm.load("ka_pool_order")
    (window,) = [d for d in ka.table.decisions if d.id == "ka-refund-window"]
    quoted = " ".join(c.says for c in window.sides)
    assert "a paid order may also ask for a refund before shipment" in quoted
    # the quote's refund before shipment: money back, the trade ends as terminated
    assert ka.transition("waitsellersend", "cancel").target.code == "terminated"
    # the refund statuses (which include a return of goods) are for shipped goods
    assert not ka.allows("waitsellersend", "apply_refund")
    assert ka.transition("waitbuyerreceive", "apply_refund").target.code == "waitselleragree"
    assert "was a reason to model it once, not to forbid it" in window.reasoning


@pytest.mark.parametrize("status", ["waitbuyerreceive", "waitbuyersign", "signinsuccess"])
def test_an_unconfirmed_ka_order_is_confirmed_by_the_platform(status: str) -> None:
    ka = orderfsm.load("ka_pool_order")
    step = ka.transition(status, "auto_confirm_receipt")
    assert step.target.code == "confirm_goods"
    assert {t.actor for t in ka.edges if t.event == "auto_confirm_receipt"} == {"platform"}


def test_the_ka_page_labels_its_inferences() -> None:
    page = (REPO / "docs" / "machines" / "ka_pool_order.md").read_text("utf-8")
    prose = page.split(BEGIN)[0]
    derivation = prose.split("## Three levels and the derivation rule")[1]
    assert "**how a parent's status follows from its children is\ninferred**" in derivation
    assert "**Inferred**: that a paid order may be cancelled at all" in prose
    assert "ka-refunds-after-shipment" not in page
    ka = orderfsm.load("ka_pool_order")
    (paid_cancel,) = [
        t
        for t in ka.table.transitions
        if (t.src, t.dst, t.event) == ("WAIT_SELLER_SEND", "TERMINATED", "cancel")
    ]
    assert not paid_cancel.provenance.documented


@pytest.mark.parametrize(
    ("machine", "subject", "decision"),
    [
        # the 001/003 menus set against 000's rules and 002's fields
        ("ka_pool_order", "transition waitsellersend -> terminated", "ka-paid-cancel-terminates"),
        ("ka_pool_order", "event_actor auto_deduct buyer", "ka-payment-is-a-deduction"),
        ("taobao_order", "event_present pay", "pay-endpoint-outside-the-flows"),
        ("icbu_trade", "event_actor draft_order buyer", "draft-role"),
        # 000 read again: a consequence no source states, and who acts
        ("taobao_order", "transition 11 -> 4", "completed-trade-is-not-cancelled"),
        ("taobao_order", "exits_by 5 ('platform_close',)", "finance-system-is-the-platform"),
    ],
)
def test_each_new_contradiction_is_found_and_decided(
    machine: str, subject: str, decision: str
) -> None:
    d = found(BASELINE, machine, subject)
    assert d is not None and d.resolved, subject
    assert d.decision is not None and d.decision.id == decision
