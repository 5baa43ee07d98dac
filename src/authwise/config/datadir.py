"""The data directory and the files in it, readable by their owner only (S18).

The SQLite database holds every password hash and the encrypted signing keys; the
key-encryption key file unlocks the latter. Whatever the umask, the directory is created
0700, the database 0600 before SQLite first opens it (SQLite gives its ``-wal`` and ``-shm``
files the database's mode), and the key file 0600 (:mod:`authwise.config.kek`). Existing
files that are looser are reported at start-up, not changed behind the operator's back.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from authwise.config.settings import StorageSettings

__all__ = ["looser_than_private", "prepare_data_dir", "sqlite_path"]

_SQLITE_SUFFIXES = ("", "-wal", "-shm")


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL, or None for another database."""
    if not database_url.startswith("sqlite"):
        return None
    _, _, path = database_url.partition(":///")
    return Path(path) if path and path != ":memory:" else None


def prepare_data_dir(storage: StorageSettings) -> None:
    """Create the data directory (0700) and an empty SQLite database file (0600) if they
    are missing."""
    storage.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    database = sqlite_path(storage.database)
    if database is None:
        return
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def looser_than_private(storage: StorageSettings) -> list[tuple[Path, int]]:
    """Each of the data directory, the key-encryption-key file and the SQLite files that
    exists and that someone other than its owner may read or write, with its mode."""
    from authwise.config.kek import KEK_FILENAME

    candidates = [storage.data_dir, storage.data_dir / KEK_FILENAME]
    database = sqlite_path(storage.database)
    if database is not None:
        candidates += [database.with_name(database.name + s) for s in _SQLITE_SUFFIXES]
    found = []
    for path in candidates:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            found.append((path, mode))
    return found
