"""The ``orderfsm`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from orderfsm.errors import OrderFsmError
from orderfsm.model.compile import SHIPPED_TABLES, CompiledMachine, load

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[Any]


def summarise(machine: CompiledMachine) -> str:
    """A few lines on one machine: sizes, initial and final statuses, provenance counts."""
    t = machine.table
    documented = sum(1 for e in t.transitions if e.provenance.documented)
    finals = ", ".join(str(s) for s in machine.states if s.final) or "none"
    lines = [
        f"{machine.name}: {t.title}",
        f"  {len(t.states)} statuses, {len(t.events)} events, {len(t.transitions)} table "
        f"transitions ({documented} documented, {len(t.transitions) - documented} inferred), "
        f"{len(t.decisions)} recorded decisions",
        f"  initial {machine.initial}; final {finals}",
    ]
    if len(machine.edges) != len(t.transitions):
        lines.append(
            f"  {len(machine.edges)} compiled edges: each history transition becomes one edge "
            "per status it can return to"
        )
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

    report = run_check(args.table or ())
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


def in_source_tree(root: Path) -> bool:
    """Whether ``root`` is the orderfsm source tree (the only place diagrams/ is written by default)."""
    from orderfsm.model.bounded import naming, read_file  # noqa: PLC0415

    project = root / "pyproject.toml"
    try:
        declared = b'name = "orderfsm"' in read_file(project, naming(project))
    except OrderFsmError:  # missing, unreadable, not a regular file, too large
        return False
    return declared and (root / "src" / "orderfsm" / "data" / "tables").is_dir()


def _output_dir(path: Path) -> Path:
    """``path`` as an output folder: an existing folder, or a new one in an existing folder."""
    if path.exists() and not path.is_dir():
        raise OrderFsmError(f"--out {path}: not a directory")
    if not path.exists() and not path.parent.is_dir():
        raise OrderFsmError(f"--out {path}: no such directory {path.parent}")
    return path


def _cmd_diagrams(args: argparse.Namespace) -> int:
    from orderfsm import render  # noqa: PLC0415 - Graphviz bindings only when drawing

    if args.out is None and not in_source_tree(Path.cwd()):
        raise OrderFsmError(
            "not in the orderfsm source tree: pass --out DIR to say where the diagrams go"
        )
    out = _output_dir(Path(args.out or "diagrams"))
    # A page linking into some other --out folder must not overwrite the committed one.
    docs_arg = args.docs if args.docs is not None else (None if args.out else "docs/diagrams.md")
    docs = Path(docs_arg) if docs_arg else None
    plan = render.plan(args.machine, args.format, out, docs)
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
    print(f"{len(written.paths)} diagram file(s) changed under {out}")
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


def _column(text: str) -> tuple[str, str]:
    role, sep, name = text.partition("=")
    if not sep or not role or not name:
        raise argparse.ArgumentTypeError(f"expected ROLE=NAME (e.g. seq=modified_at), got {text!r}")
    return role, name


def _cmd_audit(args: argparse.Namespace) -> int:
    from orderfsm.check.audit import Columns, audit_files  # noqa: PLC0415
    from orderfsm.check.audit.result import AuditFinding  # noqa: PLC0415

    columns = Columns.parse(dict(args.column or ()))
    if args.emit_sql or args.emit_time_sql:
        from orderfsm.check.audit.parts import Parts  # noqa: PLC0415
        from orderfsm.check.audit.run import resolve_machine  # noqa: PLC0415
        from orderfsm.check.audit.sql import AuditSql  # noqa: PLC0415

        machine = resolve_machine(args.machine, [Path(f) for f in args.files], columns)
        sql = AuditSql(Parts.of(machine))
        if args.emit_time_sql:
            from orderfsm.check.audit.dwell_sql import time_query  # noqa: PLC0415

            print(time_query(sql, args.as_of))
        else:
            print(sql.findings_query())
        return 0

    if args.diagram:
        from orderfsm.render.overlay import check_diagram_path, write_overlay  # noqa: PLC0415

        check_diagram_path(Path(args.diagram))  # before the audit, not after its work

    def show(finding: AuditFinding) -> None:
        print(finding.text(), flush=False)

    result = audit_files(
        args.files,
        args.machine,
        columns=columns,
        engine=args.engine,
        ordering=args.order,
        keep=args.max_findings,
        listener=None if args.json else show,
        spark_master=args.spark_master,
        as_of=args.as_of,
        duckdb_memory=args.duckdb_memory,
    )
    if args.diagram:
        write_overlay(result, Path(args.diagram), args.diagram_label)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2, sort_keys=True))
    else:
        for overdue in [] if result.time is None else result.time.overdue:
            print(overdue.text())
        print(result.text_summary(), end="")
    late = result.time is not None and result.time.overdue_count > 0
    return result.exit_code or (EXIT_OVERDUE if args.fail_on_overdue and late else 0)


EXIT_OVERDUE = 3
"""``orderfsm audit --fail-on-overdue``: nothing illegal, every row usable, but an order
overran a deadline (operations, not broken rules: without the flag this is exit 0)."""


def _instant(text: str) -> int:
    """``--as-of``: seconds since the epoch, or an ISO-8601 instant with its UTC offset."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected seconds since the epoch or an ISO-8601 instant, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: say the UTC offset (e.g. Z or +08:00)")
    return int(moment.timestamp())


