"""Loading settings: defaults, then a TOML file, then ``AUTHWISE_*`` variables, then overrides.

Each part of :class:`~authwise.config.settings.Settings` is a TOML table and an environment
prefix: ``[tokens] access_ttl = 300`` is ``AUTHWISE_TOKENS_ACCESS_TTL=300``. The storage
settings are used so often that their variables drop the part name: ``AUTHWISE_DATA_DIR``,
``AUTHWISE_DATABASE_URL``, ``AUTHWISE_REDIS_URL``, ``AUTHWISE_KEY_ENCRYPTION_KEY``. Lists in
variables are comma-separated.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from authwise.config.settings import Secret, Settings

__all__ = ["ConfigError", "env_name", "iter_fields", "load_settings"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SHORT_ENV = frozenset({"data_dir", "database_url", "redis_url", "key_encryption_key"})


class ConfigError(ValueError):
    """A configuration that cannot be loaded; the message names the setting at fault."""


def env_name(part: str, name: str) -> str:
    """The environment variable for setting ``part.name``."""
    if part == "storage" and name in _SHORT_ENV:
        return f"AUTHWISE_{name.upper()}"
    return f"AUTHWISE_{part.upper()}_{name.upper()}"


def iter_fields() -> Iterator[tuple[str, type[Any], dataclasses.Field[Any], Any]]:
    """Every setting as ``(part, part class, field, resolved type)``."""
    hints = typing.get_type_hints(Settings)
    for part in dataclasses.fields(Settings):
        cls = hints[part.name]
        part_hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            yield part.name, cls, f, part_hints[f.name]


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None or value == "":
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _coerce(value, inner, where)
    if hint is Secret:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string")
        return Secret(value)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: expected one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings")
        return tuple(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ConfigError(f"{where}: expected true or false")
    if hint is int or hint is float:
        # ASCII only: int() and float() also take "٣" or "1_000", which no one means.
        if isinstance(value, bool) or (
            isinstance(value, str) and (not value.isascii() or "_" in value)
        ):
            raise ConfigError(f"{where}: expected a number")
        try:
            return hint(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number") from None
    if hint is Path:
        if not isinstance(value, str | Path):
            raise ConfigError(f"{where}: expected a path")
        return Path(value).expanduser()
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build :class:`Settings` from a TOML file, the environment and explicit overrides
    (command-line options), each layer winning over the one before.

    ``config_file`` defaults to ``$AUTHWISE_CONFIG`` when that is set. Raises
    :class:`ConfigError` naming the setting at fault.
    """
    env = os.environ if environ is None else environ
    if config_file is None and env.get("AUTHWISE_CONFIG"):
        config_file = Path(env["AUTHWISE_CONFIG"])
    document = _read_toml(config_file) if config_file is not None else {}
    known_parts = {f.name for f in dataclasses.fields(Settings)}
    for table in document:
        if table not in known_parts:
            raise ConfigError(f"config file: unknown table [{table}]")
    values: dict[str, dict[str, Any]] = {part: {} for part in known_parts}
    part_types: dict[str, type[Any]] = {}
    for part, cls, f, hint in iter_fields():
        part_types[part] = cls
        table = document.get(part, {})
        if not isinstance(table, dict):
            raise ConfigError(f"config file: [{part}] must be a table")
        if f.name in table:
            values[part][f.name] = _coerce(table[f.name], hint, f"{part}.{f.name}")
        variable = env_name(part, f.name)
        if variable in env:
            values[part][f.name] = _coerce(env[variable], hint, variable)
        if overrides and f.name in overrides.get(part, {}):
            value = overrides[part][f.name]
            if value is not None:
                values[part][f.name] = _coerce(value, hint, f"{part}.{f.name}")
    for part, table in document.items():
        unknown = set(table) - {f.name for f in dataclasses.fields(part_types[part])}
        if unknown:
            raise ConfigError(f"config file: unknown setting {part}.{sorted(unknown)[0]}")
    try:
        parts = {part: part_types[part](**values[part]) for part in known_parts}
        return Settings(**parts)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
