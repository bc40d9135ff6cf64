"""Bounded reading: the one reader of data the library did not write.

Every file the library opens for a caller (a table, an exported document, a committed
file a drift check compares) is read by :func:`read_file`: regular files only (a FIFO, a
device, a directory or a link to one is refused before anything is read) and at most
:data:`MAX_FILE_BYTES`. Decoded data, whether it came from a file (:func:`load_json`,
:func:`load_toml`) or was handed over as a mapping (:func:`check_tree`), is held to the
same rules:

- containers nest at most :data:`MAX_NESTING` deep, checked without recursion (for JSON
  text before the decoder can recurse);
- every integer lies in :data:`INTEGERS` (64 bits, signed), and a bool is never an
  integer (:func:`is_integer`), so no number is too long to print or to store;
- keys are strings, a JSON object gives each key once, ``NaN``/``Infinity`` are not
  numbers;
- text is Unicode scalar values: a lone surrogate (``"\\ud800"``) is refused
  (:func:`is_text`), since nothing can encode it.

The rules are the library's; the error type is the caller's: each function reports a
problem through ``complain(where, problem)``, which returns the error its entry point
raises (:class:`~orderfsm.errors.TableError` for tables and documents,
:class:`~orderfsm.errors.PayloadError` for payloads and stored dicts). ``where`` is a
path such as ``$.data.data[0].status`` below the ``root`` the caller names, or
``<file>`` for the file as a whole.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeGuard, cast

from orderfsm.errors import OrderFsmError, TableError, shown

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "INTEGERS",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "NOT_DECODED",
    "Complain",
    "check_tree",
    "decoded_json",
    "holds",
    "is_id",
    "is_integer",
    "is_text",
    "key_path",
    "load_json",
    "load_toml",
    "naming",
    "plain_scalars",
    "read_file",
    "refusal",
    "shipped_text",
    "shown",
    "utf8",
    "value_problem",
]

Complain = Callable[[str, str], OrderFsmError]
"""``complain(where, problem)``: the error the entry point raises for a problem."""

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Largest file read: 8 MiB. The largest shipped table is about 35 KB."""

MAX_NESTING = 32
"""Deepest nesting of containers (objects, arrays, tables), the outermost counting as 1.
The deepest real table needs 5 levels, the deepest documented payload 6."""

INTEGERS = range(-(2**63), 2**63)
"""The integers read: those a signed 64-bit column stores (every platform id and code)."""


# ----------------------------------------------------------------------------- values


