"""The small streams and MondayStream over real loopback HTTP, with scripted answers.

A tiny HTTP server on 127.0.0.1 records each request exactly as it arrived (path, query string, headers, JSON
body) and answers from a script, so these tests see what monday would see: no variables in URLs, the raw
token and pinned version in headers, ``limit`` always sent, a short page ending the walk, GraphQL errors in
HTTP 200 bodies raising with a clear message, and rate limits retried through the shared governor.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from singer_sdk.exceptions import FatalAPIError

from tap_monday_boards import streams
from tap_monday_boards.tap import TapMondayBoards
from tests.support.insync import Messages, records, sync

TOKEN = "tok-LOOPBACK-secret-987"
COMPLEXITY = {"before": 1_000_000, "after": 999_000, "query": 1_000, "reset_in_x_seconds": 60}

Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or bytes)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Loopback:
    url: str
    requests: list[Seen] = field(default_factory=list)


def ok(**data: Any) -> Answer:
    return 200, {}, {"data": {"complexity": COMPLEXITY, **data}, "extensions": {"request_id": "req-ok"}}


@contextmanager
def loopback(script: Callable[[dict[str, Any], int], Answer]) -> Iterator[Loopback]:
    """Serve ``script(body, n)`` (n = 0-based request count) on 127.0.0.1; records every request."""
    state = Loopback(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                state.requests.append(Seen(self.path, dict(self.headers.items()), body))
                status, headers, payload = script(body, len(state.requests) - 1)
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v2"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run(config: dict[str, Any], select: set[str]) -> Messages:
    """Sync only the ``select`` streams in-process; return the Singer messages written."""
    return sync({"api_token": TOKEN, **config}, select=select)


def per_board(body: dict[str, Any], rows: Callable[[int, dict[str, Any]], list[Any]]) -> dict[str, Any]:
    """The answer to a several-boards document (aliases ``b0``, ``b1``...): ``rows(page, variables)`` is
    each board's list (the document's one list field)."""
    variables = body["variables"]
    field = "activity_logs" if "BoardActivityLogsBatch" in body["query"] else "updates"
    answer: dict[str, Any] = {}
    n = 0
    while f"b{n}" in variables:
        (board_id,) = variables[f"b{n}"]
        answer[f"b{n}"] = [{"id": board_id, field: rows(variables[f"page{n}"], variables)}]
        n += 1
    return answer


def users(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": str(40_000_000 + i),
            "name": f"U{i}",
            "created_at": "2024-01-01T00:00:00Z",
            "teams": [{"id": 7}],
        }
        for i in range(start, start + n)
    ]


def test_paging_sends_limit_stops_on_short_page_and_keeps_variables_out_of_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(streams.UsersStream, "page_size", 2)

    def script(body: dict[str, Any], n: int) -> Answer:
        page = body["variables"]["page"]
        return ok(users=users(2, 0) if page == 1 else users(1, 2))

    with loopback(script) as server:
        messages = run({"api_url": server.url}, {"users"})
    assert [r["id"] for r in records(messages, "users")] == ["40000000", "40000001", "40000002"]
    assert records(messages, "users")[0]["team_ids"] == ["7"]
    assert len(server.requests) == 2  # the short second page ended the walk
    for number, seen in enumerate(server.requests, start=1):
        assert seen.path == "/v2"  # nothing in the query string
        assert seen.body["variables"] == {"limit": 2, "page": number}
        assert seen.body["query"].startswith("query Users(")
        assert seen.headers["Authorization"] == TOKEN  # raw token, no scheme
        assert seen.headers["API-Version"] == "2026-10"
        assert seen.headers["User-Agent"].startswith("tap-monday-boards/")


def test_graphql_error_in_http_200_raises_a_clear_fatal_error() -> None:
    def script(body: dict[str, Any], n: int) -> Answer:
        error = {"message": "Field 'tags' is broken", "extensions": {"code": "InvalidArgumentException"}}
        return 200, {}, {"errors": [error], "extensions": {"request_id": "req-42"}}

    with loopback(script) as server, pytest.raises(FatalAPIError) as excinfo:
        run({"api_url": server.url}, {"tags"})
    message = str(excinfo.value)
    for part in ("stream tags", "HTTP 200", "InvalidArgumentException", "req-42", "Field 'tags' is broken"):
        assert part in message
    assert TOKEN not in message
    assert len(server.requests) == 1  # fatal: not retried


def test_auth_failure_is_fatal_without_retry() -> None:
    def script(body: dict[str, Any], n: int) -> Answer:
        return (
            401,
            {},
            {"errors": [{"message": "Not authenticated", "extensions": {"code": "NOT_AUTHENTICATED"}}]},
        )

    with loopback(script) as server, pytest.raises(FatalAPIError, match="NOT_AUTHENTICATED") as excinfo:
        run({"api_url": server.url}, {"teams"})
    assert TOKEN not in str(excinfo.value)
    assert len(server.requests) == 1


def test_rate_limit_is_retried_after_a_process_wide_pause() -> None:
    def script(body: dict[str, Any], n: int) -> Answer:
        if n == 0:
            error = {
                "message": "Complexity budget exhausted",
                "extensions": {"code": "COMPLEXITY_BUDGET_EXHAUSTED"},
            }
            return (
                429,
                {"Retry-After": "0"},
                {"errors": [{**error, "extensions": {**error["extensions"], "retry_in_seconds": 0}}]},
            )
        return ok(tags=[{"id": "1", "name": "a", "color": "red"}])

    with loopback(script) as server:
        tap_messages = run({"api_url": server.url}, {"tags"})
        governor = (
            TapMondayBoards(config={"api_token": TOKEN, "api_url": server.url}).streams["tags"].governor
        )
        assert governor.stats().rate_limit_pauses == 1
    assert records(tap_messages, "tags") == [{"id": "1", "name": "a", "color": "red"}]
    assert len(server.requests) == 2


def test_server_error_is_retried_with_backoff_then_gives_up() -> None:
    def script(body: dict[str, Any], n: int) -> Answer:
        return 500, {}, {"error_message": "Internal server error", "status_code": 500}

    with loopback(script) as server, pytest.raises(Exception, match="HTTP 500"):
        run({"api_url": server.url, "max_retries": 2, "backoff_base_s": 0.001}, {"tags"})
    assert len(server.requests) == 3  # first try + max_retries


BOARD = {
    "id": "111",
    "name": "Roadmap",
    "state": "active",
    "workspace_id": 5,
    "owners": [{"id": "9"}],
    "subscribers": [{"id": "9"}, {"id": "12"}],
    "tags": [{"id": "3", "name": "x", "color": "y"}],
    "groups": [
        {"id": "topics", "title": "To do", "position": "65536.0", "archived": False, "deleted": False}
    ],
    "columns": [
        {
            "id": "status",
            "title": "Status",
            "type": "status",
            "archived": False,
            "settings_str": '{"labels":{"1":"Done"}}',
        },
        {"id": "text", "title": "Text", "type": "text", "archived": False, "settings_str": "not json"},
    ],
}


def test_boards_filters_and_children_reuse_the_boards_answer() -> None:
    def script(body: dict[str, Any], n: int) -> Answer:
        return ok(boards=[BOARD])

    config = {"board_ids": ["111"], "workspace_ids": ["5"]}
    with loopback(script) as server:
        select = {"boards", "groups", "columns", "board_subscribers"}
        messages = run({"api_url": server.url, **config}, select)
    assert len(server.requests) == 1  # groups, columns and subscribers need no request of their own
    variables = server.requests[0].body["variables"]
    # limit = the ids asked: monday charges a page by its limit
    assert variables == {"limit": 1, "page": 1, "ids": ["111"], "workspace_ids": ["5"], "state": "active"}
    assert records(messages, "board_subscribers") == [
        {"board_id": "111", "user_id": "9", "role": "owner"},
        {"board_id": "111", "user_id": "12", "role": "subscriber"},
    ]
    (board,) = records(messages, "boards")
    assert board["owner_ids"] == ["9"] and board["tag_ids"] == ["3"] and board["workspace_id"] == "5"
    assert "groups" not in board and "columns" not in board and "subscribers" not in board
    assert records(messages, "groups") == [
        {
            "board_id": "111",
            "id": "topics",
            "title": "To do",
            "position": "65536.0",
            "archived": False,
            "deleted": False,
        }
    ]
    columns = {c["id"]: c for c in records(messages, "columns")}
    assert columns["status"]["settings"] == {"labels": {"1": "Done"}}
    assert columns["text"]["settings"] is None
    assert all(c["board_id"] == "111" for c in columns.values())


def test_missing_configured_board_fails_naming_it_unless_skipping() -> None:
    def script(body: dict[str, Any], n: int) -> Answer:
        return ok(boards=[BOARD])

    with loopback(script) as server:
        with pytest.raises(FatalAPIError, match="222") as excinfo:
            run({"api_url": server.url, "board_ids": ["111", "222"]}, {"boards"})
        assert "skip_unreadable_boards" in str(excinfo.value)
        messages = run(
            {"api_url": server.url, "board_ids": ["111", "222"], "skip_unreadable_boards": True}, {"boards"}
        )
    assert [b["id"] for b in records(messages, "boards")] == ["111"]


def test_activity_logs_parse_timestamps_and_filter_from_start_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams.BoardActivityLogsStream, "page_size", 2)
    log = {
        "id": "25ab8069-0000-4000-8000-000000000001",
        "event": "delete_pulse",
        "entity": "pulse",
        "data": json.dumps({"board_id": 111, "pulse_id": 9007199254740993, "pulse_name": "Task 1"}),
        "user_id": "40000001",
        "account_id": 9876543,
        "created_at": "17214733650000000",
    }

    def script(body: dict[str, Any], n: int) -> Answer:
        if body["query"].startswith(("query Boards(", "query BoardsMeta(")):  # the listing, full or lean
            return ok(boards=[BOARD])
        return ok(**per_board(body, lambda page, args: [log] if page == 1 else []))

    config = {"start_date": "2024-07-20T10:00:00Z", "lookback_window_minutes": 5}
    with loopback(script) as server:
        messages = run({"api_url": server.url, **config}, {"board_activity_logs"})
    (record,) = records(messages, "board_activity_logs")
    assert record["created_at_ts"] == "2024-07-20T11:02:45+00:00"
    assert record["item_id"] == "9007199254740993"
    assert record["board_id"] == "111" and record["account_id"] == "9876543"
    log_requests = [s for s in server.requests if s.body["query"].startswith("query BoardActivityLogsBatch(")]
    assert len(log_requests) == 1  # one record < limit 2: a short page ends the walk
    assert log_requests[0].body["variables"] == {
        "limit": 2,
        "b0": ["111"],
        "page0": 1,
        "from0": "2024-07-20T09:55:00Z",
    }
    state = [m for m in messages if m["type"] == "STATE"][-1]["value"]
    assert "2024-07-20T11:02:45" in json.dumps(state)


def test_activity_timestamp_units() -> None:
    assert streams.activity_timestamp("17214733650000000") == "2024-07-20T11:02:45+00:00"
    assert streams.activity_timestamp("17214733651234567") == "2024-07-20T11:02:45.123456+00:00"
    assert streams.activity_timestamp(None) is None
    assert streams.activity_timestamp("soon") is None


def test_token_never_in_logs_or_output(caplog: pytest.LogCaptureFixture) -> None:
    """Retries, a fatal error and a normal page at DEBUG level: the token shows up nowhere."""
    caplog.set_level("DEBUG")

    def script(body: dict[str, Any], n: int) -> Answer:
        if n == 0:
            return 502, {}, b"<html>bad gateway</html>"
        if body["query"].startswith("query Tags"):
            return ok(tags=[{"id": "1", "name": TOKEN[:3], "color": "c"}])
        return (
            403,
            {},
            {"errors": [{"message": "User unauthorized", "extensions": {"code": "USER_ACCESS_DENIED"}}]},
        )

    with loopback(script) as server:
        messages = run({"api_url": server.url, "backoff_base_s": 0.001}, {"tags"})
        with pytest.raises(FatalAPIError) as excinfo:
            run({"api_url": server.url}, {"teams"})
    assert records(messages, "tags")
    assert TOKEN not in json.dumps(messages)
    assert TOKEN not in str(excinfo.value)
    assert "retrying (retry_backoff)" in caplog.text  # the retry's log line was captured at all
    assert TOKEN not in caplog.text
    assert "USER_ACCESS_DENIED" in str(excinfo.value)


def test_error_message_names_the_board() -> None:
    def script(body: dict[str, Any], n: int) -> Answer:
        if body["query"].startswith(("query Boards(", "query BoardsMeta(")):
            return ok(boards=[BOARD])
        error = {"message": "Board is locked", "extensions": {"code": "ResourceLockedException"}}
        return 200, {}, {"errors": [error], "extensions": {"request_id": "req-7"}}

    with loopback(script) as server, pytest.raises(FatalAPIError) as excinfo:
        run({"api_url": server.url}, {"updates"})
    assert "stream updates, board 111" in str(excinfo.value)
    assert "req-7" in str(excinfo.value)
