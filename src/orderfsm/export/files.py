"""The files ``orderfsm export`` writes, and the drift check a consuming repository runs.

For each machine and format: ``NAME.json`` (the versioned document), or
``NAME.xstate.json`` and ``NAME.guards.mjs`` (the XState config and its guard module).
The texts are deterministic, so ``orderfsm export --check DIR`` can compare a service's
checked-in copy byte for byte and name every file that is stale or missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from orderfsm.export import json_doc, xstate
from orderfsm.model.bounded import holds, naming
from orderfsm.model.compile import CompiledMachine
from orderfsm.render.outputs import write_file

FORMATS = ("json", "xstate")


def texts(machine: CompiledMachine, fmt: str) -> dict[str, str]:
    """File name -> text of ``machine`` exported in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return {f"{machine.name}.json": json_doc.dumps(json_doc.document(machine))}
    return {
        f"{machine.name}.xstate.json": json_doc.dumps(xstate.config(machine)),
        f"{machine.name}.guards.mjs": xstate.module(machine),
    }


def plan(machines: Sequence[CompiledMachine], formats: Sequence[str]) -> dict[str, str]:
    """Every file of every machine in every format, in a stable order."""
    return {name: text for m in machines for f in formats for name, text in texts(m, f).items()}


def write(files: dict[str, str], out: Path) -> list[Path]:
    """Write ``files`` under ``out``; returns the paths whose content changed. Like the
    diagrams, a file is never written through a symbolic link planted in ``out``, and a
    path that cannot be written is an :class:`~orderfsm.OrderFsmError` naming it."""
    return [out / name for name, text in files.items() if write_file(out / name, text.encode())]


def stale(files: dict[str, str], out: Path) -> list[str]:
    """A line for every file under ``out`` that is missing or differs from ``files``."""
    problems = []
    for name, text in files.items():
        path = out / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif not holds(path, text.encode("utf-8"), naming(path)):
            problems.append(f"{path}: differs from the current rules")
    return problems
