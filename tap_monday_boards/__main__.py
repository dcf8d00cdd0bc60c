"""Allow ``python -m tap_monday_boards``."""

from tap_monday_boards.tap import TapMondayBoards

TapMondayBoards.cli()
