"""Shared pytest fixtures: emulators on loopback.

``emulator`` is one small, instant, fault-free account for the whole session (3 boards x 200 items): read-only
tests share it. Tests that change data, count requests, or need limits/faults/latency start their own with
``emulator_factory(**config)``; each is stopped when the test ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from multidict import CIMultiDict

if TYPE_CHECKING:
    from monday_emulator.testing import RunningEmulator

SMALL_EMULATOR = {"seed": 42, "boards": 3, "items_per_board": 200, "latency": "instant"}


@pytest.fixture(autouse=True)
def _fresh_governors() -> Iterator[None]:
    """Every test starts and ends with no process-wide governor, so no budget or pause leaks between tests."""
    from tap_monday_boards.engine.governor import reset_governors  # noqa: PLC0415

    reset_governors()
    yield
    reset_governors()


@pytest.fixture(autouse=True)
def _no_output_left_waiting() -> Iterator[None]:
    """No test leaves RECORD lines waiting in the tap's stdout queue (output.py) for the next test's
    captured stdout: a sync ends with its STATE, an error with a flush."""
    from tap_monday_boards.output import OUTPUT  # noqa: PLC0415

    yield
    assert OUTPUT.waiting == 0, f"{OUTPUT.waiting} bytes of output left waiting (never written)"


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """A shared small emulator (seed 42, 3 boards x 200 items, instant, no faults). Do not mutate it."""
    # Imported here so test modules that never start an emulator do not depend on it importing.
    from monday_emulator.server import EmulatorConfig  # noqa: PLC0415
    from monday_emulator.testing import running_emulator  # noqa: PLC0415

    with running_emulator(EmulatorConfig(**SMALL_EMULATOR)) as running:
        yield running


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., RunningEmulator]]:
    """Start custom emulators: ``emulator_factory(plan="trial", faults=..., clock=FakeClock())``.

    Keyword arguments are :class:`EmulatorConfig` fields; unspecified ones default to the small emulator.
    """
    from monday_emulator.server import EmulatorConfig  # noqa: PLC0415
    from monday_emulator.testing import running_emulator  # noqa: PLC0415

    with ExitStack() as stack:

        def start(**overrides: Any) -> RunningEmulator:
            return stack.enter_context(running_emulator(EmulatorConfig(**{**SMALL_EMULATOR, **overrides})))

        yield start


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """One raw HTTP answer: status, headers and body (parsed as JSON when it is JSON)."""

    status: int
    headers: CIMultiDict[str]
    raw: bytes

    @property
    def json(self) -> Any:
        """The body as JSON (raises on a non-JSON body, which is what fault tests want to see)."""
        return json.loads(self.raw)


async def post_graphql(
    session: aiohttp.ClientSession,
    url: str,
    query: str,
    *,
    token: str | None,
    variables: dict[str, Any] | None = None,
    version: str | None = "2026-10",
    headers: dict[str, str] | None = None,
) -> HttpAnswer:
    """POST one GraphQL request the way a client does (raw token, API-Version) and read the whole answer."""
    sent = dict(headers or {})
    if token is not None:
        sent.setdefault("Authorization", token)
    if version is not None:
        sent.setdefault("API-Version", version)
    async with session.post(url, json={"query": query, "variables": variables}, headers=sent) as response:
        return HttpAnswer(response.status, CIMultiDict(response.headers), await response.read())


@pytest.fixture
def gql() -> Callable[..., HttpAnswer]:
    """Synchronous one-shot client: ``gql(running, query, variables=, version=, token=, headers=)``.

    ``token`` defaults to the emulator's token; pass ``token=None`` to send none.
    """

    def call(running: RunningEmulator, query: str, **kwargs: Any) -> HttpAnswer:
        kwargs.setdefault("token", running.token)

        async def go() -> HttpAnswer:
            async with aiohttp.ClientSession() as session:
                return await post_graphql(session, running.url, query, **kwargs)

        return asyncio.run(go())

    return call
