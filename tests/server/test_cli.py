"""The server's CLI through Typer's runner: users, clients, keys and db, with their errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from authwise.cli import app
from authwise.cli._runtime import settings_from, with_service
from authwise.core.keys import PrivateKey
from authwise.service import AuthService

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


def test_users_set_password(run) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "create", "dora", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 0
    new = "a different passphrase"
    result = run("users", "set-password", "dora", "--password-stdin", stdin=new + "\n")
    assert result.exit_code == 0, result.output
    assert "password set for dora" in result.output
    assert new not in result.output
    result = run("users", "set-password", "dora", "--password-stdin", stdin="short\n")
    assert result.exit_code == 1
    assert "password" in result.output
    assert (
        run("users", "set-password", "nobody", "--password-stdin", stdin=new + "\n").exit_code == 1
    )

    async def check(service: AuthService) -> None:
        assert (await service.authenticate("dora", new)).username == "dora"

    with_service(settings_from(None, None, None, None), check)


def test_clients_revoke_and_rotate_secret(run) -> None:  # type: ignore[no-untyped-def]
    created = run("clients", "create", "billing").output
    client_id = re.search(r"client_id:\s+(\S+)", created).group(1)  # type: ignore[union-attr]
    old = re.search(r"client_secret:\s+(aw_cs_\S+)", created).group(1)  # type: ignore[union-attr]
    rotated = run("clients", "rotate-secret", client_id)
    assert rotated.exit_code == 0, rotated.output
    new = re.search(r"client_secret:\s+(aw_cs_\S+)", rotated.output).group(1)  # type: ignore[union-attr]
    assert new != old
    assert "shown only now" in rotated.output

    async def check(service: AuthService) -> None:
        assert (await service.authenticate_client(client_id, new)).client_id == client_id

    with_service(settings_from(None, None, None, None), check)
    revoked = run("clients", "revoke", client_id)
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked client {client_id}" in revoked.output
    assert client_id not in run("clients", "list").output
    assert run("clients", "revoke", client_id).exit_code == 1
    assert run("clients", "rotate-secret", client_id).exit_code == 1


def test_keys_retire_needs_now(run) -> None:  # type: ignore[no-untyped-def]
    settings = settings_from(None, None, None, None)

    async def active_kid(service: AuthService) -> str:
        return service.key_ring.active.kid

    async def state_of(service: AuthService) -> str:
        entry = service.key_ring.find(active)
        return "gone" if entry is None else entry.state.value

    active = with_service(settings, active_kid)
    refused = run("keys", "retire", active)
    assert refused.exit_code == 2
    assert "--now" in refused.output
    assert with_service(settings, state_of) == "active"
    retired = run("keys", "retire", active, "--now")
    assert retired.exit_code == 0, retired.output
    assert f"retired {active} (it was active)" in " ".join(retired.output.split())
    assert "would have lived until" in " ".join(retired.output.split())
    assert with_service(settings, state_of) == "retired"
    assert with_service(settings, active_kid) != active
    assert run("keys", "retire", active, "--now").exit_code == 1
    assert run("keys", "retire", "no-such-kid", "--now").exit_code == 1
