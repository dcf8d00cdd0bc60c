"""The emulator's HTTP face: ``POST /v2`` as monday.com answers it, ``GET /metrics``, optional ``/admin``.

One request goes through the gates a real gateway applies, in order: version routing, authentication, body
rules (query in the body, valid JSON), GraphQL validation, gateway faults, limits (rate, concurrency, daily,
IP, per-query cap, complexity budget), execution, latency, response faults. Every answer is shaped by
:mod:`~monday_emulator.envelopes` for the requested ``API-Version`` and recorded by
:mod:`~monday_emulator.metrics`. Everything runs on one event loop thread; the executor and the
store are only touched from it, so admin changes and queries never race.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from monday_emulator import envelopes as env
from monday_emulator.clock import Clock, SystemClock
from monday_emulator.cost import DEFAULT_COST_MODEL, cost_model_named
from monday_emulator.data import Store
from monday_emulator.execute import Executor, account_object
from monday_emulator.faults import GATEWAY_FAULTS, FaultConfig, FaultInjector, FaultKind, truncate
from monday_emulator.latency import LatencyModel, latency_from_spec, measure
from monday_emulator.limits import PLANS, Admission, Limits, Rejection
from monday_emulator.metrics import Metrics, RequestRecord

_LOG = logging.getLogger(__name__)

ADMIN_ACTIONS = (
    "create_item", "update_column_value", "rename_item", "move_item", "archive_item", "delete_item",
)
"""Store change-API methods reachable through ``POST /admin/<action>`` (JSON body = keyword arguments)."""

_GATEWAY_STATUS = {FaultKind.HTTP_500: 500, FaultKind.HTTP_502: 502, FaultKind.HTTP_503: 503,
                   FaultKind.HTTP_504: 504, FaultKind.EMPTY_429: 429}
_GATEWAY_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                 504: "upstream request timeout", 429: ""}


@dataclass(slots=True)
class EmulatorConfig:
    """Everything that shapes one emulator instance. Defaults: a small, instant, fault-free account."""

    seed: int = 42
    boards: int = 3
    items_per_board: int | list[int] = 200
    subitems: bool = True
    """Generate a subitems board per board (``Store(subitems=...)``)."""
    groups_per_board: int = 4
    """Groups of each top-level board (``Store(groups_per_board=...)``); items are spread over them."""
    plan: str = "enterprise"
    limit_overrides: dict[str, Any] = field(default_factory=dict)
    """Replace plan numbers, e.g. ``{"requests_per_minute": 10, "concurrency": None}``."""
    latency: str | LatencyModel = "instant"
    cost_model: str = DEFAULT_COST_MODEL
    """How queries are priced (emulator/cost.py): ``documented`` follows monday's published figures,
    ``heuristic`` is the emulator's first model (an unbounded list counts 10, not 1,000)."""
    faults: FaultConfig = field(default_factory=FaultConfig)
    token: str = "demo-token"  # noqa: S105 - the emulator's public demo token, not a secret
    extra_tokens: tuple[str, ...] = ()
    """More accepted tokens; each has its own limits (monday limits are per token/account)."""
    cursor_ttl_s: float = 3600.0
    admin: bool = False
    log_requests: str | Path | None = None
    clock: Clock | None = None
    """Time for limits, cursors and data; ``None`` = the system clock."""
    version_lifecycle: bool = False
    """Route deprecated versions to maintenance (https://developer.monday.com/api-reference/docs/api-versioning).
    Off: every known version is served as asked."""
    require_version_header: bool = False
    """Strict mode of the announced rule: no ``API-Version`` header → HTTP 400 ``API_VERSION_REQUIRED``."""
    account_id: int = 9_876_543
    shutdown_timeout_s: float = 1.0
    store: Store | None = None
    """A prebuilt store (else one is generated from seed/boards/items_per_board)."""


class _Refusal(Exception):  # noqa: N818 - control flow inside the handler, never escapes it
    """A gate refused the request: carries the ready reply and how to record it."""

    def __init__(self, reply: env.Reply, code: str | None, kind: str = "rejected") -> None:
        super().__init__(code)
        self.reply, self.code, self.kind = reply, code, kind


