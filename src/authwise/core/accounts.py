"""Account rules: usernames, passwords, roles, tenants, hashing parameters, client secrets.

Usernames are prepared and enforced with the PRECIS UsernameCaseMapped profile (RFC 8265,
case folding as its case-mapping step), so ``Alice``, ``ALICE`` and the full-width ``Alice``
are one account, and restricted to letters, digits and ``. _ - @ +``, so no two names look
alike by whitespace, invisible or compatibility characters. A name mixing scripts (a Cyrillic
``\u0430`` among Latin letters) is refused, and :func:`username_skeleton` gives the UTS #39
confusable skeleton under which no two accounts may exist (``\u0430dmin`` beside ``admin``).

Passwords follow ASVS 5.0 V6.2: a minimum length, a generous maximum, no composition rules,
never truncated, not the username, and not one of the 30,000 most common passwords of
zxcvbn's list (compiled from breach corpora).
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from precis_i18n import get_profile

from authwise.core._b64 import b64url_encode
from authwise.core._confusables import ENTRIES as _CONFUSABLE_ENTRIES
from authwise.core.sessions import new_secret, secret_digest
from authwise.errors import InvalidInput

__all__ = [
    "CLIENT_SECRET_PREFIX",
    "HashParams",
    "PasswordPolicy",
    "check_password",
    "common_passwords",
    "new_client_secret",
    "new_user_id",
    "normalize_roles",
    "normalize_tenant",
    "normalize_username",
    "username_skeleton",
]

CLIENT_SECRET_PREFIX = "aw_cs_"  # noqa: S105 - a prefix, not a secret
USERNAME_MIN = 3
USERNAME_MAX = 64
MAX_ROLES = 32
_USERNAME_PUNCT = frozenset("._-@+")
_ROLE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

# argon2id floors (OWASP password storage cheat sheet, RFC 9106 second recommendation scaled).
MIN_MEMORY_KIB = 19_456
MIN_TIME_COST = 2


_PRECIS = get_profile("UsernameCaseMapped:CaseFold")
# UTS #39 section 5.1: Common and Inherited characters belong to every script, and these
# scripts are written together (Japanese, Korean, Chinese with Bopomofo).
_ANY_SCRIPT = frozenset({"COMMON", "INHERITED"})
_SMALL_CAPITAL = "LATIN LETTER SMALL CAPITAL "
_WRITTEN_TOGETHER = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "HANGUL"}),
    frozenset({"HAN", "BOPOMOFO"}),
)


def normalize_username(raw: str) -> str:
    """The normal form under which a username is stored and looked up; raises
    :class:`InvalidInput` (field ``username``) for names outside the rules: PRECIS
    UsernameCaseMapped (RFC 8265) with case folding, 3 to 64 characters, letters, digits and
    ``. _ - @ +``, starting with a letter or digit, and letters of one script."""
    if not isinstance(raw, str) or len(raw) > 4 * USERNAME_MAX:
        raise InvalidInput("username", "username is too long")
    try:
        name: str = _PRECIS.enforce(raw)
    except UnicodeError:
        raise InvalidInput("username", "username may hold letters, digits and . _ - @ +") from None
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise InvalidInput(
            "username", f"username must be {USERNAME_MIN} to {USERNAME_MAX} characters"
        )
    for char in name:
        if not (char.isalnum() or char in _USERNAME_PUNCT):
            raise InvalidInput("username", "username may hold letters, digits and . _ - @ +")
    if not name[0].isalnum():
        raise InvalidInput("username", "username must start with a letter or digit")
    if _mixed_scripts(name):
        raise InvalidInput("username", "username must not mix scripts (such as Latin and Cyrillic)")
    return name


def _mixed_scripts(name: str) -> bool:
    from confusable_homoglyphs.categories import alias

    scripts = {alias(char) for char in name} - _ANY_SCRIPT
    return len(scripts) > 1 and not any(scripts <= group for group in _WRITTEN_TOGETHER)


@functools.cache
def _prototypes() -> dict[str, str]:
    table = {}
    for entry in _CONFUSABLE_ENTRIES.split():
        source, _, target = entry.partition("=")
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split("."))
    # Unicode's data leaves out the Latin small capitals (``ᴀ``, ``ʟ``), which read as the
    # lower-case letter in a name; UTS #39 lets an implementation add what it needs.
    for code in range(0x250, 0xA800):
        name = unicodedata.name(chr(code), "")
        if name.startswith(_SMALL_CAPITAL) and len(name) == len(_SMALL_CAPITAL) + 1:
            table.setdefault(chr(code), name[-1].lower())
    return table


def _skeleton(text: str) -> str:
    prototypes = _prototypes()
    mapped = "".join(prototypes.get(char, char) for char in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def username_skeleton(name: str) -> str:
    """The confusable skeleton of a normalized username (UTS #39 section 4: NFD, each
    character to its prototype from Unicode's confusables data, NFD again), case-folded and
    mapped once more because some prototypes are capitals (``0`` becomes ``O``). Two names
    with one skeleton look alike: ``\u0430dmin`` (Cyrillic ``\u0430``) and ``admin``,
    ``\u0251lice`` and ``alice``, ``b0b`` and ``bob``."""
    return _skeleton(_skeleton(name).casefold())


@functools.cache
def common_passwords() -> frozenset[str]:
    """The passwords refused as common or breached (ASVS 5.0 6.2.4): the ``passwords`` list
    zxcvbn ships (the 30,000 most frequent in breach corpora, lower case), loaded once."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


@dataclass(frozen=True, kw_only=True)
class PasswordPolicy:
    """What :func:`check_password` asks of a password (ASVS 5.0 V6.2). There are no
    composition rules (6.2.5): length and the list of common passwords do the work."""

    min_length: int = 8
    """ASVS 5.0 6.2.1: at least 8 (15 recommended where there is no second factor)."""
    max_length: int = 1024
    """ASVS 5.0 6.2.9 asks that at least 64 be allowed; longer is refused to bound work."""

    def __post_init__(self) -> None:
        if not 8 <= self.min_length <= self.max_length:
            raise ValueError("min_length must be at least 8 and at most max_length")
        if self.max_length < 64:
            raise ValueError("max_length must allow at least 64 characters")


def check_password(password: str, policy: PasswordPolicy, *, username: str | None = None) -> None:
    """Raise :class:`InvalidInput` (field ``password``) for a password the policy refuses."""
    if not isinstance(password, str):
        raise InvalidInput("password", "password must be a string")
    if len(password) < policy.min_length:
        raise InvalidInput("password", f"password must be at least {policy.min_length} characters")
    if len(password) > policy.max_length:
        raise InvalidInput("password", f"password must be at most {policy.max_length} characters")
    if not password.strip():
        raise InvalidInput("password", "password must not be blank")
    try:
        password.encode()
    except UnicodeEncodeError:
        raise InvalidInput("password", "password must be valid Unicode text") from None
    folded = password.casefold()
    if username is not None and folded == username.casefold():
        raise InvalidInput("password", "password must differ from the username")
    if folded in common_passwords():
        raise InvalidInput(
            "password",
            "password is one of the most common passwords (found in data breaches); "
            "choose another, such as a few unrelated words",
        )


def normalize_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Roles as a sorted tuple without duplicates; each lower-case ``[a-z][a-z0-9_.:-]*``."""
    if isinstance(roles, str):
        raise InvalidInput("roles", "roles must be a list of names")
    unique = set()
    for role in roles:
        if not isinstance(role, str) or not _ROLE.fullmatch(role):
            raise InvalidInput("roles", "a role is lower-case letters, digits and _ . : -")
        unique.add(role)
    if len(unique) > MAX_ROLES:
        raise InvalidInput("roles", f"at most {MAX_ROLES} roles")
    return tuple(sorted(unique))


def normalize_tenant(tenant: str | None) -> str | None:
    if tenant is None:
        return None
    if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
        raise InvalidInput("tenant", "a tenant is letters, digits and _ . - (at most 64)")
    return tenant


def new_user_id() -> str:
    """An opaque, random user ID (the ``sub`` claim): reveals neither order nor count."""
    return b64url_encode(secrets.token_bytes(16))


def new_client_secret() -> tuple[str, bytes]:
    """A fresh client secret ``aw_cs_...`` and the digest to store."""
    secret = new_secret(CLIENT_SECRET_PREFIX)
    return secret, secret_digest(secret)


@dataclass(frozen=True, kw_only=True)
class HashParams:
    """argon2id parameters. Raising them makes every stored hash upgrade on next login."""

    memory_cost: int = MIN_MEMORY_KIB
    """KiB of memory per hash (at least 19456)."""
    time_cost: int = MIN_TIME_COST
    """Passes over memory (at least 2)."""
    parallelism: int = 1

    def __post_init__(self) -> None:
        if self.memory_cost < MIN_MEMORY_KIB:
            raise ValueError(f"argon2 memory_cost must be at least {MIN_MEMORY_KIB} KiB")
        if self.time_cost < MIN_TIME_COST:
            raise ValueError(f"argon2 time_cost must be at least {MIN_TIME_COST}")
        if self.parallelism < 1:
            raise ValueError("argon2 parallelism must be at least 1")
