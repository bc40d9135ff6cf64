"""Read platform payloads into snapshot records: ``parse(body, kind)``.

The shapes are the examples in the source documents (shipped verbatim under
``orderfsm/data/payloads/``): the ``POST /open/purchase/page`` response
(``001_7aaff76250cc2543.txt`` and ``000_29cd69a61e8d9e8a.txt`` "API Response Example"),
the order status modification callback (``003_36c64fc11abf7e3f.txt``) and
``alibaba.seller.order.get`` (``002_72f8e4474636d231.txt``, XML or the TOP JSON form).

Every problem becomes :class:`~orderfsm.errors.PayloadError` with the path of the
offending field; nothing else escapes. Limits: a body may be at most
:data:`MAX_BODY_BYTES` (UTF-8) and nest at most :data:`MAX_DEPTH` containers deep.
Numbers sent as strings (``"5"``) are read as numbers and ids sent as numbers as ids,
because the platforms do both (``001``'s ``sub_purchase_order_id`` is a number in
``createSubOrderResult`` and a string in ``subOrderResult``). Fields the library does
not use are ignored, so a platform adding a field breaks nothing; ``strict=True``
rejects any field the document's examples do not show (purchase page and callback; the
ICBU response has dozens of optional parameters and is always read leniently). A JSON
object with the same key twice is always rejected: which value the platform meant is
unknowable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring

from orderfsm.errors import PayloadError
from orderfsm.ingest.records import (
    KINDS,
    IcbuSnapshot,
    Snapshot,
    SubOrderSnapshot,
    TaobaoSnapshot,
)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest accepted body: 2 MiB. A full 20-order purchase page is about 70 KB."""

MAX_DEPTH = 32
"""Deepest accepted nesting of objects/arrays (XML elements). The documents' deepest is 6."""

Body = str | bytes | bytearray | Mapping[str, object]

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_SUCCESS_CODES = ("200", "0")


def parse(body: Body, kind: str, *, strict: bool = False) -> tuple[Snapshot, ...]:
    """Return one snapshot record per order in ``body``, in body order.

    ``body`` is the raw text, the raw bytes, or an already-decoded mapping; ``kind`` is
    ``"purchase_page"``, ``"status_callback"`` or ``"icbu_order"``. Raises
    :class:`PayloadError` (with ``.path``) for anything it cannot read.
    """
    if kind not in KINDS:
        raise PayloadError("$", f"unknown payload kind {kind!r}; kinds are: {', '.join(KINDS)}")
    root = _decode(body, xml_allowed=kind == "icbu_order")
    reader = _Reader(strict)
    readers: dict[str, Callable[[_At], tuple[Snapshot, ...]]] = {
        "purchase_page": reader.purchase_page,
        "status_callback": reader.status_callback,
        "icbu_order": reader.icbu_order,
    }
    return readers[kind](_At(root, "$"))


# ----------------------------------------------------------------------------- decoding


