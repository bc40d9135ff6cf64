"""``orderfsm audit``: both engines and the order objects judge exported histories alike."""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orderfsm
from orderfsm import IcbuOrder, KaTrade, TaobaoOrder
from orderfsm.check.audit import AuditInputError, audit_files
from orderfsm.check.audit.result import AuditResult
from orderfsm.errors import TransitionRejected
from orderfsm.model.compile import SHIPPED_TABLES, CompiledMachine
from orderfsm.model.paths import shortest_path
from orderfsm.testing import Export, exports

Judged = tuple[str, int, str, str, str, object, object, str]


def judged(result: AuditResult) -> list[Judged]:
    """Illegal steps and warnings as comparable tuples (file order)."""
    return sorted(
        (f.kind, f.line, f.order_id, f.sub_order_id or "", f.machine, f.source, f.target, f.rule)
        for f in (*result.illegal, *result.warnings)
    )


def write(tmp: Path, export: Export, name: str = "export.csv", shuffle: int | None = None) -> Path:
    lines = export.csv().splitlines(keepends=True)
    body = lines[1:]
    if shuffle is not None:
        random.Random(shuffle).shuffle(body)
    path = tmp / name
    path.write_text(lines[0] + "".join(body), "utf-8")
    return path


# ---------------------------------------------------------------- the order-object oracle


def _order_moves(
    machine: CompiledMachine, prev: str, cur: str, remembered: str, parent: str
) -> bool:
    """Whether an order object in ``prev`` reaches ``cur`` by one accepted event."""
    events = machine.event_names
    if machine.name == "taobao_order":
        for e in events:
            order = TaobaoOrder(status=prev)
            try:
                order.trigger(e)
            except TransitionRejected:
                continue
            if order.status.name == cur:
                return True
        return False
    if machine.name == "taobao_refund":
        parents = [parent] if parent else [s.name for s in machine.parent.states]  # type: ignore[union-attr]
        for p in parents:
            for e in events:
                order = TaobaoOrder(status=p, sub_orders={"s": prev})
                try:
                    order.trigger(e, sub_order="s")
                except TransitionRejected:
                    continue
                if order.refund_status("s").name == cur:
                    return True
        return False
    sources: list[str | None] = [None]
    if prev in machine.history_states:
        valid = [s.name for s in machine.history_sources(prev)]
        # an order object remembers only a status the history state can be entered from;
        # one entered by an illegal step remembers nothing it could return to
        sources = ([remembered] if remembered in valid else [None]) if remembered else valid
    for source in sources:
        for e in events:
            for pay_step in _pay_steps(machine):
                try:
                    if machine.name == "icbu_trade":
                        icbu = IcbuOrder(status=prev, pay_step=pay_step, frozen_from=source)
                        icbu.trigger(e)
                        reached = icbu.status.name
                    else:
                        remembered_map = {("o", "s"): source} if source else None
                        trade = KaTrade({"o": {"s": prev}}, remembered=remembered_map)
                        trade.trigger(e, "o", "s")
                        reached = trade.sub_order_status("o", "s").name
                except TransitionRejected:
                    continue
                if reached == cur:
                    return True
    return False


def _pay_steps(machine: CompiledMachine) -> tuple[str | None, ...]:
    return ("ADVANCE", "BALANCE", "FULL") if machine.name == "icbu_trade" else (None,)


def oracle(export: Export) -> list[Judged]:
    """Illegal steps and warnings found by replaying each order through the order objects."""
    main = export.machine
    refund = orderfsm.load("taobao_refund") if export.refunds else None
    out: list[Judged] = []
    entities: dict[tuple[str, str], tuple[str, str]] = {}
    for line, row in enumerate(export.rows, start=2):
        observed = [(main, ("", ""), main.status(row.status).name, "")]
        if refund is not None and row.refund_status != "":
            parent = main.status(row.status).name
            observed.append(
                (refund, ("r", row.sub_order_id), refund.status(row.refund_status).name, parent)
            )
        for machine, key, cur, parent in observed:
            entity = (row.order_id, *key)
            if entity not in entities:
                entities[entity] = (cur, "")  # type: ignore[index]
                continue
            prev, remembered = entities[entity]  # type: ignore[index]
            if prev == cur:
                continue
            finding = _judge_like_orders(machine, prev, cur, remembered, parent)
            if finding is not None:
                kind, rule = finding
                src, dst = machine.status(prev).code, machine.status(cur).code
                sub = key[1] if key[0] == "r" else ""
                out.append((kind, line, row.order_id, sub, machine.name, src, dst, rule))
            entities[entity] = (cur, _memory(machine, prev, cur, remembered))  # type: ignore[index]
    return sorted(out)


