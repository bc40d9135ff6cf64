"""The audit rows of ``scripts/run bench``: each engine against a bare baseline, same run.

    scripts/run bench --only audit            # 1M rows
    scripts/run bench --only audit --full     # and 10M rows
    python benchmarks/audit.py --rows 1000000 --rows 10000000   # any sizes

For each size it writes a generated Taobao export (valid histories from the machine's
transition cover, about 1 % of orders with an injected illegal step) to a temporary
folder, then times each pair alternately (bench.py's ``side_by_side``: medians of
``repeats`` whole runs after a warm-up run each):

- the stream engine vs a bare ``csv.reader`` loop doing one set lookup per row
  (target: at least 0.6x its throughput);
- the DuckDB engine vs a bare DuckDB ``LAG`` + anti-join query over the same file
  (target: within 1.5x of its time);

and peak memory, each in a fresh interpreter (``VmHWM``, Linux only): the stream engine's
against the bare loop's (target: flat, a few MiB over an import of orderfsm) and the
DuckDB engine's against the bare query's (target: at most 1.2x).

docs/performance.md ("History audit") records the figures.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import orderfsm
from orderfsm.check.audit import audit_files
from orderfsm.check.paths import transition_cover

MACHINE = "taobao_order"

Show = Callable[..., None]  # bench.show: (path, ours, reference, theirs, target) rows

RUNS = {
    "stream": "stream engine",
    "bare_csv": "bare csv.reader + set lookup",
    "duckdb": "DuckDB engine",
    "bare_duckdb": "bare DuckDB LAG + anti-join",
}
"""What :func:`peak_rss_kib` runs, by name: each engine and each bare baseline."""


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


def bare_csv(path: Path) -> int:
    allowed = {str(s.code) for s in orderfsm.load(MACHINE).states}
    n = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if row[2] in allowed:
                n += 1
    return n


def bare_duckdb(path: Path) -> int:
    import duckdb  # noqa: PLC0415 - not in the bare csv loop's peak memory

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
    engine, ``stream`` or ``duckdb``, or a bare baseline, ``bare_csv`` or ``bare_duckdb``: the
    names of :data:`RUNS`), or only importing orderfsm's audit.

    ``VmHWM`` starts afresh with the new program; ``getrusage``'s ``ru_maxrss`` would
    carry over this (large) parent's peak through fork and exec on Linux.
    """
    if path is None:
        work = ""
    elif run.startswith("bare_"):
        work = f"import audit\naudit.{run}(Path({str(path)!r}))\n"
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


MEBI = 1024


def bench_audit(show: Show, sizes: Sequence[int], repeats: int) -> None:
    """Print the audit rows for exports of each size in ``sizes``: times side by side
    (``show``, bench.py's), then peak memories of fresh processes."""
    with tempfile.TemporaryDirectory(prefix="orderfsm-bench-audit-") as folder:
        for rows in sizes:
            path = Path(folder) / f"history-{rows}.csv"
            orders = generate(path, rows)
            print(
                f"audit, {rows:,} rows ({orders:,} orders, {path.stat().st_size / 1e6:.0f} MB CSV; "
                f"medians of {repeats} runs, alternately)"
            )
            _times(show, path, repeats)
            _peaks(path)
            path.unlink()


def _times(show: Show, path: Path, repeats: int) -> None:
    show(
        [
            (
                "stream engine",
                lambda: audit_files([path], MACHINE, engine="stream"),
                RUNS["bare_csv"],
                lambda: bare_csv(path),
                "target >= 0.6x throughput (within 1.67x)",
            ),
            (
                "DuckDB engine",
                lambda: audit_files([path], MACHINE, engine="duckdb"),
                RUNS["bare_duckdb"],
                lambda: bare_duckdb(path),
                "target within 1.5x",
            ),
        ],
        number=1,
        repeats=repeats,
    )


def _peaks(path: Path) -> None:
    peaks = {run: peak_rss_kib(path, run) / MEBI for run in RUNS}
    peaks["import"] = peak_rss_kib(None) / MEBI
    for ours, theirs, target in (
        ("stream", "bare_csv", "target: flat (import only: {import:.0f} MiB)"),
        ("duckdb", "bare_duckdb", "target within 1.2x"),
    ):
        ratio = peaks[ours] / peaks[theirs]
        print(
            f"  {'peak RSS, ' + RUNS[ours]:<44} {peaks[ours]:>6.0f} MiB  vs "
            f"{RUNS[theirs]:<36} {peaks[theirs]:>6.0f} MiB  {ratio:>8.2f}x  "
            + target.format(**peaks)
        )


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import bench  # noqa: PLC0415 - its show() and side_by_side(), without a cycle at import

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per export (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="medians of N runs (default 3)")
    args = parser.parse_args()
    bench_audit(bench.show, args.rows or [1_000_000], args.repeat)


if __name__ == "__main__":
    main()
