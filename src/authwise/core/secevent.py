"""Security Event Tokens (RFC 8417) in the OpenID Shared Signals Framework 1.0 profile.

One event of the change log becomes one signed SET, and a SET becomes one
:class:`SecurityEvent` again, strictly. The event types are CAEP 1.0 and RISC 1.0 where one
fits (docs/events.md has the mapping and the sections it follows):

- session_revoked: CAEP session-revoked, ``sub_id`` complex: session (+ user)
- sessions_revoked: CAEP session-revoked, complex: user
- token_revoked: OAuth Event Types token-revoked, jwt_id: the token's iss + jti
- claims_changed: CAEP token-claims-change, complex: user
- credential_changed: CAEP credential-change, complex: user
- account_disabled / account_enabled: RISC account-disabled / account-enabled, complex: user
- key_retired: project-specific (:data:`KEY_RETIRED`), opaque: the key's kid

Every event carries ``event_timestamp``: the user-wide not-before for the kinds that move it
(a verifier refuses that user's tokens with ``iat`` below it), otherwise the commit time.
A SET never has ``sub`` or ``exp`` (SSF 1.0 section 4.1.3), always ``typ: secevent+jwt``, and
is checked with the same strict compact JWS code as access tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from authwise.core._json import dumps, loads_object
from authwise.core.claims import MAX_NUMERIC_DATE
from authwise.core.jwks import KeySet
from authwise.core.jws import CompactVerifier, sign_compact
from authwise.core.keys import PrivateKey
from authwise.errors import InvalidClaim, UnsupportedToken

__all__ = [
    "ACCOUNT_DISABLED",
    "ACCOUNT_ENABLED",
    "CREDENTIAL_CHANGE",
    "KEY_RETIRED",
    "MAX_SET_BYTES",
    "SESSION_REVOKED",
    "SET_TYP",
    "TOKEN_CLAIMS_CHANGE",
    "TOKEN_REVOKED",
    "LogEvent",
    "SecurityEvent",
    "decode_security_event",
    "encode_security_event",
]

SET_TYP = "secevent+jwt"
MAX_SET_BYTES = 8192
"""Largest SET encoded or decoded (the access-token cap): checked before any parsing."""

_CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
_RISC = "https://schemas.openid.net/secevent/risc/event-type/"
SESSION_REVOKED = _CAEP + "session-revoked"
TOKEN_CLAIMS_CHANGE = _CAEP + "token-claims-change"
CREDENTIAL_CHANGE = _CAEP + "credential-change"
ACCOUNT_DISABLED = _RISC + "account-disabled"
ACCOUNT_ENABLED = _RISC + "account-enabled"
TOKEN_REVOKED = "https://schemas.openid.net/secevent/oauth/event-type/token-revoked"  # noqa: S105
"""From the OpenID "OAuth Event Types 1.0" draft: CAEP 1.0 has no per-token revocation."""
KEY_RETIRED = "urn:authwise:secevent:event-type:key-retired"
"""Project-specific: no standard event type says "stop trusting this signing key"."""

_USER_KINDS = {
    "claims_changed": TOKEN_CLAIMS_CHANGE,
    "credential_changed": CREDENTIAL_CHANGE,
    "account_disabled": ACCOUNT_DISABLED,
    "account_enabled": ACCOUNT_ENABLED,
}
# The kinds whose event_timestamp is the user-wide not-before rather than the commit time.
_NOT_BEFORE_KINDS = frozenset(
    {"sessions_revoked", "claims_changed", "credential_changed", "account_disabled"}
)
_KINDS = frozenset({"session_revoked", "sessions_revoked", "token_revoked", "key_retired"})
_KINDS |= _USER_KINDS.keys()
_MAX_ID = 255
_MAX_URI = 2048
_MAX_REASON = 256
_PASSWORD_UPDATE = {"credential_type": "password", "change_type": "update"}
_SESSION_PARTS = frozenset({"user", "session"})
_USER_PART = frozenset({"user"})
# Reads the subject and members of one event type into SecurityEvent fields.
_Reader = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


class LogEvent(Protocol):
    """What :func:`encode_security_event` reads from one event of the change log."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def at(self) -> int: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def sid(self) -> str | None: ...
    @property
    def jti(self) -> str | None: ...
    @property
    def issuer(self) -> str: ...
    @property
    def not_before(self) -> int: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityEvent:
    """A verified SET, read back into the terms of the change log.

    Fields a kind does not use are None (``not_before``: 0). ``claims`` holds every claim of
    the SET, read-only all the way down.
    """

    kind: str
    """Our kind (``session_revoked``, ``claims_changed``, ...)."""
    event_type: str
    """The event type URI, the one member of ``events``."""
    id: str
    """The SET's ``jti``: unique per event, for de-duplication."""
    at: int
    """The SET's ``iat``: when the change committed."""
    user_id: str | None = None
    sid: str | None = None
    """The session handle or refresh-family id (the access tokens' ``sid``)."""
    jti: str | None = None
    """token_revoked: the revoked access token's ``jti``."""
    token_issuer: str | None = None
    """token_revoked: the revoked access token's ``iss``."""
    not_before: int = 0
    """User-wide: tokens of ``user_id`` with ``iat`` below this are revoked (0: none)."""
    roles: tuple[str, ...] | None = None
    """claims_changed: the user's new roles."""
    tenant: str | None = None
    """claims_changed: the user's new tenant (None: no tenant)."""
    kid: str | None = None
    """key_retired: the signing key that must stop verifying now."""
    reason: str | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)


