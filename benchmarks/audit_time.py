"""Peak memory and time of ``orderfsm audit`` on exports with a time column.

    python benchmarks/audit_time.py --rows 1000000 --rows 10000000

For each size it writes the export of ``benchmarks/audit.py`` (Taobao histories from the
machine's transition cover, about 1 % with an injected illegal step) with a time column
``at`` (each order starts at a random instant of 2025; each step 0 to 5 days later; one
cell in 50 empty), then runs the stream engine in a fresh process on it and on the same
export without the column, and reports each run's peak RSS (``VmHWM``, Linux) and
seconds. The stream engine must stay flat in memory with times (dwell histograms are
bounded: ``orderfsm.check.audit.dwell``). Figures: docs/performance.md ("History audit").
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import audit  # benchmarks/audit.py: its generator

MACHINE = "taobao_order"
YEAR_2025 = 1_735_689_600
DAY = 86400


def generate(path: Path, rows: int, timed: bool, seed: int = 7) -> None:
    """The export of ``benchmarks/audit.py`` (about ``rows`` rows), with times when ``timed``."""
    if not timed:
        audit.generate(path, rows, seed)
        return
    plain = path.with_suffix(".plain.csv")
    audit.generate(plain, rows, seed)
    rng = random.Random(seed)
    with (
        plain.open(encoding="utf-8", newline="") as source,
        path.open("w", encoding="utf-8", newline="") as handle,
    ):
        out = csv.writer(handle, lineterminator="\n")
        reader = csv.reader(source)
        out.writerow([*next(reader), "at"])
        order, clock = "", 0
        for row in reader:
            if row[0] != order:
                order, clock = row[0], YEAR_2025 + rng.randrange(365 * DAY)
            clock += rng.randrange(5 * DAY)
            out.writerow([*row, "" if rng.random() < 0.02 else clock])
    plain.unlink()


def run_stream(path: Path) -> tuple[int, float]:
    """Peak RSS (KiB) and seconds of a fresh process auditing ``path`` with the stream engine."""
    code = (
        "import re, time\n"
        "from orderfsm.check.audit import audit_files\n"
        "start = time.perf_counter()\n"
        f"result = audit_files([{str(path)!r}], {MACHINE!r}, engine='stream')\n"
        "took = time.perf_counter() - start\n"
        "status = open('/proc/self/status').read()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1), took)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak, took = done.stdout.split()[-2:]
    return int(peak), float(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per export (repeatable)")
    args = parser.parse_args()
    print("rows        column   peak RSS MiB   seconds")
    with tempfile.TemporaryDirectory(prefix="orderfsm-audit-time-") as folder:
        for rows in args.rows or [1_000_000]:
            for timed in (False, True):
                path = Path(folder) / f"{rows}-{timed}.csv"
                generate(path, rows, timed)
                peak, took = run_stream(path)
                path.unlink()
                label = "at" if timed else "none"
                print(f"{rows:<11} {label:<8} {peak / 1024:>12.1f}   {took:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
