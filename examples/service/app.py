"""The reference service's HTTP contract, on ``orderfsm.store`` and PostgreSQL.

Every handler is a few lines over the library: parse the body
(``orderfsm.ingest.parse``), change the order inside ``store.update`` (which reads,
applies, saves with compare-and-set, writes the history rows and the outbox in one
transaction, and retries a lost race), and map the library's outcome or error to HTTP
(the table in docs/webhooks.md). An order is first held from the first body seen
(``from_snapshot``); buyer actions are asked with ``explain`` before they act, and a
listener counts every committed change (``GET /metrics``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import orderfsm
from orderfsm.ingest import MAX_BODY_BYTES, ApplyResult, parse
from orderfsm.store import AsyncOrderStore
from orderfsm.store.psycopg import AsyncPsycopgBackend
from orderfsm.store.sql import Statement


def taobao_key(purchase_id: object) -> str:
    return f"taobao:{purchase_id}"


def icbu_key(trade_id: object) -> str:
    return f"icbu:{trade_id}"


def state(status: orderfsm.State) -> dict[str, Any]:
    return {"code": status.code, "name": status.name}


def taobao_view(order: orderfsm.TaobaoOrder) -> dict[str, Any]:
    """What ``GET /orders/taobao/{purchase_id}`` answers."""
    return {
        "status": state(order.status),
        "customer_text": order.customer_text,
        "version": order.version,
        "sub_orders": [
            {
                "id": str(sid),
                "status": state(order.sub_order_status(sid)),
                "refund_status": state(refund),
                "events": list(order.enabled_events(sub_order=sid)),
                "buyer_events": list(order.enabled_events(sub_order=sid, actor="buyer")),
            }
            for sid, refund in order.sub_orders.items()
        ],
        "events": list(order.enabled_events()),
        "buyer_events": list(order.enabled_events(actor="buyer")),
    }


def icbu_view(order: orderfsm.IcbuOrder) -> dict[str, Any]:
    """What ``GET /orders/icbu/{trade_id}`` answers (ICBU orders have no sub-orders)."""
    return {
        "status": state(order.status),
        "pay_step": order.pay_step,
        "customer_text": order.customer_text,
        "must_intercept": order.must_intercept,
        "version": order.version,
        "sub_orders": [],
        "events": list(order.enabled_events()),
        "buyer_events": list(order.enabled_events(actor="buyer")),
    }


def first_sight(order_class: Any, snap: Any) -> Any:
    """The order as the first body seen states it, or ``None`` where it cannot be held (an
    ICBU status nobody documented: that machine has no quarantine status)."""
    try:
        return order_class.from_snapshot(snap)
    except orderfsm.UnknownStatus:
        return None


def seen_first(order_id: str, order: Any) -> dict[str, Any]:
    """The answer for a body that started holding its order."""
    return {
        "order_id": order_id,
        "outcome": "first_sight",
        "also": [],
        "changed": True,
        "version": order.version,
        "warnings": [],
    }


def outcome(order_id: str, result: ApplyResult) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "outcome": result.outcome,
        "also": list(result.also),
        "changed": result.changed,
        "version": result.version,
        "warnings": list(result.warnings),
    }


async def bounded_body(request: Request) -> bytes:
    """The body, read only up to one byte past what ``parse`` accepts: a huge body costs
    the service that much memory, not its size (``parse`` then refuses it: 400)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            break
    return bytes(body[: MAX_BODY_BYTES + 1])


def problem(http_status: int, /, **fields: Any) -> JSONResponse:
    return JSONResponse(fields, status_code=http_status)


def refused(why: orderfsm.Explanation) -> JSONResponse:
    """409 for an action the rules refuse: the rule, where it comes from, and what the
    same actors may do instead."""
    return problem(
        409,
        error="rejected",
        kind=why.refusal,
        rule=why.rule,
        source=why.source,
        status=why.status,
        allowed=list(why.allowed),
        actors=list(why.actors),
        alternatives=list(why.alternatives),
    )