def encode_security_event(
    event: LogEvent,
    *,
    issuer: str,
    audience: str | Sequence[str] | None,
    key: PrivateKey,
    txn: str | None = None,
) -> str:
    """The signed SET for ``event``; ValueError for an internal kind or a malformed event.

    ``txn`` (SSF 1.0 section 4.1.9) ties SETs that share one cause; it defaults to the
    event's id.
    """
    if event.kind not in _KINDS:
        raise ValueError(f"event kind {event.kind!r} is internal or unknown: never encoded")
    if not _is_text(issuer, _MAX_URI):
        raise ValueError("issuer must be a non-empty string")
    event_id = _required(event.id, "id")
    at = event.at
    if not _is_date(at):
        raise ValueError("at must be a positive integer NumericDate")
    event_type, subject, members = _describe(event)
    claims: dict[str, Any] = {"iss": issuer, "jti": event_id, "iat": at}
    if audience is not None:
        claims["aud"] = _audience(audience)
    claims["txn"] = event_id if txn is None else _required(txn, "txn")
    claims["sub_id"] = subject
    claims["events"] = {event_type: members}
    # Every value is checked above, so the claims are JSON by construction.
    token = sign_compact(key, dumps(claims), typ=SET_TYP)
    if len(token) > MAX_SET_BYTES:
        raise ValueError(f"SET would be {len(token)} bytes, over {MAX_SET_BYTES}")
    return token


