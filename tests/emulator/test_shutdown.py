"""Stopping ``running_emulator`` leaves nothing open, whatever the clients were doing.

The suite turns warnings into errors, so a server-side socket left open by one test fails a later, unrelated
one (at garbage collection). These tests stop the emulator while clients misbehave the ways the tap can
(cancelled requests that drop their connections, connections that arrive while the server stops, requests
stuck in the latency sleep, idle keep-alive connections) and assert that no ``ResourceWarning`` remains and
that the server thread has ended. Raw sockets keep the client side free of objects that could warn themselves.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import aiohttp
import pytest
from monday_emulator.clock import Clock
from monday_emulator.server import EmulatorConfig
from monday_emulator.testing import RunningEmulator, _ServerThread, running_emulator

_BODY = json.dumps({"query": "query { boards (limit: 1) { id } }"}).encode()


def _config(
    latency: str = "instant", shutdown_timeout_s: float = 1.0, clock: Clock | None = None
) -> EmulatorConfig:
    """A one-board account: the answers do not matter here, only the connections."""
    return EmulatorConfig(seed=7, boards=1, items_per_board=5, subitems=False, latency=latency,
                          shutdown_timeout_s=shutdown_timeout_s, clock=clock)


class _GateClock:
    """The wall clock, able to hold the emulator's loop thread inside one ``now()`` call.

    While the loop is held, the test can line up events that the next loop turn must then handle together
    (new connections waiting to be accepted and a stop request), which is the race to reproduce.
    """

    def __init__(self) -> None:
        self._armed = threading.Event()
        self._release = threading.Event()
        self.holding = threading.Event()

    def arm(self) -> None:
        self._armed.set()

    def release(self) -> None:
        self._release.set()

    def now(self) -> float:
        if self._armed.is_set() and threading.current_thread().name == "monday-emulator":
            self._armed.clear()
            self.holding.set()
            if not self._release.wait(10):
                raise TimeoutError("the test never released the emulator's loop")
        return time.time()

Threads = Callable[[], list[threading.Thread]]
_LONG = "custom:base=30"  # a latency sleep that outlives every test: only a cancellation ends it
_ROUNDS = 5  # a timing-dependent variant (old shutdown: 4 of 5 runs failed); the gate-clock test is exact


@contextmanager
def _resource_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Collect every ResourceWarning raised until the block ends, including those a final gc pass finds."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found: list[warnings.WarningMessage] = []
        try:
            yield found
        finally:
            gc.collect()
            found.extend(w for w in caught if issubclass(w.category, ResourceWarning))


def _port(running: RunningEmulator) -> int:
    return int(running.base_url.rsplit(":", 1)[1])


def _send_request(port: int, token: str) -> socket.socket:
    """Open a connection and send one complete ``POST /v2``; the answer is never read."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = (f"POST /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(_BODY)}\r\n\r\n").encode()
    sock.sendall(head + _BODY)
    return sock


def _drop(sock: socket.socket, *, reset: bool) -> None:
    """Close like a cancelled client: an RST (``reset``, what an aborted transport sends) or a plain FIN."""
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.fixture
def new_server_threads() -> Callable[[], list[threading.Thread]]:
    """Emulator threads started since the test began and still alive (a session emulator may be running)."""
    before = set(threading.enumerate())
    return lambda: [t for t in threading.enumerate() if t.name == "monday-emulator" and t not in before]


def _wait_in_flight(running: RunningEmulator, count: int) -> None:
    deadline = time.monotonic() + 10
    while running.emulator.metrics.snapshot()["in_flight"] < count:
        assert time.monotonic() < deadline, "requests never reached the emulator's latency sleep"
        time.sleep(0.002)


def _describe(found: list[warnings.WarningMessage]) -> str:
    return f"{len(found)} resource warnings, e.g. {[str(w.message)[:90] for w in found[:3]]}"


