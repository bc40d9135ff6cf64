"""The bounded reader (``orderfsm.model.bounded``) that every entry point shares: JSON
decoded within the rules reads exactly what ``json.loads`` reads, on both of its paths
(small texts decoded with their pairs in hand, large ones scanned first); a repeated key
is named at its place on both; decoded mappings are walked in linear time."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import orderfsm
from orderfsm.errors import PayloadError
from orderfsm.ingest import parse
from orderfsm.model.bounded import (
    MAX_NESTING,
    NOT_DECODED,
    _checked_json,
    _same_colons,
    _shallow,
    _structure,
    check_tree,
    decoded_json,
    key_path,
    load_json,
)

PAD = " " * (64 * 1024)  # JSON whitespace: makes any text take the large-text path

keys = st.text(max_size=6)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


@given(value=values, large=st.booleans())
def test_valid_json_reads_as_json_loads_reads_it(value: Any, large: bool) -> None:
    text = json.dumps(value) + (PAD if large else "")
    assert load_json(text, PayloadError) == json.loads(text)


def _integers(value: Any) -> list[int]:
    """Every integer in ``value`` (a bool is not one)."""
    if isinstance(value, dict | list):
        inner = value.values() if isinstance(value, dict) else value
        return [n for v in inner for n in _integers(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def _keys_and_depth(value: Any) -> tuple[int, int]:
    """How many keys ``value``'s objects hold in all, and how deep it nests."""
    if isinstance(value, dict | list):
        inner = [_keys_and_depth(v) for v in (value.values() if isinstance(value, dict) else value)]
        keys = sum(k for k, _ in inner) + (len(value) if isinstance(value, dict) else 0)
        return keys, 1 + max((d for _, d in inner), default=0)
    return 0, 0


@given(
    value=values,
    wrappers=st.lists(st.tuples(st.booleans(), keys), max_size=MAX_NESTING + 4),
    compact=st.booleans(),
)
def test_the_c_level_passes_count_every_key_and_measure_the_depth(
    value: Any, wrappers: list[tuple[bool, str]], compact: bool
) -> None:
    """What a small text is measured by before it is decoded (the number of keys, to
    find a repeated one, and whether it nests too deep) is exact for any valid JSON,
    whatever its strings hold (quotes, backslashes, colons, brackets) and however it is
    spaced."""
    for in_object, key in wrappers:
        value = {key: value} if in_object else [value]
    text = json.dumps(value, ensure_ascii=compact, separators=(",", ":") if compact else None)
    keys, depth = _keys_and_depth(value)
    marks = _structure(text.encode("utf-8", "surrogatepass"))
    event(f"depth over the limit: {depth > MAX_NESTING}")
    assert marks.count(b":") == keys
    assert _same_colons(text.encode("utf-8", "surrogatepass"), msgspec.json.encode(value))
    assert _shallow(marks) == (depth <= MAX_NESTING)
    long_integers = any(len(str(abs(n))) >= 19 for n in _integers(value))
    assert (b"0" * 19 in marks) == long_integers  # the integer check runs only then


