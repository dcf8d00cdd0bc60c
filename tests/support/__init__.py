"""Test and demo infrastructure: embedded PostgreSQL, the emulator as a subprocess, the Meltano CLI."""
