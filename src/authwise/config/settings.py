"""The server's settings: small frozen parts composed into one :class:`Settings`.

Every part is keyword-only, immutable and validated when it is built, so a server never starts
on a configuration it would refuse later. :mod:`authwise.config.loading` maps ``AUTHWISE_*``
environment variables and a TOML file onto these same objects.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "CookieSettings",
    "CorsSettings",
    "RateLimitSettings",
    "Secret",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "StorageSettings",
    "TokenSettings",
]

ServerKind = Literal["uvicorn", "granian"]
SameSite = Literal["lax", "strict"]
Algorithm = Literal["ES256", "Ed25519", "RS256"]
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_HOST = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?")
_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?::[0-9]{1,5})?|\[[0-9a-f:.]+\](?::[0-9]{1,5})?"
)


class Secret:
    """A string whose ``repr`` and ``str`` never show it (use :meth:`reveal`)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _origin(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute http(s) URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must not have a query or fragment")
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_local_http(url: str) -> bool:
    """True for ``http://localhost``-style URLs: the only place insecure cookies are allowed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http":
        return False
    if host in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """How the HTTP server listens and what it offers."""

    host: str = "127.0.0.1"
    """Address to bind. Use ``0.0.0.0`` only behind a TLS-terminating proxy."""
    port: int = 8000
    """TCP port to bind."""
    workers: int = 1
    """Worker processes. More than one needs shared stores (PostgreSQL and Redis)."""
    server: ServerKind = "uvicorn"
    """ASGI server: ``uvicorn`` or ``granian``."""
    public_url: str = ""
    """The origin browsers and clients use to reach this server (``https://auth.example.com``);
    the default issuer, and the only origin allowed to make cookie-authenticated unsafe
    requests. Defaults to ``http://localhost:<port>``."""
    registration: bool = False
    """Allow anyone to create an account with ``POST /users``."""
    trust_proxy_headers: bool = False
    """Take the client address from ``X-Forwarded-For`` (only behind a proxy you control): its
    rightmost entry, the one the proxy appended; entries to its left are client-controlled."""
    max_body_bytes: int = 64 * 1024
    """Largest request body accepted; bigger ones get 413."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names (``name`` or ``name:port``) accepted in the ``Host`` header besides the host
    of ``public_url`` (and, when that is a loopback URL, any loopback name and port); any
    other host gets 400."""
    metrics_token: Secret | None = None
    """Bearer token that ``GET /metrics`` requires; when unset, ``/metrics`` answers 404 (the
    counters tell sign-in successes from failures, so they are not public)."""
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers, from the connection's opening (or
    the request's first byte); then 408 and the connection is closed."""
    body_timeout: float = 30.0
    """Seconds a client has to send a request's body once its headers are in; then the
    connection is closed."""
    max_header_bytes: int = 32 * 1024
    """Largest request head (request line and headers) read; more gets 431 and the
    connection is closed, before any authentication work."""
    hsts_include_subdomains: bool = False
    """Add ``includeSubDomains`` to ``Strict-Transport-Security`` (sent when ``public_url`` is
    https): only when every subdomain of the public host is served over https."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("server.port must be between 0 and 65535")
        if not 1 <= self.workers <= 64:
            raise ValueError("server.workers must be between 1 and 64")
        if self.server not in ("uvicorn", "granian"):
            raise ValueError("server.server must be 'uvicorn' or 'granian'")
        url = self.public_url or f"http://localhost:{self.port}"
        object.__setattr__(self, "public_url", _origin(url, "server.public_url"))
        if not 1024 <= self.max_body_bytes <= 16 * 1024 * 1024:
            raise ValueError("server.max_body_bytes must be between 1 KiB and 16 MiB")
        if not 0.5 <= self.header_timeout <= 300 or not 0.5 <= self.body_timeout <= 3600:
            raise ValueError(
                "server.header_timeout (0.5-300 s) and server.body_timeout (0.5-3600 s) are out of range"
            )
        if not 8 * 1024 <= self.max_header_bytes <= 1024 * 1024:
            raise ValueError("server.max_header_bytes must be between 8 KiB and 1 MiB")
        hosts = tuple(h.strip().lower() for h in self.allowed_hosts)
        if not all(_HOST.fullmatch(h) for h in hosts):
            raise ValueError("server.allowed_hosts must be host names, optionally with :port")
        object.__setattr__(self, "allowed_hosts", hosts)
        if self.metrics_token is not None and len(self.metrics_token.reveal()) < 16:
            raise ValueError("server.metrics_token must be at least 16 characters")

    def allows_host(self, host: str) -> bool:
        """Whether a request's ``Host`` header (lower-cased) names this server: one of
        :attr:`hosts`, or, when ``public_url`` is a loopback URL (development, tests), any
        loopback name on any port."""
        if host in self.hosts:
            return True
        return is_local_http(self.public_url) and _LOOPBACK_HOST.fullmatch(host) is not None

    @property
    def hosts(self) -> frozenset[str]:
        """The ``Host`` header values this server answers: the host (and ``host:port``) of
        each of :attr:`origins`, and :attr:`allowed_hosts`."""
        names: set[str] = set(self.allowed_hosts)
        for origin in self.origins:
            parts = urlsplit(origin)
            default = _DEFAULT_PORTS[parts.scheme]
            bare = parts.netloc if parts.port is None else parts.netloc.rsplit(":", 1)[0]
            names.add(parts.netloc)
            if parts.port in (None, default):
                names.update({bare, f"{bare}:{default}"})
        return frozenset(names)

    @property
    def origins(self) -> frozenset[str]:
        """The origins browsers may reach this server at: ``public_url``, and when that is a
        loopback URL, every loopback name for the same port (``localhost``, ``127.0.0.1``,
        ``[::1]``), so the address a developer copies from the terminal works too."""
        if not is_local_http(self.public_url):
            return frozenset({self.public_url})
        port = urlsplit(self.public_url).port or 80
        suffix = "" if port == 80 else f":{port}"
        names = ("localhost", "127.0.0.1", "[::1]")
        return frozenset({self.public_url, *(f"http://{name}{suffix}" for name in names)})


@dataclass(frozen=True, kw_only=True)
class CookieSettings:
    """The session cookie (RFC 6265bis)."""

    name: str = "authwise_session"
    """Cookie name, without the ``__Host-`` prefix the server adds when ``secure`` is on."""
    secure: bool = True
    """``Secure`` and the ``__Host-`` prefix. Turning it off is a development setting, allowed
    only when ``server.public_url`` is ``http://localhost`` (or another loopback address)."""
    same_site: SameSite = "lax"
    """``SameSite`` attribute: ``lax`` (default) or ``strict``."""

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise ValueError("cookie.name must be letters, digits, '_' or '-'")
        if self.name.lower().startswith(("__host-", "__secure-")):
            raise ValueError("cookie.name must not carry a prefix; the server adds __Host-")
        if self.same_site not in ("lax", "strict"):
            raise ValueError("cookie.same_site must be 'lax' or 'strict'")

    @property
    def cookie_name(self) -> str:
        """The name on the wire."""
        return f"__Host-{self.name}" if self.secure else self.name


@dataclass(frozen=True, kw_only=True)
class SessionSettings:
    """Server-side sessions."""

    idle_timeout: int = 30 * 60
    """Seconds without a request after which a session ends."""
    absolute_timeout: int = 8 * 3600
    """Seconds after login after which a session ends, however active."""
    touch_interval: int = 60
    """Least seconds between two writes of a session's last-seen time (sliding renewal)."""
    cache_ttl: float = 5.0
    """Seconds a validated session may be served from the in-process cache; revocations
    clear it at once through the event bus."""

    def __post_init__(self) -> None:
        if not 60 <= self.idle_timeout <= self.absolute_timeout:
            raise ValueError("sessions.idle_timeout must be >= 60 s and <= absolute_timeout")
        if self.absolute_timeout > 90 * 86_400:
            raise ValueError("sessions.absolute_timeout must be at most 90 days")
        if not 0 <= self.touch_interval < self.idle_timeout:
            raise ValueError("sessions.touch_interval must be below idle_timeout")
        if not 0 <= self.cache_ttl <= 60:
            raise ValueError("sessions.cache_ttl must be between 0 and 60 s")


@dataclass(frozen=True, kw_only=True)
class TokenSettings:
    """JWT access tokens and refresh tokens."""

    issuer: str = ""
    """The ``iss`` of every access token; defaults to ``server.public_url``."""
    audiences: tuple[str, ...] = ()
    """Audiences access tokens are minted for (the first is the default); defaults to the
    issuer."""
    access_ttl: int = 300
    """Access-token lifetime in seconds (5 min default, 15 min at most)."""
    refresh_ttl: int = 14 * 86_400
    """Absolute lifetime of a refresh-token family, in seconds."""
    refresh_idle_ttl: int = 3 * 86_400
    """A refresh family unused for this many seconds expires."""
    refresh_grace: int = 10
    """Seconds during which re-presenting the immediate predecessor returns the same
    successor (several tabs refreshing at once)."""
    algorithm: Algorithm = "ES256"
    """Signing algorithm for new keys: ``ES256``, ``Ed25519`` or ``RS256``."""
    leeway: int = 0
    """Clock skew tolerated when the server verifies its own tokens (at most 60 s)."""

    def __post_init__(self) -> None:
        if self.issuer:
            _origin(self.issuer, "tokens.issuer")
        if not all(isinstance(a, str) and a for a in self.audiences):
            raise ValueError("tokens.audiences must be non-empty strings")
        if not 30 <= self.access_ttl <= 900:
            raise ValueError("tokens.access_ttl must be between 30 and 900 s (the seed: 5-15 min)")
        if not 0 < self.refresh_idle_ttl <= self.refresh_ttl <= 365 * 86_400:
            raise ValueError("tokens.refresh_idle_ttl <= refresh_ttl <= 365 days, both positive")
        if not 0 <= self.refresh_grace <= 60:
            raise ValueError("tokens.refresh_grace must be between 0 and 60 s")
        if self.algorithm not in ("ES256", "Ed25519", "RS256"):
            raise ValueError("tokens.algorithm must be ES256, Ed25519 or RS256")
        if not 0 <= self.leeway <= 60:
            raise ValueError("tokens.leeway must be between 0 and 60 s")


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """Where state lives."""

    data_dir: Path = Path("data")
    """Directory for the SQLite database and the key-encryption-key file."""
    database_url: str = ""
    """``sqlite:///path``, ``postgresql://...`` or ``memory://``; defaults to SQLite in
    ``data_dir``."""
    redis_url: str = ""
    """Optional ``redis://`` URL for sessions, revocations, rate limits and pub/sub."""
    key_encryption_key: Secret | None = None
    """Base64url key (32 bytes) that encrypts signing keys at rest; when unset, read from (or
    created as) the 0600 file ``data_dir/key-encryption-key``."""
    statement_timeout: float = 5.0
    """Seconds a database statement may take: PostgreSQL's ``statement_timeout``, SQLite's
    busy timeout (waiting for another process's write lock). Past it the request gets 503."""
    queue_timeout: float = 1.5
    """Seconds a request waits for a database connection (SQLite has one per process,
    PostgreSQL a pool of 20) before it is answered 503."""
    queue_limit: int = 64
    """Requests that may wait for a database connection at once; more get 503 at once."""
    audit_retention_days: int = 90
    """Audit events older than this many days are deleted by the periodic maintenance."""
    audit_max_rows: int = 1_000_000
    """At most this many audit events are kept (the oldest go first)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if not 0.1 <= self.statement_timeout <= 600:
            raise ValueError("storage.statement_timeout must be between 0.1 and 600 s")
        if not 0.05 <= self.queue_timeout <= 60:
            raise ValueError("storage.queue_timeout must be between 0.05 and 60 s")
        if not 0 <= self.queue_limit <= 10_000:
            raise ValueError("storage.queue_limit must be between 0 and 10000")
        if not 1 <= self.audit_retention_days <= 36_500:
            raise ValueError("storage.audit_retention_days must be between 1 and 36500")
        if not 1_000 <= self.audit_max_rows <= 1_000_000_000:
            raise ValueError("storage.audit_max_rows must be between 1000 and 10**9")
        scheme = self.database_url.split(":", 1)[0] if self.database_url else "sqlite"
        if scheme.split("+", 1)[0] not in ("sqlite", "postgresql", "postgres", "memory"):
            raise ValueError("storage.database_url must be sqlite:, postgresql: or memory:")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("storage.redis_url must be a redis://, rediss:// or unix:// URL")

    @property
    def database(self) -> str:
        """The effective database URL."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'authwise.db').as_posix()}"


@dataclass(frozen=True, kw_only=True)
class RateLimitSettings:
    """Throttling (the ``limits`` notation: ``"10/minute"``, ``"5 per 30 seconds"``)."""

    login_per_account: str = "10/minute"
    """Failed sign-in attempts per account name from one client address, in a sliding window
    (successes do not count); never a permanent lockout, and wrong passwords from one address
    do not slow the owner down at another."""
    login_per_account_global: str = "100/minute"
    """Failed sign-in attempts per account name from all addresses together: the ceiling on
    guessing spread over many addresses (sliding, never a permanent lockout). A browser that
    presents a valid device cookie for the account is not counted here (``login_per_device``)."""
    login_per_device: str = "10/minute"
    """Failed sign-in attempts per account from one device that signed in to it before (its
    device cookie): counted instead of the two limits above, so guessing from elsewhere does
    not keep the owner out, and a device cookie that keeps failing is throttled on its own."""
    device_cookie_ttl: int = 365 * 86_400
    """Seconds a device cookie lives after each successful sign-in that sets it; 0 sets none
    (every sign-in then counts against the account-wide ceiling)."""
    login_per_address: str = "30/minute"
    """Login attempts per client address."""
    refresh_per_address: str = "60/minute"
    """Refresh-token grants per client address."""
    enabled: bool = True
    """Turn throttling off (tests and benchmarks only)."""

    def __post_init__(self) -> None:
        from limits import parse_many

        for name in (
            "login_per_account",
            "login_per_account_global",
            "login_per_device",
            "login_per_address",
            "refresh_per_address",
        ):
            try:
                parse_many(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"rate_limits.{name}: {exc}") from None
        if not 0 <= self.device_cookie_ttl <= 400 * 86_400:
            # RFC 6265bis caps a cookie's Max-Age at 400 days.
            raise ValueError("rate_limits.device_cookie_ttl must be between 0 and 400 days")


@dataclass(frozen=True, kw_only=True)
class CorsSettings:
    """Cross-origin access for bearer-token clients (never for cookies)."""

    allow_origins: tuple[str, ...] = ()
    """Origins allowed to call the API with a bearer token; empty means none."""
    max_age: int = 600
    """Seconds a browser may cache a preflight answer."""

    def __post_init__(self) -> None:
        origins = tuple(_origin(o, "cors.allow_origins") for o in self.allow_origins)
        object.__setattr__(self, "allow_origins", origins)
        if not 0 <= self.max_age <= 86_400:
            raise ValueError("cors.max_age must be between 0 and 86400")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server needs, composed of small parts."""

    server: ServerSettings = field(default_factory=ServerSettings)
    cookie: CookieSettings = field(default_factory=CookieSettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    cors: CorsSettings = field(default_factory=CorsSettings)

    def __post_init__(self) -> None:
        if not self.cookie.secure and not is_local_http(self.server.public_url):
            raise ValueError(
                "cookie.secure = false is a development setting: it needs server.public_url "
                "on http://localhost"
            )

    @property
    def issuer(self) -> str:
        return self.tokens.issuer or self.server.public_url

    @property
    def audiences(self) -> tuple[str, ...]:
        return self.tokens.audiences or (self.issuer,)
