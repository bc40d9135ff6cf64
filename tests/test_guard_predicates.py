"""Guards are declarative predicates from a closed vocabulary, evaluated without running code."""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.model import guards, predicates
from orderfsm.model.guards import REGISTRY, parse_guard
from orderfsm.model.predicates import (
    SUBJECTS,
    All,
    AnyOf,
    GuardContext,
    HasTag,
    Not,
    Same,
    VarIs,
    parse_predicate,
)

ICBU = orderfsm.load("icbu_trade")
TAGS = ("a", "b")


def _state(name: str, tags: frozenset[str]) -> orderfsm.State:
    return orderfsm.State(
        code=name,
        name=name,
        raw=None,
        phase="p",
        description="d",
        customer_text="t",
        provenance=ICBU.initial.provenance,
        tags=tags,
    )


states = st.builds(_state, st.sampled_from(("S", "T")), st.frozensets(st.sampled_from(TAGS)))
contexts = st.builds(
    GuardContext,
    machine=st.just("m"),
    event=st.just("e"),
    status=states,
    target=st.none() | states,
    parent=st.none() | states,
    variables=st.dictionaries(st.sampled_from(("v", "w")), st.sampled_from(("X", "Y"))),
    history=st.none() | states,
    sub_order=st.none() | states,
)
subjects = st.sampled_from(SUBJECTS)
leaves = (
    st.builds(HasTag, subjects, st.sampled_from(TAGS))
    | st.builds(VarIs, st.sampled_from(("v", "w")), st.sampled_from(("X", "Y")))
    | st.builds(Same, st.tuples(subjects, subjects))
)
trees = st.recursive(
    leaves,
    lambda inner: (
        st.builds(Not, inner)
        | st.builds(All, st.lists(inner, min_size=1, max_size=3).map(tuple))
        | st.builds(AnyOf, st.lists(inner, min_size=1, max_size=3).map(tuple))
    ),
    max_leaves=6,
)


def _meaning(data: object, ctx: GuardContext) -> bool:
    """The vocabulary's documented meaning, read straight off the data (an oracle)."""
    assert isinstance(data, dict)
    of = data.get("of")
    if data["op"] == "has_tag":
        state = getattr(ctx, str(of))
        return state is not None and data["tag"] in state.tags
    if data["op"] == "var_is":
        return ctx.variables.get(data["var"]) == data["value"]
    if data["op"] == "same":
        assert isinstance(of, list)
        a, b = getattr(ctx, of[0]), getattr(ctx, of[1])
        return a is not None and b is not None and a.name == b.name
    if data["op"] == "not":
        return not _meaning(data["arg"], ctx)
    results = [_meaning(a, ctx) for a in data["args"]]
    return all(results) if data["op"] == "all" else any(results)


@given(trees, contexts)
def test_a_predicate_means_what_its_data_says_and_reads_back(
    tree: predicates.Predicate, ctx: GuardContext
) -> None:
    data = tree.data()
    assert parse_predicate(data, "f", "e") == tree
    assert tree.holds(ctx) == _meaning(data, ctx)


@given(trees, contexts, contexts)
def test_reads_names_every_part_of_the_context_a_predicate_can_see(
    tree: predicates.Predicate, ctx: GuardContext, other: GuardContext
) -> None:
    # give ``other`` the parts ``tree`` reads from ``ctx``: the verdict cannot change
    reads = predicates.reads_of(tree)
    mixed = GuardContext(
        "m",
        "e",
        status=ctx.status if "status" in reads else other.status,
        target=ctx.target if "target" in reads else other.target,
        parent=ctx.parent if "parent" in reads else other.parent,
        variables=ctx.variables if "variables" in reads else other.variables,
        history=ctx.history if "history" in reads else other.history,
        sub_order=ctx.sub_order if "sub_order" in reads else other.sub_order,
    )
    assert tree.holds(mixed) == tree.holds(ctx)


def test_every_shipped_guard_is_a_predicate_with_its_reads() -> None:
    assert {n: g.reads for n, g in REGISTRY.items()} == {
        "payment_lock": ("status",),
        "main_order_allows_refund": ("parent",),
        "sub_order_shipped": ("parent", "sub_order"),
        "refund_cancellable": ("status",),
        "not_intercepted": ("status",),
        "balance_due": ("variables",),
        "advance_paid": ("variables",),
        "nothing_paid": ("variables",),
        "before_shipment": ("status",),
        "returns_to_history": ("history", "target"),
    }
    lock = REGISTRY["payment_lock"]
    assert lock.when == Not(HasTag("status", "payment_locked"))
    assert lock.error is orderfsm.PaymentLocked


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"op": "python", "code": "os.system('x')"}, "unknown predicate op 'python'"),
        ({"op": "has_tag", "of": "status"}, "has_tag takes exactly the keys of, op, tag"),
        ({"op": "has_tag", "of": "order", "tag": "x"}, "'order' is not a subject"),
        ({"op": "var_is", "var": "", "value": "x"}, "var_is.var: expected a non-empty string"),
        ({"op": "same", "of": ["history"]}, "same.of: expected two subjects"),
        ({"op": "all", "args": []}, "all.args: expected a non-empty list"),
        ("payment_lock", "expected a predicate table"),
    ],
)
def test_a_bad_predicate_is_refused_naming_where_and_why(data: object, problem: str) -> None:
    with pytest.raises(orderfsm.TableError) as info:
        parse_predicate({"op": "not", "arg": data}, "g.toml", "lock.when")
    assert info.value.file == "g.toml" and info.value.entry == "lock.when.arg"
    assert problem in info.value.problem


def test_a_guard_definition_names_a_known_error() -> None:
    body = {"rule": "r", "source": "s", "doc": "d", "error": "SystemExit", "when": {}}
    with pytest.raises(orderfsm.TableError, match="unknown error 'SystemExit'"):
        parse_guard("g", body, "g.toml", "g")


def test_guards_are_evaluated_without_eval_exec_or_imports_of_named_code() -> None:
    forbidden = {"eval", "exec", "compile", "__import__", "import_module", "getattr"}
    for module in (guards, predicates):
        tree = ast.parse(Path(str(module.__file__)).read_text("utf-8"))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not names & forbidden, module


def test_guards_and_predicates_are_values() -> None:
    for guard in REGISTRY.values():
        assert pickle.loads(pickle.dumps(guard)) == guard
        assert copy.deepcopy(guard) == guard and hash(copy.copy(guard.when)) == hash(guard.when)
        definition = {k: v for k, v in guard.data().items() if k != "reads"}
        assert parse_guard(guard.name, definition, "f", "e") == guard
