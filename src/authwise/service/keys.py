"""The signing key ring, persisted in a :class:`~authwise.storage.KeyStore`.

Private keys are stored only as PKCS#8 PEM encrypted under the deployment's key-encryption
key (KEK). Loading advances the ring with :func:`authwise.core.keyring.rotate` (generating the
first keys on first start) and saves any change with the store's compare-and-set, so when
several processes start or rotate at once exactly one ring wins and the others adopt it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from authwise.core.keyring import KeyEntry, KeyRing, KeyState, RotationPolicy, rotate
from authwise.core.keys import ALGORITHMS, Algorithm, PrivateKey
from authwise.errors import Conflict, InvalidKey, StorageError
from authwise.storage.base import KeyRecord, KeyRingSnapshot, KeyStore

__all__ = ["KeyManager"]

MIN_KEK_BYTES = 16
_ATTEMPTS = 5


class KeyManager:
    def __init__(
        self,
        store: KeyStore,
        key_encryption_key: bytes,
        *,
        policy: RotationPolicy | None = None,
        algorithm: Algorithm = "ES256",
        make_key: Callable[[], PrivateKey] | None = None,
    ) -> None:
        if len(key_encryption_key) < MIN_KEK_BYTES:
            # An empty password would make PrivateKey.to_pem write the key in plain.
            raise ValueError(f"the key-encryption key must be at least {MIN_KEK_BYTES} bytes")
        self._store = store
        self._kek = key_encryption_key
        self.policy = policy or RotationPolicy()
        self._make_key = make_key or (lambda: PrivateKey.generate(algorithm))

    def _decode(self, records: Sequence[KeyRecord]) -> KeyRing:
        entries = []
        for record in records:
            if record.alg not in ALGORITHMS:
                raise InvalidKey(f"stored key {record.kid!r}: unsupported algorithm")
            key = PrivateKey.from_pem(
                record.private_pem, self._kek, alg=cast(Algorithm, record.alg), kid=record.kid
            )
            entries.append(KeyEntry(key=key, state=KeyState(record.state), since=record.since))
        return KeyRing(tuple(entries))

    def _encode(self, ring: KeyRing, previous: KeyRingSnapshot) -> list[KeyRecord]:
        # Re-encrypting a key gives new bytes each time: keep the stored PEM of known keys.
        pems = {r.kid: r.private_pem for r in previous.records}
        return [
            KeyRecord(
                kid=e.kid,
                alg=e.key.alg,
                state=e.state.value,
                since=e.since,
                private_pem=pems.get(e.kid) or e.key.to_pem(password=self._kek),
            )
            for e in ring.entries
        ]

    async def load(self, now: int, *, force_rotation: bool = False) -> KeyRing:
        """The current ring, advanced to ``now`` (and rotated at once with ``force_rotation``)
        and saved if that changed it. Raises :class:`InvalidKey` for a wrong KEK."""
        return (await self.advance(now, force_rotation=force_rotation))[0]

    async def advance(self, now: int, *, force_rotation: bool = False) -> tuple[KeyRing, bool]:
        """Like :meth:`load`, also telling whether this call saved a changed ring (so that
        exactly one process announces a rotation)."""
        for _ in range(_ATTEMPTS):
            snapshot = await self._store.load()
            ring = self._decode(snapshot.records)
            advanced = rotate(ring, now, self.policy, self._make_key, force=force_rotation)
            if same_shape(advanced, ring):
                return ring, False
            records = self._encode(advanced, snapshot)
            if await self._store.save(records, expected_version=snapshot.version):
                return advanced, True
            force_rotation = False  # another process rotated first: adopt its ring
        raise StorageError("key ring: too many concurrent updates")

    async def retire(self, kid: str, now: int) -> KeyRing:
        """Stop trusting ``kid`` at once (a compromised key); rotate first if it is active."""

        def change(snapshot: KeyRingSnapshot) -> list[KeyRecord]:
            return self._encode(self._decode(snapshot.records).retire(kid, now), snapshot)

        return self._decode(await self._compare_and_set(change))

    async def add(self, key: PrivateKey, now: int, *, activate: bool = False) -> KeyRing:
        """Bring an existing key into the ring, encrypted under the KEK like the others.

        It takes the place of the generated ``next`` key (which never signed anything), so it
        is the next to sign; with ``activate`` it signs from ``now`` and the active key moves to
        ``retiring``. :class:`Conflict` when its ``kid`` is already there."""

        def change(snapshot: KeyRingSnapshot) -> list[KeyRecord]:
            if any(r.kid == key.kid for r in snapshot.records):
                raise Conflict("key", f"the key {key.kid} is already in the ring")
            ring = self._decode(snapshot.records)
            if activate:
                ring = ring.add(key, now, KeyState.ACTIVE)
            else:
                kept = tuple(e for e in ring.entries if e.state is not KeyState.NEXT)
                ring = KeyRing(kept).add(key, now)
            return self._encode(ring, snapshot)

        records = await self._compare_and_set(
            change, gave_up="the key ring kept changing; try again"
        )
        return self._decode(records)

    async def _compare_and_set(
        self,
        change: Callable[[KeyRingSnapshot], list[KeyRecord]],
        *,
        gave_up: str = "key ring: too many concurrent updates",
    ) -> list[KeyRecord]:
        """Save ``change(stored)`` unless another process saved first; then try again on
        what it saved. :class:`StorageError` (``gave_up``) when every attempt lost."""
        for _ in range(_ATTEMPTS):
            snapshot = await self._store.load()
            records = change(snapshot)
            if await self._store.save(records, expected_version=snapshot.version):
                return records
        raise StorageError(gave_up)


def same_shape(a: KeyRing, b: KeyRing) -> bool:
    """Whether two rings hold the same keys in the same states since the same times."""
    return [(e.kid, e.state, e.since) for e in a.entries] == [
        (e.kid, e.state, e.since) for e in b.entries
    ]
