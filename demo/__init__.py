"""The one-command demo (`make demo`)."""
