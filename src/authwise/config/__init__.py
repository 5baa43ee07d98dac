"""Server configuration: frozen settings objects, loaded from TOML and ``AUTHWISE_*``."""

from authwise.config.datadir import looser_than_private, prepare_data_dir
from authwise.config.kek import load_key_encryption_key
from authwise.config.loading import ConfigError, env_name, load_settings
from authwise.config.settings import (
    CookieSettings,
    CorsSettings,
    RateLimitSettings,
    Secret,
    ServerSettings,
    SessionSettings,
    Settings,
    StorageSettings,
    TokenSettings,
)

__all__ = [
    "ConfigError",
    "CookieSettings",
    "CorsSettings",
    "RateLimitSettings",
    "Secret",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "StorageSettings",
    "TokenSettings",
    "env_name",
    "load_key_encryption_key",
    "load_settings",
    "looser_than_private",
    "prepare_data_dir",
]
