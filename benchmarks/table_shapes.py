"""Generated tables of any size and shape: large, and hostile (what a pull request could hold).

Shared by ``benchmarks/bench.py`` (timings) and ``tests/test_large_tables.py`` (behaviour),
so both measure and test the same shapes. Every function returns a decoded table mapping,
as ``orderfsm.load(mapping)`` takes it.
"""

from __future__ import annotations

from typing import Any

_INFERRED = {"kind": "inferred", "basis": "generated for a scale test"}


def _state(i: int, *, final: bool = False) -> dict[str, Any]:
    return {
        "code": i,
        "name": f"S{i}",
        "phase": "generated",
        "description": f"generated status {i}",
        "customer_text": f"status {i}",
        "final": final,
        "provenance": _INFERRED,
    }


def _edge(src: int, dst: int, event: str, **extra: Any) -> dict[str, Any]:
    return {
        "src": src,
        "dst": dst,
        "event": event,
        "actor": "platform",
        "provenance": _INFERRED,
        **extra,
    }


def chain(states: int, fanout: int = 10, events: int = 10) -> dict[str, Any]:
    """``states`` statuses, about ``fanout`` edges leaving each, the last one final.

    Each status moves forward to the next ``fanout`` ones (one event per hop), so every
    status is reachable and reaches the final one: a big table that lints clean.
    """
    transitions = []
    for src in range(states - 1):
        for hop in range(1, fanout + 1):
            dst = src + hop
            if dst < states:
                transitions.append(_edge(src, dst, f"e{hop % events}"))
    return {
        "machine": {"name": "generated_chain", "initial": 0},
        "states": [_state(i, final=i == states - 1) for i in range(states)],
        "events": {f"e{i}": {"description": f"event {i}"} for i in range(events)},
        "transitions": transitions,
    }


def many_variables(variables: int = 7, values: int = 10) -> dict[str, Any]:
    """A 1 KB table whose one guarded edge reads a variable and can never pass.

    ``balance_due`` wants ``pay_step = ADVANCE``; ``pay_step`` is declared without that
    value, beside ``variables - 1`` other variables of ``values`` values each. Enumerating
    every combination would be ``values ** (variables - 1)`` contexts.
    """
    declared: dict[str, Any] = {
        f"v{i}": {"values": [f"x{j}" for j in range(values)], "default": "x0"}
        for i in range(variables - 1)
    }
    declared["pay_step"] = {"values": ["FULL", "BALANCE"], "default": "FULL"}
    return {
        "machine": {"name": "generated_variables", "initial": 0},
        "variables": declared,
        "states": [_state(0), _state(1, final=True)],
        "events": {"go": {"description": "go"}, "owe": {"description": "owe"}},
        "transitions": [_edge(0, 1, "go"), _edge(0, 1, "owe", guards=["balance_due"])],
    }


def shared_source_event(states: int) -> dict[str, Any]:
    """``states`` statuses all reached from the initial one by the same event: every pair
    of those edges is an ``ambiguous_event`` (``states**2 / 2`` pairs)."""
    return {
        "machine": {"name": "generated_ambiguous", "initial": 0},
        "states": [_state(0)] + [_state(i, final=True) for i in range(1, states)],
        "events": {"go": {"description": "go"}},
        "transitions": [_edge(0, i, "go") for i in range(1, states)],
    }


def nested_toml(depth: int) -> str:
    """A TOML text whose one value is an array nested ``depth`` deep."""
    return "[machine]\nname = " + "[" * depth + "1" + "]" * depth + "\n"


def nested_inline_toml(depth: int) -> str:
    """A TOML text whose one value is an inline table nested ``depth`` deep."""
    return "[machine]\nname = " + "{a = " * depth + "1" + "}" * depth + "\n"
