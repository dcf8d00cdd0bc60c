"""A small, honest GraphQL client for the baseline strategies (a) and (b).

Why not the tap's engine: the baselines stand for "how loaders usually do it", so they get only what every
reasonable client has: one aiohttp session, the tap's error classifier (so a 429 is waited out exactly as
the API asks), a bounded number of retries, and counters. No governor, no pacing: rejections show up in
the results instead, which is part of what the benchmark compares.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tap_monday_boards.engine.settings import DEFAULT_API_VERSION  # the version the tap pins
from tap_monday_boards.errors import DecisionKind, classify

Sleep = Callable[[float], Awaitable[None]]


class BenchClientError(RuntimeError):
    """A request that failed for good: fatal classification or retries exhausted."""


@dataclass(slots=True)
class ClientStats:
    """What the client saw; the emulator's /metrics is the server-side view of the same run."""

    requests: Counter[str] = field(default_factory=Counter)
    complexity_spent: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "requests_by_kind": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "complexity_spent": self.complexity_spent,
            "rejections_by_code": dict(self.rejections),
            "retries": self.retries,
        }


class BenchClient:
    """POSTs named operations to one endpoint and retries what the classifier says is retryable.

    Used as an async context manager so the session is always closed (pytest turns an unclosed session
    warning into an error).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        max_connections: int,
        api_version: str = DEFAULT_API_VERSION,
        timeout_s: float = 60.0,
        max_retries: int = 10,
        sleep: Sleep = asyncio.sleep,
        seed: int = 0,
    ) -> None:
        self._url = url
        self._headers = {
            "Authorization": token,
            "API-Version": api_version,
            "Content-Type": "application/json",
        }
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_retries = max_retries
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._session: aiohttp.ClientSession | None = None
        self.stats = ClientStats()

    async def __aenter__(self) -> BenchClient:
        connector = aiohttp.TCPConnector(limit=self._max_connections)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Send one operation, retrying as classified; return its ``data``.

        Raises:
            BenchClientError: fatal answer (auth, bad request, expired cursor) or retries exhausted. The
                message carries the operation name and the classifier's token-free description.
        """
        assert self._session is not None, "use BenchClient as an async context manager"
        payload = json.dumps({"query": query, "variables": variables, "operationName": operation})
        for attempt in range(self._max_retries + 1):
            self.stats.requests[operation] += 1
            try:
                async with self._session.post(self._url, data=payload, headers=self._headers) as response:
                    body = await response.read()
                    status = response.status
                    headers = dict(response.headers)
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                if attempt >= self._max_retries:
                    raise BenchClientError(f"{operation}: connection failed: {type(exc).__name__}") from exc
                self.stats.retries += 1
                await self._sleep(self._backoff(attempt))
                continue
            decision = classify(status, headers, body)
            if decision.kind is DecisionKind.OK:
                parsed = json.loads(body)
                complexity = (parsed.get("data") or {}).get("complexity") or {}
                self.stats.complexity_spent += int(complexity.get("query") or 0)
                return parsed["data"]
            if not decision.retryable or attempt >= self._max_retries:
                raise BenchClientError(f"{operation} attempt {attempt + 1}: {decision.describe()}")
            self.stats.retries += 1
            self.stats.rejections[decision.code or f"HTTP {status}"] += 1
            if decision.kind is DecisionKind.RETRY_AFTER and decision.wait_s is not None:
                await self._sleep(decision.wait_s)
            else:
                await self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at 10 s (5xx and connection errors only)."""
        return self._rng.uniform(0.0, min(10.0, 0.25 * 2**attempt))
