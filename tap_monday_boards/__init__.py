"""tap-monday-boards: a Singer tap that extracts large monday.com boards fast and completely."""

import gc as _gc
import os as _os
import sys as _sys

__all__ = ["__version__"]
__version__ = "0.1.0"

CLI_NAME = "tap-monday-boards"
"""The console script (pyproject.toml's ``[project.scripts]``)."""

if _os.path.basename(_sys.argv[0] if _sys.argv else "") == CLI_NAME and _gc.isenabled():
    # The CLI process only: its imports (the SDK, aiohttp, this package: ~0.45 s of CPU) build classes and
    # modules that live as long as the process and make no garbage cycles, yet ran ~180 collections (50-70
    # ms of CPU) with the default threshold. ``TapMondayBoards.invoke`` turns the collector back on, tuned.
    _gc.disable()
    IMPORTS_WITHOUT_GC = True
else:
    IMPORTS_WITHOUT_GC = False
