"""Reliability and security tests: the real tap process against the emulator over loopback."""
