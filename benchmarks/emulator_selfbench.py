"""``python -m benchmarks.emulator_selfbench``: executor throughput, fast path vs graphql-core.

Measures in-process ``Executor.execute`` + ``json.dumps`` of the answer (no HTTP) for the tap's phase-2
shape: ``items(ids:)`` with 100 ids and every column value (21 per item), fresh ids on every request.
It tells whether the executor can feed the HTTP layer's >= 50 requests/s target on one core.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from monday_emulator.clock import FakeClock
from monday_emulator.data import Store
from monday_emulator.execute import Executor

from tap_monday_boards.queries import ITEMS_BY_IDS_QUERY


def measure(*, fast_path: bool, requests: int, seed: int = 1) -> float:
    """Requests per second for ``requests`` distinct 100-id batches."""
    clock = FakeClock()
    store = Store(seed=seed, boards=1, items_per_board=max(100 * requests, 100), clock=clock)
    executor = Executor(store, clock, fast_path=fast_path)
    board = store.board_obj(store.board_ids()[0])
    assert board is not None
    batches = [[str(board.item_base + k * 100 + i) for i in range(100)] for k in range(requests)]
    executor.execute(ITEMS_BY_IDS_QUERY, {"ids": batches[0], "limit": 100}, None)  # parse/compile once
    started = time.perf_counter()
    for ids in batches:
        result = executor.execute(ITEMS_BY_IDS_QUERY, {"ids": ids, "limit": 100}, None)
        json.dumps({"data": result.data})
    return requests / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    """Print requests/s for both paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    for fast in (True, False):
        rate = measure(fast_path=fast, requests=args.requests)
        label = "fast path" if fast else "graphql-core"
        print(f"{label}: {rate:.1f} requests/s (100 items x 21 column values)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