def _describe(event: LogEvent) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The event type, the ``sub_id`` and the event members for one (encodable) event."""
    kind, data = event.kind, event.data
    members: dict[str, Any] = {"event_timestamp": event.at}
    if kind in _NOT_BEFORE_KINDS:
        if not _is_date(event.not_before):
            raise ValueError(f"{kind} needs a positive integer not_before")
        members["event_timestamp"] = event.not_before
    reason = data.get("reason")
    if reason is not None:
        if not _is_text(reason, _MAX_REASON):
            raise ValueError("reason must be a short non-empty string")
        members["reason_admin"] = {"en": reason}
    if kind == "token_revoked":
        subject: dict[str, Any] = {
            "format": "jwt_id",
            "iss": _required(event.issuer, "issuer", _MAX_URI),
            "jti": _required(event.jti, "jti"),
        }
        return TOKEN_REVOKED, subject, members
    if kind == "key_retired":
        return KEY_RETIRED, _opaque(_required(data.get("kid"), "data.kid")), members
    if kind == "session_revoked":
        subject = {"format": "complex", "session": _opaque(_required(event.sid, "sid"))}
        if event.user_id is not None:
            subject["user"] = _opaque(_required(event.user_id, "user_id"))
        return SESSION_REVOKED, subject, members
    user: dict[str, Any] = {
        "format": "complex",
        "user": _opaque(_required(event.user_id, "user_id")),
    }
    if kind == "sessions_revoked":
        return SESSION_REVOKED, user, members
    if kind == "claims_changed":
        roles, tenant = data.get("roles"), data.get("tenant")
        if not isinstance(roles, list | tuple) or not all(_is_text(r, _MAX_ID) for r in roles):
            raise ValueError("claims_changed needs data roles: a list of role names")
        if tenant is not None and not _is_text(tenant, _MAX_ID):
            raise ValueError("tenant must be a short non-empty string or None")
        members["claims"] = {"roles": list(roles), "tenant": tenant}
    elif kind == "credential_changed":
        members.update(_PASSWORD_UPDATE)
    return _USER_KINDS[kind], user, members


def decode_security_event(
    token: str, *, keys: KeySet, issuer: str, audience: str | None
) -> SecurityEvent:
    """Verify a SET strictly and read it back; raises a :class:`~authwise.errors.TokenError`.

    The signature is checked first (``typ`` secevent+jwt, a trusted ``kid`` whose one
    algorithm is the header's), then the claims: exact ``iss``, ``aud`` naming ``audience``
    when one is expected, no ``sub`` or ``exp``, exactly one event of a known type, and the
    subject that type needs. Unknown extra members are ignored (SSF 1.0 section 4.2.3).
    """
    verifier = CompactVerifier(keys, expected_typ=SET_TYP, max_bytes=MAX_SET_BYTES)
    _, payload = verifier.verify(token)
    claims = loads_object(payload)
    _check_envelope(claims, issuer, audience)
    event_type, members = _one_event(claims)
    fields = _READERS[event_type](claims["sub_id"], members)
    if fields["kind"] in _NOT_BEFORE_KINDS:
        fields["not_before"] = members["event_timestamp"]
    return SecurityEvent(
        event_type=event_type,
        id=claims["jti"],
        at=claims["iat"],
        reason=_reason(members),
        claims=_frozen(claims),
        **fields,
    )


def _one_event(claims: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The type and members of the one known event, checked against ``sub_id``."""
    events = claims["events"]
    if type(events) is not dict or len(events) != 1:
        raise InvalidClaim("events", "events must hold exactly one event")
    ((event_type, members),) = events.items()
    if event_type not in _READERS:
        raise UnsupportedToken("unknown event type")
    if type(members) is not dict:
        raise InvalidClaim("events", "an event must be a JSON object")
    sub_id = claims["sub_id"]
    if type(sub_id) is not dict:
        raise InvalidClaim("sub_id", "sub_id must be a JSON object")
    if "subject" in members and members["subject"] != sub_id:
        raise InvalidClaim("sub_id", "the event's subject contradicts sub_id")
    if not _is_date(members.get("event_timestamp")):
        raise InvalidClaim("event_timestamp", "event_timestamp must be a positive integer")
    return event_type, members


def _check_envelope(claims: dict[str, Any], issuer: str, audience: str | None) -> None:
    for name in ("sub", "exp"):
        if name in claims:
            raise InvalidClaim(name, f"a SET never has {name} (SSF 1.0 section 4.1.3)")
    for name in ("iss", "jti", "iat", "sub_id", "events"):
        if name not in claims:
            raise InvalidClaim(name, f"{name} is required")
    iss = claims["iss"]
    if type(iss) is not str or iss != issuer:
        raise InvalidClaim("iss", "issuer mismatch")
    if not _is_text(claims["jti"], _MAX_ID):
        raise InvalidClaim("jti", "jti must be a non-empty string without NUL")
    if not _is_date(claims["iat"]):
        raise InvalidClaim("iat", "iat must be a positive integer NumericDate")
    if "txn" in claims and not _is_text(claims["txn"], _MAX_ID):
        raise InvalidClaim("txn", "txn must be a non-empty string without NUL")
    aud = claims.get("aud")
    if aud is None:
        if "aud" in claims or audience is not None:
            raise InvalidClaim("aud", "aud is required")
        return
    if type(aud) is str:
        audiences = [aud]
    elif type(aud) is list and aud and all(type(a) is str for a in aud):
        audiences = aud
    else:
        raise InvalidClaim("aud", "aud must be a string or a non-empty array of strings")
    if audience is not None and audience not in audiences:
        raise InvalidClaim("aud", "audience mismatch")


def _read_session(sub_id: dict[str, Any], members: dict[str, Any]) -> dict[str, Any]:
    parts = _complex(sub_id, _SESSION_PARTS)
    if "session" in parts:
        return {"kind": "session_revoked", "sid": parts["session"], "user_id": parts.get("user")}
    return {"kind": "sessions_revoked", "user_id": parts["user"]}


def _read_user(kind: str) -> _Reader:
    def read(sub_id: dict[str, Any], members: dict[str, Any]) -> dict[str, Any]:
        return {"kind": kind, "user_id": _complex(sub_id, _USER_PART)["user"]}

    return read


def _read_claims(sub_id: dict[str, Any], members: dict[str, Any]) -> dict[str, Any]:
    fields = _read_user("claims_changed")(sub_id, members)
    new = members.get("claims")
    if type(new) is not dict or new.keys() != {"roles", "tenant"}:
        raise InvalidClaim("claims", "claims must hold exactly the new roles and tenant")
    roles, tenant = new["roles"], new["tenant"]
    if type(roles) is not list or not all(_is_text(r, _MAX_ID) for r in roles):
        raise InvalidClaim("roles", "roles must be an array of role names")
    if tenant is not None and not _is_text(tenant, _MAX_ID):
        raise InvalidClaim("tenant", "tenant must be a short string or null")
    return {**fields, "roles": tuple(roles), "tenant": tenant}


def _read_credential(sub_id: dict[str, Any], members: dict[str, Any]) -> dict[str, Any]:
    if any(members.get(name) != value for name, value in _PASSWORD_UPDATE.items()):
        raise UnsupportedToken("only password updates are understood")
    return _read_user("credential_changed")(sub_id, members)


def _read_token(sub_id: dict[str, Any], members: dict[str, Any]) -> dict[str, Any]:
    if sub_id.keys() != {"format", "iss", "jti"} or sub_id["format"] != "jwt_id":
        raise InvalidClaim("sub_id", "token-revoked needs a jwt_id subject")
    iss, jti = sub_id["iss"], sub_id["jti"]
    if not (_is_text(iss, _MAX_URI) and _is_text(jti, _MAX_ID)):
        raise InvalidClaim("sub_id", "jwt_id needs string iss and jti")
    return {"kind": "token_revoked", "token_issuer": iss, "jti": jti}


def _read_key(sub_id: dict[str, Any], members: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "key_retired", "kid": _opaque_id(sub_id)}


_READERS: dict[str, _Reader] = {
    SESSION_REVOKED: _read_session,
    TOKEN_CLAIMS_CHANGE: _read_claims,
    CREDENTIAL_CHANGE: _read_credential,
    ACCOUNT_DISABLED: _read_user("account_disabled"),
    ACCOUNT_ENABLED: _read_user("account_enabled"),
    TOKEN_REVOKED: _read_token,
    KEY_RETIRED: _read_key,
}


def _complex(sub_id: dict[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    """The opaque ids of a complex subject (SSF 1.0 section 3.3) naming only ``allowed``.

    Unknown members are refused rather than ignored: each one narrows what an event applies
    to, so ignoring it would widen a revocation or a claims change.
    """
    if sub_id.get("format") != "complex":
        raise InvalidClaim("sub_id", "a complex subject is required")
    names = sub_id.keys() - {"format"}
    if not names or not names <= allowed:
        raise InvalidClaim("sub_id", f"a complex subject of {sorted(allowed)} is required")
    return {name: _opaque_id(sub_id[name]) for name in names}


def _opaque(value: str) -> dict[str, str]:
    return {"format": "opaque", "id": value}


def _opaque_id(value: object) -> str:
    if type(value) is not dict or value.keys() != {"format", "id"} or value["format"] != "opaque":
        raise InvalidClaim("sub_id", "an opaque subject identifier is required")
    if not _is_text(value["id"], _MAX_ID):
        raise InvalidClaim("sub_id", "an opaque id must be a short non-empty string")
    return str(value["id"])


def _reason(members: dict[str, Any]) -> str | None:
    reasons = members.get("reason_admin")
    if reasons is None:
        return None
    if (
        type(reasons) is not dict
        or not reasons
        or not all(_is_text(r, _MAX_REASON) for r in reasons.values())
    ):
        raise InvalidClaim("reason_admin", "reason_admin must map language tags to text")
    reason = reasons.get("en")
    return None if reason is None else str(reason)


def _audience(audience: str | Sequence[str]) -> str | list[str]:
    if isinstance(audience, str):
        auds: list[str] = [audience]
    else:
        auds = list(audience)
        if not auds:
            raise ValueError("audience must not be an empty list")
    if not all(_is_text(a, _MAX_URI) for a in auds):
        raise ValueError("every audience must be a non-empty string")
    return audience if isinstance(audience, str) else auds


def _required(value: object, name: str, limit: int = _MAX_ID) -> str:
    if not _is_text(value, limit):
        raise ValueError(f"{name} must be a short non-empty string without NUL")
    return str(value)


def _is_text(value: object, limit: int) -> bool:
    return type(value) is str and 0 < len(value) <= limit and "\x00" not in value


def _is_date(value: object) -> bool:
    return type(value) is int and 0 < value <= MAX_NUMERIC_DATE


def _frozen(value: Any) -> Any:
    if type(value) is dict:
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if type(value) is list:
        return tuple(_frozen(v) for v in value)
    return value