def _objects(value: Any, path: str = "$") -> list[tuple[Any, str]]:
    """Every non-empty object in ``value`` with its path."""
    found: list[tuple[Any, str]] = []
    if isinstance(value, dict):
        if value:
            found.append((value, path))
        for k, v in value.items():
            found += _objects(v, key_path(path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _objects(v, f"{path}[{i}]")
    return found


MARK = "\x00repeat-here\x00"


@given(value=st.dictionaries(keys, values, min_size=1), data=st.data(), large=st.booleans())
def test_a_repeated_key_is_named_where_it_is_on_both_paths(
    value: Any, data: st.DataObject, large: bool
) -> None:
    objects = _objects(value)
    event(f"{'large' if large else 'small'} text, {len(objects)} object(s)")
    target, path = data.draw(st.sampled_from(objects))
    key = data.draw(st.sampled_from(sorted(target)))
    target[MARK] = None  # the last key of its object: replaced by a repeat of `key`
    text = json.dumps(value).replace(f"{json.dumps(MARK)}: null", f"{json.dumps(key)}: 0") + (
        PAD if large else ""
    )
    with pytest.raises(PayloadError, match="more than once") as e:
        load_json(text, PayloadError)
    assert e.value.path == key_path(path, key)


@pytest.mark.parametrize("large", [False, True])
def test_nesting_is_refused_beyond_the_limit_and_read_up_to_it(large: bool) -> None:
    pad = PAD if large else ""
    at_limit = "[" * MAX_NESTING + "]" * MAX_NESTING + pad
    assert load_json(at_limit, PayloadError) == json.loads(at_limit)
    over = "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1) + pad
    with pytest.raises(PayloadError, match="nesting"):
        load_json(over, PayloadError)


def test_a_mapping_sharing_one_list_everywhere_is_walked_once_per_depth() -> None:
    """2**25 paths through 26 objects: the payload parser's walk (shared with the table
    reader) visits each object once per depth, so this is refused at once, not in hours."""
    shared: Any = [{"purchaseId": 1}]
    for _ in range(25):
        shared = [shared, shared]
    with pytest.raises(orderfsm.PayloadError):
        parse({"code": 200, "data": {"data": shared}}, "purchase_page")


def test_the_walk_names_each_rule_it_enforces() -> None:
    cases: list[tuple[Any, str, str]] = [
        ({"a": [1, 2**63]}, "$.a[1]", "64-bit"),
        ({"a": {"b": "x\ud800"}}, "$.a.b", "lone surrogate"),
        ({"a": {1: "x"}}, "$.a", "not a string"),
        ({"a": {"b\udc00": 1}}, "$.a", "not Unicode"),
        ({"a": [{1, 2}]}, "$.a[0]", "not a JSON value"),
    ]
    for data, path, problem in cases:
        with pytest.raises(PayloadError, match=problem) as e:
            check_tree(data, PayloadError, json_only=True)
        assert e.value.path == path


# Text that may break any rule: long integers, lone surrogates, NaN, repeated keys, deep
# nesting, and bytes that make it malformed, spliced into valid JSON.
_hostile_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('"\\:{}[],'), max_size=6)
)
_hostile_values = st.recursive(
    _hostile_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)
_SPLICES = [
    "",
    "\\ud800",
    "\\udc00",
    '"\\ud83d\\ude00"',
    "NaN",
    "1e400",
    "12345678901234567890",
    "-9223372036854775809",
    "9223372036854775807",
    '"\\u0041"',
    "\ufeff",
    "\ud800",
    ",",
    ":",
    '"',
    "\\",
    "{",
    "}",
    "[",
    "]",
    "\x00",
    "\t",
    "01",
    '"k": 1, "k": 2',
    "[" * (MAX_NESTING + 1),
    "]" * (MAX_NESTING + 1),
]


def _outcome(read: Any) -> tuple[str, str]:
    """What reading gives: the value (its repr: 1, 1.0 and True differ) or the error."""
    try:
        return "value", repr(read())
    except PayloadError as e:
        return "error", f"{e.path}: {e}"


@given(
    value=_hostile_values,
    ascii_only=st.booleans(),
    splices=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(_SPLICES)), max_size=3),
    repeat=st.booleans(),
    deep=st.integers(0, MAX_NESTING + 2),
)
def test_the_msgspec_path_accepts_and_refuses_as_the_checked_path_does(
    value: Any,
    ascii_only: bool,
    splices: list[tuple[int, str]],
    repeat: bool,
    deep: int,
) -> None:
    """A small text msgspec decodes is one the checked decoder accepts, with the same
    value; anything else is left to the checked decoder, so every refusal and its
    message are the checked path's, whether the text arrives as str or as bytes."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    if repeat and isinstance(value, dict) and value:
        text = text[:-1] + f", {json.dumps(next(iter(value)))}: 0}}"
    text = "[" * deep + text + "]" * deep
    for at, splice in splices:
        text = text[: at % (len(text) + 1)] + splice + text[at % (len(text) + 1) :]
    checked = _outcome(lambda: _checked_json(text, PayloadError, "$"))
    event(f"checked: {checked[0]}")
    assert _outcome(lambda: load_json(text, PayloadError)) == checked
    raw = text.encode("utf-8", "surrogatepass")
    for given_as in (text, raw):
        fast = decoded_json(given_as)
        if fast is not NOT_DECODED:
            event("decoded by msgspec")
            assert checked == ("value", repr(fast))
