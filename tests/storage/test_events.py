"""EventBus contract."""

from __future__ import annotations

import pytest

from authwise.storage.base import (
    BusEvent,
    BusEventKind,
    EventBus,
    RevocationKind,
    RevocationRecord,
)

from .conftest import eventually

REVOKED = BusEvent(
    kind=BusEventKind.REVOKED,
    key="fam",
    revocation=RevocationRecord(kind=RevocationKind.SID, key="fam", expires_at=99),
)


async def test_every_subscriber_gets_every_event_in_order(events: EventBus) -> None:
    first: list[BusEvent] = []
    second: list[BusEvent] = []
    await events.subscribe(first.append)
    await events.subscribe(second.append)
    ended = BusEvent(kind=BusEventKind.SESSION_ENDED, key="ab" * 32)
    await events.publish(REVOKED)
    await events.publish(ended)
    await eventually(lambda: len(first) == 2 and len(second) == 2)
    assert first == [REVOKED, ended]
    assert second == [REVOKED, ended]


async def test_closed_subscription_gets_nothing_more(events: EventBus) -> None:
    got: list[BusEvent] = []
    witness: list[BusEvent] = []
    subscription = await events.subscribe(got.append)
    await events.subscribe(witness.append)
    await events.publish(REVOKED)
    await eventually(lambda: len(got) == 1)
    await subscription.close()
    await subscription.close()  # closing twice is harmless
    user_changed = BusEvent(kind=BusEventKind.USER_CHANGED, key="u1")
    await events.publish(user_changed)
    await eventually(lambda: len(witness) == 2)
    assert got == [REVOKED]


async def test_a_failing_subscriber_does_not_starve_the_others(events: EventBus) -> None:
    def broken(event: BusEvent) -> None:
        raise RuntimeError("subscriber bug")

    got: list[BusEvent] = []
    await events.subscribe(broken)
    await events.subscribe(got.append)
    await events.publish(REVOKED)
    await eventually(lambda: got == [REVOKED])


@pytest.mark.parametrize(
    "event",
    [
        REVOKED,
        BusEvent(kind=BusEventKind.SESSION_ENDED, key="00ff"),
        BusEvent(kind=BusEventKind.KEYS_CHANGED),
    ],
)
def test_wire_form_round_trips(event: BusEvent) -> None:
    assert BusEvent.from_json(event.to_json()) == event
