"""Standing fuzzers, one per public entry point (issue 21): whatever the input, only
:class:`orderfsm.OrderFsmError` subclasses leave the API, and the command line never
ends in a traceback.

Entry points: ``parse`` per kind, ``from_dict`` per order class, ``load`` for mappings,
table files and exported documents (as mappings and files), and every CLI subcommand's
file arguments. The inputs are the library's own valid data with one node replaced by a
hostile value (integers just outside 64 bits or too long for ``int(str)``, lone
surrogates, NaN, nesting past the limit, keys that are not strings...), or its text with
a hostile fragment spliced in (a repeated key, 5000 digits, 40 open brackets, an escaped
lone surrogate...), or a file that is not a regular file (a FIFO, a link to
``/dev/zero``, a directory, a sparse file over the size limit). ``hypothesis.event``
labels each shape, so ``pytest --hypothesis-show-statistics`` reports what was tried.
Budget: the hypothesis profile (``ci``: 150 derandomised examples per test).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import orderfsm
from orderfsm.cli import main
from orderfsm.export.json_doc import document
from orderfsm.ingest import KINDS, parse
from orderfsm.model.bounded import MAX_FILE_BYTES
from support import json_paths, replaced_at

DATA = resources.files("orderfsm") / "data"
PAYLOADS = DATA / "payloads"


class Raw:
    """A hostile value with its JSON spelling (``10**5000`` cannot be ``json.dumps``-ed)."""

    def __init__(self, value: object, text: str, label: str) -> None:
        self.value, self.text, self.label = value, text, label


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


HOSTILE: list[Raw] = [
    Raw(2**63, str(2**63), "integer 2**63"),
    Raw(-(2**63) - 1, str(-(2**63) - 1), "integer -2**63-1"),
    Raw(10**5000, "1" + "0" * 5000, "integer of 5001 digits"),
    Raw("\ud800", '"\\ud800"', "lone high surrogate"),
    Raw("a\udfffb", '"a\\udfffb"', "lone low surrogate"),
    Raw(float("nan"), "NaN", "NaN"),
    Raw(float("inf"), "Infinity", "Infinity"),
    Raw(_deep(40), "[" * 40 + '"x"' + "]" * 40, "40 nested arrays"),
    Raw({"k": {"k": _deep(30)}}, '{"k": {"k": ' + "[" * 30 + '"x"' + "]" * 30 + "}}", "30 deep"),
    Raw(True, "true", "true"),
    Raw(None, "null", "null"),
    Raw("9" * 30, '"' + "9" * 30 + '"', "30 digits as text"),
    Raw(-1, "-1", "-1"),
    Raw(1.5, "1.5", "1.5"),
    Raw([], "[]", "[]"),
    Raw({}, "{}", "{}"),
]
hostile_values = st.sampled_from(HOSTILE)

# Fragments spliced into a file's or body's text anywhere.
FRAGMENTS = [
    '"k": 1, "k": 2, ',
    "9" * 5000,
    "[" * 40,
    "{" * 40,
    '"\\ud800"',
    "\ud800",
    "NaN",
    "= 1\n",
    "[[a]]\n",
    '"""',
    "\\",
    "\x00",
    "1e400",
    "code = " + "9" * 30 + "\n",
]
splices = st.tuples(st.sampled_from(FRAGMENTS), st.integers(min_value=0), st.integers(0, 20))


def spliced(text: str, splice: tuple[str, int, int]) -> str:
    fragment, at, cut = splice
    at %= len(text) + 1
    event(f"splice {fragment[:12]!r}")
    return text[:at] + fragment + text[at + cut :]


def replaced(base: Any, path: tuple[Any, ...], raw: Raw) -> tuple[Any, str]:
    """``base`` with the node at ``path`` replaced by ``raw``: as Python data, and as JSON
    text (the hostile value spelled as it would arrive)."""
    event(f"replace with {raw.label}")
    marker = "\x01hostile\x01"
    text = json.dumps(replaced_at(base, path, marker)).replace(json.dumps(marker), raw.text)
    return replaced_at(base, path, raw.value), text


def only_library_errors(call: Callable[[], object]) -> None:
    """Run ``call``: it may return or raise an :class:`OrderFsmError`, nothing else."""
    try:
        call()
    except orderfsm.OrderFsmError as exc:
        event(f"refused: {type(exc).__name__}")
    else:
        event("accepted")


# ----------------------------------------------------------------------------- parse

