"""Version routing and response bodies, exactly as monday.com shapes them per ``API-Version``.

monday changed its error format three times: up to 2024-07 errors were a flat legacy object (``error_code``,
``error_message``, ``status_code``, ``account_id``); 2024-10 sent that object *and* a GraphQL ``errors``
array; 2025-01 kept only the GraphQL array; 2025-07 moved budget exhaustion to HTTP 429 with a slimmer
``extensions``. A tap has to survive all of them, so the emulator produces each one. Everything here is a pure
function (no I/O, no clock) so the shapes can be checked with table tests.

Sources, named short below: monday's "versioning page"
(https://developer.monday.com/api-reference/docs/api-versioning), "error-handling page"
(.../docs/error-handling), "rate-limits page" (.../docs/rate-limits) and changelog
(https://developer.monday.com/api-reference/changelog); real answers: "monday_ruby recordings" (responses
recorded in github.com/sanifhimani/monday_ruby, spec/fixtures/vcr_cassettes) and "gateway answers"
(github.com/mondaycom/mcp, packages/agent-toolkit/src/utils/tests/error.utils.test.ts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

CURRENT_VERSION = "2026-10"
"""Served when the header is missing or names a well-formed version that does not exist (versioning page)."""

RELEASE_CANDIDATE = "2027-01"
MAINTENANCE_VERSION = "2026-07"
"""Where deprecated versions go when lifecycle routing is on (versioning page)."""

KNOWN_VERSIONS: tuple[str, ...] = (
    "2023-10", "2024-01", "2024-04", "2024-07", "2024-10", "2025-01", "2025-04", "2025-07",
    "2025-10", "2026-01", "2026-04", "2026-07", "2026-10", "2027-01",
)
DEPRECATED_VERSIONS: frozenset[str] = frozenset(
    {"2023-10", "2024-01", "2024-04", "2024-07", "2024-10", "2025-01"}
)
"""Versions no longer in the versioning page's table or past their deprecation date (2026-02-15)."""

_WELL_FORMED = re.compile(r"^\d{4}-\d{2}$")

# Error codes of the limits engine (rate-limits and error-handling pages, gateway answers).
COMPLEXITY_BUDGET_EXHAUSTED = "COMPLEXITY_BUDGET_EXHAUSTED"
MINUTE_RATE_LIMIT_EXCEEDED = "MINUTE_RATE_LIMIT_EXCEEDED"
MAX_CONCURRENCY_EXCEEDED = "MAX_CONCURRENCY_EXCEEDED"
DAILY_LIMIT_EXCEEDED = "DAILY_LIMIT_EXCEEDED"
IP_RATE_LIMIT_EXCEEDED = "IP_RATE_LIMIT_EXCEEDED"
COMPLEXITY_EXCEPTION = "ComplexityException"
"""Single query above the per-query cap (rate-limits page) and the legacy name of budget exhaustion."""

LIMIT_MESSAGES: dict[str, str] = {
    COMPLEXITY_BUDGET_EXHAUSTED: "Complexity budget exhausted",
    MINUTE_RATE_LIMIT_EXCEEDED: "Minute rate limit exceeded",
    MAX_CONCURRENCY_EXCEEDED: "Too many concurrent requests",
    DAILY_LIMIT_EXCEEDED: "Daily limit exceeded",
    IP_RATE_LIMIT_EXCEEDED: "IP rate limit exceeded",
    COMPLEXITY_EXCEPTION: "Query has complexity of {cost}, which exceeds max complexity of {limit}",
}


@dataclass(frozen=True, slots=True)
class VersionRoute:
    """Outcome of reading the ``API-Version`` header.

    ``served`` is the version whose shapes are used and echoed; ``error_code`` is set when the request must be
    refused (malformed version, or missing header in strict mode) with ``http_status``.
    """

    served: str
    error_code: str | None = None
    http_status: int = 200
    message: str = ""


