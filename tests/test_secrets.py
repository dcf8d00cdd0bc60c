"""The API token never leaves the Authorization header: every byte the real tap process writes is searched.

tests/test_streams.py already checks the SDK streams in-process (logs and messages); this module covers the
whole process and the places a token slips out in practice: DEBUG logging, tracebacks of fatal errors,
retries during a 5xx storm, error bodies that *echo the token back* (some gateways and proxies do), the STATE
file, any file the tap leaves in its working directory, and the request itself (URL, query, variables).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from monday_emulator.faults import FaultConfig, FaultKind
from monday_emulator.testing import RunningEmulator

from tests.reliability.harness import FAST_TUNING, TapRun, run_tap

Factory = Callable[..., RunningEmulator]
TOKEN = "tok-SECRET-b5e1f0c9d2a74e83"
DEBUG = {"LOGLEVEL": "DEBUG"}
ALL_STREAMS: tuple[str, ...] = ()  # no catalog: every stream selected
ENGINE = ("items", "subitems")


def _assert_clean(run: TapRun, workdir: Path, token: str = TOKEN) -> None:
    """No byte of stdout, stderr or any file under ``workdir`` contains the token (or its Bearer form)."""
    needles = [token.encode(), token.encode().hex().encode(), json.dumps(token)[1:-1].encode()]
    blobs = {"stdout": run.stdout, "stderr": run.stderr}
    for path in workdir.rglob("*"):
        if path.is_file() and path.name != "config.json":  # the config file is the user's input
            blobs[str(path)] = path.read_bytes()
    for where, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"token found in {where}"


def _config(url: str, token: str = TOKEN, **extra: object) -> dict[str, object]:
    return {"api_url": url, "api_token": token, "max_concurrency": 4, **FAST_TUNING, **extra}


def _assert_token_not_in_requests(em: RunningEmulator, token: str = TOKEN) -> None:
    for record in em.emulator.request_log:
        assert token not in (record.query or "")
        assert token not in json.dumps(record.variables, default=str)


@pytest.mark.parametrize("streams", [ENGINE, ALL_STREAMS], ids=["engine", "all-streams"])
def test_normal_run_at_debug_level(
    streams: tuple[str, ...], emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(boards=1, items_per_board=60, token=TOKEN)
    run = run_tap(_config(em.url), tmp_path, streams=streams, env=DEBUG, cwd=tmp_path)
    assert run.returncode == 0, run.stderr_text()[-2000:]
    assert "DEBUG" in run.stderr_text(), "DEBUG logging did not take effect"
    assert run.records("items") and run.states
    (tmp_path / "state.out.json").write_text(json.dumps(run.last_state))  # what a runner stores
    _assert_clean(run, tmp_path)
    _assert_token_not_in_requests(em)


def test_wrong_token_at_debug_level(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(boards=1, items_per_board=10)
    run = run_tap(_config(em.url), tmp_path, env=DEBUG, cwd=tmp_path)
    assert run.returncode != 0 and "401" in run.stderr_text()
    _assert_clean(run, tmp_path)


def test_5xx_storm_until_retries_run_out(emulator_factory: Factory, tmp_path: Path) -> None:
    storm = FaultConfig({FaultKind.HTTP_503: 1.0})
    em = emulator_factory(boards=1, items_per_board=10, token=TOKEN, faults=storm)
    run = run_tap(_config(em.url, max_retries=3), tmp_path, env=DEBUG, cwd=tmp_path)
    assert run.returncode != 0
    assert run.stderr_text().count(": retrying (") >= 3
    _assert_clean(run, tmp_path)


def test_fatal_error_traceback(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(boards=1, items_per_board=10, token=TOKEN)
    run = run_tap(_config(em.url, board_ids=["777777777"]), tmp_path, env=DEBUG, cwd=tmp_path)
    assert run.returncode != 0 and "Traceback" in run.stderr_text()
    _assert_clean(run, tmp_path)


def test_invalid_settings_never_echo_the_token(tmp_path: Path) -> None:
    """A token of the wrong type, and a URL that carries the token, are rejected without echoing it."""
    run = run_tap({"api_token": [TOKEN], "api_url": "http://127.0.0.1:9/v2"}, tmp_path / "a", cwd=tmp_path)
    assert run.returncode != 0 and "api_token" in run.stderr_text()
    _assert_clean(run, tmp_path / "a")


# --- a hostile server that echoes the Authorization header back -----------------------------------------


@dataclass(frozen=True, slots=True)
class EchoServer:
    base: str

    def url(self, mode: str) -> str:
        return f"{self.base}/{mode}/v2"


async def _echo(request: web.Request) -> web.StreamResponse:
    token = request.headers.get("Authorization", "")
    mode = request.match_info["mode"]
    if mode == "body500":
        return web.Response(status=500, text=f"<html>upstream rejected credentials {token}</html>")
    body: dict[str, Any]
    if mode == "json401":
        body = {"errors": [{"message": f"Not Authenticated: token {token} is invalid"}], "token": token}
        return web.json_response(body, status=401)
    if mode == "graphql200":
        body = {
            "errors": [
                {"message": f"Field error for {token}", "extensions": {"code": "ECHO", "auth": token}}
            ],
            "extensions": {"request_id": f"req-{token}"},
        }
        return web.json_response(body)
    if mode == "retry429":
        return web.json_response(
            {"error_code": "RateLimitExceeded", "error_message": f"slow down {token}", "status_code": 429},
            status=429, headers={"Retry-After": "0"},
        )
    raise web.HTTPFound(location=f"/elsewhere?token={token}")  # mode == "redirect"


@pytest.fixture(scope="module")
def echo_server() -> Iterator[EchoServer]:
    app = web.Application()
    app.router.add_post("/{mode}/v2", _echo)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    ready = threading.Event()
    port: list[int] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port.append(runner.addresses[0][1])
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="echo-server", daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield EchoServer(f"http://127.0.0.1:{port[0]}")
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


ECHO_CASES = [
    pytest.param("body500", ENGINE, id="engine-body500"),
    pytest.param("body500", ALL_STREAMS, id="all-streams-body500"),
    pytest.param("json401", ENGINE, id="engine-json401"),
    pytest.param("json401", ALL_STREAMS, id="all-streams-json401"),
    pytest.param("graphql200", ENGINE, id="engine-graphql200"),
    pytest.param("graphql200", ALL_STREAMS, id="all-streams-graphql200"),
    pytest.param("retry429", ENGINE, id="engine-retry429"),
    pytest.param("retry429", ALL_STREAMS, id="all-streams-retry429"),
    pytest.param("redirect", ENGINE, id="engine-redirect"),
    pytest.param("redirect", ALL_STREAMS, id="all-streams-redirect"),
]


@pytest.mark.parametrize(("mode", "streams"), ECHO_CASES)
def test_error_bodies_that_echo_the_token(
    mode: str, streams: tuple[str, ...], echo_server: EchoServer, tmp_path: Path
) -> None:
    run = run_tap(
        _config(echo_server.url(mode), max_retries=1), tmp_path, streams=streams, env=DEBUG, cwd=tmp_path,
        timeout_s=60,
    )
    assert run.returncode != 0
    _assert_clean(run, tmp_path)
