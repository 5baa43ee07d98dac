"""Fixtures for the service tests: an injected clock and a started AuthService on memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from authwise.core.accounts import HashParams
from authwise.service import AuthService, PasswordHasher, ServiceConfig
from authwise.storage.base import Stores
from authwise.storage.memory import memory_stores

ISSUER = "https://auth.example"
AUDIENCE = "https://api.example"
PASSWORD = "correct horse battery staple"
T0 = 1_700_000_000


class Clock:
    """A clock the test moves by hand (whole seconds, as the service expects)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> int:
        self.now += seconds
        return self.now


def make_config(**kw: object) -> ServiceConfig:
    fields: dict[str, object] = {
        "issuer": ISSUER,
        "audiences": (AUDIENCE, "https://other.example"),
        "hashing": HashParams(memory_cost=19_456, time_cost=2, parallelism=1),
    }
    fields.update(kw)
    return ServiceConfig(**fields)  # type: ignore[arg-type]


def make_service(
    stores: Stores, clock: Clock, *, hasher: PasswordHasher | None = None, **config: object
) -> AuthService:
    return AuthService(
        stores,
        config=make_config(**config),
        clock=clock,
        refresh_secret=b"r" * 32,
        key_encryption_key=b"k" * 32,
        hasher=hasher,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stores() -> Stores:
    return memory_stores()


@pytest.fixture
async def service(stores: Stores, clock: Clock) -> AsyncIterator[AuthService]:
    svc = make_service(stores, clock)
    await svc.start()
    yield svc
    await svc.close()