def is_integer(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an integer the library reads: an ``int`` (never a ``bool``)
    within :data:`INTEGERS`."""
    if value.__class__ is int:
        return value in INTEGERS
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and INTEGERS.start <= value < INTEGERS.stop
    )


def is_text(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a string of Unicode scalar values (no lone surrogate)."""
    return isinstance(value, str) and (value.isascii() or _SURROGATE.search(value) is None)


def is_id(value: object) -> TypeGuard[str | int]:
    """Whether ``value`` can be an order or sub-order id: text or an integer (not a bool)."""
    return is_integer(value) or is_text(value)


def value_problem(value: object) -> str | None:
    """Why a decoded scalar breaks the rules (an integer out of range, text with a lone
    surrogate), or ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and not is_integer(value):
        return "an integer outside the 64-bit range"
    if isinstance(value, str) and not is_text(value):
        return "text with a lone surrogate (not Unicode)"
    return None


def refusal(value: object, expected: str) -> str:
    """Why ``value`` is not ``expected`` (``"an integer"``...): the rule it breaks (an
    integer out of range, a lone surrogate), or ``expected ..., got ...``."""
    return value_problem(value) or f"expected {expected}, got {shown(value)}"


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # paired, it decodes to one character


# ----------------------------------------------------------------------------- files


def read_file(path: Path, complain: Complain, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit``.

    A FIFO is opened without waiting for a writer and refused, like a device or a
    directory; a file over ``limit`` is refused before it is read. Every problem is
    ``complain("<file>", ...)``.
    """
    data = _read_regular(path, complain, limit)
    if len(data) > limit:
        raise complain("<file>", f"over {limit} bytes; the limit is {limit}")
    return data


def holds(path: Path, data: bytes, complain: Complain) -> bool:
    """Whether the regular file at ``path`` holds exactly ``data``, reading at most one
    byte more than ``data`` (a file that is not regular is refused)."""
    return _read_regular(path, complain, len(data), refuse_larger=False) == data


def _read_regular(
    path: Path, complain: Complain, limit: int, *, refuse_larger: bool = True
) -> bytes:
    """At most ``limit + 1`` bytes of the regular file at ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise complain("<file>", f"cannot read: {_why(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise complain("<file>", f"not a regular file ({_kind(info.st_mode)})")
        if refuse_larger and info.st_size > limit:
            raise complain("<file>", f"{info.st_size} bytes; the limit is {limit}")
        with os.fdopen(fd, "rb") as handle:
            fd = -1  # the handle closes it
            return handle.read(limit + 1)  # the file may have grown since
    except OSError as exc:
        raise complain("<file>", f"cannot read: {_why(exc)}") from None
    finally:
        if fd >= 0:
            os.close(fd)


def naming(path: Path) -> Complain:
    """A problem with the file at ``path`` as a plain :class:`OrderFsmError` naming it
    (for the files a command compares or writes, not reads as data)."""

    def error(where: str, problem: str) -> OrderFsmError:  # where: always <file> here
        return OrderFsmError(f"{path}: {problem}")

    return error


def shipped_text(name: str) -> str:
    """The text of the package data file ``orderfsm/data/NAME``, read like any file
    (:func:`read_file`); :class:`~orderfsm.errors.TableError` naming it otherwise."""
    from importlib import resources  # noqa: PLC0415 - only when package data is read

    file = f"orderfsm/data/{name}"

    def complain(where: str, problem: str) -> OrderFsmError:
        return TableError(file, where, problem)

    with resources.as_file(resources.files("orderfsm").joinpath("data", *name.split("/"))) as path:
        return utf8(read_file(path, complain), complain)


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a file")


def _why(exc: Exception) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def utf8(raw: bytes, complain: Complain, where: str = "<file>") -> str:
    """``raw`` decoded as UTF-8 (a byte-order mark skipped)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise complain(where, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


# ----------------------------------------------------------------------------- JSON


def load_json(text: str, complain: Complain, where: str = "$") -> object:
    """Decode JSON ``text`` within the rules; problems are named below ``where``.

    Nesting beyond :data:`MAX_NESTING` is refused before the decoder can recurse into it,
    and a key an object repeats is refused (the decoder would keep one value silently):
    the decoder stops at the first object that repeats one, and the error names it. A
    small text that keeps every rule is decoded by msgspec (:func:`decoded_json`); any
    other is measured by C-level passes first (:func:`_small_text_decoder`); a
    large one is scanned first
    (:func:`_key_counts`: the depth and each object's number of keys), so the decoder
    builds no list of pairs and refusing it costs no more memory than the objects before
    the repeated key. Integers are checked as they are read; a lone surrogate is named
    by a walk of the result, only when the text can hold one.
    """
    value = decoded_json(text)
    if value is not NOT_DECODED:
        return value
    return _checked_json(text, complain, where)


def _checked_json(text: str, complain: Complain, where: str) -> object:
    """:func:`load_json` without msgspec: what names every problem."""
    decode: Callable[[str], object]
    if len(text) > _SMALL_TEXT:
        counted = _Counted(_key_counts(text, complain, where))
        decode = json.JSONDecoder(
            object_hook=counted, parse_int=_integer, parse_constant=_not_a_number
        ).decode
    else:
        decode = _small_text_decoder(text, complain, where)
    try:
        value = decode(text)
    except _Repeated:
        path, key = _repeated_key(text, where)
        raise complain(key_path(path, key), "the key appears more than once") from None
    except _OutOfRange as exc:
        raise complain(where, f"the integer {exc.digits} is outside the 64-bit range") from None
    except json.JSONDecodeError as e:
        raise complain(
            where, f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    except (ValueError, RecursionError) as e:
        raise complain(where, f"malformed JSON: {e}") from None
    if _may_hold_a_surrogate(text):
        check_tree(value, complain, root=where)  # rare: name the string that holds one
    return value


NOT_DECODED: Any = object()
"""What :func:`decoded_json` returns for a text it leaves to :func:`load_json`."""


def decoded_json(data: str | bytes) -> object:
    """The value of the small JSON text ``data`` (at most :data:`_SMALL_TEXT` long, str
    or UTF-8 bytes) when it plainly keeps every rule, decoded in C by msgspec; else
    :data:`NOT_DECODED`, and :func:`load_json` decodes it (and names what it breaks).

    msgspec refuses what :func:`load_json` refuses of a small text (malformed JSON,
    invalid UTF-8, a lone surrogate, ``NaN``), and some it accepts (a float out of
    range, a byte-order mark): those are all left to it. What msgspec does not check is
    checked here: a key an object repeats (msgspec keeps the last value) by the colons,
    in C (:func:`_same_colons`); the depth and the integers outside 64 bits by a walk
    of the result a level at a time (:func:`_within_limits`), only when the text has
    more brackets than :data:`MAX_NESTING` or 19 digits in a row (a text breaking
    either is left to :func:`load_json`). ``tests/test_bounded.py`` holds that both paths accept and
    refuse alike, with the same value."""
    if len(data) > _SMALL_TEXT:
        return NOT_DECODED
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError:  # a lone surrogate
        return NOT_DECODED
    if _ESCAPED_COLON in raw:
        return NOT_DECODED
    walk = raw.count(b"{") + raw.count(b"[") > MAX_NESTING or _LONG_DIGITS in raw.translate(_DIGITS)
    decode, encode = _msgspec()
    try:
        value = decode(raw)  # msgspec's own limit stops a deep text short of the stack
    except (ValueError, RecursionError):  # msgspec's DecodeError and ValidationError
        return NOT_DECODED
    if walk and not _within_limits(value):
        return NOT_DECODED
    if not _same_colons(raw, encode(value)):
        return NOT_DECODED
    return value


def _within_limits(value: object) -> bool:
    """Whether decoded JSON ``value`` nests at most :data:`MAX_NESTING` deep and holds
    no integer outside 64 bits: its containers a level at a time (needed only for a text
    with more brackets than that, or with 19 digits in a row)."""
    if value.__class__ is not dict and value.__class__ is not list:
        return value.__class__ is not int or value in INTEGERS
    level = [value]
    for _ in range(MAX_NESTING):
        deeper = []
        for container in level:
            for item in container.values() if container.__class__ is dict else container:
                kind = item.__class__
                if kind is dict or kind is list:
                    deeper.append(item)
                elif kind is int and item not in INTEGERS:
                    return False
        if not deeper:
            return True
        level = deeper
    return False


_ESCAPED_COLON = b"\\u003"
"""The start of JSON's escape of a colon (``\\u003a``), and of nothing else that matters."""

_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
"""Every digit spelled ``0``, every other byte a space: a run of 19 digits anywhere in
the text, strings included, shows as :data:`_LONG_DIGITS` (then the exact pass runs)."""


def _same_colons(raw: bytes, compact: bytes) -> bool:
    """Whether the JSON text ``raw`` (holding no escaped colon) gives each object's keys
    once, ``compact`` being msgspec's encoding of what it decoded. A colon is either
    structural (one per key) or inside a string, and msgspec writes every colon as it
    is: the two counts are equal, unless the decoder dropped an entry (a repeated key,
    whose colon and whatever its value held are gone)."""
    return raw.count(b":") == compact.count(b":")


def _msgspec() -> tuple[Callable[[bytes], object], Callable[[object], bytes]]:
    """msgspec's JSON decoder and encoder, built on first use (``import orderfsm`` stays
    light)."""
    if not _MSGSPEC:
        import msgspec  # noqa: PLC0415

        _MSGSPEC.append((msgspec.json.Decoder().decode, msgspec.json.Encoder().encode))
    return _MSGSPEC[0]


_MSGSPEC: list[tuple[Callable[[bytes], object], Callable[[object], bytes]]] = []


def _small_text_decoder(text: str, complain: Complain, where: str) -> Callable[[str], object]:
    """How to decode a small ``text``, after C-level passes over a copy of it
    (:func:`_structure`): its depth is checked (scanned only when it has enough brackets
    to nest too deep and the passes cannot tell), integers are checked only when it has
    19 digits in a row, and the decoder counts the keys of the objects it builds: fewer
    than the text gives means a key repeats, and the text is decoded again with each
    object's pairs in hand, which stops at the first object that repeats one."""
    raw = text.encode("utf-8", "surrogatepass")
    marks = _structure(raw)
    if marks.count(b"{") > MAX_NESTING and not _shallow(marks):
        _key_counts(text, complain, where)
    long_digits = _LONG_DIGITS in marks  # else every integer fits
    keys = marks.count(b":")

    def decode(same_text: str) -> object:
        decoder, count = _counting_decoder(long_digits)
        value = decoder.decode(same_text)
        if count.keys != keys:
            return (_CHECKING_INTEGERS if long_digits else _DECODER).decode(same_text)
        return value

    return decode


def _may_hold_a_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate or JSON's escape of one (then
    :func:`check_tree` names the string); found by C-level passes where they can."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return _SURROGATE_ESCAPE.search(text) is not None  # a literal prefix: a fast search


_SMALL_TEXT = 64 * 1024
"""Up to this size a text is measured by C-level passes over a copy of it
(:func:`_small_text_decoder`); a larger one is scanned, so refusing a repeated key costs
no more memory than the objects before it."""


_LONG_DIGITS = b"0" * 19
"""19 digits in a row (:func:`_structure` spells each ``0``): the shortest run that can
spell an integer outside 64 bits."""

_STRUCTURAL = bytes.maketrans(b"[]0123456789", b"{}" + b"0" * 10)
_NOT_STRUCTURAL = bytes(set(range(256)) - set(b'"{}[]:,0123456789'))
_NOT_ESCAPED = bytes(set(range(256)) - set(b'"{}[]:,0123456789\\/bfnrtu'))
"""What :func:`_structure` drops before it reads escapes: whatever it keeps in the end,
a backslash and the letters that can follow one stay (so each escape stays two long)."""


def _structure(raw: bytes) -> bytes:
    """The brackets (``[]`` spelled ``{}``), colons, commas and digits (each spelled
    ``0``) of the JSON text ``raw`` that lie outside strings, in order, found by C-level
    passes (no Python step per character); exact for valid JSON (the decoder refuses the
    rest). In valid JSON each colon ends a key, so there are as many as the text gives
    keys; the commas keep two numbers' digits apart.

    Escaped backslashes and quotes are dropped (after what can neither be kept nor be
    part of an escape's first two characters), then everything but quotes and what is
    kept; adjacent quotes are dropped in pairs (an empty string, or two strings with
    nothing kept between them: either way the quotes keep their parity), so what lies
    between the quotes left is string content, split away."""
    if b"\\" in raw:  # escapes: on the structure and each escape's letter only
        raw = raw.translate(None, _NOT_ESCAPED)
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = raw.translate(_STRUCTURAL, _NOT_STRUCTURAL).replace(b'""', b"")
    return b"".join(marks.split(b'"')[::2]) if b'"' in marks else marks


def _shallow(marks: bytes) -> bool:
    """Whether the structure ``marks`` (:func:`_structure`) nests at most
    :data:`MAX_NESTING` deep: exactly when removing every innermost pair of brackets
    that many times removes them all. ``False`` also for unbalanced brackets."""
    marks = marks.translate(None, b":,0")
    for _ in range(MAX_NESTING):
        if not marks:
            return True
        marks = marks.replace(b"{}", b"")
    return not marks


class _KeyCount:
    """An ``object_hook`` counting the keys of the objects the decoder builds (a key an
    object repeats counts once)."""

    __slots__ = ("keys",)

    def __init__(self) -> None:
        self.keys = 0

    def __call__(self, obj: dict[str, object]) -> dict[str, object]:
        self.keys += len(obj)
        return obj


_PER_THREAD = threading.local()


def _counting_decoder(check_integers: bool) -> tuple[json.JSONDecoder, _KeyCount]:
    """This thread's decoder counting keys (built once: building one costs about a tenth
    of decoding a small body), its count reset."""
    decoders: dict[bool, tuple[json.JSONDecoder, _KeyCount]] | None = getattr(
        _PER_THREAD, "decoders", None
    )
    if decoders is None:
        decoders = _PER_THREAD.decoders = {}
    if check_integers not in decoders:
        count = _KeyCount()
        hooks: dict[str, Any] = {"parse_int": _integer} if check_integers else {}
        decoders[check_integers] = (
            json.JSONDecoder(object_hook=count, parse_constant=_not_a_number, **hooks),
            count,
        )
    decoder, count = decoders[check_integers]
    count.keys = 0
    return decoder, count


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """An object from the decoder's pairs; the decoder stops at the first (in closing
    order) that repeats a key."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Repeated
    return obj


class _Counted:
    """The decoder's objects as it closes them, each checked against the number of keys
    the text gave it (:func:`_key_counts`): the decoder stops at the first that repeats
    a key (merged, so it has fewer)."""

    def __init__(self, counts: Iterable[int]) -> None:
        self.expected = iter(counts)

    def __call__(self, obj: dict[str, object]) -> dict[str, object]:
        if len(obj) != next(self.expected, -1):
            raise _Repeated
        return obj


class _Repeated(Exception):
    """An object repeats a key (internal: never leaves this module)."""


class _OutOfRange(ValueError):
    def __init__(self, digits: str) -> None:
        self.digits = digits if len(digits) <= 24 else f"{digits[:20]}... ({len(digits)} digits)"


def _integer(digits: str) -> int:
    if len(digits) <= 18:  # always within 64 bits
        return int(digits)
    if len(digits) > 20 or int(digits) not in INTEGERS:
        raise _OutOfRange(digits)
    return int(digits)


def _not_a_number(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


# Built once: building a decoder costs about a tenth of decoding a small body.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_not_a_number)
_CHECKING_INTEGERS = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_int=_integer, parse_constant=_not_a_number
)


# Strings and whatever is not structure skipped inside the regex engine (possessive, so
# never rescanned), then one structural character: a bracket, a brace, a colon (outside
# strings, a colon ends a key), the quote of a string that never ends, or the end.
_STRUCTURE = re.compile(r'(?:"(?:[^"\\]++|\\.)*+"|[^"{}\[\]:]++)*+(.|\Z)', re.DOTALL)
_ARRAY = -1


def _key_counts(text: str, complain: Complain, where: str) -> array[int]:
    """How many keys the text gives each object, in the order the objects close (the
    order the decoder finishes them); refuses nesting beyond :data:`MAX_NESTING`. The
    scan stops where the text stops being JSON (the decoder then says where)."""
    counts = array("L")
    open_containers: list[int] = []  # an object's keys so far, or _ARRAY
    for match in _STRUCTURE.finditer(text):
        char = match.group(1)
        if char == ":" and open_containers and open_containers[-1] != _ARRAY:
            open_containers[-1] += 1
        elif char in ("{", "["):
            open_containers.append(0 if char == "{" else _ARRAY)
            if len(open_containers) > MAX_NESTING:
                raise complain(where, f"nesting deeper than {MAX_NESTING} levels")
        elif char in ("}", "]") and open_containers:
            keys = open_containers.pop()
            if char == "}":
                counts.append(keys if keys != _ARRAY else 0)
        else:  # the end, an unterminated string, or text that is not JSON
            break
    return counts


_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[{}\[\],:]', re.DOTALL)


def _repeated_key(text: str, root: str) -> tuple[str, str]:
    """The path of the first object to close in JSON ``text`` (valid up to there) that
    repeats a key (where the decoder stopped), and the first key it repeats. Run only to
    name the error: a walk of the tokens that keeps the path of the open containers and
    each open object's keys until one repeats."""
    stack: list[_Open] = []
    for token in _TOKENS.finditer(text):
        tok = token.group()
        if tok in ("{", "["):
            stack.append(_Open(set() if tok == "{" else None))
        elif tok in ("}", "]"):
            container = stack.pop()
            if tok == "}" and container.repeated is not None:
                return _open_path(root, stack), container.repeated
        elif tok == ",":
            stack[-1].next_entry()
        elif tok != ":" and stack[-1].expects_key:
            stack[-1].key(json.loads(tok))
    raise AssertionError("the decoder refused an object the text does not hold")


class _Open:
    """An open container of :func:`_repeated_key`'s walk: where it is now, and for an
    object the keys it gave until one repeated."""

    def __init__(self, keys: set[str] | None) -> None:
        self.keys = keys  # None for an array
        self.at: str | int = 0
        self.expects_key = keys is not None
        self.repeated: str | None = None

    def next_entry(self) -> None:
        if self.keys is None:
            self.at = int(self.at) + 1
        else:
            self.expects_key = True

    def key(self, key: str) -> None:
        assert self.keys is not None
        self.at, self.expects_key = key, False
        if self.repeated is None:
            if key in self.keys:
                self.repeated, self.keys = key, set()  # found: the keys are not needed
            else:
                self.keys.add(key)


def _open_path(root: str, stack: list[_Open]) -> str:
    path = root
    for container in stack:
        path = (
            key_path(path, container.at)
            if container.keys is not None
            else f"{path}[{container.at}]"
        )
    return path


def key_path(path: str, key: object) -> str:
    """``path.key``, or ``path['key']`` for a key that is not an identifier."""
    if isinstance(key, str) and key.isascii() and key.isidentifier():  # [A-Za-z_]\w*
        return f"{path}.{key}"
    return f"{path}[{shown(key)}]"


# ----------------------------------------------------------------------------- TOML


def load_toml(text: str, complain: Complain) -> dict[str, Any]:
    """Decode TOML ``text`` and check it like any decoded data (:func:`check_tree`)."""
    import tomllib  # noqa: PLC0415 - only when a TOML file is read

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise complain("<file>", f"not valid TOML: {exc}") from None
    except ValueError:  # an integer too long for Python to convert
        raise complain("<file>", "an integer outside the 64-bit range") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise complain("<file>", f"nesting deeper than {MAX_NESTING} levels") from None
    check_tree(data, complain, root="")
    return data


# ----------------------------------------------------------------------------- trees

_JSON_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_UNCHECKED: frozenset[type] = frozenset({float, bool, type(None)})

# (value, depth, parent entry, key or index in the parent): a path is spelled out only
# for an error.
_Entry = tuple[object, int, "_Entry | None", object]


def check_tree(
    data: object, complain: Complain, *, root: str = "$", json_only: bool = False
) -> None:
    """Check decoded data against the rules: string keys, nesting at most
    :data:`MAX_NESTING`, integers in range, no lone surrogate in a key or a string; with
    ``json_only`` every value a JSON value (mappings, lists, tuples, str, int, float,
    bool, None). Walked without recursion and linear in the size of ``data``: a
    container several places share is walked again only when met deeper than before,
    and a container of plain scalars is checked in C-level passes."""
    stack: list[_Entry] = [(data, 1, None, None)]
    deepest: dict[int, int] = {}  # id of a walked container -> the deepest depth met at
    while stack:
        entry = stack.pop()
        value, depth = entry[0], entry[1]
        kind = value.__class__
        if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
            mapping = cast("Mapping[object, object]", value)  # no second (abc) check
            keys: Collection[object] = mapping.keys()
            values: Collection[object] = mapping.values()
        elif kind is list or kind is tuple or isinstance(value, list | tuple):
            assert isinstance(value, list | tuple)
            keys, values = (), value
        else:
            _check_leaf(value, entry, complain, root, json_only)
            continue
        if depth > MAX_NESTING:
            raise complain(_path(entry, root), f"nesting deeper than {MAX_NESTING} levels")
        if deepest.get(id(value), 0) >= depth:
            continue
        deepest[id(value)] = depth
        if keys and not _plain_keys(keys):
            _check_keys(keys, entry, complain, root)
        if len(values) > _SMALL_CONTAINER and plain_scalars(values):
            continue
        pairs = value.items() if keys else enumerate(values)  # type: ignore[attr-defined]
        stack.extend(_unchecked(pairs, depth, entry))


_SMALL_CONTAINER = 16
"""Up to this many values a container's scalars are looked at one by one; beyond, first
in C-level passes (:func:`plain_scalars`)."""


def _unchecked(
    items: Iterable[tuple[object, object]], depth: int, parent: _Entry
) -> Iterator[_Entry]:
    """The entries of ``items`` still to check: containers, and scalars that are not
    plainly within the rules (a plain text, integer, float, bool or None is passed)."""
    for key, item in items:
        kind = item.__class__
        if kind is str:
            if item.isascii():  # type: ignore[attr-defined]
                continue
        elif kind is int:
            if item in INTEGERS:
                continue
        elif kind in _UNCHECKED:
            continue
        yield (item, depth + 1, parent, key)


def plain_scalars(values: Collection[Any]) -> bool:
    """Whether ``values`` are scalars that keep the rules, decided in C-level passes
    (texts joined and looked at once; floats, bools and None; integers in range),
    without a look at each."""
    try:
        joined = "".join(values)
    except TypeError:  # not all texts: stopped at the first other value
        kinds = set(map(type, values))
        if kinds <= _UNCHECKED:
            return True
        return kinds == {int} and min(values) in INTEGERS and max(values) in INTEGERS
    return joined.isascii() or _SURROGATE.search(joined) is None


def _plain_keys(keys: Collection[object]) -> bool:
    try:
        joined = "".join(keys)  # type: ignore[arg-type]
    except TypeError:  # a key that is not a string
        return False
    return joined.isascii() or _SURROGATE.search(joined) is None


def _check_keys(keys: Collection[object], entry: _Entry, complain: Complain, root: str) -> None:
    for key in keys:
        if not isinstance(key, str):
            raise complain(_path(entry, root), f"key {shown(key)} is not a string")
        if not is_text(key):
            raise complain(_path(entry, root), f"key {shown(key)} is not Unicode text")


def _check_leaf(
    value: object, entry: _Entry, complain: Complain, root: str, json_only: bool
) -> None:
    if (
        json_only
        and value.__class__ not in _JSON_SCALARS
        and not isinstance(value, str | int | float)
    ):
        raise complain(_path(entry, root), f"{type(value).__name__} is not a JSON value")
    problem = value_problem(value)
    if problem is not None:
        raise complain(_path(entry, root), problem)


def _path(entry: _Entry, root: str) -> str:
    """``root.states[3].provenance`` for an entry of :func:`check_tree`'s walk."""
    keys: list[object] = []
    current: _Entry | None = entry
    while current is not None and current[2] is not None:
        keys.append(current[3])
        current = current[2]
    path = root
    for key in reversed(keys):
        path = f"{path}[{key}]" if isinstance(key, int) else key_path(path, key)
    return path