def test_connections_accepted_in_the_turn_that_stops_are_closed(new_server_threads: Threads) -> None:
    """Deterministic form of the race: the stop and 30 new connections reach the loop in the same turn.

    Python 3.11 then closes the server before the accept tasks run; without care each of them leaks its
    socket and a half-built transport ("unclosed" ResourceWarnings at a later gc).
    """
    clock = _GateClock()
    with _resource_warnings() as found:
        with running_emulator(_config(clock=clock)) as running:
            (server,) = new_server_threads()
            assert isinstance(server, _ServerThread)
            clock.arm()
            blocker = _send_request(_port(running), running.token)
            assert clock.holding.wait(10), "the request never reached the emulator"
            socks = [_send_request(_port(running), running.token) for _ in range(30)]  # in the accept queue
            for sock in socks[::2]:
                _drop(sock, reset=False)
            server.request_stop()
            clock.release()
        for sock in [blocker, *socks[1::2]]:
            sock.close()
        assert not new_server_threads()
    assert not found, _describe(found)


def test_clients_dropping_connections_during_stop_leave_nothing_open(new_server_threads: Threads) -> None:
    """Requests sent and dropped just before stop: the server accepts them during its shutdown."""
    with _resource_warnings() as found:
        for round_no in range(_ROUNDS):
            with running_emulator(_config(latency="custom:base=0.01")) as running:
                socks = [_send_request(_port(running), running.token) for _ in range(30)]
                for i, sock in enumerate(socks):
                    _drop(sock, reset=(i + round_no) % 2 == 0)
            assert not new_server_threads()
    assert not found, _describe(found)


def test_requests_aborted_during_the_latency_sleep_are_cancelled_at_stop(new_server_threads: Threads) -> None:
    """Handlers whose client vanished keep sleeping; stop cancels them rather than leak them or wait."""
    with _resource_warnings() as found:
        with running_emulator(_config(latency=_LONG, shutdown_timeout_s=0.2)) as running:
            socks = [_send_request(_port(running), running.token) for _ in range(20)]
            _wait_in_flight(running, 20)
            for i, sock in enumerate(socks):
                _drop(sock, reset=i % 2 == 0)
            started = time.monotonic()
        stop_took = time.monotonic() - started
        assert not new_server_threads()
    assert not found, _describe(found)
    assert stop_took < 5, f"stop took {stop_took:.1f}s: it waited for the 30 s latency sleeps"
    snapshot = running.emulator.metrics.snapshot()
    assert snapshot["in_flight"] == 0
    assert snapshot["requests_total"] == 20  # every cancelled handler still recorded its request
    assert snapshot["responses_by_status"] == {"0": 20}  # ... as cut off, without an answer


def test_live_and_idle_keep_alive_connections_are_closed_by_stop(new_server_threads: Threads) -> None:
    """Clients still waiting for answers, and an idle pooled connection, see the server close them."""

    async def client(running: RunningEmulator) -> list[BaseException | int]:
        headers = {"Authorization": running.token, "API-Version": "2026-10"}
        async with aiohttp.ClientSession() as idle, aiohttp.ClientSession() as busy:
            async with idle.get(running.metrics_url) as first:  # /metrics has no latency
                await first.read()  # this connection then idles in the pool (keep-alive)
            requests = [_status(busy, running.url, headers) for _ in range(5)]
            return await asyncio.gather(*requests, return_exceptions=True)

    outcomes: list[BaseException | int] = []
    with _resource_warnings() as found:
        with running_emulator(_config(latency=_LONG, shutdown_timeout_s=0.2)) as running:
            worker = threading.Thread(target=lambda: outcomes.extend(asyncio.run(client(running))))
            worker.start()
            _wait_in_flight(running, 5)
        worker.join(10)
        assert not worker.is_alive()
        assert not new_server_threads()
    assert not found, _describe(found)
    assert len(outcomes) == 5
    assert all(isinstance(o, aiohttp.ClientError) for o in outcomes), outcomes  # cut off, not answered


async def _status(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    async with session.post(url, data=_BODY, headers=headers) as response:
        await response.read()
        return response.status


def test_a_stopped_emulator_refuses_new_connections() -> None:
    with running_emulator(_config()) as running:
        port = _port(running)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
