"""``POST /v2`` over real loopback HTTP: auth, body rules, validation errors, version routing, envelopes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import queries
from tests.conftest import HttpAnswer

Gql = Callable[..., HttpAnswer]
ME = "query Me { complexity { before after query reset_in_x_seconds } me { id } }"


def test_raw_token_accepted_and_success_envelope(emulator: RunningEmulator, gql: Gql) -> None:
    answer = gql(emulator, ME)
    assert answer.status == 200
    body = answer.json
    assert set(body) == {"data", "extensions"}
    assert body["extensions"]["request_id"] == answer.headers["X-Request-Id"]
    assert answer.headers["Api-Version"] == "2026-10"
    assert body["data"]["complexity"]["query"] > 0


def test_bearer_token_accepted(emulator: RunningEmulator, gql: Gql) -> None:
    answer = gql(emulator, ME, headers={"Authorization": f"Bearer {emulator.token}"})
    assert answer.status == 200
    assert "data" in answer.json


@pytest.mark.parametrize(
    ("version", "body"),
    [
        ("2024-07", {"errors": ["Not Authenticated"]}),
        (
            "2025-07",
            {"errors": [{"message": "Not authenticated", "extensions": {"code": "NOT_AUTHENTICATED"}}]},
        ),
    ],
)
@pytest.mark.parametrize("token", ["wrong-token", None], ids=["wrong", "missing"])
def test_bad_token_is_401(
    emulator: RunningEmulator, gql: Gql, version: str, body: dict, token: str | None
) -> None:
    answer = gql(emulator, ME, token=token, version=version)
    assert answer.status == 401
    assert answer.json == body
    assert "wrong-token" not in answer.raw.decode()


def test_query_in_url_rejected(emulator: RunningEmulator, gql: Gql) -> None:
    async def go() -> tuple[int, dict]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                emulator.url, params={"query": ME}, headers={"Authorization": emulator.token}
            ) as response,
        ):
            return response.status, await response.json()

    status, body = asyncio.run(go())
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "request body" in body["errors"][0]["message"]


def test_invalid_json_body_is_400(emulator: RunningEmulator) -> None:
    async def go() -> tuple[int, dict]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(emulator.url, data=b"{not json", headers={"Authorization": emulator.token}) as resp,
        ):
            return resp.status, await resp.json()

    status, body = asyncio.run(go())
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "JsonParseException"


@pytest.mark.parametrize(
    ("version", "has_request_id", "has_account_id"),
    [("2024-07", False, True), ("2024-10", True, True), ("2025-07", True, False)],
)
def test_validation_error_shape(
    emulator: RunningEmulator, gql: Gql, version: str, has_request_id: bool, has_account_id: bool
) -> None:
    answer = gql(emulator, "query Bad { me { invalid_field } }", version=version)
    assert answer.status == 200
    body = answer.json
    error = body["errors"][0]
    assert error["message"] == 'Cannot query field "invalid_field" on type "User".'
    assert error["locations"] == [{"line": 1, "column": 18}]
    assert ("extensions" in body) is has_request_id
    assert ("account_id" in body) is has_account_id
    assert "data" not in body


@pytest.mark.parametrize(
    ("sent", "served"),
    [
        (None, "2026-10"),
        ("2025-04", "2025-04"),
        ("2024-02", "2026-10"),
        ("current", "2026-10"),
        ("2024-07", "2024-07"),
    ],
)
def test_version_echo_and_routing(emulator: RunningEmulator, gql: Gql, sent: str | None, served: str) -> None:
    answer = gql(emulator, ME, version=sent)
    assert answer.status == 200
    assert answer.headers["Api-Version"] == served
    assert ("account_id" in answer.json) is (served <= "2024-07")


def test_malformed_version_is_invalid_version_exception(emulator: RunningEmulator, gql: Gql) -> None:
    answer = gql(emulator, ME, version="2023")
    assert answer.status == 200
    assert answer.json["errors"][0]["extensions"]["code"] == "InvalidVersionException"


def test_strict_mode_requires_version_header(
    emulator_factory: Callable[..., RunningEmulator], gql: Gql
) -> None:
    running = emulator_factory(require_version_header=True)
    assert gql(running, ME, version=None).status == 400
    assert gql(running, ME, version="2026-10").status == 200


def test_lifecycle_routes_deprecated_to_maintenance(
    emulator_factory: Callable[..., RunningEmulator], gql: Gql
) -> None:
    running = emulator_factory(version_lifecycle=True)
    answer = gql(running, ME, version="2024-07")
    assert answer.headers["Api-Version"] == "2026-07"
    assert "account_id" not in answer.json


def test_request_ids_are_unique_and_reproducible(
    emulator_factory: Callable[..., RunningEmulator], gql: Gql
) -> None:
    first = emulator_factory(seed=7)
    ids_a = [gql(first, ME).headers["X-Request-Id"] for _ in range(3)]
    second = emulator_factory(seed=7)
    ids_b = [gql(second, ME).headers["X-Request-Id"] for _ in range(3)]
    assert len(set(ids_a)) == 3
    assert ids_a == ids_b


@pytest.mark.parametrize("version", ["2024-07", "2024-10", "2025-07"])
def test_expired_cursor_wrapped_in_version_envelope(
    emulator_factory: Callable[..., RunningEmulator], gql: Gql, version: str
) -> None:
    clock = FakeClock()
    running = emulator_factory(clock=clock, cursor_ttl_s=60)
    board = running.emulator.store.board_ids()[0]
    first = gql(running, queries.HARVEST_FIRST_PAGE_QUERY, variables={"board_ids": [board], "limit": 50})
    cursor = first.json["data"]["boards"][0]["items_page"]["cursor"]
    assert cursor
    clock.advance(61)
    answer = gql(
        running, queries.HARVEST_NEXT_PAGE_QUERY, variables={"cursor": cursor, "limit": 50}, version=version
    )
    assert answer.status == 200
    body = answer.json
    if version in {"2024-07", "2024-10"}:
        assert body["error_code"] == "CursorException"
        assert body["error_message"].startswith("CursorExpiredError")
        assert body["account_id"] == running.emulator.config.account_id
    if version in {"2024-10", "2025-07"}:
        assert body["errors"][0]["extensions"]["code"] == "CursorException"
        assert body["extensions"]["request_id"] == answer.headers["X-Request-Id"]
    if version == "2024-07":
        assert "errors" not in body
    assert running.emulator.metrics.snapshot()["errors_by_code"] == {"CursorException": 1}


def test_executor_crash_answers_internal_error_and_is_counted(
    emulator_factory: Callable[..., RunningEmulator], gql: Gql, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = emulator_factory()

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("resolver bug")

    monkeypatch.setattr(running.emulator.executor, "execute", broken)
    modern = gql(running, ME, version="2025-07")
    legacy = gql(running, ME, version="2024-07")
    assert modern.status == 200
    assert modern.json["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert legacy.status == 500
    assert running.emulator.metrics.snapshot()["errors_by_code"] == {"EMULATOR_EXCEPTION": 2}
    assert running.emulator.limits.usage(running.token)["in_flight"] == 0
