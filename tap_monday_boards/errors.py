"""The one table of monday.com error shapes and codes, and the pure classifier over it.

Why one module: monday signals the same condition in several envelopes depending on the API version
(legacy top-level ``error_code``, 2025-01/04 ``errors[].extensions`` with budget details, 2025-07+ lean
``extensions``), in HTTP 200 bodies as often as in 4xx/5xx, and sometimes with no body at all. Both HTTP
stacks of the tap (the SDK streams and the async items engine) must react identically, so they both ask
:func:`classify`, wait by the one policy of retry.py and raise the exceptions below (which are the SDK's own
classes too). The classifier never sleeps and does no I/O.

Messages built here never include request headers, and every registered secret (the API token) is
redacted from what the server sends back, so the token cannot leak through them.

One unit despite its length (~540 lines, a third of it the code table as data): splitting the table from its
classifier or from the exceptions that carry its decisions would only spread one contract over files.

What the classifier does *not* decide: how long to wait when a rate-limit answer carries no hint (an
empty-body 429 from the gateway). Such a ``RETRY_AFTER`` has ``wait_s=None``; the process-wide governor owns
the one escalating wait for it (engine/governor.py, ``GovernorCore.pause``), since "consecutive" and "reset
after a success" are facts about the process, not about one answer.
"""

from __future__ import annotations

import enum
import json
import math
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import FatalAPIError as _SdkFatalAPIError
from singer_sdk.exceptions import RetriableAPIError as _SdkRetriableAPIError

if TYPE_CHECKING:
    import requests

_MAX_MESSAGE_CHARS = 300
_REDACTED = "[redacted]"
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


