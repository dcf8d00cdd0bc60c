"""Naming rules for per-board streams and their properties (docs/board_streams.md).

Why these rules: board streams become PostgreSQL tables through target-postgres, which does not conform
names (``conform_name`` returns the name as-is) while PostgreSQL silently truncates identifiers to 63 bytes,
so two long titles could collide after the fact. Every name made here is therefore already ``[a-z0-9_]``,
starts with a letter, is at most 63 bytes *including* any suffix a column adds (``_from``, ``_address``),
and is unique within its board.

Titles are for humans and change; column ids are permanent. A property is named from the column title the
first time the column is seen and that name is then remembered (``previous``: taken from the input catalog,
see board_streams.py), so renaming a column on monday.com never renames the property. A column whose *type*
changed gets a new name (``<title>_<type>``) because target-postgres cannot alter a column's type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated silently."""

_EXTRA_LATIN = {
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ħ": "h",
    "\u0131": "i",  # dotless i
}  # fmt: skip
"""Latin letters that Unicode does not decompose into base letter + accent."""

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str | None:
    """``text`` as ``[a-z0-9_]`` words, or None when it holds non-Latin letters or nothing usable.

    Rule: Latin letters lose their accents (NFKD decomposition minus combining marks, plus a small table for
    letters like ``ß`` and ``ø``); any other letter (Cyrillic, Greek, Hebrew, Arabic, CJK, ...) makes the
    whole title unusable, because a partial transliteration would give misleading names and a full one for
    every script is out of scope. The caller then falls back to the column (or board) id. Runs of anything
    else (spaces, punctuation, symbols, emoji) become one ``_``.
    """
    folded = unicodedata.normalize("NFKD", text.casefold())
    chars: list[str] = []
    for char in folded:
        if unicodedata.combining(char):
            continue
        if char.isascii():
            chars.append(char)
        elif char in _EXTRA_LATIN:
            chars.append(_EXTRA_LATIN[char])
        elif char.isalpha() or unicodedata.category(char) == "Nd":
            return None  # a letter (or digit) of another script: no honest ASCII name
        else:
            chars.append(" ")
    words = _NON_WORD.sub("_", "".join(chars)).strip("_")
    return words or None


