"""EngineSettings: the frozen, validated subset of the tap config that the items engine and governor use,
and the one declaration of every default and bound the tap's settings schema shares with it.

Why a separate, frozen object: the engine runs on a background thread and the governor is shared by the
whole process, so they must not read the SDK's mutable config dict; a frozen value is also hashable,
which lets :func:`~tap_monday_boards.engine.governor.get_governor` key one governor per (api_url, token).

Why the defaults and bounds live here: the tap's settings schema (tap.py, what ``--about``, Meltano and the
README show) and this class describe the same settings; tap.py reads :data:`ENGINE_DEFAULTS` and
:func:`schema_bounds` instead of repeating a number, so the two cannot drift. A setting only the engine reads
(``backoff_base_s``, ``rate_limit_first_wait_s``, ...) is not in the schema, but a config may still set it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tap_monday_boards import __version__
from tap_monday_boards.errors import register_secret

DEFAULT_API_URL = "https://api.monday.com/v2"
DEFAULT_API_VERSION = "2026-10"
MAX_HARVEST_PAGE = 500  # items_page / next_items_page limit
MAX_BATCH = 100  # items(ids:) at most 100 ids
LOOKBACK_WINDOW_MINUTES = 5
"""default of the tap's ``lookback_window_minutes`` (the engine's ``lookback_window_s`` in seconds)."""


@dataclass(frozen=True, slots=True)
class PlanShare:
    """What the tap takes of one plan's per-account limits by default."""

    plan: str
    """the plan's name in log lines."""
    max_concurrency: int
    requests_per_minute: int
    account_concurrency: int
    """monday's limit for the whole account (published)."""
    account_requests_per_minute: int


SMALLEST_PLAN = PlanShare("smallest", 24, 1_000, 40, 1_000)
"""Every plan but Pro and Enterprise (and trials): 24 of 40 in flight, the whole 1,000 per minute (a
personal integration on such an account is usually the only heavy client)."""
TAP_SHARES: Mapping[str, PlanShare] = {
    "enterprise": PlanShare("enterprise", 100, 4_000, 250, 5_000),
    "pro": PlanShare("pro", 60, 2_000, 100, 2_500),
}
"""Plan tier (lower case) -> the tap's default share: at most 2/5 of the concurrency and 4/5 of the rate on
the plans that allow more than the smallest, the rest left to the account's other clients. A 429 from
monday is still honoured whatever the share (the governor pauses every request)."""
PLAN_SETTINGS = ("max_concurrency", "requests_per_minute")
"""The settings the plan decides when the user leaves them unset."""
MOST_IN_FLIGHT = max(share.max_concurrency for share in (SMALLEST_PLAN, *TAP_SHARES.values()))
"""The most requests in flight of any plan's share (sizes the connection pool before the plan is known)."""


def share_for(account: Mapping[str, Any] | None) -> PlanShare:
    """The share for ``account { tier is_during_trial plan { tier } }``; :data:`SMALLEST_PLAN` when unknown.

    The plan's tier is read first, the account's tier second; an account in its trial has the smallest
    plan's limits whatever the tier of the plan it tries."""
    if not isinstance(account, Mapping) or account.get("is_during_trial") is True:
        return SMALLEST_PLAN
    plan = account.get("plan")
    tiers = (plan.get("tier") if isinstance(plan, Mapping) else None, account.get("tier"))
    for tier in tiers:
        if isinstance(tier, str) and tier.strip():
            return TAP_SHARES.get(tier.strip().lower(), SMALLEST_PLAN)
    return SMALLEST_PLAN


