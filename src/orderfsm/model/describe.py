"""What people see: the documented customer-facing text of a status.

English comes from each table's ``customer_text``, Chinese from ``description_zh``; both
are chosen by ``pay_step`` where the table says so (``customer_text_by`` /
``customer_text_zh_by``, as for ICBU ``unpay``). Where no document gives
a Chinese text for a status (Taobao 1, 2, 3, 9, the refund statuses, the KA pool
statuses: only their English pages were captured) the English text is returned rather
than an invented translation.
"""

from __future__ import annotations

from typing import Literal

from orderfsm.errors import OrderFsmError
from orderfsm.model.compile import StatusLike, load

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")


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
    if lang == "zh":
        return state.text_zh_for(variables) or state.text_for(variables)
    return state.text_for(variables)
