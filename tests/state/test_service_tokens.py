"""AuthService tokens: password grant, rotation, reuse, grace, revocation, introspection
(S05, S06, S07, S08)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from authwise.core.refresh import REFRESH_PREFIX
from authwise.core.sessions import secret_digest
from authwise.errors import (
    AuthenticationFailed,
    ExpiredToken,
    InvalidGrant,
    InvalidTarget,
    RevokedToken,
)
from authwise.service import AuthService, TokenResponse
from authwise.storage.base import AuditKind, RefreshFamily, RefreshStore, Stores, UserRecord

from .conftest import AUDIENCE, ISSUER, PASSWORD, Clock, make_service


@pytest.fixture
async def alice(service: AuthService) -> UserRecord:
    return await service.register("alice", PASSWORD, roles=["staff"], tenant="acme")


@pytest.fixture
async def tokens(service: AuthService, alice: UserRecord) -> TokenResponse:
    return await service.password_grant("alice", PASSWORD, client_addr="192.0.2.1")


async def test_password_grant_mints_a_bound_access_token(
    service: AuthService, stores: Stores, alice: UserRecord, tokens: TokenResponse
) -> None:
    assert tokens.refresh_token.startswith(REFRESH_PREFIX)
    assert tokens.access_token not in repr(tokens)
    assert tokens.refresh_token not in repr(tokens)
    body = tokens.to_dict()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    access = service.verify_access_token(tokens.access_token)
    assert (access.sub, access.iss, access.sid) == (alice.id, ISSUER, tokens.sid)
    assert access.claims["aud"] == AUDIENCE
    assert (access.roles, access.tenant) == (("staff",), "acme")
    assert access.iat == service.now()
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert family.user_id == alice.id
    assert family.client_addr == "192.0.2.1"
    assert await stores.refresh.find(secret_digest(tokens.refresh_token)) == (family, 0)


async def test_audiences_are_limited_to_the_configured_ones(
    service: AuthService, alice: UserRecord
) -> None:
    other = await service.password_grant("alice", PASSWORD, audience="https://other.example")
    assert service.verify_access_token(other.access_token).claims["aud"] == "https://other.example"
    with pytest.raises(InvalidTarget):
        await service.password_grant("alice", PASSWORD, audience="https://evil.example")
    with pytest.raises(InvalidTarget):
        await service.refresh(other.refresh_token, audience="https://evil.example")


async def test_an_unknown_audience_is_refused_before_the_password_is_checked(
    service: AuthService, alice: UserRecord
) -> None:
    before = await service.audit_events()
    for password in (PASSWORD, "wrong password"):
        with pytest.raises(InvalidTarget):
            await service.password_grant("alice", password, audience="https://evil.example")
    # No login was attempted: nothing audited, so no answer says whether the password was right.
    assert await service.audit_events() == before


async def test_wrong_password_grants_nothing(
    service: AuthService, stores: Stores, alice: UserRecord
) -> None:
    with pytest.raises(AuthenticationFailed):
        await service.password_grant("alice", "wrong password!")
    assert await stores.refresh.list_for_user(alice.id) == []


async def test_refresh_rotates_every_time(
    service: AuthService, clock: Clock, tokens: TokenResponse
) -> None:
    seen = {tokens.refresh_token}
    current = tokens
    for _ in range(5):
        clock.advance(60)
        current = await service.refresh(current.refresh_token)
        assert current.refresh_token not in seen
        seen.add(current.refresh_token)
        assert current.sid == tokens.sid
        assert service.verify_access_token(current.access_token).sid == tokens.sid
    kinds = [e.kind for e in await service.audit_events()]
    assert kinds.count(AuditKind.REFRESH_ROTATED) == 5


async def test_refresh_reads_roles_live(
    service: AuthService, clock: Clock, alice: UserRecord, tokens: TokenResponse
) -> None:
    await service.set_roles(alice.id, ["admin"])
    clock.advance(1)
    fresh = await service.refresh(tokens.refresh_token)
    assert service.verify_access_token(fresh.access_token).roles == ("admin",)
    # The token minted before the change no longer verifies (per-user not-before).
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)


async def test_s08_grace_returns_the_same_successor(
    service: AuthService, clock: Clock, tokens: TokenResponse
) -> None:
    first = await service.refresh(tokens.refresh_token)
    clock.advance(9)
    second = await service.refresh(tokens.refresh_token)
    assert second.refresh_token == first.refresh_token
    assert second.access_token != first.access_token
    clock.advance(1)
    third = await service.refresh(first.refresh_token)  # the chain goes on
    assert third.refresh_token not in (first.refresh_token, tokens.refresh_token)


class HeldBackRefresh:
    """A refresh store whose database is held back: each rotation waits ``delay`` seconds
    (on the test's clock) for the store before it is written."""

    def __init__(self, inner: RefreshStore, clock: Clock, delay: int) -> None:
        self._inner = inner
        self._clock = clock
        self._delay = delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def rotate(self, *args: Any) -> RefreshFamily | None:
        self._clock.advance(self._delay)
        return await self._inner.rotate(*args)


async def test_s08_grace_counts_from_the_rotation_not_the_request(
    stores: Stores, clock: Clock
) -> None:
    """The rotation waits 15 s for the database, longer than the 10 s grace window; the
    client, tired of waiting, retries with the same token the moment it is written. That is
    the same client, not a thief: it gets the same successor and the family lives on."""
    held = HeldBackRefresh(stores.refresh, clock, delay=15)
    service = make_service(replace(stores, refresh=held), clock)  # type: ignore[arg-type]
    await service.start()
    await service.register("alice", PASSWORD)
    tokens = await service.password_grant("alice", PASSWORD)
    first = await service.refresh(tokens.refresh_token)
    retry = await service.refresh(tokens.refresh_token)
    assert retry.refresh_token == first.refresh_token
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert family.revoked_at is None
    assert family.rotated_at == clock.now  # when it was written, not when it was asked for
    assert service.verify_access_token(first.access_token).claims["iat"] == clock.now
    await service.close()


async def test_s08_reuse_after_grace_revokes_the_family_and_its_access_tokens(
    service: AuthService, stores: Stores, clock: Clock, tokens: TokenResponse
) -> None:
    first = await service.refresh(tokens.refresh_token)
    clock.advance(10)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert family.revoked_at == clock.now
    with pytest.raises(InvalidGrant):
        await service.refresh(first.refresh_token)  # the thief's copy is dead too
    for access in (tokens.access_token, first.access_token):
        with pytest.raises(RevokedToken) as info:
            service.verify_access_token(access)
        assert info.value.claim == "sid"
    kinds = [e.kind for e in await service.audit_events()]
    assert AuditKind.REFRESH_REUSE in kinds


async def test_s08_reuse_of_an_older_generation_inside_grace_still_revokes(
    service: AuthService, stores: Stores, clock: Clock, tokens: TokenResponse
) -> None:
    first = await service.refresh(tokens.refresh_token)
    clock.advance(20)
    second = await service.refresh(first.refresh_token)
    clock.advance(1)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)  # two generations back
    with pytest.raises(InvalidGrant):
        await service.refresh(second.refresh_token)