def _quarantine(machine: CompiledMachine) -> set[str]:
    return {s.name for s in machine.states if s.quarantine}


def _memory(machine: CompiledMachine, prev: str, cur: str, remembered: str) -> str:
    """What the order remembers after ``prev -> cur``: a history state its entry (a
    release into one: nothing known), a quarantine state where it was parked from."""
    jail, history = _quarantine(machine), machine.history_states
    if cur in jail:
        return prev
    if cur in history:
        if prev in history:
            return remembered
        return "" if prev in jail else prev
    return ""


def _judge_like_orders(
    machine: CompiledMachine, prev: str, cur: str, remembered: str, parent: str
) -> tuple[str, str] | None:
    """``None`` when an order gets from ``prev`` to ``cur`` in one step, else (kind, rule): an unknown platform status parks an order in the
    quarantine state (a warning, never out of a final status) and a known one releases it,
    judged as a direct change from where it was parked."""
    jail = _quarantine(machine)
    if cur in jail:
        if machine.status(prev).final:
            return ("illegal", "")
        return ("quarantine", "quarantine")
    if prev in jail:
        if not remembered or remembered == cur:
            return None
        prev, remembered = remembered, ""
    if prev not in machine.history_states:
        remembered = ""
    if _order_moves(machine, prev, cur, remembered, parent):
        return None
    src, dst = machine.status(prev), machine.status(cur)
    path = shortest_path(machine, src, dst, machine.status(remembered) if remembered else None)
    if not src.final and not machine.has_edge(src, dst) and path is not None and len(path) > 1:
        return ("skipped", "skipped steps")
    return ("illegal", "")


def _without_rules(found: list[Judged]) -> list[Judged]:
    return [(*f[:7], "" if f[0] == "illegal" else f[7]) for f in found]


MACHINES = st.sampled_from(SHIPPED_TABLES).flatmap(exports)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(MACHINES, st.integers(0, 2**16))
def test_stream_duckdb_and_order_objects_report_the_same_steps(
    tmp_path: Path, export: Export, seed: int
) -> None:
    path = write(tmp_path, export)
    stream = audit_files([path], export.machine, engine="stream")
    duck = audit_files([path], export.machine, engine="duckdb")
    assert judged(stream) == judged(duck)
    assert _without_rules(judged(stream)) == oracle(export)
    assert (stream.steps, stream.orders, stream.rows) == (duck.steps, duck.orders, duck.rows)
    assert stream.taken == duck.taken and stream.non_final == duck.non_final
    # unsorted: the stream engine refuses rather than misjudge; DuckDB sorts
    shuffled = write(tmp_path, export, "shuffled.csv", shuffle=seed)
    again = audit_files([shuffled], export.machine, engine="duckdb")
    assert sorted((f[0], f[2], f[3], f[5], f[6]) for f in judged(again)) == sorted(
        (f[0], f[2], f[3], f[5], f[6]) for f in judged(duck)
    )


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SHIPPED_TABLES).flatmap(lambda m: exports(m, mutate=False)))
def test_valid_histories_audit_clean(tmp_path: Path, export: Export) -> None:
    result = audit_files([write(tmp_path, export)], export.machine)
    assert result.illegal == [] and result.warnings == [] and result.problems == []
    assert result.exit_code == 0


