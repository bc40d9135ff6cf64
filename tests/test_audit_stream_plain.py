"""The stream engine's plain loop (order id, ordering value, status: ``_feed_plain``) judges
exactly as its general path (``feed``), which the same file with an empty ``via`` column
takes: same report, or the same error, on ids and ordering values made to hit its short
cuts (short ordering values converted once, ids ascending as text or as numbers)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from orderfsm.check.audit import AuditInputError, audit_files
from orderfsm.check.audit.stream import _numbers_ascend

STATUSES = ["0", "1", "2", "5", "6", "9", "10", "11", "12", "13", "WAIT_BUYER_PAY", "?"]
ids = st.sampled_from(["7", "07", "8", "10", "010", "9", "99", "100", "a", "A7", "", "7 "])
seqs = st.one_of(
    st.integers(-3, 120).map(str),
    st.sampled_from(["007", "0007", "00007", "12345", "", "1.5", " 7", "٣", "99999"]),
)
rows = st.lists(st.tuples(ids, seqs, st.sampled_from(STATUSES)), max_size=30)


def _report(path: Path) -> str:
    try:
        result = audit_files([path], "taobao_order", engine="stream")
    except AuditInputError as exc:
        return f"error: {exc}"
    return json.dumps(result.to_json(), sort_keys=True)


@settings(max_examples=150, deadline=None)
@given(rows=rows, sort=st.booleans())
def test_the_plain_loop_reports_as_the_general_path(
    tmp_path_factory: object, rows: list[tuple[str, str, str]], sort: bool
) -> None:
    if sort:  # mostly ordered, so more than the first row or two get judged
        rows = sorted(rows, key=lambda r: (r[0], r[1]))
    path = tmp_path_factory.mktemp("plain") / "export.csv"  # type: ignore[attr-defined]
    path.write_text(
        "order_id,seq,status\n" + "".join(f"{o},{s},{st}\n" for o, s, st in rows), "utf-8"
    )
    plain = _report(path)
    path.write_text(
        "order_id,seq,status,via\n" + "".join(f"{o},{s},{st},\n" for o, s, st in rows), "utf-8"
    )
    assert plain == _report(path)


@given(
    before=st.text(st.sampled_from("0123456789٣² a"), max_size=32),
    after=st.text(st.sampled_from("0123456789٣² a"), max_size=32),
)
def test_ids_ascend_as_numbers_only_as_decimal_numbers_of_up_to_30_digits(
    before: str, after: str
) -> None:
    decimal = re.compile(r"[0-9]{1,30}\Z")
    want = bool(decimal.match(before) and decimal.match(after)) and int(after) > int(before)
    assert _numbers_ascend(before, after) == want
