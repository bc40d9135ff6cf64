"""The conformance checker: shipped tables pass only through recorded decisions, and any
one-cell change to a table, a guard or a claim is reported (hypothesis over all cells)."""

import tomllib
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.check.claims import Claim, shipped_claims
from orderfsm.check.conformance import facts_of
from orderfsm.check.run import Report, run_check

CLAIMS = shipped_claims()


def table_data(name: str) -> dict[str, Any]:
    text = (resources.files("orderfsm") / "data" / "tables" / f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


def check(claims: Any = CLAIMS, **replaced: Any) -> Report:
    """Check every shipped machine, with some replaced by (mutated) table data."""
    return run_check([replaced.get(n, n) for n in orderfsm.MACHINES], claims=claims)


def signature(report: Report) -> tuple[object, ...]:
    return (
        tuple(
            (d.machine, d.subject, d.resolved, tuple(c.table_agrees for c in d.claims))
            for d in report.discrepancies
        ),
        tuple((f.machine, f.rule, f.detail) for f in report.lint),
    )


BASELINE = check()


def test_shipped_taobao_tables_pass_only_through_decisions() -> None:
    assert BASELINE.ok, BASELINE.unresolved
    assert BASELINE.discrepancies, "the documents disagree; the checker must find it"
    assert all(d.decision is not None for d in BASELINE.discrepancies)


def test_json_report_shape() -> None:
    data = BASELINE.to_json()
    assert set(data) >= {"machines", "discrepancies", "lint"}
    for d in data["discrepancies"]:
        assert set(d) >= {"machine", "transition", "claims", "decision", "resolved"}
        assert all(set(c) >= {"source", "section", "says"} for c in d["claims"])


def test_every_shipped_claim_expands_to_facts_or_says_why_not() -> None:
    machines = {n: orderfsm.load(n) for n in orderfsm.MACHINES}
    for claim in CLAIMS:
        if claim.machine in machines:
            assert facts_of(claim, machines), claim.id
        elif claim.kind == "informative":
            assert claim.get("reason"), claim.id


# ------------------------------------------------------------------ table mutations

MAIN = orderfsm.load("taobao_order")
CELLS = [(a.code, b.code) for a in MAIN.states for b in MAIN.states]


def flip_cell(data: dict[str, Any], src: int, dst: int) -> None:
    present = [t for t in data["transitions"] if (t["src"], t.get("dst")) == (src, dst)]
    if present:
        data["transitions"] = [t for t in data["transitions"] if t not in present]
        return
    data["events"].setdefault("mutant", {"description": "a mutation"})
    data["transitions"].append(
        {
            "src": src,
            "dst": dst,
            "event": "mutant",
            "actor": "platform",
            "provenance": {"kind": "inferred", "basis": "mutation test"},
        }
    )


@given(st.sampled_from(CELLS))
def test_flipping_any_main_cell_fails_the_check(cell: tuple[int, int]) -> None:
    data = table_data("taobao_order")
    flip_cell(data, *cell)
    report = check(taobao_order=data)
    assert not report.ok, f"flipping {cell} went unnoticed"


REFUND = orderfsm.load("taobao_refund")


@given(st.sampled_from([(a.code, b.code) for a in REFUND.states for b in REFUND.states]))
def test_flipping_any_refund_cell_fails_the_check(cell: tuple[int, int]) -> None:
    data = table_data("taobao_refund")
    flip_cell(data, *cell)
    report = check(taobao_refund=data)
    assert not report.ok, f"flipping refund {cell} went unnoticed"


def guard_uses() -> list[tuple[str, str, int | None]]:
    uses: list[tuple[str, str, int | None]] = []
    for name in orderfsm.MACHINES:
        data = table_data(name)
        uses += [
            (name, event, None) for event, body in data["events"].items() if body.get("guards")
        ]
        uses += [(name, "", i) for i, t in enumerate(data["transitions"]) if t.get("guards")]
    return uses


def behaviour(machine: orderfsm.CompiledMachine) -> set[tuple[object, ...]]:
    parents = [s.code for s in machine.parent.states] if machine.parent else [None]
    out = set()
    for s in machine.states:
        for e in machine.event_names:
            for p in parents:
                try:
                    out.add((s.code, e, p, machine.transition(s, e, parent=p).target.code))
                except orderfsm.TransitionRejected as exc:
                    out.add((s.code, e, p, type(exc).__name__))
    return out


@pytest.mark.parametrize("use", guard_uses())
def test_dropping_a_guard_is_reported_unless_it_changes_nothing(
    use: tuple[str, str, int | None],
) -> None:
    name, event, index = use
    data = table_data(name)
    if index is None:
        data["events"][event]["guards"] = []
    else:
        data["transitions"][index]["guards"] = []
    mutant = orderfsm.load(data)
    if behaviour(mutant) == behaviour(orderfsm.load(name)):
        return  # the edges alone already enforce this rule; nothing observable changed
    report = check(**{name: data})
    assert not report.ok, f"dropping the guard of {use} went unnoticed"


def test_payment_lock_guard_is_observable() -> None:
    data = table_data("taobao_order")
    data["events"]["cancel"]["guards"] = []
    assert behaviour(orderfsm.load(data)) != behaviour(MAIN)


# ------------------------------------------------------------------ claim mutations


def matrix_claim_cells() -> list[tuple[str, int, int]]:
    out = []
    for c in CLAIMS:
        if c.kind == "matrix":
            for r, row in enumerate(c["rows"]):  # type: ignore[arg-type]
                out += [(c.id, r, i) for i in range(len(row["marks"]))]
    return out


def refusal(machine: orderfsm.CompiledMachine, code: int, event: str) -> str:
    try:
        machine.transition(code, event, parent=11 if machine.parent else None)
    except orderfsm.TransitionRejected as exc:
        return type(exc).__name__
    return "accepted"


def with_fields(claim: Claim, **fields: object) -> Claim:
    return Claim(
        claim.id,
        claim.kind,
        claim.machine,
        claim.doc,
        claim.section,
        claim.says,
        claim.meaning,
        {**claim.fields, **fields},
        claim.file,
        claim.weight,
    )


@given(st.sampled_from(matrix_claim_cells()))
def test_flipping_any_matrix_claim_cell_is_reported(cell: tuple[str, int, int]) -> None:
    cid, r, i = cell
    claims = []
    for c in CLAIMS:
        if c.id != cid:
            claims.append(c)
            continue
        rows = [dict(row) for row in c["rows"]]
        marks = list(rows[r]["marks"])
        marks[i] = "-" if marks[i] == "\u2713" else "\u2713"
        rows[r]["marks"] = "".join(marks)
        claims.append(with_fields(c, rows=rows))
    assert signature(check(claims=claims)) != signature(BASELINE)


LIST_CLAIMS = [c for c in CLAIMS if c.kind in ("event_enabled", "event_refused", "path", "edges")]


@given(st.sampled_from(LIST_CLAIMS), st.data())
def test_making_a_list_or_path_claim_false_is_reported(claim: Claim, data: st.DataObject) -> None:
    key = "edges" if claim.kind == "edges" else "statuses"
    items = list(claim[key])  # type: ignore[call-overload]
    machine = orderfsm.load(str(claim.machine))
    if claim.kind in ("path", "edges"):
        # replace one step's destination by a status the table does not go to from there
        i = data.draw(st.integers(0, len(items) - 1))
        if claim.kind == "edges":
            src = items[i][0]
            wrong = [
                s.code
                for s in machine.states
                if not machine.has_edge(src, s.code) and s.code != items[i][1]
            ]
            items[i] = [src, data.draw(st.sampled_from(wrong))]
        else:
            if len(items) < 2:
                return
            i = max(i, 1)
            wrong = [
                s.code
                for s in machine.states
                if not machine.has_edge(items[i - 1], s.code) and s.code != items[i]
            ]
            items[i] = data.draw(st.sampled_from(wrong))
    elif claim.kind == "event_enabled":  # an exact list: dropping or adding one is wrong
        toggled = data.draw(st.sampled_from([s.code for s in machine.states]))
        items = [x for x in items if x != toggled] if toggled in items else [*items, toggled]
    else:  # a refusal list: claim a refusal where the table does something else
        error = str(claim.get("error"))
        wrong = [
            s.code for s in machine.states if refusal(machine, s.code, str(claim["event"])) != error
        ]
        items = [*items, data.draw(st.sampled_from(wrong))]
    mutated = [with_fields(c, **{key: items}) if c.id == claim.id else c for c in CLAIMS]
    assert signature(check(claims=mutated)) != signature(BASELINE)