def _add_audit(sub: Subcommands) -> None:
    audit = sub.add_parser(
        "audit",
        help="audit exported status histories: every illegal step, per order",
        description="Judge every status change in exported histories (CSV, JSON Lines, "
        "Parquet) by the machine's rules. Exit 0 when nothing is illegal, 1 when a step is "
        "illegal or a row cannot be used, 2 when the files cannot be audited (3 with "
        "--fail-on-overdue when only deadlines were overrun). See docs/audit.md.",
    )
    audit.add_argument("files", nargs="+", metavar="FILE", help="the exports, read as one history")
    audit.add_argument(
        "--machine",
        metavar="NAME_OR_PATH",
        help="a shipped machine or a table file (default: the file's 'machine' column)",
    )
    audit.add_argument(
        "--engine",
        choices=("stream", "duckdb", "spark"),
        help="stream (default for CSV/JSON Lines; rows must be ordered, see --order), "
        "duckdb (default for Parquet; sorts itself) or spark (a Spark session; see "
        "--spark-master)",
    )
    audit.add_argument(
        "--duckdb-memory",
        metavar="SIZE",
        help="with --engine duckdb: the memory its query may hold before it spills to a "
        "private temporary folder (default 1GB; e.g. 4GB: faster on large exports)",
    )
    audit.add_argument(
        "--spark-master",
        metavar="URL",
        help="with --engine spark: the Spark master (default local[*]; e.g. "
        "spark://host:7077, yarn) or a Spark Connect URL (sc://host:15002)",
    )
    audit.add_argument(
        "--order",
        choices=("order", "seq"),
        default="order",
        help="how the rows are ordered for the stream engine: by order id then the ordering "
        "column (default), or by the ordering column alone",
    )
    audit.add_argument(
        "--column",
        action="append",
        type=_column,
        metavar="ROLE=NAME",
        help="the column for a role: order_id, seq, status, sub_order_id, refund_status, "
        "via, machine, at (the time; repeatable)",
    )
    audit.add_argument(
        "--max-findings",
        type=int,
        default=1000,
        metavar="N",
        help="print at most N findings of each kind (counts stay exact; default 1000)",
    )
    audit.add_argument("--json", action="store_true", help="print one JSON object")
    audit.add_argument(
        "--emit-sql",
        action="store_true",
        help="print the portable SQL (DuckDB, Spark SQL) of the audit and exit",
    )
    audit.add_argument(
        "--emit-time-sql",
        action="store_true",
        help="print the portable SQL of the time statistics (dwell times, overdue stays; "
        "see --as-of) and exit",
    )
    audit.add_argument(
        "--as-of",
        type=_instant,
        metavar="INSTANT",
        help="with a time column: judge orders still waiting at the end of the export at "
        "this instant (seconds since the epoch, or ISO-8601 with offset; default: the "
        "latest time in the export)",
    )
    audit.add_argument(
        "--fail-on-overdue",
        action="store_true",
        help="exit 3 when an order overran a deadline and nothing else failed",
    )
    audit.add_argument(
        "--diagram",
        metavar="OUT",
        help="draw what happened: .dot, .svg or .mmd, edges labelled with counts",
    )
    audit.add_argument(
        "--diagram-label",
        choices=("count", "median-time"),
        default="count",
        help="label table edges with how many orders took them (default) or, with a time "
        "column, the median time orders waited before taking them",
    )
    audit.set_defaults(func=_cmd_audit)


