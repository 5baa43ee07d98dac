"""The data directory is 0700 and the files in it 0600 whatever the umask, and a looser one
is reported at start-up (issue 11, item 9): the database holds every password hash."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from authwise.config import StorageSettings, looser_than_private, prepare_data_dir

from .live import AUTHWISE, live_server

PASSWORD = "correct horse battery staple"


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_under_a_permissive_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(0), live_server(data, "--dev") as live:
        created = subprocess.run(
            [str(AUTHWISE), "users", "create", "alice", "--password-stdin"],
            input=PASSWORD + "\n",
            env=dict(live.env),
            capture_output=True,
            text=True,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        r = httpx.post(f"{live.url}/session", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 200  # a write: SQLite has its -wal and -shm files now
        files = {p.name: _mode(p) for p in data.iterdir()}
        assert _mode(data) == 0o700
        assert {"authwise.db", "authwise.db-wal", "authwise.db-shm", "key-encryption-key"} <= set(
            files
        )
        assert all(mode == 0o600 for mode in files.values()), files
        assert "open to other users" not in live.log.read_text()


def test_a_looser_data_dir_is_reported_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with live_server(data, "--dev"):
        pass
    data.chmod(0o755)
    (data / "authwise.db").chmod(0o644)
    with live_server(data, "--dev") as live:
        log = live.log.read_text()
    assert f"{data} is open to other users (mode 755)" in log
    assert "authwise.db is open to other users (mode 644)" in log
    assert _mode(data) == 0o755  # reported, not changed behind the operator's back


def test_prepare_data_dir_and_the_check(tmp_path: Path) -> None:
    storage = StorageSettings(data_dir=tmp_path / "d")
    with umask(0):
        prepare_data_dir(storage)
    assert _mode(tmp_path / "d") == 0o700
    assert _mode(tmp_path / "d" / "authwise.db") == 0o600
    assert looser_than_private(storage) == []
    (tmp_path / "d" / "authwise.db").chmod(0o640)
    assert looser_than_private(storage) == [(tmp_path / "d" / "authwise.db", 0o640)]
    prepare_data_dir(storage)  # an existing database is left as it is
    assert _mode(tmp_path / "d" / "authwise.db") == 0o640
    elsewhere = StorageSettings(data_dir=tmp_path / "e", database_url="postgresql://db/auth")
    prepare_data_dir(elsewhere)
    assert list((tmp_path / "e").iterdir()) == []
