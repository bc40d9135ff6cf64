"""Benchmark ``orderfsm audit`` against bare baselines measured in the same run.

    python benchmarks/audit.py --rows 1000000          # one size
    python benchmarks/audit.py --rows 1000000 --rows 10000000

For each size it writes a generated Taobao export (valid histories from the machine's
transition cover, about 1 % of orders with an injected illegal step) to a temporary
folder, then measures, best of ``--repeat`` runs:

- the stream engine vs a bare ``csv.reader`` loop doing one set lookup per row
  (target: at least 0.5x its throughput);
- the DuckDB engine vs a bare DuckDB ``LAG`` + anti-join query over the same file
  (target: within 1.5x of its time);
- peak memory, each in a fresh subprocess (peak RSS, ``VmHWM``): the stream engine's
  (target: flat across sizes), one that only imports orderfsm (for reference), and the
  DuckDB engine's vs the bare DuckDB query's (target: at most 1.2x). Linux only
  (``/proc/self/status``).

Figures go to stdout as a table; docs/performance.md ("History audit") records them.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

import orderfsm
from orderfsm.check.audit import audit_files
from orderfsm.check.paths import transition_cover

MACHINE = "taobao_order"


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """Write about ``rows`` rows of histories; returns the number of orders."""
    machine = orderfsm.load(MACHINE)
    paths = [[p[0].source.code, *(s.target.code for s in p)] for p in transition_cover(machine)]
    codes = [s.code for s in machine.states]
    rng = random.Random(seed)
    written = orders = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["order_id", "seq", "status"])
        while written < rows:
            statuses = list(rng.choice(paths))
            if rng.random() < 0.01:
                statuses.insert(rng.randrange(1, len(statuses) + 1), rng.choice(codes))
            order = f"{orders:012d}"
            out.writerows((order, seq, code) for seq, code in enumerate(statuses, start=1))
            written += len(statuses)
            orders += 1
    return orders


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_csv(path: Path) -> int:
    allowed = {str(s.code) for s in orderfsm.load(MACHINE).states}
    n = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if row[2] in allowed:
                n += 1
    return n


def bare_duckdb(path: Path) -> int:
    machine = orderfsm.load(MACHINE)
    pairs = ", ".join(f"('{t.src_code}', '{t.dst_code}')" for t in _edges(machine))
    con = duckdb.connect()
    row = con.execute(
        f"WITH allowed(src, dst) AS (VALUES {pairs}), "
        "steps AS (SELECT CAST(status AS VARCHAR) AS status, "
        "  LAG(CAST(status AS VARCHAR)) OVER (PARTITION BY order_id ORDER BY seq) AS prev "
        "  FROM read_csv(?, header = true, all_varchar = true)) "
        "SELECT COUNT(*) FROM steps s WHERE prev IS NOT NULL AND prev <> status "
        "AND NOT EXISTS (SELECT 1 FROM allowed a WHERE a.src = s.prev AND a.dst = s.status)",
        [str(path)],
    ).fetchone()
    return int(row[0]) if row else 0


class _Edge:
    def __init__(self, src_code: object, dst_code: object) -> None:
        self.src_code, self.dst_code = src_code, dst_code


def _edges(machine: orderfsm.CompiledMachine) -> list[_Edge]:
    state = machine.table.state
    return [_Edge(state(t.src).code, state(t.dst or t.src).code) for t in machine.edges]


def peak_rss_kib(path: Path | None, run: str = "stream") -> int:
    """Peak RSS (KiB, ``VmHWM``) of a fresh interpreter running ``run`` on ``path`` (an
    engine, ``stream`` or ``duckdb``, or ``bare_duckdb``, the bare query), or only importing.

    ``VmHWM`` starts afresh with the new program; ``getrusage``'s ``ru_maxrss`` would
    carry over this (large) parent's peak through fork and exec on Linux.
    """
    if path is None:
        work = ""
    elif run == "bare_duckdb":
        work = f"import audit\naudit.bare_duckdb(Path({str(path)!r}))\n"
    else:
        work = f"audit_files([{str(path)!r}], {MACHINE!r}, engine={run!r})\n"
    code = (
        "import re, sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from orderfsm.check.audit import audit_files\n"
        + work
        + "status = open('/proc/self/status').read()\n"
        + "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])  # the last word: after any progress bar


def measure(rows: int, repeat: int, folder: Path) -> dict[str, float]:
    path = folder / f"history-{rows}.csv"
    orders = generate(path, rows)
    size = path.stat().st_size
    stream = best(repeat, lambda: audit_files([path], MACHINE, engine="stream"))
    baseline = best(repeat, lambda: bare_csv(path))
    duck = best(repeat, lambda: audit_files([path], MACHINE, engine="duckdb"))
    lag = best(repeat, lambda: bare_duckdb(path))
    result = audit_files([path], MACHINE, engine="stream")
    figures = {
        "rows": rows,
        "orders": orders,
        "megabytes": round(size / 1e6, 1),
        "illegal_found": result.counts["illegal"],
        "stream_s": round(stream, 2),
        "bare_csv_s": round(baseline, 2),
        "stream_vs_bare_throughput": round(baseline / stream, 2),
        "duckdb_s": round(duck, 2),
        "bare_lag_s": round(lag, 2),
        "duckdb_vs_bare_time": round(duck / lag, 2),
        "stream_peak_rss_mib": round(peak_rss_kib(path) / 1024, 1),
        "import_only_rss_mib": round(peak_rss_kib(None) / 1024, 1),
    }
    duck_rss, bare_rss = peak_rss_kib(path, "duckdb"), peak_rss_kib(path, "bare_duckdb")
    figures["duckdb_peak_rss_mib"] = round(duck_rss / 1024, 1)
    figures["bare_lag_peak_rss_mib"] = round(bare_rss / 1024, 1)
    figures["duckdb_vs_bare_memory"] = round(duck_rss / bare_rss, 2)
    path.unlink()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per export (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows or [1_000_000]:
            figures = measure(rows, args.repeat, Path(folder))
            if args.json:
                print(json.dumps(figures))
            else:
                print(f"--- {rows:,} rows")
                for key, value in figures.items():
                    print(f"  {key:<28} {value}")


if __name__ == "__main__":
    main()
