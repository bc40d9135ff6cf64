"""Paths through a machine, as in model-based testing.

A path is a sequence of executable steps: each names the event and the context (parent
status, variables, remembered history) it fires in, so ``replay`` can run it through the
pure core. :func:`shortest_paths` gives the shortest event path to every reachable
status; :func:`transition_cover` gives a small set of paths that together take every
transition at least once. Both search over configurations (status + variables +
history), so guarded edges are taken only in contexts where they really fire.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from orderfsm.errors import TransitionRejected
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.search import breadth_first, path_to
from orderfsm.model.table import State, Transition

ConfigKey = tuple[str, tuple[tuple[str, str], ...], str | None]
"""A configuration as a dict key: its status, variables and remembered status by name."""


@dataclass(frozen=True, slots=True)
class Config:
    """Where a machine is: its status, its variables and the status remembered for history."""

    status: State
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    history: State | None = None

    def key(self) -> ConfigKey:
        return (
            self.status.name,
            tuple(sorted(self.variables.items())),
            self.history.name if self.history else None,
        )


@dataclass(frozen=True, slots=True)
class PathStep:
    """One executable step: fire ``event`` in ``source`` with this context to reach ``target``."""

    event: str
    source: State
    target: State
    transition: Transition
    parent: State | None = None
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    history: State | None = None


Path = tuple[PathStep, ...]


def initial_configs(machine: CompiledMachine) -> list[Config]:
    """The initial status with every combination of the values a new order may start with
    (each variable's ``initial`` list, defaults first)."""
    names = [v.name for v in machine.table.variables]
    combos = itertools.product(
        *(
            (v.default, *(x for x in v.initial_values if x != v.default))
            for v in machine.table.variables
        )
    )
    return [
        Config(machine.initial, MappingProxyType(dict(zip(names, c, strict=True)))) for c in combos
    ]


def moves(machine: CompiledMachine, config: Config) -> Iterator[tuple[PathStep, Config]]:
    """Every step that really fires from ``config`` (one per edge; first parent that lets it)."""
    history_sources = {t.src for t in machine.table.transitions if t.history}
    for t in machine.transitions_from(config.status):
        for parent in machine.parent_statuses:
            try:
                step = machine.transition(
                    config.status,
                    t.event,
                    parent=parent,
                    variables=config.variables,
                    history=config.history,
                )
            except TransitionRejected:
                continue
            if step.transition != t:
                continue
            entering_history = step.target.name in history_sources
            history = config.status if entering_history else None
            path_step = PathStep(
                t.event, config.status, step.target, t, parent, config.variables, config.history
            )
            yield (
                path_step,
                Config(step.target, MappingProxyType(t.apply(config.variables)), history),
            )
            break


def _search(machine: CompiledMachine) -> dict[ConfigKey, tuple[Config, Path]]:
    """Breadth-first: the shortest path to every reachable configuration."""
    configs = {c.key(): c for c in initial_configs(machine)}

    def edges(key: ConfigKey) -> Iterator[tuple[PathStep, ConfigKey]]:
        for step, nxt in moves(machine, configs[key]):
            configs.setdefault(nxt.key(), nxt)
            yield step, nxt.key()

    found, _ = breadth_first(list(configs), edges)
    return {key: (configs[key], path_to(found, key)) for key in found}


def shortest_paths(machine: CompiledMachine) -> dict[str, Path]:
    """For every reachable status name, the shortest executable path from the initial status."""
    best: dict[str, Path] = {}
    for config, path in _search(machine).values():
        name = config.status.name
        if name not in best or len(path) < len(best[name]):
            best[name] = path
    return {s.name: best[s.name] for s in machine.states if s.name in best}


def transition_cover(machine: CompiledMachine) -> list[Path]:
    """A small set of executable paths that together take every edge that can fire.

    Greedy: reach the source of the first uncovered edge by a shortest path, take it,
    then keep taking uncovered edges while one fires from where the path stands.
    """
    configs = _search(machine)
    uncovered = list(machine.edges)
    paths: list[Path] = []
    while uncovered:
        start = next(
            (
                (config, path, step, nxt)
                for t in uncovered
                for config, path in configs.values()
                if config.status.name == t.src
                for step, nxt in moves(machine, config)
                if step.transition == t
            ),
            None,
        )
        if start is None:  # the rest can never fire (lint reports them)
            break
        _, prefix, step, config = start
        path = [*prefix, step]
        while True:
            taken = {s.transition for s in path}
            nxt = next(
                (
                    (s, c)
                    for s, c in moves(machine, config)
                    if s.transition not in taken and s.transition in uncovered
                ),
                None,
            )
            if nxt is None:
                break
            path.append(nxt[0])
            config = nxt[1]
        paths.append(tuple(path))
        covered = {s.transition for s in path}
        uncovered = [t for t in uncovered if t not in covered]
    return paths


def replay(machine: CompiledMachine, path: Path) -> list[State]:
    """Run ``path`` through the pure core; returns the statuses passed, or raises the rejection."""
    states = [path[0].source] if path else [machine.initial]
    for step in path:
        result = machine.transition(
            states[-1],
            step.event,
            parent=step.parent,
            variables=step.variables,
            history=step.history,
        )
        states.append(result.target)
    return states
