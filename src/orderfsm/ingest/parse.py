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

import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, overload
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.ElementTree import iterparse as xml_iterparse

from orderfsm.errors import PayloadError
from orderfsm.model.bounded import (
    INTEGERS,
    MAX_NESTING,
    NOT_DECODED,
    check_tree,
    decoded_json,
    is_integer,
    key_path,
    load_json,
    shown,
)
from orderfsm.model.records import (
    KINDS,
    IcbuSnapshot,
    ShipmentDate,
    Snapshot,
    SubOrderSnapshot,
    TaobaoSnapshot,
    shipment_date_problem,
)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest accepted body: 2 MiB. A full 20-order purchase page is about 70 KB."""

MAX_DEPTH = MAX_NESTING
"""Deepest accepted nesting of objects/arrays (XML elements): 32, the limit of every
reader (:data:`orderfsm.model.bounded.MAX_NESTING`). The documents' deepest is 6."""

Body = str | bytes | bytearray | Mapping[str, object]

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_SUCCESS_CODES = ("200", "0")


@overload
def parse(
    body: Body, kind: Literal["purchase_page", "status_callback"], *, strict: bool = False
) -> tuple[TaobaoSnapshot, ...]: ...
@overload
def parse(
    body: Body, kind: Literal["icbu_order"], *, strict: bool = False
) -> tuple[IcbuSnapshot, ...]: ...
@overload
def parse(body: Body, kind: str, *, strict: bool = False) -> tuple[Snapshot, ...]: ...
def parse(body: Body, kind: str, *, strict: bool = False) -> tuple[Snapshot, ...]:
    """Return one snapshot record per order in ``body``, in body order.

    ``body`` is the raw text, the raw bytes, or an already-decoded mapping; ``kind`` is
    ``"purchase_page"``, ``"status_callback"`` (both give :class:`TaobaoSnapshot`) or
    ``"icbu_order"`` (:class:`IcbuSnapshot`): a literal kind types the result without
    narrowing. Every record carries its order's identity in ``order_id``; a body without
    it is refused. Raises :class:`PayloadError` (with ``.path``) for anything it cannot
    read, and nothing else.
    """
    if kind not in KINDS:
        raise PayloadError("$", f"unknown payload kind {kind!r}; kinds are: {', '.join(KINDS)}")
    root = _decode(body, xml_allowed=kind == "icbu_order")
    if kind == "status_callback":
        plain = _plain_callback(root, strict)
        if plain is not None:
            return plain
    reader = _Reader(strict)
    readers: dict[str, Callable[[_At], tuple[Snapshot, ...]]] = {
        "purchase_page": reader.purchase_page,
        "status_callback": reader.status_callback,
        "icbu_order": reader.icbu_order,
    }
    return readers[kind](_At(root, None, "$"))


# ----------------------------------------------------------------------------- decoding


def _decode(body: object, *, xml_allowed: bool) -> object:
    """Decode ``body`` to plain data (dicts, lists, scalars) within the limits of
    :mod:`orderfsm.model.bounded` and :data:`MAX_BODY_BYTES`."""
    if type(body) is bytes:
        raw = body
    elif isinstance(body, str):
        raw = body.encode("utf-8", "surrogatepass")
    elif isinstance(body, bytes | bytearray):
        raw = bytes(body)
    elif isinstance(body, Mapping):
        check_tree(body, PayloadError, root="$", json_only=True)
        return body
    else:
        raise PayloadError("$", f"body must be str, bytes or a mapping, not {type(body).__name__}")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadError("$", f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    if xml_allowed and raw.lstrip()[:1] == b"<":
        return _decode_xml(raw)
    value = decoded_json(body if isinstance(body, str) else raw)
    if value is not NOT_DECODED:
        return value
    if isinstance(body, str):
        text = body
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise PayloadError("$", f"body is not UTF-8 (byte {e.start})") from None
    return load_json(text, PayloadError)


_XML_DECLARATION = re.compile(rb"\s*<\?xml\b([^>]*+)")
_XML_ENCODING = re.compile(rb"\bencoding\s*=\s*[\"']([^\"']*+)")
_XML_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "us-ascii": "us-ascii",
    "ascii": "us-ascii",
    "iso-8859-1": "iso-8859-1",
    "latin-1": "iso-8859-1",
}


