"""The signing key ring and its rotation.

Each key moves ``next -> active -> retiring -> retired``:

- ``next`` is published in the JWKS before it signs anything, so every verifier that caches
  the JWKS knows it by the time it does;
- ``active`` signs (exactly one at a time);
- ``retiring`` no longer signs but still verifies, until every token it signed has expired;
- ``retired`` neither signs, verifies nor is published.

:func:`rotate` is a pure function of the ring, the time and the policy; the only thing it
cannot make up itself is a fresh key, which the caller's ``make_key`` supplies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from authwise.core.jwks import KeySet
from authwise.core.keys import PrivateKey
from authwise.errors import InvalidKey

__all__ = ["KeyEntry", "KeyRing", "KeyState", "RotationPolicy", "rotate"]

DAY = 86_400


class KeyState(StrEnum):
    """Where a key is in its life: published ahead, signing, verifying only, or gone."""

    NEXT = "next"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


@dataclass(frozen=True, kw_only=True)
class RotationPolicy:
    """When keys move on. All durations in seconds."""

    rotate_after: int = 90 * DAY
    """How long a key stays active before its successor takes over."""
    publish_ahead: int = DAY
    """How long a ``next`` key is published before it may sign (>= verifiers' JWKS cache age)."""
    retire_after: int = DAY
    """How long a ``retiring`` key keeps verifying (>= the longest access-token lifetime)."""
    max_token_ttl: int = 900
    """The longest access-token lifetime the ring must outlive."""

    def __post_init__(self) -> None:
        if self.rotate_after <= 0 or self.publish_ahead < 0:
            raise ValueError("rotate_after must be positive and publish_ahead not negative")
        if self.retire_after < self.max_token_ttl:
            raise ValueError("retire_after must be at least max_token_ttl")


@dataclass(frozen=True, kw_only=True)
class KeyEntry:
    key: PrivateKey
    state: KeyState
    since: int
    """When the key entered its current state (Unix seconds)."""

    @property
    def kid(self) -> str:
        return self.key.kid


@dataclass(frozen=True)
class KeyRing:
    """An ordered, immutable ring of signing keys (oldest first)."""

    entries: tuple[KeyEntry, ...] = ()

    def __post_init__(self) -> None:
        kids = [e.kid for e in self.entries]
        if len(set(kids)) != len(kids):
            raise InvalidKey("duplicate kid in key ring")
        if sum(e.state is KeyState.ACTIVE for e in self.entries) > 1:
            raise InvalidKey("a key ring has at most one active key")

    def _in(self, *states: KeyState) -> list[KeyEntry]:
        return [e for e in self.entries if e.state in states]

    @property
    def active(self) -> PrivateKey:
        """The signing key."""
        for entry in self.entries:
            if entry.state is KeyState.ACTIVE:
                return entry.key
        raise InvalidKey("the key ring has no active key")

    def verification_keys(self) -> KeySet:
        """Keys whose signatures are accepted: active and retiring."""
        return KeySet(e.key.public for e in self._in(KeyState.ACTIVE, KeyState.RETIRING))

    def published_keys(self) -> KeySet:
        """Keys in the public JWKS: next, active and retiring."""
        return KeySet(
            e.key.public for e in self._in(KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRING)
        )

    def jwks(self) -> dict[str, Any]:
        return self.published_keys().to_jwks()

    def find(self, kid: str) -> KeyEntry | None:
        for entry in self.entries:
            if entry.kid == kid:
                return entry
        return None

    def add(self, key: PrivateKey, now: int, state: KeyState = KeyState.NEXT) -> KeyRing:
        """A ring with ``key`` added (an imported key usually enters as ``next``)."""
        if state is KeyState.ACTIVE:
            demoted = tuple(
                replace(e, state=KeyState.RETIRING, since=now) if e.state is KeyState.ACTIVE else e
                for e in self.entries
            )
            return KeyRing((*demoted, KeyEntry(key=key, state=state, since=now)))
        return KeyRing((*self.entries, KeyEntry(key=key, state=state, since=now)))

    def retire(self, kid: str, now: int) -> KeyRing:
        """Stop trusting ``kid`` at once (a compromised key). The active key cannot be retired
        this way: rotate first."""
        entry = self.find(kid)
        if entry is None:
            raise InvalidKey("no such key")
        if entry.state is KeyState.ACTIVE:
            raise InvalidKey("rotate before retiring the active key")
        return KeyRing(
            tuple(
                replace(e, state=KeyState.RETIRED, since=now) if e.kid == kid else e
                for e in self.entries
            )
        )

    @classmethod
    def from_keys(cls, keys: Iterable[PrivateKey], now: int) -> KeyRing:
        """A ring whose last key is active and the others retiring."""
        keys = list(keys)
        entries = [KeyEntry(key=k, state=KeyState.RETIRING, since=now) for k in keys[:-1]]
        if keys:
            entries.append(KeyEntry(key=keys[-1], state=KeyState.ACTIVE, since=now))
        return cls(tuple(entries))


def rotate(
    ring: KeyRing,
    now: int,
    policy: RotationPolicy,
    make_key: Callable[[], PrivateKey],
    *,
    force: bool = False,
) -> KeyRing:
    """Advance every key whose time has come.

    - retiring keys older than ``retire_after`` are retired, and retired keys older than
      ``retire_after`` leave the ring (their private keys are not kept for nothing);
    - with no active key (first start), a key becomes active at once;
    - an active key older than ``rotate_after`` (or any, with ``force``) hands over to the
      ``next`` key once that one has been published for ``publish_ahead`` (at once with
      ``force``);
    - there is always a ``next`` key afterwards.
    """
    entries = [
        e
        for e in ring.entries
        if not (e.state is KeyState.RETIRED and now - e.since >= policy.retire_after)
    ]
    entries = [
        replace(e, state=KeyState.RETIRED, since=now)
        if e.state is KeyState.RETIRING and now - e.since >= policy.retire_after
        else e
        for e in entries
    ]

    def first(state: KeyState) -> int | None:
        return next((i for i, e in enumerate(entries) if e.state is state), None)

    active, nxt = first(KeyState.ACTIVE), first(KeyState.NEXT)
    if active is None:
        if nxt is None:
            entries.append(KeyEntry(key=make_key(), state=KeyState.ACTIVE, since=now))
        else:
            entries[nxt] = replace(entries[nxt], state=KeyState.ACTIVE, since=now)
    else:
        due = force or now - entries[active].since >= policy.rotate_after
        if due and nxt is None and force:
            entries.append(KeyEntry(key=make_key(), state=KeyState.NEXT, since=now))
            nxt = len(entries) - 1
        if due and nxt is not None and (force or now - entries[nxt].since >= policy.publish_ahead):
            entries[active] = replace(entries[active], state=KeyState.RETIRING, since=now)
            entries[nxt] = replace(entries[nxt], state=KeyState.ACTIVE, since=now)
    if first(KeyState.NEXT) is None:
        entries.append(KeyEntry(key=make_key(), state=KeyState.NEXT, since=now))
    return KeyRing(tuple(entries))
