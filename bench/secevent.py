"""Security Event Tokens: encode and decode, against the raw signature and PyJWT / joserfc.

One claims_changed SET per algorithm; every contender runs in the same process, alternated
round by round; the table shows the median ops/s over the rounds and the ratio to the
signature operation alone (``PublicKey.verify`` / ``PrivateKey.sign`` on the same bytes).

    .venv/bin/python bench/secevent.py               # all algorithms, 7 rounds
    .venv/bin/python bench/secevent.py --cpu 1       # pinned to one core

"decode" is the full check: signature, header rules, the SET envelope and the event, the way
each library is asked to accept a SET (the peers check iss, aud and the required claims but
know nothing of SSF subjects or event types, so they do less work).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt as pyjwt
from joserfc import jwt as jose_jwt
from joserfc.jwk import JWKRegistry

from authwise import KeySet, PrivateKey, decode_security_event, encode_security_event
from authwise.core._b64 import b64url_decode

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: str = "claims_changed"
    id: str = "evt-0c9b2e7d5a1f"
    at: int = 0
    user_id: str | None = "user-42"
    sid: str | None = None
    jti: str | None = None
    issuer: str = ISSUER
    not_before: int = 0
    data: Mapping[str, Any] = field(
        default_factory=lambda: {"roles": ["reader", "writer"], "tenant": "acme"}
    )


def _contenders(alg: str, now: int) -> list[tuple[str, Callable[[], object]]]:
    peer_alg = "EdDSA" if alg == "Ed25519" else alg  # PyJWT knows only the legacy name
    key = PrivateKey.generate(alg)
    peer_key = PrivateKey("EdDSA", key.kid, key.key) if peer_alg != alg else key  # type: ignore[arg-type]
    event = Event(at=now, not_before=now)
    token = encode_security_event(event, issuer=ISSUER, audience=AUDIENCE, key=key)
    peer_token = encode_security_event(event, issuer=ISSUER, audience=AUDIENCE, key=peer_key)
    keys = KeySet([key.public])
    head, payload, signature = token.split(".")
    signing_input, raw_signature = f"{head}.{payload}".encode(), b64url_decode(signature)
    jose_key = JWKRegistry.import_key(key.public.to_jwk())
    jose_claims = jose_jwt.JWTClaimsRegistry(
        now=lambda: now,  # type: ignore[arg-type]
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        jti={"essential": True},
    )

    def pyjwt_decode() -> object:
        return pyjwt.decode(
            peer_token,
            peer_key.public.key,
            algorithms=[peer_alg],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["iss", "jti", "iat"], "verify_iat": False},
        )

    def joserfc_decode() -> object:
        decoded = jose_jwt.decode(token, jose_key, algorithms=[alg])
        jose_claims.validate(decoded.claims)
        return decoded

    contenders: list[tuple[str, Callable[[], object]]] = [
        ("key.verify", lambda: key.public.verify(signing_input, raw_signature)),
        (
            "authwise decode",
            lambda: decode_security_event(token, keys=keys, issuer=ISSUER, audience=AUDIENCE),
        ),
        ("PyJWT decode", pyjwt_decode),
        ("joserfc decode", joserfc_decode),
        ("key.sign", lambda: key.sign(signing_input)),
        (
            "authwise encode",
            lambda: encode_security_event(event, issuer=ISSUER, audience=AUDIENCE, key=key),
        ),
    ]
    for _, op in contenders:  # every contender must succeed before it is timed
        op()
    return contenders


def _rate(op: Callable[[], object], seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 4:
        op()
        n += 1
    batch = max(1, n * 4)
    t0 = time.perf_counter()
    for _ in range(batch):
        op()
    return batch / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alg", action="append", choices=["ES256", "Ed25519", "RS256"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2, help="per contender per round")
    parser.add_argument("--cpu", type=int, help="pin the process to this core")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    now = int(time.time())
    print(f"{'alg':8} {'contender':16} {'median ops/s':>13} {'us/op':>8} {'x key op':>8}")
    for alg in args.alg or ["ES256", "Ed25519", "RS256"]:
        contenders = _contenders(alg, now)
        samples: dict[str, list[float]] = {name: [] for name, _ in contenders}
        for _ in range(args.rounds):
            for name, op in contenders:
                samples[name].append(_rate(op, args.seconds))
        for name, _ in contenders:
            median = statistics.median(samples[name])
            floor = statistics.median(
                samples["key.sign" if name.endswith(("sign", "encode")) else "key.verify"]
            )
            print(f"{alg:8} {name:16} {median:>13,.0f} {1e6 / median:>8.1f} {median / floor:>8.3f}")


if __name__ == "__main__":
    main()
