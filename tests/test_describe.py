"""describe(): the documented customer-facing text of every status of every machine."""

from __future__ import annotations

import pytest

import orderfsm
from orderfsm.model.describe import describe

# 000_29cd69a61e8d9e8a.txt § Main Order Status Mapping / Refund Status Mapping, transcribed
# here from the document (not from the tables) so a typo in either is caught.
TAOBAO_EN = {
    0: "awaiting your payment",
    1: "Paid, awaiting finance confirmation",
    2: "Finance confirmed, awaiting payment",
    3: "Finance rejected, please re-upload proof",
    4: "Order cancelled",
    5: "Awaiting finance system payment",
    10: "Paid, awaiting seller shipment",
    11: "Seller shipped, awaiting confirmation",
    12: "Order being created",
    9: "Order status abnormal, please contact support",
}
REFUND_EN = {
    0: "No refund applied",
    10: "Refund application submitted, awaiting seller agreement",
    20: "Seller agreed to refund, please return goods",
    30: "Goods returned, awaiting seller confirmation",
    100: "Refund successful, funds returned",
    -10: "Seller refused refund",
    -20: "Refund closed",
}
# 001_7aaff76250cc2543.txt § 订单状态枚举
TAOBAO_ZH = {0: "待付款", 4: "已取消", 5: "待财务付款", 10: "待发货", 11: "已发货", 12: "构建中"}


@pytest.mark.parametrize(("code", "text"), TAOBAO_EN.items())
def test_taobao_main_mapping(code: int, text: str) -> None:
    # the document writes "awaiting your payment" in lower case for 0 only
    assert describe(code).lower() == text.lower()


@pytest.mark.parametrize(("code", "text"), REFUND_EN.items())
def test_taobao_refund_mapping(code: int, text: str) -> None:
    assert describe(code, machine="taobao_refund") == text


@pytest.mark.parametrize(("code", "text"), TAOBAO_ZH.items())
def test_taobao_chinese(code: int, text: str) -> None:
    assert describe(code, "zh") == text


def test_every_status_of_every_machine_has_text_in_both_languages() -> None:
    for name in orderfsm.MACHINES:
        machine = orderfsm.load(name)
        for state in machine.states:
            for lang in ("en", "zh"):
                text = describe(state.code, lang, machine=name)
                assert text.strip(), (name, state, lang)
            assert describe(state.name, machine=name) == describe(state.code, machine=name)


def test_chinese_falls_back_to_the_documented_english_text() -> None:
    assert describe(1, "zh") == TAOBAO_EN[1]


def test_accepts_raw_strings_and_names() -> None:
    assert describe("WAIT_BUYER_P") == describe("TAOBAO_ORDER_WAIT_BUYER_PAY") == describe(0)


def test_icbu_unpay_depends_on_pay_step() -> None:
    texts = {
        step: describe("unpay", machine="icbu_trade", pay_step=step)
        for step in ("ADVANCE", "BALANCE", "FULL")
    }
    assert len(set(texts.values())) == 3
    assert "advance" in texts["ADVANCE"].lower()
    assert "balance" in texts["BALANCE"].lower()
    assert "full" in texts["FULL"].lower()
    generic = describe("unpay", machine="icbu_trade")
    assert generic not in texts.values()
    # 002 § 响应参数 pay_step: "pay_step=ADVANCE 代表预付款 未支付", "pay_step=FULL 代表全款 未支付"
    assert describe("unpay", "zh", machine="icbu_trade", pay_step="ADVANCE") == "预付款未支付"
    assert describe("unpay", "zh", machine="icbu_trade", pay_step="FULL") == "全款未支付"
    # other statuses ignore pay_step
    assert describe("paid", machine="icbu_trade", pay_step="BALANCE") == describe(
        "paid", machine="icbu_trade"
    )


def test_bad_arguments_raise_orderfsm_errors() -> None:
    with pytest.raises(orderfsm.UnknownStatus):
        describe(7)
    with pytest.raises(orderfsm.OrderFsmError, match="unknown language"):
        describe(0, "fr")
    with pytest.raises(orderfsm.InvalidOrderState):
        describe("unpay", machine="icbu_trade", pay_step="LATER")
    with pytest.raises(orderfsm.InvalidOrderState):
        describe(0, pay_step="ADVANCE")  # taobao_order has no pay_step
    with pytest.raises(orderfsm.UnknownMachine):
        describe(0, machine="nope")
