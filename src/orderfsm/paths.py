"""Public home of model-based paths (:mod:`orderfsm.check.paths`): shortest paths, a
transition cover and replay through the pure core, for testing code against the rules."""

from orderfsm.check.paths import (
    Config,
    Path,
    PathStep,
    initial_configs,
    moves,
    replay,
    shortest_paths,
    transition_cover,
)

__all__ = [
    "Config",
    "Path",
    "PathStep",
    "initial_configs",
    "moves",
    "replay",
    "shortest_paths",
    "transition_cover",
]
