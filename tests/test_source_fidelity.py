"""Issue 20, source fidelity: the checker does not vouch for a broken decision, every
generated sentence is true of its own table, and the readings the issue corrected hold."""

from typing import Any

from orderfsm.check.report import conformance_markdown
from test_conformance import BASELINE, check, table_data
from test_conformance_kinds import found


def without_decision(name: str, decision: str) -> dict[str, Any]:
    data = table_data(name)
    data["decisions"] = [d for d in data["decisions"] if d["id"] != decision]
    return data


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
    return page.split("\n### ")[1:]


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
