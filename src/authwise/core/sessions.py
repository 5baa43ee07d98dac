"""Server-side sessions as a pure state machine.

A session ID is 256 bits from :mod:`secrets`, prefixed ``aw_s_`` so a leaked one is easy to
spot, and it only ever lives in the cookie: the server keeps its SHA-256 digest. Each session
also has a public ``handle`` (not a secret) that names it in device lists and as ``sid``.

:func:`check` is the whole life cycle, decided at ``now``:

- a session ends after ``idle_timeout`` without a recorded request, and ``absolute_timeout``
  after it started, however active (S06);
- activity slides the idle deadline, but ``last_seen`` is written at most once per
  ``touch_interval`` (so a busy session costs one write a minute, not one per request; the
  price is that the idle timeout may strike up to ``touch_interval`` early, never late);
- a session whose ID was issued before the user's ``not_before`` (a privilege change) gets a
  new ID on its next request, as does every login (no fixation, S01). That new ID is derived
  from the old one under a server key (:func:`successor_id`), so every request that still
  carries the old ID in the few seconds after the rotation (``rotation_grace``: a busy page
  fires several at once) gets the same new ID, instead of some of them a 401.

The secret helpers here (:func:`new_secret`, :func:`secret_digest`, :func:`digests_equal`)
serve every bearer secret authwise issues: sessions, refresh tokens, client secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from authwise.core._b64 import b64url_encode

__all__ = [
    "SECRET_BYTES",
    "SESSION_PREFIX",
    "NewSessionId",
    "SessionCheck",
    "SessionPolicy",
    "SessionState",
    "SessionTimes",
    "check",
    "digests_equal",
    "in_rotation_grace",
    "is_handle",
    "is_well_formed",
    "new_handle",
    "new_secret",
    "new_session_id",
    "secret_digest",
    "start_deadlines",
    "successor_id",
]

SESSION_PREFIX = "aw_s_"
SECRET_BYTES = 32
"""256 bits: every bearer secret (S02 asks for at least 128)."""
_SECRET_BODY = re.compile(r"[A-Za-z0-9_-]{43}")
_HANDLE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_secret(prefix: str) -> str:
    """A fresh 256-bit secret, base64url-encoded behind ``prefix``."""
    return prefix + b64url_encode(secrets.token_bytes(SECRET_BYTES))


def is_well_formed(value: str, prefix: str) -> bool:
    """Whether ``value`` has the shape of a secret we issue (checked before any lookup, so
    junk of any size is refused cheaply)."""
    return (
        len(value) == len(prefix) + 43
        and value.startswith(prefix)
        and _SECRET_BODY.fullmatch(value, len(prefix)) is not None
    )


def secret_digest(secret: str) -> bytes:
    """The SHA-256 digest under which a secret is stored (the only form storage ever sees).
    Any string has one (a lone surrogate from hostile JSON included), so lookups never crash."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def digests_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison for secrets and their digests (S09)."""
    return hmac.compare_digest(a, b)


def is_handle(value: str) -> bool:
    """Whether ``value`` has the shape of a handle or ID we issue (checked before lookups)."""
    return _HANDLE.fullmatch(value) is not None


def new_handle() -> str:
    """A public, non-secret, unguessable name for a session or refresh family (128 bits)."""
    return b64url_encode(secrets.token_bytes(16))


@dataclass(frozen=True, kw_only=True)
class SessionPolicy:
    """Session timeouts, in seconds (defaults: ASVS and the design brief)."""

    idle_timeout: int = 30 * 60
    absolute_timeout: int = 8 * 3600
    touch_interval: int = 60
    """Least time between two ``last_seen`` writes for one session."""
    rotation_grace: int = 10
    """Seconds after a rotation during which the replaced ID still reaches the session (and
    is handed the same new ID)."""

    def __post_init__(self) -> None:
        if not 0 < self.idle_timeout <= self.absolute_timeout:
            raise ValueError("idle_timeout must be positive and at most absolute_timeout")
        if not 0 <= self.touch_interval < self.idle_timeout:
            raise ValueError("touch_interval must be below idle_timeout")
        if not 0 <= self.rotation_grace <= 60:
            raise ValueError("rotation_grace must be between 0 and 60 seconds")


