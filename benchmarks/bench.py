"""orderfsm benchmarks: side-by-side timings with ratios against baselines built in this run.

Run with ``scripts/run bench`` (or ``.venv/bin/python benchmarks/bench.py``; ``--quick``
for a shorter, noisier run; ``--only NAME`` for one section; ``--full`` for the audit rows
at 10M rows too, not only 1M). Every figure is the median
of several repeats of a timed loop in this process (or, for whole commands, the median
wall time of several subprocesses), and every ratio compares two figures measured here,
on the same tables, so the ratios hold on other machines even where the figures do not.
See docs/performance.md for the figures and the targets.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baselines  # noqa: E402
import store_roundtrip  # noqa: E402

import orderfsm  # noqa: E402
from orderfsm import ingest  # noqa: E402

REPEATS = 5
BUDGET = 0.2  # seconds per repeat
SUBS = ["1001", "1002"]
EVENTS = ("creation_complete", "upload_payment_proof")


Timed = Callable[[], object]
Row = tuple[str, Timed, str, Timed, str]


def _calibrated(fn: Timed) -> int:
    """How many calls of ``fn`` take about ``BUDGET`` seconds."""
    number, took = timeit.Timer(fn).autorange()
    return max(1, int(number * BUDGET / max(took, 1e-9)))


def side_by_side(
    ours: Timed, ref: Timed, *, number: int | None = None, repeats: int | None = None
) -> tuple[float, float, float]:
    """Seconds per call of ``ours`` and ``ref`` and their ratio, timed alternately.

    Each repeat times a loop of ``ours`` then a loop of ``ref``; the figures are the
    medians over the repeats and the ratio is the median of the repeats' ratios, so a
    burst of load from elsewhere hits both sides of a ratio alike.
    """
    counts = (number or _calibrated(ours), number or _calibrated(ref))
    if number == 1:  # whole commands: one warm-up run each
        ours(), ref()
    samples = []
    for _ in range(repeats or REPEATS):
        a = timeit.Timer(ours).timeit(counts[0]) / counts[0]
        b = timeit.Timer(ref).timeit(counts[1]) / counts[1]
        samples.append((a, b))
    return (
        statistics.median(a for a, _ in samples),
        statistics.median(b for _, b in samples),
        statistics.median(a / b for a, b in samples),
    )


def show(rows: list[Row], *, number: int | None = None, repeats: int | None = None) -> None:
    """Time and print ``(path, ours, reference, theirs, target)`` rows with their ratios."""
    for name, ours_fn, ref_name, ref_fn, target in rows:
        ours, ref, ratio = side_by_side(ours_fn, ref_fn, number=number, repeats=repeats)
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
        (baselines.PerOrderMachine, "(a) transitions Machine per order", "target >= 25x faster"),
        (baselines.SharedMachine, "(b) shared Machine add/remove_model", ""),
        (
            baselines.StatemachineOrder,
            f"(c) python-statemachine {importlib.metadata.version('python-statemachine')}",
            "target >= 50x faster",
        ),
        (baselines.DictOrder, "(d) plain dicts (the floor)", "target within 1.5x"),
    )
    for events in (1, 2):
        show(
            [
                (
                    f"orderfsm, {events} event(s)",
                    service_orderfsm(events),
                    label,
                    service_baseline(cls, events),
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

    def floor_restored(cls: Any = baselines.DictOrder) -> Callable[[], object]:
        def run() -> object:
            order = cls.from_dict(stored)
            order.fire(EVENTS[1])
            return order.model.to_dict()

        return run

    for cls in (baselines.DictOrder, baselines.CheckedDictOrder):
        if ours_restored() != floor_restored(cls)():
            raise SystemExit(f"the dict baseline {cls.__name__} restores differently from orderfsm")
    check_refusals_agree(stored)
    show(
        [
            (
                "orderfsm from_dict, 1 event, to_dict",
                ours_restored,
                "(d) plain dicts",
                floor_restored(),
                "",
            ),
            (
                "orderfsm from_dict, 1 event, to_dict",
                ours_restored,
                "(d') plain dicts, the same checks",
                floor_restored(baselines.CheckedDictOrder),
                "target within 2x",
            ),
        ]
    )


def corruptions(stored: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Stored dicts that differ from ``stored`` (one event recorded) in one check each."""

    def changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        data = json.loads(json.dumps(stored))
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return data

    return [
        ("format", changed(("format",), "orderfsm.icbu_trade/2")),
        ("negative version", changed(("version",), -1)),
        ("version beyond the history", changed(("version",), 9)),
        ("version below the history", changed(("version",), 0)),
        ("bool status", changed(("status",), False)),
        ("unknown status", changed(("status",), 999)),
        ("observed_at text", changed(("observed_at",), "now")),
        ("duplicate sub-order id", changed(("sub_orders", 1, "id"), "1001")),
        ("ambiguous sub-order id", changed(("sub_orders", 1, "id"), 1001)),
        ("unknown refund status", changed(("sub_orders", 0, "refund_status"), 999)),
        ("history step no edge gives", changed(("history", "dst", 0), 11)),
        ("history not ending in the status", changed(("status",), 12)),
        ("history of a sub-order not held", changed(("history", "sub_order", 0), "9")),
        ("unknown via", changed(("history", "via", 0), "magic")),
        ("history columns of different lengths", changed(("history", "via"), [])),
    ]