def _bounded(default: Any, minimum: int, maximum: int | None = None) -> Any:
    """A field with its bounds as metadata: checked in ``__post_init__`` and copied into the tap's schema."""
    bounds = {"minimum": minimum} if maximum is None else {"minimum": minimum, "maximum": maximum}
    return field(default=default, metadata=bounds)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Knobs of the items engine. Every number has a unit in its docstring; bounds are declared once here."""

    api_token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    api_version: str = DEFAULT_API_VERSION
    harvest_page_size: int = _bounded(MAX_HARVEST_PAGE, 1, MAX_HARVEST_PAGE)
    """ids per items_page/next_items_page request (1..500)."""
    batch_size: int = _bounded(MAX_BATCH, 1, MAX_BATCH)
    """ids per items(ids:) request (1..100)."""
    max_concurrency: int = _bounded(SMALLEST_PLAN.max_concurrency, 1)
    """requests in flight for the whole process (monday: 40/100/250 by plan)."""
    complexity_budget_per_minute: int = _bounded(10_000_000, 1)
    """complexity points per 60 s window (10M personal token, 1M trial/free)."""
    requests_per_minute: int = _bounded(SMALLEST_PLAN.requests_per_minute, 1)
    """request rate cap for the whole process (monday: 1,000/2,500/5,000 by plan)."""
    request_timeout: float = _bounded(60.0, 1)
    """seconds per request (monday's server side limit is 60 s)."""
    max_retries: int = _bounded(8, 0)
    """retries of one request after the first attempt, for retryable answers other than rate limits (those
    are counted apart, retry.py)."""
    backoff_base_s: float = 0.5
    """first exponential backoff step in seconds; doubles per attempt, equal jitter (retry.py)."""
    backoff_max_s: float = 30.0
    """cap on one exponential backoff step, seconds."""
    rate_limit_first_wait_s: float = 2.0
    """seconds of the first pause for a rate-limit answer without a hint (the gateway's empty-body 429);
    each consecutive one doubles it (engine/governor.py)."""
    rate_limit_max_wait_s: float = 60.0
    """longest pause for rate-limit answers without a hint, seconds (monday's advice: 60)."""
    user_agent: str = f"tap-monday-boards/{__version__}"
    include_archived: bool = False
    start_date: str | None = None
    """ISO-8601 lower bound on ``updated_at`` for the first incremental sync."""
    lookback_window_s: float = LOOKBACK_WINDOW_MINUTES * 60.0
    """incremental syncs re-read items updated this many seconds before the bookmark."""
    record_queue_size: int = _bounded(2_000, 1)
    """fetched records buffered per board before fetching for that board pauses."""
    progress_interval_s: float = 5.0
    """seconds between INFO progress lines per board."""
    limits_from_plan: tuple[str, ...] = ()
    """Of :data:`PLAN_SETTINGS`, those the account's plan decides (engine/plan_limits.py): the tap config
    leaves them unset. Until the plan is known they hold the smallest plan's share."""

    def __post_init__(self) -> None:
        problems = []
        if not self.api_token:
            problems.append("api_token is required")
        for name, bounds in _BOUNDS.items():
            value = getattr(self, name)
            low, high = bounds["minimum"], bounds.get("maximum")
            if value < low or (high is not None and value > high):
                problems.append(
                    f"{name} must be {low}..{high}" if high is not None else f"{name} must be >= {low}"
                )
        if not 0 < self.rate_limit_first_wait_s <= self.rate_limit_max_wait_s:
            problems.append("rate_limit_first_wait_s must be > 0 and <= rate_limit_max_wait_s")
        if problems:
            raise ValueError("invalid engine settings: " + "; ".join(problems))
        register_secret(self.api_token)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EngineSettings:
        """Build from the tap config; unknown keys are ignored, absent keys take the defaults above.

        Each field reads the setting of the same name; ``lookback_window_s`` also reads the tap's
        ``lookback_window_minutes`` (the only setting whose unit differs).
        """
        types = {name: str(f.type) for name, f in cls.__dataclass_fields__.items()}
        values: dict[str, Any] = {
            k: _coerce(v, types[k]) for k, v in config.items() if k in types and v is not None
        }
        values["limits_from_plan"] = tuple(name for name in PLAN_SETTINGS if config.get(name) is None)
        if "lookback_window_minutes" in config and "lookback_window_s" not in values:
            values["lookback_window_s"] = float(config["lookback_window_minutes"]) * 60.0
        return cls(**values)

    @property
    def governor_key(self) -> tuple[str, str]:
        """Limits are per account and token, so the process keeps one governor per (url, token)."""
        return (self.api_url, self.api_token)


def _coerce(value: Any, type_name: str) -> Any:
    """The SDK parses JSON config numbers as ``Decimal``; the engine's arithmetic wants int/float."""
    if isinstance(value, bool):
        return value
    if type_name == "float" and isinstance(value, int | float | Decimal):
        return float(value)
    if type_name == "int" and isinstance(value, int | float | Decimal):
        if value != int(value):
            raise ValueError(f"invalid engine settings: {value} is not a whole number")
        return int(value)
    return value


_BOUNDS: dict[str, dict[str, int]] = {
    f.name: dict(f.metadata) for f in dataclasses.fields(EngineSettings) if "minimum" in f.metadata
}

ENGINE_DEFAULTS: Mapping[str, Any] = {
    f.name: f.default for f in dataclasses.fields(EngineSettings) if f.default is not dataclasses.MISSING
}
"""Setting name -> default, for tap.py's schema (the one place each default is written is the field)."""


def schema_bounds(name: str) -> dict[str, int]:
    """``minimum``/``maximum`` of a bounded setting, as JSON schema keywords for tap.py's schema."""
    return dict(_BOUNDS[name])
