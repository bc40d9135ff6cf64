"""The audit's roles for rows that observe one part each (``via``), and for quarantine.

Every case runs in both engines, which must agree finding for finding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orderfsm.check.audit import AuditResult, audit_files

HEADER = "order_id,seq,machine,sub_order_id,status,refund_status,via\n"


def both(tmp_path: Path, body: str, header: str = HEADER) -> AuditResult:
    """Audit ``body`` (no ``--machine``: the machine column names it) with both engines,
    check they agree, and return the stream engine's result."""
    path = tmp_path / "rows.csv"
    path.write_text(header + body, "utf-8")
    machine = None if "machine" in header else "taobao_order"
    stream = audit_files([path], machine, engine="stream")
    duck = audit_files([path], machine, engine="duckdb")
    assert found(stream) == found(duck)
    assert stream.exit_code == duck.exit_code
    assert (stream.steps, stream.rows, stream.orders) == (duck.steps, duck.rows, duck.orders)
    return stream


def found(result: AuditResult) -> list[tuple[object, ...]]:
    return sorted(
        (f.kind, f.line, f.order_id, f.sub_order_id or "", f.source, f.target, f.rule, f.column)
        for f in (*result.illegal, *result.warnings, *result.forced, *result.problems)
    )


def test_a_sub_orders_own_status_is_its_own_part(tmp_path: Path) -> None:
    # the order at 10 while sub-order a is already shipped (11) and sub-order b waits:
    # each part moves legally; read as one status, 10 -> 11 -> 10 would be illegal
    body = (
        "T,1,taobao_order,,10,,initial\n"
        "T,2,taobao_order,a,10,,initial\n"
        "T,3,taobao_order,a,11,,snapshot\n"
        "T,4,taobao_order,b,10,,initial\n"
        "T,5,taobao_order,,11,,snapshot\n"
        "T,6,taobao_order,a,12,,snapshot\n"
    )
    result = both(tmp_path, body)
    assert [(f.line, f.sub_order_id, f.source, f.target) for f in result.illegal] == [
        (7, "a", 11, 12)
    ]
    assert result.steps == 3


def test_without_via_the_same_rows_are_the_main_status_as_before(tmp_path: Path) -> None:
    header = "order_id,seq,machine,sub_order_id,status,refund_status\n"
    body = "T,1,taobao_order,,10,\nT,2,taobao_order,a,11,\nT,3,taobao_order,b,10,\n"
    result = both(tmp_path, body, header)
    assert [(f.source, f.target) for f in result.illegal] == [(11, 10)]


def test_a_refund_row_is_judged_under_its_status_as_the_main_order(tmp_path: Path) -> None:
    body = (
        "T,1,taobao_order,a,11,0,initial\n"
        "T,2,taobao_order,a,11,10,trigger\n"  # refund applied while shipped: legal
        "U,1,taobao_order,a,0,0,initial\n"
        "U,2,taobao_order,a,0,10,trigger\n"  # while awaiting payment: refused by the guard
    )
    result = both(tmp_path, body)
    assert [(f.order_id, f.machine, f.source, f.target) for f in result.illegal] == [
        ("U", "taobao_refund", 0, 10)
    ]
    # with a via, the status of a refund row is context, not an observation of the order
    assert result.steps == 2


def test_forced_steps_are_their_own_kind_and_do_not_fail(tmp_path: Path) -> None:
    body = "T,1,taobao_order,,0,,initial\nT,2,taobao_order,,12,,forced\n"
    result = both(tmp_path, body)
    assert result.illegal == [] and result.exit_code == 0
    [f] = result.forced
    assert (f.kind, f.rule, f.source, f.target) == ("forced", "forced by the caller", 0, 12)
    assert "recorded as forced: illegal" in f.detail
    assert result.summary()["forced"] == 1


def test_a_forced_change_the_rules_allow_is_still_listed_as_forced(tmp_path: Path) -> None:
    result = both(tmp_path, "T,1,taobao_order,,10,,initial\nT,2,taobao_order,,11,,forced\n")
    [f] = result.forced
    assert f.detail == "recorded as forced (the rules allow it)"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        # parked from 10, released to 11: judged as 10 -> 11 (ship): a warning only
        ((10, 9, 11), [("quarantine", 10, 9)]),
        # back where it was parked from: nothing to judge
        ((10, 9, 10), [("quarantine", 10, 9)]),
        # parked from 0, released to 12: a rewind, judged as 0 -> 12
        ((0, 9, 12), [("quarantine", 0, 9), ("illegal", 9, 12)]),
        # a final status is never parked
        ((4, 9), [("illegal", 4, 9)]),
        # first seen parked: it may have been parked from any status
        ((9, 12), []),
    ],
)
def test_quarantine_is_a_warning_and_a_release_is_judged_from_where_it_was_parked(
    tmp_path: Path, statuses: tuple[int, ...], expected: list[tuple[str, int, int]]
) -> None:
    for header, row in (
        (HEADER, "T,{seq},taobao_order,,{status},,snapshot\n"),
        ("order_id,seq,status\n", "T,{seq},{status}\n"),  # status-based: old exports too
    ):
        body = "".join(row.format(seq=n, status=s) for n, s in enumerate(statuses, start=1))
        result = both(tmp_path, body, header)
        got = [(f.kind, f.source, f.target) for f in (*result.illegal, *result.warnings)]
        assert sorted(got) == sorted(expected), header
        assert result.exit_code == (1 if any(k == "illegal" for k, *_ in expected) else 0)


def test_release_detail_names_the_status_it_was_judged_from(tmp_path: Path) -> None:
    body = (
        "T,1,taobao_order,,0,,initial\n"
        "T,2,taobao_order,,9,,quarantine\n"
        "T,3,taobao_order,,12,,release\n"
    )
    result = both(tmp_path, body)
    [f] = result.illegal
    assert "released from OTHER_STATUS(9), judged from TAOBAO_ORDER_WAIT_BUYER_PAY(0)" in f.detail


def test_unknown_via_and_unknown_parent_are_bad_input(tmp_path: Path) -> None:
    body = (
        "T,1,taobao_order,,10,,initial\n"
        "T,2,taobao_order,,11,,teleport\n"
        "T,3,taobao_order,a,zzz,0,initial\n"
    )
    result = both(tmp_path, body)
    assert [(f.line, f.column, f.detail) for f in result.problems] == [
        (3, "via", "unknown via 'teleport'"),
        (4, "status", "unknown taobao_order status 'zzz'"),
    ]
    assert result.exit_code == 1


def test_ka_and_icbu_rows_with_via(tmp_path: Path) -> None:
    body = (
        "K,1,ka_pool_order,o1/s1,waitbuyerpay,,initial\n"
        "K,2,ka_pool_order,o1/s1,waitsellersend,,trigger\n"
        "K,3,ka_pool_order,o1/s2,waitbuyerpay,,initial\n"
        "K,4,ka_pool_order,o1/s2,success,,trigger\n"
    )
    result = both(tmp_path, body)
    assert [(f.sub_order_id, f.kind) for f in (*result.illegal, *result.warnings)] == [
        ("o1/s2", "skipped")
    ]
