"""The one retry policy (retry.py) and the one exception family (errors.py), on both HTTP stacks.

Unit tests pin the policy's numbers (hint first, equal-jitter bounds from a seeded generator, the cap, the
two retry counts); the stack tests send real HTTP to the emulator with a scripted fault and read the wait
each stack logged, which must be the policy's draw for the same seed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from typing import Any

import pytest
import singer_sdk.exceptions as sdk
from monday_emulator.faults import FaultConfig, FaultKind, ScriptedFault
from monday_emulator.server import EmulatorConfig
from monday_emulator.testing import RunningEmulator, running_emulator

from tap_monday_boards import queries
from tap_monday_boards.client import sdk_error_for
from tap_monday_boards.engine.governor import Governor
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import (
    AuthenticationAPIError,
    CursorExpiredAPIError,
    Decision,
    DecisionKind,
    MondayFatalAPIError,
    QueryTooComplexAPIError,
    RequestTimeoutError,
    RetryableAPIError,
    error_for,
)
from tap_monday_boards.retry import MAX_RATE_LIMIT_RETRIES, RetryPolicy
from tap_monday_boards.tap import TapMondayBoards

K = DecisionKind
SEED = 11


def _decision(kind: DecisionKind, wait_s: float | None = None, status: int = 500) -> Decision:
    return Decision(kind, wait_s, "CODE", "req-1", "message", status)


def _policy(seed: int = SEED, **kw: Any) -> RetryPolicy:
    values: dict[str, Any] = {"backoff_base_s": 0.5, "backoff_max_s": 30.0, "max_retries": 3, **kw}
    return RetryPolicy(**values, rng=random.Random(seed))


# --- the policy ---------------------------------------------------------------------------------------


def test_a_rate_limit_waits_the_governors_pause_not_its_own() -> None:
    policy = _policy()
    assert policy.wait_s(_decision(K.RETRY_AFTER, wait_s=12.0, status=429), 1) == 0.0
    assert policy.wait_s(_decision(K.RETRY_AFTER, status=429), 5) == 0.0  # no hint: still the governor's


def test_a_hint_is_waited_exactly_whatever_the_attempt() -> None:
    policy = _policy(backoff_max_s=1.0)
    assert policy.wait_s(_decision(K.PARTIAL, wait_s=7.5, status=200), 1) == 7.5
    assert policy.wait_s(_decision(K.RETRY_BACKOFF, wait_s=45.0), 9) == 45.0  # above the backoff cap
    assert policy.wait_s(_decision(K.RETRY_BACKOFF, wait_s=0.0), 3) == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_backoff_is_equal_jitter_within_half_the_step_and_the_step(seed: int) -> None:
    policy = _policy(seed)
    for attempt in range(1, 12):
        step = min(30.0, 0.5 * 2 ** (attempt - 1))
        draws = [policy.wait_s(_decision(K.RETRY_BACKOFF), attempt) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in draws), (attempt, min(draws), max(draws))
        assert max(draws) - min(draws) > step / 4  # spread, not one synchronised value


def test_backoff_is_capped_and_never_near_zero() -> None:
    policy = _policy(backoff_base_s=1.0, backoff_max_s=8.0)
    late = [policy.backoff_s(attempt) for attempt in range(5, 40) for _ in range(20)]
    assert max(late) <= 8.0 and min(late) >= 4.0
    assert min(policy.backoff_s(1) for _ in range(500)) >= 0.5  # equal jitter: never a hot retry


def test_the_same_seed_gives_the_same_waits() -> None:
    first, second = _policy(5), _policy(5)
    assert [first.backoff_s(n) for n in range(1, 9)] == [second.backoff_s(n) for n in range(1, 9)]
    assert [first.backoff_s(1) for _ in range(5)] != [_policy(6).backoff_s(1) for _ in range(5)]


def test_rate_limits_and_errors_are_counted_apart() -> None:
    policy = _policy(max_retries=2)
    count = policy.attempts()
    error, limited = _decision(K.RETRY_BACKOFF), _decision(K.RETRY_AFTER, status=429)
    assert [count.next(error), count.next(error)] == [1, 2]
    assert [count.next(limited) for _ in range(MAX_RATE_LIMIT_RETRIES)] == list(
        range(1, MAX_RATE_LIMIT_RETRIES + 1)
    )
    assert count.next(limited) is None  # a server that never lets us through
    assert count.next(_decision(K.PARTIAL, status=200)) is None  # the third error: max_retries is 2
    assert policy.attempts().next(error) == 1  # a fresh count per request
    assert (policy.limit(error), policy.limit(limited)) == (2, MAX_RATE_LIMIT_RETRIES)


def test_the_policy_reads_its_numbers_from_the_settings() -> None:
    settings = EngineSettings(api_token="tok-policy-1", backoff_base_s=0.25, backoff_max_s=2.0, max_retries=4)
    policy = RetryPolicy.from_settings(settings, random.Random(1))
    assert (policy.backoff_base_s, policy.backoff_max_s, policy.max_retries) == (0.25, 2.0, 4)
    assert policy.max_rate_limit_retries == MAX_RATE_LIMIT_RETRIES


# --- one exception family -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ours", "sdks"),
    [
        (K.RETRY_AFTER, RetryableAPIError, sdk.RetriableAPIError),
        (K.RETRY_BACKOFF, RetryableAPIError, sdk.RetriableAPIError),
        (K.PARTIAL, RetryableAPIError, sdk.RetriableAPIError),
        (K.FATAL, MondayFatalAPIError, sdk.FatalAPIError),
        (K.TOO_COMPLEX, QueryTooComplexAPIError, sdk.FatalAPIError),
        (K.FATAL_AUTH, AuthenticationAPIError, sdk.FatalAPIError),
    ],
)
def test_engine_errors_are_the_sdks_classes(kind: DecisionKind, ours: type, sdks: type) -> None:
    error = error_for(_decision(kind), "query Tags")
    assert type(error) is ours and isinstance(error, sdks)
    assert error.decision.kind is kind
    assert str(error).startswith(("query Tags: monday.com answered HTTP 500", f"{ours.headline}: query Tags"))


def test_a_retryable_error_carries_the_sdks_response_and_a_timeout_is_retryable() -> None:
    error = error_for(_decision(K.RETRY_BACKOFF), "ctx")
    assert isinstance(error, RetryableAPIError) and error.response is None
    timeout = RequestTimeoutError(_decision(K.RETRY_BACKOFF, status=0), "ItemsByIds board 1")
    assert isinstance(timeout, sdk.RetriableAPIError) and timeout.decision.http_status == 0


def test_an_expired_cursor_is_fatal_outside_the_harvest_with_the_same_message() -> None:
    decision = _decision(K.RESUME_CURSOR, status=200)
    inside = error_for(decision, "stream groups")
    outside = sdk_error_for(decision, "stream groups")
    assert isinstance(inside, CursorExpiredAPIError) and not isinstance(inside, sdk.SyncError)
    assert isinstance(outside, MondayFatalAPIError) and isinstance(outside, sdk.FatalAPIError)
    assert str(outside) == str(inside) and outside.decision is decision


def test_a_message_of_the_taps_own_keeps_its_wording_and_hides_the_token() -> None:
    EngineSettings(api_token="tok-OWN-message-42")  # registers the token as a secret
    error = MondayFatalAPIError(_decision(K.FATAL, status=200), message="board 7 missing tok-OWN-message-42")
    assert str(error) == "board 7 missing [redacted]"


# --- both stacks use it -------------------------------------------------------------------------------


def _emulator(*faults: FaultKind) -> Any:
    scripted = tuple(ScriptedFault("Tags", n, kind) for n, kind in enumerate(faults, start=1))
    faults = FaultConfig(scripted=scripted)
    return running_emulator(
        EmulatorConfig(seed=4, boards=1, items_per_board=5, latency="instant", faults=faults)
    )


def _config(em: RunningEmulator, **kw: Any) -> dict[str, Any]:
    return {
        "api_token": em.token,
        "api_url": em.url,
        "backoff_base_s": 0.2,
        "backoff_max_s": 0.2,
        "rate_limit_first_wait_s": 0.01,
        **kw,
    }


def _tags_via_transport(em: RunningEmulator, config: dict[str, Any]) -> list[dict[str, Any]]:
    settings = EngineSettings.from_config(config)

    async def run() -> list[dict[str, Any]]:
        async with Transport(settings, Governor(settings), rng=random.Random(SEED)) as transport:
            request = Request("Tags", queries.TAGS_QUERY, {}, kind="stream:tags", context="query Tags")
            data = await transport.send(request)
        return list(data["tags"])

    return asyncio.run(run())


def _tags_via_sdk_stream(em: RunningEmulator, config: dict[str, Any]) -> list[dict[str, Any]]:
    stream = TapMondayBoards(config=config).streams["tags"]
    stream.retry_policy = RetryPolicy.from_settings(stream.engine_settings, random.Random(SEED))
    return [dict(r) for r in stream.get_records(None)]  # outside a sync: the stream's own requests


STACKS = {"engine": _tags_via_transport, "sdk": _tags_via_sdk_stream}
LOGGED_WAIT = {
    "engine": r"retrying \(retry_backoff\) attempt 1/\d+ in (\d+\.\d) s",
    "sdk": r"Backing off (\d+\.\d\d) seconds after 1 tries",
}


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_a_500_then_ok_waits_the_policys_backoff_on_each_stack(
    stack: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with _emulator(FaultKind.HTTP_500) as em:
        config = _config(em)
        tags = STACKS[stack](em, config)
        log = [r for r in em.emulator.request_log if r.operation == "Tags"]
    assert [r["id"] for r in tags] == [str(t["id"]) for t in em.emulator.store.account.tags]
    assert [r.fault for r in log] == [FaultKind.HTTP_500.value, None]
    expected = RetryPolicy.from_settings(EngineSettings.from_config(config), random.Random(SEED)).backoff_s(1)
    assert 0.1 <= expected <= 0.2
    found = re.search(LOGGED_WAIT[stack], caplog.text)
    assert found, caplog.text
    digits = len(found.group(1).split(".")[1])
    assert found.group(1) == f"{expected:.{digits}f}"  # the seeded policy's draw, not a constant
    assert log[1].start - log[0].end >= expected * 0.9  # and it was waited


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_rate_limits_do_not_use_up_max_retries_on_either_stack(stack: str) -> None:
    with _emulator(FaultKind.EMPTY_429, FaultKind.EMPTY_429, FaultKind.HTTP_500) as em:
        tags = STACKS[stack](em, _config(em, max_retries=1))  # two 429s and one 500 with one retry
        faults = [r.fault for r in em.emulator.request_log if r.operation == "Tags"]
    assert tags and faults == ["empty_429", "empty_429", "http_500", None]
    with (
        _emulator(FaultKind.HTTP_500, FaultKind.HTTP_500) as em,
        pytest.raises(RetryableAPIError, match="500"),
    ):
        STACKS[stack](em, _config(em, max_retries=1))  # two 500s with one retry: spent
