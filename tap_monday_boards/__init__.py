"""tap-monday-boards: a Singer tap that extracts large monday.com boards fast and completely."""

__all__ = ["__version__"]
__version__ = "0.1.0"
