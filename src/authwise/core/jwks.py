"""JWK Sets (RFC 7517 section 5): the public keys a verifier trusts, by ``kid``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from authwise.core._json import loads_object
from authwise.core.keys import PublicKey
from authwise.errors import InvalidKey, MalformedToken

__all__ = ["MAX_JWKS_BYTES", "MAX_JWKS_KEYS", "KeySet"]

MAX_JWKS_BYTES = 256 * 1024
MAX_JWKS_KEYS = 64


class KeySet(Mapping[str, PublicKey]):
    """An immutable set of trusted public keys, looked up by ``kid``.

    Only public asymmetric signing keys, each with a unique ``kid`` and one algorithm (J21).
    """

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        by_kid: dict[str, PublicKey] = {}
        for key in keys:
            if key.kid in by_kid:
                raise InvalidKey(f"duplicate kid {key.kid!r} in key set")
            by_kid[key.kid] = key
        if len(by_kid) > MAX_JWKS_KEYS:
            raise InvalidKey(f"a key set holds at most {MAX_JWKS_KEYS} keys")
        self._keys = by_kid

    def __getitem__(self, kid: str) -> PublicKey:
        return self._keys[kid]

    def find(self, kid: str) -> PublicKey | None:
        """The key with this ``kid``, or None."""
        return self._keys.get(kid)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet({list(self._keys)!r})"

    def to_jwks(self) -> dict[str, Any]:
        """The JWK Set document, public members only."""
        return {"keys": [key.to_jwk() for key in self._keys.values()]}

    @classmethod
    def from_jwks(
        cls, document: bytes | str | Mapping[str, Any], *, allow_legacy_eddsa: bool = False
    ) -> KeySet:
        """Parse and validate a JWK Set; any unacceptable key fails the whole set."""
        if isinstance(document, str):
            document = document.encode()
        if isinstance(document, bytes):
            if len(document) > MAX_JWKS_BYTES:
                raise InvalidKey("jwks: document too large")
            try:
                document = loads_object(document)
            except MalformedToken as exc:
                raise InvalidKey("jwks: not a JSON object") from exc
        if not isinstance(document, Mapping):
            raise InvalidKey("jwks: not a JSON object")
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise InvalidKey("jwks: 'keys' must be an array")
        if len(keys) > MAX_JWKS_KEYS:
            raise InvalidKey(f"jwks: more than {MAX_JWKS_KEYS} keys")
        parsed = []
        for jwk in keys:
            if not isinstance(jwk, dict):
                raise InvalidKey("jwks: every key must be an object")
            if "kid" not in jwk:
                raise InvalidKey("jwks: every key needs a kid")
            parsed.append(PublicKey.from_jwk(jwk, allow_legacy_eddsa=allow_legacy_eddsa))
        return cls(parsed)
