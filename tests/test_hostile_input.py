"""Hostile input, second round (issue 21): each attack found on the public entry points is
answered with the library's own error, naming the field or file, within bounds.

The points: integers too long for ``int(str)``; table files read without limits (depth,
size, FIFOs, devices); the XML encoding allow-list bypassed by a long declaration; lone
surrogates as ids; ``--out`` naming a regular file; the memory of refusing a body with a
repeated key. The standing fuzzers are ``tests/test_entry_point_fuzz.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tracemalloc
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import orderfsm
from orderfsm.cli import main
from orderfsm.ingest import MAX_BODY_BYTES, parse
from orderfsm.model.bounded import MAX_FILE_BYTES, MAX_NESTING
from orderfsm.render.outputs import write_file

DATA = resources.files("orderfsm") / "data"
PAYLOADS = DATA / "payloads"
HUGE = 10**5000  # more digits than int(str) converts
JUST_OVER = 2**63  # the first integer outside 64 bits


def page() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / "001_purchase_page_response.json").read_bytes())
    return loaded


def callback() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / "003_status_callback.json").read_bytes())
    return loaded


def stored(kind: str) -> dict[str, Any]:
    if kind == "taobao":
        return orderfsm.TaobaoOrder(status=10, sub_orders={"a": 0}).to_dict()
    if kind == "icbu":
        order = orderfsm.IcbuOrder(status="undeliver")
        order.trigger("open_refund")
        return order.to_dict()
    return orderfsm.KaTrade({"o1": ["a"]}).to_dict()


ORDER_CLASSES = {"taobao": orderfsm.TaobaoOrder, "icbu": orderfsm.IcbuOrder, "ka": orderfsm.KaTrade}


def shipped_document(name: str = "icbu_trade") -> dict[str, Any]:
    from orderfsm.export.json_doc import document  # noqa: PLC0415

    return document(orderfsm.load(name))


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command in a child process (a hang fails the test by its timeout)."""
    return subprocess.run(
        [sys.executable, "-m", "orderfsm.cli", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], names: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"orderfsm: error: {names}")


# ----------------------------------------------------------------------------- 1. integers


@pytest.mark.parametrize(
    "value", [HUGE, -HUGE, JUST_OVER, -JUST_OVER - 1], ids=["huge", "-huge", "2**63", "-2**63-1"]
)
@pytest.mark.parametrize(
    ("kind", "build", "path"),
    [
        ("purchase_page", lambda v: page() | {"code": v}, "$.code"),
        (
            "status_callback",
            lambda v: (
                callback() | {"messageBody": [callback()["messageBody"][0] | {"purchase_id": v}]}
            ),
            "$.messageBody[0].purchase_id",
        ),
        ("icbu_order", lambda v: {"error_response": {"code": v}}, "$.error_response.code"),
    ],
)
def test_an_integer_out_of_range_in_a_mapping_is_a_payload_error_naming_it(
    kind: str, build: Any, path: str, value: int
) -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(build(value), kind)
    assert e.value.path == path
    assert "64-bit" in e.value.problem


def test_an_integer_of_5000_digits_in_json_text_is_refused_before_it_is_converted() -> None:
    body = '{"code": 200, "data": {"data": [{"purchaseId": ' + "9" * 5000 + "}]}}"
    with pytest.raises(orderfsm.PayloadError, match="outside the 64-bit range") as e:
        parse(body, "purchase_page")
    assert e.value.path == "$"


def test_integers_at_the_64_bit_edges_are_read() -> None:
    for value in (2**63 - 1, -(2**63)):
        body = callback()
        body["messageBody"][0]["purchase_id"] = value
        (snapshot,) = parse(json.dumps(body), "status_callback")
        assert snapshot.order_id == str(value)


