"""The one typed settings object, read from ``FACTLOOM_*`` environment variables and ``factloom.toml``.

Precedence: command-line options > environment > ``factloom.toml`` (in the working directory, or the file
named by ``FACTLOOM_CONFIG``) > defaults. Stages never read the environment themselves; ``app`` builds their
configs from this object (``Settings.store_config()``).

Example ``factloom.toml``::

    data_dir = "/var/lib/factloom"
    neo4j_uri = "neo4j://localhost:7687"
    neo4j_password = "change-me"
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from app.errors import ConfigError
from kg.config import StoreConfig


class Settings(BaseSettings):
    """Every setting, with its environment variable name ``FACTLOOM_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="FACTLOOM_", extra="forbid")

    data_dir: Path = Field(Path(".factloom"), description="embedded store data directory")
    neo4j_uri: str | None = Field(None, description="Neo4j 5 Bolt URI; unset = embedded ArcadeDB store")
    neo4j_user: str = Field("neo4j", description="Neo4j user")
    neo4j_password: str | None = Field(None, description="Neo4j password")
    neo4j_database: str | None = Field(None, description="database name (default neo4j / factloom)")
    bolt_port: int = Field(17687, ge=1, le=65535, description="embedded store Bolt port on 127.0.0.1")
    http_port: int = Field(12480, ge=1, le=65535, description="embedded store HTTP port on 127.0.0.1")
    store_heap: str = Field("2g", description="embedded store JVM heap")
    jsonl_text_field: str = Field("text", description="field holding the text in .jsonl input")
    extract_model: Path = Field(
        Path(__file__).resolve().parents[1] / "models" / "extract" / "patent-joint",
        description="fact extractor model folder (default: the shipped model)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("FACTLOOM_CONFIG", "factloom.toml"))
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_path)

    def store_config(self) -> StoreConfig:
        return StoreConfig(
            neo4j_uri=self.neo4j_uri or None,
            user=self.neo4j_user,
            password=self.neo4j_password,
            database=self.neo4j_database,
            data_dir=self.data_dir,
            bolt_port=self.bolt_port,
            http_port=self.http_port,
            heap=self.store_heap,
        )


def load_settings(**overrides: object) -> Settings:
    """Build :class:`Settings`; a bad value raises :class:`ConfigError` naming the setting and its source."""
    config = os.environ.get("FACTLOOM_CONFIG")
    if config and not Path(config).is_file():
        raise ConfigError(f"FACTLOOM_CONFIG names {config}, which is not a file")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings (FACTLOOM_* environment or factloom.toml): {problems}") from exc
    except (OSError, ValueError) as exc:  # e.g. a factloom.toml that is not valid TOML
        raise ConfigError(f"cannot read settings: {exc}") from exc
