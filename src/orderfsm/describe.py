"""What people see: the documented customer-facing text of a status.

English comes from each table's ``customer_text`` (chosen by ``pay_step`` where the table
says so, as for ICBU ``unpay``); Chinese from ``description_zh``. Where no document gives
a Chinese text for a status (Taobao 1, 2, 3, 9, the refund statuses, the KA pool
statuses: only their English pages were captured) the English text is returned rather
than an invented translation.
"""

from __future__ import annotations

from typing import Literal

from orderfsm.compile import StatusLike, load
from orderfsm.errors import OrderFsmError

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

# 002_72f8e4474636d231.txt § 响应参数 pay_step: "支付阶段 :预付款ADVANCE, 尾款BALANCE,FULL 全款
# ... trade_status =unpay ,pay_step=ADVANCE 代表预付款 未支付 / trade_status =unpay ,
# pay_step=FULL 代表全款 未支付". The BALANCE text follows the same pattern with the
# document's own word for it (尾款): inferred from that line, not quoted.
_ICBU_UNPAY_ZH = {"ADVANCE": "预付款未支付", "BALANCE": "尾款未支付", "FULL": "全款未支付"}


def describe(
    status: StatusLike,
    lang: str = "en",
    *,
    machine: str = "taobao_order",
    pay_step: str | None = None,
) -> str:
    """The customer-facing text of ``status`` in ``machine`` (a shipped machine name).

    ``pay_step`` (ICBU only: ``ADVANCE``, ``BALANCE`` or ``FULL``) picks the text for
    ``unpay``. Raises :class:`~orderfsm.errors.UnknownStatus` for a status the machine
    does not know, :class:`~orderfsm.errors.InvalidOrderState` for a ``pay_step`` the
    machine does not declare, :class:`~orderfsm.errors.OrderFsmError` for another language.
    """
    if lang not in LANGS:
        raise OrderFsmError(f"unknown language {lang!r}; languages are: {', '.join(LANGS)}")
    compiled = load(machine)
    state = compiled.status(status)
    # Without a pay_step the generic text is right: the table's default is not an observation.
    variables = {} if pay_step is None else compiled.variables({"pay_step": pay_step})
    if lang == "en":
        return state.text_for(variables)
    if machine == "icbu_trade" and state.name == "unpay" and pay_step in _ICBU_UNPAY_ZH:
        return _ICBU_UNPAY_ZH[pay_step]
    return state.description_zh or state.text_for(variables)
