"""Access tokens (RFC 9068 profile): minting under a payload policy, and verification.

Minting refuses what the seed warns about: lifetimes over the maximum (5 min default, 15 min
cap unless explicitly raised), claim sets that look like they carry secrets, and payloads
that outgrow a cookie or a header. Verification is the strict JWS check, then the claims
with an injected clock, then an optional revocation check that runs on every call, cached
or not.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, cast

from authwise.core._b64 import b64url_encode
from authwise.core._json import dumps, loads_object
from authwise.core.claims import ClaimsPolicy
from authwise.core.jwks import KeySet
from authwise.core.jws import (
    ACCESS_TOKEN_TYP,
    DEFAULT_MAX_TOKEN_BYTES,
    CompactVerifier,
    encode_header,
)
from authwise.core.keys import PrivateKey
from authwise.core.rules import scan_claims
from authwise.errors import ExpiredToken, NotYetValid, PolicyViolation

__all__ = [
    "AccessToken",
    "AccessTokenIssuer",
    "AccessTokenVerifier",
    "MintPolicy",
    "RevocationCheck",
    "VerifiedTokenCache",
]

DEFAULT_TTL = 300
MAX_TTL = 900
_REGISTERED = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "sid",
        "roles",
        "tenant",
        "client_id",
        "scope",
    }
)
_REVERIFY = frozenset({"keys", "claims", "typ", "max_bytes"})
_SIG_B64_LEN = {"ES256": 86, "Ed25519": 86, "EdDSA": 86}


@dataclass(frozen=True, kw_only=True)
class MintPolicy:
    """What the issuer refuses to mint."""

    default_ttl: int = DEFAULT_TTL
    """Lifetime of a token when the caller names none (the seed: 5 minutes)."""
    max_ttl: int = MAX_TTL
    """Longest lifetime allowed; above 15 minutes only with ``allow_long_lived``."""
    allow_long_lived: bool = False
    """Permit ``max_ttl`` above 15 minutes: a stolen token lives that long."""
    max_token_bytes: int = 2048
    """Budget for the whole encoded token (a 4 KB cookie and 8 KB headers leave room)."""

    def __post_init__(self) -> None:
        if not 0 < self.default_ttl <= self.max_ttl:
            raise ValueError("default_ttl must be positive and at most max_ttl")
        if self.max_ttl > MAX_TTL and not self.allow_long_lived:
            raise ValueError(
                f"max_ttl above {MAX_TTL} s needs allow_long_lived=True: the seed asks for 5-15 min"
            )
        if not 256 <= self.max_token_bytes <= DEFAULT_MAX_TOKEN_BYTES:
            raise ValueError(f"max_token_bytes must be between 256 and {DEFAULT_MAX_TOKEN_BYTES}")


class AccessToken(NamedTuple):
    """A verified access token. ``claims`` is read-only and holds every claim.

    A named tuple, so building one on every verification costs next to nothing; the
    convenience properties read the claims that :class:`ClaimsPolicy` has already validated.
    """

    claims: Mapping[str, Any]
    exp: float
    kid: str

    @classmethod
    def from_claims(cls, claims: dict[str, Any], exp: float, kid: str) -> AccessToken:
        # Read-only arrays too (aud, roles): a cached token is shared by every caller.
        for name, value in claims.items():
            if type(value) is list:
                claims[name] = tuple(value)
        return cls(MappingProxyType(claims), exp, kid)

    @property
    def sub(self) -> str:
        return cast(str, self.claims["sub"])

    @property
    def iss(self) -> str:
        return cast(str, self.claims["iss"])

    @property
    def jti(self) -> str | None:
        return self.claims.get("jti")

    @property
    def sid(self) -> str | None:
        return self.claims.get("sid")

    @property
    def iat(self) -> float | None:
        return self.claims.get("iat")

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.claims.get("roles", ()))

    @property
    def tenant(self) -> str | None:
        return self.claims.get("tenant")


class RevocationCheck(Protocol):
    """Raises :class:`~authwise.errors.RevokedToken` if ``token`` has been revoked at ``now``."""

    def check(self, token: AccessToken, now: float) -> None: ...


class VerifiedTokenCache:
    """Bounded memory of tokens already verified, keyed by the exact token string.

    An entry never outlives its token's ``exp`` (plus leeway); when full, the oldest entry
    goes. It saves the signature and parsing work only: the caller still checks expiry and
    revocation on every hit.

    An entry means "valid under one verifier's keys and claims policy", so a cache serves a
    single :class:`AccessTokenVerifier`: shared with a verifier for another audience, a hit
    would skip that verifier's checks.
    """

    __slots__ = ("_entries", "_owner", "maxsize")

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be positive")
        self.maxsize: int = maxsize
        self._entries: dict[str, AccessToken] = {}
        self._owner: object | None = None

    def bind(self, owner: object) -> None:
        """Dedicate this cache to ``owner``; a second owner is refused."""
        if self._owner is not None and self._owner is not owner:
            raise ValueError("a VerifiedTokenCache serves one verifier only")
        self._owner = owner

    def get(self, token: str) -> AccessToken | None:
        return self._entries.get(token)

    def put(self, token: str, value: AccessToken) -> None:
        entries = self._entries
        if len(entries) >= self.maxsize:
            del entries[next(iter(entries))]
        entries[token] = value

    def discard(self, token: str) -> None:
        self._entries.pop(token, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class AccessTokenIssuer:
    """Mints access tokens signed by one private key (the key ring's active key)."""

    def __init__(self, key: PrivateKey, issuer: str, policy: MintPolicy | None = None) -> None:
        if not issuer:
            raise ValueError("issuer is required")
        self.key = key
        self.issuer = issuer
        self.policy: MintPolicy = policy or MintPolicy()
        self._header = encode_header(key, ACCESS_TOKEN_TYP)
        self._sig_len = _SIG_B64_LEN.get(key.alg) or len(b64url_encode(bytes(key.public._sig_len)))

    def mint(
        self,
        *,
        sub: str,
        audience: str | Iterable[str],
        now: int,
        ttl: int | None = None,
        sid: str | None = None,
        roles: Iterable[str] = (),
        tenant: str | None = None,
        extra: Mapping[str, Any] | None = None,
        jti: str | None = None,
    ) -> str:
        """A signed access token, or :class:`PolicyViolation` when the policy refuses it."""
        policy = self.policy
        ttl = policy.default_ttl if ttl is None else ttl
        if not 0 < ttl <= policy.max_ttl:
            raise PolicyViolation(
                "lifetime-too-long", f"lifetime {ttl} s is outside 1..{policy.max_ttl} s", "exp"
            )
        if not isinstance(sub, str) or not sub or "\x00" in sub:
            raise PolicyViolation("invalid-sub", "sub must be a non-empty string", "sub")
        aud = audience if isinstance(audience, str) else list(audience)
        if not aud or (type(aud) is list and not all(type(a) is str and a for a in aud)):
            raise PolicyViolation(
                "missing-aud", "an audience (non-empty strings) is required", "aud"
            )
        claims: dict[str, Any] = {}
        if extra:
            clash = _REGISTERED & extra.keys()
            if clash:
                raise PolicyViolation(
                    "reserved-claim", f"extra claims may not set {sorted(clash)}", sorted(clash)[0]
                )
            claims.update(extra)
        claims.update(
            iss=self.issuer,
            sub=sub,
            aud=aud,
            exp=now + ttl,
            iat=now,
            jti=jti or b64url_encode(secrets.token_bytes(16)),
        )
        # Refuse what the verifier would refuse (claims.py), rather than mint a dud token.
        if sid is not None:
            if type(sid) is not str or not sid or len(sid) > 255 or "\x00" in sid:
                raise PolicyViolation(
                    "invalid-claim", "sid must be a short non-empty string", "sid"
                )
            claims["sid"] = sid
        roles = list(roles)
        if not all(type(r) is str for r in roles):
            raise PolicyViolation("invalid-claim", "roles must be strings", "roles")
        if roles:
            claims["roles"] = roles
        if tenant is not None:
            if type(tenant) is not str:
                raise PolicyViolation("invalid-claim", "tenant must be a string", "tenant")
            claims["tenant"] = tenant
        for finding in scan_claims(claims, skip=frozenset({"jti", "sid"})):
            if finding.severity == "error":
                raise PolicyViolation(finding.id, finding.message, finding.path)
        try:
            payload = dumps(claims)
        except TypeError as exc:
            raise PolicyViolation("invalid-claim-value", "claims must be JSON values") from exc
        size = len(self._header) + 2 + (len(payload) * 4 + 2) // 3 + self._sig_len
        if size > policy.max_token_bytes:
            raise PolicyViolation(
                "payload-too-large",
                f"token would be {size} bytes, over the {policy.max_token_bytes}-byte budget: "
                "look the data up by sub instead",
            )
        signing_input = f"{self._header}.{b64url_encode(payload)}"
        return f"{signing_input}.{b64url_encode(self.key.sign(signing_input.encode()))}"


@dataclass(kw_only=True)
class AccessTokenVerifier:
    """Verifies access tokens: strict JWS, then claims at ``now``, then revocation.

    ``verify`` returns an :class:`AccessToken` or raises a :class:`~authwise.errors.TokenError`
    subclass; there is no boolean result to forget to check.
    """

    keys: KeySet
    claims: ClaimsPolicy
    revocation: RevocationCheck | None = None
    typ: str | None = ACCESS_TOKEN_TYP
    max_bytes: int = DEFAULT_MAX_TOKEN_BYTES
    cache: VerifiedTokenCache | None = field(default_factory=VerifiedTokenCache)
    _jws: CompactVerifier = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._jws = CompactVerifier(self.keys, expected_typ=self.typ, max_bytes=self.max_bytes)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "cache" and value is not None:
            value.bind(self)  # before assigning: refused if it serves another verifier
        super().__setattr__(name, value)
        # Assigning keys, claims, typ or max_bytes must not leave the old JWS verifier or
        # results verified under the old rules in use (a retired key stops verifying at once).
        if name in _REVERIFY and "_jws" in self.__dict__:
            jws = CompactVerifier(self.keys, expected_typ=self.typ, max_bytes=self.max_bytes)
            super().__setattr__("_jws", jws)
            if self.cache is not None:
                self.cache.clear()

    def update_keys(self, keys: KeySet) -> None:
        """Trust a new key set (after a JWKS refresh or rotation); forgets cached results."""
        self.keys = keys

    def verify(self, token: str, now: float) -> AccessToken:
        cache = self.cache
        cached = cache.get(token) if cache is not None else None
        if cached is not None:
            leeway = self.claims.leeway
            if now >= cached.exp + leeway:
                cache.discard(token)  # type: ignore[union-attr]
                raise ExpiredToken
            # A clock that stepped back must not skip the nbf/iat checks made at first sight.
            claims = cached.claims
            if now + leeway < max(claims.get("nbf", 0), claims.get("iat", 0)):
                raise NotYetValid("iat", "token not valid yet")
            result = cached
        else:
            key, payload = self._jws.verify(token)
            claims = loads_object(payload)
            exp = self.claims.validate(claims, now)
            result = AccessToken.from_claims(claims, exp, key.kid)
            if cache is not None:
                cache.put(token, result)
        if self.revocation is not None:
            self.revocation.check(result, now)
        return result
