"""Table tests: every body shape the emulator sends, per API version."""

from __future__ import annotations

import json
from typing import Any

import pytest
from monday_emulator import envelopes as env
from monday_emulator.data import Store

RID = "11111111-2222-4333-8444-555555555555"
ACC = 123


@pytest.mark.parametrize(
    ("header", "lifecycle", "strict", "served", "error"),
    [
        pytest.param(None, False, False, "2026-10", None, id="missing-is-current"),
        pytest.param(None, False, True, "2026-10", "API_VERSION_REQUIRED", id="missing-strict"),
        pytest.param("current", False, False, "2026-10", None, id="alias-current"),
        pytest.param("dev", False, False, "2027-01", None, id="alias-dev"),
        pytest.param("2025-07", False, False, "2025-07", None, id="known"),
        pytest.param("2024-02", False, False, "2026-10", None, id="wellformed-unknown-is-current"),
        pytest.param("2023", False, False, "2026-10", "InvalidVersionException", id="malformed"),
        pytest.param("2024-07", False, False, "2024-07", None, id="deprecated-served-as-asked"),
        pytest.param("2024-07", True, False, "2026-07", None, id="deprecated-lifecycle-maintenance"),
        pytest.param("2025-04", True, False, "2025-04", None, id="maintained-lifecycle"),
    ],
)
def test_route_version(
    header: str | None, lifecycle: bool, strict: bool, served: str, error: str | None
) -> None:
    route = env.route_version(header, lifecycle=lifecycle, require_header=strict)
    assert route.served == served
    assert route.error_code == error
    if error == "API_VERSION_REQUIRED":
        assert route.http_status == 400


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param("2024-07", {"data": {"a": 1}, "account_id": ACC}, id="legacy"),
        pytest.param(
            "2024-10",
            {"data": {"a": 1}, "account_id": ACC, "extensions": {"request_id": RID}},
            id="transition",
        ),
        pytest.param("2025-01", {"data": {"a": 1}, "extensions": {"request_id": RID}}, id="2025"),
    ],
)
def test_success_body(version: str, expected: dict[str, Any]) -> None:
    reply = env.success_body(version, {"a": 1}, [], RID, ACC)
    assert (reply.status, reply.body) == (200, expected)


CURSOR_ERROR = {
    "message": "CursorExpiredError: expired",
    "extensions": {"code": "CursorException", "status_code": 200},
}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param(
            "2024-07",
            {
                "error_message": "CursorExpiredError: expired",
                "error_code": "CursorException",
                "error_data": {},
                "status_code": 200,
                "account_id": ACC,
            },
            id="legacy",
        ),
        pytest.param(
            "2024-10",
            {
                "error_message": "CursorExpiredError: expired",
                "error_code": "CursorException",
                "error_data": {},
                "status_code": 200,
                "data": {"x": None},
                "errors": [CURSOR_ERROR],
                "account_id": ACC,
                "extensions": {"request_id": RID},
            },
            id="transition-both",
        ),
        pytest.param(
            "2025-07",
            {"data": {"x": None}, "errors": [CURSOR_ERROR], "extensions": {"request_id": RID}},
            id="graphql-only",
        ),
    ],
)
def test_executor_error_wrapped_per_version(version: str, expected: dict[str, Any]) -> None:
    reply = env.success_body(version, {"x": None}, [CURSOR_ERROR], RID, ACC)
    assert reply.status == 200
    assert reply.body == expected


def test_legacy_budget_message_carries_reset_seconds() -> None:
    reply = env.limit_error(
        "2024-07",
        env.COMPLEXITY_BUDGET_EXHAUSTED,
        3,
        RID,
        ACC,
        cost=30001,
        budget_left=19986,
        budget_limit=1_000_000,
    )
    message = (
        "Complexity budget exhausted, query cost 30001 budget remaining 19986 out of 1000000 "
        "reset in 3 seconds"
    )
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "3"
    assert reply.body == {
        "error_code": "ComplexityException",
        "status_code": 429,
        "error_message": message,
        "error_data": {},
        "errors": [message],
        "account_id": ACC,
    }


def test_2025_04_budget_has_complexity_fields_and_http_200() -> None:
    reply = env.limit_error(
        "2025-04",
        env.COMPLEXITY_BUDGET_EXHAUSTED,
        60,
        RID,
        ACC,
        cost=6182,
        budget_left=100,
        budget_limit=5_000_000,
    )
    assert reply.status == 200
    assert reply.body == {
        "errors": [
            {
                "message": "Complexity budget exhausted",
                "extensions": {
                    "code": "COMPLEXITY_BUDGET_EXHAUSTED",
                    "complexity": 6182,
                    "complexity_budget_left": 100,
                    "complexity_budget_limit": 5_000_000,
                    "retry_in_seconds": 60,
                    "status_code": 429,
                },
            }
        ],
        "extensions": {"request_id": RID},
    }


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (env.COMPLEXITY_BUDGET_EXHAUSTED, "Complexity budget exhausted"),
        (env.MINUTE_RATE_LIMIT_EXCEEDED, "Minute rate limit exceeded"),
        (env.MAX_CONCURRENCY_EXCEEDED, "Too many concurrent requests"),
        (env.DAILY_LIMIT_EXCEEDED, "Daily limit exceeded"),
        (env.IP_RATE_LIMIT_EXCEEDED, "IP rate limit exceeded"),
    ],
)
def test_2025_07_limit_shapes(code: str, message: str) -> None:
    reply = env.limit_error("2025-07", code, 22, RID, ACC, cost=5, budget_left=1, budget_limit=10)
    assert reply.status == 429
    assert reply.headers == {"Retry-After": "22"}
    assert reply.body == {
        "errors": [{"message": message, "extensions": {"code": code, "retry_in_seconds": 22}}],
        "extensions": {"request_id": RID},
    }


