"""No NUL character leaves the tap: U+0000 in any string of any message becomes U+FFFD.

Why: monday.com text can hold U+0000 (pasted binary, values written through the API), and PostgreSQL
stores it nowhere: a ``text`` value cannot contain the NUL byte, and ``jsonb`` rejects the ``\\u0000``
escape ("unsupported Unicode escape sequence"; PostgreSQL docs, "JSON Types"). target-postgres's own
``sanitize_null_text_characters`` replaces it in root-level strings only, so a NUL inside
``column_values`` failed the whole load, and it walks every column of every row to do so (~6 % of the
target's CPU). Replacing it here, once and at any depth, fixes both: the target's pass is switched off
(meltano.yml) and every other Singer target gets the same guarantee. U+FFFD is what that setting (and
Unicode, for an unrepresentable character) uses.

The check is one search of the encoded line (msgspec writes U+0000 as ``\\u0000``); only a line that
contains it is encoded again from a copy without the character. Text that spells a backslash followed by
``u0000`` (JSON ``\\\\u0000``) matches the search too, and is encoded again unchanged.
"""

from __future__ import annotations

from typing import Any

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib import Message

from tap_monday_boards.output import OUTPUT

NUL = "\x00"
REPLACEMENT = "\ufffd"
NUL_ESCAPE = b"\\u0000"
"""How a JSON encoder writes U+0000 (the only form JSON allows for it)."""


def holds_nul(line: bytes | bytearray) -> bool:
    """Whether an encoded line holds U+0000 (as :data:`NUL_ESCAPE`): the one check of every line the tap
    writes.

    A line with no backslash holds no escape at all, so that is looked for first: finding one byte
    (``memchr``) costs ~0.3 us per 3 KB record line, finding the six-byte escape ~1.8 us; a line with a
    backslash (a quote or a newline in a text) is searched for the escape itself.
    """
    return b"\\" in line and NUL_ESCAPE in line


def without_nul(value: Any) -> Any:
    """``value`` with U+0000 replaced by U+FFFD in every string, keys included (a copy where it differs;
    a msgspec struct becomes the builtins it encodes to)."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    if isinstance(value, msgspec.Struct):  # a record's column entry may be a struct: as it would encode
        return without_nul(msgspec.to_builtins(value))
    if isinstance(value, msgspec.Raw):  # a record's column entries, encoded already (prepared.py)
        return without_nul(msgspec.json.decode(value))
    return value


class NulFreeWriter(MsgSpecWriter):
    """The SDK's msgspec writer, whose lines never contain U+0000 (the tap's ``message_writer_class``).

    The tap's own record paths (records.py) encode with the same encoder and apply the same check, so every
    line the tap writes goes through :func:`holds_nul` once; every line, theirs and this writer's, reaches
    stdout through ``output.OUTPUT``.
    """

    def write_message(self, message: Message) -> None:
        """The SDK's line, through the tap's one stdout writer (output.py): after the RECORD lines that wait
        there, then flushed, as the SDK flushes every message."""
        OUTPUT.write_line(self.format_message(message))

    def serialize_message(self, message: Message) -> bytearray:
        """The SDK's line, or the line of a copy without U+0000 when the message holds one."""
        line = super().serialize_message(message)
        if holds_nul(line):
            return serialize_jsonl(without_nul(message.to_dict()))
        return line
