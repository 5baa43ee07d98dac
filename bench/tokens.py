"""Sign and verify throughput: authwise against the raw signature floor, PyJWT and joserfc.

Every contender runs in the same process, alternated round by round so that drift on a shared
machine touches them all alike; the table shows the median ops/s over the rounds and the
ratio to the raw ``cryptography`` signature operation (the floor no library can beat).

    .venv/bin/python bench/tokens.py               # all algorithms, 7 rounds
    .venv/bin/python bench/tokens.py --cpu 1       # pinned to one core
    .venv/bin/python bench/tokens.py --markdown    # the table for BENCHMARKS.md

"verify" means the full check: signature, header rules and claims (exp, iat, iss, aud), the
way each library is used to accept an access token. "authwise cached" repeats one token
through the verified-token cache (expiry is still checked on each call).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt as jose_jwt
from joserfc.jwk import JWKRegistry

from authwise import AccessTokenIssuer, AccessTokenVerifier, ClaimsPolicy, KeySet, PrivateKey
from authwise.core._b64 import b64url_decode

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"
TARGETS = {"ES256": 0.85, "Ed25519": 0.85, "RS256": 0.65}


@dataclass
class Contender:
    name: str
    op: Callable[[], object]
    samples: list[float]


def _contenders(alg: str, now: int) -> tuple[list[Contender], list[Contender]]:
    # The peers know Ed25519 only as the legacy "EdDSA"; the signature work is identical.
    peer_alg = "EdDSA" if alg == "Ed25519" else alg
    key = PrivateKey.generate(alg)
    peer_key = PrivateKey.generate(peer_alg)  # type: ignore[arg-type]
    issuer = AccessTokenIssuer(key, ISSUER)
    peer_issuer = AccessTokenIssuer(peer_key, ISSUER)
    claims = {"sid": "s_8f2b", "roles": ["reader", "writer"], "tenant": "acme"}
    token = issuer.mint(sub="user-42", audience=AUDIENCE, now=now, **claims)  # type: ignore[arg-type]
    peer_token = peer_issuer.mint(sub="user-42", audience=AUDIENCE, now=now, **claims)  # type: ignore[arg-type]
    policy = ClaimsPolicy.create(ISSUER, AUDIENCE)
    cold = AccessTokenVerifier(keys=KeySet([key.public]), claims=policy, cache=None)
    warm = AccessTokenVerifier(keys=KeySet([key.public]), claims=policy)

    header, payload, sig_b64 = token.split(".")
    signing_input = f"{header}.{payload}".encode()
    signature = b64url_decode(sig_b64)
    public, private = key.public.key, key.key
    raw_verify: Callable[[], object]
    raw_sign: Callable[[], object]
    if alg == "ES256":
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        ecdsa = ec.ECDSA(hashes.SHA256())
        raw_verify = lambda: public.verify(der, signing_input, ecdsa)  # type: ignore[call-arg,arg-type]  # noqa: E731
        raw_sign = lambda: private.sign(signing_input, ecdsa)  # type: ignore[call-arg,arg-type]  # noqa: E731
    elif alg == "RS256":
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
        raw_verify = lambda: public.verify(signature, signing_input, pkcs1, sha256)  # type: ignore[call-arg,arg-type]  # noqa: E731
        raw_sign = lambda: private.sign(signing_input, pkcs1, sha256)  # type: ignore[call-arg,arg-type]  # noqa: E731
    else:
        raw_verify = lambda: public.verify(signature, signing_input)  # type: ignore[call-arg]  # noqa: E731
        raw_sign = lambda: private.sign(signing_input)  # type: ignore[call-arg]  # noqa: E731

    peer_public = peer_key.public.key
    jose_key = JWKRegistry.import_key(peer_key.public.to_jwk())
    jose_private = JWKRegistry.import_key(peer_key.to_jwk(include_private=True))
    jose_claims = jose_jwt.JWTClaimsRegistry(
        now=lambda: now,  # type: ignore[arg-type]
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
        sub={"essential": True},
    )

    def pyjwt_verify() -> object:
        return pyjwt.decode(
            peer_token,
            peer_public,
            algorithms=[peer_alg],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )

    def joserfc_verify() -> object:
        decoded = jose_jwt.decode(peer_token, jose_key, algorithms=[peer_alg])
        jose_claims.validate(decoded.claims)
        return decoded

    payload_claims = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": AUDIENCE,
        "exp": now + 300,
        "iat": now,
        "jti": "b8Jq9wB3kXv0oQ2yM1nL4A",
        **claims,
    }
    header_claims = {"alg": peer_alg, "kid": peer_key.kid, "typ": "at+jwt"}

    verify = [
        Contender("raw cryptography", raw_verify, []),
        Contender("authwise", lambda: cold.verify(token, now), []),
        Contender("authwise cached", lambda: warm.verify(token, now), []),
        Contender("PyJWT", pyjwt_verify, []),
        Contender("joserfc", joserfc_verify, []),
    ]
    sign = [
        Contender("raw cryptography", raw_sign, []),
        Contender(
            "authwise", lambda: issuer.mint(sub="user-42", audience=AUDIENCE, now=now, **claims), []
        ),  # type: ignore[arg-type]
        Contender(
            "PyJWT",
            lambda: pyjwt.encode(
                payload_claims, peer_key.key, algorithm=peer_alg, headers=header_claims
            ),
            [],
        ),
        Contender(
            "joserfc",
            lambda: jose_jwt.encode(
                header_claims, payload_claims, jose_private, algorithms=[peer_alg]
            ),
            [],
        ),
    ]
    for c in verify + sign:  # every contender must actually succeed before it is timed
        c.op()
    return verify, sign


def _rate(op: Callable[[], object], seconds: float) -> float:
    # Calibrate a batch that takes about `seconds`, then time it.
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 4:
        op()
        n += 1
    batch = max(1, n * 4)
    t0 = time.perf_counter()
    for _ in range(batch):
        op()
    return batch / (time.perf_counter() - t0)


def run(algs: list[str], rounds: int, seconds: float) -> list[tuple[str, str, list[Contender]]]:
    now = int(time.time())
    results = []
    for alg in algs:
        verify, sign = _contenders(alg, now)
        for _ in range(rounds):
            for c in verify + sign:
                c.samples.append(_rate(c.op, seconds))
        results.append((alg, "verify", verify))
        results.append((alg, "sign", sign))
    return results


def _table(results: list[tuple[str, str, list[Contender]]], markdown: bool) -> str:
    lines = []
    head = ("alg", "op", "contender", "median ops/s", "us/op", "x raw", "authwise vs it")
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
    else:
        lines.append(
            f"{head[0]:8} {head[1]:7} {head[2]:18} {head[3]:>13} {head[4]:>8} {head[5]:>7} {head[6]:>15}"
        )
    for alg, op, contenders in results:
        raw = statistics.median(contenders[0].samples)
        ours = statistics.median(contenders[1].samples)
        for c in contenders:
            med = statistics.median(c.samples)
            row = (
                alg,
                op,
                c.name,
                f"{med:,.0f}",
                f"{1e6 / med:.1f}",
                f"{med / raw:.3f}",
                f"{ours / med:.2f}x" if c.name not in ("authwise", "authwise cached") else "",
            )
            if markdown:
                lines.append("| " + " | ".join(row) + " |")
            else:
                lines.append(
                    f"{row[0]:8} {row[1]:7} {row[2]:18} {row[3]:>13} {row[4]:>8} {row[5]:>7} {row[6]:>15}"
                )
    return "\n".join(lines)


def _verdict(results: list[tuple[str, str, list[Contender]]]) -> list[str]:
    out = []
    for alg, op, contenders in results:
        if op != "verify":
            continue
        raw = statistics.median(contenders[0].samples)
        ours = statistics.median(contenders[1].samples)
        cached = statistics.median(contenders[2].samples)
        target = TARGETS[alg]
        out.append(
            f"{alg}: authwise verify {ours / raw:.3f}x raw (target >= {target}) "
            f"{'MET' if ours / raw >= target else 'MISSED'}; cached {cached:,.0f}/s "
            f"(target >= 100,000) {'MET' if cached >= 100_000 else 'MISSED'}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--alg", action="append", choices=sorted(TARGETS), help="repeatable; default all"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2, help="per contender per round")
    parser.add_argument("--cpu", type=int, help="pin the process to this core")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    results = run(args.alg or ["ES256", "Ed25519", "RS256"], args.rounds, args.seconds)
    print(_table(results, args.markdown))
    print()
    for line in _verdict(results):
        print(line)


if __name__ == "__main__":
    main()