class _Outcome:
    """Mutable facts about one request, filled in along the way and logged at the end."""

    __slots__ = ("admission", "code", "cost", "fault", "kind", "operation", "query", "status", "variables",
                 "version")

    def __init__(self) -> None:
        self.admission: Admission | None = None
        self.version = env.CURRENT_VERSION
        self.operation: str | None = None
        self.query = ""
        self.variables: dict[str, Any] | None = None
        self.status = 0  # 0 = no answer sent (cancelled at shutdown)
        self.code: str | None = None
        self.cost = 0
        self.fault: str | None = None
        self.kind = "ok"


class Emulator:
    """One emulated monday.com account: store, executor, limits, faults, latency and metrics."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config = config or EmulatorConfig()
        if config.plan not in PLANS:
            raise ValueError(f"unknown plan {config.plan!r}; known: {', '.join(PLANS)}")
        self.clock: Clock = config.clock or SystemClock()
        self.store = config.store or Store(seed=config.seed, boards=config.boards,
                                           items_per_board=config.items_per_board, clock=self.clock,
                                           subitems=config.subitems, groups_per_board=config.groups_per_board)
        self.executor = Executor(self.store, self.clock, config.cursor_ttl_s,
                                 cost_model=cost_model_named(config.cost_model))
        self.limits = Limits(PLANS[config.plan].with_overrides(**config.limit_overrides), self.clock)
        plan = PLANS[config.plan]
        self.executor.account = account_object(self.store.account.account_id, plan.tier, trial=plan.trial)
        self.metrics = Metrics(config.log_requests)
        self.latency = latency_from_spec(config.latency)
        self.faults = FaultInjector(config.faults, config.seed)
        self.tokens = frozenset((config.token, *config.extra_tokens))
        self._latency_rng = random.Random(f"latency:{config.seed}")
        self._fault_rng = random.Random(f"faults:{config.seed}")

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request handled so far (copy), in completion order."""
        return self.metrics.request_log

    def make_app(self) -> web.Application:
        """The aiohttp application; ``/admin/*`` only when the config enables it."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v2", self._handle_graphql)
        app.router.add_get("/metrics", self._handle_metrics)
        if self.config.admin:
            app.router.add_post("/admin/{action}", self._handle_admin)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_cleanup(self, _app: web.Application) -> None:
        self.metrics.close()

    def _token_of(self, request: web.Request) -> str | None:
        """The accepted token named by ``Authorization`` (raw or ``Bearer``), else ``None``."""
        header = request.headers.get("Authorization", "").strip()
        if header[:7].lower() == "bearer ":
            header = header[7:].strip()
        return header if header in self.tokens else None

    def _request_id(self, seq: int) -> str:
        return str(uuid.UUID(int=random.Random(f"rid:{self.config.seed}:{seq}").getrandbits(128), version=4))

    async def _handle_metrics(self, _request: web.Request) -> web.Response:
        return web.json_response(self.metrics.snapshot())

    async def _handle_graphql(self, request: web.Request) -> web.StreamResponse:
        seq = self.metrics.next_seq()
        start = self.metrics.started()
        clock_time = self.clock.now()
        out = _Outcome()
        request_id = self._request_id(seq)
        sent = 0
        try:
            try:
                reply, fault = await self._process(request, seq, request_id, out)
            except _Refusal as refusal:
                reply, fault = refusal.reply, None
                out.kind, out.code = refusal.kind, refusal.code
            response, sent = await self._send(request, reply, out, request_id, fault)
            return response
        finally:
            if out.admission is not None:
                self.limits.release(out.admission)
            self.metrics.finished(RequestRecord(
                seq=seq, start=start, end=time.monotonic(), clock_time=clock_time, operation=out.operation,
                query=out.query, variables=out.variables, version=out.version, status=out.status,
                code=out.code, cost=out.cost, fault=out.fault, bytes=sent, outcome=out.kind))

    async def _gates(
        self, request: web.Request, request_id: str, out: _Outcome
    ) -> tuple[str, str, dict[str, Any] | None, str | None]:
        """Version, auth and body rules; returns ``(token, query, variables, operationName)``.

        Raises:
            _Refusal: with the version's error body when a gate refuses the request.
        """
        cfg = self.config
        route = env.route_version(request.headers.get("API-Version"), lifecycle=cfg.version_lifecycle,
                                  require_header=cfg.require_version_header)
        out.version = version = route.served
        body = await self._read_body(request)
        if not isinstance(body, str):  # known early so even refused requests are logged with their operation
            out.query, out.variables = body[0], body[1]
            out.operation = body[2] or _operation_from_text(body[0])
        token = self._token_of(request)
        if token is None:
            raise _Refusal(env.auth_error(version), "NOT_AUTHENTICATED")
        if route.error_code is not None:
            raise _Refusal(env.coded_error(version, route.error_code, route.message, route.http_status,
                                           request_id, cfg.account_id), route.error_code)
        if "query" in request.query:
            message = "The query must be sent in the request body"
            raise _Refusal(env.coded_error(version, "BAD_REQUEST", message, 400, request_id, cfg.account_id),
                           "BAD_REQUEST")
        if isinstance(body, str):
            raise _Refusal(env.coded_error(version, "JsonParseException", body, 400, request_id,
                                           cfg.account_id), "JsonParseException")
        return (token, *body)

    async def _process(
        self, request: web.Request, seq: int, request_id: str, out: _Outcome
    ) -> tuple[env.Reply, FaultKind | None]:
        """Run the gates, limits, executor and latency; returns the reply and a response-level fault."""
        cfg = self.config
        token, query, variables, operation = await self._gates(request, request_id, out)
        version = out.version
        prepared = self.executor.prepare(query)
        if prepared.document is None:
            raise _Refusal(env.validation_error_body(version, list(prepared.errors), request_id,
                                                     cfg.account_id), "GRAPHQL_VALIDATION_FAILED", "error")
        fault = self.faults.decide(seq, out.operation)
        if fault is not None:
            out.fault = fault.value
            if fault in GATEWAY_FAULTS:
                status = _GATEWAY_STATUS[fault]
                raise _Refusal(env.Reply(status, _GATEWAY_TEXT[status], {"Content-Type": "text/plain"}),
                               None, "fault")
        cost = self.executor.estimate_cost(query, variables, operation)
        admitted = self.limits.admit(token, request.remote or "unknown", cost)
        if isinstance(admitted, Rejection):
            raise _Refusal(self._rejection_reply(version, admitted, request_id), admitted.code)
        out.admission, out.cost = admitted, cost
        try:
            # nothing but the encoder reads an instant, fault-free answer (latency and faults read its data)
            encoded = self.latency.is_instant and fault is None
            result = self.executor.execute(query, variables, operation,
                                           complexity=admitted.complexity.as_dict(), encoded=encoded)
        except Exception:  # an emulator bug: answer like monday's own internal error, keep serving
            _LOG.exception("executor failed on operation %s", out.operation)
            raise _Refusal(env.internal_error(version, request_id), "EMULATOR_EXCEPTION", "error") from None
        if self.latency.is_instant:
            delay = 0.0
        else:
            objects, subitem_lists = measure(result.data)
            delay = self.latency.delay(objects, self._latency_rng, subitem_lists)
        if self.latency.times_out(delay):
            await asyncio.sleep(self.latency.ceiling_s or 0.0)
            raise _Refusal(env.Reply(504, _GATEWAY_TEXT[504], {"Content-Type": "text/plain"}),
                           "GATEWAY_TIMEOUT", "timeout")
        if delay > 0:
            await asyncio.sleep(delay)
        reply = env.success_body(version, result.data, result.errors, request_id, cfg.account_id)
        if result.errors:
            codes = [(e.get("extensions") or {}).get("code") for e in result.errors]
            out.kind, out.code = "error", next((c for c in codes if c), "GRAPHQL_ERROR")
        if fault is not None:
            out.kind = "fault"
            reply = self._response_fault(fault, version, result.data, request_id, reply)
        return reply, fault

    def _response_fault(
        self, fault: FaultKind, version: str, data: dict[str, Any] | None, request_id: str, reply: env.Reply
    ) -> env.Reply:
        """Spoil a computed answer (the store and the executor's result stay untouched)."""
        if fault is FaultKind.INTERNAL_ERROR_200:
            return env.internal_error(version, request_id)
        if fault is FaultKind.PARTIAL_TOO_MANY_REQUESTS:
            return env.too_many_requests_partial(version, data, request_id, self.config.account_id)
        if fault is FaultKind.FIELD_LIMIT_EXCEEDED:
            return env.field_limit_exceeded(self.config.account_id)
        return reply  # connection reset, truncation and slowness are applied while sending

    def _rejection_reply(self, version: str, rejection: Rejection, request_id: str) -> env.Reply:
        return env.limit_error(version, rejection.code, rejection.retry_in_seconds, request_id,
                               self.config.account_id, cost=rejection.cost,
                               budget_left=rejection.budget_left, budget_limit=rejection.budget_limit)

    @staticmethod
    def _reject(out: _Outcome, reply: env.Reply, code: str) -> env.Reply:
        out.kind, out.code = "rejected", code
        return reply

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[str, dict[str, Any] | None, str | None] | str:
        """``(query, variables, operationName)`` from the JSON body, or an error message."""
        try:
            payload = json.loads(await request.read() or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            return f"Unexpected token in JSON body: {exc.__class__.__name__}"
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return "The request body must be a JSON object with a 'query' string"
        variables = payload.get("variables")
        if isinstance(variables, str):  # some clients send variables as a JSON string
            try:
                variables = json.loads(variables) if variables else None
            except ValueError:
                return "variables is not valid JSON"
        if variables is not None and not isinstance(variables, dict):
            return "variables must be a JSON object"
        operation = payload.get("operationName")
        return payload["query"], variables, operation if isinstance(operation, str) else None

    async def _send(
        self, request: web.Request, reply: env.Reply, out: _Outcome, request_id: str, fault: FaultKind | None
    ) -> tuple[web.StreamResponse, int]:
        """Build ``reply`` (with response-level faults); returns the response and the bytes sent."""
        out.status = reply.status
        raw = reply.encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Api-Version": out.version,
                   "X-Request-Id": request_id, **reply.headers}
        if fault is FaultKind.SLOW_RESPONSE:
            await asyncio.sleep(self.config.faults.slow_delay_s)
        if fault is FaultKind.TRUNCATED_JSON:
            raw = truncate(raw, self._fault_rng)
        if fault is FaultKind.CONNECTION_RESET:
            stream = web.StreamResponse(status=reply.status, headers=headers)
            stream.content_length = len(raw)
            await stream.prepare(request)
            half = raw[: len(raw) // 2]
            await stream.write(half)
            if request.transport is not None:
                request.transport.abort()
            return stream, len(half)
        return web.Response(status=reply.status, body=raw, headers=headers), len(raw)

    async def _handle_admin(self, request: web.Request) -> web.Response:
        """``POST /admin/<action>`` with the change API's keyword arguments as JSON (token required)."""
        if self._token_of(request) is None:
            return web.json_response(env.auth_error(env.CURRENT_VERSION).body, status=401)
        action = request.match_info["action"]
        if action not in ADMIN_ACTIONS:
            return web.json_response({"error": f"unknown action {action!r}", "actions": ADMIN_ACTIONS},
                                     status=404)
        try:
            kwargs = json.loads(await request.read() or b"{}")
            if not isinstance(kwargs, dict):
                raise TypeError("body must be a JSON object of keyword arguments")
            result = getattr(self.store, action)(**kwargs)
        except (TypeError, ValueError, KeyError, LookupError) as exc:
            return web.json_response({"error": f"{exc.__class__.__name__}: {exc}"}, status=400)
        return web.json_response({"ok": True, "result": _jsonable(result)})


_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def _operation_from_text(query: str) -> str | None:
    """Name of the document's operation, read from its text (works for documents that do not validate)."""
    match = _OPERATION_NAME.match(query)
    return match.group(1) if match else None


def _jsonable(value: Any) -> Any:
    """``value`` if JSON can carry it, else its string form (change-API return values vary)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value

