"""`import orderfsm` loads only the errors and the compiled machines; every public name
still works as ``orderfsm.X`` and ``from orderfsm import X``, loading its module on use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import orderfsm


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout.strip()


def test_import_leaves_ingestion_orders_checking_rendering_and_the_engine_unloaded() -> None:
    loaded = _run(
        "import sys, orderfsm; orderfsm.load('taobao_order').transition(12, 'cancel');"
        "print(' '.join(sorted(sys.modules)))"
    ).split()
    heavy = ("orderfsm.ingest", "orderfsm.orders", "orderfsm.check", "orderfsm.render")
    assert [m for m in loaded if m.startswith(heavy) or m in ("transitions", "msgspec")] == []


def test_every_public_name_imports_lazily() -> None:
    """In a fresh process each name is first reached through the lazy path, both ways."""
    out = _run(
        "import orderfsm\n"
        "for name in orderfsm.__all__:\n"
        "    lazy = name not in vars(orderfsm)\n"
        "    exec(f'from orderfsm import {name} as value')\n"
        "    print(name, lazy, value is getattr(orderfsm, name), name in dir(orderfsm))\n"
    )
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == orderfsm.__all__
    assert all(line.endswith("True True") for line in lines)
    assert sum(line.split()[1] == "True" for line in lines) >= 10


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        orderfsm.Nope  # noqa: B018
    with pytest.raises(ImportError):
        from orderfsm import Nope  # type: ignore[attr-defined]  # noqa: F401, PLC0415


def test_the_store_imports_no_database_driver_until_a_backend_needs_one() -> None:
    loaded = _run(
        "import sys, orderfsm, orderfsm.store, orderfsm.store.psycopg, orderfsm.store.sqlalchemy;"
        "orderfsm.store.OrderStore(orderfsm.store.SqliteBackend(':memory:')).create_schema();"
        "print(' '.join(sorted(sys.modules)))"
    ).split()
    drivers = ("psycopg", "sqlalchemy", "starlette", "uvicorn")
    assert [m for m in loaded if m.split(".")[0] in drivers] == []
    plain = _run("import sys, orderfsm; print(' '.join(sorted(sys.modules)))").split()
    assert [m for m in plain if m.startswith("orderfsm.store")] == []


def test_building_restoring_and_applying_to_an_order_loads_no_payload_parser() -> None:
    """Orders run on the model alone: the parser (and defusedxml) load only with parse."""
    loaded = _run(
        "import sys, orderfsm\n"
        "from orderfsm.model.records import TaobaoSnapshot\n"
        "o = orderfsm.TaobaoOrder(sub_orders=['a'])\n"
        "o.trigger('creation_complete')\n"
        "o.apply(TaobaoSnapshot('status_callback', '1', None, 'WAIT_BUYER_P', 5, (), '$'))\n"
        "orderfsm.TaobaoOrder.from_dict(o.to_dict())\n"
        "i = orderfsm.IcbuOrder(); i.trigger('draft_order')\n"
        "orderfsm.IcbuOrder.from_dict(i.to_dict())\n"
        "k = orderfsm.KaTrade({'o': ['a']}); k.trigger('auto_deduct')\n"
        "orderfsm.KaTrade.from_dict(k.to_dict())\n"
        "print(' '.join(sorted(sys.modules)))"
    ).split()
    assert [m for m in loaded if m.startswith(("orderfsm.ingest", "defusedxml"))] == []
