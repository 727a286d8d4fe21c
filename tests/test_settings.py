"""Settings come from FACTLOOM_* variables and factloom.toml, with clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError
from app.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("FACTLOOM_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_use_embedded_store() -> None:
    config = load_settings().store_config()
    assert config.embedded and config.database_name == "factloom" and config.data_dir == Path(".factloom")


def test_toml_then_env_then_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "factloom.toml").write_text('data_dir = "from-toml"\nbolt_port = 7000\nhttp_port = 7001\n')
    settings = load_settings()
    assert (settings.data_dir, settings.bolt_port) == (Path("from-toml"), 7000)
    monkeypatch.setenv("FACTLOOM_BOLT_PORT", "7100")
    assert load_settings().bolt_port == 7100 and load_settings().http_port == 7001
    assert load_settings(data_dir=Path("cli")).data_dir == Path("cli")


def test_neo4j_selected_by_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTLOOM_NEO4J_URI", "neo4j://db:7687")
    monkeypatch.setenv("FACTLOOM_NEO4J_PASSWORD", "pw")
    config = load_settings().store_config()
    assert not config.embedded and config.database_name == "neo4j" and config.password == "pw"


@pytest.mark.parametrize(("key", "value"), [("FACTLOOM_BOLT_PORT", "abc"), ("FACTLOOM_HTTP_PORT", "70000")])
def test_bad_env_value_names_the_setting(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=key.removeprefix("FACTLOOM_").lower()):
        load_settings()


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "factloom.toml").write_text("data_dir = [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read settings"):
        load_settings()


def test_unknown_toml_key_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "factloom.toml").write_text("bolt_prot = 1\n")
    with pytest.raises(ConfigError, match="bolt_prot"):
        load_settings()


def test_missing_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTLOOM_CONFIG", "nope.toml")
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings()
