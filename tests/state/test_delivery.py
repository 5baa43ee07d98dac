"""RFC 8936 poll delivery: unacknowledged SETs in log order, acknowledgements by jti (in any
order), a bound per answer, a long poll that wakes on the next change, and receivers that
start again at the oldest entry kept."""

from __future__ import annotations

import asyncio

import pytest

from authwise import KeySet
from authwise.core.secevent import decode_security_event
from authwise.service import AuthService
from authwise.storage.base import Event, EventKind, Stores, UserRecord

from .conftest import ISSUER, PASSWORD, Clock, make_service

CLIENT = "receiver-1"


@pytest.fixture
async def alice(service: AuthService) -> UserRecord:
    return await service.register("alice", PASSWORD)


async def changes(service: AuthService, user: UserRecord, count: int) -> None:
    for _ in range(count):
        await service.revoke_everything(user.id)


def kinds(service: AuthService, sets: dict[str, str]) -> list[tuple[str, str | None]]:
    keys = KeySet([service.key_ring.active.public])
    decoded = [
        decode_security_event(token, keys=keys, issuer=ISSUER, audience=CLIENT)
        for token in sets.values()
    ]
    assert [e.id for e in decoded] == list(sets)  # each keyed by its own jti
    return [(e.kind, e.user_id) for e in decoded]


async def test_delivers_in_order_and_never_again_once_acknowledged(
    service: AuthService, alice: UserRecord
) -> None:
    await changes(service, alice, 3)
    first = await service.delivery.poll(CLIENT, return_immediately=True)
    assert kinds(service, first.sets) == [("sessions_revoked", alice.id)] * 3
    assert not first.more_available
    # Nothing acknowledged: the same SETs again.
    again = await service.delivery.poll(CLIENT, return_immediately=True)
    assert list(again.sets) == list(first.sets)
    done = await service.delivery.poll(CLIENT, ack=list(first.sets), return_immediately=True)
    assert done.sets == {}


async def test_out_of_order_acks_and_errors_are_settled_too(
    service: AuthService, alice: UserRecord
) -> None:
    await changes(service, alice, 4)
    jtis = list((await service.delivery.poll(CLIENT, return_immediately=True)).sets)
    left = await service.delivery.poll(
        CLIENT, ack=[jtis[1], jtis[3]], errors=[jtis[2]], return_immediately=True
    )
    assert list(left.sets) == [jtis[0]]
    # Another process answers the next poll: the cursor is in the store.
    other = await service.delivery.poll(CLIENT, return_immediately=True)
    assert list(other.sets) == [jtis[0]]
    assert (await service.delivery.poll(CLIENT, ack=[jtis[0]], return_immediately=True)).sets == {}


async def test_max_events_bounds_an_answer(service: AuthService, alice: UserRecord) -> None:
    await changes(service, alice, 5)
    page = await service.delivery.poll(CLIENT, max_events=2, return_immediately=True)
    assert len(page.sets) == 2
    assert page.more_available
    counted = await service.delivery.poll(CLIENT, max_events=0)  # acknowledge-only: no wait
    assert counted.sets == {}
    assert counted.more_available


async def test_internal_entries_are_never_delivered(
    service: AuthService, stores: Stores, clock: Clock
) -> None:
    await stores.log.append([Event(kind=EventKind.KEYS_CHANGED, at=clock.now)])
    assert (await service.delivery.poll(CLIENT, return_immediately=True)).sets == {}


async def test_a_long_poll_wakes_on_the_next_change(
    service: AuthService, alice: UserRecord
) -> None:
    waiting = asyncio.create_task(service.delivery.poll(CLIENT, wait=20))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await service.revoke_everything(alice.id)
    result = await asyncio.wait_for(waiting, 10)
    assert kinds(service, result.sets) == [("sessions_revoked", alice.id)]


async def test_a_long_poll_with_nothing_to_say_ends_empty(service: AuthService) -> None:
    assert (await service.delivery.poll(CLIENT, wait=0.05)).sets == {}


async def test_a_receiver_away_past_the_retention_starts_at_the_oldest_entry(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    await changes(service, alice, 2)
    old = list((await service.delivery.poll(CLIENT, return_immediately=True)).sets)
    clock.advance(service.config.event_retention + 1)
    await service.prune()
    await changes(service, alice, 1)
    fresh = await service.delivery.poll(CLIENT, return_immediately=True)
    assert len(fresh.sets) == 1
    assert not set(fresh.sets) & set(old)
    # A second service over the same stores (another process) sees the same cursor.
    other = make_service(stores, clock)
    await other.start()
    assert list((await other.delivery.poll(CLIENT, return_immediately=True)).sets) == list(
        fresh.sets
    )
    await other.close()