async def test_unknown_refresh_tokens_have_no_side_effect(
    service: AuthService, stores: Stores, tokens: TokenResponse
) -> None:
    before = await service.audit_events()
    bogus = REFRESH_PREFIX + "A" * 43
    for value in (bogus, "", "aw_rt_short", tokens.refresh_token + "x", tokens.access_token):
        with pytest.raises(InvalidGrant):
            await service.refresh(value)
    assert await service.audit_events() == before
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert family.revoked_at is None
    await service.refresh(tokens.refresh_token)


async def test_s07_twenty_parallel_refreshes_give_one_chain(
    service: AuthService, stores: Stores, tokens: TokenResponse
) -> None:
    results = await asyncio.gather(
        *(service.refresh(tokens.refresh_token) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(r, TokenResponse) for r in results)
    successors = {r.refresh_token for r in results}  # type: ignore[union-attr]
    assert len(successors) == 1
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert family.generation == 1
    assert family.revoked_at is None
    (successor,) = successors
    assert (await service.refresh(successor)).sid == tokens.sid


async def test_s06_family_idle_expiry(
    service: AuthService, clock: Clock, tokens: TokenResponse
) -> None:
    clock.advance(3 * 86_400)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)


async def test_s06_family_absolute_lifetime_under_sliding_use(
    service: AuthService, clock: Clock, tokens: TokenResponse
) -> None:
    current = tokens
    for _ in range(13):
        clock.advance(86_400)
        current = await service.refresh(current.refresh_token)
    clock.advance(86_400)
    with pytest.raises(InvalidGrant):
        await service.refresh(current.refresh_token)


async def test_access_tokens_expire(
    service: AuthService, clock: Clock, tokens: TokenResponse
) -> None:
    clock.advance(299)
    service.verify_access_token(tokens.access_token)
    clock.advance(1)
    with pytest.raises(ExpiredToken):
        service.verify_access_token(tokens.access_token)


