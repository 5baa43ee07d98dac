"""S02 for every secret authwise hands out, not only session IDs: first refresh tokens, their
HMAC-derived successors, and client secrets are 256 bits, distinct and without structure."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import pytest

from authwise.core._b64 import b64url_decode
from authwise.core.accounts import CLIENT_SECRET_PREFIX, new_client_secret
from authwise.core.refresh import REFRESH_PREFIX, derive_successor, new_refresh_token

N = 10_000
SECRET = b"s" * 32


def _successors() -> list[str]:
    # One chain: each token derives the next, as rotation does.
    token, _ = new_refresh_token()
    chain = []
    for generation in range(1, N + 1):
        token = derive_successor(SECRET, "family", generation, token)
        chain.append(token)
    return chain


SOURCES: dict[str, tuple[str, Callable[[], list[str]]]] = {
    "first refresh tokens": (REFRESH_PREFIX, lambda: [new_refresh_token()[0] for _ in range(N)]),
    "successor refresh tokens": (REFRESH_PREFIX, _successors),
    "client secrets": (CLIENT_SECRET_PREFIX, lambda: [new_client_secret()[0] for _ in range(N)]),
}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_s02_secrets_are_distinct_256_bit_and_unstructured(kind: str) -> None:
    prefix, make = SOURCES[kind]
    values = make()
    assert len(set(values)) == N
    assert all(v.startswith(prefix) for v in values)
    raw = [b64url_decode(v.removeprefix(prefix)) for v in values]
    assert {len(r) for r in raw} == {32}
    for bit in range(256):  # each bit set in about half the samples (6 sigma is 300)
        ones = sum((r[bit // 8] >> (bit % 8)) & 1 for r in raw)
        assert abs(ones - N // 2) < 300, bit
    counts = Counter(b for r in raw for b in r)
    expected = N * 32 / 256
    chi2 = sum((counts.get(v, 0) - expected) ** 2 / expected for v in range(256))
    assert chi2 < 255 + 6 * math.sqrt(2 * 255)
    assert max(Counter(r[:4] for r in raw).values()) == 1
