"""End-to-end tests: the real Meltano CLI, the tap, the emulator and PostgreSQL together."""