async def test_revoke_refresh_token_ends_the_family(
    service: AuthService, stores: Stores, tokens: TokenResponse
) -> None:
    await service.revoke_token(tokens.refresh_token)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)
    live = await stores.revocations.live(service.now())
    assert [(r.kind.value, r.key) for r in live] == [("sid", tokens.sid)]
    assert live[0].expires_at == service.now() + 900


async def test_revoke_access_token_by_jti_only(
    service: AuthService, stores: Stores, tokens: TokenResponse
) -> None:
    jti = service.verify_access_token(tokens.access_token).jti
    await service.revoke_token(tokens.access_token)
    with pytest.raises(RevokedToken) as info:
        service.verify_access_token(tokens.access_token)
    assert info.value.claim == "jti"
    live = await stores.revocations.live(service.now())
    assert [(r.kind.value, r.key, r.issuer) for r in live] == [("jti", jti, ISSUER)]
    assert live[0].expires_at == service.now() + 300  # the token's own exp, no longer
    fresh = await service.refresh(tokens.refresh_token)  # the family lives on
    service.verify_access_token(fresh.access_token)


async def test_revoking_junk_is_silent(service: AuthService, stores: Stores) -> None:
    for junk in ("", "garbage", REFRESH_PREFIX + "A" * 43, "a.b.c"):
        await service.revoke_token(junk)
    assert await stores.revocations.live(service.now()) == []


async def test_introspection(
    service: AuthService, clock: Clock, alice: UserRecord, tokens: TokenResponse
) -> None:
    access = await service.introspect(tokens.access_token)
    assert access["active"] is True
    assert access["token_type"] == "access_token"
    assert (access["sub"], access["sid"], access["iss"]) == (alice.id, tokens.sid, ISSUER)
    refresh = await service.introspect(tokens.refresh_token)
    assert refresh == {
        "active": True,
        "token_type": "refresh_token",
        "iss": ISSUER,
        "sub": alice.id,
        "sid": tokens.sid,
        "iat": clock.now,
        "exp": clock.now + 3 * 86_400,
    }
    await service.refresh(tokens.refresh_token)
    assert await service.introspect(tokens.refresh_token) == {"active": False}  # rotated
    for junk in ("", "x.y.z", REFRESH_PREFIX + "B" * 43):
        assert await service.introspect(junk) == {"active": False}
    await service.disable_user(alice.id)
    assert await service.introspect(tokens.access_token) == {"active": False}


async def test_s05_disabling_the_user_ends_every_family(
    service: AuthService, clock: Clock, alice: UserRecord, tokens: TokenResponse
) -> None:
    other = await service.password_grant("alice", PASSWORD)
    ended = await service.disable_user(alice.id)
    assert {f.family_id for f in ended.families} == {tokens.sid, other.sid}
    clock.advance(5)
    for t in (tokens, other):
        with pytest.raises(InvalidGrant):
            await service.refresh(t.refresh_token)
        with pytest.raises(RevokedToken):
            service.verify_access_token(t.access_token)
    with pytest.raises(AuthenticationFailed):
        await service.issue_tokens(await service.get_user(alice.id))  # type: ignore[arg-type]


async def test_refresh_for_a_user_disabled_behind_the_services_back(
    service: AuthService, stores: Stores, alice: UserRecord, tokens: TokenResponse
) -> None:
    await stores.users.update(alice.id, now=service.now(), disabled=True)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert family.revoked_at is not None


async def test_log_out_everywhere_reaches_tokens(
    service: AuthService, clock: Clock, alice: UserRecord, tokens: TokenResponse
) -> None:
    await service.revoke_everything(alice.id)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)
    clock.advance(1)
    fresh = await service.password_grant("alice", PASSWORD)  # logging in again works
    service.verify_access_token(fresh.access_token)


async def test_token_clients_are_listed_and_can_be_ended_by_their_owner(
    service: AuthService, clock: Clock, alice: UserRecord, tokens: TokenResponse
) -> None:
    clock.advance(5)
    other = await service.password_grant("alice", PASSWORD, user_agent="cli/1.0")
    listed = await service.list_families(alice.id)
    assert [(f.family_id, f.user_agent) for f in listed] == [
        (tokens.sid, None),
        (other.sid, "cli/1.0"),
    ]
    bob = await service.register("bob", PASSWORD)
    assert not await service.revoke_family(bob.id, tokens.sid)
    assert not await service.revoke_family(alice.id, "no such family")
    assert await service.revoke_family(alice.id, tokens.sid)
    assert not await service.revoke_family(alice.id, tokens.sid)
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)
    assert [f.family_id for f in await service.list_families(alice.id)] == [other.sid]
    clock.advance(3 * 86_400)
    assert await service.list_families(alice.id) == []
