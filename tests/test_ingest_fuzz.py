"""Fuzz orderfsm.ingest.parse: whatever the body, only orderfsm's own errors come out.

Budget: the hypothesis profile (``ci``: 150 derandomised examples per test).
"""

from __future__ import annotations

import importlib
import json
import tracemalloc
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import KINDS, IcbuSnapshot, TaobaoSnapshot, parse
from support import json_paths, replaced_at

PAYLOADS = resources.files("orderfsm") / "data" / "payloads"
JSON_FIXTURES = {
    "purchase_page": ["000_api_response_example.json", "001_purchase_page_response.json"],
    "status_callback": ["003_status_callback.json"],
}
XML_FIXTURE = (PAYLOADS / "002_order_get_response.xml").read_bytes()

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def parse_or_payload_error(body: Any, kind: str) -> None:
    """Parse; the result must be well-typed records, or the error a PayloadError with a path."""
    try:
        snapshots = parse(body, kind)
    except orderfsm.PayloadError as e:
        assert e.path.startswith("$")
        return
    for s in snapshots:
        if kind == "icbu_order":
            assert isinstance(s, IcbuSnapshot)
            assert isinstance(s.trade_status, str)
        else:
            assert isinstance(s, TaobaoSnapshot)
            assert s.status_code is None or isinstance(s.status_code, int)
            assert all(isinstance(x.sub_order_id, str | None) for x in s.sub_orders)


@pytest.mark.parametrize("kind", KINDS)
@given(body=st.text(max_size=200) | st.binary(max_size=200))
def test_random_text_and_bytes(kind: str, body: str | bytes) -> None:
    parse_or_payload_error(body, kind)


@pytest.mark.parametrize("kind", KINDS)
@given(value=json_values)
def test_random_json_values_as_text_and_mapping(kind: str, value: Any) -> None:
    parse_or_payload_error(json.dumps(value), kind)
    if isinstance(value, dict):
        parse_or_payload_error(value, kind)


@pytest.mark.parametrize(
    ("kind", "name"), [(k, n) for k, names in JSON_FIXTURES.items() for n in names]
)
@given(data=st.data())
def test_documented_payloads_with_one_field_replaced(kind: str, name: str, data: Any) -> None:
    base = json.loads((PAYLOADS / name).read_bytes())
    path = data.draw(st.sampled_from(json_paths(base)))
    mutated = replaced_at(base, path, data.draw(json_values))
    parse_or_payload_error(mutated, kind)
    parse_or_payload_error(json.dumps(mutated), kind)


@given(data=st.data())
def test_xml_fixture_with_bytes_cut_or_inserted(data: Any) -> None:
    at = data.draw(st.integers(0, len(XML_FIXTURE)))
    cut = data.draw(st.integers(0, 40))
    insert = data.draw(
        st.binary(max_size=20) | st.sampled_from([b"<", b">", b"&", b"<!DOCTYPE x>"])
    )
    parse_or_payload_error(XML_FIXTURE[:at] + insert + XML_FIXTURE[at + cut :], "icbu_order")


# ----------------------------------------------------------------------------- hostile shapes
# Bodies built to make a parser slow or greedy (issue 9.7): a prefix and a unit repeated.
# The property is that each is refused with a PayloadError at any size up to the limit;
# a 2 MiB instance of each is refused (a quadratic scan would not finish in the suite's
# lifetime) within a bounded peak of memory, measured with tracemalloc (no timing).
HOSTILE: dict[str, tuple[bytes, bytes]] = {
    "escaped quotes in an open string": (b'{"messageBody": "', b'\\"'),
    "escaped quotes after many brackets": (b"[" + b"[]," * 40 + b'"', b'\\"'),
    "backslashes in an open string": (b'{"data": "', b"\\\\"),
    "open arrays": (b"", b"["),
    "open objects": (b"", b'{"a":'),
    "strings inside open arrays": (b"", b'["\\"",'),
    "quotes and brackets": (b'{"a": ', b'"[{",['),
    "unclosed XML tags": (b"", b"<a>"),
    "XML tags with attributes": (b"", b'<a b="&quot;">'),
}


