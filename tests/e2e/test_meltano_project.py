"""meltano.yml and .env.example stay in step with the tap, and the project never needs Meltano Hub.

Why: the tap's settings are declared in three places (tap.py, meltano.yml, .env.example); a setting added to
the tap but not to meltano.yml is invisible to `meltano config`, and a plugin without a complete definition
makes `meltano install` go to Meltano Hub, which the demo and CI must not depend on.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_monday_boards.tap import CONFIG_SCHEMA, TapMondayBoards
from tests.support.meltano import PROJECT_ROOT, run_meltano

MELTANO_YML = PROJECT_ROOT / "meltano.yml"


def _project() -> dict[str, Any]:
    return yaml.safe_load(MELTANO_YML.read_text())


def _plugin(kind: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in _project()["plugins"][kind] if p["name"] == name]
    return found


def _expected_kind(prop: dict[str, Any]) -> str:
    types = set(prop["type"] if isinstance(prop["type"], list) else [prop["type"]]) - {"null"}
    (json_type,) = types
    if json_type == "string" and prop.get("format") == "date-time":
        return "date_iso8601"
    if json_type == "string" and prop.get("enum"):
        return "options"
    # Whole seconds are enough, and Meltano 4.4's `decimal` kind breaks its config writer (see meltano.yml).
    return {"number": "integer"}.get(json_type, json_type)


# The tap's own settings, then the SDK built-ins meltano.yml also declares (stream maps, flattening).
TAP_PROPS: dict[str, dict[str, Any]] = CONFIG_SCHEMA["properties"]
_WITH_BUILTINS = copy.deepcopy(CONFIG_SCHEMA)
TapMondayBoards.append_builtin_config(_WITH_BUILTINS)
BUILTINS = ("stream_maps", "stream_map_config", "flattening_enabled", "flattening_max_depth")
DECLARED_PROPS = {**TAP_PROPS, **{n: _WITH_BUILTINS["properties"][n] for n in BUILTINS}}


def test_every_tap_setting_is_declared_with_kind_default_and_sensitivity() -> None:
    declared = {s["name"]: s for s in _plugin("extractors", "tap-monday-boards")["settings"]}
    assert list(declared) == list(DECLARED_PROPS), "meltano.yml must list the tap's settings, in order"
    for name, prop in DECLARED_PROPS.items():
        setting = declared[name]
        assert setting["kind"] == _expected_kind(prop), name
        assert bool(setting.get("sensitive")) == bool(prop.get("secret")), name
        default = prop.get("default")
        if default not in (None, []) and name != "user_agent":
            assert setting.get("value") == default, f"{name}: meltano.yml value differs from the tap default"
        assert setting.get("description"), name


def test_capabilities_match_the_tap() -> None:
    declared = set(_plugin("extractors", "tap-monday-boards")["capabilities"])
    assert declared == {str(c) for c in TapMondayBoards.capabilities}


def test_env_example_names_every_setting_and_holds_no_secret() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    for name in TAP_PROPS:
        assert re.search(rf"^#? ?TAP_MONDAY_BOARDS_{name.upper()}=", text, re.MULTILINE), name
    assert re.search(r"^TAP_MONDAY_BOARDS_API_TOKEN=$", text, re.MULTILINE), "the token must be left empty"


def test_plugins_are_complete_without_meltano_hub() -> None:
    project = _project()
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"][kind]:
            assert "variant" not in plugin and "inherit_from" not in plugin, plugin["name"]
            assert plugin["namespace"] and plugin["pip_url"] and plugin["executable"], plugin["name"]
    assert _plugin("loaders", "target-postgres")["pip_url"] == "meltanolabs-target-postgres==0.8.1"
    assert project["send_anonymous_usage_stats"] is False
    assert "state_backend" not in project, "the demo keeps Meltano's default (systemdb) state backend"


def test_loader_is_configured_for_copy_into_staging() -> None:
    config = _plugin("loaders", "target-postgres")["config"]
    assert config["use_copy"] is True
    assert config["default_target_schema"] == "staging"
    assert config["add_record_metadata"] is True and config["activate_version"] is True
    assert config["hard_delete"] is False


def test_no_secret_values_in_meltano_yml() -> None:
    text = MELTANO_YML.read_text()
    assert not re.search(r"(api_token|password|sqlalchemy_url)\s*:\s*\S", text.split("plugins:", 1)[0])
    for plugin in _plugin("extractors", "tap-monday-boards"), _plugin("loaders", "target-postgres"):
        assert "api_token" not in plugin.get("config", {}) and "password" not in plugin.get("config", {})


@pytest.mark.meltano
def test_meltano_resolves_environments_offline(tmp_path: Path) -> None:
    env = {"TAP_MONDAY_BOARDS_API_TOKEN": "t0k3n-never-printed", "TARGET_POSTGRES_PORT": "6543"}
    demo = run_meltano(["--environment=demo", "config", "print", "target-postgres"], env=env,
                       log_path=tmp_path / "demo.log", timeout_s=120).check()
    target = json.loads(demo.output[demo.output.index("{"):])
    assert target["port"] == 6543 and target["host"] == "127.0.0.1" and target["use_copy"] is True
    prod = run_meltano(["--environment=prod", "config", "print", "tap-monday-boards"], env=env,
                       log_path=tmp_path / "prod.log", timeout_s=120).check()
    tap = json.loads(prod.output[prod.output.index("{"):])
    assert tap["api_url"] == "https://api.monday.com/v2"
    # Read from the environment (it is set: Meltano shows it redacted), and never printed.
    assert tap["api_token"] == "*****"
    assert "t0k3n-never-printed" not in prod.output + demo.output


def test_readme_plugin_snippet_says_what_meltano_yml_says() -> None:
    """The README's plugin definition is a copy for other projects: each setting it shows must carry
    meltano.yml's kind, default and sensitivity (a default changed in one place only misleads users)."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Meltano Hub plugin definition", 1)[1]
    snippet = section.split("```yaml", 1)[1].split("```", 1)[0]
    shown = yaml.safe_load(snippet)["plugins"]["extractors"][0]["settings"]
    declared = {s["name"]: s for s in _plugin("extractors", "tap-monday-boards")["settings"]}
    assert len(shown) >= 5
    for setting in shown:
        expected = declared[setting["name"]]
        for key in ("kind", "value", "sensitive"):
            assert setting.get(key) == expected.get(key), f"README snippet {setting['name']}.{key}"