@pytest.mark.parametrize("kind", sorted(ORDER_CLASSES))
@pytest.mark.parametrize("field", ["version", "status", "sub-order id"])
@pytest.mark.parametrize("value", [HUGE, JUST_OVER], ids=["huge", "2**63"])
def test_from_dict_refuses_an_integer_out_of_range_naming_the_field(
    kind: str, field: str, value: int
) -> None:
    data = stored(kind)
    if field == "version":
        data["version"], path = value, "$.version"
    elif field == "status":
        if kind == "ka":
            data["orders"][0]["sub_orders"][0]["status"] = value
            path = "$.orders[0].sub_orders[0].status"
        else:
            data["status"], path = value, "$.status"
    elif kind == "ka":
        data["orders"][0]["sub_orders"][0]["id"] = value
        path = "$.orders[0].sub_orders[0].id"
    elif kind == "taobao":
        data["sub_orders"][0]["id"], path = value, "$.sub_orders[0].id"
    else:
        data["history"]["sub_order"][0], path = value, "$.history.sub_order[0]"
    with pytest.raises(orderfsm.PayloadError) as e:
        ORDER_CLASSES[kind].from_dict(data)
    assert e.value.path == path
    assert "64-bit" in e.value.problem


@pytest.mark.parametrize(
    "ids",
    [{HUGE: 0}, {JUST_OVER: 0}, {"a": 0, JUST_OVER: 0}, {"\ud800": 0}],
    ids=["huge", "2**63", "mixed", "surrogate"],
)
def test_an_order_is_never_built_with_an_id_from_dict_would_refuse(ids: dict[Any, int]) -> None:
    with pytest.raises(orderfsm.InvalidOrderState, match="sub_orders: id"):
        orderfsm.TaobaoOrder(sub_orders=ids)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_table_file_with_an_integer_of_5000_digits_is_a_table_error(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"big{suffix}"
    if suffix == ".toml":
        shipped = (DATA / "tables" / "icbu_trade.toml").read_text("utf-8")
        path.write_text(shipped.replace("code = ", "code = " + "9" * 5000 + " #", 1), "utf-8")
    else:
        text = json.dumps(shipped_document())
        huge = re.sub(r'"version": \d+', '"version": ' + "9" * 5000, text, count=1)
        assert huge != text
        path.write_text(huge, "utf-8")
    with pytest.raises(orderfsm.TableError, match="64-bit") as e:
        orderfsm.load(path)
    assert e.value.file == str(path)


def test_a_table_mapping_with_an_integer_out_of_range_names_the_entry() -> None:
    document = shipped_document()
    document["states"][2]["code"] = JUST_OVER
    with pytest.raises(orderfsm.TableError, match="64-bit") as e:
        orderfsm.load(document)
    assert e.value.entry == "states[2].code"


def test_check_on_a_table_with_an_integer_of_5000_digits_prints_one_line(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("[machine]\nname = " + "9" * 5000 + "\n", "utf-8")
    assert_one_line_error(run_cli("check", "--table", str(path)), str(path))


# ----------------------------------------------------------------------------- 2. table files


def test_a_deeply_nested_json_table_is_a_table_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    with pytest.raises(orderfsm.TableError, match=f"nesting deeper than {MAX_NESTING}"):
        orderfsm.load(path)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_check_refuses_a_link_to_a_device_a_fifo_and_a_directory(
    tmp_path: Path, suffix: str
) -> None:
    device = tmp_path / f"zero{suffix}"
    device.symlink_to("/dev/zero")
    fifo = tmp_path / f"fifo{suffix}"
    os.mkfifo(fifo)
    folder = tmp_path / f"folder{suffix}"
    folder.mkdir()
    for path, kind in ((device, "a character device"), (fifo, "a FIFO"), (folder, "a directory")):
        done = run_cli("check", "--table", str(path))
        assert_one_line_error(done, str(path))
        assert f"not a regular file ({kind})" in done.stderr


def test_a_table_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(orderfsm.TableError, match="the limit is") as e:
        orderfsm.load(path)
    assert e.value.entry == "<file>"


def test_an_exported_document_file_with_a_repeated_key_names_it(tmp_path: Path) -> None:
    text = json.dumps(shipped_document(), indent=1)
    path = tmp_path / "doc.json"
    path.write_text(text.replace('"format":', '"version": 1, "format":', 1), "utf-8")
    with pytest.raises(orderfsm.TableError, match="more than once") as e:
        orderfsm.load(path)
    assert e.value.entry == "version"


# ----------------------------------------------------------------------------- 5. XML encodings

XML = (PAYLOADS / "002_order_get_response.xml").read_bytes()


@pytest.mark.parametrize("encoding", ["unicode_escape", "cp1252", "koi8_r", "utf-16", "rot13"])
@pytest.mark.parametrize("padding", [0, 200, 250, 10_000])
def test_an_xml_encoding_outside_the_allow_list_is_refused_however_long_the_declaration(
    encoding: str, padding: int
) -> None:
    body = f'<?xml version="1.0"{" " * padding} encoding="{encoding}"?>'.encode() + XML
    with pytest.raises(orderfsm.PayloadError, match="not accepted") as e:
        parse(body, "icbu_order")
    assert e.value.path == "$"


def test_the_parser_reads_xml_in_the_encoding_the_check_allowed() -> None:
    """Latin-1 declared is read as Latin-1; an undeclared body is read as UTF-8, whatever
    a declaration the check could not see would say (the parser is told the encoding)."""
    latin = XML.replace(b"<trade_status>", b"<trade_status>\xe9", 1)
    declared = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + latin
    (snapshot,) = parse(declared, "icbu_order")
    assert snapshot.trade_status.startswith("\xe9")
    with pytest.raises(orderfsm.PayloadError, match="malformed XML"):
        parse(latin, "icbu_order")  # not UTF-8, and nothing says otherwise


# ----------------------------------------------------------------------------- 6. surrogates

LONE = "\ud800"


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize(
    ("kind", "build", "path"),
    [
        ("purchase_page", lambda: _set(page(), ("data", "data", 0, "purchaseId")), "purchaseId"),
        (
            "purchase_page",
            lambda: _set(page(), ("data", "data", 0, "subOrderVOS", 0, "taobaoSubPurchaseId")),
            "taobaoSubPurchaseId",
        ),
        (
            "purchase_page",
            lambda: _set(page(), ("data", "data", 0, "subOrderVOS", 0, "subOrderStatus")),
            "subOrderStatus",
        ),
        (
            "status_callback",
            lambda: _set(callback(), ("messageBody", 0, "purchase_id")),
            "purchase_id",
        ),
        ("status_callback", lambda: _set(callback(), ("messageBody", 0, "status")), "status"),
        (
            "icbu_order",
            lambda: {"alibaba_seller_order_get_response": {"value": {"trade_id": LONE}}},
            "trade_id",
        ),
    ],
)
def test_a_lone_surrogate_as_an_id_or_status_is_a_payload_error_naming_it(
    kind: str, build: Any, path: str, as_text: bool
) -> None:
    body = build()
    with pytest.raises(orderfsm.PayloadError, match="lone surrogate") as e:
        parse(json.dumps(body) if as_text else body, kind)
    assert e.value.path.endswith(f".{path}")


def _set(body: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = LONE
    return body


def test_a_surrogate_pair_escaped_in_json_is_one_character_and_read() -> None:
    body = json.dumps(callback()).replace(
        '"purchase_id": ', '"purchase_id": "\\ud83d\\ude00", "x":', 1
    )
    (snapshot,) = parse(body, "status_callback")
    assert snapshot.order_id == "\U0001f600"


@pytest.mark.parametrize("kind", sorted(ORDER_CLASSES))
def test_from_dict_refuses_a_lone_surrogate_naming_the_field(kind: str) -> None:
    """As an id (Taobao sub-order, KA order) or a status (ICBU)."""
    data = stored(kind)
    if kind == "ka":
        data["orders"][0]["id"], path = LONE, "$.orders[0].id"
    elif kind == "taobao":
        data["sub_orders"][0]["id"], path = LONE, "$.sub_orders[0].id"
    else:
        data["status"], path = LONE, "$.status"
    with pytest.raises(orderfsm.PayloadError, match="lone surrogate") as e:
        ORDER_CLASSES[kind].from_dict(data)
    assert e.value.path == path


def test_a_table_with_a_lone_surrogate_in_a_text_is_refused() -> None:
    document = shipped_document()
    document["states"][0]["description"] = f"x{LONE}"
    with pytest.raises(orderfsm.TableError, match="lone surrogate") as e:
        orderfsm.load(document)
    assert e.value.entry == "states[0].description"


# ----------------------------------------------------------------------------- 7. --out FILE


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "taobao_order", "--out", "{file}"],
        ["export", "taobao_order", "--out", "{file}/deeper"],
        ["diagrams", "--format", "dot", "--machine", "icbu_trade", "--out", "{file}"],
        ["audit", "{csv}", "--machine", "taobao_order", "--diagram", "{file}/x.svg"],
        ["audit", "{csv}", "--machine", "taobao_order", "--diagram", "{file}/a/b/x.dot"],
    ],
)
def test_an_output_path_through_a_regular_file_is_a_one_line_error(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "a_file"
    file.write_text("keep me", "utf-8")
    csv = tmp_path / "h.csv"
    csv.write_text("order_id,seq,status\nA,1,10\nA,2,11\n", "utf-8")
    args = [a.format(file=file, csv=csv) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("orderfsm: error: ")
    assert file.read_text("utf-8") == "keep me"


def test_the_writer_names_the_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x", "utf-8")
    with pytest.raises(orderfsm.OrderFsmError, match="a_file is not a directory"):
        write_file(tmp_path / "a_file" / "b" / "c.txt", b"data")


# ----------------------------------------------------------------------------- 8. memory

REPEATED: dict[str, tuple[bytes, bytes, bytes]] = {
    "one object, one key many times": (b'{"k": 1', b', "k": 1', b"}"),
    "one object, a few keys over and over": (b'{"a": 1, "b": 2', b', "a": 1, "b": 2', b"}"),
    "many small objects, each repeating a key": (b"[", b'{"a":1,"a":2},', b"1]"),
    "orders of a page, each repeating a key": (
        b'{"code": 200, "data": {"data": [',
        b'{"purchaseId": 1, "purchaseId": 2},',
        b"1]}}",
    ),
}


def repeated_body(shape: str) -> bytes:
    head, unit, tail = REPEATED[shape]
    return head + unit * ((MAX_BODY_BYTES - len(head) - len(tail)) // len(unit)) + tail


@pytest.mark.parametrize("kind", ["purchase_page", "status_callback"])
@pytest.mark.parametrize("shape", sorted(REPEATED))
def test_a_2_mib_body_repeating_keys_is_refused_in_a_small_multiple_of_its_size(
    kind: str, shape: str
) -> None:
    body = repeated_body(shape)
    assert MAX_BODY_BYTES - 100 < len(body) <= MAX_BODY_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(orderfsm.PayloadError, match="more than once"):
            parse(body, kind)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(body), f"{peak / 2**20:.1f} MiB for a {len(body)} byte body"


def test_a_repeated_key_deep_in_a_large_body_is_named() -> None:
    orders = [{"purchaseId": i, "status": 1, "subOrderVOS": []} for i in range(4000)]
    text = json.dumps({"code": 200, "data": {"data": orders}})
    assert len(text) > 64 * 1024  # the large-body path: scanned first
    at = text.index('"purchaseId": 3210')
    text = text[:at] + '"status": 2, ' + text[at:]
    with pytest.raises(orderfsm.PayloadError, match="more than once") as e:
        parse(text, "purchase_page")
    assert e.value.path == "$.data.data[3210].status"


@pytest.mark.parametrize(
    "call",
    [
        lambda: orderfsm.TaobaoOrder(status=HUGE),
        lambda: orderfsm.IcbuOrder(status=HUGE),
        lambda: orderfsm.load("taobao_order").status(HUGE),
        lambda: orderfsm.TaobaoOrder(sub_orders=["a"]).trigger("apply_refund", sub_order=HUGE),
        lambda: orderfsm.KaTrade({"o": ["a"]}).trigger("ship", order=HUGE),
        lambda: orderfsm.KaTrade({"o": ["a"]}).trigger("ship", order="o", sub_order=HUGE),
    ],
    ids=["taobao status", "icbu status", "machine status", "sub-order", "ka order", "ka sub"],
)
def test_an_integer_too_long_to_print_is_named_by_its_size_in_errors(call: Any) -> None:
    with pytest.raises(orderfsm.OrderFsmError, match="an integer of 16610 bits"):
        call()


def test_docs_writes_no_page_through_a_planted_symlink(tmp_path: Path) -> None:
    """``orderfsm docs --root`` writes its pages like every output (the same writer)."""
    repository = Path(__file__).resolve().parent.parent
    (tmp_path / "docs" / "machines").mkdir(parents=True)
    for machine in orderfsm.MACHINES:
        page = Path("docs/machines") / f"{machine}.md"
        (tmp_path / page).write_bytes((repository / page).read_bytes())
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", "utf-8")
    (tmp_path / "docs" / "conformance.md").symlink_to(victim)
    assert main(["docs", "--root", str(tmp_path)]) == 0
    assert victim.read_text("utf-8") == "keep me"
    assert not (tmp_path / "docs" / "conformance.md").is_symlink()
