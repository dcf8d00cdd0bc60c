"""Reliability and security tests (issue 7): the real tap process against the emulator over loopback."""
