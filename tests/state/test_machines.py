"""Hypothesis state machines: sessions and refresh families against a model of the spec.

Each machine drives a real AuthService on the memory backend with an injected clock, and
checks every answer against a small model written from the rules (DESIGN.md, issue 3),
not from the implementation: timeouts, throttled renewal, rotation on privilege change,
rotation on every refresh, the grace window, reuse detection, revocation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from authwise.errors import InvalidGrant, InvalidSession, TokenError
from authwise.service import PasswordHasher
from authwise.storage.base import Stores, UserRecord
from authwise.storage.memory import memory_stores

from .conftest import T0, Clock, make_service

T = TypeVar("T")
IDLE, ABSOLUTE, TOUCH = 1800, 8 * 3600, 60
REFRESH_IDLE, REFRESH_LIFETIME, GRACE = 3 * 86_400, 14 * 86_400, 10
MACHINE_SETTINGS = settings(
    max_examples=200,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class _NoPasswords(PasswordHasher):
    """These machines never log in by password: skip making the dummy hash."""

    async def prepare(self) -> None:
        return None


class ServiceMachine(RuleBasedStateMachine):
    """Shared set-up: a private event loop, clock, stores and a started service."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock(T0)
        self.stores: Stores = memory_stores()
        self.service = make_service(self.stores, self.clock, hasher=_NoPasswords())
        self.run(self.service.start())
        self.user = UserRecord(
            id="u1", username="alice", password_hash="unused", created_at=T0, updated_at=T0
        )
        self.run(self.stores.users.create(self.user))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.service.close())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    @property
    def now(self) -> int:
        return self.clock.now


@dataclass
class ModelSession:
    session_id: str
    handle: str
    created: int
    last_write: int
    rotated_at: int
    ended: bool = False

    def timed_out(self, now: int) -> bool:
        return now >= self.created + ABSOLUTE or now >= self.last_write + IDLE


