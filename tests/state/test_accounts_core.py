"""core.accounts: usernames, passwords, roles, tenants, hashing floors, client secrets."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from authwise.core.accounts import (
    CLIENT_SECRET_PREFIX,
    HashParams,
    PasswordPolicy,
    check_password,
    common_passwords,
    new_client_secret,
    new_user_id,
    normalize_roles,
    normalize_tenant,
    normalize_username,
    username_skeleton,
)
from authwise.core.sessions import is_well_formed
from authwise.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("alice", "alice"),
        ("Alice", "alice"),
        ("ALICE", "alice"),
        ("\uff21\uff4c\uff49\uff43\uff45", "alice"),  # full-width
        ("Stra\u00dfe", "strasse"),  # casefold, not lower
        ("e\u0301mile", "\u00e9mile"),  # composed
        ("bob.smith+tag@example.org", "bob.smith+tag@example.org"),
        ("user_01-x", "user_01-x"),
        ("\u03a3\u03bf\u03c6\u03af\u03b1", "\u03c3\u03bf\u03c6\u03af\u03b1"),
        ("\u1d00lice", "\u1d00lice"),  # PRECIS keeps it; its skeleton is alice's
        ("\ufb01x-it", "fix-it"),  # case folding undoes the ligature
    ],
)
def test_usernames_normalize(raw: str, normal: str) -> None:
    assert normalize_username(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ab",
        "a" * 65,
        "a" * 1000,
        "al ice",
        " alice",
        "alice\u200b",  # zero-width space
        "alice\x00",
        "ali\u202ece",  # bidi override
        ".alice",
        "-alice",
        "alice/../x",
        "al'ice",
        None,
        42,
    ],
)
def test_bad_usernames_are_refused(raw: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_username(raw)
    assert info.value.field == "username"
    assert info.value.code == "invalid_input"


@pytest.mark.parametrize(
    "raw",
    [
        "\U0001d41alice",  # mathematical bold: a compatibility character, not mapped (RFC 8265)
        "\u24d0lice",  # circled
        "\u0430dmin",  # Cyrillic a among Latin letters
        "al\u0456ce",  # Cyrillic i
        "\u03b1lice",  # Greek alpha
        "bob\u0441",  # Cyrillic es at the end
    ],
)
def test_compatibility_characters_and_mixed_scripts_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_username(raw)
    assert info.value.field == "username"


@pytest.mark.parametrize(
    "raw",
    [
        "\u0431\u043e\u0440\u0438\u0441",
        "\u6f22\u5b57\u3072\u3089",
        "\ud55c\uad6d\u6f22\u5b57",
        "user_\u00e9mile1",
    ],
)
def test_one_script_with_common_characters_passes(raw: str) -> None:
    """Cyrillic alone; Han with Hiragana, Hangul with Han (written together, UTS #39 5.1);
    Latin with digits and punctuation (Common)."""
    assert normalize_username(raw) == raw


@pytest.mark.parametrize(
    ("name", "twin"),
    [
        ("admin", "\u0430dmin"),  # Cyrillic a
        ("alice", "al\u0456ce"),  # Cyrillic i
        ("alice", "\u1d00lice"),  # Latin small capital A
        ("alice", "\u0251lice"),  # Latin alpha
        ("ace", "\u0430\u0441\u0435"),  # all Cyrillic
        ("bob", "b0b"),
        ("lily", "\u029fily"),  # small capital L
        ("mary", "rnary"),
    ],
)
def test_look_alikes_share_a_skeleton(name: str, twin: str) -> None:
    """UTS #39 section 4 skeletons, over names as they are stored."""
    assert username_skeleton(name) == username_skeleton(twin)


def test_different_names_have_different_skeletons() -> None:
    names = ["alice", "alicia", "bob", "admin", "root", "\u0431\u043e\u0440\u0438\u0441"]
    assert len({username_skeleton(n) for n in names}) == len(names)


POLICY = PasswordPolicy()


def test_good_passwords_pass() -> None:
    check_password("correct horse battery staple", POLICY, username="alice")
    check_password("x" * 1024, POLICY)
    check_password("\u00fcber-geheim", POLICY)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 8"),
        ("x" * 1025, "at most 1024"),
        (" " * 12, "blank"),
        ("AliceAlice", "differ from the username"),
        (None, "string"),
        (b"bytes-password", "string"),
    ],
)
def test_bad_passwords_are_refused(password: Any, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as info:
        check_password(password, POLICY, username="alicealice")
    assert info.value.field == "password"


@pytest.mark.parametrize(
    "password",
    ["password", "12345678", "Password1", "PASSWORD", "iloveyou", "qwertyuiop", "P@ssw0rd"],
)
def test_common_and_breached_passwords_are_refused(password: str) -> None:
    """ASVS 5.0 6.2.4: refused whatever their case, with a message that says why."""
    with pytest.raises(InvalidInput, match="most common passwords") as info:
        check_password(password, POLICY)
    assert info.value.field == "password"


def test_the_list_of_common_passwords_is_long_enough_to_matter() -> None:
    """At least 10,000 entries a policy can meet (8 characters or more), lower case."""
    listed = common_passwords()
    assert sum(len(p) >= 8 for p in listed) >= 10_000
    assert all(p == p.casefold() for p in listed)
    assert {"password", "12345678", "qwertyuiop"} <= listed


def test_eight_spaces_and_a_single_letter_are_refused() -> None:
    for password in (" " * 8, "a"):
        with pytest.raises(InvalidInput) as info:
            check_password(password, POLICY)
        assert info.value.field == "password"


def test_long_passwords_are_allowed_without_composition_rules() -> None:
    """6.2.9: 64 characters and more; 6.2.5: no classes of characters required."""
    check_password("a" * 64 + "z", POLICY)
    check_password("lowercase words only here", POLICY)
    check_password("журавли в небе", POLICY)


def test_password_policy_validation() -> None:
    with pytest.raises(ValueError, match="min_length"):
        PasswordPolicy(min_length=7)
    with pytest.raises(ValueError, match="min_length"):
        PasswordPolicy(min_length=100, max_length=64)
    with pytest.raises(ValueError, match="64"):
        PasswordPolicy(min_length=8, max_length=63)


def test_roles_are_sorted_and_deduplicated() -> None:
    assert normalize_roles(["staff", "admin", "staff", "billing:read"]) == (
        "admin",
        "billing:read",
        "staff",
    )
    assert normalize_roles(()) == ()


@pytest.mark.parametrize(
    "roles",
    [
        "admin",  # a string, not a list of names
        ["Admin"],
        ["1admin"],
        [""],
        ["a" * 65],
        ["ad min"],
        [42],
        [f"r{i}" for i in range(33)],
    ],
)
def test_bad_roles_are_refused(roles: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_roles(roles)
    assert info.value.field == "roles"


def test_tenants() -> None:
    assert normalize_tenant(None) is None
    assert normalize_tenant("Acme-1.eu_west") == "Acme-1.eu_west"
    for bad in ("", "-acme", "ac me", "a" * 65, 7):
        with pytest.raises(InvalidInput) as info:
            normalize_tenant(bad)  # type: ignore[arg-type]
        assert info.value.field == "tenant"


def test_user_ids_are_random_and_distinct() -> None:
    ids = {new_user_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 for i in ids)


def test_client_secrets_are_prefixed_256_bit_and_stored_as_digests() -> None:
    secret, digest = new_client_secret()
    assert is_well_formed(secret, CLIENT_SECRET_PREFIX)
    assert secret.startswith("aw_cs_")
    assert digest == hashlib.sha256(secret.encode()).digest()
    assert new_client_secret()[0] != secret


def test_hash_params_floors() -> None:
    params = HashParams()
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19_456, 2, 1)
    with pytest.raises(ValueError, match="memory_cost"):
        HashParams(memory_cost=19_455)
    with pytest.raises(ValueError, match="time_cost"):
        HashParams(time_cost=1)
    with pytest.raises(ValueError, match="parallelism"):
        HashParams(parallelism=0)
