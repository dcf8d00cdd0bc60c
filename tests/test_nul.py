"""No U+0000 leaves the tap (tap_monday_boards/nul.py): the writer the SDK's own streams use.

The engine streams' record paths are covered end to end by tests/reliability/test_bad_data.py (an item
whose name and column values hold NUL characters, synced from the emulator).
"""

from __future__ import annotations

import json

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, SchemaMessage

from tap_monday_boards.nul import NulFreeWriter, without_nul


def test_without_nul_replaces_at_any_depth_keys_included() -> None:
    value = {"a\x00": ["x\x00y", {"deep": "\x00"}, 1, None, 2.5, True], "ok": "plain"}
    want = {"a\ufffd": ["x\ufffdy", {"deep": "\ufffd"}, 1, None, 2.5, True], "ok": "plain"}
    assert without_nul(value) == want
    assert without_nul(("t\x00",)) == ["t\ufffd"]


def test_without_nul_leaves_other_values_alone() -> None:
    text = "no nul here: \\u0000 is only a backslash and five characters"
    assert without_nul(text) is text
    assert without_nul(7) == 7


def test_writer_replaces_nul_in_records() -> None:
    message = RecordMessage(stream="updates", record={"id": "1", "body": "a\x00b", "nested": {"t": ["\x00"]}})
    line = bytes(NulFreeWriter().serialize_message(message))
    assert b"\\u0000" not in line
    assert json.loads(line)["record"] == {"id": "1", "body": "a\ufffdb", "nested": {"t": ["\ufffd"]}}


def test_writer_leaves_lines_without_nul_byte_identical() -> None:
    body = "backslash \\u0000 text"
    literal = RecordMessage(stream="updates", record={"id": "1", "body": body})
    schema = SchemaMessage(stream="updates", schema={"type": "object"}, key_properties=["id"])
    for message in (literal, schema):
        want = bytes(MsgSpecWriter().serialize_message(message))
        assert bytes(NulFreeWriter().serialize_message(message)) == want
    assert json.loads(bytes(NulFreeWriter().serialize_message(literal)))["record"]["body"] == body
