"""Settings: precedence, sources and clear errors for bad files and values."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.config import load_settings
from loopml.errors import ConfigError


def test_defaults_put_home_in_working_directory(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env={})
    assert settings.home == tmp_path / ".loopml"
    assert settings.db_url == f"sqlite:///{tmp_path / '.loopml' / 'loopml.db'}"
    assert settings.artifact_url == str(tmp_path / ".loopml" / "artifacts")
    assert settings.is_embedded
    assert {source for _, _, source in settings.describe()} == {"default"}


def test_precedence_argument_env_toml_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.loopml]\nbusy_timeout_s = 5\nauto_migrate = "never"\nhome = "from-pyproject"\n'
    )
    (tmp_path / "loopml.toml").write_text('busy_timeout_s = 7\nhome = "from-toml"\n')
    env = {"LOOPML_HOME": str(tmp_path / "from-env")}
    settings = load_settings(cwd=tmp_path, env=env, busy_timeout_s=9)
    sources = {name: source for name, _, source in settings.describe()}
    assert settings.busy_timeout_s == 9 and sources["busy_timeout_s"] == "argument"
    assert settings.home == tmp_path / "from-env" and sources["home"] == "environment"
    assert settings.auto_migrate == "never" and sources["auto_migrate"] == "pyproject.toml"

    only_files = load_settings(cwd=tmp_path, env={})
    assert only_files.home == tmp_path / "from-toml"
    assert only_files.busy_timeout_s == 7


def test_env_values_are_parsed_and_validated(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env={"LOOPML_BUSY_TIMEOUT_S": "2.5"})
    assert settings.busy_timeout_s == 2.5
    with pytest.raises(ConfigError) as info:
        load_settings(cwd=tmp_path, env={"LOOPML_BUSY_TIMEOUT_S": "soon"})
    assert "busy_timeout_s" in str(info.value) and "environment" in str(info.value)


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text('home = ".x"\nbusy_timeout_s = = 3\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cwd=tmp_path, env={})
    assert "loopml.toml" in str(info.value) and "line 2" in str(info.value)


def test_unknown_key_lists_accepted_ones(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text('db_ulr = "sqlite://"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cwd=tmp_path, env={})
    assert "db_ulr" in info.value.message and "db_url" in (info.value.hint or "")


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env={})
    with pytest.raises(AttributeError):
        settings.home = tmp_path  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("BUSY_TIMEOUT_S", "0", "greater than 0"),
        ("BUSY_TIMEOUT_S", "4000", "at most 3600"),
        ("BUSY_TIMEOUT_S", "nan", "finite"),
        ("AUTO_MIGRATE", "sometimes", "one of 'auto', 'always', 'never'"),
        ("USER", "u" * 256, "at most 255 characters"),
        ("PRICE_GPU_HOUR", "-1", "at least 0"),
    ],
)
def test_out_of_range_values_name_the_rule(
    tmp_path: Path, variable: str, value: str, rule: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(cwd=tmp_path, env={f"LOOPML_{variable}": value})
    assert variable.lower() in info.value.message and rule in info.value.message


def test_toml_values_must_have_the_settings_type(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text("busy_timeout_s = 3\nprice_cpu_hour = 0.1\n")
    settings = load_settings(cwd=tmp_path, env={})
    assert settings.busy_timeout_s == 3.0 and isinstance(settings.busy_timeout_s, float)
    (tmp_path / "loopml.toml").write_text('db_url = 5\nexecutor = ""\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cwd=tmp_path, env={})
    assert "db_url = 5 from loopml.toml: must be a string" in info.value.message
    assert "executor = '' from loopml.toml: must not be empty" in info.value.message
