"""The server's CLI through Typer's runner: users, clients, keys and db, with their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from authwise.cli import app
from authwise.core.keys import PrivateKey

PASSWORD = "correct horse battery staple"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUTHWISE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AUTHWISE_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def test_db_upgrade_then_users(run) -> None:  # type: ignore[no-untyped-def]
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "revision" in result.output
    result = run(
        "users",
        "create",
        "Carol",
        "--role",
        "admin",
        "--role",
        "ops",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created carol" in result.output
    result = run("users", "create", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 1
    assert "taken" in result.output
    result = run("users", "set-roles", "carol", "viewer")
    assert result.exit_code == 0
    assert "viewer" in result.output
    result = run("users", "list")
    assert "carol" in result.output
    assert "viewer" in result.output
    result = run("users", "disable", "carol")
    assert result.exit_code == 0
    assert "disabled" in run("users", "list").output
    assert run("users", "disable", "nobody").exit_code == 1


def test_users_create_refuses_a_weak_password(run) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "create", "dave", "--password-stdin", stdin="short\n")
    assert result.exit_code == 1
    assert "at least 8" in result.output


def test_s16_users_create_refuses_a_common_password(run) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "create", "dave", "--password-stdin", stdin="12345678\n")
    assert result.exit_code == 1
    assert "most common passwords" in result.output
    assert "dave" not in run("users", "list").output


def test_s17_users_create_refuses_a_look_alike(run) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 0
    result = run("users", "create", "\u1d00lice", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 1
    assert "\u1d00lice" not in run("users", "list").output


def test_keys_list_rotate_import(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = run("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert "active" in listed.output
    assert "next" in listed.output
    rotated = run("keys", "rotate")
    assert rotated.exit_code == 0
    assert "retiring" in rotated.output
    key = PrivateKey.generate("Ed25519")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.to_pem())
    imported = run("keys", "import", str(pem), "--activate")
    assert imported.exit_code == 0, imported.output
    listed = run("keys", "list")
    active_rows = [line for line in listed.output.splitlines() if "active" in line]
    assert len(active_rows) == 1
    assert key.kid[:8] in active_rows[0]  # the imported key signs at once
    assert "Ed25519" in active_rows[0]
    assert run("keys", "import", str(pem)).exit_code == 1  # already in the ring
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    result = run("keys", "import", str(junk))
    assert result.exit_code == 2
    assert "pem" in result.output


def test_clients(run) -> None:  # type: ignore[no-untyped-def]
    created = run("clients", "create", "billing")
    assert created.exit_code == 0
    assert "aw_cs_" in created.output
    listed = run("clients", "list")
    assert "billing" in listed.output
    assert "aw_cs_" not in listed.output


def test_configuration_errors_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "list", "--database-url", "mysql://nope")
    assert result.exit_code == 2
    assert "database_url" in result.output
    result = run("users", "list", "--database-url", "memory://")
    assert result.exit_code == 2
    assert "memory://" in result.output
    result = run("db", "upgrade", "--database-url", "memory://")
    assert result.exit_code == 2
    result = run("serve", "--server", "gunicorn")
    assert result.exit_code == 2


def test_help_describes_every_command(run) -> None:  # type: ignore[no-untyped-def]
    for group in ("users", "clients", "keys", "db"):
        result = run(group, "--help")
        assert result.exit_code == 0
    help_text = run("serve", "--help").output
    for option in (
        "--host",
        "--port",
        "--workers",
        "--data-dir",
        "--database-url",
        "--redis-url",
        "--server",
        "--dev",
    ):
        assert option in help_text