def _csv(tmp: Path, text: str, name: str = "h.csv", encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_icbu_frozen_returns_only_where_it_came_from(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "order_id,seq,status\nA,1,unpay\nA,2,captured\nB,1,undeliver\nB,2,frozen\nB,3,paid\n"
        "C,1,undeliver\nC,2,frozen\nC,3,undeliver\nD,1,captured\nD,2,frozen\nD,3,undeliver\n",
    )
    result = audit_files([path], "icbu_trade")
    assert [(f.order_id, f.source, f.target) for f in result.illegal] == [("B", "frozen", "paid")]
    skip_a, skip_d = result.warnings
    assert skip_a.detail == "skips steps: unpay -> paying -> paid -> captured"  # not via frozen
    # back to where it froze (captured) first, then on to shipping
    assert skip_d.detail == "skips steps: frozen -> captured -> undeliver"


def test_taobao_refund_is_judged_under_its_main_order(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "order_id,seq,status,sub_order_id,refund_status\n"
        "A,1,WAIT_BUYER_CONFIRM_GOODS,s1,0\nA,2,WAIT_BUYER_CONFIRM_GOODS,s1,10\n"
        "B,1,WAIT_BUYER_P,s1,0\nB,2,WAIT_BUYER_P,s1,10\n"
        # a refund row carries the main status, not the sub-order's own: whether its
        # goods shipped is context the export does not carry, so it is existential
        "C,1,WAIT_SELLER_SEND_GOODS,s1,0\nC,2,WAIT_SELLER_SEND_GOODS,s1,10\n",
    )
    result = audit_files([path], "taobao_order")
    (bad,) = result.illegal
    assert (bad.order_id, bad.sub_order_id, bad.machine) == ("B", "s1", "taobao_refund")
    assert "main order" in bad.rule


@pytest.mark.parametrize("engine", ["stream", "duckdb"])
def test_a_stored_refund_of_a_shipped_sub_order_under_an_unshipped_order_passes(
    tmp_path: Path, engine: str
) -> None:
    """What the library stores passes its own audit: sub-order a shipped ahead of its
    order (10), so its refund was accepted; the audit must not call it illegal."""
    order = orderfsm.TaobaoOrder(
        status=10, sub_orders=["a"], sub_order_statuses={"a": "WAIT_BUYER_CONFIRM_GOODS"}
    )
    order.trigger("apply_refund", sub_order="a")
    rows = orderfsm.history_rows(order, "o1")
    header = "order_id,seq,machine,sub_order_id,status,refund_status,via\n"
    path = _csv(
        tmp_path,
        header
        + "".join(
            f"{r.order_id},{r.seq},{r.machine},{r.sub_order_id},{r.status},"
            f"{r.refund_status},{r.via}\n"
            for r in rows
        ),
    )
    result = audit_files([path], "taobao_order", engine=engine)
    assert result.illegal == [] and result.steps == 1


def _problems(result: AuditResult) -> list[tuple[int, str]]:
    return [(f.line, f.column) for f in result.problems]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_bad_input_is_a_finding_on_its_line(tmp_path: Path, suffix: str) -> None:
    rows = [
        ("A", "1", "12"),
        ("A", "2", "\u00b2"),
        ("A", "3", "--5"),
        ("A", "4", "9" * 5000),
        ("", "5", "12"),
        ("B\u2028C", "6", "12"),
        ("D", "7", "x" * 1_000_000),
    ]
    if suffix == ".csv":
        text = "\ufefforder_id,seq,status,extra\n\n" + "".join(
            f"{o},{s},{st},z\n" for o, s, st in rows
        )
    else:
        text = (
            "\ufeff"
            + "\n".join(
                json.dumps({"order_id": o, "seq": int(s), "status": st, "extra": 1})
                for o, s, st in rows
            )
            + "\n\n"
            + "[" * 100_000
            + "\n"
        )
    path = _csv(tmp_path, text, "h" + suffix)
    result = audit_files([path], "taobao_order")
    first = 3 if suffix == ".csv" else 1
    expected = [
        (first + 1, "status"),
        (first + 2, "status"),
        (first + 3, "status"),
        (first + 4, "order_id"),
        (first + 6, "status"),
    ]
    if suffix == ".jsonl":
        expected.append((first + 8, ""))
    assert _problems(result) == expected
    assert result.orders == 2  # A and "B\u2028C" (one id); the 1 MB row is not read
    assert any("ignored" in n for n in result.notes)
    assert result.exit_code == 1


def test_not_utf8_and_short_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"order_id,seq,status\nA,1,12\nA\xff,2,12\nB,1\n")
    result = audit_files([path], "taobao_order")
    assert _problems(result) == [(3, "order_id"), (4, "")]


def test_missing_column_and_unsorted_input_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(AuditInputError, match=r"line 1: the header has no column 'status'"):
        audit_files([_csv(tmp_path, "order_id,seq,state\nA,1,12\n")], "taobao_order")
    unsorted = _csv(tmp_path, "order_id,seq,status\nB,1,12\nA,1,12\n", "u.csv")
    with pytest.raises(AuditInputError, match=r"line 3: order 'A' comes after order 'B'"):
        audit_files([unsorted], "taobao_order")
    result = audit_files([unsorted], "taobao_order", ordering="seq")
    assert result.orders == 2 and result.exit_code == 0
    backwards = _csv(tmp_path, "order_id,seq,status\nA,2,12\nA,1,0\n", "b.csv")
    with pytest.raises(AuditInputError, match=r"line 3: order 'A': seq '1' comes after 2"):
        audit_files([backwards], "taobao_order")


