"""AuthService accounts and administration, password hashing, clients, keys (S09, S10, S12)."""

from __future__ import annotations

import asyncio
import hmac
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import argon2
import pytest

from authwise.config.settings import Settings
from authwise.core.accounts import HashParams
from authwise.core.keyring import KeyState
from authwise.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidClient,
    InvalidGrant,
    InvalidInput,
    InvalidKey,
    InvalidSession,
    NotFound,
    RevokedToken,
    StoreUnavailable,
)
from authwise.service import AuthService, PasswordHasher, ServiceConfig
from authwise.storage.base import AuditKind, EventKind, LogEntry, Stores, UserRecord
from authwise.storage.sql import open_sql_stores, upgrade
from tests.storage.conftest import eventually

from .conftest import AUDIENCE, ISSUER, PASSWORD, Clock, make_config, make_service

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SharedStores:
    """Stores over one SQLite file, which another OS process can open too
    (:mod:`tests.state.other_process`)."""

    database_url: str
    stores: Stores

    async def in_another_process(self, action: str, clock: Clock, *, stdin: str = "") -> str:
        """Run ``action`` in a fresh Python process over the same stores; its stdout."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.state.other_process",
            action,
            self.database_url,
            str(clock()),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=60)
        assert proc.returncode == 0, err.decode()
        return out.decode()


@pytest.fixture
async def shared(tmp_path: Path) -> AsyncIterator[SharedStores]:
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    await upgrade(database_url)
    stores = await open_sql_stores(database_url)
    yield SharedStores(database_url, stores)
    await stores.aclose()


@pytest.fixture
async def alice(service: AuthService) -> UserRecord:
    return await service.register("Alice", PASSWORD, roles=["staff"])


async def test_register_normalizes_and_hashes(
    service: AuthService, stores: Stores, alice: UserRecord
) -> None:
    assert alice.username == "alice"
    assert alice.roles == ("staff",)
    assert alice.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in repr(await stores.users.get(alice.id))
    assert (await service.audit_events())[0].kind is AuditKind.USER_CREATED


async def test_register_refuses_duplicates_and_bad_input(
    service: AuthService, alice: UserRecord
) -> None:
    with pytest.raises(Conflict):
        await service.register("ALICE", PASSWORD)
    with pytest.raises(InvalidInput) as info:
        await service.register("bob", "short")
    assert info.value.field == "password"
    with pytest.raises(InvalidInput):
        await service.register("b", PASSWORD)
    with pytest.raises(InvalidInput):
        await service.register("bob", PASSWORD, roles=["Admin"])
    with pytest.raises(InvalidInput):
        await service.register("bob", PASSWORD, tenant="no spaces")


@pytest.mark.parametrize("twin", ["\u0251lice", "\u1d00lice", "ALICE", "\uff41lice"])
async def test_s17_a_look_alike_of_an_account_is_taken(
    service: AuthService, alice: UserRecord, twin: str
) -> None:
    """\u0251lice (Latin alpha), \u1d00lice (small capital), and spellings that normalize to
    alice: one skeleton, so the name counts as taken, and no account is made."""
    with pytest.raises(Conflict) as info:
        await service.register(twin, PASSWORD)
    assert info.value.what == "username"
    assert [u.username for u in await service.list_users()] == ["alice"]
    assert alice.skeleton == "alice"


@pytest.mark.parametrize("mixed", ["\u0430dmin", "al\u0456ce", "p\u0430yp\u0430l", "\u03b1lice"])
async def test_s17_mixed_script_names_are_refused(service: AuthService, mixed: str) -> None:
    """\u0430dmin and al\u0456ce mix Cyrillic into Latin, \u03b1lice Greek: refused whether
    or not an account looks like them."""
    await service.register("admin", PASSWORD)
    with pytest.raises(InvalidInput, match="mix scripts"):
        await service.register(mixed, PASSWORD)


async def test_s17_a_whole_name_in_another_script_that_looks_alike_is_taken(
    service: AuthService,
) -> None:
    """One script throughout passes the mixed-script rule (\u0430\u0441\u0435 is all
    Cyrillic) and still meets the skeleton of the Latin ace; a Cyrillic name that looks like
    no account is welcome."""
    await service.register("ace", PASSWORD)
    with pytest.raises(Conflict):
        await service.register("\u0430\u0441\u0435", PASSWORD)
    created = await service.register("\u0431\u043e\u0440\u0438\u0441", PASSWORD)
    assert created.username == "\u0431\u043e\u0440\u0438\u0441"


async def test_s10_every_failed_login_looks_the_same(
    service: AuthService, alice: UserRecord
) -> None:
    await service.register("dora", PASSWORD)
    dora = await service.stores.users.get_by_username("dora")
    assert dora is not None
    await service.disable_user(dora.id)
    attempts = [
        ("alice", "wrong password"),  # wrong password
        ("nobody", PASSWORD),  # unknown user
        ("dora", PASSWORD),  # disabled, right password
        ("a", PASSWORD),  # not even a valid username
        ("alice", "x" * 5000),  # a password too long to hash
    ]
    errors = []
    for username, password in attempts:
        with pytest.raises(AuthenticationFailed) as info:
            await service.authenticate(username, password)
        errors.append((type(info.value), info.value.code, str(info.value)))
    assert len(set(errors)) == 1
    failed = [e for e in await service.audit_events() if e.kind is AuditKind.LOGIN_FAILED]
    assert len(failed) == len(attempts)


async def test_s09_unknown_users_cost_one_argon2_verification_like_known_ones(
    service: AuthService, alice: UserRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[argon2.Parameters] = []
    real_check = service.hasher._check

    def spy(stored: str, password: str) -> bool:
        verified.append(argon2.extract_parameters(stored))
        return real_check(stored, password)

    monkeypatch.setattr(service.hasher, "_check", spy)
    for username in ("alice", "nobody", "???"):
        with pytest.raises(AuthenticationFailed):
            await service.authenticate(username, "wrong password")
    assert len(verified) == 3
    assert verified[0] == verified[1] == verified[2]
    assert verified[0].type is argon2.Type.ID


async def test_argon2_runs_off_the_event_loop_with_bounded_concurrency(
    stores: Stores, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(stores, clock, hash_concurrency=2)
    await service.start()
    await service.register("alice", PASSWORD)
    loop_thread = threading.get_ident()
    lock = threading.Lock()
    running, peak, threads = 0, 0, set()
    real_check = service.hasher._check

    def spy(stored: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.get_ident())
        try:
            return real_check(stored, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(service.hasher, "_check", spy)
    await asyncio.gather(*(service.authenticate("alice", PASSWORD) for _ in range(6)))
    assert loop_thread not in threads
    assert 1 <= peak <= 2


async def test_stale_hashes_are_upgraded_on_login(
    stores: Stores, clock: Clock, alice_hash_t2: str
) -> None:
    service = make_service(stores, clock, hashing=HashParams(time_cost=3))
    await service.start()
    now = clock.now
    await stores.users.create(
        UserRecord(
            id="u1", username="erin", password_hash=alice_hash_t2, created_at=now, updated_at=now
        )
    )
    user = await service.authenticate("erin", PASSWORD)
    assert argon2.extract_parameters(user.password_hash).time_cost == 3
    stored = await stores.users.get("u1")
    assert stored is not None
    assert stored.password_hash == user.password_hash
    again = await service.authenticate("erin", PASSWORD)
    assert again.password_hash == user.password_hash  # no rehash once current


@pytest.fixture(scope="module")
def alice_hash_t2() -> str:
    return argon2.PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1).hash(PASSWORD)


async def test_hasher_handles_garbage_hashes() -> None:
    hasher = PasswordHasher()
    assert await hasher.verify("not a hash", PASSWORD) == (False, False)
    assert await hasher.verify(None, PASSWORD) == (False, False)


async def test_admin_user_listing(service: AuthService, alice: UserRecord) -> None:
    for name in ("carol", "bob"):
        await service.register(name, PASSWORD)
    assert [u.username for u in await service.list_users(limit=2)] == ["alice", "bob"]
    assert [u.username for u in await service.list_users(after="bob")] == ["carol"]
    assert await service.get_user(alice.id) == alice


async def test_set_tenant(service: AuthService, clock: Clock, alice: UserRecord) -> None:
    tokens = await service.password_grant("alice", PASSWORD)
    user = await service.set_tenant(alice.id, "globex", actor_id="admin-1")
    assert user.tenant == "globex"
    assert user.not_before == clock.now + 1
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)
    clock.advance(1)
    fresh = await service.refresh(tokens.refresh_token)
    assert service.verify_access_token(fresh.access_token).tenant == "globex"
    event = (await service.audit_events())[1]
    assert (event.kind, event.actor_id, event.detail) == (
        AuditKind.TENANT_CHANGED,
        "admin-1",
        {"tenant": "globex"},
    )


async def test_admin_operations_on_unknown_users(service: AuthService) -> None:
    for call in (
        service.set_roles("ghost", ["a"]),
        service.set_tenant("ghost", None),
        service.disable_user("ghost"),
        service.enable_user("ghost"),
        service.change_password("ghost", "a new password!"),
        service.revoke_everything("ghost"),
        service.revoke_sessions("ghost"),
    ):
        with pytest.raises(NotFound):
            await call


async def test_disable_then_enable(service: AuthService, alice: UserRecord) -> None:
    await service.disable_user(alice.id)
    with pytest.raises(AuthenticationFailed):
        await service.authenticate("alice", PASSWORD)
    await service.enable_user(alice.id)
    assert (await service.authenticate("alice", PASSWORD)).id == alice.id


async def test_self_service_password_change(
    service: AuthService, clock: Clock, alice: UserRecord
) -> None:
    here = await service.login("alice", PASSWORD)
    elsewhere = await service.login("alice", PASSWORD)
    tokens = await service.password_grant("alice", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        await service.change_password(
            alice.id, "a brand new password", current_password="wrong one"
        )
    ended = await service.change_password(
        alice.id,
        "a brand new password",
        current_password=PASSWORD,
        keep_session=here.session.handle,
    )
    assert [s.handle for s in ended.sessions] == [elsewhere.session.handle]
    assert [f.family_id for f in ended.families] == [tokens.sid]
    with pytest.raises(InvalidSession):
        await service.validate_session(elsewhere.session_id)
    kept = await service.validate_session(here.session_id)
    assert kept.new_session_id is not None
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)
    with pytest.raises(AuthenticationFailed):
        await service.authenticate("alice", PASSWORD)
    assert (await service.authenticate("alice", "a brand new password")).id == alice.id
    with pytest.raises(InvalidInput):
        await service.change_password(alice.id, "alice")


async def test_admin_password_reset_ends_every_session(
    service: AuthService, alice: UserRecord
) -> None:
    session = await service.login("alice", PASSWORD)
    ended = await service.change_password(alice.id, "reset by the admin", actor_id="admin-1")
    assert len(ended.sessions) == 1
    with pytest.raises(InvalidSession):
        await service.validate_session(session.session_id)
    kinds = [e.kind for e in await service.audit_events()]
    assert AuditKind.PASSWORD_CHANGED in kinds


async def test_clients_authenticate_with_constant_time_comparison(
    service: AuthService, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, secret = await service.create_client("billing")
    assert secret.startswith("aw_cs_")
    assert (await stores.clients.get(client.client_id)).secret_digest != secret.encode()  # type: ignore[union-attr]
    compared: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(len(a))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert await service.authenticate_client(client.client_id, secret) == client
    for client_id, presented in (
        (client.client_id, secret[:-1] + "x"),
        ("unknown-client", secret),
        ("", secret),
        ("x" * 1000, secret),
    ):
        with pytest.raises(InvalidClient):
            await service.authenticate_client(client_id, presented)
    # Every attempt, known client or not, ends in one constant-time digest comparison.
    assert compared == [32] * 5


async def test_keys_are_generated_once_and_stored_encrypted(
    service: AuthService, stores: Stores, clock: Clock
) -> None:
    snapshot = await stores.keys.load()
    states = [r.state for r in snapshot.records]
    assert states == ["active", "next"]
    for record in snapshot.records:
        assert record.private_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert service.jwks().keys() == {r.kid for r in snapshot.records}
    second = make_service(stores, clock)
    await second.start()
    assert second.key_ring.active.kid == service.key_ring.active.kid
    assert (await stores.keys.load()).version == snapshot.version
    tokens = await service.issue_tokens(await service.register("zed", PASSWORD))
    assert second.verify_access_token(tokens.access_token).sub == tokens.user.id


async def test_a_wrong_key_encryption_key_is_refused(stores: Stores, clock: Clock) -> None:
    await make_service(stores, clock).start()
    wrong = AuthService(
        stores,
        config=make_config(),
        clock=clock,
        refresh_secret=b"r" * 32,
        key_encryption_key=b"not the kek, but long enough",
    )
    with pytest.raises(InvalidKey):
        await wrong.start()


def test_short_secrets_are_refused(stores: Stores, clock: Clock) -> None:
    with pytest.raises(ValueError, match="refresh_secret"):
        AuthService(
            stores,
            config=make_config(),
            clock=clock,
            refresh_secret=b"x",
            key_encryption_key=b"k" * 32,
        )
    with pytest.raises(ValueError, match="key-encryption key"):
        AuthService(
            stores,
            config=make_config(),
            clock=clock,
            refresh_secret=b"r" * 32,
            key_encryption_key=b"",
        )


async def test_key_rotation_keeps_old_tokens_valid_and_tells_everyone(
    service: AuthService, stores: Stores, clock: Clock
) -> None:
    events: list[LogEntry | None] = []
    service.subscribe(events.append)
    other = make_service(stores, clock)
    await other.start()
    tokens = await service.issue_tokens(await service.register("zed", PASSWORD))
    old_kid = service.key_ring.active.kid
    ring = await service.rotate_keys(force=True)
    assert ring.active.kid != old_kid
    assert ring.find(old_kid).state is KeyState.RETIRING  # type: ignore[union-attr]
    assert [e.event.kind for e in events if e is not None] == [EventKind.KEYS_CHANGED]
    service.verify_access_token(tokens.access_token)
    fresh = await service.refresh(tokens.refresh_token)
    assert (await other.reload_keys()).active.kid == ring.active.kid
    assert other.verify_access_token(fresh.access_token).kid == ring.active.kid
    assert AuditKind.KEY_ROTATED in [e.kind for e in await service.audit_events()]
    unchanged = await service.rotate_keys()
    assert unchanged.active.kid == ring.active.kid
    await other.close()  # lets other's reload (from the event) finish
    # One announcement and one audit entry for one rotation, however many processes adopt it.
    assert [e.event.kind for e in events if e is not None] == [EventKind.KEYS_CHANGED]
    kinds = [e.kind for e in await service.audit_events()]
    assert kinds.count(AuditKind.KEY_ROTATED) == 1


async def test_an_unchanged_ring_keeps_the_verified_token_cache(
    service: AuthService, alice: UserRecord
) -> None:
    tokens = await service.issue_tokens(alice)
    service.verify_access_token(tokens.access_token)
    cache = service.verifier.cache
    assert cache is not None
    assert len(cache) == 1
    await service.reload_keys()
    assert len(cache) == 1


async def test_retiring_a_compromised_key(service: AuthService, stores: Stores) -> None:
    old = service.key_ring.active.kid
    await service.rotate_keys(force=True)
    ring = await service.keys.retire(old, service.now())
    assert ring.find(old).state is KeyState.RETIRED  # type: ignore[union-attr]
    assert old not in (await service.reload_keys()).verification_keys()


async def test_a_revocation_reaches_another_process_through_the_log(
    shared: SharedStores, clock: Clock
) -> None:
    """Another OS process revokes; this one learns it by following the event log."""
    here = make_service(shared.stores, clock)
    await here.start()
    await here.register("alice", PASSWORD)
    tokens = await here.password_grant("alice", PASSWORD)
    here.verify_access_token(tokens.access_token)
    await shared.in_another_process("revoke", clock, stdin=tokens.refresh_token)
    await eventually(lambda: _refused(here, tokens.access_token), limit=10)
    # A process started later loads the live entries from the store.
    late = make_service(shared.stores, clock)
    await late.start()
    with pytest.raises(RevokedToken):
        late.verify_access_token(tokens.access_token)
    await here.close()
    await here.close()
    await late.close()


def _refused(service: AuthService, token: str) -> bool:
    try:
        service.verify_access_token(token)
    except RevokedToken:
        return True
    return False


async def test_prune_drops_revoked_families_after_their_access_tokens_expire(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    tokens = await service.password_grant("alice", PASSWORD)
    await service.revoke_token(tokens.refresh_token)
    config = service.config
    clock.advance(config.max_access_ttl + config.leeway - 1)
    await service.prune()
    assert await stores.refresh.get(tokens.sid) is not None  # an access token may be valid
    clock.advance(1)
    await service.prune()
    assert await stores.refresh.get(tokens.sid) is None
    with pytest.raises(InvalidGrant):  # unknown now: refused the same, nothing to revoke
        await service.refresh(tokens.refresh_token)


async def test_prune_applies_the_audit_retention(stores: Stores, clock: Clock) -> None:
    service = make_service(stores, clock, audit_retention=86_400, audit_max_rows=3)
    await service.start()
    users = [await service.register(name, PASSWORD) for name in ("Ann", "Bob", "Cid", "Dee")]
    await service.prune()
    assert [e.user_id for e in await stores.audit.recent()] == [u.id for u in users[:0:-1]]
    clock.advance(86_401)
    await service.register("Eve", PASSWORD)
    await service.prune()
    kept = await stores.audit.recent()
    assert [e.at for e in kept] == [clock.now]
    await service.close()


async def test_prune_forgets_what_can_no_longer_matter(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    await service.login("alice", PASSWORD)
    tokens = await service.password_grant("alice", PASSWORD)
    await service.revoke_token(tokens.access_token)
    assert len(service.revocations) == 1
    clock.advance(14 * 86_400)
    # A session, a family, a stored and a local revocation entry, and the log's entry.
    assert await service.prune() == 5
    assert len(service.revocations) == 0
    assert await stores.revocations.live(0) == []
    assert await stores.refresh.get(tokens.sid) is None


async def test_the_service_refuses_work_before_start(stores: Stores, clock: Clock) -> None:
    service = make_service(stores, clock)
    with pytest.raises(InvalidKey):
        service.verify_access_token("x")
    with pytest.raises(InvalidKey):
        service.jwks()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="issuer"):
        ServiceConfig(issuer="", audiences=(AUDIENCE,))
    with pytest.raises(ValueError, match="issuer"):
        ServiceConfig(issuer=ISSUER, audiences=())
    with pytest.raises(ValueError, match="access_ttl"):
        ServiceConfig(issuer=ISSUER, audiences=(AUDIENCE,), access_ttl=901)
    with pytest.raises(ValueError, match="leeway"):
        ServiceConfig(issuer=ISSUER, audiences=(AUDIENCE,), leeway=61)
    with pytest.raises(ValueError, match="hash_concurrency"):
        ServiceConfig(issuer=ISSUER, audiences=(AUDIENCE,), hash_concurrency=0)


def test_config_from_settings() -> None:
    config = ServiceConfig.from_settings(Settings(), hashing=HashParams(time_cost=3))
    assert config.issuer == "http://localhost:8000"
    assert config.audiences == ("http://localhost:8000",)
    assert (config.access_ttl, config.refresh.grace, config.refresh.idle) == (300, 10, 3 * 86_400)
    assert (config.sessions.idle_timeout, config.sessions.absolute_timeout) == (1800, 28_800)
    assert config.hashing.time_cost == 3
    assert ServiceConfig.from_settings(Settings()).hashing == HashParams()


async def test_other_processes_reload_the_ring_after_a_rotation(
    shared: SharedStores, clock: Clock
) -> None:
    """Another OS process rotates the keys; this one adopts the new ring from the log's
    keys_changed event (it has no periodic reload)."""
    here = make_service(shared.stores, clock)
    await here.start()
    before = here.key_ring.active.kid
    rotated = (await shared.in_another_process("rotate", clock)).strip()
    assert rotated != before
    await eventually(lambda: here.key_ring.active.kid == rotated, limit=10)
    await here.close()


async def test_a_failed_reload_is_logged_not_raised(
    service: AuthService, stores: Stores, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    other = make_service(stores, clock)
    await other.start()
    before = other.key_ring.active.kid

    async def broken(*args: object, **kw: object) -> None:
        raise StoreUnavailable

    other.keys.advance = broken  # type: ignore[method-assign,assignment]
    await service.rotate_keys(force=True)
    await other.close()
    assert other.key_ring.active.kid == before
    assert "reloading the key ring" in caplog.text
