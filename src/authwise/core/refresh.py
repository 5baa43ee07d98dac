"""Refresh-token families as a pure state machine (RFC 9700 section 4.14).

One family per login. Its ``family_id`` is also the ``sid`` of every access token minted from
it, so revoking the family reaches its access tokens through the revocation set. Tokens are
opaque 256-bit strings ``aw_rt_...``; storage keeps only their SHA-256 digests, each with its
generation.

Every use rotates: the presented token (generation ``g``) is exchanged for generation ``g+1``.
The successor is not random but ``HMAC-SHA256(refresh_secret, family_id, g+1, presented)``:
whoever presents the same token again can be handed the *same* successor without the server
keeping any token in plain. That makes the multi-tab case safe and the race trivial:

- every concurrent presentation of the live token computes the same successor; the storage
  compare-and-set lets exactly one rotation through, and the others find their token is now
  the immediate predecessor and get that same successor (S07: one live chain, never two);
- re-presenting the immediate predecessor within ``grace`` seconds of the rotation returns
  that successor again, so several tabs refreshing at once do not log the user out;
- any other reuse (an older generation, or the predecessor after the grace window) means two
  parties hold the chain: the family is revoked, with its access tokens (S08);
- an unknown token is ``invalid_grant`` with no side effect.

The cost of the grace window, as with every such scheme: whoever steals the predecessor and
presents it within ``grace`` seconds of the legitimate rotation gets the live token too.
Keep ``grace`` short.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from authwise.core._b64 import b64url_encode
from authwise.core.sessions import new_handle, new_secret, secret_digest

__all__ = [
    "REFRESH_PREFIX",
    "FamilyState",
    "RefreshDecision",
    "RefreshOutcome",
    "RefreshPolicy",
    "decide",
    "derive_successor",
    "new_family_id",
    "new_refresh_token",
]

REFRESH_PREFIX = "aw_rt_"
_DOMAIN = b"authwise/refresh-successor/v1\x00"
MIN_SECRET_BYTES = 32


@dataclass(frozen=True, kw_only=True)
class RefreshPolicy:
    """Family lifetimes, in seconds."""

    lifetime: int = 14 * 86_400
    """Absolute end of a family after login, however often it is used."""
    idle: int = 3 * 86_400
    """A family whose live token is not used for this long expires."""
    grace: int = 10
    """How long after a rotation the immediate predecessor still yields the same successor."""

    def __post_init__(self) -> None:
        if not 0 < self.idle <= self.lifetime:
            raise ValueError("idle must be positive and at most lifetime")
        if not 0 <= self.grace <= 60:
            raise ValueError("grace must be between 0 and 60 seconds")


class FamilyState(Protocol):
    """What :func:`decide` reads of a family (a storage ``RefreshFamily`` fits)."""

    @property
    def generation(self) -> int: ...
    @property
    def rotated_at(self) -> int: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def revoked_at(self) -> int | None: ...


def new_family_id() -> str:
    """A fresh family ID (public: it is the ``sid`` claim)."""
    return new_handle()


def new_refresh_token() -> tuple[str, bytes]:
    """The first token of a family and its digest."""
    token = new_secret(REFRESH_PREFIX)
    return token, secret_digest(token)


def derive_successor(secret: bytes, family_id: str, generation: int, presented: str) -> str:
    """The token of ``generation`` that follows ``presented`` in family ``family_id``."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the refresh secret must be at least {MIN_SECRET_BYTES} bytes")
    message = b"\x00".join(
        (_DOMAIN, family_id.encode(), str(generation).encode(), presented.encode())
    )
    return REFRESH_PREFIX + b64url_encode(hmac.new(secret, message, hashlib.sha256).digest())


class RefreshOutcome(StrEnum):
    """What presenting a refresh token means for its family."""

    ROTATE = "rotate"
    """The live token: rotate to generation ``generation + 1`` (compare-and-set)."""
    GRACE = "grace"
    """The immediate predecessor within the grace window: hand out the current successor."""
    REUSE = "reuse"
    """A rotated token reused: revoke the family."""
    EXPIRED = "expired"
    """Past the family's absolute lifetime or idle limit: ``invalid_grant``."""
    REVOKED = "revoked"
    """The family was already revoked: ``invalid_grant``, nothing more to do."""


@dataclass(frozen=True, slots=True)
class RefreshDecision:
    """The decision for one presented refresh token (see :func:`decide`)."""

    outcome: RefreshOutcome
    generation: int = 0
    """For ROTATE and GRACE: the generation of the token to hand out."""

    @property
    def grants(self) -> bool:
        """Whether the caller gets tokens (a rotation or a grace-window repeat)."""
        return self.outcome in (RefreshOutcome.ROTATE, RefreshOutcome.GRACE)


def decide(
    family: FamilyState, presented_generation: int, now: int, policy: RefreshPolicy
) -> RefreshDecision:
    """What presenting a token of ``presented_generation`` at ``now`` means."""
    if family.revoked_at is not None:
        return RefreshDecision(RefreshOutcome.REVOKED)
    if now >= family.expires_at:
        return RefreshDecision(RefreshOutcome.EXPIRED)
    current = family.generation
    if presented_generation == current:
        if now >= family.rotated_at + policy.idle:
            return RefreshDecision(RefreshOutcome.EXPIRED)
        return RefreshDecision(RefreshOutcome.ROTATE, current + 1)
    if presented_generation == current - 1 and now - family.rotated_at < policy.grace:
        return RefreshDecision(RefreshOutcome.GRACE, current)
    return RefreshDecision(RefreshOutcome.REUSE)


def family_deadline(now: int, policy: RefreshPolicy) -> int:
    """The absolute ``expires_at`` of a family started at ``now``."""
    return now + policy.lifetime
