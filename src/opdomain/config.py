"""Settings of one installation, declared as data (pydantic-settings, env prefix ``OPDOMAIN_``).

One data directory (``OPDOMAIN_HOME``) holds everything of an embedded installation:
the records database (SQLite), the domain's data (encrypted Parquet, DuckDB) and keys.
``OPDOMAIN_DATABASE_URL`` moves the records to PostgreSQL.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: rules 三.(九) (R3.9d): network logs are kept at least six months after a grant ends.
MIN_AUDIT_RETENTION_DAYS = 183


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPDOMAIN_", extra="ignore")

    home: Path = Field(default=Path(".opdomain"), description="data directory of this installation")
    database_url: str | None = Field(default=None, description="records database; SQLite in home if unset")
    crypto_profile: Literal["standard", "gm"] = Field(
        default="standard", description="standard: AES-256-GCM + SHA-256; gm (国密): SM4-GCM + SM3"
    )
    audit_checkpoint_every: int = Field(default=1000, ge=1, description="records between signed checkpoints")
    audit_retention_days: int = Field(default=MIN_AUDIT_RETENTION_DAYS, description="≥ 183 (R3.9d)")
    token_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    demo_mode: bool = Field(default=False, description="demo credentials exist only in demo mode")
    login_max_failures: int = Field(default=5, ge=1, description="failures per window before throttling")
    login_window_seconds: int = Field(default=300, ge=1)
    query_row_cap: int = Field(default=1000, ge=1, description="rows shown for one query result")
    secure_cookies: bool = Field(default=False, description="mark cookies Secure (behind TLS)")
    lifecycle_tick_seconds: int = Field(
        default=3600, ge=0, description="how often `serve` runs the lifecycle tick (expiry, renewal warnings); 0 = off"
    )

    @field_validator("audit_retention_days")
    @classmethod
    def _retention_floor(cls, v: int) -> int:
        if v < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(f"audit_retention_days must be ≥ {MIN_AUDIT_RETENTION_DAYS} (rules 三.(九))")
        return v

    @field_validator("home")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @cached_property
    def records_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'records.sqlite3'}"

    @property
    def data_dir(self) -> Path:
        """Encrypted dataset versions: ``data/<dataset>/<version>.parquet.enc``."""
        return self.home / "data"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def work_dir(self) -> Path:
        """Scratch space of the domain (never leaves it)."""
        return self.home / "work"

    def ensure_dirs(self) -> None:
        for d in (self.home, self.data_dir, self.keys_dir, self.work_dir):
            d.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.keys_dir, self.data_dir, self.work_dir):
            d.chmod(0o700)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
