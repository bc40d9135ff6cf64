"""The ``orderfsm`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from orderfsm.errors import OrderFsmError
from orderfsm.model.compile import SHIPPED_TABLES, CompiledMachine, load


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


def _cmd_check(args: argparse.Namespace) -> int:
    from orderfsm.check.report import text  # noqa: PLC0415
    from orderfsm.check.run import run_check  # noqa: PLC0415 - keep `orderfsm summary` light

    report = run_check(args.table or (), histories=[(f, args.machine) for f in args.history or ()])
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(text(report, verbose=args.verbose), end="")
    return 0 if report.ok else 1


def _cmd_docs(args: argparse.Namespace) -> int:
    from orderfsm.render import pages  # noqa: PLC0415

    root = Path(args.root)
    if args.check:
        stale = pages.stale(root)
        for path in stale:
            print(f"orderfsm: {path} is stale; regenerate it with `orderfsm docs`")
        if not stale:
            print("docs up to date")
        return 1 if stale else 0
    for path in pages.write(root):
        print(f"wrote {path}")
    return 0


def _formats(text: str) -> tuple[str, ...]:
    from orderfsm.render import FORMATS  # noqa: PLC0415 - keep `orderfsm summary` light

    chosen = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown format {unknown[0] if unknown else text!r}; choose from {','.join(FORMATS)}"
        )
    return chosen


def _cmd_diagrams(args: argparse.Namespace) -> int:
    from orderfsm import render  # noqa: PLC0415 - Graphviz bindings only when drawing

    # A page linking into some other --out folder must not overwrite the committed one.
    default_out = Path(args.out) == Path("diagrams")
    docs_arg = args.docs if args.docs is not None else ("docs/diagrams.md" if default_out else None)
    docs = Path(docs_arg) if docs_arg else None
    plan = render.plan(args.machine, args.format, Path(args.out), docs)
    if args.check:
        stale = render.check(plan)
        for problem in stale:
            print(f"stale: {problem}")
        if stale:
            print(
                f"orderfsm: {len(stale)} stale diagram file(s); regenerate with `orderfsm diagrams`"
            )
            return 1
        print(f"diagrams up to date ({len(plan.texts) + len(plan.drawings)} files checked)")
        return 0
    written = render.write(plan)
    print(f"{len(written.paths)} diagram file(s) changed under {args.out}")
    if written.graphviz_missing:
        print(f"orderfsm: {written.graphviz_missing}", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from orderfsm.export import files  # noqa: PLC0415 - keep `orderfsm summary` light

    fmts = tuple(f.strip() for f in args.format.split(",") if f.strip())
    unknown = [f for f in fmts if f not in files.FORMATS]
    if unknown or not fmts:
        print(
            f"orderfsm: error: unknown format {args.format!r}; choose from json,xstate",
            file=sys.stderr,
        )
        return 2
    texts = files.plan([load(n) for n in args.machine or SHIPPED_TABLES], fmts)
    if args.check:
        problems = files.stale(texts, Path(args.check))
        for problem in problems:
            print(f"stale: {problem}")
        if problems:
            again = " ".join(["orderfsm export", *(args.machine or ()), "--format", args.format])
            print(f"orderfsm: export drift; regenerate with `{again} --out {args.check}`")
            return 1
        print(f"exports up to date ({len(texts)} files checked)")
        return 0
    if args.out:
        changed = files.write(texts, Path(args.out))
        print(f"{len(changed)} export file(s) changed under {args.out}")
        return 0
    if len(texts) != 1:
        print(
            "orderfsm: error: this exports several files; write them with --out DIR "
            "(or name one machine with --format json)",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write(next(iter(texts.values())))
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

    check = sub.add_parser(
        "check",
        help="check the tables against the documents' claims, and lint them",
        description="Exit 0 when every discrepancy has a recorded decision and lint has no "
        "error; 1 otherwise; 2 on bad input.",
    )
    check.add_argument(
        "--table",
        action="append",
        metavar="NAME_OR_PATH",
        help="check only this machine or table file (repeatable); a table named like a "
        "shipped machine is checked against that machine's claims",
    )
    check.add_argument(
        "--history",
        action="append",
        metavar="FILE",
        help="also audit an exported status history (CSV with order_id,status columns, or "
        "JSON lines); repeatable",
    )
    check.add_argument(
        "--machine", default="taobao_order", help="the machine --history files follow"
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "-v", "--verbose", action="store_true", help="show resolved discrepancies in full"
    )
    check.set_defaults(func=_cmd_check)

    docs = sub.add_parser(
        "docs",
        help="regenerate docs/conformance.md and the reference blocks of docs/machines/*.md",
    )
    docs.add_argument("--root", default=".", help="the repository root (default: .)")
    docs.add_argument("--check", action="store_true", help="exit 1, naming stale pages")
    docs.set_defaults(func=_cmd_docs)

    diagrams = sub.add_parser(
        "diagrams",
        help="draw every machine: DOT, SVG, Mermaid and Markdown matrices (docs/diagrams.md)",
        description="Generate the diagrams from the tables, or with --check compare the "
        "committed ones and exit 1 naming every stale file.",
    )
    diagrams.add_argument("--out", default="diagrams", help="output folder (default diagrams/)")
    diagrams.add_argument(
        "--machine", action="append", metavar="NAME", help="only this machine (repeatable)"
    )
    diagrams.add_argument(
        "--format",
        type=_formats,
        default=("dot", "svg", "mermaid", "md"),
        help="comma-separated: dot,svg,png,mermaid,md (default dot,svg,mermaid,md)",
    )
    diagrams.add_argument(
        "--docs",
        default=None,
        help="the page embedding every Mermaid diagram; '' for none (default: "
        "docs/diagrams.md when --out is the default diagrams/, else none)",
    )
    diagrams.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 naming stale files"
    )
    diagrams.set_defaults(func=_cmd_diagrams)

    export = sub.add_parser(
        "export",
        help="export machines for other runtimes: a versioned JSON document, or XState v5",
        description="Print one machine's export, write exports with --out DIR, or with "
        "--check DIR compare a checked-in copy and exit 1 naming every stale file.",
    )
    export.add_argument(
        "machine", nargs="*", metavar="NAME", help="shipped machines or table files (default all)"
    )
    export.add_argument(
        "--format", default="json", help="comma-separated: json,xstate (default json)"
    )
    export.add_argument("--out", metavar="DIR", help="write NAME.json / NAME.xstate.json ...")
    export.add_argument("--check", metavar="DIR", help="write nothing; exit 1 on drift")
    export.set_defaults(func=_cmd_export)
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
