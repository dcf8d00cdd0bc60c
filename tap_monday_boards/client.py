"""MondayStream: the SDK GraphQLStream base for the small (non-items) streams.

What it adds to ``GraphQLStream`` and why:
- auth, ``API-Version`` and ``User-Agent`` headers: monday wants the raw token and a pinned version;
- ``get_http_request`` clears URL params: the SDK 0.54 sends ``get_url_params`` both as GraphQL variables
  *and* as a query string, which would put ids/cursors into URLs and access logs;
- ``validate_response`` asks ``errors.classify``: monday reports most errors in HTTP 200 bodies, which the
  SDK 0.54 ignores (a silent zero-record sync). It raises errors.py's classes, which are the SDK's too:
  ``RetryableAPIError`` (an SDK ``RetriableAPIError``) for retriable decisions, ``MondayFatalAPIError``
  and its subclasses (SDK ``FatalAPIError``) for the rest;
- ``request_decorator`` retries with the one policy of both HTTP stacks (retry.py): the server's hint first,
  else equal-jitter exponential backoff; rate limits counted apart from ``max_retries``;
- every attempt draws from the process-wide governor (complexity budget, rate, concurrency), the same one the
  items engine uses, and settles with the real ``complexity.query`` of the answer; a rate-limit answer pauses
  that governor for the server's hint, or for its escalating wait when the answer has none (one wait policy
  for both HTTP stacks);
- a page refused as over monday's per-query complexity cap is asked again with a smaller ``limit`` from the
  same row (``request_records``, shrink.py), and the smaller limit is kept for the rest of the stream.
During a sync the engine fetches the small streams the tap knows (prefetch.py: every list on the engine's
loop, several boards per request, from the start of the sync); ``request_records`` then reads what it
fetched instead of sending requests, and turns an engine error into the same SDK exceptions. A stream the
engine does not fetch sends its own requests through the path above.
Messages name the stream, board id, HTTP status, monday code and request id; never the token.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

import requests
from backoff.types import Details
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseAPIPaginator, SinglePagePaginator
from singer_sdk.streams import GraphQLStream
from singer_sdk.streams.rest import HTTPRequest, PageContext
from typing_extensions import override

from tap_monday_boards import sdkcompat
from tap_monday_boards.engine.governor import Governor, get_governor
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.errors import (
    Decision,
    DecisionKind,
    MondayAPIError,
    MondayFatalAPIError,
    QueryTooComplexAPIError,
    RetryableAPIError,
    classify,
    error_for,
)
from tap_monday_boards.retry import RetryPolicy
from tap_monday_boards.shrink import PagePosition, over_cap_message
from tap_monday_boards.sources import engine_source

DEFAULT_PAGE_SIZE = 100

RETRIED_EXCEPTIONS: tuple[type[Exception], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
"""What an SDK stream retries: the SDK 0.54 ``request_decorator``'s list (its retriable errors, which
include errors.RetryableAPIError, and the network failures of ``requests``)."""


def sdk_error_for(decision: Decision, context: str) -> RetryableAPIError | MondayFatalAPIError:
    """``errors.error_for``, always as one of the SDK's classes: the SDK retries the first and fails on the
    second; an expired cursor (which only the engine's harvest can resume) is fatal here."""
    error = error_for(decision, context)
    if isinstance(error, RetryableAPIError | MondayFatalAPIError):
        return error
    return MondayFatalAPIError(decision, context)


def _decision_of(exc: BaseException) -> Decision:
    """The decision an exception carries; a network failure (no answer at all) is a transient one."""
    decision = getattr(exc, "decision", None)
    if isinstance(decision, Decision):
        return decision
    return Decision(DecisionKind.RETRY_BACKOFF, None, None, None, f"no answer: {type(exc).__name__}", 0)


def response_json(response: requests.Response) -> Any:
    """The parsed body, cached on the response (validate, parse and cost all read it)."""
    cached = getattr(response, "_monday_json", None)
    if cached is None:
        cached = json.loads(response.content) if response.content else None
        response._monday_json = cached  # type: ignore[attr-defined]
    return cached


class ShortPagePaginator(BaseAPIPaginator[PagePosition]):
    """Page-number pagination that stops on a short page, and can shrink its page size in place.

    monday's ``page``/``limit`` lists have no cursor or total: a page with fewer than ``limit`` records is the
    last one. (An empty page also stops; the SDK stops on it before asking us.) The token is a
    :class:`~tap_monday_boards.shrink.PagePosition` (rows read, limit), so a smaller limit recomputes the
    page number for the same next row.
    """

    def __init__(self, limit: int, count: Callable[[requests.Response], int]) -> None:
        super().__init__(start_value=PagePosition(0, limit))
        self._count = count

    @override
    def get_next(self, response: requests.Response) -> PagePosition | None:
        position = self.current_value
        return position.next() if self._count(response) >= position.limit else None

    def shrink(self, decision: Decision) -> PagePosition | None:
        """Move to the same row with a smaller limit; None (and no change) when the limit is already 1."""
        smaller = self.current_value.smaller(decision)
        if smaller is not None:
            self._value = smaller
        return smaller


class MondayStream(GraphQLStream):
    """Base of every small stream: headers, variables-only requests, error policy, governor, costs."""

    page_size: int | None = None
    """When set, the stream is paginated by page number and sends ``limit``/``page`` variables."""

    _page_limit: int | None = None
    """The page size in use: ``page_size`` until monday refuses a page as too complex, then smaller."""

    allow_redirects = False
    """monday's API never redirects; following one would resend the token to another URL and log that URL."""

    @property
    @override
    def url_base(self) -> str:
        return str(self.config["api_url"])

    @cached_property
    @override
    def authenticator(self) -> APIKeyAuthenticator:
        # monday documents the raw token (no scheme) in Authorization.
        token = str(self.config["api_token"])
        return APIKeyAuthenticator(key="Authorization", value=token, location="header")

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {
            "API-Version": str(self.config["api_version"]),
            "User-Agent": str(self.config["user_agent"]),
            "Content-Type": "application/json",
        }

    @property
    @override
    def timeout(self) -> int:
        return int(self.engine_settings.request_timeout)

    @cached_property
    def engine_settings(self) -> EngineSettings:
        """The config as the engine reads it: one place for defaults and bounds (engine/settings.py)."""
        return EngineSettings.from_config(self.config)

    # --- the request ------------------------------------------------------------------------------------

    def query_variables(
        self, context: Context | None, next_page_token: PagePosition | None
    ) -> dict[str, Any]:
        """Variables of the stream's document; page streams get ``limit`` and ``page`` always."""
        if self.page_size is None:
            return {}
        position = next_page_token or PagePosition(0, self._page_limit or self.page_size)
        return {"limit": position.limit, "page": position.page}

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        # GraphQLStream.prepare_request_payload reads the variables from here.
        return self.query_variables(context, next_page_token)

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.params = {}  # variables travel in the body only, never in the URL
        return request

    @override
    def request_records(self, context: Context | None) -> Iterable[dict]:
        """What the sync's engine fetched for this stream, else this stream's own paged requests."""
        source = engine_source(sdkcompat.tap_of(self))
        rows = None if source is None else source.records(self, context)
        if rows is None:
            yield from self._request_pages(context)
            return
        self._current_context = context
        try:
            yield from rows
        except MondayAPIError as exc:
            raise self._sdk_error(exc) from exc

    def _sdk_error(self, error: MondayAPIError) -> Exception:
        """An engine error as the SDK path raises it, naming this stream (and board) and the request."""
        where = f"{self._where()}: {error.context}" if error.context else self._where()
        return sdk_error_for(error.decision, where)

    @override
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        if self.page_size is None:
            return None
        limit = self._page_limit or self.page_size
        return ShortPagePaginator(limit, lambda response: len(list(self.parse_response(response))))

    def _request_pages(self, context: Context | None) -> Iterable[dict]:
        """The SDK's page loop (singer-sdk 0.54 ``request_records``), plus a smaller page on a refusal.

        Why our own loop: the SDK's cannot send a *different* request after an error; when monday refuses a
        page as over its per-query cap, only a smaller ``limit`` helps, so the paginator re-expresses its
        position with a smaller limit (same next row, page number recomputed) and the page is asked again.
        """
        paginator = self.get_new_paginator() or SinglePagePaginator()
        decorated_request = self.request_decorator(sdkcompat.http_request_function(self))
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            while not paginator.finished:
                prepared_request = sdkcompat.prepare_request(self, context, paginator)
                try:
                    response = decorated_request(prepared_request, context)
                except QueryTooComplexAPIError as exc:
                    self._smaller_page(paginator, exc)
                    continue
                request_counter.increment()
                self.update_sync_costs(prepared_request, response, context)
                records = iter(self.parse_response(response))
                try:
                    first_record = next(records)
                except StopIteration:
                    if paginator.continue_if_empty(response):
                        paginator.advance(response)
                        continue
                    break
                yield first_record
                yield from records
                paginator.advance(response)

    def _smaller_page(self, paginator: BaseAPIPaginator, exc: QueryTooComplexAPIError) -> None:
        """Shrink the page after a too-complex refusal, saying so once per stream; raise when it cannot."""
        decision = exc.decision
        refused = paginator.current_value if isinstance(paginator, ShortPagePaginator) else None
        smaller = paginator.shrink(decision) if isinstance(paginator, ShortPagePaginator) else None
        if refused is None or smaller is None:
            rows = f" with {refused.limit} row(s) per page" if refused is not None else ""
            context = f"{self._where()}: query {self.operation_name}{rows}"
            raise error_for(decision, context) from exc
        self._page_limit = smaller.limit
        log = self.logger.debug if self._told_smaller_page else self.logger.warning
        self._told_smaller_page = True
        log(
            "%s",
            over_cap_message(
                self._where(),
                f"query {self.operation_name} with {refused.limit} rows per page",
                decision,
                f"asking for the same rows {smaller.limit} per page from now on",
            ),
        )

    _told_smaller_page = False

    @property
    def operation_name(self) -> str:
        """The GraphQL operation name of the stream's document (``Users``, ``Boards``, ...)."""
        found = re.match(r"\s*(?:query|mutation)\s+(\w+)", str(self.query))
        return found.group(1) if found else self.name

    # --- errors and retries -----------------------------------------------------------------------------

    _current_context: Context | None = None
    """Context of the request in flight (set per attempt), so error messages can name the board."""

    def _where(self) -> str:
        board = (self._current_context or {}).get("board_id")
        return f"stream {self.name}" + (f", board {board}" if board else "")

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify every answer (HTTP status *and* GraphQL ``errors`` in 200 bodies) with errors.classify.

        Raises:
            RetryableAPIError: rate limit, budget, 5xx, transient field errors (``response`` set).
            QueryTooComplexAPIError: over the per-query cap (``request_records`` shrinks the page).
            MondayFatalAPIError: auth (``AuthenticationAPIError``), bad request, unknown board, daily quota,
                cursor errors.
        """
        try:
            body: Any = response_json(response)
        except ValueError:
            body = response.content
        decision = classify(response.status_code, response.headers, body)
        if decision.kind is DecisionKind.OK:
            return
        error = sdk_error_for(decision, self._where())  # the items engine's classes and wording
        if isinstance(error, RetryableAPIError):
            error.response = response  # the SDK's RetriableAPIError carries the failed answer
        raise error  # QueryTooComplexAPIError: request_records asks again with a smaller page

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The one retry policy of both HTTP stacks (retry.py), from this stream's settings."""
        return RetryPolicy.from_settings(self.engine_settings)

    def retry_wait(self, exception: BaseException, attempt: int) -> float:
        """Seconds before retry ``attempt`` (1-based, counted per kind) after ``exception``: the policy's.

        Rate limits: 0 here, because the governor was paused (for the server's hint, or its escalating wait
        when there is none) and the retry's ``acquire_blocking`` waits for that, once for the whole process.
        """
        return self.retry_policy.wait_s(_decision_of(exception), attempt)

    @override
    def backoff_max_tries(self) -> int:
        """Attempts of one request for errors other than rate limits (those are counted apart)."""
        return self.retry_policy.max_retries + 1

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Every attempt (retries included) goes through the process-wide governor; retries follow retry.py.

        Why not the SDK's ``backoff`` decorator: it has one try limit for every error, and the policy counts
        rate limits apart from the other errors (a rate limit is waited out, not an error of the request).
        The SDK's ``backoff_handler`` still logs each retry, as with its decorator.
        """

        def governed(prepared_request: requests.PreparedRequest, context: Context | None) -> Any:
            self._current_context = context
            permit = self.governor.acquire_blocking(self.governor_kind)
            complexity: Mapping[str, Any] | None = None
            ok = False
            try:
                response = func(prepared_request, context)  # validate_response raised unless it was usable
                complexity, ok = self._complexity_of(response), True
                return response
            except RetryableAPIError as exc:
                complexity = self._complexity_of(exc.response)
                if exc.decision.kind is DecisionKind.RETRY_AFTER:
                    # The limit is per account: pause every request of the process, not just this one.
                    # No hint in the answer (None): the governor's escalating wait.
                    self.governor.on_rate_limited(exc.decision.wait_s)
                raise
            finally:
                if complexity is None and not ok:
                    self.governor.release(permit)
                else:
                    self.governor.settle(permit, complexity, ok=ok)

        def retried(prepared_request: requests.PreparedRequest, context: Context | None) -> Any:
            retries = self.retry_policy.attempts()
            started = time.monotonic()
            tries = 0
            while True:
                tries += 1
                try:
                    return governed(prepared_request, context)
                except RETRIED_EXCEPTIONS as exc:
                    attempt = retries.next(_decision_of(exc))
                    if attempt is None:
                        raise
                    wait = self.retry_wait(exc, attempt)
                    details: Details = {
                        "target": func,
                        "args": (prepared_request, context),
                        "kwargs": {},
                        "tries": tries,
                        "elapsed": time.monotonic() - started,
                        "wait": wait,
                        "exception": exc,
                    }
                    self.backoff_handler(details)
                    if wait > 0:
                        time.sleep(wait)

        return retried

    @cached_property
    def governor(self) -> Governor:
        """The process-wide governor shared with the items engine (one per api_url + token)."""
        return get_governor(self.engine_settings)

    @property
    def governor_kind(self) -> str:
        """The governor learns an expected cost per kind of query; each stream sends one document."""
        return f"stream:{self.name}"

    @staticmethod
    def _complexity_of(response: requests.Response | None) -> Mapping[str, Any] | None:
        """The answer's ``complexity { before after query reset_in_x_seconds }`` object, if any."""
        if response is None:
            return None
        try:
            body = response_json(response)
        except ValueError:
            return None
        data = body.get("data") if isinstance(body, dict) else None
        complexity = data.get("complexity") if isinstance(data, dict) else None
        return complexity if isinstance(complexity, dict) else None

    @staticmethod
    def _cost_of(response: requests.Response | None) -> int | None:
        complexity = MondayStream._complexity_of(response)
        query_cost = complexity.get("query") if complexity else None
        return int(query_cost) if isinstance(query_cost, int | float) else None

    @override
    def calculate_sync_cost(
        self, request: requests.PreparedRequest, response: requests.Response, context: Context | None
    ) -> dict[str, int]:
        """Complexity points and requests per stream, summed and logged by the SDK at the end."""
        return {"complexity": self._cost_of(response) or 0, "requests": 1}

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        yield from self.parse_body(response_json(response))

    def parse_body(self, body: Any) -> Iterable[dict]:
        """The stream's rows in one decoded answer body (``{"data": ...}``), however it was fetched.

        Subclasses that reshape rows override this, not ``parse_response``, so answers fetched by the
        engine (batched.py) and by the SDK's own requests are read by the same code.
        """
        yield from extract_jsonpath(self.records_jsonpath, input=body)
