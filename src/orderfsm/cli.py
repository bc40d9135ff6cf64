"""The ``orderfsm`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from orderfsm.compile import SHIPPED_TABLES, CompiledMachine, load
from orderfsm.errors import OrderFsmError


def summarise(machine: CompiledMachine) -> str:
    """A few lines on one machine: sizes, initial and final statuses, provenance counts."""
    t = machine.table
    documented = sum(1 for e in t.transitions if e.provenance.documented)
    finals = ", ".join(str(s) for s in machine.states if s.final) or "none"
    lines = [
        f"{machine.name}: {t.title}",
        f"  {len(t.states)} statuses, {len(t.events)} events, {len(machine.edges)} transitions "
        f"({documented} documented, {len(t.transitions) - documented} inferred), "
        f"{len(t.decisions)} recorded decisions",
        f"  initial {machine.initial}; final {finals}",
    ]
    if t.reconstruction:
        lines.append("  reconstruction: every status and transition is inferred (see docs)")
    return "\n".join(lines)


def _cmd_summary(args: argparse.Namespace) -> int:
    names = args.table or list(SHIPPED_TABLES)
    for i, name in enumerate(names):
        if i:
            print()
        print(summarise(load(name)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orderfsm", description="Order-status rules: load, check and draw the machines."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    summary = sub.add_parser("summary", help="load every table and print a summary")
    summary.add_argument(
        "--table", action="append", metavar="NAME_OR_PATH", help="a machine name or table file"
    )
    summary.set_defaults(func=_cmd_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except OrderFsmError as exc:
        print(f"orderfsm: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
