"""ThrottledStateWriter: STATE paced by its size, never repeated, the newest always written at the end."""

from __future__ import annotations

from typing import Any

from tap_monday_boards.statewriter import ThrottledStateWriter


class _Collect:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def write_message(self, message: Any) -> None:
        self.values.append(message.value)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _writer(bytes_per_s: float) -> tuple[ThrottledStateWriter, _Collect, _Clock]:
    out, clock = _Collect(), _Clock()
    return ThrottledStateWriter(out, bytes_per_s=bytes_per_s, clock=clock), out, clock


def test_a_state_waits_for_the_time_its_predecessors_size_buys_then_the_newest_goes() -> None:
    writer, out, clock = _writer(bytes_per_s=1_000)
    big = {"bookmarks": {"items": {"partitions": [{"context": {"board_id": str(n)}} for n in range(20)]}}}
    writer.write_state(big)  # ~600 bytes: the next may go 0.6 s later
    assert len(out.values) == 1
    second = {**big, "n": 2}
    third = {**big, "n": 3}
    writer.write_state(second)
    writer.write_state(third)
    assert len(out.values) == 1  # too soon: kept, not written
    clock.now += 1.0
    writer.write_state({**big, "n": 4})
    assert [v.get("n") for v in out.values] == [None, 4]  # the newest, the kept ones skipped
    writer.write_state({**big, "n": 5})
    writer.flush()  # the end of the sync: the newest state whatever the pace
    assert [v.get("n") for v in out.values] == [None, 4, 5]
    writer.flush()
    assert len(out.values) == 3  # nothing kept: nothing more


def test_small_states_are_all_written_and_an_unchanged_one_never_twice() -> None:
    writer, out, clock = _writer(bytes_per_s=1_000_000)
    state: dict[str, Any] = {"bookmarks": {}}
    writer.write_state(state)
    clock.now += 0.001  # 1 ms buys 1,000 bytes: plenty for this state
    writer.write_state(state)  # unchanged
    state["bookmarks"]["users"] = {"replication_key_value": "2024-01-01"}  # the SDK mutates it in place
    clock.now += 0.001
    writer.write_state(state)
    assert len(out.values) == 2 and writer.written == 2