class SessionTimes(Protocol):
    """What :func:`check` reads of a session (a storage ``SessionRecord`` fits)."""

    @property
    def created_at(self) -> int: ...
    @property
    def rotated_at(self) -> int: ...
    @property
    def last_seen(self) -> int: ...


@dataclass(frozen=True, slots=True)
class NewSessionId:
    """A freshly minted session ID and its digest. ``repr`` never shows the ID."""

    session_id: str = field(repr=False)
    """The secret: it goes into the cookie and nowhere else."""
    digest: bytes = field(repr=False)


def new_session_id() -> NewSessionId:
    """A fresh session ID (256 bits behind ``aw_s_``) and the digest to store."""
    session_id = new_secret(SESSION_PREFIX)
    return NewSessionId(session_id, secret_digest(session_id))


_SUCCESSOR_DOMAIN = b"authwise/session-successor/v1\x00"


def successor_id(key: bytes, handle: str, presented: str) -> NewSessionId:
    """The ID that replaces ``presented`` when session ``handle`` rotates: an HMAC under the
    server's ``key`` (>= 256 bits), so whoever presents the same old ID gets the same new one,
    and nobody without the key can compute it."""
    if len(key) < SECRET_BYTES:
        raise ValueError("the session successor key must have at least 256 bits")
    message = _SUCCESSOR_DOMAIN + handle.encode() + b"\x00" + presented.encode()
    session_id = SESSION_PREFIX + b64url_encode(hmac.new(key, message, hashlib.sha256).digest())
    return NewSessionId(session_id, secret_digest(session_id))


def in_rotation_grace(session: SessionTimes, now: int, policy: SessionPolicy) -> bool:
    """Whether an ID replaced by the last rotation still reaches the session at ``now`` (a
    rotation is stamped up to a second ahead, at the user's not-before)."""
    return now < session.rotated_at + policy.rotation_grace


def start_deadlines(now: int, policy: SessionPolicy) -> tuple[int, int]:
    """``(expires_at, absolute_expires_at)`` for a session started at ``now``."""
    return now + policy.idle_timeout, now + policy.absolute_timeout


class SessionState(StrEnum):
    """Whether a session is usable at ``now``, and if not, which timeout ended it."""

    ACTIVE = "active"
    IDLE_EXPIRED = "idle_expired"
    ABSOLUTE_EXPIRED = "absolute_expired"


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """The decision for one request carrying a session."""

    state: SessionState
    touch: bool = False
    """Write ``last_seen = now`` and ``expires_at`` (the throttled sliding renewal)."""
    rotate: bool = False
    """Issue a new ID (privileges changed since this one was issued)."""
    expires_at: int = 0
    """The new storage deadline when touched or rotated."""

    @property
    def active(self) -> bool:
        """Whether the request may proceed on this session."""
        return self.state is SessionState.ACTIVE


def check(
    session: SessionTimes, now: int, policy: SessionPolicy, *, not_before: int = 0
) -> SessionCheck:
    """Decide what a request at ``now`` means for ``session``.

    ``not_before`` is the user's: an ID issued before it is rotated.
    """
    absolute = session.created_at + policy.absolute_timeout
    if now >= absolute:
        return SessionCheck(SessionState.ABSOLUTE_EXPIRED)
    if now >= session.last_seen + policy.idle_timeout:
        return SessionCheck(SessionState.IDLE_EXPIRED)
    rotate = session.rotated_at < not_before
    touch = rotate or now - session.last_seen >= policy.touch_interval
    expires_at = min(now + policy.idle_timeout, absolute)
    return SessionCheck(SessionState.ACTIVE, touch=touch, rotate=rotate, expires_at=expires_at)