def route_version(  # noqa: PLR0911 - one return per documented routing rule
    header: str | None, *, lifecycle: bool = False, require_header: bool = False
) -> VersionRoute:
    """Resolve the requested version the way the versioning page's "Troubleshooting" describes.

    Missing → current (or HTTP 400 ``API_VERSION_REQUIRED`` when ``require_header``, the announced
    2026-11 rule); ``current``/``dev``/``release_candidate`` aliases; well-formed unknown → current;
    malformed → ``InvalidVersionException``. With ``lifecycle`` deprecated versions are served by
    maintenance; without it every known version is served as asked, so old error shapes stay testable.
    """
    if header is None or not header.strip():
        if require_header:
            return VersionRoute(
                CURRENT_VERSION, "API_VERSION_REQUIRED", 400, "The API-Version header is required"
            )
        return VersionRoute(CURRENT_VERSION)
    value = header.strip().lower()
    aliases = {"current": CURRENT_VERSION, "release_candidate": RELEASE_CANDIDATE, "dev": RELEASE_CANDIDATE,
               "maintenance": MAINTENANCE_VERSION}
    if value in aliases:
        return VersionRoute(aliases[value])
    if not _WELL_FORMED.match(value):
        return VersionRoute(
            CURRENT_VERSION, "InvalidVersionException", 200,
            f"Invalid API version '{header.strip()}'. Use a version in the format YYYY-MM",
        )
    if value not in KNOWN_VERSIONS:
        return VersionRoute(CURRENT_VERSION)
    if lifecycle and value in DEPRECATED_VERSIONS:
        return VersionRoute(MAINTENANCE_VERSION)
    return VersionRoute(value)


def is_legacy(version: str) -> bool:
    """≤2024-07: flat legacy error object only, ``account_id`` on every body, no request id."""
    return version <= "2024-07"


def is_transition(version: str) -> bool:
    """2024-10: legacy fields *and* the GraphQL ``errors`` array, plus ``extensions.request_id``."""
    return version == "2024-10"


def has_request_id(version: str) -> bool:
    """``extensions.request_id`` exists from 2024-10 on (monday-api-python-sdk, graphql_errors.py)."""
    return version >= "2024-10"


def has_account_id(version: str) -> bool:
    """``account_id`` is returned by default only before 2025-01 (changelog)."""
    return version < "2025-01"


