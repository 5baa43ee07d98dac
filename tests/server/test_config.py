"""Settings: validation at construction, TOML and environment onto the same objects, the KEK."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest

from authwise.config import (
    ConfigError,
    CookieSettings,
    Secret,
    ServerSettings,
    Settings,
    StorageSettings,
    TokenSettings,
    load_key_encryption_key,
    load_settings,
)
from authwise.service import ServiceConfig


def test_defaults_are_secure() -> None:
    s = load_settings(environ={})
    assert s.cookie.secure
    assert s.cookie.cookie_name == "__Host-authwise_session"
    assert s.cookie.same_site == "lax"
    assert s.tokens.access_ttl == 300
    assert s.sessions.idle_timeout == 1800
    assert s.sessions.absolute_timeout == 8 * 3600
    assert s.storage.database == "sqlite:///data/authwise.db"
    assert s.issuer == "http://localhost:8000"
    assert s.audiences == (s.issuer,)
    assert not s.server.registration


def test_settings_are_frozen_and_keyword_only() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.server.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        ServerSettings("::")  # type: ignore[misc]


def test_toml_then_env_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "authwise.toml"
    config.write_text(
        '[server]\nport = 9000\npublic_url = "https://auth.example.com"\n'
        '[tokens]\naccess_ttl = 600\naudiences = ["api", "web"]\n'
        "[storage]\ndata_dir = 'from-toml'\n"
    )
    env = {"AUTHWISE_TOKENS_ACCESS_TTL": "120", "AUTHWISE_DATA_DIR": str(tmp_path / "d")}
    s = load_settings(
        config_file=config, environ=env, overrides={"server": {"port": 9100, "host": None}}
    )
    assert s.server.port == 9100  # override wins; None means "not given"
    assert s.server.host == "127.0.0.1"
    assert s.tokens.access_ttl == 120  # environment wins over the file
    assert s.tokens.audiences == ("api", "web")
    assert s.storage.data_dir == tmp_path / "d"
    assert s.issuer == "https://auth.example.com"


def test_config_file_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[rate_limits]\nlogin_per_account = '3/minute'\n")
    s = load_settings(environ={"AUTHWISE_CONFIG": str(config)})
    assert s.rate_limits.login_per_account == "3/minute"
    assert s.rate_limits.login_per_account_global == "100/minute"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTHWISE_SERVER_PORT": "eighty"}, "AUTHWISE_SERVER_PORT"),
        ({"AUTHWISE_TOKENS_ACCESS_TTL": "3600"}, "access_ttl"),
        ({"AUTHWISE_COOKIE_SECURE": "maybe"}, "AUTHWISE_COOKIE_SECURE"),
        ({"AUTHWISE_SERVER_SERVER": "gunicorn"}, "AUTHWISE_SERVER_SERVER"),
        ({"AUTHWISE_DATABASE_URL": "mysql://x"}, "database_url"),
        ({"AUTHWISE_RATE_LIMITS_LOGIN_PER_ACCOUNT": "lots"}, "login_per_account"),
        ({"AUTHWISE_RATE_LIMITS_LOGIN_PER_ACCOUNT_GLOBAL": "lots"}, "login_per_account_global"),
        ({"AUTHWISE_CORS_ALLOW_ORIGINS": "ftp://x"}, "cors.allow_origins"),
        ({"AUTHWISE_SESSIONS_IDLE_TIMEOUT": "99999"}, "idle_timeout"),
        ({"AUTHWISE_STORAGE_STATEMENT_TIMEOUT": "0"}, "statement_timeout"),
        ({"AUTHWISE_STORAGE_QUEUE_TIMEOUT": "120"}, "queue_timeout"),
        ({"AUTHWISE_STORAGE_QUEUE_LIMIT": "-1"}, "queue_limit"),
        ({"AUTHWISE_STORAGE_AUDIT_RETENTION_DAYS": "0"}, "audit_retention_days"),
        ({"AUTHWISE_STORAGE_AUDIT_MAX_ROWS": "10"}, "audit_max_rows"),
    ],
)
def test_invalid_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_unknown_toml_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[tokens]\naccess_tll = 60\n")
    with pytest.raises(ConfigError, match=r"tokens\.access_tll"):
        load_settings(config_file=config, environ={})
    config.write_text("[token]\naccess_ttl = 60\n")
    with pytest.raises(ConfigError, match=r"\[token\]"):
        load_settings(config_file=config, environ={})


def test_storage_bounds_reach_the_service_and_the_engine() -> None:
    settings = load_settings(
        environ={
            "AUTHWISE_STORAGE_STATEMENT_TIMEOUT": "2.5",
            "AUTHWISE_STORAGE_AUDIT_RETENTION_DAYS": "7",
            "AUTHWISE_STORAGE_AUDIT_MAX_ROWS": "5000",
        }
    )
    assert settings.storage.statement_timeout == 2.5
    config = ServiceConfig.from_settings(settings)
    assert (config.audit_retention, config.audit_max_rows) == (7 * 86_400, 5000)


def test_insecure_cookie_only_on_localhost_http() -> None:
    dev = Settings(cookie=CookieSettings(secure=False))
    assert dev.cookie.cookie_name == "authwise_session"
    with pytest.raises(ValueError, match="development setting"):
        Settings(
            server=ServerSettings(public_url="https://auth.example.com"),
            cookie=CookieSettings(secure=False),
        )
    with pytest.raises(ValueError, match="prefix"):
        CookieSettings(name="__Host-x")


def test_token_lifetimes_follow_the_seed() -> None:
    with pytest.raises(ValueError, match="5-15 min"):
        TokenSettings(access_ttl=901)
    with pytest.raises(ValueError, match="issuer"):
        TokenSettings(issuer="not a url")


def test_secret_never_shows_its_value() -> None:
    secret = Secret("hunter2-hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    s = load_settings(environ={"AUTHWISE_KEY_ENCRYPTION_KEY": "hunter2-hunter2"})
    assert "hunter2" not in repr(s)


def test_kek_file_created_once_with_0600(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    storage = StorageSettings(data_dir=tmp_path / "data")
    with caplog.at_level("WARNING", logger="authwise.config"):
        first = load_key_encryption_key(storage)
    path = tmp_path / "data" / "key-encryption-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 32
    assert "created a new key-encryption key" in caplog.text
    encoded = path.read_text().strip()
    assert encoded not in caplog.text
    assert load_key_encryption_key(storage) == first


def test_kek_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    storage = StorageSettings(data_dir=tmp_path)
    load_key_encryption_key(storage)
    os.chmod(tmp_path / "key-encryption-key", 0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        load_key_encryption_key(storage)


def test_kek_from_environment(tmp_path: Path) -> None:
    key = "A" * 43
    storage = StorageSettings(data_dir=tmp_path, key_encryption_key=Secret(key))
    assert load_key_encryption_key(storage) == bytes(32)
    assert not (tmp_path / "key-encryption-key").exists()
    with pytest.raises(ValueError, match="32 bytes"):
        load_key_encryption_key(StorageSettings(key_encryption_key=Secret("AAAA")))


def test_kek_is_decoded_strictly(tmp_path: Path) -> None:
    # A lenient decoder would drop the stray characters and yield 32 other bytes.
    for mangled in ("A" * 21 + "!*" + "A" * 22, "A" * 21 + " " + "A" * 22, "A" * 42 + "B"):
        with pytest.raises(ValueError, match="not base64url"):
            load_key_encryption_key(StorageSettings(key_encryption_key=Secret(mangled)))
    padded = StorageSettings(key_encryption_key=Secret(("A" * 43) + "="))
    assert load_key_encryption_key(padded) == bytes(32)
