"""The reference service (examples/service/) over real HTTP on loopback, on PostgreSQL.

The service runs as ``python -m examples.service`` in a subprocess on a free port (what
``scripts/run service`` runs once its database is up). Concurrent clients refund, cancel
and redeliver callbacks at once: no update is lost, every refusal is explained (409 with
the rule, its source and the allowed events), and the service's ``order_history``,
exported to CSV, passes ``orderfsm audit`` with 0 illegal steps in both engines.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from store_support import audit
from support import PAYLOADS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PURCHASE_ID = 200058578338
SUBS = [f"{PURCHASE_ID}-{i:02d}" for i in range(20)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serving(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """Start ``command`` and wait (bounded) until it answers ``/healthz`` on ``port``."""
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the service did not start:\n{proc.communicate()[0]}")
        time.sleep(0.1)


@pytest.fixture
def service(postgres_url: str) -> Iterator[str]:
    """The service's base URL; stopped (and its output shown on failure) after the test."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": postgres_url, "ORDERFSM_PORT": str(port)}
    proc = _serving([sys.executable, "-m", "examples.service"], env, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
        # a clean shutdown on SIGTERM (uvicorn then re-raises the signal it handled)
        assert proc.returncode in (0, -15) and "Application shutdown complete" in out, out


def callback(status: str, modify_time: int, sub_status: str) -> bytes:
    """A TAOBAO_ORDER_BUYER_VIEW_BUYER_STATUS body (003's shape) for the order and its 20
    sub-orders."""
    body = json.loads((PAYLOADS / "003_status_callback.json").read_text("utf-8"))
    message = body["messageBody"][0]
    template = message["sub_purchase_orders"][0]
    message.update(purchase_id=PURCHASE_ID, status=status, modify_time=modify_time)
    message["sub_purchase_orders"] = [
        {**template, "sub_purchase_order_id": sid, "status": sub_status} for sid in SUBS
    ]
    body["messageType"] = "TAOBAO_ORDER_BUYER_VIEW_BUYER_STATUS"
    return json.dumps(body).encode()


def icbu_body(status: str, xml: bool) -> bytes:
    """The alibaba.seller.order.get example (XML as quoted, JSON as derived) at ``status``."""
    source = (
        PAYLOADS / "002_order_get_response.xml"
        if xml
        else FIXTURES / "002_order_get_response_derived.json"
    )
    text = source.read_text("utf-8").replace("trade_success", status).replace("ADVANCE", "FULL")
    return text.encode()


def test_the_http_contract(service: str) -> None:
    with httpx.Client(base_url=service, timeout=30) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get(f"/orders/taobao/{PURCHASE_ID}").status_code == 404
        assert http.post(f"/orders/taobao/{PURCHASE_ID}/cancel").status_code == 404
        # a body that cannot be read: 400 naming the field and the problem; nothing stored
        bad = http.post("/callbacks/taobao", content=b'{"messageBody": [{"purchase_id": 1}]}')
        assert bad.status_code == 400
        assert bad.json()["field"] == "$.messageBody[0].status"
        assert "missing" in bad.json()["problem"]
        huge = http.post("/callbacks/taobao", content=b" " * (3 * 1024 * 1024))
        assert huge.status_code == 400 and "limit" in huge.json()["problem"]
        # the platform's error response: 502
        error = (PAYLOADS / "002_error_response.xml").read_bytes()
        failed = http.post("/orders/icbu/sync", content=error)
        assert failed.status_code == 502 and "code='50'" in failed.json()["problem"]
        assert failed.json()["platform_sub_code"] == "isv.invalid-parameter"

        paid = http.post(
            "/callbacks/taobao",
            content=callback("WAIT_SELLER_SEND_GOODS", 2000, "WAIT_BUYER_CONFIRM_GOODS"),
        )
        assert paid.status_code == 200
        # first sight: the service starts holding the order from what the body says
        assert [o["outcome"] for o in paid.json()["outcomes"]] == ["first_sight"]
        view = http.get(f"/orders/taobao/{PURCHASE_ID}").json()
        assert view["status"] == {"code": 10, "name": "WAIT_SELLER_SEND_GOODS"}
        assert view["customer_text"] and view["version"] == 1 and view["events"] == ["ship"]
        assert len(view["sub_orders"]) == 20
        assert view["sub_orders"][0]["events"] == ["apply_refund"]
        assert view["sub_orders"][0]["refund_status"]["name"] == "NOT_APPLY_FOR_REFUND"

        locked = http.post(f"/orders/taobao/{PURCHASE_ID}/cancel")
        assert locked.status_code == 409
        assert locked.json()["kind"] == "PaymentLocked"
        assert locked.json()["rule"] and locked.json()["source"]
        assert locked.json()["allowed"] == ["ship"]
        # the buyer's cancel is refused; the seller's ship is no alternative for the buyer
        assert locked.json()["actors"] == ["buyer"] and locked.json()["alternatives"] == []
        unknown = http.post(f"/orders/taobao/{PURCHASE_ID}/sub-orders/nope/refund")
        assert unknown.status_code == 404 and unknown.json()["error"] == "unknown sub-order"
        assert http.post("/orders/taobao/1/sub-orders/x/refund").status_code == 404
        refunded = http.post(f"/orders/taobao/{PURCHASE_ID}/sub-orders/{SUBS[0]}/refund")
        assert refunded.status_code == 200
        assert refunded.json()["sub_orders"][0]["refund_status"]["name"] == "APPLIED_REFUND"

        for status, xml, said in (
            ("undeliver", False, "first_sight"),
            ("delivering", True, "advanced"),
        ):
            synced = http.post("/orders/icbu/sync", content=icbu_body(status, xml))
            assert synced.status_code == 200
            assert [o["outcome"] for o in synced.json()["outcomes"]] == [said]
        icbu = http.get("/orders/icbu/12345").json()
        assert icbu["status"] == {"code": "delivering", "name": "delivering"}
        # first sight holds it as the body says (version 0); the second sync advanced it
        assert icbu["version"] == 1 and icbu["sub_orders"] == [] and icbu["events"]
        assert icbu["customer_text"]
        # a listener counted every change the service saved
        counted = http.get("/metrics").json()["committed_changes"]
        assert counted == {"trigger": 1, "snapshot": 1}  # the refund; delivering


def test_concurrent_clients_lose_no_update_and_every_refusal_is_explained(
    service: str, postgres_url: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=service, timeout=30) as http:
        assert (
            http.post(
                "/callbacks/taobao",
                content=callback("WAIT_SELLER_SEND_GOODS", 2000, "WAIT_BUYER_CONFIRM_GOODS"),
            ).status_code
            == 200
        )

    async def clients() -> list[tuple[str, httpx.Response]]:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=service, timeout=60, limits=limits) as http:
            requests: list[tuple[str, Any]] = []
            for sid in SUBS * 2:  # each sub-order refunded twice: once lands, once refused
                requests.append(
                    (
                        f"refund {sid}",
                        http.post(f"/orders/taobao/{PURCHASE_ID}/sub-orders/{sid}/refund"),
                    )
                )
            for _ in range(5):
                requests.append(("cancel", http.post(f"/orders/taobao/{PURCHASE_ID}/cancel")))
                body = callback("WAIT_SELLER_SEND_GOODS", 2000, "WAIT_BUYER_CONFIRM_GOODS")
                requests.append(("redelivery", http.post("/callbacks/taobao", content=body)))
            for status in ("undeliver", "delivering", "trade_success"):
                requests.append(
                    (
                        f"icbu {status}",
                        http.post(
                            "/orders/icbu/sync",
                            content=icbu_body(status, xml=status == "delivering"),
                        ),
                    )
                )
            responses = await asyncio.wait_for(asyncio.gather(*(r for _, r in requests)), 120)
            return [
                (what, response) for (what, _), response in zip(requests, responses, strict=True)
            ]

    answered = asyncio.run(clients())
    for what, response in answered:
        assert response.status_code in (200, 409), (what, response.text)
        if response.status_code == 409:  # every refusal says why, where from, what instead
            reason = response.json()
            assert reason["error"] == "rejected" and reason["rule"] and reason["source"], what
            assert isinstance(reason["allowed"], list), what
    for sid in SUBS:
        codes = sorted(r.status_code for what, r in answered if what == f"refund {sid}")
        assert codes == [200, 409]
    assert all(r.status_code == 409 for what, r in answered if what == "cancel")
    redelivered = [r.json()["outcomes"][0]["outcome"] for w, r in answered if w == "redelivery"]
    assert set(redelivered) <= {"duplicate"}

    with httpx.Client(base_url=service, timeout=30) as http:
        view = http.get(f"/orders/taobao/{PURCHASE_ID}").json()
    assert {s["refund_status"]["name"] for s in view["sub_orders"]} == {"APPLIED_REFUND"}
    assert view["version"] == 1 + len(SUBS)  # the callback, then every refund: none lost

    with psycopg.connect(postgres_url) as conn:
        for machine in ("taobao_order", "icbu_trade"):
            found = conn.execute(
                "SELECT order_id, seq, machine, sub_order_id, status, refund_status, via"
                ' FROM order_history WHERE machine = %s ORDER BY order_id COLLATE "C", seq',
                (machine,),
            ).fetchall()
            # an ICBU order first seen in its latest status has no change to record
            assert found or machine == "icbu_trade"
            for engine in ("stream", "duckdb"):
                assert audit(found, tmp_path, machine, engine)["illegal"] == 0
        outbox = dict(
            conn.execute(
                "SELECT order_id, COUNT(DISTINCT version) FROM order_outbox GROUP BY order_id"
            ).fetchall()
        )
    # one outbox row per accepted change: the callback and 20 refunds; the ICBU syncs
    # raced in any order, so the later statuses may have come first (then the earlier
    # ones were stale), but the order ends where the latest one says, once per version
    assert outbox[f"taobao:{PURCHASE_ID}"] == 1 + len(SUBS)
    with httpx.Client(base_url=service, timeout=30) as http:
        icbu = http.get("/orders/icbu/12345").json()
    assert icbu["status"]["code"] == "trade_success"
    assert outbox["icbu:12345"] == 1 + icbu["version"]  # first sight (version 0), then each


def test_scripts_run_service_starts_its_own_postgres_and_stops_it_with_the_service(
    postgres_server: str,  # only to skip where PostgreSQL cannot be had (never under CI)
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["ORDERFSM_PORT"] = str(port)
    proc = _serving([str(ROOT / "scripts" / "run"), "service"], env, port)
    proc.terminate()  # SIGTERM to scripts/run, as a process manager would send it
    out = proc.communicate(timeout=60)[0]
    database = next(
        line.split(" at ", 1)[1].split()[0] for line in out.splitlines() if "PostgreSQL at" in line
    )
    assert "127.0.0.1" in database, out
    with pytest.raises(psycopg.OperationalError):  # the server it started is gone
        psycopg.connect(database, connect_timeout=5).close()
