"""``orderfsm.history_rows``: an order's stored history as the rows ``orderfsm audit`` reads."""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import pickle
from pathlib import Path

import duckdb
import pytest

from orderfsm import HistoryRow, IcbuOrder, KaTrade, OrderFsmError, TaobaoOrder, history_rows
from orderfsm.check.audit import audit_files
from orderfsm.orders.rows import HISTORY_COLUMNS, ka_leaf_id


def test_rows_of_a_taobao_order_cover_its_parts() -> None:
    order = TaobaoOrder(status=10, sub_orders=["a", "b"])
    order.trigger("ship")
    order.trigger("apply_refund", sub_order="a")
    rows = [
        (r.seq, r.sub_order_id, r.status, r.refund_status, r.via) for r in history_rows(order, "T")
    ]
    assert rows == [
        (1, "", "10", "", "initial"),
        (2, "", "11", "", "trigger"),
        (3, "a", "11", "0", "initial"),
        (4, "a", "11", "10", "trigger"),
    ]
    assert {r.machine for r in history_rows(order, "T")} == {"taobao_order"}


def test_ka_sub_orders_are_keyed_order_slash_sub_order_escaped() -> None:
    assert ka_leaf_id("o1", "s1") == "o1/s1"
    assert ka_leaf_id("a/b", "c") == "a\\/b/c" != ka_leaf_id("a", "b/c") == "a/b\\/c"
    trade = KaTrade({"o/2": ["s\\3"]})
    trade.trigger("auto_deduct")
    assert [r.sub_order_id for r in history_rows(trade, "K")] == ["o\\/2/s\\\\3"] * 2


def test_rows_of_a_longer_history_extend_the_rows_of_a_shorter_one() -> None:
    order = IcbuOrder()
    before = history_rows(order, "I")
    seen = []
    for event in ("draft_order", "submit_order"):
        try:
            order.trigger(event)
        except OrderFsmError:
            continue
        now = history_rows(order, "I")
        assert now[: len(before)] == before
        before = now
        seen.append(event)
    assert seen and before


def test_history_rows_refuses_what_is_not_an_order() -> None:
    with pytest.raises(OrderFsmError, match="non-empty text"):
        history_rows(IcbuOrder(), "")
    with pytest.raises(OrderFsmError, match="expected a TaobaoOrder"):
        history_rows(object(), "x")  # type: ignore[arg-type]


def _taobao_with_every_kind_of_row() -> TaobaoOrder:
    order = TaobaoOrder(status=10, sub_orders=["a", "b"])
    order.trigger("ship")
    order.trigger("apply_refund", sub_order="a")
    return order


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_rows_written_as_csv_jsonl_or_parquet_audit_with_no_flags(tmp_path: Path, fmt: str) -> None:
    rows = history_rows(_taobao_with_every_kind_of_row(), "T")
    csv_path = tmp_path / "rows.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HISTORY_COLUMNS)
        out.writerows(dataclasses.astuple(r) for r in rows)
    path = csv_path
    if fmt == "jsonl":
        path = tmp_path / "rows.jsonl"
        path.write_text("".join(json.dumps(dataclasses.asdict(r)) + "\n" for r in rows), "utf-8")
    elif fmt == "parquet":
        path = tmp_path / "rows.parquet"
        duckdb.connect().execute(
            f"COPY (SELECT * FROM read_csv('{csv_path}', header = true)) TO '{path}' "
            "(FORMAT parquet)"
        )
    for engine in ("stream", "duckdb"):
        result = audit_files([path], engine=engine)  # the machine column names it
        assert (result.exit_code, result.steps, result.illegal) == (0, 2, [])


def test_history_rows_are_values() -> None:
    rows = history_rows(_taobao_with_every_kind_of_row(), "T")
    assert pickle.loads(pickle.dumps(rows)) == rows == copy.deepcopy(rows)
    assert isinstance(rows[0], HistoryRow) and HISTORY_COLUMNS[:2] == ("order_id", "seq")