def _decode_xml(raw: bytes) -> object:
    """Parse XML, refusing depth beyond :data:`MAX_DEPTH` (a large body while it is
    parsed, so a deep one is refused before it is built) and any declared encoding but
    UTF-8, ASCII and Latin-1 (Python's codec machinery would otherwise accept ``rot13``,
    ``base64`` ...); only the elements the reader uses are converted
    (:data:`_ICBU_FIELDS`).

    A body holding ``<!`` (a DTD, an entity declaration, a comment, CDATA) goes to the
    hardened parser. Any other cannot declare an entity or a DTD (each needs ``<!``, in
    ASCII in every accepted encoding), so expat's own C tree builder reads it: five to
    ten times faster, and a reference to an entity never declared is malformed there too.
    """
    encoding = _xml_encoding(raw)  # the parser is told it: never taken from the body
    if b"<!" in raw:
        hardened = DefusedXMLParser(target=TreeBuilder(), encoding=encoding, forbid_dtd=True)
        root = _tree_in_steps(raw, hardened)
    elif raw.count(b"<") > _FEW_TAGS:
        root = _tree_in_steps(raw, XMLParser(target=TreeBuilder(), encoding=encoding))
    else:
        root = _tree_at_once(raw, XMLParser(target=TreeBuilder(), encoding=encoding))
    return {root.tag: _element_value(root, _ICBU_FIELDS.get(root.tag))}


_FEW_TAGS = 4096
"""Up to this many tags a body's tree is built at once, its depth checked afterwards;
a larger one is built a chunk at a time and refused as soon as it nests too deep."""


def _tree_in_steps(raw: bytes, parser: XMLParser) -> Element:
    """The tree of ``raw``, its depth checked at every element as it is built."""
    root: Element | None = None
    depth = 0
    try:
        events = xml_iterparse(io.BytesIO(raw), events=("start", "end"), parser=parser)
        for event, elem in events:
            depth += 1 if event == "start" else -1
            if depth > MAX_DEPTH:
                break
            root = elem if root is None else root
    except DefusedXmlException as e:
        raise PayloadError("$", f"XML refused by the hardened parser: {e!r}") from None
    except (ParseError, ValueError, LookupError) as e:  # UnicodeError is a ValueError
        raise PayloadError("$", f"malformed XML: {e}") from None
    if depth > MAX_DEPTH:
        raise PayloadError("$", f"XML nesting deeper than {MAX_DEPTH} levels")
    if root is None:
        raise PayloadError("$", "malformed XML: no element found")
    return root


def _tree_at_once(raw: bytes, parser: XMLParser) -> Element:
    """The tree of ``raw`` (at most :data:`_FEW_TAGS` tags), then its depth checked a
    level at a time."""
    try:
        parser.feed(raw)
        root: Element = parser.close()
    except (ParseError, ValueError, LookupError) as e:  # UnicodeError is a ValueError
        raise PayloadError("$", f"malformed XML: {e}") from None
    level = [root]
    for _ in range(MAX_DEPTH):
        level = [child for elem in level for child in elem]
        if not level:
            return root
    raise PayloadError("$", f"XML nesting deeper than {MAX_DEPTH} levels")


def _xml_encoding(raw: bytes) -> str:
    """The encoding the XML declaration names (UTF-8 when it names none); any but UTF-8,
    ASCII and Latin-1 is refused. The whole declaration is read, however long."""
    declaration = _XML_DECLARATION.match(raw)
    found = None if declaration is None else _XML_ENCODING.search(declaration.group(1))
    if found is None:
        return "utf-8"
    encoding = found.group(1).decode("ascii", "replace").lower()
    if encoding not in _XML_ENCODINGS:
        raise PayloadError("$", f"XML encoding {shown(encoding)} is not accepted; send UTF-8")
    return _XML_ENCODINGS[encoding]