PAYLOAD_FIXTURES = {
    "purchase_page": "001_purchase_page_response.json",
    "status_callback": "003_status_callback.json",
}


def _payload(kind: str) -> Any:
    if kind == "icbu_order":
        path = Path(__file__).parent / "fixtures" / "002_order_get_response_derived.json"
        return json.loads(path.read_bytes())
    return json.loads((PAYLOADS / PAYLOAD_FIXTURES[kind]).read_bytes())


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data(), raw=hostile_values, strict=st.booleans())
def test_parse_with_a_hostile_node_as_mapping_text_and_bytes(
    kind: str, data: st.DataObject, raw: Raw, strict: bool
) -> None:
    base = _payload(kind)
    path = data.draw(st.sampled_from(json_paths(base)))
    mapping, text = replaced(base, path, raw)
    only_library_errors(lambda: parse(mapping, kind, strict=strict))
    only_library_errors(lambda: parse(text, kind, strict=strict))
    only_library_errors(lambda: parse(text.encode("utf-8", "surrogatepass"), kind))


@pytest.mark.parametrize("kind", KINDS)
@given(splice=splices)
def test_parse_with_a_hostile_fragment_spliced_into_the_text(
    kind: str, splice: tuple[str, int, int]
) -> None:
    text = spliced(json.dumps(_payload(kind), indent=1), splice)
    only_library_errors(lambda: parse(text, kind))
    only_library_errors(lambda: parse(text.encode("utf-8", "surrogatepass"), kind))


# ----------------------------------------------------------------------------- from_dict


def _stored() -> dict[str, tuple[dict[str, Any], Any]]:
    taobao = orderfsm.TaobaoOrder(status=11, sub_orders={"a": 0, 7: 0})  # shipped: refundable
    taobao.trigger("apply_refund", sub_order="a")
    icbu = orderfsm.IcbuOrder(status="undeliver")
    icbu.trigger("open_refund")
    ka = orderfsm.KaTrade({"o1": ["a", "b"], 2: [3]})
    ka.trigger("auto_deduct")
    return {
        "taobao": (taobao.to_dict(), orderfsm.TaobaoOrder),
        "icbu": (icbu.to_dict(), orderfsm.IcbuOrder),
        "ka": (ka.to_dict(), orderfsm.KaTrade),
    }


STORED = _stored()


@pytest.mark.parametrize("kind", sorted(STORED))
@given(data=st.data(), raw=hostile_values)
def test_from_dict_with_a_hostile_node(kind: str, data: st.DataObject, raw: Raw) -> None:
    base, order_class = STORED[kind]
    path = data.draw(st.sampled_from(json_paths(base)))
    mapping, _ = replaced(base, path, raw)

    def load_and_round_trip() -> None:
        order = order_class.from_dict(mapping)
        assert order_class.from_dict(order.to_dict()).to_dict() == order.to_dict()

    only_library_errors(load_and_round_trip)


# ----------------------------------------------------------------------------- load

TABLE_TEXT = {
    name: (DATA / "tables" / f"{name}.toml").read_text("utf-8") for name in orderfsm.MACHINES
}
DOCUMENTS = {name: document(orderfsm.load(name)) for name in orderfsm.MACHINES}


@given(data=st.data(), name=st.sampled_from(orderfsm.MACHINES), raw=hostile_values)
def test_load_a_table_mapping_with_a_hostile_node(data: st.DataObject, name: str, raw: Raw) -> None:
    base = tomllib.loads(TABLE_TEXT[name])
    path = data.draw(st.sampled_from(json_paths(base)[1:]))
    mapping, _ = replaced(base, path, raw)
    only_library_errors(lambda: orderfsm.load(mapping))


@given(data=st.data(), name=st.sampled_from(orderfsm.MACHINES), raw=hostile_values)
def test_load_an_exported_document_with_a_hostile_node_as_mapping_and_file(
    data: st.DataObject, name: str, raw: Raw
) -> None:
    base = DOCUMENTS[name]
    path = data.draw(st.sampled_from(json_paths(base)[1:]))
    mapping, text = replaced(base, path, raw)
    only_library_errors(lambda: orderfsm.load(mapping))
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "doc.json"
        file.write_bytes(text.encode("utf-8", "surrogatepass"))
        only_library_errors(lambda: orderfsm.load(file))


