"""``orderfsm export --format xstate`` behaves like orderfsm, proven in Node with XState v5.

Python generates event sequences (hypothesis, plus a transition cover so every edge is
taken) over every shipped machine, records what orderfsm's pure core does with each
(accepted or not, and the status, variables and remembered status after), and writes
them as JSON fixtures beside the exported XState config and guard module. Node's test
runner replays them through ``xstate`` (pinned in ``tests/node/package.json``, installed
by ``scripts/run`` with ``npm ci``) and requires the same outcome at every step.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.export import files, json_doc
from orderfsm.paths import transition_cover

NODE_DIR = Path(__file__).resolve().parent / "node"
MACHINES = [orderfsm.load(name) for name in orderfsm.MACHINES]

Config = tuple[orderfsm.State, dict[str, str], orderfsm.State | None]
Attempt = tuple[str, orderfsm.State | None]


def advance(
    machine: orderfsm.CompiledMachine, config: Config, event: str, parent: orderfsm.State | None
) -> tuple[Config, bool]:
    """What orderfsm's pure core does with one event: the new (status, variables,
    remembered status), and whether the event was accepted."""
    status, variables, history = config
    try:
        step = machine.transition(
            status, event, parent=parent, variables=variables, history=history
        )
    except orderfsm.TransitionRejected:
        return config, False
    after = (step.target, step.transition.apply(variables), machine.remembered_after(step, history))
    return after, True


def _record(config: Config) -> dict[str, Any]:
    status, variables, history = config
    return {"status": status.name, "variables": variables, "history": history and history.name}


def expected(
    machine: orderfsm.CompiledMachine, start: Config, attempts: list[Attempt]
) -> dict[str, Any]:
    """One fixture case: the start, and what orderfsm does with each attempted event."""
    case: dict[str, Any] = {"start": _record(start), "steps": []}
    config = start
    for event, parent in attempts:
        config, accepted = advance(machine, config, event, parent)
        step = {"event": event, "parent": parent and parent.name, "accepted": accepted}
        case["steps"].append({**step, "after": _record(config)})
    return case


@st.composite
def sequences(draw: st.DrawFn, machine: orderfsm.CompiledMachine) -> tuple[Config, list[Attempt]]:
    """A start (any status, variables and possible remembered status) and up to 10 events,
    each drawn from those with an edge where the order stands, or from all of them."""
    status = draw(st.sampled_from(machine.states))
    variables = {v.name: draw(st.sampled_from(v.values)) for v in machine.table.variables}
    history = None
    if status.name in machine.history_states:
        history = draw(st.sampled_from(machine.history_sources(status)))
    parents = list(dict.fromkeys((*machine.parent_statuses, None)))
    start = config = (status, variables, history)
    attempts = []
    for _ in range(draw(st.integers(1, 10))):
        leaving = machine.events(config[0])
        pool = leaving if leaving and draw(st.booleans()) else machine.event_names
        attempt = (draw(st.sampled_from(pool)), draw(st.sampled_from(parents)))
        attempts.append(attempt)
        config, _ = advance(machine, config, *attempt)
    return start, attempts


@functools.cache
def cases(machine: orderfsm.CompiledMachine) -> list[dict[str, Any]]:
    """The transition cover and the hypothesis-generated sequences, with outcomes."""
    out = []
    for path in transition_cover(machine):
        first = path[0]
        start = (first.source, dict(first.variables), first.history)
        out.append(expected(machine, start, [(s.event, s.parent) for s in path]))

    @given(sequences(machine))
    def collect(sequence: tuple[Config, list[Attempt]]) -> None:
        out.append(expected(machine, *sequence))

    collect()
    return out


def test_the_cases_cover_every_edge_and_both_outcomes() -> None:
    for machine in MACHINES:
        generated = cases(machine)
        steps = [s for c in generated for s in c["steps"]]
        assert any(s["accepted"] for s in steps) and any(not s["accepted"] for s in steps)
        taken = {(s["event"], s["after"]["status"]) for s in steps if s["accepted"]}
        assert {(e.event, e.dst) for e in machine.edges} <= taken, machine.name


def test_xstate_replays_every_sequence_like_orderfsm(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/run test installs it)")
    if not (NODE_DIR / "node_modules" / "xstate").is_dir():
        pytest.fail("xstate is not installed: run `npm ci` in tests/node (scripts/run test does)")
    exported = files.plan(MACHINES, ["xstate"])
    files.write(exported, tmp_path)
    for machine in MACHINES:
        (tmp_path / f"{machine.name}.cases.json").write_text(
            json_doc.dumps(cases(machine)), "utf-8"
        )
    (tmp_path / "machines.json").write_text(json.dumps(list(orderfsm.MACHINES)), "utf-8")
    run = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(NODE_DIR / "xstate_equivalence.test.mjs")],
        cwd=NODE_DIR,
        env={**os.environ, "ORDERFSM_FIXTURES": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"# pass {len(MACHINES)}" in run.stdout and "# fail 0" in run.stdout
