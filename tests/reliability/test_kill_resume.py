"""Kill and resume: SIGTERM or SIGKILL at a seeded random point, then a restart from the last STATE.

A loader keeps the last STATE it received and upserts RECORDs by primary key, which is what target-postgres
does; :class:`UpsertLoader` is that loader in Python so the fast variant needs no database. The restart reads
the kept STATE, and the final table must equal the emulator's ground truth - nothing missing, nothing extra,
every field current - including an item renamed while the tap was down. The slow ``postgres`` variant does
the same through the real target-postgres into embedded PostgreSQL.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from monday_emulator.testing import RunningEmulator

from tests.reliability.harness import FAST_TUNING, expected_records, first_difference, start_tap, stop

Factory = Callable[..., RunningEmulator]
TOKEN = "resume-token-51e0b7"
SIGTERM_GRACE_S = 15.0


def signal_and_drain(process: subprocess.Popen[bytes], sig: signal.Signals) -> tuple[bytes, float]:
    """Signal the tap and go on reading its stdout until it exits, as a loader does; returns what it wrote
    after the signal and the seconds until it exited.

    Why read meanwhile: on SIGTERM the tap writes the records already built and its last STATE. A reader
    that stopped reading (waiting for the exit first) leaves the pipe full, and the tap blocks on that
    write past the grace period: a harness deadlock, not the tap's behaviour behind a real target.
    """
    assert process.stdout is not None
    out = process.stdout
    rest: list[bytes] = []
    reader = threading.Thread(target=lambda: rest.append(out.read()), daemon=True)
    signalled = time.monotonic()
    process.send_signal(sig)
    reader.start()
    process.wait(timeout=SIGTERM_GRACE_S)
    exit_s = time.monotonic() - signalled
    reader.join(timeout=SIGTERM_GRACE_S)
    assert rest, "the tap's stdout did not close after it exited"
    return rest[0], exit_s


class UpsertLoader:
    """A Singer loader in miniature: upsert RECORDs by ``id`` per stream, keep the last STATE."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.state: dict[str, Any] | None = None
        self.records_seen = 0

    def apply(self, line: bytes) -> None:
        """One complete Singer line."""
        message = json.loads(line)
        if message["type"] == "RECORD":
            self.tables.setdefault(message["stream"], {})[str(message["record"]["id"])] = message["record"]
            self.records_seen += 1
        elif message["type"] == "STATE":
            self.state = message["value"]

    def consume(self, stream: IO[bytes], stop_after: int | None = None) -> bool:
        """Apply complete lines until EOF, or until ``stop_after`` RECORDs; True when stopped early."""
        for line in stream:
            if not line.endswith(b"\n"):
                break  # a killed writer's partial last line is never applied
            self.apply(line)
            if stop_after is not None and self.records_seen >= stop_after:
                return True
        return False


def _interrupted_then_resumed(
    em: RunningEmulator, workdir: Path, sig: signal.Signals, kill_after: int, loader: UpsertLoader
) -> tuple[float, int]:
    """Run, signal after ``kill_after`` records, rename an item, resume from the kept STATE to the end."""
    config = {"api_url": em.url, "api_token": TOKEN, "max_concurrency": 4, **FAST_TUNING}
    first = start_tap(config, workdir / "first")
    try:
        assert first.stdout is not None
        stopped_early = loader.consume(first.stdout, stop_after=kill_after)
        assert stopped_early, f"the tap finished before {kill_after} records"
        rest, exit_s = signal_and_drain(first, sig)  # what it wrote before dying: a loader receives it
        for line in rest.split(b"\n")[:-1]:
            loader.apply(line)
    finally:
        stop(first)
    store = em.emulator.store
    renamed = str(store.item_ids(store.board_ids()[0])[0])
    store.rename_item(renamed, "renamed while the tap was down")

    second = start_tap(config, workdir / "second", state=loader.state)
    try:
        assert second.stdout is not None
        loader.consume(second.stdout)
        returncode = second.wait(timeout=120)
    finally:
        stop(second)
    assert returncode == 0, (workdir / "second" / "stderr.log").read_text()[-2000:]
    return exit_s, first.returncode


def _assert_tables_equal_truth(em: RunningEmulator, loader: UpsertLoader) -> None:
    truth = expected_records(em.emulator.store)
    for stream, expected in truth.items():
        table = loader.tables.get(stream, {})
        assert sorted(table) == sorted(expected), (
            f"{stream}: missing {sorted(set(expected) - set(table))[:5]}, "
            f"extra {sorted(set(table) - set(expected))[:5]}"
        )
        different = [
            k for k in expected
            if json.dumps(table[k], sort_keys=True) != json.dumps(expected[k], sort_keys=True)
        ]
        assert not different, first_difference(table[different[0]], expected[different[0]])


@pytest.fixture
def account(emulator_factory: Factory) -> Iterator[RunningEmulator]:
    yield emulator_factory(boards=2, items_per_board=800, token=TOKEN)


