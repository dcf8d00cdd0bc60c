"""EngineSettings: the frozen, validated subset of the tap config that the items engine and governor use.

Why a separate, frozen object: the engine runs on a background thread and the governor is shared by the
whole process, so they must not read the SDK's mutable config dict; a frozen value is also hashable,
which lets :func:`~tap_monday_boards.engine.governor.get_governor` key one governor per (api_url, token).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tap_monday_boards.errors import register_secret

DEFAULT_API_URL = "https://api.monday.com/v2"
DEFAULT_API_VERSION = "2026-10"
MAX_HARVEST_PAGE = 500  # items_page / next_items_page limit
MAX_BATCH = 100  # items(ids:) at most 100 ids


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Knobs of the items engine. Every number has a unit in its docstring; bounds are checked once here."""

    api_token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    api_version: str = DEFAULT_API_VERSION
    harvest_page_size: int = MAX_HARVEST_PAGE
    """ids per items_page/next_items_page request (1..500)."""
    batch_size: int = MAX_BATCH
    """ids per items(ids:) request (1..100)."""
    max_concurrency: int = 24
    """requests in flight for the whole process (monday: 40/100/250 by plan)."""
    complexity_budget_per_minute: int = 10_000_000
    """complexity points per 60 s window (10M personal token, 1M trial/free)."""
    requests_per_minute: int = 1_000
    """request rate cap for the whole process (monday: 1,000/2,500/5,000 by plan)."""
    request_timeout: float = 60.0
    """seconds per request (monday's server side limit is 60 s)."""
    max_retries: int = 8
    """attempts after the first for one request (retryable answers only)."""
    backoff_base_s: float = 0.5
    """first exponential backoff step in seconds; doubles per attempt, full jitter."""
    backoff_max_s: float = 30.0
    """cap on one exponential backoff step, seconds."""
    rate_limit_first_wait_s: float = 2.0
    """seconds of the first pause for a rate-limit answer without a hint (the gateway's empty-body 429);
    each consecutive one doubles it (engine/governor.py)."""
    rate_limit_max_wait_s: float = 60.0
    """longest pause for rate-limit answers without a hint, seconds (monday's advice: 60)."""
    user_agent: str = "tap-monday-boards"
    include_archived: bool = False
    start_date: str | None = None
    """ISO-8601 lower bound on ``updated_at`` for the first incremental sync."""
    lookback_window_s: float = 300.0
    """incremental syncs re-read items updated this many seconds before the bookmark."""
    record_queue_size: int = 2_000
    """fetched records buffered per board before fetching for that board pauses."""
    progress_interval_s: float = 5.0
    """seconds between INFO progress lines per board."""
    harvest_order_column: str = "__creation_log__"
    """order of the id harvest; with a bookmark the engine uses ``__last_updated__``."""

    def __post_init__(self) -> None:
        problems = []
        if not self.api_token:
            problems.append("api_token is required")
        if not 1 <= self.harvest_page_size <= MAX_HARVEST_PAGE:
            problems.append(f"harvest_page_size must be 1..{MAX_HARVEST_PAGE}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            problems.append(f"batch_size must be 1..{MAX_BATCH}")
        if self.max_concurrency < 1:
            problems.append("max_concurrency must be >= 1")
        if self.complexity_budget_per_minute < 1:
            problems.append("complexity_budget_per_minute must be >= 1")
        if self.requests_per_minute < 1:
            problems.append("requests_per_minute must be >= 1")
        if self.request_timeout <= 0:
            problems.append("request_timeout must be > 0")
        if not 0 < self.rate_limit_first_wait_s <= self.rate_limit_max_wait_s:
            problems.append("rate_limit_first_wait_s must be > 0 and <= rate_limit_max_wait_s")
        if self.max_retries < 0:
            problems.append("max_retries must be >= 0")
        if self.record_queue_size < 1:
            problems.append("record_queue_size must be >= 1")
        if self.harvest_order_column not in ("__creation_log__", "__last_updated__"):
            problems.append("harvest_order_column must be __creation_log__ or __last_updated__")
        if problems:
            raise ValueError("invalid engine settings: " + "; ".join(problems))
        register_secret(self.api_token)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EngineSettings:
        """Build from the tap config; unknown keys are ignored, absent keys take the defaults above."""
        types = {name: str(f.type) for name, f in cls.__dataclass_fields__.items()}
        values: dict[str, Any] = {
            k: _coerce(v, types[k]) for k, v in config.items() if k in types and v is not None
        }
        if "lookback_window_minutes" in config and "lookback_window_s" not in values:
            values["lookback_window_s"] = float(config["lookback_window_minutes"]) * 60.0
        if "request_timeout_s" in config and "request_timeout" not in values:
            values["request_timeout"] = float(config["request_timeout_s"])
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
