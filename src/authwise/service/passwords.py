"""argon2id password hashing, off the event loop, with bounded concurrency.

argon2 is deliberately slow and memory-hungry: run on the event loop it stalls every other
request (one login client pushed ``GET /me`` p99 from 7 ms to 730 ms), and run without a bound
a burst of logins exhausts memory. So each hash runs in a worker thread, at most
``max_concurrency`` at a time, and later ones wait their turn.

An unknown user costs exactly what a known one does: :meth:`PasswordHasher.verify` given no
stored hash verifies against a dummy hash made with the same parameters (S09, S10).
"""

from __future__ import annotations

import asyncio
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from authwise.core.accounts import HashParams

__all__ = ["PasswordHasher"]


class PasswordHasher:
    def __init__(self, params: HashParams | None = None, *, max_concurrency: int = 2) -> None:
        self.params = params or HashParams()
        self._argon2 = argon2.PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_cost,
            parallelism=self.params.parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )
        self._slots = asyncio.Semaphore(max_concurrency)
        self._dummy: str | None = None

    async def prepare(self) -> None:
        """Make the dummy hash now, so the first unknown-user login costs no extra hash."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """A new argon2id PHC string for ``password``."""
        async with self._slots:
            return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, stored: str | None, password: str) -> tuple[bool, bool]:
        """``(matches, needs_rehash)``. With ``stored`` None (unknown user), the same work is
        done against a dummy hash and the answer is ``(False, False)``."""
        await self.prepare()
        target = self._dummy if stored is None else stored
        assert target is not None  # noqa: S101 - prepare() sets it
        async with self._slots:
            ok = await asyncio.to_thread(self._check, target, password)
        if stored is None or not ok:
            return False, False
        return True, self._argon2.check_needs_rehash(stored)

    def _check(self, stored: str, password: str) -> bool:
        try:
            # Encoded here so that a lone surrogate (hostile JSON) is a wrong password, not
            # a crash; registration refuses such passwords, so none can match.
            return self._argon2.verify(stored, password.encode("utf-8", "surrogatepass"))
        except (VerificationError, InvalidHashError):
            return False
