"""Fixtures shared by the whole suite.

PostgreSQL and Redis are real servers: URLs come from the environment and default to the local
ones. A missing server fails the tests that need it (never a skip), so CI cannot pass by
accident without them.
"""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get(
    "AUTHWISE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AUTHWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the PostgreSQL server the tests may use (database ``test``)."""
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the Redis server the tests may use."""
    return REDIS_URL
