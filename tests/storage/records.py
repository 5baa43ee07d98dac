"""Record builders for the contract suite: valid defaults, override what a test is about."""

from __future__ import annotations

import hashlib
from typing import Any

from authwise.storage.base import RefreshFamily, SessionRecord, UserRecord


def digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def user(username: str = "alice", **kw: Any) -> UserRecord:
    fields: dict[str, Any] = {
        "id": f"u-{username}",
        "username": username,
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "created_at": 1000,
        "updated_at": 1000,
    }
    fields.update(kw)
    return UserRecord(**fields)


def session(label: str = "s1", user_id: str = "u-alice", **kw: Any) -> SessionRecord:
    fields: dict[str, Any] = {
        "digest": digest(label),
        "handle": f"h-{label}",
        "user_id": user_id,
        "created_at": 1000,
        "rotated_at": 1000,
        "last_seen": 1000,
        "expires_at": 2800,
        "absolute_expires_at": 29800,
        "client_addr": "192.0.2.1",
        "user_agent": "Firefox",
    }
    fields.update(kw)
    return SessionRecord(**fields)


def family(family_id: str = "f1", user_id: str = "u-alice", **kw: Any) -> RefreshFamily:
    fields: dict[str, Any] = {
        "family_id": family_id,
        "user_id": user_id,
        "generation": 0,
        "created_at": 1000,
        "rotated_at": 1000,
        "expires_at": 100_000,
    }
    fields.update(kw)
    return RefreshFamily(**fields)
