"""orderfsm benchmarks: side-by-side timings with ratios against baselines built in this run.

Run with ``scripts/run bench`` (or ``.venv/bin/python benchmarks/bench.py``; ``--quick``
for a shorter, noisier run; ``--only NAME`` for one section). Every figure is the median
of several repeats of a timed loop in this process (or, for whole commands, the median
wall time of several subprocesses), and every ratio compares two figures measured here,
on the same tables, so the ratios hold on other machines even where the figures do not.
See docs/performance.md for the figures and the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baselines  # noqa: E402

import orderfsm  # noqa: E402
from orderfsm import ingest  # noqa: E402

REPEATS = 5
BUDGET = 0.2  # seconds per repeat
SUBS = ["1001", "1002"]
EVENTS = ("creation_complete", "upload_payment_proof")


def per_call(fn: Callable[[], object]) -> float:
    """Median seconds per call of ``fn`` over ``REPEATS`` timed loops of ~``BUDGET`` each."""
    timer = timeit.Timer(fn)
    number, took = timer.autorange()
    number = max(1, int(number * BUDGET / max(took, 1e-9)))
    return statistics.median(t / number for t in timer.repeat(REPEATS, number))


def show(rows: list[tuple[str, float, str, float, str]]) -> None:
    """Print ``(path, seconds, reference, seconds, target)`` rows with their ratios."""
    for name, ours, ref_name, ref, target in rows:
        ratio = ours / ref
        how = f"{1 / ratio:.1f}x faster" if ratio < 1 else f"{ratio:.1f}x slower"
        print(
            f"  {name:<44} {_fmt(ours):>10}  vs {ref_name:<36} {_fmt(ref):>10}  {how:>14}  {target}"
        )


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e9:.0f} ns"


# ---------------------------------------------------------------------- the service hot path


def service_orderfsm(events: int) -> Callable[[], object]:
    def run() -> object:
        order = orderfsm.TaobaoOrder(sub_orders=SUBS)
        for e in EVENTS[:events]:
            order.trigger(e)
        return order.to_dict()

    return run


def service_baseline(cls: Any, events: int) -> Callable[[], object]:
    def run() -> object:
        order = cls(list(SUBS))
        for e in EVENTS[:events]:
            order.fire(e)
        out = order.model.to_dict()
        if hasattr(order, "close"):
            order.close()
        return out

    return run


def check_baselines_agree() -> None:
    """Every baseline must write exactly what orderfsm writes, or the comparison is void."""
    want = service_orderfsm(2)()
    for cls in (
        baselines.PerOrderMachine,
        baselines.SharedMachine,
        baselines.StatemachineOrder,
        baselines.DictOrder,
    ):
        got = service_baseline(cls, 2)()
        if got != want:
            raise SystemExit(f"baseline {cls.__name__} writes {got}, orderfsm {want}")


def bench_service() -> None:
    print("service hot path: build an order (2 sub-orders), fire events, to_dict")
    check_baselines_agree()
    against = (
        (baselines.PerOrderMachine, "(a) transitions Machine per order", "target >= 20x faster"),
        (baselines.SharedMachine, "(b) shared Machine add/remove_model", ""),
        (baselines.StatemachineOrder, "(c) python-statemachine instance", "target >= 50x faster"),
        (baselines.DictOrder, "(d) plain dicts (the floor)", "target within 5x"),
    )
    for events in (1, 2):
        ours = per_call(service_orderfsm(events))
        show(
            [
                (
                    f"orderfsm, {events} event(s)",
                    ours,
                    label,
                    per_call(service_baseline(cls, events)),
                    target,
                )
                for cls, label, target in against
            ]
        )
    stored = service_orderfsm(1)()
    assert isinstance(stored, dict)

    def ours_restored() -> object:
        order = orderfsm.TaobaoOrder.from_dict(stored)
        order.trigger(EVENTS[1])
        return order.to_dict()

    def floor_restored() -> object:
        order = baselines.DictOrder.from_dict(stored)
        order.fire(EVENTS[1])
        return order.model.to_dict()

    if ours_restored() != floor_restored():
        raise SystemExit("the dict baseline restores differently from orderfsm")
    show(
        [
            (
                "orderfsm from_dict, 1 event, to_dict",
                per_call(ours_restored),
                "(d) plain dicts",
                per_call(floor_restored),
                "target within 5x",
            )
        ]
    )


# ---------------------------------------------------------------------- queries


def bench_queries() -> None:
    print("queries on the compiled machine")
    m = orderfsm.load("taobao_order")
    pairs = frozenset((m.status(t.src).code, m.status(t.dst).code) for t in m.edges if t.dst)
    show(
        [
            (
                "m.can(0, 1)",
                per_call(lambda: m.can(0, 1)),
                "(0, 1) in frozenset",
                per_call(lambda: (0, 1) in pairs),
                "target within 3x",
            )
        ]
    )
    icbu = orderfsm.load("icbu_trade")
    chain = {
        (s, e): t.dst for (s, e), t in {(t.src, t.event): t for t in icbu.edges if t.dst}.items()
    }
    codes = {s.code: s.name for s in icbu.states}
    src = next(t for t in icbu.edges if not t.guards and not icbu.event(t.event).guards)
    code = icbu.status(src.src).code

    show(
        [
            (
                f"icbu m.transition({code!r}, {src.event!r})",
                per_call(lambda: icbu.transition(code, src.event)),
                "dict lookup chain code->name->dst",
                per_call(lambda: chain[codes[code], src.event]),
                "",
            )
        ]
    )


# ---------------------------------------------------------------------- stored history


def with_history(entries: int) -> dict[str, Any]:
    """A stored Taobao order with exactly ``entries`` history entries (a refuse/retry loop)."""
    order = orderfsm.TaobaoOrder(sub_orders=SUBS)
    loop = ("finance_refuse", "return_to_awaiting_payment", "upload_payment_proof")
    plan = ["creation_complete", "upload_payment_proof"]
    while len(plan) < entries:
        plan.extend(loop)
    for e in plan[:entries]:
        order.trigger(e)
    return order.to_dict()


def bench_history() -> None:
    print("from_dict by history length")
    base = None
    for n in (0, 10, 50, 500):
        data = with_history(n)
        t = per_call(lambda data=data: orderfsm.TaobaoOrder.from_dict(data))
        base = base or t
        target = "target within 1.5x at 50" if n == 50 else ""
        show([(f"from_dict, {n} history entries", t, "from_dict, 0 entries", base, target)])


# ---------------------------------------------------------------------- ingestion


def callback_body() -> bytes:
    path = Path(ingest.__file__).parent.parent / "data" / "payloads" / "003_status_callback.json"
    body = json.loads(path.read_bytes())
    order = body["messageBody"][0]
    order.update(status="WAIT_SELLER_SEND_GOODS", purchase_id=200058578338, modify_time=1)
    template = order["sub_purchase_orders"][0]
    order["sub_purchase_orders"] = [
        {**template, "sub_purchase_order_id": sid, "status": "WAIT_SELLER_SEND_GOODS"}
        for sid in SUBS
    ]
    return json.dumps(body).encode()


def bench_ingest() -> None:
    print("a status callback: parse + apply + to_dict")
    body = callback_body()

    def ours() -> object:
        (snapshot,) = ingest.parse(body, "status_callback")
        order = orderfsm.TaobaoOrder(sub_orders=SUBS)
        order.apply(snapshot)
        return order.to_dict()

    def floor() -> object:
        return json.dumps(json.loads(body))

    show(
        [
            (
                "parse",
                per_call(lambda: ingest.parse(body, "status_callback")),
                "json.loads",
                per_call(lambda: json.loads(body)),
                "target within 4x",
            ),
            (
                "parse + apply + to_dict",
                per_call(ours),
                "json.loads + json.dumps",
                per_call(floor),
                "",
            ),
        ]
    )


# ---------------------------------------------------------------------- whole commands


def wall(argv: list[str], runs: int = 7) -> float:
    """Median wall time of running ``argv`` (after one warm-up run)."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=False, capture_output=True)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_commands() -> None:
    print("whole commands (subprocess wall time, median of 7)")
    py = sys.executable
    nothing = wall([py, "-c", "pass"])
    transitions = wall([py, "-c", "import transitions"])
    show(
        [
            (
                "import orderfsm",
                wall([py, "-c", "import orderfsm"]),
                "import transitions",
                transitions,
                "target within 2x",
            ),
            ("import transitions", transitions, "python -c pass", nothing, ""),
            (
                "orderfsm check",
                wall([py, "-m", "orderfsm.cli", "check"], runs=5),
                "python -c pass",
                nothing,
                "",
            ),
        ]
    )