def check_refusals_agree(stored: dict[str, Any]) -> None:
    """The checked baseline must refuse each corruption orderfsm refuses, or it does not
    check what from_dict checks."""
    for what, data in corruptions(stored):
        for name, restore in (
            ("orderfsm", orderfsm.TaobaoOrder.from_dict),
            ("the checked baseline", baselines.CheckedDictOrder.from_dict),
        ):
            try:
                restore(data)
            except (orderfsm.OrderFsmError, ValueError, KeyError, TypeError):
                continue
            raise SystemExit(f"{name} accepts a stored dict with a {what}")


# ---------------------------------------------------------------------- queries


def bench_queries() -> None:
    print("queries on the compiled machine")
    m = orderfsm.load("taobao_order")
    pairs = frozenset((m.status(t.src).code, m.status(t.dst).code) for t in m.edges if t.dst)
    show(
        [
            (
                "m.has_edge(0, 1)",
                lambda: m.has_edge(0, 1),
                "(0, 1) in frozenset",
                lambda: (0, 1) in pairs,
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
                lambda: icbu.transition(code, src.event),
                "dict lookup chain code->name->dst",
                lambda: chain[codes[code], src.event],
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
    empty = with_history(0)
    rows: list[Row] = []
    for n in (0, 10, 50, 500):
        data = with_history(n)
        rows.append(
            (
                f"from_dict, {n} history entries",
                lambda data=data: orderfsm.TaobaoOrder.from_dict(data),
                "from_dict, 0 entries",
                lambda: orderfsm.TaobaoOrder.from_dict(empty),
                "target within 1.5x at 50" if n == 50 else "",
            )
        )
    show(rows)


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


def page_body(orders: int = 20) -> bytes:
    """A purchase page of ``orders`` orders: ``001``'s response example repeated."""
    path = Path(ingest.__file__).parent.parent / "data" / "payloads"
    body = json.loads((path / "001_purchase_page_response.json").read_bytes())
    order = body["data"]["data"][0]
    body["data"]["data"] = [{**order, "purchaseId": 200058578338 + i} for i in range(orders)]
    return json.dumps(body, ensure_ascii=False).encode()


def page_floor(page: bytes) -> object:
    """``json.loads`` of a page and of the JSON each sub-order carries in a string
    (``subOrderResult``), which ``parse`` decodes too: the same decoding work."""
    body = json.loads(page)
    return [
        json.loads(sub["subOrderResult"])
        for order in body["data"]["data"]
        for sub in order["subOrderVOS"]
        if sub.get("subOrderResult")
    ]


ICBU_XML = Path(ingest.__file__).parent.parent / "data" / "payloads" / "002_order_get_response.xml"


def icbu_lookups(root: Any) -> tuple[object, ...]:
    """The five values ``parse`` reads of an ICBU response, looked up in an element tree."""
    value = root.find("value")
    return (
        value.findtext("trade_id"),
        value.findtext("trade_status"),
        value.findtext("pay_step"),
        value.findtext("status_action/status"),
        tuple(a.findtext("name") for a in value.iterfind("status_action/actions/action")),
    )


def xml_floors(body: bytes) -> list[tuple[str, Timed]]:
    """The safe lxml parse (no DTD, no entities, no network) and xml.etree's C parser,
    each with the same five lookups."""
    from xml.etree import ElementTree  # noqa: PLC0415

    floors: list[tuple[str, Timed]] = [
        ("xml.etree (C) + the 5 lookups", lambda: icbu_lookups(ElementTree.fromstring(body)))
    ]
    try:
        from lxml import etree  # noqa: PLC0415 - the bench extra
    except ImportError:
        return floors
    safe = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    floors.insert(
        0, ("safe lxml parse + the 5 lookups", lambda: icbu_lookups(etree.fromstring(body, safe)))
    )
    return floors


def bench_ingest() -> None:
    print("parse: payload bodies against their decoders")
    body = callback_body()
    page = page_body()
    xml = ICBU_XML.read_bytes()
    (ours_xml,) = ingest.parse(xml, "icbu_order")
    for _, floor_fn in xml_floors(xml):
        found = floor_fn()
        want = (ours_xml.order_id, ours_xml.trade_status, ours_xml.pay_step)
        if found[:3] != want or found[4] != ours_xml.actions:  # type: ignore[index]
            raise SystemExit(f"the XML floor reads {found}, parse {ours_xml}")

    def ours() -> object:
        (snapshot,) = ingest.parse(body, "status_callback")
        order = orderfsm.TaobaoOrder(sub_orders=SUBS)
        order.apply(snapshot)
        return order.to_dict()

    def floor() -> object:
        return json.dumps(json.loads(body))

    rows: list[Row] = [
        (
            "parse, status callback (1.9 KB)",
            lambda: ingest.parse(body, "status_callback"),
            "json.loads",
            lambda: json.loads(body),
            "target within 2x",
        ),
        (
            f"parse, purchase page, 20 orders ({len(page) // 1024} KB)",
            lambda: ingest.parse(page, "purchase_page"),
            "json.loads",
            lambda: json.loads(page),
            "target within 2x",
        ),
        (
            "parse, purchase page, 20 orders",
            lambda: ingest.parse(page, "purchase_page"),
            "json.loads + each subOrderResult",
            lambda: page_floor(page),
            "",
        ),
    ]
    rows += [
        (
            f"parse, ICBU XML ({len(xml) // 1024} KB)",
            lambda: ingest.parse(xml, "icbu_order"),
            name,
            floor_fn,
            "target within 2x" if "lxml" in name else "",
        )
        for name, floor_fn in xml_floors(xml)
    ]
    rows.append(("parse + apply + to_dict", ours, "json.loads + json.dumps", floor, ""))
    show(rows)


# ---------------------------------------------------------------------- whole commands


def command(*argv: str) -> Timed:
    """Running ``argv`` (output discarded) as a timed callable."""
    return lambda: subprocess.run(argv, check=False, capture_output=True)


def bench_commands() -> None:
    print("whole commands (subprocess wall time, median of 7, run alternately)")
    py = sys.executable
    nothing = command(py, "-c", "pass")
    transitions = command(py, "-c", "import transitions")
    show(
        [
            (
                "import orderfsm",
                command(py, "-c", "import orderfsm"),
                "import transitions",
                transitions,
                "target within 2x",
            ),
            ("import transitions", transitions, "python -c pass", nothing, ""),
            (
                "orderfsm check",
                command(py, "-m", "orderfsm.cli", "check"),
                "python -c pass",
                nothing,
                "",
            ),
        ],
        number=1,
        repeats=7,
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
        # ru_maxrss survives exec (the parent's peak); VmHWM is this process's own
        "hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "cpu, rss = use.ru_utime + use.ru_stime - cpu0, int(hwm) / 1024\n"
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
    print("  load + lint by size (linear: the CPU time per status stays that of 10,000)")
    per_status: float | None = None
    for states in (10_000, 30_000, 100_000):
        load = (  # timed from `start`, CPU from `cpu0`: the table is generated before
            f"table = tables.chain({states})\nstart = time.perf_counter()\n"
            "cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])\nm = orderfsm.load(table)"
        )
        result = _timed_child(
            f"{load}\nloaded = time.perf_counter() - start\nf = lint(m)\n"
            "result = f'(load {loaded:.2f} s, lint {time.perf_counter() - start - loaded:.2f} s)'",
            timeout,
        )
        took = _seconds(result)
        if took is not None and per_status is None:
            per_status = took / states
        ratio = "" if took is None or per_status is None else f"{took / states / per_status:.2f}x"
        target = "  target < 10 s" if states == 100_000 else ""
        print(
            f"    {states:>7,} states x 10 transitions  {result}  per status vs 10k: {ratio}{target}"
        )


def _seconds(result: str) -> float | None:
    """The CPU time a child reported (``None`` when it failed or was stopped): steadier
    than its wall time on a shared machine."""
    try:
        return float(result.split(" s wall", 1)[1].split(" s CPU", 1)[0])
    except (IndexError, ValueError):
        return None


# ---------------------------------------------------------------------- history audit


def bench_audit(*, full: bool) -> None:
    """The audit rows (benchmarks/audit.py): 1M rows, and 10M with ``full``."""
    import audit  # noqa: PLC0415 - generates exports of millions of rows: only when asked

    audit.bench_audit(show, [1_000_000, 10_000_000] if full else [1_000_000], repeats=3)


def main() -> None:
    global REPEATS, BUDGET
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    parser.add_argument(
        "--only",
        action="append",
        choices=["service", "queries", "history", "ingest", "commands", "tables", "store", "audit"],
        help="run only this section (repeatable)",
    )
    parser.add_argument(
        "--full", action="store_true", help="the audit rows at 10M rows too (minutes)"
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
        "store": lambda: store_roundtrip.bench_store(
            show, number=50 if args.quick else 300, repeats=REPEATS
        ),
        "audit": lambda: bench_audit(full=args.full),
    }
    for name, run in sections.items():
        if not args.only or name in args.only:
            run()


if __name__ == "__main__":
    main()
