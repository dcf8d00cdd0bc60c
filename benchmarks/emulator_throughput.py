"""How many ``items(ids:)`` requests (100 items x ~20 column values) the emulator serves per second.

The emulator must never be what limits a tap benchmark, so this measures its ceiling: the emulator runs as
a separate process (``monday-emulator``, ``instant`` latency, no limits, no faults) and a few concurrent
aiohttp clients in this process send the tap's own phase-2 query over loopback for a fixed time.

    .venv/bin/python benchmarks/emulator_throughput.py --clients 4 --seconds 10

Prints one JSON line: requests/s, items/s, MB/s, latency percentiles, emulator CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import selectors
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from tap_monday_boards import queries

TOKEN = "bench-token"
FIRST_LINE = re.compile(r"MONDAY_EMULATOR_URL=(\S+)")


def start_emulator(boards: int, items: int, seed: int) -> tuple[subprocess.Popen[str], str]:
    """``monday-emulator`` on a free port; returns the process and its URL."""
    cmd = [sys.executable, "-m", "monday_emulator.cli", "--port", "0", "--seed", str(seed),
           "--boards", str(boards), "--items", str(items), "--plan", "unlimited", "--latency", "instant",
           "--token", TOKEN]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(120):
            proc.kill()
            raise RuntimeError("emulator did not start within 120 s")
    match = FIRST_LINE.search(proc.stdout.readline())
    if not match:
        proc.kill()
        raise RuntimeError("emulator printed no URL")
    return proc, match.group(1)


async def harvest_ids(session: aiohttp.ClientSession, url: str, want: int) -> list[str]:
    """Item ids over HTTP with the tap's harvest queries (the benchmark cannot see the store)."""
    headers = {"Authorization": TOKEN, "API-Version": "2026-10"}
    boards_query = {"query": "query B { boards(limit: 50) { id } }"}
    async with session.post(url, json=boards_query, headers=headers) as r:
        boards = [b["id"] for b in (await r.json())["data"]["boards"]]
    ids: list[str] = []
    for board in boards:
        variables: dict[str, Any] = {"board_ids": [board], "limit": 500}
        async with session.post(url, json={"query": queries.HARVEST_FIRST_PAGE_QUERY, "variables": variables},
                                headers=headers) as r:
            page = (await r.json())["data"]["boards"][0]["items_page"]
        ids += [i["id"] for i in page["items"]]
        if len(ids) >= want:
            break
    return ids[:want]


async def client(session: aiohttp.ClientSession, url: str, batches: list[list[str]], stop_at: float,
                 offset: int, latencies: list[float], sizes: list[int]) -> None:
    headers = {"Authorization": TOKEN, "API-Version": "2026-10"}
    n = offset
    while time.perf_counter() < stop_at:
        ids = batches[n % len(batches)]
        n += 1
        t0 = time.perf_counter()
        body = {"query": queries.ITEMS_BY_IDS_QUERY, "variables": {"ids": ids, "limit": len(ids)}}
        async with session.post(url, json=body, headers=headers) as response:
            raw = await response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {raw[:200]!r}")
        latencies.append(time.perf_counter() - t0)
        sizes.append(len(raw))


async def measure(url: str, clients: int, seconds: float) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        ids = await harvest_ids(session, url, 2_000)
        batches = [ids[i:i + 100] for i in range(0, len(ids) - 99, 100)]
        latencies: list[float] = []
        sizes: list[int] = []
        warm_stop = time.perf_counter() + 1.0
        await asyncio.gather(*(client(session, url, batches, warm_stop, k, [], []) for k in range(clients)))
        start = time.perf_counter()
        await asyncio.gather(*(client(session, url, batches, start + seconds, k * 3, latencies, sizes)
                               for k in range(clients)))
        elapsed = time.perf_counter() - start
        body = {"query": queries.ITEMS_BY_IDS_QUERY, "variables": {"ids": batches[0], "limit": 100}}
        async with session.post(url, json=body, headers={"Authorization": TOKEN}) as response:
            sample = (await response.json())["data"]["items"]
    latencies.sort()
    return {
        "clients": clients, "seconds": round(elapsed, 2), "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "items_per_s": round(len(latencies) * 100 / elapsed),
        "mb_per_s": round(sum(sizes) / elapsed / 1e6, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        "items_per_request": len(sample), "column_values_per_item": len(sample[0]["column_values"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--boards", type=int, default=2)
    parser.add_argument("--items", type=int, default=2_000, help="items per board")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    proc, url = start_emulator(args.boards, args.items, args.seed)
    try:
        server = psutil.Process(proc.pid)
        cpu_before = server.cpu_times()
        result = asyncio.run(measure(url, args.clients, args.seconds))
        cpu_after = server.cpu_times()
        result["emulator_cpu_s"] = round((cpu_after.user + cpu_after.system)
                                         - (cpu_before.user + cpu_before.system), 2)
        result["cpus"] = os.cpu_count()
        print(json.dumps(result))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
