"""One aiohttp session for the engine; ``send`` = governor + HTTP + :func:`errors.classify` + retries.

Why here and only here: every retry must wait for the governor again (a retried request costs budget like
any other), every answer must be classified by the same table as the SDK streams use, and a retry must
happen before any record of that answer is handed on, so nothing is emitted twice. Callers get parsed
``data`` or a typed exception:

* :class:`~tap_monday_boards.errors.CursorExpiredAPIError` - the harvest starts a fresh chain;
* :class:`~tap_monday_boards.errors.RequestTimeoutError` - after ``max_timeouts`` consecutive timeouts (the
  fetch splits the batch);
* :class:`~tap_monday_boards.errors.QueryTooComplexAPIError` - over the per-query cap: at once (the same
  document would be refused again); the fetch and the harvest catch it and send a smaller one;
* :class:`~tap_monday_boards.errors.MondayFatalAPIError` / ``AuthenticationAPIError`` - at once, never
  retried;
* :class:`~tap_monday_boards.errors.RetryableAPIError` - when the retries of :mod:`tap_monday_boards.retry`'s
  policy are spent (rate limits and other errors counted apart; waits from the same policy).

The errors are the SDK's classes too (errors.py), so an engine error reaching the SDK is one of its own.

The token is only ever placed in the ``Authorization`` header; no log line or error contains headers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

from tap_monday_boards.engine.governor import Governor, Permit
from tap_monday_boards.engine.settings import MOST_IN_FLIGHT, EngineSettings
from tap_monday_boards.errors import (
    Decision,
    DecisionKind,
    RequestTimeoutError,
    RetryableAPIError,
    classify,
    error_for,
)
from tap_monday_boards.retry import RetryPolicy

if TYPE_CHECKING:
    # Imported where a session starts (``Transport.__aenter__``) instead: aiohttp's import is ~80 ms of CPU,
    # which ``--discover`` and ``--about`` (they never send a request) would pay for nothing; Meltano runs
    # a forced ``--discover`` before every sync.
    import aiohttp

logger = logging.getLogger(__name__)

_DECODER = msgspec.json.Decoder()
_TIMEOUT_STATUSES = frozenset({408, 504})


def _decode(raw: bytes, typed: Callable[[bytes], dict[str, Any] | None] | None) -> Any:
    """The parsed body: typed when ``typed`` accepts it, else generic JSON, else the raw bytes (not JSON)."""
    if not raw:
        return None
    if typed is not None:
        body = typed(raw)
        if body is not None:
            return body
    try:
        return _DECODER.decode(raw)
    except msgspec.DecodeError:
        return raw


AttemptOutcome = Literal["answered", "timeout", "failed"]


class AttemptObserver(Protocol):
    """Watches each HTTP attempt of one request: sets its timeout, hears how long it took.

    The harvest's critical path (critical.py) uses it to time out and hedge a stalled page after seconds
    instead of ``request_timeout``, measuring only the exchange itself (not the wait for the governor).
    """

    def attempt_timeout_s(self) -> float | None:
        """Seconds this attempt may take (None: the session's ``request_timeout``)."""
        ...

    def attempt_started(self) -> None:
        """The governor admitted the attempt; it is being sent now."""
        ...

    def attempt_ended(self, seconds: float, outcome: AttemptOutcome) -> None:
        """The attempt is over after ``seconds``: an answer arrived, it timed out, or it failed otherwise
        (connection error, cancelled)."""
        ...


@dataclass(frozen=True, slots=True)
class Request:
    """One GraphQL request and how the governor should account for it."""

    operation: str
    query: str
    variables: Mapping[str, Any]
    kind: str
    """governor cost class, e.g. ``ItemsByIds:<board>``."""
    units: int = 1
    """cost scales with this (ids in a batch, page size)."""
    priority: int = 0
    context: str = ""
    """names the operation and board in logs and errors."""
    stat_key: str | None = None
    """retries are counted under this key (the board id)."""
    observer: AttemptObserver | None = field(default=None, compare=False)
    """per-attempt timeout and latency reports (harvest pages); None = session defaults."""
    decode: Callable[[bytes], dict[str, Any] | None] | None = field(default=None, compare=False)
    """typed decoder of a successful answer (e.g. ``wire.decode_answer``): returns the body with typed
    ``data`` or None, and then the answer is decoded generically (and classified as usual)."""


class Transport:
    """Owns the aiohttp session; create inside the engine's loop, close on every exit path."""

    def __init__(
        self,
        settings: EngineSettings,
        governor: Governor,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.governor = governor
        self._sleep = sleep
        self.policy = RetryPolicy.from_settings(settings, rng or random.Random(0))
        """waits and retry counts (retry.py), the same policy as the SDK streams'."""
        self._session: aiohttp.ClientSession | None = None
        self.retries: Counter[str] = Counter()
        self.requests = 0
        self._headers = {
            "Authorization": settings.api_token,
            "API-Version": settings.api_version,
            "Content-Type": "application/json",
            "User-Agent": settings.user_agent,
        }

    async def __aenter__(self) -> Transport:
        import aiohttp  # noqa: PLC0415 - only a sync needs it (see the TYPE_CHECKING import)

        # the plan may raise the in-flight limit during the run (engine/plan_limits.py): room for its share
        in_flight = self.settings.max_concurrency
        if "max_concurrency" in self.settings.limits_from_plan:
            in_flight = max(in_flight, MOST_IN_FLIGHT)
        connector = aiohttp.TCPConnector(limit=max(1, in_flight) + 4)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout),
            json_serialize=lambda obj: msgspec.json.encode(obj).decode(),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _post(
        self, request: Request, timeout_s: float | None = None
    ) -> tuple[int, Mapping[str, str], Any]:
        """One HTTP exchange. Returns (status, headers, parsed body or raw bytes if not JSON)."""
        import aiohttp  # noqa: PLC0415 - loaded by __aenter__ (see the TYPE_CHECKING import)

        assert self._session is not None, "Transport used outside its context"
        payload = {"query": request.query, "variables": request.variables, "operationName": request.operation}
        timeout = aiohttp.ClientTimeout(total=timeout_s) if timeout_s is not None else self._session.timeout
        async with self._session.post(
            self.settings.api_url,
            data=msgspec.json.encode(payload),
            headers=self._headers,
            allow_redirects=False,  # never resend the token to a URL the server names
            timeout=timeout,
        ) as response:
            raw = await response.read()
            typed = request.decode if response.status == 200 else None
            return response.status, response.headers, _decode(raw, typed)

    async def send(self, request: Request, *, max_timeouts: int | None = None) -> dict[str, Any]:
        """Send until a usable answer; returns the body's ``data`` (``complexity`` included)."""
        retries = self.policy.attempts()
        timeouts = 0
        while True:
            permit = await self.governor.acquire(request.kind, request.units, priority=request.priority)
            decision, data = await self._exchange(request, permit)
            if decision is None:  # timeout or connection error: no answer at all
                timeouts = timeouts + 1 if data == "timeout" else 0
                if max_timeouts is not None and timeouts >= max_timeouts:
                    raise RequestTimeoutError(
                        Decision(DecisionKind.RETRY_BACKOFF, None, None, None, "request timed out", 0),
                        request.context,
                    )
                decision = Decision(DecisionKind.RETRY_BACKOFF, None, None, None, str(data), 0)
            elif decision.kind is DecisionKind.OK:
                assert isinstance(data, dict)
                return data
            elif decision.http_status in _TIMEOUT_STATUSES:  # the gateway gave up on a heavy request
                timeouts += 1
                if max_timeouts is not None and timeouts >= max_timeouts:
                    raise RequestTimeoutError(decision, request.context)
            else:
                timeouts = 0
            if not decision.retryable:
                raise error_for(decision, request.context)
            attempt = retries.next(decision)
            limit = self.policy.limit(decision)
            if decision.kind is DecisionKind.RETRY_AFTER:
                if attempt is None:
                    raise RetryableAPIError(decision, request.context)
                paused = self.governor.on_rate_limited(decision.wait_s)  # None: no hint, the governor's wait
                self._count_retry(request, decision, attempt, limit, paused)
                continue  # the next acquire waits for the pause
            if attempt is None:
                raise RetryableAPIError(decision, f"{request.context} after {retries.transient} attempts")
            delay = self.policy.wait_s(decision, attempt)
            self._count_retry(request, decision, attempt, limit, delay)
            await self._sleep(delay)

    async def _exchange(self, request: Request, permit: Permit) -> tuple[Decision | None, Any]:
        """Send once under ``permit``; settle the governor with the answer's real cost."""
        import aiohttp  # noqa: PLC0415 - loaded by __aenter__ (see the TYPE_CHECKING import)

        settled = False
        observer = request.observer
        timeout_s = observer.attempt_timeout_s() if observer is not None else None
        started = time.monotonic()
        outcome: AttemptOutcome = "failed"
        try:
            self.requests += 1
            if observer is not None:
                observer.attempt_started()
            status, headers, body = await self._post(request, timeout_s)
            outcome = "answered"
            data = body.get("data") if isinstance(body, dict) else None
            complexity = data.get("complexity") if isinstance(data, dict) else None
            decision = classify(status, headers, body)
            self.governor.settle(
                permit,
                complexity if isinstance(complexity, dict) else None,
                ok=decision.kind is DecisionKind.OK,
            )
            settled = True
            return decision, data
        except TimeoutError:
            outcome = "timeout"
            return None, "timeout"
        except (aiohttp.ClientError, ConnectionError) as exc:
            return None, f"connection error: {type(exc).__name__}"
        finally:
            if observer is not None:
                observer.attempt_ended(time.monotonic() - started, outcome)
            if not settled:
                self.governor.release(permit)

    def _count_retry(
        self, request: Request, decision: Decision, attempt: int, limit: int, wait: float
    ) -> None:
        if request.stat_key is not None:
            self.retries[request.stat_key] += 1
        logger.warning(
            "%s: retrying (%s) attempt %d/%d in %.1f s: %s",
            request.context or request.operation,
            decision.kind.value,
            attempt,
            limit,
            wait,
            decision.describe(),
        )