def _add_summary(sub: Subcommands) -> None:
    summary = sub.add_parser(
        "summary",
        help="print each machine's size, statuses and provenance",
        description="Load every shipped table (or the ones given) and print its statuses, "
        "events, table transitions (documented + inferred) and compiled edges.",
    )
    summary.add_argument(
        "--table", action="append", metavar="NAME_OR_PATH", help="a machine name or table file"
    )
    summary.set_defaults(func=_cmd_summary)


def _add_check(sub: Subcommands) -> None:
    check = sub.add_parser(
        "check",
        help="check the tables against the documents' claims, and lint them",
        description="Exit 0 when every discrepancy has a recorded decision and lint has no "
        "error; 1 otherwise; 2 on bad input. Exported histories: see `orderfsm audit`.",
    )
    check.add_argument(
        "--table",
        action="append",
        metavar="NAME_OR_PATH",
        help="check only this machine or table file (repeatable); a table named like a "
        "shipped machine is checked against that machine's claims",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "-v", "--verbose", action="store_true", help="show resolved discrepancies in full"
    )
    check.set_defaults(func=_cmd_check)


def _add_docs(sub: Subcommands) -> None:
    docs = sub.add_parser(
        "docs",
        help="regenerate the generated documentation pages from the tables and claims",
        description="Regenerate docs/conformance.md (every discrepancy between the "
        "documents and the tables, with its decision) and the generated reference blocks "
        "of docs/machines/*.md, so the docs never drift from the tables. With --check, "
        "write nothing and exit 1 naming stale pages.",
    )
    docs.add_argument("--root", default=".", help="the repository root (default: .)")
    docs.add_argument("--check", action="store_true", help="exit 1, naming stale pages")
    docs.set_defaults(func=_cmd_docs)


def _add_diagrams(sub: Subcommands) -> None:
    diagrams = sub.add_parser(
        "diagrams",
        help="draw every machine: DOT, SVG, Mermaid and Markdown matrices",
        description="Generate the diagrams from the tables, or with --check compare the "
        "committed ones and exit 1 naming every stale file. Without --out this writes "
        "diagrams/ and docs/diagrams.md, and only in the orderfsm source tree.",
    )
    diagrams.add_argument(
        "--out",
        default=None,
        help="output folder (default: diagrams/ in the orderfsm source tree; required elsewhere)",
    )
    diagrams.add_argument(
        "--machine",
        action="append",
        metavar="NAME_OR_PATH",
        help="only this machine or table file (repeatable)",
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
        "docs/diagrams.md without --out, else none)",
    )
    diagrams.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 naming stale files"
    )
    diagrams.set_defaults(func=_cmd_diagrams)


def _add_export(sub: Subcommands) -> None:
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


COMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    _add_summary,
    _add_check,
    _add_audit,
    _add_docs,
    _add_diagrams,
    _add_export,
)
"""Each registers one subcommand (its parser and ``func``); a new command adds one here."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error under ``--json`` is also a JSON object on stdout."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            print(json.dumps({"error": f"{self.prog}: {message}"}, ensure_ascii=False))
        super().error(message)


def build_parser(json_errors: bool = False) -> argparse.ArgumentParser:
    _Parser.json_errors = json_errors
    parser = _Parser(
        prog="orderfsm",
        description="Order-status rules: load, check, audit and draw the machines.",
    )
    sub = parser.add_subparsers(dest="command", required=True)  # subparsers are _Parser too
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(json_errors="--json" in given).parse_args(given)
    try:
        code: int = args.func(args)
    except OrderFsmError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"orderfsm: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `orderfsm ... | head`: the reader left; not our error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
