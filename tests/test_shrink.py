"""shrink.py: how much smaller a refused document gets, and page numbers that stay exact after shrinking."""

from __future__ import annotations

import pytest

from tap_monday_boards.errors import Decision, DecisionKind
from tap_monday_boards.shrink import PagePosition, smaller_size


def _refusal(cost: int | None, cap: int | None) -> Decision:
    return Decision(DecisionKind.TOO_COMPLEX, None, "ComplexityException", None, "m", 200, cost, cap)


@pytest.mark.parametrize(
    ("size", "cost", "cap", "expected"),
    [
        (100, None, None, 50),  # no numbers in the answer: halve
        (100, 12_010, 10_000, 50),  # barely over: halving is already below the proportional size
        (100, 12_010, 600, 4),  # far over: straight to a size that fits (90 % of the proportional one)
        (500, 510_010, 18_200, 16),
        (3, 10_000, 1, 1),  # never below 1
        (1, 130, 100, None),  # 1 row over the cap: nothing smaller exists
    ],
)
def test_smaller_size(size: int, cost: int | None, cap: int | None, expected: int | None) -> None:
    assert smaller_size(size, _refusal(cost, cap)) == expected


def test_refusals_converge_on_a_size_that_fits_in_few_steps() -> None:
    """A server pricing ``fixed + per_row x size``: at most one refusal more than halving would need."""
    for per_row, fixed in ((120, 10), (1_020, 10), (2, 32)):
        for start in (25, 100, 500):
            for cap in range(fixed + per_row, fixed + per_row * start, max(1, per_row * start // 37)):
                size, refusals = start, 0
                while fixed + per_row * size > cap:
                    refusals += 1
                    smaller = smaller_size(size, _refusal(fixed + per_row * size, cap))
                    assert smaller is not None and smaller < size
                    size = smaller
                halvings = next(n for n in range(20) if fixed + per_row * (start >> n) <= cap)
                assert refusals <= max(1, halvings), (per_row, fixed, start, cap)


def test_page_position_keeps_the_next_row_when_the_limit_shrinks() -> None:
    position = PagePosition(0, 100).next().next()  # 200 rows read
    assert (position.page, position.limit) == (3, 100)
    smaller = position.smaller()
    assert smaller == PagePosition(200, 50) and smaller.page == 5  # rows 201-250
    odd = PagePosition(16, 16).smaller(_refusal(16_330, 9_000))  # proportional 7 -> 4 divides 16
    assert odd == PagePosition(16, 4) and odd.page == 5
    prime = PagePosition(17, 17).smaller()  # 8 does not divide 17: only 1 does
    assert prime == PagePosition(17, 1) and prime.page == 18
    for offset in range(0, 600, 7):
        for limit in (500, 100, 25, 3):
            start = PagePosition(offset - offset % limit, limit)
            new = start.smaller()
            assert new is not None and (new.page - 1) * new.limit == start.offset
    assert PagePosition(40, 1).smaller() is None