def create_app(database_url: str) -> Starlette:  # noqa: PLR0915 - the routes share one store
    """The service on the PostgreSQL database at ``database_url`` (schema created)."""
    backend = AsyncPsycopgBackend(database_url)
    store = AsyncOrderStore(backend)
    committed: Counter[str] = Counter()  # every saved change, by how it came about

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.create_schema()
        stop = orderfsm.listen(lambda notice: committed.update([notice.via]))
        yield
        stop()
        await backend.close()

    async def ingest(
        request: Request, kind: str, key: Callable[[object], str], order_class: Any
    ) -> JSONResponse:
        try:
            snapshots = parse(await bounded_body(request), kind)  # type: ignore[call-overload]
        except orderfsm.PayloadError as exc:
            if exc.platform_code is not None:
                return problem(
                    502,
                    error="platform",
                    field=exc.path,
                    problem=exc.problem,
                    platform_code=exc.platform_code,
                    platform_message=exc.platform_message,
                    platform_sub_code=exc.platform_sub_code,
                    platform_sub_message=exc.platform_sub_message,
                )
            return problem(400, error="payload", field=exc.path, problem=exc.problem)
        outcomes = []
        for snap in snapshots:
            at = key(snap.order_id)
            if (
                await store.load(at) is None
                and (first := first_sight(order_class, snap))
                and await store.add(at, first)  # else another request started it: apply
            ):
                outcomes.append(seen_first(snap.order_id, first))
                continue
            result = await store.update(at, lambda o, s=snap: o.apply(s), new=order_class)
            outcomes.append(outcome(snap.order_id, result))
        # 200 for every readable body: duplicate, stale or odd are decisions, not failures
        return JSONResponse({"outcomes": outcomes})

    async def taobao_callback(request: Request) -> JSONResponse:
        return await ingest(request, "status_callback", taobao_key, orderfsm.TaobaoOrder)

    async def icbu_sync(request: Request) -> JSONResponse:
        return await ingest(request, "icbu_order", icbu_key, orderfsm.IcbuOrder)

    async def show(
        request: Request, key: str, view: Callable[[Any], dict[str, Any]]
    ) -> JSONResponse:
        order = await store.load(key)
        if order is None:
            return problem(404, error="unknown order", order=key)
        return JSONResponse(view(order))

    async def taobao_order(request: Request) -> JSONResponse:
        return await show(request, taobao_key(request.path_params["purchase_id"]), taobao_view)

    async def icbu_order(request: Request) -> JSONResponse:
        return await show(request, icbu_key(request.path_params["trade_id"]), icbu_view)

    async def act(key: str, event: str, sub_order: str | None = None) -> JSONResponse:
        """A buyer's action: asked with ``explain`` first, so a refusal is an answer (the
        rule, its source, the buyer's alternatives) and changes nothing."""

        def changed(order: orderfsm.TaobaoOrder) -> orderfsm.Explanation | dict[str, Any]:
            # ids arrive as text in a URL; the order may hold them as numbers
            sub = (
                None
                if sub_order is None
                else next((s for s in order.sub_orders if str(s) == sub_order), sub_order)
            )
            why = order.explain(event, sub_order=sub)
            if not why:
                return why
            order.trigger(event, sub_order=sub)
            return taobao_view(order)

        try:
            answer = await store.update(key, changed)
        except orderfsm.OrderNotStored:
            return problem(404, error="unknown order", order=key)
        except orderfsm.UnknownSubOrder as exc:
            return problem(404, error="unknown sub-order", order=key, problem=str(exc))
        if isinstance(answer, orderfsm.Explanation):
            return refused(answer)
        return JSONResponse(answer)

    async def cancel(request: Request) -> JSONResponse:
        return await act(taobao_key(request.path_params["purchase_id"]), "cancel")

    async def refund(request: Request) -> JSONResponse:
        key = taobao_key(request.path_params["purchase_id"])
        return await act(key, "apply_refund", request.path_params["sub_order_id"])

    async def metrics(request: Request) -> JSONResponse:
        """The changes this process saved, by how they came about (a listener counts)."""
        return JSONResponse({"committed_changes": dict(sorted(committed.items()))})

    async def healthz(request: Request) -> JSONResponse:
        try:
            async with backend.transaction(False) as tx:
                await tx.execute(Statement("SELECT 1", fetch=True))
        except orderfsm.StoreError as exc:
            return problem(503, status="unavailable", problem=str(exc))
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/callbacks/taobao", taobao_callback, methods=["POST"]),
            Route("/orders/icbu/sync", icbu_sync, methods=["POST"]),
            Route("/orders/taobao/{purchase_id}", taobao_order, methods=["GET"]),
            Route("/orders/icbu/{trade_id}", icbu_order, methods=["GET"]),
            Route("/orders/taobao/{purchase_id}/cancel", cancel, methods=["POST"]),
            Route(
                "/orders/taobao/{purchase_id}/sub-orders/{sub_order_id}/refund",
                refund,
                methods=["POST"],
            ),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={
            orderfsm.StoreError: store_unavailable,
            orderfsm.ConcurrentModification: store_unavailable,
        },
    )
    app.state.store = store
    return app


async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database failed, or the order stayed contended past every retry: 503, so the
    platform redelivers (nothing was saved)."""
    return problem(503, error="store", problem=str(exc))
