"""``monday-emulator`` as a process: prints its URL first, serves, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import re
import selectors
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import monday_emulator as package
import pytest
from monday_emulator.cli import build_parser, config_from_args
from monday_emulator.faults import FaultKind

FIRST_LINE = re.compile(r"^MONDAY_EMULATOR_URL=(http://127\.0\.0\.1:(\d+)/v2) TOKEN=(\S+)$")


def read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """One stdout line, failing (not hanging) if none comes before the deadline."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            proc.kill()
            pytest.fail(f"no output within {timeout_s}s; stderr: {proc.stderr.read() if proc.stderr else ''}")
    return proc.stdout.readline().rstrip("\n")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_cli_starts_prints_url_serves_and_stops(tmp_path: Path, stop_signal: signal.Signals) -> None:
    log = tmp_path / "requests.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "monday_emulator.cli",
        "--port",
        "0",
        "--seed",
        "7",
        "--boards",
        "2",
        "--items",
        "50",
        "--plan",
        "pro",
        "--token",
        "cli-token",
        "--log-requests",
        str(log),
        "--admin",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        match = FIRST_LINE.match(read_line(proc, 60))
        assert match, "first line must be machine-readable"
        url, token = match.group(1), match.group(3)
        assert token == "cli-token"
        assert proc.stdout is not None
        # Printed right after the first line (possibly already buffered), so a plain readline cannot hang.
        assert "2 boards x 50 items" in proc.stdout.readline()
        request = urllib.request.Request(
            url,
            data=json.dumps({"query": "query Me { me { id } }"}).encode(),
            headers={"Authorization": token, "Content-Type": "application/json", "API-Version": "2025-07"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Api-Version"] == "2025-07"
            assert json.loads(response.read())["data"]["me"]["id"]
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["operation"] for e in entries] == ["Me"]
    assert "cli-token" not in log.read_text()


def test_cli_arguments_build_config() -> None:
    args = build_parser().parse_args(
        [
            "--plan",
            "trial",
            "--faults",
            "0.11",
            "--limit",
            "concurrency=3",
            "--limit",
            "daily_calls=none",
            "--latency",
            "custom:base=0.1",
            "--cursor-ttl",
            "120",
            "--items",
            "10",
            "--groups",
            "7",
        ]
    )
    config = config_from_args(args)
    assert config.plan == "trial"
    assert config.limit_overrides == {"concurrency": 3, "daily_calls": None}
    assert config.faults.total == pytest.approx(0.11)
    assert len(config.faults.rates) == 11
    assert config.cursor_ttl_s == 120
    assert config.items_per_board == 10
    assert config.groups_per_board == 7
    assert config.latency.base_s == pytest.approx(0.1)  # type: ignore[union-attr]


def test_cli_single_fault_rates() -> None:
    args = build_parser().parse_args(
        ["--fault", "empty_429=0.3", "--fault", "http_502=0.1", "--slow-delay", "9"]
    )
    config = config_from_args(args)
    assert config.faults.rates == {FaultKind.EMPTY_429: 0.3, FaultKind.HTTP_502: 0.1}
    assert config.faults.slow_delay_s == 9


@pytest.mark.parametrize(
    "bad",
    [
        ["--limit", "speed=3"],
        ["--faults", "2"],
        ["--latency", "warp"],
        ["--fault", "meteor=0.1"],
        ["--fault", "http_500=0.8", "--fault", "http_502=0.8"],
        ["--groups", "0"],
    ],
)
def test_cli_rejects_bad_arguments(bad: list[str]) -> None:
    with pytest.raises(SystemExit):
        config_from_args(build_parser().parse_args(bad))


def test_console_script_is_declared() -> None:
    pyproject = (Path(__file__).parents[2] / "emulator" / "pyproject.toml").read_text()
    assert 'monday-emulator = "monday_emulator.cli:main"' in pyproject


def test_package_exports_lazily() -> None:
    assert package.running_emulator.__name__ == "running_emulator"
    assert package.EmulatorConfig().token == "demo-token"
    with pytest.raises(AttributeError):
        _ = package.nothing_here