_Fields = Mapping[str, "_Fields"] | None
"""The children of an element the reader uses, each with its own; ``None``: all of them."""

_ICBU_FIELDS: Mapping[str, _Fields] = {
    "error_response": None,
    "alibaba_seller_order_get_response": {
        "value": {
            "trade_id": None,
            "trade_status": None,
            "pay_step": None,
            "status_action": {"status": None, "actions": {"action": {"name": None}}},
            "shipment_date": {"type": None, "duration": None, "date": {"timestamp": None}},
        }
    },
}
"""What :meth:`_Reader.icbu_order` reads of an ICBU XML body (of ``002``'s dozens of
elements, five values); the rest is never converted. An error response is read whole."""


def _element_value(elem: Element, fields: _Fields = None) -> object:
    """An element as JSON-like data: text for a leaf, a mapping (repeated tags -> list)
    of its children in ``fields`` (all of them when ``fields`` is ``None``)."""
    children = list(elem)
    if not children:
        return (elem.text or "").strip()
    out: dict[str, object] = {}
    for child in children:
        if fields is not None and child.tag not in fields:
            continue
        value = _element_value(child, None if fields is None else fields[child.tag])
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


_ABSENT = object()
"""A field that is not there (``None`` is a value a payload sends)."""


def _text_or_none(value: object) -> str | None:
    """A platform's code or message as text (``None`` where it sent none)."""
    return None if value is None else str(value)


