"""The account's plan sets the default rate and concurrency; a setting the user gives always wins.

Real syncs (in-process) against emulators on monday's plans over loopback; the emulator's request log says
what was asked, the process's governor what limits the sync ran under.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from monday_emulator.faults import FaultConfig, FaultKind, ScriptedFault
from monday_emulator.limits import PLANS
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.engine.governor import get_governor
from tap_monday_boards.engine.settings import SMALLEST_PLAN, TAP_SHARES, EngineSettings, share_for
from tests.support.insync import records, sync

Factory = Callable[..., RunningEmulator]
TOKEN = "plan-limits-token-7731"


def _config(em: RunningEmulator, **extra: Any) -> dict[str, Any]:
    return {"api_url": em.url, "api_token": TOKEN, **extra}


def _limits(config: dict[str, Any]) -> tuple[int, int]:
    """The in-flight cap and the rate of the process's governor for this account (url, token)."""
    core = get_governor(EngineSettings.from_config(config)).core
    return core.max_in_flight, core.requests_per_minute


def _items(em: RunningEmulator) -> int:
    """Active items of the top-level boards: what the items stream must emit."""
    store = em.emulator.store
    return sum(len(store.item_ids(board_id)) for board_id in store.board_ids())


def _asked(em: RunningEmulator) -> Counter[str]:
    return Counter(str(r.operation) for r in em.emulator.request_log)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ({"tier": "enterprise", "is_during_trial": False, "plan": {"tier": "enterprise"}}, "enterprise"),
        ({"plan": {"tier": "Pro "}}, "pro"),  # case and spaces do not matter
        ({"tier": "pro", "plan": None}, "pro"),  # no plan object: the account's own tier
        ({"tier": "enterprise", "plan": {"tier": "standard"}}, None),  # the plan's tier first
        ({"tier": "basic", "plan": {"tier": "basic"}}, None),
        ({"plan": {"tier": "pro"}, "is_during_trial": True}, None),  # a trial has the smallest limits
        ({"plan": {"tier": 3}}, None),  # not a string
        ({}, None),
        (None, None),
    ],
)
def test_the_share_follows_the_plan_tier(account: Any, expected: str | None) -> None:
    assert share_for(account) == (SMALLEST_PLAN if expected is None else TAP_SHARES[expected])


def test_only_the_settings_left_unset_follow_the_plan() -> None:
    both = EngineSettings.from_config({"api_token": "t"})
    assert both.limits_from_plan == ("max_concurrency", "requests_per_minute")
    assert (both.max_concurrency, both.requests_per_minute) == (24, 1_000)  # until the plan is known
    one = EngineSettings.from_config({"api_token": "t", "max_concurrency": 7, "requests_per_minute": None})
    assert one.limits_from_plan == ("requests_per_minute",) and one.max_concurrency == 7
    none = EngineSettings.from_config({"api_token": "t", "max_concurrency": 7, "requests_per_minute": 50})
    assert none.limits_from_plan == ()
    assert EngineSettings(api_token="t").limits_from_plan == ()  # built in code: exactly what it says


@pytest.mark.parametrize("plan", ["enterprise", "pro", "standard", "trial"])
def test_a_sync_takes_its_share_of_the_plan(
    emulator_factory: Factory, plan: str, caplog: pytest.LogCaptureFixture
) -> None:
    em = emulator_factory(boards=2, items_per_board=30, plan=plan, extra_tokens=(TOKEN,))
    config = _config(em)
    with caplog.at_level(logging.INFO, logger="tap_monday_boards.engine.plan_limits"):
        messages = sync(config, select={"items", "tags"})
    said = [r.getMessage() for r in caplog.records if r.name.endswith("plan_limits")]
    assert len(said) == 1 and f'"tier":"{PLANS[plan].tier}"' in said[0], said  # monday's answer, as given

    share = TAP_SHARES.get(PLANS[plan].tier, SMALLEST_PLAN) if not PLANS[plan].trial else SMALLEST_PLAN
    assert _limits(config) == (share.max_concurrency, share.requests_per_minute)
    assert share.max_concurrency < (PLANS[plan].concurrency or 0)  # room left for the account's others
    assert _asked(em)["AccountTier"] == 1
    assert len(records(messages, "items")) == _items(em)


def test_settings_the_user_gives_are_kept_and_the_plan_is_not_asked(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=30, plan="enterprise", extra_tokens=(TOKEN,))
    config = _config(em, max_concurrency=3, requests_per_minute=500)
    sync(config, select={"items"})
    assert _limits(config) == (3, 500)
    assert "AccountTier" not in _asked(em)


def test_one_setting_given_the_other_from_the_plan(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=30, plan="pro", extra_tokens=(TOKEN,))
    config = _config(em, max_concurrency=5)
    sync(config, select={"items"})
    assert _limits(config) == (5, TAP_SHARES["pro"].requests_per_minute)


def test_an_unreadable_plan_keeps_the_smallest_limits_and_the_run_goes_on(
    emulator_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """The plan's request fails (HTTP 500, no retries left): one warning naming the cause, every record."""
    faults = FaultConfig(scripted=(ScriptedFault("AccountTier", 1, FaultKind.HTTP_500),))
    em = emulator_factory(boards=2, items_per_board=30, faults=faults, extra_tokens=(TOKEN,))
    config = _config(em, max_retries=0)
    with caplog.at_level(logging.WARNING, logger="tap_monday_boards.engine.plan_limits"):
        messages = sync(config, select={"items"})

    assert _limits(config) == (SMALLEST_PLAN.max_concurrency, SMALLEST_PLAN.requests_per_minute)
    warnings = [r.getMessage() for r in caplog.records if r.name.endswith("plan_limits")]
    assert len(warnings) == 1 and "could not read the account's plan" in warnings[0], warnings
    assert "500" in warnings[0] and TOKEN not in warnings[0]
    assert len(records(messages, "items")) == _items(em)
