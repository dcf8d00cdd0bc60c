"""Table tests for errors.classify: every error envelope monday documents, across API versions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tap_monday_boards.errors import (
    AuthenticationAPIError,
    CursorExpiredAPIError,
    Decision,
    DecisionKind,
    MondayFatalAPIError,
    QueryTooComplexAPIError,
    RetryableAPIError,
    classify,
    error_for,
    redact,
    register_secret,
)

K = DecisionKind
RID = {"extensions": {"request_id": "req-1"}}


def _err(code: str | None, message: str = "m", **ext: Any) -> dict[str, Any]:
    extensions: dict[str, Any] = dict(ext)
    if code is not None:
        extensions["code"] = code
    return {"message": message, "extensions": extensions}


CASES: list[Any] = [
    pytest.param(200, {}, {"data": {"me": {"id": "1"}}, **RID}, K.OK, None, None, id="ok"),
    # complexity budget, three generations
    pytest.param(
        200,
        {},
        {
            "error_code": "ComplexityException",
            "status_code": 429,
            "error_message": "Complexity budget exhausted, query cost 30001 budget remaining 19986 out of "
            "1000000 reset in 3 seconds",
            "error_data": {},
            "errors": ["Complexity budget exhausted, query cost 30001 reset in 3 seconds"],
            "account_id": 1,
        },
        K.RETRY_AFTER,
        3.0,
        "ComplexityException",
        id="legacy-complexity-reset-in",
    ),
    pytest.param(
        200,
        {},
        {
            "error_code": "complexityBudgetExhausted",
            "status_code": 429,
            "errors": ["Complexity budget exhausted, query cost 222250 reset in 16 seconds"],
        },
        K.RETRY_AFTER,
        16.0,
        "complexityBudgetExhausted",
        id="legacy-complexity-camel",
    ),
    pytest.param(
        200,
        {},
        {
            "errors": [
                _err(
                    "COMPLEXITY_BUDGET_EXHAUSTED",
                    "Complexity budget exhausted",
                    complexity=6182,
                    complexity_budget_left=100,
                    retry_in_seconds=60,
                    status_code=429,
                )
            ]
        },
        K.RETRY_AFTER,
        60.0,
        "COMPLEXITY_BUDGET_EXHAUSTED",
        id="2025-01-complexity",
    ),
    pytest.param(
        429,
        {"Retry-After": "30"},
        {"errors": [_err("complexity_budget_exhausted", retry_in_seconds=22)], **RID},
        K.RETRY_AFTER,
        30.0,
        "complexity_budget_exhausted",
        id="2025-07-complexity-lowercase-header-wins",
    ),
    pytest.param(
        429,
        {},
        {"errors": [_err("MINUTE_RATE_LIMIT_EXCEEDED", retry_in_seconds=58)], **RID},
        K.RETRY_AFTER,
        58.0,
        "MINUTE_RATE_LIMIT_EXCEEDED",
        id="minute-rate",
    ),
    pytest.param(
        429,
        {},
        {"errors": [_err("MAX_CONCURRENCY_EXCEEDED", retry_in_seconds=15)]},
        K.RETRY_AFTER,
        15.0,
        "MAX_CONCURRENCY_EXCEEDED",
        id="concurrency",
    ),
    pytest.param(
        200,
        {},
        {"errors": [_err("maxConcurrencyExceeded")]},
        K.RETRY_AFTER,
        None,
        "maxConcurrencyExceeded",
        id="docs-camel-concurrency-no-hint",
    ),
    pytest.param(
        200,
        {},
        {
            "error_message": "Concurrency limit exceeded for the field",
            "error_code": "FIELD_LIMIT_EXCEEDED",
            "error_data": {"retry_in_seconds": 15, "entity": "boards"},
            "status_code": 429,
            "account_id": 123456,
        },
        K.RETRY_AFTER,
        15.0,
        "FIELD_LIMIT_EXCEEDED",
        id="legacy-field-limit",
    ),
    pytest.param(429, {}, b"", K.RETRY_AFTER, None, None, id="empty-429-no-hint"),
    pytest.param(429, {"Content-Type": "text/plain"}, "", K.RETRY_AFTER, None, None, id="empty-429-text"),
    pytest.param(429, {"retry-after": "7"}, None, K.RETRY_AFTER, 7.0, None, id="empty-429-retry-after"),
    pytest.param(
        429,
        {"RateLimit": '"minuteRate";r=0;t=38, "concurrency";r=249'},
        b"",
        K.RETRY_AFTER,
        38.0,
        None,
        id="ratelimit-header-t",
    ),
    pytest.param(
        429,
        {"Retry-After": "Wed, 21 Oct 2026 07:28:10 GMT", "Date": "Wed, 21 Oct 2026 07:28:00 GMT"},
        b"",
        K.RETRY_AFTER,
        10.0,
        None,
        id="retry-after-http-date",
    ),
    pytest.param(
        429,
        {},
        {"errors": [_err("DAILY_LIMIT_EXCEEDED", "Daily limit exceeded", retry_in_seconds=3599)], **RID},
        K.FATAL,
        3599.0,
        "DAILY_LIMIT_EXCEEDED",
        id="daily-limit-fatal-with-reset",
    ),
    # cursor expiry in any shape
    pytest.param(
        200,
        {},
        {
            "errors": [
                _err(
                    "CursorException",
                    "CursorExpiredError: The cursor provided for pagination has expired. Please refresh your "
                    "query and obtain a new cursor to continue fetching items",
                )
            ],
            "data": {"next_items_page": None},
        },
        K.RESUME_CURSOR,
        None,
        "CursorException",
        id="cursor-2025",
    ),
    pytest.param(
        200,
        {},
        {"error_code": "CursorException", "error_message": "CursorExpiredError: expired", "status_code": 200},
        K.RESUME_CURSOR,
        None,
        "CursorException",
        id="cursor-legacy",
    ),
    pytest.param(
        200,
        {},
        {"errors": [{"message": "CursorExpiredError: The cursor provided for pagination has expired"}]},
        K.RESUME_CURSOR,
        None,
        None,
        id="cursor-message-only",
    ),
    pytest.param(
        200,
        {},
        {"errors": [_err("cursorexpirederror")]},
        K.RESUME_CURSOR,
        None,
        "cursorexpirederror",
        id="cursor-code",
    ),
    # transient
    pytest.param(
        200,
        {},
        {"errors": [_err("INTERNAL_SERVER_ERROR", "Internal server error")]},
        K.RETRY_BACKOFF,
        None,
        "INTERNAL_SERVER_ERROR",
        id="internal-200",
    ),
    pytest.param(
        200,
        {},
        {"errors": [{"message": "Internal server error"}], **RID},
        K.RETRY_BACKOFF,
        None,
        None,
        id="internal-no-code",
    ),
    pytest.param(
        500,
        {},
        {"error_message": "Internal server error", "status_code": 500},
        K.RETRY_BACKOFF,
        None,
        None,
        id="legacy-500",
    ),
    pytest.param(
        500,
        {},
        {
            "errors": [
                {
                    "message": "Internal server error",
                    "extensions": {"error_code": "INTERNAL_SERVER_ERROR", "status_code": 500},
                }
            ],
            "extensions": {"request_id": "req-500"},
        },
        K.RETRY_BACKOFF,
        None,
        "INTERNAL_SERVER_ERROR",
        id="500-extensions-error-code",
    ),
    pytest.param(
        200,
        {},
        {
            "errors": [
                {"message": "Daily limit exceeded", "extensions": {"error_code": "DAILY_LIMIT_EXCEEDED"}}
            ]
        },
        K.FATAL,
        None,
        "DAILY_LIMIT_EXCEEDED",
        id="extensions-error-code-reaches-the-table",
    ),
    # over the per-query complexity cap: a smaller document, never the same one again
    pytest.param(
        200,
        {},
        {
            "errors": [
                {
                    "message": "Query has complexity of 6010020, which exceeds max complexity of 5000000",
                    "extensions": {
                        "code": "ComplexityException",
                        "status_code": 200,
                        "error_data": {"complexity": 6010020, "max_complexity": 5000000},
                    },
                }
            ],
            **RID,
        },
        K.TOO_COMPLEX,
        None,
        "ComplexityException",
        id="over-cap-2025",
    ),
    pytest.param(
        200,
        {},
        {
            "error_message": "Query has complexity of 1016020, which exceeds max complexity of 1000000",
            "error_code": "ComplexityException",
            "error_data": {},
            "status_code": 200,
            "account_id": 1,
        },
        K.TOO_COMPLEX,
        None,
        "ComplexityException",
        id="over-cap-legacy-message-only",
    ),
    pytest.param(
        200,
        {},
        {"errors": [_err("maxComplexityExceeded", "Max complexity exceeded")]},
        K.TOO_COMPLEX,
        None,
        "maxComplexityExceeded",
        id="over-cap-code-only",
    ),
    pytest.param(
        200,
        {},
        {"errors": [{"message": "Query has complexity of 7000000, which exceeds max complexity of 5000000"}]},
        K.TOO_COMPLEX,
        None,
        None,
        id="over-cap-graphql-ruby-message-without-code",
    ),
    pytest.param(502, {}, b"<html>Bad gateway</html>", K.RETRY_BACKOFF, None, None, id="502-html"),
    pytest.param(504, {}, b"", K.RETRY_BACKOFF, None, None, id="504-empty"),
    pytest.param(
        200, {}, b'{"data": {"items": [{"id": "1", "na', K.RETRY_BACKOFF, None, None, id="truncated-json"
    ),
    pytest.param(200, {}, b"not json at all", K.RETRY_BACKOFF, None, None, id="non-json"),
    pytest.param(200, {}, {"foo": 1}, K.RETRY_BACKOFF, None, None, id="no-data-no-errors"),
    # partial data: a rate limit next to data waits like a rate limit; a transient error is PARTIAL
    pytest.param(
        200,
        {},
        {
            "data": {"boards": [{"id": "151321135", "name": "Stam", "columns": None}]},
            "errors": [
                {
                    "message": "Rate limit already blocked for board-columns-errors",
                    "path": ["boards", 0, "columns"],
                    "extensions": {
                        "code": "tooManyRequests",
                        "status_code": 400,
                        "service": "data-structure",
                    },
                }
            ],
            "extensions": {"request_id": "0eb719eb-5c2c-4c1e-a1cf-2d8f4f0f9d61"},
        },
        K.RETRY_AFTER,
        None,
        "tooManyRequests",
        id="subgraph-partial-rate-limit-waits-like-a-rate-limit",
    ),
    pytest.param(
        200,
        {},
        {"data": {"items": [{"id": "1"}]}, "errors": [_err("INTERNAL_SERVER_ERROR")]},
        K.PARTIAL,
        None,
        "INTERNAL_SERVER_ERROR",
        id="partial-internal",
    ),
    # auth and permissions
    pytest.param(401, {}, {"errors": ["Not Authenticated"]}, K.FATAL_AUTH, None, None, id="401-legacy"),
    pytest.param(
        401,
        {},
        {"errors": [_err("NOT_AUTHENTICATED", "Not authenticated")]},
        K.FATAL_AUTH,
        None,
        "NOT_AUTHENTICATED",
        id="401-2025",
    ),
    pytest.param(401, {}, b"", K.FATAL_AUTH, None, None, id="401-empty"),
    pytest.param(
        200,
        {},
        {
            "error_message": "User unauthorized to perform action",
            "error_code": "UserUnauthorizedException",
            "error_data": {},
            "status_code": 403,
        },
        K.FATAL_AUTH,
        None,
        "UserUnauthorizedException",
        id="403-legacy-in-200",
    ),
    pytest.param(
        403,
        {},
        {"errors": [_err("USER_ACCESS_DENIED")]},
        K.FATAL_AUTH,
        None,
        "USER_ACCESS_DENIED",
        id="403-access-denied",
    ),
    # fatal
    pytest.param(
        200,
        {},
        {
            "error_message": "The board does not exist. Please check your board ID and try again",
            "error_code": "InvalidBoardIdException",
            "error_data": {"board_id": None},
            "status_code": 200,
        },
        K.FATAL,
        None,
        "InvalidBoardIdException",
        id="invalid-board-legacy",
    ),
    pytest.param(
        200,
        {},
        {"errors": [_err("invalidboardidexception")], "data": {"boards": []}},
        K.FATAL,
        None,
        "invalidboardidexception",
        id="invalid-board-lowercase",
    ),
    pytest.param(
        200,
        {},
        {"errors": [{"message": 'Cannot query field "x" on type "Board".', "locations": []}]},
        K.FATAL,
        None,
        None,
        id="validation-no-code",
    ),
    pytest.param(
        400, {}, {"errors": [_err("API_VERSION_REQUIRED")]}, K.FATAL, None, "API_VERSION_REQUIRED", id="400"
    ),
    pytest.param(404, {}, b"", K.FATAL, None, None, id="404-empty"),
]


@pytest.mark.parametrize(("status", "headers", "body", "kind", "wait", "code"), CASES)
def test_classify_table(
    status: int, headers: dict[str, str], body: Any, kind: DecisionKind, wait: float | None, code: str | None
) -> None:
    decision = classify(status, headers, body)
    assert decision.kind is kind
    assert decision.wait_s == wait
    assert decision.code == code
    assert decision.http_status == status


@pytest.mark.parametrize(
    "encode", [lambda b: b, json.dumps, lambda b: json.dumps(b).encode()], ids=["dict", "str", "bytes"]
)
def test_body_forms_agree(encode: Any) -> None:
    body = {"errors": [_err("MINUTE_RATE_LIMIT_EXCEEDED", retry_in_seconds=5)], **RID}
    decision = classify(429, {}, encode(body))
    assert (decision.kind, decision.wait_s, decision.request_id) == (K.RETRY_AFTER, 5.0, "req-1")


def test_highest_priority_error_wins_over_first() -> None:
    body = {
        "errors": [
            _err("INTERNAL_SERVER_ERROR"),
            _err("COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=9),
            _err("CursorException"),
        ]
    }
    decision = classify(200, {}, body)
    assert decision.kind is K.RETRY_AFTER
    assert decision.code == "COMPLEXITY_BUDGET_EXHAUSTED"
    assert decision.wait_s == 9.0
    fatal_last = {"errors": [*body["errors"], _err("DAILY_LIMIT_EXCEEDED", retry_in_seconds=100)]}
    assert classify(200, {}, fatal_last).kind is K.FATAL


def test_wait_is_max_of_all_hints() -> None:
    body = {
        "errors": [_err("MINUTE_RATE_LIMIT_EXCEEDED", retry_in_seconds=40), _err("MAX_CONCURRENCY_EXCEEDED")]
    }
    assert classify(429, {"Retry-After": "12"}, body).wait_s == 40.0
    assert classify(429, {"Retry-After": "55"}, body).wait_s == 55.0


def test_request_id_from_header_when_body_has_none() -> None:
    decision = classify(500, {"X-Request-Id": "hdr-9"}, b"")
    assert decision.request_id == "hdr-9"
    assert "hdr-9" in decision.describe()


def test_a_rate_limit_without_any_hint_leaves_the_wait_to_the_governor() -> None:
    for status, body in ((429, b""), (429, None), (200, {"errors": [_err("tooManyRequests")]})):
        decision = classify(status, {}, body)
        assert (decision.kind, decision.wait_s) == (K.RETRY_AFTER, None)
    assert classify(429, {"Retry-After": "3"}, b"").wait_s == 3.0
    body = {"errors": [{"message": "Complexity budget exhausted, query cost 5 reset in 4 seconds"}]}
    assert classify(429, {}, body).wait_s == 4.0


def test_extensions_error_code_reaches_the_message() -> None:
    body = {
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {"error_code": "INTERNAL_SERVER_ERROR", "status_code": 500},
            }
        ],
        "extensions": {"request_id": "req-500"},
    }
    text = str(error_for(classify(500, {}, body), "ItemsByIds board 9"))
    assert "code INTERNAL_SERVER_ERROR" in text
    assert "req-500" in text


def test_over_cap_names_cost_and_cap_and_outranks_a_rate_limit() -> None:
    over = {
        "message": "Query has complexity of 6010020, which exceeds max complexity of 5000000",
        "extensions": {"code": "ComplexityException"},
    }
    decision = classify(200, {}, {"errors": [_err("COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=9), over]})
    assert decision.kind is K.TOO_COMPLEX
    assert (decision.complexity, decision.max_complexity) == (6_010_020, 5_000_000)
    assert decision.retryable is False
    error = error_for(decision, "ItemsByIds board 42 (1 ids)")
    assert isinstance(error, QueryTooComplexAPIError)
    assert isinstance(error, MondayFatalAPIError)  # a caller that cannot shrink fails
    text = str(error)
    for part in ("query too complex", "ItemsByIds board 42 (1 ids)", "6,010,020", "5,000,000"):
        assert part in text
    # the same code for budget exhaustion (legacy) is still a rate limit: the message decides
    legacy_budget = {
        "error_code": "ComplexityException",
        "error_message": "Complexity budget exhausted, query cost 30001 budget remaining 19986 out of "
        "1000000 reset in 3 seconds",
        "status_code": 429,
    }
    assert classify(200, {}, legacy_budget).kind is K.RETRY_AFTER
    assert classify(429, {}, {"errors": [over]}).kind is K.TOO_COMPLEX  # a 429 status does not make it retry


@pytest.mark.parametrize("version", ["2024-07", "2024-10", "2025-04", "2026-10"])
def test_the_emulators_over_cap_answer_is_too_complex_in_every_version(
    emulator_factory: Callable[..., Any], gql: Callable[..., Any], version: str
) -> None:
    running = emulator_factory(boards=1, items_per_board=5, limit_overrides={"complexity_per_query": 100})
    query = "query { complexity { query } boards(limit: 50) { id name } }"  # 10 + 50 x 2 = 110
    answer = gql(running, query, version=version)
    decision = classify(answer.status, dict(answer.headers), answer.raw)
    assert decision.kind is K.TOO_COMPLEX, (answer.status, answer.raw[:300])
    assert (decision.complexity, decision.max_complexity) == (110, 100)


def test_messages_are_short_and_never_echo_headers() -> None:
    token = "secret-token-abc"
    decision = classify(401, {"Authorization": token}, {"errors": [_err("NOT_AUTHENTICATED", "x" * 2000)]})
    assert token not in decision.describe()
    assert len(decision.message) <= 300


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        (K.RETRY_AFTER, RetryableAPIError),
        (K.RETRY_BACKOFF, RetryableAPIError),
        (K.PARTIAL, RetryableAPIError),
        (K.RESUME_CURSOR, CursorExpiredAPIError),
        (K.TOO_COMPLEX, QueryTooComplexAPIError),
        (K.FATAL, MondayFatalAPIError),
        (K.FATAL_AUTH, AuthenticationAPIError),
    ],
)
def test_error_for_maps_kinds(kind: DecisionKind, cls: type) -> None:
    decision = Decision(kind, None, "CODE_X", "rid-7", "boom", 418)
    error = error_for(decision, "ItemsByIds board 42")
    assert type(error) is cls
    text = str(error)
    assert "board 42" in text
    assert "CODE_X" in text
    assert "HTTP 418" in text
    assert "rid-7" in text


def test_daily_limit_message_names_reset() -> None:
    body = {"errors": [_err("DAILY_LIMIT_EXCEEDED", "Daily limit exceeded", retry_in_seconds=3599)]}
    decision = classify(429, {}, body)
    assert "resets in 3599 s" in decision.describe()


def test_registered_secrets_never_leave_through_decisions_or_errors() -> None:
    token = "tok-echoed-by-a-proxy-1234"
    register_secret(token)
    body = {
        "errors": [{"message": f"bad Authorization: {token}", "extensions": {"code": f"X_{token}"}}],
        "extensions": {"request_id": token},
    }
    for status in (200, 401, 429, 500):
        decision = classify(status, {"X-Request-Id": token}, body)
        error = error_for(decision, "ItemsByIds board 1")
        for text in (
            decision.message,
            decision.describe(),
            str(error),
            str(decision.code),
            str(decision.request_id),
        ):
            assert token not in text
        assert "[redacted]" in decision.message
    assert redact(f"a {token} b") == "a [redacted] b"


def test_authentication_error_says_so_and_names_the_setting() -> None:
    decision = classify(401, {}, {"errors": [_err("NOT_AUTHENTICATED", "Not authenticated")]})
    text = str(error_for(decision, "HarvestFirstPage board 7"))
    assert text.startswith("authentication failed: HarvestFirstPage board 7: monday.com answered HTTP 401")
    assert "api_token" in text