class _At:
    """A value and where it was found: its parent and the key or index under it. The
    path string is spelled out only when asked for (a record's ``path``, an error), so
    reading a field that is there costs a type check and a lookup."""

    __slots__ = ("_parent", "_path", "_step", "value")

    def __init__(self, value: object, parent: _At | None, step: str | int) -> None:
        self.value = value
        self._parent = parent
        self._step = step  # a key, an index, or (at a root) the whole path
        self._path: str | None = None

    @property
    def path(self) -> str:
        """``$.messageBody[0].status``: built once, on first use."""
        if self._path is None:
            step = self._step
            if self._parent is None:
                assert isinstance(step, str)
                self._path = step
            elif isinstance(step, int):
                self._path = f"{self._parent.path}[{step}]"
            else:
                self._path = key_path(self._parent.path, step)
        return self._path

    def fail(self, problem: str) -> NoReturn:
        raise PayloadError(self.path, problem)

    def platform_error(
        self,
        problem: str,
        code: object,
        message: object,
        sub_code: object = None,
        sub_message: object = None,
    ) -> NoReturn:
        """Refuse the platform's own error answer, keeping its codes and messages."""
        raise PayloadError(
            self.path,
            problem,
            platform_code=_text_or_none(code),
            platform_message=_text_or_none(message),
            platform_sub_code=_text_or_none(sub_code),
            platform_sub_message=_text_or_none(sub_message),
        )

    def obj(self, known: frozenset[str] | None = None) -> Mapping[str, object]:
        value = self.value
        if type(value) is not dict and not isinstance(value, Mapping):
            self.fail(f"expected an object, got {_type_name(value)}")
        if known is not None:
            extra = sorted(k for k in value if k not in known)
            if extra:
                raise PayloadError(
                    key_path(self.path, extra[0]), "field not in the documented payload"
                )
        return value

    def get(self, key: str, *, required: bool = True) -> _At | None:
        value = self._field(key, required=required)
        return None if value is _ABSENT else _At(value, self, key)

    def _field(self, key: str, *, required: bool) -> object:
        """The value under ``key``, or ``_ABSENT`` when it is missing and not required."""
        mapping = self.value if type(self.value) is dict else self.obj()
        if key in mapping:
            return mapping[key]
        if required:
            raise PayloadError(key_path(self.path, key), "required field is missing")
        return _ABSENT

    def text_at(self, key: str, *, required: bool = True, nullable: bool = False) -> str | None:
        """``self.get(key).text()`` (``None`` when absent and not required), with no
        :class:`_At` built for a string that is there."""
        value = self._field(key, required=required)
        if type(value) is str:
            return value
        return None if value is _ABSENT else _At(value, self, key).text(nullable=nullable)

    def integer_at(self, key: str, *, required: bool = True, nullable: bool = False) -> int | None:
        """``self.get(key).integer()``, as :meth:`text_at` does for text."""
        value = self._field(key, required=required)
        if is_integer(value):
            return value
        return None if value is _ABSENT else _At(value, self, key).integer(nullable=nullable)

    def identifier_at(
        self, key: str, *, required: bool = True, nullable: bool = False
    ) -> str | None:
        """``self.get(key).identifier()``, as :meth:`text_at` does for text."""
        value = self._field(key, required=required)
        if type(value) is str and value:
            return value
        if value is _ABSENT:
            return None
        return _At(value, self, key).identifier(nullable=nullable)

    def need(self, key: str) -> _At:
        found = self.get(key)
        assert found is not None
        return found

    def items(self, *, null_is_empty: bool = False) -> Iterator[_At]:
        """The array's entries, one at a time (a refused entry stops the walk early)."""
        value = self.value
        if value is None and null_is_empty:
            return iter(())
        if type(value) is not list and not isinstance(value, list | tuple):
            self.fail(f"expected an array, got {_type_name(value)}")
        return (_At(v, self, i) for i, v in enumerate(value))

    def text(self, *, nullable: bool = False) -> str | None:
        value = self.value
        if isinstance(value, str):
            return value
        if value is None and nullable:
            return None
        self.fail(f"expected a string, got {_type_name(value)}")

    def integer(self, *, nullable: bool = False) -> int | None:
        """An integer, also when sent as a decimal string (``"5"``)."""
        value = self.value
        if is_integer(value):
            return value
        if value is None and nullable:
            return None
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value.strip())
        self.fail(f"expected an integer (or a decimal string), got {_describe(value)}")

    def identifier(self, *, nullable: bool = False) -> str | None:
        """An id, sent as a string or as a number; returned as text."""
        value = self.value
        if isinstance(value, str) and value:
            return value
        if is_integer(value):
            return str(value)
        if value is None and nullable:
            return None
        self.fail(f"expected an id (non-empty string or integer), got {_describe(value)}")

    def order_id(self, key: str) -> str:
        """The order's identity under ``key``: required, a non-empty string or an integer."""
        found = self.identifier_at(key)
        assert found is not None
        return found

    def json_string(self) -> _At | None:
        """Decode a field that carries JSON inside a string (``subOrderResult``)."""
        raw = self.text(nullable=True)
        if raw is None or raw == "":
            return None
        inner = f"{self.path}<json>"
        return _At(load_json(raw, PayloadError, inner), None, inner)


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
        # The order's identity is ``purchaseId`` (``id`` is the page's own record id,
        # "12345" beside purchaseId 67890 in 000's API Response Example).
        """The response envelope (``code``/``data.data[]``), or one bare order object."""
        envelope = root.obj()
        if "data" not in envelope and "status" in envelope:
            return (self._page_order(root),)
        root.obj(self._known(_PAGE_ENVELOPE))
        code = root.get("code", required=False)
        if code is not None and str(code.value) not in _SUCCESS_CODES:
            message = envelope.get("msg", envelope.get("message"))
            code.platform_error(
                f"the platform answered with an error: code {code.value!r}, {message!r}",
                code.value,
                message,
            )
        page = root.need("data")
        page.obj(self._known(_PAGE_DATA))
        return tuple(self._page_order(o) for o in page.need("data").items(null_is_empty=True))

    def _page_order(self, at: _At) -> TaobaoSnapshot:
        at.obj(self._known(_PAGE_ORDER))
        order_id = at.order_id("purchaseId")
        subs = at.need("subOrderVOS").items(null_is_empty=True)
        return TaobaoSnapshot(
            kind="purchase_page",
            order_id=order_id,
            status_code=at.integer_at("status"),
            status_text=at.text_at("orderStatusDesc", required=False, nullable=True),
            modify_time=None,
            sub_orders=tuple(self._page_sub_order(s) for s in subs),
            path=at.path,
        )

    def _page_sub_order(self, at: _At) -> SubOrderSnapshot:
        fields = at.obj(self._known(_PAGE_SUB_ORDER))
        key = "taobaoSubPurchaseId" if fields.get("taobaoSubPurchaseId") is not None else "id"
        result = at.get("subOrderResult", required=False)
        detail = None if result is None else result.json_string()
        detail_status = (
            None if detail is None else detail.text_at("status", required=False, nullable=True)
        )
        return SubOrderSnapshot(
            sub_order_id=None if fields.get(key) is None else at.identifier_at(key),
            status=at.text_at("subOrderStatus", required=False, nullable=True),
            refund_status=at.integer_at("refundStatus", required=False, nullable=True),
            refund_id=at.identifier_at("refundId", required=False, nullable=True),
            detail_status=detail_status,
            path=at.path,
        )

    # -------------------------------------------------------------- callback
    def status_callback(self, root: _At) -> tuple[Snapshot, ...]:
        # The order's identity is ``purchase_id``; ``outer_purchase_id`` is the caller's
        # own reference, another identity, so it never stands in for it.
        root.obj(self._known(_CALLBACK_ENVELOPE))
        kind = root.text_at("messageType", required=False, nullable=True)
        return tuple(self._callback_order(o, kind) for o in root.need("messageBody").items())

    def _callback_order(self, at: _At, message_type: str | None) -> TaobaoSnapshot:
        at.obj(self._known(_CALLBACK_ORDER))
        status = at.need("status")
        code, text = _code_or_text(status)
        order_id = at.order_id("purchase_id")
        subs = at.get("sub_purchase_orders", required=False)
        return TaobaoSnapshot(
            kind="status_callback",
            order_id=order_id,
            status_code=code,
            status_text=text,
            modify_time=at.integer_at("modify_time", required=False, nullable=True),
            sub_orders=tuple(
                self._callback_sub_order(s)
                for s in ([] if subs is None else subs.items(null_is_empty=True))
            ),
            path=at.path,
            message_type=message_type,
        )

    def _callback_sub_order(self, at: _At) -> SubOrderSnapshot:
        at.obj(self._known(_CALLBACK_SUB_ORDER))
        return SubOrderSnapshot(
            sub_order_id=at.identifier_at("sub_purchase_order_id") or "",
            status=at.text_at("status", required=False, nullable=True),
            refund_status=None,
            refund_id=None,
            detail_status=None,
            path=at.path,
        )

    # -------------------------------------------------------------- ICBU
    def icbu_order(self, root: _At) -> tuple[Snapshot, ...]:
        """``alibaba_seller_order_get_response.value`` (XML or TOP JSON); an
        ``error_response`` becomes a PayloadError carrying the platform's code and message
        (``platform_code``, ``platform_message``)."""
        top = root.obj()
        if "error_response" in top:
            error = root.need("error_response")
            fields = error.obj()
            error.platform_error(
                "the platform answered with an error: "
                + ", ".join(
                    f"{k}={fields[k]!r}"
                    for k in ("code", "msg", "sub_code", "sub_msg")
                    if k in fields
                ),
                fields.get("code"),
                fields.get("msg"),
                fields.get("sub_code"),
                fields.get("sub_msg"),
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
                order_id=value.order_id("trade_id"),
                trade_status=value.need("trade_status").text() or "",
                pay_step=None if pay_step is None else pay_step.text(nullable=True) or None,
                status_action=action_status,
                actions=actions,
                path=value.path,
                shipment_date=_shipment_date(value.get("shipment_date", required=False)),
            ),
        )


