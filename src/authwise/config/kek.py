"""The key-encryption key: it encrypts the signing keys the server keeps in its database.

It comes from ``AUTHWISE_KEY_ENCRYPTION_KEY`` (or the TOML setting) or, failing that, from the
file ``key-encryption-key`` in the data directory, created with mode 0600 on first start. Its
value is never logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from authwise.config.settings import StorageSettings
from authwise.core._b64 import b64url_decode, b64url_encode
from authwise.errors import MalformedToken

__all__ = ["KEK_BYTES", "KEK_FILENAME", "load_key_encryption_key"]

KEK_BYTES = 32
KEK_FILENAME = "key-encryption-key"
log = logging.getLogger("authwise.config")


def _decode(text: str, where: str) -> bytes:
    # Strict, unlike the stdlib's decoder, which drops stray characters and so could turn a
    # mangled key into 32 other bytes; trailing padding is tolerated.
    try:
        raw = b64url_decode(text.strip().rstrip("="))
    except MalformedToken:
        raise ValueError(f"{where}: not base64url") from None
    if len(raw) != KEK_BYTES:
        raise ValueError(f"{where}: must decode to {KEK_BYTES} bytes")
    return raw


def load_key_encryption_key(storage: StorageSettings) -> bytes:
    """The 32-byte key-encryption key, creating its file on first start if needed."""
    if storage.key_encryption_key is not None:
        return _decode(storage.key_encryption_key.reveal(), "AUTHWISE_KEY_ENCRYPTION_KEY")
    path = storage.data_dir / KEK_FILENAME
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ValueError(f"{path} must be readable by its owner only (chmod 600)")
        return _decode(path.read_text(), str(path))
    storage.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    raw = secrets.token_bytes(KEK_BYTES)
    _write_private(path, b64url_encode(raw).encode() + b"\n")
    log.warning(
        "created a new key-encryption key in %s (mode 0600); back it up: without it the "
        "signing keys in the database cannot be read",
        path,
    )
    return raw


def _write_private(path: Path, data: bytes) -> None:
    # O_EXCL: two processes starting at once must not both create (and one overwrite) the key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
