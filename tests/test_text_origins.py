"""Customer texts say where they come from, and the pages show exactly what the code returns."""

import re
from pathlib import Path
from typing import Any

import pytest

import orderfsm
from orderfsm.model.table import TEXT_ORIGINS
from test_conformance import table_data

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs" / "machines").glob("*.md"))]
ICBU = orderfsm.load("icbu_trade")
KA = orderfsm.load("ka_pool_order")


def test_composed_unpay_texts_are_marked_composed() -> None:
    unpay = ICBU.status("unpay")
    for step in ("ADVANCE", "BALANCE", "FULL"):
        assert unpay.text_origin_for({"pay_step": step}) == "composed"
    # without a pay_step the documented description is the text
    assert unpay.text_for({}) == "wait buyer to pay"
    assert unpay.text_origin_for({}) == "documented"
    assert ICBU.status("to_be_audited").customer_text_origin == "translated"
    assert ICBU.status("undeliver").customer_text_origin == "documented"


def test_every_reconstructed_ka_text_is_marked_inferred() -> None:
    assert {s.customer_text_origin for s in KA.states} == {"inferred"}
    assert all(s.text_origin_for({}) == "inferred" for s in KA.states)


def test_taobao_texts_are_documented() -> None:
    for name in ("taobao_order", "taobao_refund"):
        assert {s.customer_text_origin for s in orderfsm.load(name).states} == {"documented"}


def test_an_unknown_origin_is_rejected_with_its_place() -> None:
    data: dict[str, Any] = table_data("icbu_trade")
    data["states"][0]["customer_text_origin"] = "guessed"
    with pytest.raises(orderfsm.TableError, match=r"states\[0\].*customer_text_origin.*guessed"):
        orderfsm.load(data)
    assert TEXT_ORIGINS == ("documented", "translated", "composed", "inferred")


EXAMPLE = re.compile(
    r'IcbuOrder\(status="(\w+)", pay_step="(\w+)"\)\n\S+\.customer_text\s+# "([^"]+)"'
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_text_examples_on_pages_are_what_the_code_returns(page: Path) -> None:
    for status, pay_step, text in EXAMPLE.findall(page.read_text("utf-8")):
        assert orderfsm.IcbuOrder(status=status, pay_step=pay_step).customer_text == text


@pytest.mark.parametrize("name", orderfsm.MACHINES)
def test_machine_page_quotes_every_text_the_code_returns(name: str) -> None:
    machine = orderfsm.load(name)
    page = (ROOT / "docs" / "machines" / f"{name}.md").read_text("utf-8")
    values = [v.values for v in machine.table.variables] or [()]
    for s in machine.states:
        for variable in machine.table.variables or [None]:
            for value in values[0] if variable else [None]:
                given = {variable.name: value} if variable and value else {}
                text = s.text_for(given)
                origin = s.text_origin_for(given)
                mark = "" if origin == "documented" else f" *({origin})*"
                assert f'"{text}"{mark}' in page, (s.name, given)