def _shipment_date(at: _At | None) -> ShipmentDate | None:
    """``shipment_date`` (absent, null or empty: none): its ``type``, ``duration`` and
    ``date.timestamp``, checked as :class:`ShipmentDate` checks them."""
    if at is None or at.value in (None, ""):
        return None
    kind = at.text_at("type")
    duration = at.integer_at("duration", required=False, nullable=True)
    date = at.get("date", required=False)
    timestamp = (
        None
        if date is None or date.value in (None, "")
        else date.integer_at("timestamp", required=False, nullable=True)
    )
    problem = shipment_date_problem(kind, duration, timestamp)
    if problem is not None:
        raise PayloadError(key_path(at.path, problem[0]), problem[1])
    return ShipmentDate(kind or "", duration, timestamp)


def _plain_callback(root: object, strict: bool) -> tuple[TaobaoSnapshot, ...] | None:
    """The common callback read without positions: every field there with a value of
    the type read (``purchase_id`` an id, ``status`` a code or text, ``modify_time`` an
    integer or ``null``...) gives the same records as :meth:`_Reader.status_callback`
    at once; any other value, or an unknown field under ``strict``, gives ``None`` and
    the body is read by :class:`_Reader`, which refuses it or reads the same records
    (``tests/test_ingest_fuzz.py``)."""
    body: Any = root
    if body.__class__ is not dict or (strict and not _CALLBACK_ENVELOPE.issuperset(body)):
        return None
    message_type, orders = body.get("messageType"), body.get("messageBody")
    if (message_type is not None and message_type.__class__ is not str) or (
        orders.__class__ is not list
    ):
        return None
    out = []
    for i, order in enumerate(orders):
        if order.__class__ is not dict or (strict and not _CALLBACK_ORDER.issuperset(order)):
            return None
        status, order_id = order.get("status", _ABSENT), _plain_id(order.get("purchase_id"))
        modify_time = order.get("modify_time")
        subs = order.get("sub_purchase_orders")
        subs = _NO_ENTRIES if subs is None else subs  # absent or null: none
        code: int | None = None
        text: str | None = None
        if status.__class__ is str:
            if _INTEGER.fullmatch(status.strip()):
                code = int(status.strip())
            else:
                text = status
        elif status.__class__ is int and status in INTEGERS:
            code = status
        else:
            return None
        if modify_time is not None and (
            modify_time.__class__ is not int or modify_time not in INTEGERS
        ):
            return None
        if order_id is None or subs.__class__ is not list:
            return None
        path = f"$.messageBody[{i}]"
        sub_orders = []
        for j, sub in enumerate(subs):
            if sub.__class__ is not dict or (strict and not _CALLBACK_SUB_ORDER.issuperset(sub)):
                return None
            sub_id, sub_status = _plain_id(sub.get("sub_purchase_order_id")), sub.get("status")
            if sub_id is None or (sub_status is not None and sub_status.__class__ is not str):
                return None
            sub_orders.append(
                SubOrderSnapshot(
                    sub_id, sub_status, None, None, None, f"{path}.sub_purchase_orders[{j}]"
                )
            )
        out.append(
            TaobaoSnapshot(
                "status_callback",
                order_id,
                code,
                text,
                modify_time,
                tuple(sub_orders),
                path,
                message_type,
            )
        )
    return tuple(out)


def _plain_id(value: object) -> str | None:
    """An id as :meth:`_At.identifier` reads one that is there, or ``None``."""
    if value.__class__ is str and value:
        return value
    if value.__class__ is int and value in INTEGERS:
        return str(value)
    return None


_NO_ENTRIES: list[object] = []


def _action_names(status_action: _At) -> tuple[str, ...]:
    """Names under ``status_action.actions.action`` (one entry or a list; XML or JSON)."""
    actions = status_action.get("actions", required=False)
    if actions is None or actions.value in (None, ""):
        return ()
    if isinstance(actions.value, list | tuple):
        entries = actions.items()
    else:
        action = actions.need("action")
        entries = action.items() if isinstance(action.value, list | tuple) else iter([action])
    return tuple(e.need("name").text() or "" for e in entries)


def _code_or_text(at: _At) -> tuple[int | None, str | None]:
    """A status sent as a number or a decimal string is a code; other text is a raw status."""
    value = at.value
    if isinstance(value, str) and not _INTEGER.fullmatch(value.strip()):
        return None, value
    return at.integer(), None