def test_findings_are_capped_but_counted(tmp_path: Path) -> None:
    rows = "".join(f"o{i:05d},1,4\no{i:05d},2,12\n" for i in range(50))
    path = _csv(tmp_path, "order_id,seq,status\n" + rows)
    for engine in ("stream", "duckdb"):
        result = audit_files([path], "taobao_order", keep=5, engine=engine)  # type: ignore[arg-type]
        assert len(result.illegal) == 5 and result.counts["illegal"] == 50
        assert result.to_json()["summary"]["illegal"] == 50
        assert [f.line for f in result.illegal] == [3, 5, 7, 9, 11]


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SHIPPED_TABLES).flatmap(exports))
def test_parquet_and_json_lines_audit_like_csv(tmp_path: Path, export: Export) -> None:
    csv_path = write(tmp_path, export)
    expected = judged(audit_files([csv_path], export.machine, engine="stream"))
    parquet = tmp_path / "export.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{parquet}' "
        "(FORMAT parquet)"
    )
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps(dict(zip(_header(export), row, strict=True))) + "\n" for row in _rows(export)
        ),
        "utf-8",
    )

    def lines_shifted(found: list[Judged], by: int) -> list[Judged]:
        return [(f[0], f[1] + by, *f[2:]) for f in found]

    for engine in ("stream", "duckdb"):
        assert (
            lines_shifted(judged(audit_files([parquet], export.machine, engine=engine)), 1)
            == expected
        )  # type: ignore[arg-type]
        assert (
            lines_shifted(judged(audit_files([jsonl], export.machine, engine=engine)), 1)
            == expected
        )  # type: ignore[arg-type]


def _header(export: Export) -> list[str]:
    return [
        "order_id",
        "seq",
        "status",
        *(["sub_order_id", "refund_status"] if export.refunds else []),
    ]


def _rows(export: Export) -> list[list[object]]:
    return [
        [
            r.order_id,
            r.seq,
            r.status,
            *([r.sub_order_id, r.refund_status] if export.refunds else []),
        ]
        for r in export.rows
    ]


def test_time_ordered_logs_audit_like_order_sorted_ones(tmp_path: Path) -> None:
    by_order = _csv(
        tmp_path,
        "order_id,seq,status\nA,1,unpay\nA,3,captured\nA,6,frozen\nA,7,intention_processing\n"
        "B,2,undeliver\nB,4,frozen\nB,5,undeliver\n",
    )
    by_time = _csv(
        tmp_path,
        "order_id,seq,status\nA,1,unpay\nB,2,undeliver\nA,3,captured\nB,4,frozen\n"
        "B,5,undeliver\nA,6,frozen\nA,7,intention_processing\n",
        "t.csv",
    )
    one = audit_files([by_order], "icbu_trade")
    other = audit_files([by_time], "icbu_trade", ordering="seq")
    assert [(f.kind, f.order_id, f.source, f.target) for f in one.illegal + one.warnings] == [
        ("illegal", "A", "frozen", "intention_processing"),
        ("skipped", "A", "unpay", "captured"),
    ]
    assert sorted(
        (f.kind, f.order_id, f.source, f.target) for f in other.illegal + other.warnings
    ) == sorted((f.kind, f.order_id, f.source, f.target) for f in one.illegal + one.warnings)
    assert (other.orders, other.steps, other.non_final) == (one.orders, one.steps, one.non_final)


def test_ka_sub_orders_are_judged_each_on_their_own(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "order_id,seq,status,sub_order_id\n"
        "T1,1,waitbuyerpay,a\nT1,2,waitbuyerpay,b\nT1,3,waitsellersend,a\n"
        "T1,4,waitsellersend,b\nT1,5,waitlogisticstakein,a\nT1,6,waitbuyerpay,b\n",
    )
    for engine in ("stream", "duckdb"):
        result = audit_files([path], "ka_pool_order", engine=engine)  # type: ignore[arg-type]
        assert [(f.line, f.sub_order_id, f.source, f.target) for f in result.illegal] == [
            (7, "b", "waitsellersend", "waitbuyerpay")
        ]
        assert result.steps == 4 and result.orders == 1


def test_the_duckdb_engine_prints_no_progress_bar() -> None:
    """DuckDB draws a progress bar on stdout for a query over 2 s: into a ``--json`` report."""
    from orderfsm.check.audit.duck import connect  # noqa: PLC0415

    assert connect().execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