# ---------------------------------------------------------------------- tables of any size


MEMORY_LIMIT_MB = 2048
"""Address-space limit of each large-table child, so a runaway case fails alone."""


def _timed_child(code: str, timeout: float) -> str:
    """Run ``code`` in a child; return its one-line result, or the timeout."""
    limit = MEMORY_LIMIT_MB * 1024 * 1024
    script = (
        "import resource, sys, time\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import orderfsm, table_shapes as tables\n"
        "from orderfsm.check.lint import lint\n"
        "start = time.perf_counter()\n"
        "cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])\n"
        f"{code}\n"
        "took = time.perf_counter() - start\n"
        "use = resource.getrusage(resource.RUSAGE_SELF)\n"
        "cpu, rss = use.ru_utime + use.ru_stime - cpu0, use.ru_maxrss / 1024\n"
        "print(f'{took:7.2f} s wall {cpu:7.2f} s CPU  peak RSS {rss:5.0f} MB  {result}')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s (stopped)"
    if done.returncode:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    return done.stdout.strip()


def bench_tables(timeout: float) -> None:
    print(
        f"tables of any size and shape (each in a child process, stopped after {timeout:.0f} s "
        f"or {MEMORY_LIMIT_MB} MB)"
    )
    cases = {
        "load+lint 1,000 states / 10,000 transitions": (
            "m = orderfsm.load(tables.chain(1000)); f = lint(m); result = f'{len(f)} findings'"
        ),
        "load+lint 10,000 states / 100,000 transitions": (
            "m = orderfsm.load(tables.chain(10000)); f = lint(m); "
            "result = f'{len(f)} findings (target < 10 s)'"
        ),
        "load+lint 7 variables x 10 values, dead guard": (
            "m = orderfsm.load(tables.many_variables()); f = lint(m); result = f'{len(f)} findings'"
        ),
        "load+lint 3,000 edges on one (source, event)": (
            "m = orderfsm.load(tables.shared_source_event(3000)); f = lint(m); "
            "result = f'{len(f)} findings'"
        ),
        "load TOML nested 500 deep": (
            "import tempfile, pathlib\n"
            "p = pathlib.Path(tempfile.mkdtemp()) / 'deep.toml'\n"
            "p.write_text(tables.nested_toml(500))\n"
            "try:\n"
            "    orderfsm.load(p)\n"
            "except Exception as e:\n"
            "    result = type(e).__name__"
        ),
    }
    for name, code in cases.items():
        print(f"  {name:<48} {_timed_child(code, timeout)}")


def main() -> None:
    global REPEATS, BUDGET
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    parser.add_argument(
        "--only",
        action="append",
        choices=["service", "queries", "history", "ingest", "commands", "tables"],
        help="run only this section (repeatable)",
    )
    parser.add_argument("--timeout", type=float, default=120, help="per large-table case")
    args = parser.parse_args()
    if args.quick:
        REPEATS, BUDGET = 3, 0.05
    print(
        f"orderfsm benchmarks: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"{os.uname().sysname} {os.uname().machine}; medians of {REPEATS}"
    )
    sections: dict[str, Callable[[], None]] = {
        "service": bench_service,
        "queries": bench_queries,
        "history": bench_history,
        "ingest": bench_ingest,
        "commands": bench_commands,
        "tables": lambda: bench_tables(args.timeout),
    }
    for name, run in sections.items():
        if not args.only or name in args.only:
            run()


if __name__ == "__main__":
    main()