@given(
    name=st.sampled_from(orderfsm.MACHINES),
    splice=splices,
    suffix=st.sampled_from([".toml", ".json"]),
)
def test_load_a_table_or_document_file_with_a_hostile_fragment(
    name: str, splice: tuple[str, int, int], suffix: str
) -> None:
    text = TABLE_TEXT[name] if suffix == ".toml" else json.dumps(DOCUMENTS[name], indent=1)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / f"table{suffix}"
        file.write_bytes(spliced(text, splice).encode("utf-8", "surrogatepass"))
        only_library_errors(lambda: orderfsm.load(file))


# ----------------------------------------------------------------------------- the CLI

SPECIAL_FILES = ("fifo", "link to /dev/zero", "directory", "missing", "over the size limit")


@contextlib.contextmanager
def hostile_file(path: Path, shape: str, text: str) -> Iterator[Path]:
    """``path`` made into ``shape``: one of :data:`SPECIAL_FILES`, or a regular file
    holding ``text``."""
    event(f"file: {shape}")
    if shape == "fifo":
        os.mkfifo(path)
    elif shape == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif shape == "directory":
        path.mkdir()
    elif shape == "over the size limit":
        with path.open("wb") as handle:
            handle.truncate(MAX_FILE_BYTES + 1)
    elif shape != "missing":
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    yield path


def run(argv: list[str]) -> None:
    """``orderfsm ARGV`` in this process: an exit code, never an exception (which would
    be the traceback a user sees); a refusal (exit 2) is one line on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as done:  # argparse: a usage error
            code = int(done.code or 0)
    assert code in (0, 1, 2)
    assert "Traceback" not in err.getvalue()
    if code == 2:
        assert err.getvalue().count("\n") == 1, err.getvalue()
    event(f"exit {code}")


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "check --table": lambda f, out: ["check", "--table", str(f)],
    "check --json --table": lambda f, out: ["check", "--json", "--table", str(f)],
    "summary --table": lambda f, out: ["summary", "--table", str(f)],
    "export": lambda f, out: ["export", str(f)],
    "export --out": lambda f, out: ["export", str(f), "--format", "json,xstate", "--out", str(out)],
    "diagrams --machine": lambda f, out: [
        "diagrams",
        "--machine",
        str(f),
        "--format",
        "dot,mermaid",
        "--out",
        str(out),
    ],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@given(
    name=st.sampled_from(orderfsm.MACHINES),
    splice=splices,
    suffix=st.sampled_from([".toml", ".json"]),
    shape=st.sampled_from(("regular", "regular", "regular", *SPECIAL_FILES)),
)
def test_a_command_given_a_hostile_table_file(
    command: str,
    name: str,
    splice: tuple[str, int, int],
    suffix: str,
    shape: str,
) -> None:
    text = TABLE_TEXT[name] if suffix == ".toml" else json.dumps(DOCUMENTS[name], indent=1)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / f"t{suffix}"
        with hostile_file(file, shape, spliced(text, splice)):
            run(COMMANDS[command](file, Path(folder) / "out"))


CHECKED = {
    "export --check": (
        "taobao_order.json",
        lambda d: ["export", "taobao_order", "--check", str(d)],
    ),
    "diagrams --check": (
        "taobao_order.dot",
        lambda d: [
            "diagrams",
            "--check",
            "--machine",
            "taobao_order",
            "--format",
            "dot",
            "--out",
            str(d),
        ],
    ),
    "docs --check": (
        "docs/machines/taobao_order.md",
        lambda d: ["docs", "--check", "--root", str(d)],
    ),
}


@pytest.mark.parametrize("command", sorted(CHECKED))
@given(
    splice=splices,
    shape=st.sampled_from(("regular", "regular", *SPECIAL_FILES)),
)
def test_a_drift_check_given_a_hostile_committed_file(
    command: str, splice: tuple[str, int, int], shape: str
) -> None:
    name, argv = CHECKED[command]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        committed = root / name
        committed.parent.mkdir(parents=True, exist_ok=True)
        if command == "docs --check":  # the other pages, as committed
            for machine in orderfsm.MACHINES:
                page = Path("docs/machines") / f"{machine}.md"
                (root / page).write_bytes(Path(__file__).parent.parent.joinpath(page).read_bytes())
        base = Path(__file__).parent.parent / (
            "docs/machines/taobao_order.md"
            if command == "docs --check"
            else "diagrams/taobao_order.dot"
        )
        text = base.read_text("utf-8") if base.is_file() else "digraph {}"
        committed.unlink(missing_ok=True)
        with hostile_file(committed, shape, spliced(text, splice)):
            run(argv(root))
