"""Allow ``python -m tap_monday_boards`` (the console script's entry, cli.py)."""

from tap_monday_boards.cli import main

main()