def _kill_point(em: RunningEmulator, phase: str, seed: int) -> int:
    truth = expected_records(em.emulator.store)
    items, subitems = len(truth["items"]), len(truth["subitems"])
    rng = random.Random(seed)
    return rng.randint(1, items - 1) if phase == "items" else rng.randint(items + 1, items + subitems - 1)


@pytest.mark.parametrize(
    ("sig", "phase", "seed"),
    [(signal.SIGTERM, "items", 1), (signal.SIGKILL, "subitems", 2)],
    ids=["sigterm-items", "sigkill-subitems"],
)
def test_kill_and_resume_ends_complete_and_exact(
    sig: signal.Signals, phase: str, seed: int, account: RunningEmulator, tmp_path: Path
) -> None:
    loader = UpsertLoader()
    kill_after = _kill_point(account, phase, seed)
    exit_s, returncode = _interrupted_then_resumed(account, tmp_path, sig, kill_after, loader)
    if sig is signal.SIGTERM:
        # the tap writes the current STATE on SIGTERM and exits 128 + SIGTERM: interrupted, not complete
        assert returncode in (128 + signal.SIGTERM, -signal.SIGTERM), returncode
        assert exit_s < SIGTERM_GRACE_S
    else:
        assert returncode == -signal.SIGKILL
    _assert_tables_equal_truth(account, loader)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("phase", ["items", "subitems"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_kill_and_resume_matrix(
    sig: signal.Signals, phase: str, seed: int, account: RunningEmulator, tmp_path: Path
) -> None:
    loader = UpsertLoader()
    _interrupted_then_resumed(account, tmp_path, sig, _kill_point(account, phase, seed), loader)
    _assert_tables_equal_truth(account, loader)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_kill_and_resume_into_postgres(sig: signal.Signals, account: RunningEmulator, tmp_path: Path) -> None:
    """The same through the real target-postgres: the restart uses the STATE the *target* committed."""
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    from tests.reliability import pg  # noqa: PLC0415
    from tests.support.postgres import postgres_server  # noqa: PLC0415

    pg.target_postgres()
    config = {"api_url": account.url, "api_token": TOKEN, "max_concurrency": 4, **FAST_TUNING}
    kill_after = _kill_point(account, "subitems", seed=21)
    schema = f"resume_{sig.name.lower()}"
    with postgres_server() as conn:
        first = start_tap(config, tmp_path / "first")
        try:
            assert first.stdout is not None
            counter = UpsertLoader()
            head = bytearray()
            for line in first.stdout:
                head += line
                if line.endswith(b"\n"):
                    counter.apply(line)
                if counter.records_seen >= kill_after:
                    break
            head += signal_and_drain(first, sig)[0]
        finally:
            stop(first)
        committed = pg.load(bytes(head), conn, schema, tmp_path / "load1")
        # targets print each committed state value as one JSON line
        states = [json.loads(x) for x in committed.splitlines() if x.strip()]
        assert states and "items" in json.dumps(states[-1]), "killed after the items stream: a STATE exists"
        store = account.emulator.store
        store.rename_item(str(store.item_ids(store.board_ids()[0])[0]), "renamed while the tap was down")

        second = start_tap(config, tmp_path / "second", state=states[-1] if states else None)
        try:
            assert second.stdout is not None
            rest = second.stdout.read()
            assert second.wait(timeout=120) == 0
        finally:
            stop(second)
        pg.load(rest, conn, schema, tmp_path / "load2")

        truth = expected_records(store)
        with psycopg.connect(conn.url) as db:
            for stream, expected in truth.items():
                rows = db.execute(
                    sql.SQL("select id, name, updated_at from {}").format(sql.Identifier(schema, stream))
                ).fetchall()
                ids = [r[0] for r in rows]
                assert len(ids) == len(set(ids)), f"{stream}: duplicate primary keys"
                assert sorted(ids) == sorted(expected), f"{stream}: rows differ from the truth"
                for item_id, name, updated_at in rows:
                    assert name == expected[item_id]["name"], item_id
                    stamp = updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                    assert stamp == expected[item_id]["updated_at"], item_id


@pytest.mark.slow
def test_resume_skips_boards_finished_before_the_kill(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(boards=3, items_per_board=800, token=TOKEN)
    config = {"api_url": em.url, "api_token": TOKEN, **FAST_TUNING}
    truth = expected_records(em.emulator.store)["items"]
    first_two = sum(1 for r in truth.values() if r["board_id"] != str(em.emulator.store.board_ids()[2]))
    loader = UpsertLoader()
    first = start_tap(config, tmp_path / "first", streams=("items",))
    try:
        assert first.stdout is not None
        assert loader.consume(first.stdout, stop_after=first_two + 100)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=SIGTERM_GRACE_S)
    finally:
        stop(first)
    resumed = UpsertLoader()
    second = start_tap(config, tmp_path / "second", streams=("items",), state=loader.state)
    try:
        assert second.stdout is not None
        resumed.consume(second.stdout)
        assert second.wait(timeout=120) == 0
    finally:
        stop(second)
    assert resumed.records_seen <= len(truth) - first_two + 50, "the resumed run re-read finished boards"
