"""Settings: bad values are rejected before any request, naming the setting and the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from singer_sdk.exceptions import ConfigValidationError

from tap_monday_boards.engine.settings import (
    _BOUNDS,
    ENGINE_DEFAULTS,
    PLAN_SETTINGS,
    EngineSettings,
    schema_bounds,
)
from tap_monday_boards.tap import CONFIG_SCHEMA, TapMondayBoards, setting_defaults, settings_errors

TOKEN = "tok-SECRET-1234567890"
VALID: dict[str, Any] = {"api_token": TOKEN}


@pytest.mark.parametrize(
    ("overrides", "setting", "rule"),
    [
        pytest.param({"batch_size": 0}, "batch_size", "minimum of 1", id="batch-0"),
        pytest.param({"batch_size": 101}, "batch_size", "maximum of 100", id="batch-101"),
        pytest.param({"harvest_page_size": 501}, "harvest_page_size", "maximum of 500", id="harvest-501"),
        pytest.param({"harvest_page_size": 0}, "harvest_page_size", "minimum of 1", id="harvest-0"),
        pytest.param({"max_concurrency": 0}, "max_concurrency", "minimum of 1", id="concurrency-0"),
        pytest.param({"requests_per_minute": 0}, "requests_per_minute", "minimum of 1", id="rpm-0"),
        pytest.param(
            {"complexity_budget_per_minute": -5}, "complexity_budget_per_minute", "minimum", id="budget"
        ),
        pytest.param({"request_timeout": 0}, "request_timeout", "minimum of 1", id="timeout-0"),
        pytest.param({"max_retries": -1}, "max_retries", "minimum of 0", id="retries"),
        pytest.param(
            {"lookback_window_minutes": -1}, "lookback_window_minutes", "minimum of 0", id="lookback"
        ),
        pytest.param({"api_url": "api.monday.com/v2"}, "api_url", "http(s) URL", id="url-no-scheme"),
        pytest.param({"api_url": "ftp://host/v2"}, "api_url", "http(s) URL", id="url-ftp"),
        pytest.param({"api_url": "http:///v2"}, "api_url", "http(s) URL", id="url-no-host"),
        pytest.param({"api_version": "2026-11"}, "api_version", "does not match", id="version-month"),
        pytest.param({"api_version": "2023"}, "api_version", "does not match", id="version-malformed"),
        pytest.param({"board_ids": ["123", "abc"]}, "board_ids", "does not match", id="board-id-not-numeric"),
        pytest.param({"board_ids": "123"}, "board_ids", "not of type 'array'", id="board-ids-not-list"),
        pytest.param({"include_subitems": "yes"}, "include_subitems", "not of type 'boolean'", id="bool"),
        pytest.param({"start_date": "yesterday"}, "start_date", "ISO 8601", id="start-date"),
        pytest.param({"api_token": "   "}, "api_token", "must not be blank", id="token-blank"),
    ],
)
def test_bad_setting_is_named_with_its_rule(overrides: dict[str, Any], setting: str, rule: str) -> None:
    errors = settings_errors({**VALID, **overrides})
    assert len(errors) == 1, errors
    assert f"setting '{setting}'" in errors[0]
    assert rule in errors[0]


def test_missing_token_is_named() -> None:
    assert settings_errors({}) == ["setting 'api_token' is required"]


def test_token_value_never_echoed() -> None:
    errors = settings_errors({"api_token": 1234567890123})
    assert errors == ["setting 'api_token': has an invalid value (not shown: secret)"]
    assert "1234567890123" not in " ".join(errors)


def test_defaults_satisfy_their_own_rules() -> None:
    config = {**setting_defaults(), **VALID}
    assert settings_errors(config) == []
    assert config["api_version"] == "2026-10" and config["batch_size"] == 100


def test_every_setting_documents_its_default() -> None:
    for name, prop in CONFIG_SCHEMA["properties"].items():
        assert "Default" in prop["description"] or (
            prop.get("default") is None and "Required" in prop["description"]
        ), name


def test_tap_rejects_invalid_config_before_any_request() -> None:
    with pytest.raises(ConfigValidationError) as excinfo:
        TapMondayBoards(config={**VALID, "batch_size": 0, "api_url": "nope"})
    assert any("'batch_size'" in e for e in excinfo.value.errors)
    assert any("'api_url'" in e for e in excinfo.value.errors)
    assert TOKEN not in json.dumps(excinfo.value.errors)


def test_integer_ids_are_accepted_as_strings() -> None:
    tap = TapMondayBoards(config={**VALID, "board_ids": [18265960713, "42"], "workspace_ids": [5]})
    assert tap.config["board_ids"] == ["18265960713", "42"]
    assert tap.config["workspace_ids"] == ["5"]
    assert settings_errors({**VALID, "board_ids": [0]}) == [
        "setting 'board_ids'[0]: 0 is less than the minimum of 1"
    ]


def test_tap_fills_documented_defaults() -> None:
    tap = TapMondayBoards(config=VALID)
    assert tap.config["api_url"] == "https://api.monday.com/v2"
    assert tap.config["harvest_page_size"] == 500
    assert tap.config["include_subitems"] is True


def test_about_markdown_lists_every_setting() -> None:
    result = CliRunner().invoke(TapMondayBoards.cli, ["--about", "--format=markdown"])
    assert result.exit_code == 0, result.output
    for name in CONFIG_SCHEMA["properties"]:
        assert f"| {name} |" in result.output, name
    for capability in ("catalog", "discover", "state", "about", "stream-maps", "schema-flattening"):
        assert f"`{capability}`" in result.output


def test_cli_run_with_bad_config_fails_naming_setting(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**VALID, "max_concurrency": 0}))
    result = CliRunner().invoke(TapMondayBoards.cli, ["--config", str(config)])
    assert result.exit_code != 0
    assert TOKEN not in result.output


def test_the_engine_reads_the_defaults_the_schema_documents() -> None:
    """One declaration (engine/settings.py): the tap's documented defaults are the engine's own."""
    tap = TapMondayBoards(config=VALID)
    # the two plan settings have no default: unset, the account's plan decides them (engine/plan_limits.py)
    from_plan = EngineSettings(api_token=TOKEN, limits_from_plan=PLAN_SETTINGS)
    assert EngineSettings.from_config(tap.config) == from_plan
    properties = CONFIG_SCHEMA["properties"]
    shared = set(ENGINE_DEFAULTS) & set(properties)
    assert {"api_url", "api_version", "batch_size", "max_concurrency", "max_retries", "user_agent"} <= shared
    for name in shared:
        documented = None if name in PLAN_SETTINGS else ENGINE_DEFAULTS[name]
        assert properties[name].get("default") == documented, name  # start_date: none
        assert {k: properties[name][k] for k in ("minimum", "maximum") if k in properties[name]} == (
            schema_bounds(name) if name in _BOUNDS else {}
        ), name
    assert properties["lookback_window_minutes"]["default"] * 60 == ENGINE_DEFAULTS["lookback_window_s"]


def test_engine_bounds_name_the_setting_and_unknown_keys_are_ignored() -> None:
    with pytest.raises(ValueError, match=r"harvest_page_size must be 1\.\.500; max_retries must be >= 0"):
        EngineSettings(api_token=TOKEN, harvest_page_size=501, max_retries=-1)
    with pytest.raises(ValueError, match="request_timeout must be >= 1"):
        EngineSettings(api_token=TOKEN, request_timeout=0)
    settings = EngineSettings.from_config({**VALID, "request_timeout_s": 5, "harvest_order_column": "x"})
    assert settings.request_timeout == ENGINE_DEFAULTS["request_timeout"]  # no alias, no dead setting