class SessionMachine(ServiceMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[ModelSession] = []
        self.not_before = 0
        self.handed_out: set[str] = set()

    def live(self) -> list[ModelSession]:
        return [s for s in self.sessions if not s.ended and not s.timed_out(self.now)]

    @initialize()
    def first_login(self) -> None:
        self.login()

    @rule()
    def login(self) -> None:
        result = self.run(self.service.create_session(self.user))
        assert result.session_id not in self.handed_out  # never a repeated ID
        self.handed_out.add(result.session_id)
        now = self.now
        self.sessions.append(ModelSession(result.session_id, result.session.handle, now, now, now))

    @rule(seconds=st.sampled_from([0, 1, 30, 59, 60, 61, 600, 1799, 1800, 3600, 8 * 3600]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: self.sessions)
    @rule(
        pick=st.integers(min_value=0),
        edge=st.sampled_from(["now", "touch", "idle", "absolute"]),
        offset=st.sampled_from([-1, 0, 1]),
    )
    def request(self, pick: int, edge: str, offset: int) -> None:
        """A request with a session, now or just before, at or after one of its deadlines."""
        s = self.sessions[pick % len(self.sessions)]
        target = {
            "now": self.now,
            "touch": s.last_write + TOUCH + offset,
            "idle": s.last_write + IDLE + offset,
            "absolute": s.created + ABSOLUTE + offset,
        }[edge]
        self.clock.now = max(self.now, target)
        if s.ended or s.timed_out(self.now):
            with pytest.raises(InvalidSession):
                self.run(self.service.validate_session(s.session_id))
            s.ended = True
            return
        view = self.run(self.service.validate_session(s.session_id))
        assert view.session.handle == s.handle
        if s.rotated_at < self.not_before:  # privileges changed since the ID was issued
            assert view.new_session_id is not None
            assert view.new_session_id not in self.handed_out
            self.handed_out.add(view.new_session_id)
            s.session_id, s.rotated_at = view.new_session_id, max(self.now, self.not_before)
            s.last_write = s.rotated_at
        else:
            assert view.new_session_id is None
            if self.now - s.last_write >= TOUCH:
                s.last_write = self.now

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(min_value=0))
    def logout(self, pick: int) -> None:
        s = self.sessions[pick % len(self.sessions)]
        self.run(self.service.logout(s.session_id))
        s.ended = True

    @rule(roles=st.sampled_from([(), ("admin",), ("staff",)]))
    def change_roles(self, roles: tuple[str, ...]) -> None:
        self.run(self.service.set_roles(self.user.id, roles))
        self.not_before = self.now + 1

    @precondition(lambda self: self.sessions)
    @rule(pick=st.integers(min_value=0))
    def log_out_other_devices(self, pick: int) -> None:
        keep = self.sessions[pick % len(self.sessions)]
        self.run(self.service.revoke_sessions(self.user.id, keep_handle=keep.handle))
        self.not_before = self.now + 1
        for s in self.sessions:
            s.ended = s.ended or s is not keep

    @invariant()
    def device_list_matches_the_model(self) -> None:
        listed = self.run(self.service.list_sessions(self.user.id))
        assert {s.handle for s in listed} == {s.handle for s in self.live()}

    @invariant()
    def no_session_id_is_stored(self) -> None:
        contents = repr(vars(self.stores.sessions))
        assert not any(i in contents for i in self.handed_out)


@dataclass
class ModelFamily:
    sid: str
    generation: int
    rotated_at: int
    expires_at: int
    revoked: bool = False
    last_access: str = ""


class RefreshMachine(ServiceMachine):
    def __init__(self) -> None:
        super().__init__()
        self.families: list[ModelFamily] = []
        self.tokens: list[tuple[ModelFamily, int, str]] = []
        self.by_generation: dict[tuple[str, int], str] = {}

    @initialize()
    def first_log_in(self) -> None:
        self.log_in()

    @rule()
    def log_in(self) -> None:
        r = self.run(self.service.issue_tokens(self.user))
        family = ModelFamily(r.sid, 0, self.now, self.now + REFRESH_LIFETIME)
        family.last_access = r.access_token
        self.families.append(family)
        self.tokens.append((family, 0, r.refresh_token))
        self.by_generation[(family.sid, 0)] = r.refresh_token

    @rule(seconds=st.sampled_from([0, 1, 5, 9, 10, 11, 60, REFRESH_IDLE, 86_400 * 4]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    def choose(self, which: str, pick: int) -> tuple[ModelFamily, int, str]:
        """A token of a family: its live one, its predecessor, an older one, or any."""
        family = self.families[pick % len(self.families)]
        generation = {
            "live": family.generation,
            "predecessor": family.generation - 1,
            "older": family.generation - 2,
        }.get(which, pick % (family.generation + 1))
        generation = max(generation, 0)
        return family, generation, self.by_generation[(family.sid, generation)]

    @precondition(lambda self: self.families)
    @rule(
        which=st.sampled_from(["live", "predecessor", "older", "any"]),
        pick=st.integers(0),
        edge=st.sampled_from(["now", "grace", "idle", "lifetime"]),
        offset=st.sampled_from([-1, 0, 1]),
    )
    def present(self, which: str, pick: int, edge: str, offset: int) -> None:
        """Present a token, now or just before, at or after one of its family's deadlines."""
        family, generation, token = self.choose(which, pick)
        target = {
            "now": self.now,
            "grace": family.rotated_at + GRACE + offset,
            "idle": family.rotated_at + REFRESH_IDLE + offset,
            "lifetime": family.expires_at + offset,
        }[edge]
        self.clock.now = max(self.now, target)
        now, live = self.now, family.generation
        expired = now >= family.expires_at
        if (
            family.revoked
            or expired
            or (generation == live and now >= family.rotated_at + REFRESH_IDLE)
        ):
            with pytest.raises(InvalidGrant):
                self.run(self.service.refresh(token))
            return
        if generation == live:
            r = self.run(self.service.refresh(token))
            assert r.refresh_token not in {t for _, _, t in self.tokens}
            family.generation, family.rotated_at = live + 1, now
            self.tokens.append((family, live + 1, r.refresh_token))
            self.by_generation[(family.sid, live + 1)] = r.refresh_token
        elif generation == live - 1 and now - family.rotated_at < GRACE:
            r = self.run(self.service.refresh(token))
            assert r.refresh_token == self.by_generation[(family.sid, live)]
        else:
            with pytest.raises(InvalidGrant):
                self.run(self.service.refresh(token))
            family.revoked = True
            return
        assert r.sid == family.sid
        assert self.service.verify_access_token(r.access_token).sid == family.sid
        family.last_access = r.access_token

    @precondition(lambda self: self.families)
    @rule(which=st.sampled_from(["live", "any"]), pick=st.integers(0))
    def revoke(self, which: str, pick: int) -> None:
        family, _, token = self.choose(which, pick)
        self.run(self.service.revoke_token(token))
        family.revoked = True

    @invariant()
    def store_agrees_with_the_model(self) -> None:
        for family in self.families:
            stored = self.run(self.stores.refresh.get(family.sid))
            assert stored is not None
            assert stored.generation == family.generation
            assert (stored.revoked_at is not None) == family.revoked

    @invariant()
    def revoked_families_lose_their_access_tokens(self) -> None:
        for family in self.families:
            if family.revoked:
                with pytest.raises(TokenError):
                    self.service.verify_access_token(family.last_access)

    @invariant()
    def one_live_token_per_family(self) -> None:
        for family in self.families:
            live = {
                t
                for f, g, t in self.tokens
                if f is family and g == family.generation and not family.revoked
            }
            assert len(live) <= 1


TestSessionMachine = MACHINE_SETTINGS(SessionMachine).TestCase
TestRefreshMachine = MACHINE_SETTINGS(RefreshMachine).TestCase