def register_secret(value: str | None) -> None:
    """Never let ``value`` (the API token) out through a Decision, an error or a log line built here.

    Why: some gateways and proxies echo the request's Authorization header in their error body, and monday's
    message and request id are copied into errors. ``EngineSettings`` registers the token it is built with.
    """
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced."""
    with _SECRETS_LOCK:
        secrets = tuple(_SECRETS)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


class DecisionKind(enum.Enum):
    """What the caller must do with an answer."""

    OK = "ok"
    RETRY_AFTER = "retry_after"  # rate limit / budget / concurrency: wait process-wide, then retry
    TOO_COMPLEX = "too_complex"  # over the per-query complexity cap: only a smaller page/batch can succeed
    RETRY_BACKOFF = "retry_backoff"  # transient: exponential backoff with jitter, then retry
    RESUME_CURSOR = "resume_cursor"  # the items_page cursor expired: start a fresh chain from the last value
    FATAL_AUTH = "fatal_auth"  # the token cannot be used (401, 403): stop at once, never retry
    FATAL = "fatal"  # the request itself is wrong or the daily quota is gone: stop with a clear message
    PARTIAL = "partial"  # HTTP 200 with data and transient field errors: retry (a null field is wrong data)


@dataclass(frozen=True, slots=True)
class Decision:
    """The classification of one HTTP answer."""

    kind: DecisionKind
    wait_s: float | None
    """``RETRY_AFTER``: the server's hint, or None when the answer has none (the governor then decides)."""
    code: str | None
    request_id: str | None
    message: str
    http_status: int
    complexity: int | None = None
    """``TOO_COMPLEX``: the document's cost as the server priced it, when the answer says."""
    max_complexity: int | None = None
    """``TOO_COMPLEX``: the per-query cap the server applied, when the answer says."""

    @property
    def retryable(self) -> bool:
        """True for the kinds a retry layer handles by sending the same request again."""
        return self.kind in (DecisionKind.RETRY_AFTER, DecisionKind.RETRY_BACKOFF, DecisionKind.PARTIAL)

    def describe(self) -> str:
        """A one-line, token-free description: monday code, HTTP status, request id and message."""
        parts = [f"HTTP {self.http_status}"]
        if self.code:
            parts.append(f"code {self.code}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.wait_s is not None and self.kind is DecisionKind.FATAL:
            parts.append(f"resets in {self.wait_s:.0f} s")
        if self.kind is DecisionKind.TOO_COMPLEX and self.complexity is not None:
            cap = f" of {self.max_complexity:,}" if self.max_complexity is not None else ""
            parts.append(f"query cost {self.complexity:,} over the per-query cap{cap}")
        return redact(f"{', '.join(parts)}: {self.message}")


# --- the code table (data). Keys are lower-cased; matching is case-insensitive. -------------------------
_RATE_LIMIT_CODES = (
    "COMPLEXITY_BUDGET_EXHAUSTED",
    "ComplexityException",  # legacy budget exhaustion; over-the-cap answers are told apart by their message
    "complexityBudgetExhausted",
    "ComplexityBudgetExhausted",
    "MINUTE_RATE_LIMIT_EXCEEDED",
    "Rate Limit Exceeded",
    "RateLimitExceeded",
    "Minute limit rate exceeded",
    "MAX_CONCURRENCY_EXCEEDED",
    "maxConcurrencyExceeded",
    "Concurrency limit exceeded",
    "IP_RATE_LIMIT_EXCEEDED",
    "FIELD_LIMIT_EXCEEDED",
    "tooManyRequests",
    "API_TEMPORARILY_BLOCKED",
    "Call limit exceeded",
)
_TOO_COMPLEX_CODES = (
    "maxComplexityExceeded",
    "MAX_COMPLEXITY_EXCEEDED",
    "QUERY_COMPLEXITY_EXCEEDED",
)
_TRANSIENT_CODES = (
    "INTERNAL_SERVER_ERROR",
    "Internal Server Error",
    "Internal server error",
    "InternalServerError",
    "timeout",
    "TIMEOUT",
    "SERVICE_UNAVAILABLE",
    "Resource is currently locked",
)
_CURSOR_CODES = ("CursorException", "CursorExpiredError", "CURSOR_EXPIRED")
_AUTH_CODES = (
    "NOT_AUTHENTICATED",
    "Not Authenticated",
    "Unauthorized",
    "UNAUTHORIZED",
    "Your ip is restricted",
    "UserUnauthorizedException",
    "USER_UNAUTHORIZED",
    "USER_ACCESS_DENIED",
    "missingRequiredPermissions",
    "FORBIDDEN",
)
_FATAL_CODES = (
    "DAILY_LIMIT_EXCEEDED",
    "InvalidBoardIdException",
    "InvalidArgumentException",
    "InvalidColumnIdException",
    "InvalidUserIdException",
    "InvalidVersionException",
    "API_VERSION_REQUIRED",
    "ResourceNotFoundException",
    "JsonParseException",
    "Bad request",
    "BAD_REQUEST",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "undefinedField",
    "argumentLiteralsIncompatible",
    "ItemsLimitationException",
)

CODE_TABLE: dict[str, DecisionKind] = {
    **{c.lower(): DecisionKind.RETRY_AFTER for c in _RATE_LIMIT_CODES},
    **{c.lower(): DecisionKind.TOO_COMPLEX for c in _TOO_COMPLEX_CODES},
    **{c.lower(): DecisionKind.RETRY_BACKOFF for c in _TRANSIENT_CODES},
    **{c.lower(): DecisionKind.RESUME_CURSOR for c in _CURSOR_CODES},
    **{c.lower(): DecisionKind.FATAL_AUTH for c in _AUTH_CODES},
    **{c.lower(): DecisionKind.FATAL for c in _FATAL_CODES},
}
"""monday code (lower-cased) -> kind, across the legacy, 2025-01/04 and 2025-07+ vocabularies."""

PRIORITY: dict[DecisionKind, int] = {
    DecisionKind.FATAL_AUTH: 7,
    DecisionKind.FATAL: 6,
    DecisionKind.TOO_COMPLEX: 5,
    DecisionKind.RETRY_AFTER: 4,
    DecisionKind.RESUME_CURSOR: 3,
    DecisionKind.RETRY_BACKOFF: 2,
    DecisionKind.PARTIAL: 1,
    DecisionKind.OK: 0,
}
"""When an answer carries several errors, the highest-priority kind decides (never ``errors[0]`` alone)."""

# Message fragments recognised when an error has no (known) code, e.g. legacy string errors.
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], DecisionKind], ...] = (
    (re.compile(r"cursor\s*expired|CursorExpiredError", re.IGNORECASE), DecisionKind.RESUME_CURSOR),
    (re.compile(r"not authenticated|unauthorized|ip is restricted", re.IGNORECASE), DecisionKind.FATAL_AUTH),
    (re.compile(r"daily limit", re.IGNORECASE), DecisionKind.FATAL),
    (
        re.compile(r"budget exhausted|rate limit|too many|concurrency limit|limit exceeded", re.IGNORECASE),
        DecisionKind.RETRY_AFTER,
    ),
    (re.compile(r"internal server error|timed? ?out|temporarily", re.IGNORECASE), DecisionKind.RETRY_BACKOFF),
)
_RESET_IN_RE = re.compile(r"reset in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
_OVER_CAP_RE = re.compile(
    r"complexity of (\d+),? which exceeds max(?:imum)? complexity of (\d+)", re.IGNORECASE
)
"""graphql-ruby's refusal of a document over the per-query cap, which monday returns verbatim."""
_RATELIMIT_T_RE = re.compile(r"r=0\s*;\s*t=(\d+(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class _ErrorInfo:
    kind: DecisionKind
    code: str | None
    message: str
    wait_s: float | None
    complexity: int | None = None
    max_complexity: int | None = None


def _kind_for_status(status: int | None) -> DecisionKind | None:
    if status is None:
        return None
    if status in (401, 403):
        return DecisionKind.FATAL_AUTH
    if status == 429:
        return DecisionKind.RETRY_AFTER
    if status >= 500 or status in (408, 423):
        return DecisionKind.RETRY_BACKOFF
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) and number >= 0 else None
    return None


def _as_int(value: Any) -> int | None:
    number = _as_float(value)
    return int(number) if number is not None else None


def _max_wait(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _classify_entry(entry: Any) -> _ErrorInfo:
    """One element of ``errors`` (dict or legacy string), or a legacy top-level envelope."""
    extensions: Mapping[str, Any]
    code: str | None
    if isinstance(entry, str):
        message, code, extensions = entry, None, {}
    elif isinstance(entry, Mapping):
        message = str(entry.get("message") or entry.get("error_message") or "")
        raw_ext = entry.get("extensions")
        extensions = raw_ext if isinstance(raw_ext, Mapping) else {}
        # monday's 500 envelope names its code ``extensions.error_code``; the legacy one a top-level
        # ``error_code``: every spelling reaches the table (and the message).
        raw_code = (
            extensions.get("code")
            or extensions.get("error_code")
            or entry.get("error_code")
            or entry.get("code")
        )
        code = redact(str(raw_code))[:100] if raw_code else None
    else:
        message, code, extensions = repr(entry), None, {}

    error_data = extensions.get("error_data")
    if not isinstance(error_data, Mapping) and isinstance(entry, Mapping):
        error_data = entry.get("error_data")
    if not isinstance(error_data, Mapping):
        error_data = {}
    reset = _RESET_IN_RE.search(message)
    wait = _max_wait(
        (
            _as_float(extensions.get("retry_in_seconds")),
            _as_float(error_data.get("retry_in_seconds")),
            float(reset.group(1)) if reset else None,
        )
    )

    complexity, max_complexity = _over_cap_numbers(message, extensions, error_data)
    kind = CODE_TABLE.get(code.lower()) if code else None
    if complexity is not None and max_complexity is not None and complexity > max_complexity:
        # "Query has complexity of N, which exceeds max complexity of M": the same code
        # (``ComplexityException``) also names legacy budget exhaustion, so the numbers decide.
        kind = DecisionKind.TOO_COMPLEX
    if kind is None:
        text = f"{code or ''} {message}"
        kind = next((k for pattern, k in _MESSAGE_PATTERNS if pattern.search(text)), None)
    if kind is None:
        status_hint = extensions.get("status_code")
        if status_hint is None and isinstance(entry, Mapping):
            status_hint = entry.get("status_code")
        kind = _kind_for_status(_as_int(status_hint))
    if kind is None:
        # An unknown error is surfaced, not retried: retrying a wrong query only burns the daily quota.
        kind = DecisionKind.FATAL
    return _ErrorInfo(kind, code, message, wait, complexity, max_complexity)


def _over_cap_numbers(
    message: str, extensions: Mapping[str, Any], error_data: Mapping[str, Any]
) -> tuple[int | None, int | None]:
    """(cost, cap) of an over-the-per-query-cap refusal: from its message, else from its error data."""
    found = _OVER_CAP_RE.search(message)
    if found:
        return int(found.group(1)), int(found.group(2))
    cap = _as_int(error_data.get("max_complexity"))
    if cap is None:
        cap = _as_int(extensions.get("max_complexity"))
    cost = _as_int(error_data.get("complexity"))
    if cost is None:
        cost = _as_int(extensions.get("complexity"))
    return (cost, cap) if cap is not None else (None, None)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    raw = _header(headers, "Retry-After")
    waits: list[float | None] = []
    if raw:
        seconds = _as_float(raw)
        if seconds is None:
            try:
                when = parsedate_to_datetime(raw)
                date_header = _header(headers, "Date")
                now = parsedate_to_datetime(date_header) if date_header else None
                if now is not None:
                    seconds = max(0.0, (when - now).total_seconds())
            except (TypeError, ValueError):
                seconds = None
        waits.append(seconds)
    ratelimit = _header(headers, "RateLimit")
    if ratelimit:
        waits.extend(float(m.group(1)) for m in _RATELIMIT_T_RE.finditer(ratelimit))
    return _max_wait(waits)


def _parse_body(body: bytes | str | dict[str, Any] | None) -> tuple[Any, bool]:
    """Returns (parsed, ok). ``ok`` is False for a body that is not valid JSON (truncated, HTML, ...)."""
    if not isinstance(body, bytes | bytearray | str):
        return body, True
    if not body.strip():
        return None, True
    try:
        return json.loads(body), True
    except ValueError:  # UnicodeDecodeError is a ValueError
        return None, False


def _request_id(headers: Mapping[str, str], parsed: Any) -> str | None:
    found: str | None = None
    if isinstance(parsed, Mapping):
        ext = parsed.get("extensions")
        if isinstance(ext, Mapping) and ext.get("request_id"):
            found = str(ext["request_id"])
    found = found or _header(headers, "X-Request-Id")
    return redact(found)[:_MAX_MESSAGE_CHARS] if found else None


def _has_data(parsed: Mapping[str, Any]) -> bool:
    data = parsed.get("data")
    return isinstance(data, Mapping) and any(v is not None for v in data.values())


def _short(text: str) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 1] + "…"


def classify(status: int, headers: Mapping[str, str], body: bytes | str | dict[str, Any] | None) -> Decision:
    """Classify one HTTP answer from monday.com.

    Args:
        status: HTTP status code.
        headers: response headers (only ``Retry-After``, ``RateLimit``, ``X-Request-Id``, ``Date`` are read).
        body: raw bytes/str, an already parsed JSON object, or None.

    Returns:
        The :class:`Decision`. ``RETRY_AFTER`` waits are the max of ``Retry-After``, ``RateLimit`` ``t=``,
        ``retry_in_seconds`` (extensions or legacy ``error_data``) and a legacy "reset in N seconds"; None
        when the answer carries none of them (the governor's escalating wait applies).
    """
    parsed, parsed_ok = _parse_body(body)
    request_id = _request_id(headers, parsed)
    header_wait = _retry_after_header(headers)

    def decide(info: _ErrorInfo) -> Decision:
        wait: float | None = None
        if info.kind in (DecisionKind.RETRY_AFTER, DecisionKind.PARTIAL, DecisionKind.FATAL):
            # RETRY_AFTER: the hint (None: none); PARTIAL may need a pause; FATAL: the daily quota's reset.
            wait = _max_wait((info.wait_s, header_wait))
        return Decision(
            info.kind,
            wait,
            info.code,
            request_id,
            _short(info.message),
            status,
            info.complexity if info.kind is DecisionKind.TOO_COMPLEX else None,
            info.max_complexity if info.kind is DecisionKind.TOO_COMPLEX else None,
        )

    if not parsed_ok:
        status_kind = _kind_for_status(status)
        if status_kind in (DecisionKind.FATAL_AUTH, DecisionKind.RETRY_AFTER):
            return decide(_ErrorInfo(status_kind, None, f"HTTP {status} with a non-JSON body", None))
        return decide(_ErrorInfo(DecisionKind.RETRY_BACKOFF, None, "truncated or non-JSON body", None))

    infos = [_classify_entry(e) for e in _error_entries(parsed)]
    status_kind = _kind_for_status(status)
    if status_kind is DecisionKind.FATAL_AUTH or infos:
        return decide(_combine(status, status_kind, parsed, infos))
    if status_kind is not None or status >= 400:
        kind = status_kind or DecisionKind.FATAL
        return decide(_ErrorInfo(kind, None, f"HTTP {status} without a usable error body", None))
    if isinstance(parsed, Mapping) and isinstance(parsed.get("data"), Mapping):
        return Decision(DecisionKind.OK, None, None, request_id, "ok", status)
    return decide(_ErrorInfo(DecisionKind.RETRY_BACKOFF, None, "HTTP 200 without data or errors", None))


def _error_entries(parsed: Any) -> list[Any]:
    entries: list[Any] = []
    if isinstance(parsed, Mapping):
        errors = parsed.get("errors")
        if isinstance(errors, list):
            entries.extend(errors)
        elif errors:
            entries.append(errors)
        if parsed.get("error_code") or parsed.get("error_message"):
            entries.append(parsed)  # legacy top-level envelope (<=2024-10)
    return entries


def _combine(
    status: int, status_kind: DecisionKind | None, parsed: Any, infos: list[_ErrorInfo]
) -> _ErrorInfo:
    """Fold every error entry and the HTTP status into one (kind, code, message, wait, cost, cap)."""
    best = max(infos, key=lambda i: (PRIORITY[i.kind], i.code is not None), default=None)
    wait = _max_wait(i.wait_s for i in infos)
    if status_kind is DecisionKind.FATAL_AUTH:
        return _ErrorInfo(
            status_kind, best.code if best else None, best.message if best else f"HTTP {status}", None
        )
    assert best is not None
    kind = best.kind
    if status == 429 and kind not in (DecisionKind.FATAL, DecisionKind.FATAL_AUTH, DecisionKind.TOO_COMPLEX):
        kind = DecisionKind.RETRY_AFTER
    elif (
        kind is DecisionKind.RETRY_BACKOFF
        and status < 400
        and isinstance(parsed, Mapping)
        and _has_data(parsed)
    ):
        # A transient field error next to data. A rate-limit code next to data ("Rate limit already
        # blocked for board-columns-errors", tooManyRequests) stays RETRY_AFTER: it waits like one.
        kind = DecisionKind.PARTIAL
    return _ErrorInfo(kind, best.code, best.message, wait, best.complexity, best.max_complexity)


class MondayAPIError(Exception):
    """An answer the caller could not use; ``decision`` says why. The message never contains the token.

    The root of the tap's one exception family: both HTTP stacks (the SDK streams in client.py and the
    engine's transport) raise these classes, and the retriable and fatal ones are also the SDK's own
    (:class:`singer_sdk.exceptions.RetriableAPIError`, :class:`singer_sdk.exceptions.FatalAPIError`), so the
    SDK's retry decorator and its callers treat an engine error exactly like one of its own.
    """

    headline = ""
    hint = ""

    def __init__(self, decision: Decision, context: str = "", *, message: str | None = None) -> None:
        """``message`` replaces the built one for a condition the tap finds itself (not a monday answer)."""
        self.decision = decision
        self.context = context
        if message is None:
            prefix = f"{context}: " if context else ""
            headline = f"{self.headline}: " if self.headline else ""
            hint = f" ({self.hint})" if self.hint else ""
            message = f"{headline}{prefix}monday.com answered {decision.describe()}{hint}"
        super().__init__(redact(message))


class RetryableAPIError(MondayAPIError, _SdkRetriableAPIError):
    """RETRY_AFTER / RETRY_BACKOFF / PARTIAL once the retry budget is spent (or for a caller without one).

    Also the SDK's ``RetriableAPIError`` (``response`` is the failed ``requests.Response`` on the SDK path,
    None on the engine's), so the SDK streams raise it from ``validate_response`` for their retry loop.
    """

    response: requests.Response | None


class RequestTimeoutError(RetryableAPIError):
    """The same request timed out ``max_timeouts`` times in a row: the caller should make it smaller.

    A :class:`RetryableAPIError` (a smaller request, or a later one, can succeed); the engine's senders that
    can split their request catch this class before any other.
    """


class CursorExpiredAPIError(MondayAPIError):
    """RESUME_CURSOR: the harvest must start a fresh chain from the last value it saw.

    Neither retriable as is nor fatal: only the harvest can act on it. Outside the engine it is fatal
    (``client.MondayStream`` raises it as a :class:`MondayFatalAPIError`).
    """


class MondayFatalAPIError(MondayAPIError, _SdkFatalAPIError):
    """FATAL: the request is wrong, the board is unknown or the daily quota is exhausted.

    Also the SDK's ``FatalAPIError`` (the name says monday's, so it does not clash with the SDK's class).
    """


class QueryTooComplexAPIError(MondayFatalAPIError):
    """TOO_COMPLEX: the document is over monday's per-query complexity cap.

    Fatal for a caller that cannot make its document smaller; the engine's batches and pages, and the SDK
    streams' pages, catch it and retry with fewer ids/rows (``decision.complexity``/``max_complexity`` say
    by how much, when the answer names them).
    """

    headline = "query too complex"
    hint = (
        "monday refuses any single query above its per-query complexity cap and this one could not be "
        "made smaller: select fewer columns or streams"
    )


class AuthenticationAPIError(MondayFatalAPIError):
    """FATAL_AUTH: 401/403: the token is invalid, restricted or lacks permission."""

    headline = "authentication failed"
    hint = "check the api_token setting: the token is invalid, expired, IP-restricted or lacks permission"


_ERROR_CLASS: dict[DecisionKind, type[MondayAPIError]] = {
    DecisionKind.RETRY_AFTER: RetryableAPIError,
    DecisionKind.RETRY_BACKOFF: RetryableAPIError,
    DecisionKind.PARTIAL: RetryableAPIError,
    DecisionKind.RESUME_CURSOR: CursorExpiredAPIError,
    DecisionKind.TOO_COMPLEX: QueryTooComplexAPIError,
    DecisionKind.FATAL: MondayFatalAPIError,
    DecisionKind.FATAL_AUTH: AuthenticationAPIError,
    DecisionKind.OK: MondayAPIError,
}


def error_for(decision: Decision, context: str = "") -> MondayAPIError:
    """The exception class that matches ``decision.kind``; ``context`` names the operation and board."""
    return _ERROR_CLASS[decision.kind](decision, context)
