"""The one typed configuration, :class:`FogbankConfig`, and its strict parser.

Settings come from, highest first: explicit arguments (the CLI's ``--home``),
``FOGBANK_*`` environment variables, ``<home>/config.toml``, then defaults. Nothing
is read at import time: :meth:`FogbankConfig.load` reads when it is called.

| setting            | env var                     | default                               |
|--------------------|-----------------------------|---------------------------------------|
| home               | FOGBANK_HOME                | ~/.fogbank                            |
| control_plane_url  | FOGBANK_CONTROL_PLANE_URL   | sqlite:///<home>/control-plane.sqlite |
| account_id         | FOGBANK_ACCOUNT_ID          | 000000000000                          |
| region             | FOGBANK_REGION              | us-east-1                             |
| limits             | FOGBANK_LIMITS              | true (AWS limits enforced)            |
| auth               | FOGBANK_AUTH                | none (any key); sigv4 verifies keys   |
| status_delay       | FOGBANK_STATUS_DELAY        | 0 (seconds CREATING/UPDATING last)    |
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fogbank.core.errors import InvalidConfiguration

DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
CONFIG_FILE_NAME = "config.toml"

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_SETTINGS = ("control_plane_url", "account_id", "region", "limits", "auth", "status_delay")
AUTH_MODES = ("none", "sigv4")


def parse_bool(value: object, *, name: str) -> bool:
    """A boolean is ``true``/``false``/``1``/``0`` (any case) or a real bool; nothing else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    raise InvalidConfiguration(
        f"{name} must be true, false, 1 or 0; got {value!r}. Set it to one of those."
    )


def _parse_seconds(value: object, *, name: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise InvalidConfiguration(f"{name} must be a number of seconds, like 2.5; got {value!r}.")


def _parse_str(value: object, *, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidConfiguration(f"{name} must be a non-empty string; got {value!r}.")
    return value


@dataclass(frozen=True)
class FogbankConfig:
    """Everything fogbank needs to know to run: where its home is and how it behaves."""

    home: Path = field(default_factory=lambda: Path("~/.fogbank").expanduser())
    control_plane_url: str | None = None
    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = DEFAULT_REGION
    limits: bool = True
    auth: str = "none"
    """``none``: any access key is accepted; ``sigv4``: signatures are verified against
    the keys kept in the home (``fogbank keys create``)."""
    status_delay: float = 0.0
    """Seconds a resource stays CREATING or UPDATING (a Kinesis stream being created or
    resharded) before it is ACTIVE; AWS takes tens of seconds, fogbank none by default."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().absolute())
        if not _ACCOUNT_RE.match(self.account_id):
            raise InvalidConfiguration(
                f"account_id must be 12 digits, like 000000000000; got {self.account_id!r}."
            )
        if not _REGION_RE.match(self.region):
            raise InvalidConfiguration(
                f"region must be an AWS region name, like us-east-1; got {self.region!r}."
            )
        if not isinstance(self.limits, bool):
            raise InvalidConfiguration(f"limits must be a bool; got {self.limits!r}.")
        if (
            isinstance(self.status_delay, bool)
            or not isinstance(self.status_delay, int | float)
            or not 0 <= self.status_delay <= 3600
        ):
            raise InvalidConfiguration(
                f"status_delay must be a number of seconds from 0 to 3600; "
                f"got {self.status_delay!r}."
            )
        if self.auth not in AUTH_MODES:
            raise InvalidConfiguration(
                f"auth must be one of {', '.join(AUTH_MODES)}; got {self.auth!r}."
            )

    @property
    def store_url(self) -> str:
        """The control-plane SQLAlchemy URL: the setting, or SQLite inside the home."""
        if self.control_plane_url:
            return self.control_plane_url
        return f"sqlite:///{self.home / 'control-plane.sqlite'}"

    @property
    def lake_root(self) -> Path:
        """The folder that holds the lake's buckets."""
        return self.home / "lake"

    def with_home(self, home: Path) -> FogbankConfig:
        return replace(self, home=home)

    @classmethod
    def load(
        cls,
        home: Path | str | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> FogbankConfig:
        """Build the config from arguments, the environment and ``<home>/config.toml``.

        Every value is parsed strictly; a bad one raises :class:`InvalidConfiguration`
        naming the setting, where it came from and what is allowed.
        """
        env = os.environ if environ is None else environ
        if home is None:
            home = env.get("FOGBANK_HOME") or "~/.fogbank"
        home_path = Path(home).expanduser().absolute()

        values: dict[str, Any] = {}
        config_file = home_path / CONFIG_FILE_NAME
        if config_file.is_file():
            try:
                from_file = tomllib.loads(config_file.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise InvalidConfiguration(f"{config_file} is not valid TOML: {exc}.") from exc
            for key, value in from_file.items():
                if key not in _SETTINGS:
                    raise InvalidConfiguration(
                        f"{config_file}: unknown setting {key!r}; "
                        f"the settings are {', '.join(_SETTINGS)}."
                    )
                values[key] = value
        for key in _SETTINGS:
            env_value = env.get(f"FOGBANK_{key.upper()}")
            if env_value is not None:
                values[key] = env_value
        for key, value in overrides.items():
            if key not in _SETTINGS:
                raise InvalidConfiguration(
                    f"unknown setting {key!r}; the settings are {', '.join(_SETTINGS)}."
                )
            if value is not None:
                values[key] = value

        parsed: dict[str, Any] = {}
        for key, value in values.items():
            if key == "limits":
                parsed[key] = parse_bool(value, name=key)
            elif key == "status_delay":
                parsed[key] = _parse_seconds(value, name=key)
            else:
                parsed[key] = _parse_str(value, name=key)
        return cls(home=home_path, **parsed)
