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