def test_transition_rate_limit_has_legacy_fields_and_errors_array() -> None:
    reply = env.limit_error("2024-10", env.MINUTE_RATE_LIMIT_EXCEEDED, 30, RID, ACC)
    assert reply.status == 429
    assert reply.body["error_code"] == env.MINUTE_RATE_LIMIT_EXCEEDED
    assert reply.body["error_data"] == {"retry_in_seconds": 30}
    assert reply.body["errors"][0]["extensions"]["code"] == env.MINUTE_RATE_LIMIT_EXCEEDED
    assert reply.body["extensions"] == {"request_id": RID}
    assert reply.body["account_id"] == ACC


def test_per_query_cap_is_application_error_without_retry() -> None:
    reply = env.limit_error(
        "2026-10", env.COMPLEXITY_EXCEPTION, 0, RID, ACC, cost=6_000_000, budget_limit=5_000_000
    )
    assert reply.status == 200
    assert "Retry-After" not in reply.headers
    error = reply.body["errors"][0]
    assert error["extensions"]["code"] == "ComplexityException"
    assert "6000000" in error["message"]
    assert "retry_in_seconds" not in error["extensions"]


@pytest.mark.parametrize(
    ("version", "body"),
    [
        ("2024-07", {"errors": ["Not Authenticated"]}),
        ("2024-10", {"errors": ["Not Authenticated"]}),
        (
            "2025-01",
            {"errors": [{"message": "Not authenticated", "extensions": {"code": "NOT_AUTHENTICATED"}}]},
        ),
    ],
)
def test_auth_error(version: str, body: dict[str, Any]) -> None:
    reply = env.auth_error(version)
    assert (reply.status, reply.body) == (401, body)


def test_internal_error_by_version() -> None:
    assert env.internal_error("2024-10", RID).status == 500
    modern = env.internal_error("2025-07", RID)
    assert modern.status == 200
    assert modern.body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_validation_error_uses_double_quotes() -> None:
    errors = [
        {"message": "Cannot query field 'nope' on type 'Board'.", "locations": [{"line": 1, "column": 3}]}
    ]
    reply = env.validation_error_body("2025-07", errors, RID, ACC)
    assert reply.body["errors"][0]["message"] == 'Cannot query field "nope" on type "Board".'
    assert reply.body["errors"][0]["locations"] == [{"line": 1, "column": 3}]
    assert errors[0]["message"].startswith("Cannot query field 'nope'")  # input untouched


def test_partial_too_many_requests_nulls_a_copy() -> None:
    data = {"complexity": {"query": 1}, "items": [{"id": "1", "column_values": [{"id": "c"}]}, {"id": "2"}]}
    reply = env.too_many_requests_partial("2026-10", data, RID, ACC)
    assert reply.status == 200
    assert reply.body["data"]["items"][0] == {"id": "1", "column_values": None}
    assert reply.body["data"]["items"][1] == {"id": "2"}
    assert reply.body["errors"][0]["path"] == ["items", 0, "column_values"]
    assert reply.body["errors"][0]["extensions"]["code"] == "tooManyRequests"
    assert data["items"][0]["column_values"] == [{"id": "c"}]  # original not mutated


def test_field_limit_exceeded_legacy_shape() -> None:
    reply = env.field_limit_exceeded(ACC, 15)
    assert reply.status == 429
    assert reply.body == {
        "error_message": "Concurrency limit exceeded for the field",
        "error_code": "FIELD_LIMIT_EXCEEDED",
        "error_data": {"retry_in_seconds": 15, "entity": "boards"},
        "status_code": 429,
        "account_id": ACC,
    }


def test_reply_encode_is_compact_json() -> None:
    assert env.Reply(200, {"a": [1, 2]}).encode() == b'{"a":[1,2]}'
    assert env.Reply(429, "").encode() == b""


def test_reply_bytes_are_exactly_what_json_dumps_writes() -> None:
    """msgspec encodes replies (cheaper); the bytes stay json.dumps' compact UTF-8 (but never NaN)."""
    def dumps(body: object) -> bytes:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()

    store = Store(seed=3, boards=1, items_per_board=120)
    board = store.board_ids()[0]
    items = [store.render_item(i) for i in store.item_ids(board, "all")]
    bodies: list[object] = [
        {"data": {"items": items, "complexity": {"query": 1}}, "account_id": 7},
        {"data": {"x": [1.5, -0.0, 2**60, "é\u2028\x01\"\\/"]}},
        {"errors": [{"message": "m", "extensions": {"code": "X"}}], "value": 0.1},
    ]
    for body in bodies:
        assert env.Reply(200, body).encode() == dumps(body)
    assert env.Reply(200, {"a": float("nan"), "b": [float("inf")]}).encode() == b'{"a":null,"b":[null]}'
    assert env.Reply(200, b"{truncated").encode() == b"{truncated"