# Wide rather than deep: linear to refuse, but their decoded data is itself larger than
# the body (one Python object per entry), so they are left out of the memory bound.
WIDE: dict[str, tuple[bytes, bytes]] = {
    "numbers where orders belong": (b'{"code": 200, "data": {"data": [', b"1,"),
    "empty objects where orders belong": (b'{"messageBody": [', b"{},"),
    "one key many times": (b'{"data": {"data": [{', b'"k": 1,'),
}


def hostile(shape: str, repeat: int) -> bytes:
    prefix, unit = {**HOSTILE, **WIDE}[shape]
    return prefix + unit * repeat


def two_mib(shape: str) -> bytes:
    prefix, unit = HOSTILE[shape]
    return hostile(shape, (orderfsm.ingest.MAX_BODY_BYTES - len(prefix)) // len(unit))


@pytest.mark.parametrize("kind", KINDS)
@given(shape=st.sampled_from(sorted({**HOSTILE, **WIDE})), repeat=st.integers(0, 3000))
def test_hostile_shapes_are_refused_at_any_size(kind: str, shape: str, repeat: int) -> None:
    body = hostile(shape, repeat)
    parse_or_payload_error(body, kind)
    parse_or_payload_error(body.decode(), kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_a_2_mib_hostile_body_is_refused_in_bounded_memory(kind: str, shape: str) -> None:
    body = two_mib(shape)
    assert len(body) <= orderfsm.ingest.MAX_BODY_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(orderfsm.PayloadError):
            parse(body, kind)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(body), f"{peak / 2**20:.1f} MiB for a {len(body)} byte body"


@pytest.mark.parametrize(
    "encoding",
    [
        *("rot13", "base64", "hex", "zlib", "bz2", "uu", "quopri", "idna", "punycode"),
        *("utf-7", "undefined", "bogus", "utf-32", "utf-16", "cp037", "mbcs"),
    ],
)
def test_an_xml_encoding_python_would_decode_otherwise_is_a_payload_error(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + XML_FIXTURE
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(body, "icbu_order")
    assert e.value.path == "$"


@given(encoding=st.text(st.characters(codec="ascii", exclude_characters="\"'<>"), max_size=12))
def test_any_declared_xml_encoding_gives_records_or_a_payload_error(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + XML_FIXTURE
    parse_or_payload_error(body, "icbu_order")


parse_module = importlib.import_module("orderfsm.ingest.parse")  # the function hides it
_callback_values = (
    st.sampled_from(["5", " 7 ", "", "WAIT_BUYER_PAY", "1" * 20, 2**63, -(2**63), True, ()])
    | json_values
)


def _outcome(body: Any, strict: bool) -> tuple[str, Any]:
    """What parsing gives: the records, or the error with its path and fields."""
    try:
        return "records", parse(body, "status_callback", strict=strict)
    except orderfsm.PayloadError as e:
        return "error", (e.path, str(e), e.platform_code, e.platform_message)


@given(data=st.data(), strict=st.booleans(), extra=st.booleans())
def test_the_plain_callback_read_gives_what_the_positioned_read_gives(
    data: Any, strict: bool, extra: bool
) -> None:
    """The callback read without positions (``_plain_callback``) accepts exactly what the
    positioned read accepts, with the same records, and otherwise leaves the body to it,
    so every refusal keeps its path and message: ``003``'s example with any node
    replaced (ids as numbers, statuses as decimal strings, nulls, bools, tuples, integers
    past 64 bits), an unknown field added or not, read strictly or not, as a mapping."""
    base = json.loads((PAYLOADS / "003_status_callback.json").read_bytes())
    if extra:
        base["messageBody"][0]["undocumented"] = 1
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(json_paths(base)))
        base = replaced_at(base, path, data.draw(_callback_values))
    plain = _outcome(base, strict)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse_module, "_plain_callback", lambda root, strict: None)
        positioned = _outcome(base, strict)
    assert plain == positioned
