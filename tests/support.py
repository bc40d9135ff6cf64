"""Helpers shared by several test modules (pytest puts this folder on sys.path)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from orderfsm.ingest import TaobaoSnapshot, parse

PAYLOADS = resources.files("orderfsm") / "data" / "payloads"

# The Taobao snapshots in the documents' own examples, in document order.
TAOBAO_SNAPSHOTS: list[TaobaoSnapshot] = [
    s
    for name, kind in [
        ("000_api_response_example.json", "purchase_page"),
        ("001_purchase_page_response.json", "purchase_page"),
        ("003_status_callback.json", "status_callback"),
    ]
    for s in parse((PAYLOADS / name).read_bytes(), kind)
    if isinstance(s, TaobaoSnapshot)
]


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists, the root (``()``) first."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += json_paths(item, (*prefix, i))
    return out


def replaced_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` (nested dicts and lists) with the node at ``path`` set to ``new``;
    only the containers on the path are copied."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced_at(value[path[0]], path[1:], new)
    return copy


def history_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of a stored history (format ``/2`` keeps it as columns), one dict each."""
    columns = data["history"]
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def with_history_rows(data: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``data`` (format ``/2``) with its history replaced by ``rows``, as columns."""
    return data | {"history": {key: [row[key] for row in rows] for key in data["history"]}}


def format_1(data: dict[str, Any]) -> dict[str, Any]:
    """A stored dict of format ``/2`` as format ``/1`` wrote it: the history an array of
    entry objects, every other field the same."""
    assert data["format"].endswith("/2"), data["format"]
    return data | {"format": data["format"][:-1] + "1", "history": history_rows(data)}
