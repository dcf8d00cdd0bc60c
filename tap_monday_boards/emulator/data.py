"""Deterministic monday.com account data (placeholder; full generator follows)."""

from __future__ import annotations


class Store:
    """Account data derived from a seed."""

    def __init__(self, seed: int = 0, boards: int = 3, items_per_board: int | list[int] = 100) -> None:
        self.seed = seed
        self.n_boards = boards
        self.items_per_board = items_per_board

    def board_ids(self) -> list[str]:
        """Ids of all boards."""
        return []
