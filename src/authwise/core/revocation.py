"""Revocation state for access tokens, checked on every verification without a lookup.

Three kinds of entry:

- a revoked ``sid`` (a refresh family or session): every token carrying it;
- a revoked (``iss``, ``jti``): one token (never keyed on the token bytes, which ECDSA
  malleability lets an attacker vary, J19);
- a per-user ``not_before``: every token of ``sub`` with ``iat < not_before`` (role change,
  password change, "log out everywhere", disabling the user).

An entry is kept only while a token it could affect can still be accepted: a token issued by
``t`` expires by ``t + max_access_ttl`` and is accepted until ``leeway`` after that, so
:func:`entry_expiry` puts the end there and :meth:`RevocationSet.prune` drops the entry
afterwards. The state never grows beyond the revocations of one access-token lifetime.
"""

from __future__ import annotations

from typing import Protocol

from authwise.core.tokens import AccessToken
from authwise.errors import RevokedToken

__all__ = ["RevocationEntry", "RevocationSet", "entry_expiry"]


def entry_expiry(at: int, max_access_ttl: int, leeway: int = 0) -> int:
    """When an entry made at ``at`` (or a not-before of ``at``) can no longer matter."""
    return at + max_access_ttl + leeway


class RevocationEntry(Protocol):
    """One entry as storage and the event bus carry it (``RevocationRecord`` fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def not_before(self) -> int: ...
    @property
    def expires_at(self) -> int: ...


class RevocationSet:
    """In-memory revocation state; implements ``core.tokens.RevocationCheck``."""

    __slots__ = ("_jtis", "_sids", "_users")

    def __init__(self) -> None:
        self._sids: dict[str, int] = {}
        self._jtis: dict[tuple[str, str], int] = {}
        self._users: dict[str, tuple[int, int]] = {}

    def revoke_sid(self, sid: str, expires_at: int) -> None:
        self._sids[sid] = max(expires_at, self._sids.get(sid, expires_at))

    def revoke_jti(self, issuer: str, jti: str, expires_at: int) -> None:
        key = (issuer, jti)
        self._jtis[key] = max(expires_at, self._jtis.get(key, expires_at))

    def set_not_before(self, sub: str, not_before: int, expires_at: int) -> None:
        """Revoke ``sub``'s tokens issued before ``not_before``; never moves backwards."""
        old_nbf, old_exp = self._users.get(sub, (not_before, expires_at))
        self._users[sub] = (max(old_nbf, not_before), max(old_exp, expires_at))

    def apply(self, entry: RevocationEntry) -> None:
        """Add an entry received from storage or the event bus."""
        if entry.kind == "sid":
            self.revoke_sid(entry.key, entry.expires_at)
        elif entry.kind == "jti":
            self.revoke_jti(entry.issuer, entry.key, entry.expires_at)
        elif entry.kind == "user":
            self.set_not_before(entry.key, entry.not_before, entry.expires_at)
        else:
            raise ValueError(f"unknown revocation kind {entry.kind!r}")

    def reason(
        self,
        now: float,
        *,
        sub: str | None = None,
        iss: str | None = None,
        jti: str | None = None,
        sid: str | None = None,
        iat: float | None = None,
    ) -> str | None:
        """The claim that makes a token revoked at ``now`` ("sid", "jti" or "iat"), or None."""
        if sid is not None and self._sids.get(sid, 0) > now:
            return "sid"
        if jti is not None and iss is not None and self._jtis.get((iss, jti), 0) > now:
            return "jti"
        if sub is not None:
            user = self._users.get(sub)
            if user is not None and user[1] > now and (iat is None or iat < user[0]):
                return "iat"
        return None

    def check(self, token: AccessToken, now: float) -> None:
        """Raise :class:`RevokedToken` if ``token`` is revoked at ``now``."""
        if not (self._sids or self._jtis or self._users):  # the common case: nothing revoked
            return
        c = token.claims
        claim = self.reason(
            now,
            sub=c.get("sub"),
            iss=c.get("iss"),
            jti=c.get("jti"),
            sid=c.get("sid"),
            iat=c.get("iat"),
        )
        if claim is not None:
            raise RevokedToken(claim, "token revoked")

    def prune(self, now: float) -> int:
        """Forget entries that can no longer affect any token; return how many."""
        before = len(self)
        self._sids = {k: v for k, v in self._sids.items() if v > now}
        self._jtis = {k: v for k, v in self._jtis.items() if v > now}
        self._users = {k: v for k, v in self._users.items() if v[1] > now}
        return before - len(self)

    def __len__(self) -> int:
        return len(self._sids) + len(self._jtis) + len(self._users)
