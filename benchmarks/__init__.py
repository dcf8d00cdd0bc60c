"""Benchmark suite for tap-monday-boards.

Run ``python -m benchmarks`` (or ``make bench``). Every run starts the monday.com emulator as a separate
process per measurement, so each strategy sees a fresh complexity budget and its CPU is measured apart
from the client's. See docs/benchmarks.md for the method and the ceiling formula.
"""
