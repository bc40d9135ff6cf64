"""parse is overloaded on its kind, and every snapshot names its order ``order_id`` (9.13)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

from orderfsm.ingest import IcbuSnapshot, TaobaoSnapshot, parse
from support import PAYLOADS

STRICT_CALLER = """
    from typing import assert_type

    import orderfsm
    from orderfsm.ingest import IcbuSnapshot, TaobaoSnapshot, parse

    def taobao(body: bytes) -> None:
        order = orderfsm.TaobaoOrder()
        for snap in parse(body, "status_callback"):
            assert_type(snap, TaobaoSnapshot)
            order.apply(snap)  # no narrowing needed
            key: str = snap.order_id
        assert_type(parse(body, "purchase_page"), tuple[TaobaoSnapshot, ...])

    def icbu(body: bytes) -> None:
        order = orderfsm.IcbuOrder()
        for snap in parse(body, "icbu_order"):
            assert_type(snap, IcbuSnapshot)
            order.apply(snap)
            key: str = snap.order_id
            same: str = snap.trade_id
"""


def test_a_strict_caller_gets_the_snapshot_type_of_its_kind(tmp_path: Path) -> None:
    source = tmp_path / "caller.py"
    source.write_text(textwrap.dedent(STRICT_CALLER), encoding="utf-8")
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(source)]
    )
    assert status == 0, out + err


def test_every_snapshot_type_names_its_order_order_id() -> None:
    (page,) = parse((PAYLOADS / "000_api_response_example.json").read_bytes(), "purchase_page")
    (icbu,) = parse((PAYLOADS / "002_order_get_response.xml").read_bytes(), "icbu_order")
    assert isinstance(page, TaobaoSnapshot) and isinstance(icbu, IcbuSnapshot)
    assert (page.order_id, icbu.order_id, icbu.trade_id) == ("67890", "12345", "12345")
