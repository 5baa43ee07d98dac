"""What the service needs to know, as one frozen object built from the core policies."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from authwise.core.accounts import HashParams, PasswordPolicy
from authwise.core.keyring import RotationPolicy
from authwise.core.refresh import RefreshPolicy
from authwise.core.sessions import SessionPolicy
from authwise.core.tokens import MAX_TTL

if TYPE_CHECKING:
    from authwise.config.settings import Settings

__all__ = ["ServiceConfig", "system_clock"]


def system_clock() -> int:
    """The wall clock in whole Unix seconds: the one place the service's time comes from in
    production (tests inject their own)."""
    return int(time.time())


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    issuer: str
    """The ``iss`` of every access token."""
    audiences: tuple[str, ...]
    """Audiences tokens are minted for (the first is the default) and accepted by
    :meth:`AuthService.verify_access_token`."""
    access_ttl: int = 300
    max_access_ttl: int = MAX_TTL
    """The longest lifetime any access token may have been minted with: revocation entries
    live this long (plus ``leeway``) after they are made."""
    leeway: int = 0
    algorithm: Literal["ES256", "Ed25519", "RS256"] = "ES256"
    """Algorithm of newly generated signing keys."""
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    refresh: RefreshPolicy = field(default_factory=RefreshPolicy)
    passwords: PasswordPolicy = field(default_factory=PasswordPolicy)
    hashing: HashParams = field(default_factory=HashParams)
    hash_concurrency: int = 2
    """argon2 computations allowed at once (each in a worker thread); more logins queue."""
    rotation: RotationPolicy = field(default_factory=RotationPolicy)
    event_retention: int = 1200
    """Seconds the event log keeps an entry: at least as long as the entry can affect a token
    (``max_access_ttl + leeway``; 20 minutes by default), so that a reader that replays the log
    from its oldest entry knows every revocation still in force."""
    audit_retention: int = 90 * 86_400
    """Seconds audit events are kept; older ones are pruned."""
    audit_max_rows: int = 1_000_000
    """Audit events kept at most; the oldest beyond it are pruned."""

    def __post_init__(self) -> None:
        if self.event_retention < self.max_access_ttl + self.leeway:
            raise ValueError("event_retention must be at least max_access_ttl + leeway")
        if not self.issuer or not self.audiences or not all(self.audiences):
            raise ValueError("issuer and at least one audience are required")
        if not 0 < self.access_ttl <= self.max_access_ttl:
            raise ValueError("access_ttl must be positive and at most max_access_ttl")
        if not 0 <= self.leeway <= 60:
            raise ValueError("leeway must be between 0 and 60 s")
        if not 1 <= self.hash_concurrency <= 64:
            raise ValueError("hash_concurrency must be between 1 and 64")
        if self.audit_retention <= 0 or self.audit_max_rows <= 0:
            raise ValueError("audit_retention and audit_max_rows must be positive")

    @classmethod
    def from_settings(
        cls, settings: Settings, *, hashing: HashParams | None = None
    ) -> ServiceConfig:
        """The service configuration a server's :class:`~authwise.config.Settings` describe."""
        tokens, sessions = settings.tokens, settings.sessions
        return cls(
            issuer=settings.issuer,
            audiences=settings.audiences,
            access_ttl=tokens.access_ttl,
            leeway=tokens.leeway,
            algorithm=tokens.algorithm,
            sessions=SessionPolicy(
                idle_timeout=sessions.idle_timeout,
                absolute_timeout=sessions.absolute_timeout,
                touch_interval=sessions.touch_interval,
            ),
            refresh=RefreshPolicy(
                lifetime=tokens.refresh_ttl,
                idle=tokens.refresh_idle_ttl,
                grace=tokens.refresh_grace,
            ),
            hashing=hashing or HashParams(),
            audit_retention=settings.storage.audit_retention_days * 86_400,
            audit_max_rows=settings.storage.audit_max_rows,
        )
