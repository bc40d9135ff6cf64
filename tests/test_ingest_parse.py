"""orderfsm.ingest.parse: the documents' payload examples, and bad or hostile bodies."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import orderfsm
from orderfsm.ingest import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    IcbuSnapshot,
    TaobaoSnapshot,
    parse,
)
from orderfsm.model.records import ShipmentDate

PAYLOADS = resources.files("orderfsm") / "data" / "payloads"
FIXTURES = Path(__file__).parent / "fixtures"


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def page(name: str = "001_purchase_page_response.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(payload(name))
    return data


def taobao(body: Any, kind: str = "purchase_page") -> list[TaobaoSnapshot]:
    out = []
    for s in parse(body, kind):
        assert isinstance(s, TaobaoSnapshot)
        out.append(s)
    return out


# ----------------------------------------------------------------------------- fixtures


def test_every_shipped_payload_is_listed_in_the_readme() -> None:
    readme = (PAYLOADS / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in PAYLOADS.iterdir() if p.name != "README.md")
    assert names == [
        "000_api_response_example.json",
        "000_customer_fields.json",
        "001_purchase_page_request.json",
        "001_purchase_page_response.json",
        "002_error_response.xml",
        "002_order_get_response.xml",
        "003_status_callback.json",
    ]
    assert all(f"`{n}`" in readme for n in names)


def test_purchase_page_001_as_str_bytes_and_mapping_agree() -> None:
    raw = payload("001_purchase_page_response.json")
    from_bytes = parse(raw, "purchase_page")
    assert parse(raw.decode("utf-8"), "purchase_page") == from_bytes
    assert parse(json.loads(raw), "purchase_page") == from_bytes


def test_purchase_page_001_fields() -> None:
    first, second = taobao(payload("001_purchase_page_response.json"))
    assert (first.order_id, first.status_code, first.status_text) == (
        "200058578338",
        5,
        "WAIT_BUYER_P",
    )
    assert first.modify_time is None
    assert first.path == "$.data.data[0]"
    (sub,) = first.sub_orders
    assert sub.sub_order_id == "200058578339"
    assert (sub.status, sub.refund_status, sub.refund_id) == ("WAIT_BUYER_P", 0, None)
    # decoded from the JSON-in-a-string subOrderResult
    assert sub.detail_status == "WAIT_BUYER_P"
    assert second.order_id == "200058578340"
    assert second.sub_orders[0].sub_order_id == "200058578341"


def test_purchase_page_000_api_response_example() -> None:
    (order,) = taobao(payload("000_api_response_example.json"))
    assert (order.order_id, order.status_code, order.status_text) == (
        "67890",
        10,
        "WAIT_SELLER_SEND_GOODS",
    )
    assert [(s.sub_order_id, s.status, s.refund_status, s.refund_id) for s in order.sub_orders] == [
        ("1001", "WAIT_SELLER_SEND_GOODS", 0, None),
        ("1002", "WAIT_BUYER_CONFIRM_GOODS", 10, "refund_123456"),
    ]


def test_purchase_page_000_customer_fields_is_one_bare_order_without_an_identity() -> None:
    """The "Fields Visible to Customers" example names no purchaseId: it cannot be
    applied to any order, so it is refused naming the field."""
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(payload("000_customer_fields.json"), "purchase_page")
    assert (e.value.path, e.value.problem) == ("$.purchaseId", "required field is missing")
    body = json.loads(payload("000_customer_fields.json")) | {"purchaseId": 7}
    (order,) = taobao(json.dumps(body))
    assert (order.order_id, order.status_code, order.path) == ("7", 10, "$")
    (sub,) = order.sub_orders
    assert (sub.sub_order_id, sub.status, sub.refund_status) == (None, "WAIT_SELLER_SEND_GOODS", 0)


def test_the_001_request_body_is_not_a_response() -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(payload("001_purchase_page_request.json"), "purchase_page")
    assert e.value.path == "$.subOrderVOS"


def test_status_callback_003() -> None:
    (order,) = taobao(payload("003_status_callback.json"), "status_callback")
    assert order.kind == "status_callback"
    assert (order.order_id, order.status_code, order.status_text) == ("0", None, "string")
    assert order.modify_time == 0
    assert order.message_type == "string"
    (sub,) = order.sub_orders
    assert (sub.sub_order_id, sub.status, sub.refund_status) == ("string", "string", None)


def test_icbu_xml_002() -> None:
    (order,) = parse(payload("002_order_get_response.xml"), "icbu_order")
    assert order == IcbuSnapshot(
        order_id="12345",
        trade_status="trade_success",
        pay_step="ADVANCE",
        status_action="trade_success",
        actions=("view_payment_link",),
        path="$.alibaba_seller_order_get_response.value",
        shipment_date=ShipmentDate("relative", 2, 213453),
    )


def test_icbu_derived_json_reads_like_the_xml() -> None:
    derived = (FIXTURES / "002_order_get_response_derived.json").read_bytes()
    assert parse(derived, "icbu_order") == parse(
        payload("002_order_get_response.xml"), "icbu_order"
    )


def test_icbu_error_response_002_is_a_payload_error_with_the_platform_code() -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(payload("002_error_response.xml"), "icbu_order")
    assert e.value.path == "$.error_response"
    assert "'50'" in str(e.value) and "isv.invalid-parameter" in str(e.value)
    assert (e.value.platform_code, e.value.platform_message) == ("50", "Remote service error")
    assert (e.value.platform_sub_code, e.value.platform_sub_message) == (
        "isv.invalid-parameter",
        "非法参数",
    )


def test_platform_error_code_on_purchase_page() -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse({"code": 500, "msg": "boom", "data": None}, "purchase_page")
    assert e.value.path == "$.code"
    assert (e.value.platform_code, e.value.platform_message) == ("500", "boom")
    assert (e.value.platform_sub_code, e.value.platform_sub_message) == (None, None)


def test_a_payload_error_that_is_not_the_platforms_carries_no_platform_code() -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse({"messageBody": [{"status": "WAIT_BUYER_P"}]}, "status_callback")
    assert (e.value.platform_code, e.value.platform_message) == (None, None)


# ----------------------------------------------------------------------------- lenient


def test_numbers_as_strings_and_ids_as_numbers_are_read() -> None:
    body = page()
    order = body["data"]["data"][0]
    order["status"] = "10"
    order["purchaseId"] = "200058578338"
    order["subOrderVOS"][0]["refundStatus"] = "10"
    order["subOrderVOS"][0]["taobaoSubPurchaseId"] = 200058578339
    first = taobao(body)[0]
    assert first.status_code == 10
    assert first.order_id == "200058578338"
    assert first.sub_orders[0].refund_status == 10
    assert first.sub_orders[0].sub_order_id == "200058578339"


def test_callback_status_as_a_code_and_modify_time_as_a_string() -> None:
    body = json.loads(payload("003_status_callback.json"))
    body["messageBody"][0]["status"] = "5"
    body["messageBody"][0]["modify_time"] = "1736035201000"
    (order,) = taobao(body, "status_callback")
    assert (order.status_code, order.status_text, order.modify_time) == (5, None, 1736035201000)


def test_extra_fields_are_ignored_unless_strict() -> None:
    body = page()
    body["data"]["data"][0]["newPlatformField"] = {"anything": [1, 2]}
    assert len(parse(body, "purchase_page")) == 2
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(body, "purchase_page", strict=True)
    assert e.value.path == "$.data.data[0].newPlatformField"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("000_api_response_example.json", "purchase_page"),
        ("001_purchase_page_response.json", "purchase_page"),
        ("003_status_callback.json", "status_callback"),
    ],
)
def test_documented_examples_pass_strict(name: str, kind: str) -> None:
    assert parse(payload(name), kind, strict=True)


def test_null_sub_order_list_is_empty() -> None:
    body = page()
    body["data"]["data"][0]["subOrderVOS"] = None
    assert taobao(body)[0].sub_orders == ()


# ----------------------------------------------------------------------------- rejected


def _with(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        ((["data", "data", 0, "status"], "five"), "$.data.data[0].status"),
        ((["data", "data", 0, "status"], 5.5), "$.data.data[0].status"),
        ((["data", "data", 0, "status"], True), "$.data.data[0].status"),
        ((["data", "data", 0, "status"], None), "$.data.data[0].status"),
        ((["data", "data", 0, "orderStatusDesc"], 7), "$.data.data[0].orderStatusDesc"),
        ((["data", "data", 0, "subOrderVOS"], {"a": 1}), "$.data.data[0].subOrderVOS"),
        (
            (["data", "data", 0, "subOrderVOS", 0, "refundStatus"], "ten"),
            "$.data.data[0].subOrderVOS[0].refundStatus",
        ),
        (
            (["data", "data", 0, "subOrderVOS", 0, "subOrderResult"], "{not json"),
            "$.data.data[0].subOrderVOS[0].subOrderResult<json>",
        ),
        (
            (["data", "data", 0, "subOrderVOS", 0, "subOrderResult"], '{"status": 3}'),
            "$.data.data[0].subOrderVOS[0].subOrderResult<json>.status",
        ),
        (
            (["data", "data", 0, "subOrderVOS", 0, "taobaoSubPurchaseId"], ""),
            "$.data.data[0].subOrderVOS[0].taobaoSubPurchaseId",
        ),
        ((["data", "data"], "many"), "$.data.data"),
        ((["data"], []), "$.data"),
    ],
)
def test_wrong_types_name_the_field(edit: tuple[list[Any], Any], path: str) -> None:
    body = _with(page(), *edit)
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(body, "purchase_page")
    assert e.value.path == path


@pytest.mark.parametrize(
    ("kind", "body", "path"),
    [
        ("purchase_page", {"data": {"total": 1}}, "$.data.data"),
        (
            "purchase_page",
            {"data": {"data": [{"purchaseId": 1, "subOrderVOS": []}]}},
            "$.data.data[0].status",
        ),
        ("status_callback", {"messageType": "x"}, "$.messageBody"),
        (
            "status_callback",
            {"messageBody": [{"purchase_id": 1, "modify_time": 1}]},
            "$.messageBody[0].status",
        ),
        (
            "status_callback",
            {
                "messageBody": [
                    {"purchase_id": 1, "status": "WAIT_BUYER_P", "sub_purchase_orders": [{}]}
                ]
            },
            "$.messageBody[0].sub_purchase_orders[0].sub_purchase_order_id",
        ),
        # every kind: a body without its order's identity (issue 9.5)
        (
            "purchase_page",
            {"data": {"data": [{"id": "12345", "status": 10, "subOrderVOS": []}]}},
            "$.data.data[0].purchaseId",
        ),
        ("purchase_page", {"status": 10, "subOrderVOS": []}, "$.purchaseId"),
        (
            "purchase_page",
            {"data": {"data": [{"purchaseId": None, "status": 10, "subOrderVOS": []}]}},
            "$.data.data[0].purchaseId",
        ),
        (
            "status_callback",
            {"messageBody": [{"outer_purchase_id": "mine", "status": "WAIT_BUYER_P"}]},
            "$.messageBody[0].purchase_id",
        ),
        (
            "status_callback",
            {"messageBody": [{"purchase_id": None, "status": "WAIT_BUYER_P"}]},
            "$.messageBody[0].purchase_id",
        ),
        (
            "icbu_order",
            {"alibaba_seller_order_get_response": {"value": {"trade_status": "paid"}}},
            "$.alibaba_seller_order_get_response.value.trade_id",
        ),
        (
            "icbu_order",
            {"alibaba_seller_order_get_response": {}},
            ("$.alibaba_seller_order_get_response.value"),
        ),
        (
            "icbu_order",
            {"alibaba_seller_order_get_response": {"value": {"trade_id": "1"}}},
            "$.alibaba_seller_order_get_response.value.trade_status",
        ),
        ("purchase_page", [1, 2], "$"),
    ],
)
def test_missing_fields_name_the_field(kind: str, body: Any, path: str) -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(json.dumps(body), kind)
    assert e.value.path == path


@pytest.mark.parametrize(
    "text",
    ["", "{", '{"code": 200,}', "[1, 2", "NaN", '{"a": Infinity}', "\ufeff{}", "1" * 5000],
)
def test_malformed_json(text: str) -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(text, "purchase_page")
    assert e.value.path == "$"


def test_duplicate_keys_are_refused_with_their_path() -> None:
    text = '{"code": 200, "data": {"total": 1, "data": [{"status": 0, "status": 10}]}}'
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(text, "purchase_page")
    assert e.value.path == "$.data.data[0].status"


def test_invalid_utf8() -> None:
    with pytest.raises(orderfsm.PayloadError, match="not UTF-8"):
        parse(b'{"code": "\xff"}', "purchase_page")


def test_size_cap() -> None:
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    with pytest.raises(orderfsm.PayloadError, match="limit"):
        parse(body, "purchase_page")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_json_nesting(depth: int) -> None:
    with pytest.raises(orderfsm.PayloadError, match="nesting"):
        parse("[" * depth + "]" * depth, "purchase_page")


def test_deep_nesting_inside_a_json_string_field() -> None:
    body = page()
    nested = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    body["data"]["data"][0]["subOrderVOS"][0]["subOrderResult"] = nested
    with pytest.raises(orderfsm.PayloadError, match="nesting") as e:
        parse(body, "purchase_page")
    assert e.value.path == "$.data.data[0].subOrderVOS[0].subOrderResult<json>"


def test_deep_mapping_is_refused_with_its_path() -> None:
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(MAX_DEPTH + 3):
        cursor["x"] = {}
        cursor = cursor["x"]
    with pytest.raises(orderfsm.PayloadError, match="nesting") as e:
        parse({"code": 200, "data": deep}, "purchase_page")
    assert e.value.path.startswith("$.data.x.x")


def test_non_json_values_in_a_mapping_are_refused() -> None:
    with pytest.raises(orderfsm.PayloadError) as e:
        parse({"code": 200, "data": {"data": [{"status": {1, 2}}]}}, "purchase_page")
    assert e.value.path == "$.data.data[0].status"


def test_body_of_a_wrong_type_and_unknown_kind() -> None:
    with pytest.raises(orderfsm.PayloadError, match="body must be"):
        parse(42, "purchase_page")  # type: ignore[arg-type]
    with pytest.raises(orderfsm.PayloadError, match="unknown payload kind"):
        parse("{}", "orders")


# ----------------------------------------------------------------------------- XML attacks

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<alibaba_seller_order_get_response><value><trade_id>1</trade_id>
<trade_status>&lol3;</trade_status></value></alibaba_seller_order_get_response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alibaba_seller_order_get_response><value><trade_id>1</trade_id>
<trade_status>&xxe;</trade_status></value></alibaba_seller_order_get_response>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_xml_entity_attacks_are_refused(body: bytes) -> None:
    with pytest.raises(orderfsm.PayloadError, match="hardened parser") as e:
        parse(body, "icbu_order")
    assert e.value.path == "$"


@pytest.mark.parametrize(
    "body",
    [b"<a><b></a>", b"<", "<a>\x00</a>", b"<alibaba_seller_order_get_response/>"],
)
def test_malformed_or_empty_xml(body: bytes | str) -> None:
    with pytest.raises(orderfsm.PayloadError):
        parse(body, "icbu_order")


def test_deep_xml_nesting() -> None:
    depth = MAX_DEPTH + 2
    body = "<a>" * depth + "</a>" * depth
    with pytest.raises(orderfsm.PayloadError, match="nesting"):
        parse(body, "icbu_order")


def test_xml_with_an_empty_trade_id_names_it() -> None:
    xml = payload("002_order_get_response.xml").replace(
        b"<trade_id>12345</trade_id>", b"<trade_id></trade_id>"
    )
    with pytest.raises(orderfsm.PayloadError) as e:
        parse(xml, "icbu_order")
    assert e.value.path == "$.alibaba_seller_order_get_response.value.trade_id"


# Three ways an XML body is parsed: a few tags at once, many tags a chunk at a time, and
# anything holding "<!" (a DTD, a comment, CDATA) by the hardened parser.
XML_PATHS = {
    "few tags": lambda depth: "<a>" * depth + "</a>" * depth,
    "many tags": lambda depth: "<a>" + "<b/>" * 5000 + "<a>" * (depth - 1) + "</a>" * depth,
    "hardened": lambda depth: "<!-- c -->" + "<a>" * depth + "</a>" * depth,
}


@pytest.mark.parametrize("path", XML_PATHS)
def test_xml_is_read_to_the_depth_limit_and_refused_past_it_on_every_path(path: str) -> None:
    with pytest.raises(orderfsm.PayloadError, match="required field is missing"):
        parse(XML_PATHS[path](MAX_DEPTH), "icbu_order")
    with pytest.raises(orderfsm.PayloadError, match="nesting"):
        parse(XML_PATHS[path](MAX_DEPTH + 1), "icbu_order")


def test_xml_read_by_the_fast_parser_is_read_as_the_hardened_parser_reads_it() -> None:
    xml = payload("002_order_get_response.xml")
    assert b"<!" not in xml
    commented = xml.replace(b"<value>", b"<value><!-- to the hardened parser -->", 1)
    assert parse(xml, "icbu_order") == parse(commented, "icbu_order")
    assert parse(xml, "icbu_order")[0].actions  # the nested fields were read


def test_an_entity_never_declared_is_malformed_on_the_fast_path() -> None:
    xml = payload("002_order_get_response.xml").replace(
        b"<trade_id>12345</trade_id>", b"<trade_id>&xxe;</trade_id>"
    )
    with pytest.raises(orderfsm.PayloadError, match="malformed XML"):
        parse(xml, "icbu_order")
