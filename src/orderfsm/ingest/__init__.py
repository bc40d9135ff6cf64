"""Ingest platform payloads: parse them into snapshot records, apply them to orders.

``parse(body, kind)`` reads a purchase page, a status callback or an ICBU order into
records (:mod:`orderfsm.model.records`); ``order.apply(snapshot)`` decides what each
means for the order held (:mod:`orderfsm.model.decide`). Both live in the model, so that
building, restoring or applying to an order never loads the payload parser.
"""

from orderfsm.ingest.parse import MAX_BODY_BYTES, MAX_DEPTH, parse
from orderfsm.model.decide import (
    SEVERITY,
    ApplyResult,
    Inconsistency,
    Outcome,
    PartResult,
    RequestOutcome,
)
from orderfsm.model.records import (
    KINDS,
    IcbuSnapshot,
    Kind,
    Snapshot,
    SubOrderSnapshot,
    TaobaoSnapshot,
)

__all__ = [
    "KINDS",
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "SEVERITY",
    "ApplyResult",
    "IcbuSnapshot",
    "Inconsistency",
    "Kind",
    "Outcome",
    "PartResult",
    "RequestOutcome",
    "Snapshot",
    "SubOrderSnapshot",
    "TaobaoSnapshot",
    "parse",
]
