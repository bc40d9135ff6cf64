"""The compiled tables against the document's two matrices, cell by cell.

The matrices are read from the claim files (transcribed from the document mark by mark),
not from the table files, so a typo in one is caught by the other. A cell may differ
only where the table records a decision naming that transition.
"""

import tomllib
from importlib import resources

import pytest

import orderfsm

CLAIMS = resources.files("orderfsm") / "data" / "claims" / "000_taobao_order_en.toml"


def matrix_cells(machine: str) -> list[tuple[int, int, bool]]:
    data = tomllib.loads(CLAIMS.read_text(encoding="utf-8"))
    (claim,) = [c for c in data["claims"] if c["kind"] == "matrix" and c["machine"] == machine]
    cells = []
    for row in claim["rows"]:
        assert len(row["marks"]) == len(claim["columns"]), row
        for col, mark in zip(claim["columns"], row["marks"], strict=True):
            assert mark in "✓-"
            cells.append((row["from"], col, mark == "✓"))
    return cells


def decided(machine: str) -> set[tuple[int, int]]:
    return {pair for d in orderfsm.load(machine).table.decisions for pair in d.transitions}


@pytest.mark.parametrize("machine", ["taobao_order", "taobao_refund"])
def test_every_cell_matches_or_has_a_decision(machine: str) -> None:
    m = orderfsm.load(machine)
    mismatched = [
        (src, dst, documented)
        for src, dst, documented in matrix_cells(machine)
        if m.has_edge(src, dst) != documented
    ]
    undecided = [cell for cell in mismatched if cell[:2] not in decided(machine)]
    assert undecided == [], f"cells that differ from the matrix with no decision: {undecided}"


def test_known_departures_are_exactly_the_decided_cells() -> None:
    # The decided departures from the main matrix: cancel while building (12->4).
    m = orderfsm.load("taobao_order")
    departures = {(s, d) for s, d, ok in matrix_cells("taobao_order") if m.has_edge(s, d) != ok}
    assert departures == {(12, 4)}
    r = orderfsm.load("taobao_refund")
    departures = {(s, d) for s, d, ok in matrix_cells("taobao_refund") if r.has_edge(s, d) != ok}
    assert departures == {(30, -20)}


@pytest.mark.parametrize("machine", ["taobao_order", "taobao_refund"])
def test_every_table_edge_outside_the_matrix_is_decided(machine: str) -> None:
    m = orderfsm.load(machine)
    cells = {(s, d) for s, d, _ in matrix_cells(machine)}
    for edge in m.edges:
        src, dst = m.status(edge.src).code, m.status(edge.dst or edge.src).code
        assert (src, dst) in cells or (src, dst) in decided(machine), edge