def budget_is_http_429(version: str) -> bool:
    """2025-07 made budget exhaustion an HTTP 429; 2025-01/04 answered HTTP 200 (the name of a fixture of
    Airbyte's monday connector, ``200_complexityBudgetExhausted.json``)."""
    return version >= "2025-07" or version <= "2024-10"


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer the server sends as is: status, extra headers and a JSON-able body (or raw bytes)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """Compact JSON, like monday (no spaces); raw bytes/str pass through unchanged."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        # msgspec writes the same compact UTF-8 JSON as json.dumps at a fraction of the cost (on ``instant``
        # encoding was a sixth of the emulator's CPU). One difference: a non-finite float becomes null,
        # where json.dumps writes NaN, which is not JSON and which monday never sends.
        try:
            return _ENCODER.encode(self.body)
        except (TypeError, msgspec.EncodeError):  # a type msgspec does not know: json.dumps decides
            text = json.dumps(self.body, separators=(",", ":"), ensure_ascii=False, default=_raw_json)
            return text.encode()


_ENCODER = msgspec.json.Encoder()


def _raw_json(value: Any) -> Any:
    """json.dumps' view of a ``msgspec.Raw`` (JSON already written: ``Executor.execute(encoded=True)``)."""
    if isinstance(value, msgspec.Raw):
        return msgspec.json.decode(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _top(version: str, request_id: str, account_id: int) -> dict[str, Any]:
    """Top-level bookkeeping fields a body of ``version`` carries (account id and/or request id)."""
    out: dict[str, Any] = {}
    if has_account_id(version):
        out["account_id"] = account_id
    if has_request_id(version):
        out["extensions"] = {"request_id": request_id}
    return out


def success_body(
    version: str, data: dict[str, Any] | None, errors: list[dict[str, Any]], request_id: str, account_id: int
) -> Reply:
    """An executed query: ``data`` (maybe partial) plus the executor's errors in the version's envelope.

    Executor errors (``CursorException``, ``InvalidArgumentException`` …) are application errors, so HTTP 200
    in every version (error-handling page). Legacy versions report only the first coded error, as the flat
    object.
    """
    if not errors:
        return Reply(200, {"data": data, **_top(version, request_id, account_id)})
    coded = next((e for e in errors if (e.get("extensions") or {}).get("code")), None)
    body: dict[str, Any] = {}
    if (is_legacy(version) or is_transition(version)) and coded is not None:
        ext = coded.get("extensions") or {}
        body.update(legacy_fields(ext["code"], coded.get("message", ""), ext.get("error_data") or {},
                                  int(ext.get("status_code") or 200)))
        if is_legacy(version):
            body.update(_top(version, request_id, account_id))
            return Reply(200, body)
    if data is not None:
        body["data"] = data
    body["errors"] = errors
    body.update(_top(version, request_id, account_id))
    return Reply(200, body)


def legacy_fields(code: str, message: str, error_data: dict[str, Any], status_code: int) -> dict[str, Any]:
    """The flat pre-2025 error object (2024-07 monday_ruby recordings)."""
    return {"error_message": message, "error_code": code, "error_data": error_data,
            "status_code": status_code}


def validation_error_body(
    version: str, errors: list[dict[str, Any]], request_id: str, account_id: int
) -> Reply:
    """Schema/parse errors: HTTP 200 with ``errors[]`` (message, locations) in every version (monday_ruby
    recordings).

    graphql-core quotes names with ``'``; monday's server (graphql-ruby) uses ``"`` (a 2025-07 monday_ruby
    recording).
    """
    shaped = [{**e, "message": str(e.get("message", "")).replace("'", '"')} for e in errors]
    return Reply(200, {"errors": shaped, **_top(version, request_id, account_id)})


def limit_error(
    version: str,
    code: str,
    retry_in_seconds: int,
    request_id: str,
    account_id: int,
    *,
    cost: int = 0,
    budget_left: int = 0,
    budget_limit: int = 0,
) -> Reply:
    """A rejection by the limits engine, shaped for ``version`` (changelog, rate-limits page).

    ``Retry-After`` travels on every 429 (rate-limits page). ``cost``/``budget_*`` feed the 2025-01/04
    complexity extensions and the legacy "reset in N seconds" message.
    """
    retry = max(0, int(retry_in_seconds))
    headers = {"Retry-After": str(retry)}
    if code == COMPLEXITY_EXCEPTION:
        # Over the per-query cap: retrying cannot help, so an application error (HTTP 200) without a wait.
        message = LIMIT_MESSAGES[code].format(cost=cost, limit=budget_limit)
        return coded_error(version, code, message, 200, request_id, account_id,
                           {"complexity": cost, "max_complexity": budget_limit})
    message = LIMIT_MESSAGES[code]
    budget = code == COMPLEXITY_BUDGET_EXHAUSTED
    if is_legacy(version) or is_transition(version):
        if budget:
            message = (f"Complexity budget exhausted, query cost {cost} budget remaining {budget_left} "
                       f"out of {budget_limit} reset in {retry} seconds")
            legacy_code = COMPLEXITY_EXCEPTION
            error_data: dict[str, Any] = {}
        else:
            legacy_code = code
            error_data = {"retry_in_seconds": retry}
        body: dict[str, Any] = legacy_fields(legacy_code, message, error_data, 429)
        if is_legacy(version):
            body["errors"] = [message]
        else:
            body["errors"] = [{"message": message, "extensions": {
                "code": legacy_code, "retry_in_seconds": retry, "status_code": 429}}]
        body.update(_top(version, request_id, account_id))
        return Reply(429, body, headers)
    extensions: dict[str, Any] = {"code": code}
    if budget and not budget_is_http_429(version):
        extensions.update({"complexity": cost, "complexity_budget_left": budget_left,
                           "complexity_budget_limit": budget_limit, "retry_in_seconds": retry,
                           "status_code": 429})
        return Reply(200, {"errors": [{"message": message, "extensions": extensions}],
                           **_top(version, request_id, account_id)}, headers)
    extensions["retry_in_seconds"] = retry
    return Reply(429, {"errors": [{"message": message, "extensions": extensions}],
                       **_top(version, request_id, account_id)}, headers)


def auth_error(version: str) -> Reply:
    """HTTP 401 for a missing/wrong token (monday_ruby recordings): GraphQL shape from 2025-01, the string
    list before."""
    if version >= "2025-01":
        return Reply(401, {"errors": [{"message": "Not authenticated",
                                       "extensions": {"code": "NOT_AUTHENTICATED"}}]})
    return Reply(401, {"errors": ["Not Authenticated"]})


def coded_error(  # noqa: PLR0917 - mirrors the fields of the body it builds
    version: str, code: str, message: str, http_status: int, request_id: str, account_id: int,
    error_data: dict[str, Any] | None = None,
) -> Reply:
    """A request-level error that is not a limit (bad request, JSON parse, invalid version …)."""
    data = error_data or {}
    if is_legacy(version):
        return Reply(http_status, {**legacy_fields(code, message, data, http_status),
                                   **_top(version, request_id, account_id)})
    body: dict[str, Any] = {}
    if is_transition(version):
        body.update(legacy_fields(code, message, data, http_status))
    ext: dict[str, Any] = {"code": code, "status_code": http_status}
    if data:
        ext["error_data"] = data
    body["errors"] = [{"message": message, "extensions": ext}]
    body.update(_top(version, request_id, account_id))
    return Reply(http_status, body)


def internal_error(version: str, request_id: str) -> Reply:
    """A server failure: legacy HTTP 500 body (``500.json`` of Airbyte's monday connector); from 2025-01
    HTTP 200 with ``INTERNAL_SERVER_ERROR`` (singer-io/tap-monday client.py, monday-api-python-sdk tests)."""
    if version < "2025-01":
        return Reply(500, {"error_message": "Internal server error", "status_code": 500})
    return Reply(200, {"errors": [{"message": "Internal server error",
                                   "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
                       "extensions": {"request_id": request_id}})


def field_limit_exceeded(account_id: int, retry_in_seconds: int = 15, entity: str = "boards") -> Reply:
    """The legacy-shaped field concurrency error sent to *all* versions (changelog: "new descriptive
    FIELD_LIMIT_EXCEEDED error")."""
    return Reply(429, {"error_message": "Concurrency limit exceeded for the field",
                       "error_code": "FIELD_LIMIT_EXCEEDED",
                       "error_data": {"retry_in_seconds": retry_in_seconds, "entity": entity},
                       "status_code": 429, "account_id": account_id})


def too_many_requests_partial(
    version: str, data: dict[str, Any] | None, request_id: str, account_id: int
) -> Reply:
    """HTTP 200 with data in which one nested field is null and an error names its path (gateway answers)."""
    patched, path = null_one_field(data)
    error = {"message": "Rate limit already blocked for board-columns-errors", "path": path,
             "extensions": {"code": "tooManyRequests", "status_code": 400, "service": "data-structure"}}
    return Reply(200, {"data": patched, "errors": [error], **_top(version, request_id, account_id)})


def null_one_field(data: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[str | int]]:
    """A copy of ``data`` with one nested field set to null, and that field's path.

    Copies along the path only, so the executor's result (and the store behind it) is never mutated.
    Picks the first root field other than ``complexity``; inside it the first element and its first
    object/list field (the kind of field a subgraph fails on), else its last field.
    """
    if not data:
        return data, []
    root = next((k for k in data if k != "complexity"), None)
    if root is None:
        return data, []
    out = dict(data)
    value = data[root]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        first = dict(value[0])
        key = _pick_key(first)
        first[key] = None
        out[root] = [first, *value[1:]]
        return out, [root, 0, key]
    if isinstance(value, dict) and value:
        inner = dict(value)
        key = _pick_key(inner)
        inner[key] = None
        out[root] = inner
        return out, [root, key]
    out[root] = None
    return out, [root]


def _pick_key(obj: dict[str, Any]) -> str:
    """First nested object/list field of ``obj``, else its last field."""
    for key, val in obj.items():
        if isinstance(val, dict | list):
            return key
    return list(obj)[-1]