class _Object(dict[str, object]):
    """A decoded JSON object that remembers keys the text gave more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, object]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated: list[str] = []
        for key, _ in pairs:
            (repeated.append if key in seen else seen.add)(key)
        obj.duplicates = tuple(repeated)
    return obj


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _decode(body: object, *, xml_allowed: bool) -> object:
    """Decode ``body`` to plain data (dicts, lists, scalars), enforcing size and depth."""
    if isinstance(body, Mapping):
        _check_tree(body, "$")
        return body
    if isinstance(body, bytes | bytearray):
        raw = bytes(body)
    elif isinstance(body, str):
        raw = body.encode("utf-8", "surrogatepass")
    else:
        raise PayloadError("$", f"body must be str, bytes or a mapping, not {type(body).__name__}")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadError("$", f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    if xml_allowed and raw.lstrip()[:1] == b"<":
        return _decode_xml(raw)
    if isinstance(body, str):
        text = body
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise PayloadError("$", f"body is not UTF-8 (byte {e.start})") from None
    return _decode_json(text, "$")


def _decode_json(text: str, path: str) -> object:
    _check_json_depth(text, path)
    try:
        value: object = json.loads(
            text, object_pairs_hook=_object_pairs, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as e:
        raise PayloadError(
            path, f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    except (ValueError, RecursionError) as e:
        raise PayloadError(path, f"malformed JSON: {e}") from None
    _check_tree(value, path)
    return value


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _check_json_depth(text: str, path: str) -> None:
    """Refuse nesting beyond :data:`MAX_DEPTH` before the decoder can recurse into it."""
    depth = 0
    for m in _BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if m.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise PayloadError(path, f"nesting deeper than {MAX_DEPTH} levels")


def _check_tree(root: object, path: str) -> None:
    """Check decoded data: JSON types only, string keys, no duplicate keys, bounded depth."""
    stack: list[tuple[object, str, int]] = [(root, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, Mapping):
            if depth >= MAX_DEPTH:
                raise PayloadError(where, f"nesting deeper than {MAX_DEPTH} levels")
            if isinstance(value, _Object) and value.duplicates:
                raise PayloadError(
                    _key_path(where, value.duplicates[0]), "the key appears more than once"
                )
            for key, item in value.items():
                if not isinstance(key, str):
                    raise PayloadError(where, f"object key {key!r} is not a string")
                stack.append((item, _key_path(where, key), depth + 1))
        elif isinstance(value, list | tuple):
            if depth >= MAX_DEPTH:
                raise PayloadError(where, f"nesting deeper than {MAX_DEPTH} levels")
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif value is not None and not isinstance(value, str | int | float):
            raise PayloadError(where, f"{type(value).__name__} is not a JSON value")


def _decode_xml(raw: bytes) -> object:
    try:
        root = xml_fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as e:
        raise PayloadError("$", f"XML refused by the hardened parser: {e!r}") from None
    except (ParseError, ValueError) as e:
        raise PayloadError("$", f"malformed XML: {e}") from None
    if _too_deep(root):
        raise PayloadError("$", f"XML nesting deeper than {MAX_DEPTH} levels")
    return {root.tag: _element_value(root)}


def _too_deep(root: Element) -> bool:
    """Whether elements nest deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack = [(root, 1)]
    while stack:
        elem, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in elem)
    return False


def _element_value(elem: Element) -> object:
    """An element as JSON-like data: text for a leaf, a mapping (repeated tags -> list)."""
    children = list(elem)
    if not children:
        return (elem.text or "").strip()
    out: dict[str, object] = {}
    for child in children:
        value = _element_value(child)
        if child.tag not in out:
            out[child.tag] = value
            continue
        previous = out[child.tag]
        if isinstance(previous, _Repeated):
            previous.append(value)
        else:
            out[child.tag] = _Repeated([previous, value])
    return out


class _Repeated(list[object]):
    """Values of an XML tag that repeats under one parent."""


# ----------------------------------------------------------------------------- reading


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}[{key!r}]"


