"""The storage contract suite runs every test once per backend.

Adding a backend is adding one entry to ``BACKENDS``: an async context manager factory that
yields a :class:`Backend` (the stores, fresh and empty, and a ``dump`` of every byte the
backend holds, which the at-rest test scans for secrets). Mixed deployments are covered by
the per-protocol fixtures: each test only touches the store it is about.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import pytest

from authwise.storage.base import (
    AuditStore,
    ClientStore,
    EventLog,
    KeyStore,
    RefreshStore,
    RevocationStore,
    SessionStore,
    Stores,
    UserStore,
)
from authwise.storage.memory import memory_stores

from .backends import _drop_test_databases, make_backends  # noqa: F401 - a fixture


@dataclass
class Backend:
    name: str
    stores: Stores
    dump: Callable[[], Awaitable[bytes]]
    """Every byte the backend holds (rows, keys, values), for the at-rest scan (S12)."""


def _every_field(value: Any) -> Any:
    """``value`` with each record spelled out field by field: a record's ``repr`` leaves out
    its secrets (password hash, private key), and the at-rest scan must see them all."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _every_field(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _every_field(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | deque):
        return [_every_field(v) for v in value]
    return value


@asynccontextmanager
async def memory_backend() -> AsyncIterator[Backend]:
    stores = memory_stores()

    async def dump() -> bytes:
        parts = (_every_field(vars(getattr(stores, f.name))) for f in fields(stores))
        return "\n".join(repr(part) for part in parts).encode()

    yield Backend("memory", stores, dump)
    await stores.aclose()


BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[Backend]]] = {
    "memory": memory_backend,
}
# SQLite, PostgreSQL and Redis: isolated per test, against the real servers (backends.py).
BACKENDS.update(make_backends(Backend))


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    async with BACKENDS[request.param]() as b:
        yield b


@pytest.fixture
def stores(backend: Backend) -> Stores:
    return backend.stores


@pytest.fixture
def users(stores: Stores) -> UserStore:
    return stores.users


@pytest.fixture
def sessions(stores: Stores) -> SessionStore:
    return stores.sessions


@pytest.fixture
def refresh(stores: Stores) -> RefreshStore:
    return stores.refresh


@pytest.fixture
def revocations(stores: Stores) -> RevocationStore:
    return stores.revocations


@pytest.fixture
def audit(stores: Stores) -> AuditStore:
    return stores.audit


@pytest.fixture
def keys(stores: Stores) -> KeyStore:
    return stores.keys


@pytest.fixture
def clients(stores: Stores) -> ClientStore:
    return stores.clients


@pytest.fixture
def log(stores: Stores) -> EventLog:
    return stores.log


async def eventually(predicate: Callable[[], bool], *, limit: float = 5.0) -> None:
    """Wait until ``predicate()`` holds (buses that cross processes deliver asynchronously).
    Fails after ``limit`` seconds; never asserts on how long it took."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        assert loop.time() < deadline, "condition never became true"
        await asyncio.sleep(0.005)
