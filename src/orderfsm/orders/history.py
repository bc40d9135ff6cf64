"""An order's history: the accepted steps, oldest first, each saying which part moved."""

from __future__ import annotations

from dataclasses import dataclass

from orderfsm.model.compile import Step
from orderfsm.model.synthetic import Via
from orderfsm.orders.ids import SubOrderId


@dataclass(frozen=True, slots=True, repr=False)
class Change:
    """One accepted event in an order's history: which part moved (``None`` = the order).

    For a sub-order, ``sub_order_status`` tells whether the step moved its own order
    status (``taobao_order`` machine) rather than its refund. ``via`` says where the step
    came from: ``"trigger"``, an applied ``"snapshot"``, a ``"reconstructed"`` step the
    snapshot skipped, or a ``"forced"``/``"quarantine"``/``"release"`` step that no table
    edge provides (see :mod:`orderfsm.model.synthetic`). ``at`` is when it happened (the
    snapshot's ``modify_time``, else the time the caller passed; ``None``: not known), in
    the caller's integer unit (see ``docs/time.md``).
    """

    sub_order: SubOrderId | None
    step: Step
    sub_order_status: bool = False
    via: Via = "trigger"
    at: int | None = None

    def __repr__(self) -> str:
        """One line: which part moved, the step in short, and how it came about (the
        time stays out: log lines that print changes keep their shape)."""
        part = "order" if self.sub_order is None else f"sub-order {self.sub_order!r}"
        if self.sub_order is not None and not self.sub_order_status:
            part += " refund"
        step = self.step
        return f"<Change {part}: {step.source} -> {step.target} on {step.event!r} via {self.via}>"