@dataclass(frozen=True, slots=True)
class _At:
    """A value and the path it was found at."""

    value: object
    path: str

    def fail(self, problem: str) -> NoReturn:
        raise PayloadError(self.path, problem)

    def obj(self, known: frozenset[str] | None = None) -> Mapping[str, object]:
        if not isinstance(self.value, Mapping):
            self.fail(f"expected an object, got {_type_name(self.value)}")
        if known is not None:
            extra = sorted(k for k in self.value if k not in known)
            if extra:
                raise PayloadError(
                    _key_path(self.path, extra[0]), "field not in the documented payload"
                )
        return self.value

    def get(self, key: str, *, required: bool = True) -> _At | None:
        mapping = self.obj()
        if key not in mapping:
            if required:
                raise PayloadError(_key_path(self.path, key), "required field is missing")
            return None
        return _At(mapping[key], _key_path(self.path, key))

    def need(self, key: str) -> _At:
        found = self.get(key)
        assert found is not None
        return found

    def items(self, *, null_is_empty: bool = False) -> list[_At]:
        if self.value is None and null_is_empty:
            return []
        if not isinstance(self.value, list | tuple):
            self.fail(f"expected an array, got {_type_name(self.value)}")
        return [_At(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    def text(self, *, nullable: bool = False) -> str | None:
        if self.value is None and nullable:
            return None
        if isinstance(self.value, str):
            return self.value
        self.fail(f"expected a string, got {_type_name(self.value)}")

    def integer(self, *, nullable: bool = False) -> int | None:
        """An integer, also when sent as a decimal string (``"5"``)."""
        value = self.value
        if value is None and nullable:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value.strip())
        self.fail(f"expected an integer (or a decimal string), got {_describe(value)}")

    def identifier(self, *, nullable: bool = False) -> str | None:
        """An id, sent as a string or as a number; returned as text."""
        value = self.value
        if value is None and nullable:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value:
            return value
        self.fail(f"expected an id (non-empty string or integer), got {_describe(value)}")

    def json_string(self) -> _At | None:
        """Decode a field that carries JSON inside a string (``subOrderResult``)."""
        raw = self.text(nullable=True)
        if raw is None or raw == "":
            return None
        inner = f"{self.path}<json>"
        return _At(_decode_json(raw, inner), inner)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _describe(value: object) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "..."
        return f"the string {shown!r}"
    return _type_name(value)


# Fields the documents' examples show (used by strict=True). Purchase page: 000 "API
# Response Example" and "Fields Visible to Customers", 001 返回响应 示例.
_PAGE_ENVELOPE = frozenset({"code", "message", "msg", "requestId", "developId", "data"})
_PAGE_DATA = frozenset({"total", "data"})
_PAGE_ORDER = frozenset(
    {
        "id",
        "purchaseId",
        "orderNo",
        "status",
        "orderStatusDesc",
        "purchaseAmount",
        "createTime",
        "payTime",
        "supplierNick",
        "servicePrice",
        "handlingFee",
        "warehouseAddressInfoVO",
        "remark",
        "subOrderVOS",
        "orderLineList",
        "userName",
        "userId",
        "purchaseOrderOuterId",
    }
)
_PAGE_SUB_ORDER = frozenset(
    {
        "id",
        "orderNo",
        "subOrderStatus",
        "taobaoRefundOrder",
        "createSubOrderResult",
        "subOrderResult",
        "taobaoPurchaseId",
        "taobaoSubPurchaseId",
        "errorCode",
        "errorMessage",
        "refundStatus",
        "refundId",
        "itemImageUrl",
    }
)
# Callback: 003 返回响应 示例.
_CALLBACK_ENVELOPE = frozenset({"messageType", "messageBody", "messagePlatform", "timestamp"})
_CALLBACK_ORDER = frozenset(
    {
        "outer_purchase_id",
        "status",
        "purchase_amount",
        "purchase_id",
        "modify_time",
        "purchase_currency",
        "pay_currency",
        "supplier_nick",
        "domestic_post_fee",
        "sub_user_id",
        "pay_amount",
        "pay_time",
        "receiver",
        "created_time",
        "sub_purchase_orders",
    }
)
_CALLBACK_SUB_ORDER = frozenset(
    {
        "purchase_order_outer_id",
        "purchase_order_line_outer_id",
        "product_amount",
        "logistic_company_name",
        "logistic_number",
        "quantity",
        "rts_time",
        "title",
        "purchase_currency",
        "purchase_amount",
        "item_map_id",
        "pay_amount",
        "domestic_post_fee",
        "pay_currency",
        "sub_purchase_order_id",
        "sku_id",
        "status",
        "alipay_pay_order_no",
        "option_fields",
        "logistic_orders",
    }
)
_ICBU_ROOT = "alibaba_seller_order_get_response"


@dataclass(frozen=True, slots=True)
class _Reader:
    strict: bool

    def _known(self, fields: frozenset[str]) -> frozenset[str] | None:
        return fields if self.strict else None

    # -------------------------------------------------------------- purchase page
    def purchase_page(self, root: _At) -> tuple[Snapshot, ...]:
        """The response envelope (``code``/``data.data[]``), or one bare order object."""
        envelope = root.obj()
        if "data" not in envelope and "status" in envelope:
            return (self._page_order(root),)
        root.obj(self._known(_PAGE_ENVELOPE))
        code = root.get("code", required=False)
        if code is not None and str(code.value) not in _SUCCESS_CODES:
            message = envelope.get("msg", envelope.get("message"))
            code.fail(f"the platform answered with an error: code {code.value!r}, {message!r}")
        page = root.need("data")
        page.obj(self._known(_PAGE_DATA))
        return tuple(self._page_order(o) for o in page.need("data").items(null_is_empty=True))

    def _page_order(self, at: _At) -> TaobaoSnapshot:
        at.obj(self._known(_PAGE_ORDER))
        order_id = next(
            (f.identifier() for k in ("purchaseId", "id") if (f := at.get(k, required=False))),
            None,
        )
        desc = at.get("orderStatusDesc", required=False)
        subs = at.need("subOrderVOS").items(null_is_empty=True)
        return TaobaoSnapshot(
            kind="purchase_page",
            order_id=order_id,
            status_code=at.need("status").integer(),
            status_text=None if desc is None else desc.text(nullable=True),
            modify_time=None,
            sub_orders=tuple(self._page_sub_order(s) for s in subs),
            path=at.path,
        )

    def _page_sub_order(self, at: _At) -> SubOrderSnapshot:
        at.obj(self._known(_PAGE_SUB_ORDER))
        key = next((k for k in ("taobaoSubPurchaseId", "id") if at.obj().get(k) is not None), None)
        status = at.get("subOrderStatus", required=False)
        refund = at.get("refundStatus", required=False)
        refund_id = at.get("refundId", required=False)
        result = at.get("subOrderResult", required=False)
        detail = None if result is None else result.json_string()
        detail_status = None
        if detail is not None:
            found = detail.get("status", required=False)
            detail_status = None if found is None else found.text(nullable=True)
        return SubOrderSnapshot(
            sub_order_id=None if key is None else at.need(key).identifier(),
            status=None if status is None else status.text(nullable=True),
            refund_status=None if refund is None else refund.integer(nullable=True),
            refund_id=None if refund_id is None else refund_id.identifier(nullable=True),
            detail_status=detail_status,
            path=at.path,
        )

    # -------------------------------------------------------------- callback
    def status_callback(self, root: _At) -> tuple[Snapshot, ...]:
        root.obj(self._known(_CALLBACK_ENVELOPE))
        message_type = root.get("messageType", required=False)
        kind = None if message_type is None else message_type.text(nullable=True)
        return tuple(self._callback_order(o, kind) for o in root.need("messageBody").items())

    def _callback_order(self, at: _At, message_type: str | None) -> TaobaoSnapshot:
        at.obj(self._known(_CALLBACK_ORDER))
        status = at.need("status")
        code, text = _code_or_text(status)
        modified = at.get("modify_time", required=False)
        order_id = next(
            (
                f.identifier()
                for k in ("purchase_id", "outer_purchase_id")
                if (f := at.get(k, required=False)) and f.value is not None
            ),
            None,
        )
        subs = at.get("sub_purchase_orders", required=False)
        return TaobaoSnapshot(
            kind="status_callback",
            order_id=order_id,
            status_code=code,
            status_text=text,
            modify_time=None if modified is None else modified.integer(nullable=True),
            sub_orders=tuple(
                self._callback_sub_order(s)
                for s in ([] if subs is None else subs.items(null_is_empty=True))
            ),
            path=at.path,
            message_type=message_type,
        )

    def _callback_sub_order(self, at: _At) -> SubOrderSnapshot:
        at.obj(self._known(_CALLBACK_SUB_ORDER))
        status = at.get("status", required=False)
        return SubOrderSnapshot(
            sub_order_id=at.need("sub_purchase_order_id").identifier() or "",
            status=None if status is None else status.text(nullable=True),
            refund_status=None,
            refund_id=None,
            detail_status=None,
            path=at.path,
        )

    # -------------------------------------------------------------- ICBU
    def icbu_order(self, root: _At) -> tuple[Snapshot, ...]:
        """``alibaba_seller_order_get_response.value`` (XML or TOP JSON); an
        ``error_response`` becomes a PayloadError carrying the platform's code."""
        top = root.obj()
        if "error_response" in top:
            error = root.need("error_response")
            fields = error.obj()
            error.fail(
                "the platform answered with an error: "
                + ", ".join(
                    f"{k}={fields[k]!r}"
                    for k in ("code", "msg", "sub_code", "sub_msg")
                    if k in fields
                )
            )
        value = root.need(_ICBU_ROOT).need("value")
        value.obj()
        status_action = value.get("status_action", required=False)
        action_status: str | None = None
        actions: tuple[str, ...] = ()
        if status_action is not None and status_action.value not in (None, ""):
            found = status_action.get("status", required=False)
            action_status = None if found is None else found.text(nullable=True)
            actions = _action_names(status_action)
        pay_step = value.get("pay_step", required=False)
        return (
            IcbuSnapshot(
                trade_id=value.need("trade_id").identifier() or "",
                trade_status=value.need("trade_status").text() or "",
                pay_step=None if pay_step is None else pay_step.text(nullable=True) or None,
                status_action=action_status,
                actions=actions,
                path=value.path,
            ),
        )


def _action_names(status_action: _At) -> tuple[str, ...]:
    """Names under ``status_action.actions.action`` (one entry or a list; XML or JSON)."""
    actions = status_action.get("actions", required=False)
    if actions is None or actions.value in (None, ""):
        return ()
    if isinstance(actions.value, list | tuple):
        entries = actions.items()
    else:
        action = actions.need("action")
        entries = action.items() if isinstance(action.value, list | tuple) else [action]
    return tuple(e.need("name").text() or "" for e in entries)


def _code_or_text(at: _At) -> tuple[int | None, str | None]:
    """A status sent as a number or a decimal string is a code; other text is a raw status."""
    value = at.value
    if isinstance(value, str) and not _INTEGER.fullmatch(value.strip()):
        return None, value
    return at.integer(), None
