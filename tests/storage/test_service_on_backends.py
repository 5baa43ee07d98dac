"""The service's races and its at-rest promise, on every backend (S07, S05, S12).

These run the real :class:`AuthService` over each backend's stores, so the compare-and-set
and the delete-and-return operations are exercised the way the server uses them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from authwise.core.accounts import HashParams
from authwise.errors import AuthenticationFailed, InvalidGrant, InvalidSession, RevokedToken
from authwise.service import AuthService, ServiceConfig, TokenResponse
from authwise.storage.base import Stores

from .conftest import Backend

PASSWORD = "correct horse battery staple"
NOW = 1_700_000_000


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(stores: Stores, clock: Clock) -> AsyncIterator[AuthService]:
    svc = AuthService(
        stores,
        config=ServiceConfig(
            issuer="https://auth.example",
            audiences=("https://api.example",),
            hashing=HashParams(memory_cost=19_456, time_cost=2),
        ),
        clock=clock,
        refresh_secret=b"r" * 32,
        key_encryption_key=b"k" * 32,
    )
    await svc.start()
    await svc.register("alice", PASSWORD)
    yield svc
    await svc.close()


async def test_s07_twenty_parallel_refreshes_one_live_chain(
    service: AuthService, stores: Stores
) -> None:
    tokens = await service.password_grant("alice", PASSWORD)
    results = await asyncio.gather(
        *(service.refresh(tokens.refresh_token) for _ in range(20)), return_exceptions=True
    )
    granted = [r for r in results if isinstance(r, TokenResponse)]
    assert len(granted) == 20, [r for r in results if not isinstance(r, TokenResponse)]
    assert len({r.refresh_token for r in granted}) == 1
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert (family.generation, family.revoked_at) == (1, None)
    # The one chain goes on; the original is now the grace-covered predecessor.
    following = await service.refresh(granted[0].refresh_token)
    assert following.sid == tokens.sid


async def test_s07_parallel_refreshes_of_two_generations_revoke(
    service: AuthService, stores: Stores, clock: Clock
) -> None:
    tokens = await service.password_grant("alice", PASSWORD)
    first = await service.refresh(tokens.refresh_token)
    clock.now += 30  # outside the grace window: the original is now a stolen copy
    results = await asyncio.gather(
        service.refresh(first.refresh_token),
        service.refresh(tokens.refresh_token),
        return_exceptions=True,
    )
    assert any(isinstance(r, InvalidGrant) for r in results)
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert family.revoked_at is not None
    for r in results:
        if isinstance(r, TokenResponse):  # won the race, but its chain is revoked now
            with pytest.raises(InvalidGrant):
                await service.refresh(r.refresh_token)


async def test_parallel_logins_each_get_their_own_session(
    service: AuthService, stores: Stores
) -> None:
    results = await asyncio.gather(*(service.login("alice", PASSWORD) for _ in range(6)))
    assert len({r.session_id for r in results}) == 6
    assert len({r.session.handle for r in results}) == 6
    user = results[0].user
    assert len(await stores.sessions.list_for_user(user.id)) == 6
    for r in results:
        assert (await service.validate_session(r.session_id)).user.id == user.id


async def test_parallel_revocations_and_validations(service: AuthService) -> None:
    logins = [await service.login("alice", PASSWORD) for _ in range(4)]
    user_id = logins[0].user.id
    outcomes = await asyncio.gather(
        service.revoke_sessions(user_id),
        *(service.logout(r.session_id) for r in logins),
        return_exceptions=True,
    )
    assert not any(isinstance(o, BaseException) for o in outcomes)
    for r in logins:
        with pytest.raises(InvalidSession):
            await service.validate_session(r.session_id)


async def test_s05_disable_ends_everything_on_every_backend(
    service: AuthService, clock: Clock
) -> None:
    session = await service.login("alice", PASSWORD)
    tokens = await service.password_grant("alice", PASSWORD)
    await service.disable_user(session.user.id)
    with pytest.raises(InvalidSession):
        await service.validate_session(session.session_id)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)
    with pytest.raises(AuthenticationFailed):
        await service.login("alice", PASSWORD)


async def test_s12_no_session_id_or_refresh_token_is_stored(
    backend: Backend, service: AuthService, clock: Clock
) -> None:
    handed_out: list[str] = []
    for _ in range(3):
        result = await service.login("alice", PASSWORD, user_agent="Firefox")
        handed_out.append(result.session_id)
    await service.set_roles(result.user.id, ["admin"])
    clock.now += 1
    rotated = await service.validate_session(handed_out[-1])  # rotated on privilege change
    assert rotated.new_session_id is not None
    handed_out.append(rotated.new_session_id)
    await service.logout(handed_out[0])
    tokens = await service.password_grant("alice", PASSWORD)
    handed_out.append(tokens.refresh_token)
    current = tokens
    for _ in range(3):
        clock.now += 30
        current = await service.refresh(current.refresh_token)
        handed_out.append(current.refresh_token)
    await service.refresh(handed_out[-2])  # grace: the same successor again
    other = await service.password_grant("alice", PASSWORD)
    handed_out.append(other.refresh_token)
    await service.revoke_token(other.refresh_token)
    _, client_secret = await service.create_client("billing")
    handed_out.append(client_secret)

    contents = await backend.dump()
    assert len(contents) > 1000  # the dump really holds the workload's state
    for secret in handed_out:
        body = secret.split("_", 2)[2]  # the 256-bit part, without its prefix
        assert secret.encode() not in contents
        assert body.encode() not in contents
    assert PASSWORD.encode() not in contents
    assert b"$argon2id$" in contents  # passwords are there, as argon2id hashes only
    assert b"BEGIN PRIVATE KEY" not in contents  # signing keys only encrypted
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in contents