def truncate_bytes(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` bytes without a trailing ``_`` (names are ASCII, so bytes = characters)."""
    return name[: max(1, limit)].rstrip("_") or name[:1]


def identifier(name: str, limit: int = MAX_IDENTIFIER_BYTES) -> str:
    """A safe SQL identifier from a slug: starts with a letter, at most ``limit`` bytes.

    A leading digit gets ``c_`` (unquoted SQL identifiers cannot start with one). Slugs never start with
    ``_``, so no name can take the Singer metadata prefix ``_sdc_``.
    """
    if not name or not name[0].isalpha():
        name = f"c_{name}"
    return truncate_bytes(name, limit)


def stream_name(board_name: str, board_id: str) -> str:
    """``board_<name>_<id>`` (``board_<id>`` for non-Latin names), at most 63 bytes, stable per board.

    The id makes it unique and stable when two boards share a name; the name part is only a reading aid and
    is the part that is shortened. A renamed board gets a new stream (a new table): documented trade-off,
    because a stream name cannot be remembered across discoveries the way property names are.
    """
    tail = f"_{board_id}"
    words = slug(board_name)
    if not words:
        return f"board{tail}"
    head = truncate_bytes(f"board_{words}", MAX_IDENTIFIER_BYTES - len(tail))
    return f"{head}{tail}"


KNOWN_TYPES = frozenset(
    {
        "text", "long_text", "numbers", "status", "date", "timeline", "people", "dropdown", "checkbox",
        "email", "phone", "link", "location", "tags", "rating", "file", "mirror", "board_relation",
        "formula", "dependency", "subtasks",
    }
)  # fmt: skip
"""Column types whose name can open a column id (``numbers_mk1a2b3c``, ``status4``)."""

_ID_PREFIX = re.compile(r"^([a-z_]+?)(?:_mk[a-z0-9]+|_?\d+)?$")


def created_as(column_id: str, known_types: Iterable[str] = KNOWN_TYPES) -> str | None:
    """The column type a column id was minted for, when the id starts with a type name, else None.

    monday mints ids from the type at creation (``numbers_mk1a2b3c``, ``status4``) and keeps them when the
    type changes, so an id whose type prefix differs from the current type reveals a retyped column even
    when no earlier catalog is available. Ids of other shapes (``numeric_mk...``, ``person``) say nothing.
    """
    match = _ID_PREFIX.match(column_id)
    if match is None:
        return None
    prefix = match.group(1)
    return prefix if prefix in set(known_types) else None


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """What naming needs about one board column."""

    column_id: str
    title: str
    column_type: str
    suffixes: tuple[str, ...] = ("",)
    """Suffixes of the column's properties: ``("",)`` for one, ``("_from", "_to")`` for a timeline."""
    plain_text: bool = True
    """True when the column loads as one text property (text, status, email, mirror, ...)."""


def _base_limit(suffixes: Sequence[str]) -> int:
    return MAX_IDENTIFIER_BYTES - max((len(s) for s in suffixes), default=0)


def _candidates(column: ColumnRef, *, retyped: bool, by_id: bool = False) -> Iterable[str]:
    """Base names to try, best first: the title (unless ``by_id``), then the column id; ``_<type>`` appended
    when retyped."""
    limit = _base_limit(column.suffixes)
    tail = f"_{slug(column.column_type) or 'column'}" if retyped else ""
    firsts = () if by_id else (slug(column.title),)
    for words in (*firsts, slug(column.column_id) or "column"):
        if words:
            yield f"{identifier(words, limit - len(tail))}{tail}"


def _expand(base: str, suffixes: Sequence[str]) -> list[str]:
    return [f"{base}{s}" for s in suffixes]


def assign_names(
    columns: Sequence[ColumnRef],
    *,
    reserved: Iterable[str],
    previous: Mapping[tuple[str, str], str] | None = None,
    retired: Iterable[str] = (),
    by_id: bool = False,
) -> dict[tuple[str, str], str]:
    """(column id, type) -> base property name for every column, unique within the board.

    Args:
        columns: the board's columns in board order (earlier columns win a contested title).
        reserved: names that are never given to a column (the item fields: ``id``, ``name``, ...).
        previous: base names remembered from an earlier discovery, by (column id, type). They are kept as
            they are, whatever the column is called now, so a rename never renames a property.
        retired: property names from earlier discoveries whose column is gone or changed type: never reused,
            so an existing PostgreSQL column never receives values of another type.
        by_id: name properties from column ids instead of titles (``board_stream_names: column_id``): ids
            never change, so renames keep their property without any catalog memory.

    A column seen before under another type (same id in ``previous`` with a different type, or an id minted
    for another type, see :func:`created_as`), or a non-text column whose id does not say which type it was
    minted for, gets ``_<type>`` appended, so that a retype never changes a property's type, with or without
    catalog memory. A name
    already taken falls back to the column id, then to a numeric tail ``_2``, ``_3``...
    """
    remembered = dict(previous or {})
    taken: set[str] = set(reserved) | set(retired)
    result: dict[tuple[str, str], str] = {}
    for column in columns:  # remembered names first: they own their names whatever the board order
        key = (column.column_id, column.column_type)
        if key in remembered:
            result[key] = remembered[key]
            taken.update(_expand(remembered[key], column.suffixes))
    seen_ids = {column_id for column_id, _ in remembered}
    known_types = {column.column_type for column in columns} | set(KNOWN_TYPES)
    for column in columns:
        key = (column.column_id, column.column_type)
        if key in result:
            continue
        minted_for = created_as(column.column_id, known_types)
        # Tagged with its type: a column seen before under another type, one whose id was minted for another
        # type, and a non-text column whose id says nothing about its type (``person``, ``numeric_mk...``).
        # Without an earlier catalog (Meltano re-discovers without one) a later retype of such a column could
        # not be told apart and would give an existing PostgreSQL column values of another type; plain-text
        # columns need no tag, since every retype away from text lands on a tagged or suffixed name.
        retyped = (
            column.column_id in seen_ids
            or (minted_for is not None and minted_for != column.column_type)
            or (minted_for is None and not column.plain_text)
        )
        candidates = list(_candidates(column, retyped=retyped, by_id=by_id))
        chosen = next((c for c in candidates if not taken & set(_expand(c, column.suffixes))), None)
        if chosen is None:
            base = candidates[-1]  # the column id's name
            number = 2
            while True:
                tail = f"_{number}"
                chosen = f"{truncate_bytes(base, _base_limit(column.suffixes) - len(tail))}{tail}"
                if not taken & set(_expand(chosen, column.suffixes)):
                    break
                number += 1
        result[key] = chosen
        taken.update(_expand(chosen, column.suffixes))
    return result
