"""The seed's decision framework, as a pure function: answers in, a recommendation out.

"Pick sessions unless you have a specific reason to pick JWT." The reasons to pick JWT are
the seed's: many independent services that must verify identity without calling back, and
clients (mobile, or SPAs on other domains) for which bearer tokens are simpler than cookies.
The reasons to stay with sessions are its warnings: instant revocation, permissions that
change mid-session, long sessions, one backend. When both sides have a case, the answer is
the hybrid: sessions where they work, short-lived access tokens with refresh tokens where
they do not, and revocation pushed to every verifier.

Every reason names the answer it comes from, and the generated configuration uses the
server's own settings names (:mod:`authwise.config`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CLIENTS",
    "SESSION_LENGTHS",
    "Advice",
    "Answers",
    "Reason",
    "advise",
    "to_toml",
]

Recommendation = Literal["sessions", "jwt", "hybrid"]
SessionLength = Literal["minutes", "hours", "days", "weeks"]
Client = Literal["web", "spa", "mobile"]
SESSION_LENGTHS: tuple[SessionLength, ...] = ("minutes", "hours", "days", "weeks")
CLIENTS: tuple[Client, ...] = ("web", "spa", "mobile")

# (idle, absolute) session timeouts in seconds for each answer to "how long do users stay
# logged in": a banking-style quarter hour, a working day, a week, a month.
_TIMEOUTS: dict[str, tuple[int, int]] = {
    "minutes": (15 * 60, 3600),
    "hours": (30 * 60, 8 * 3600),
    "days": (86400, 7 * 86400),
    "weeks": (7 * 86400, 30 * 86400),
}
_SHORT_TTL = 300
_LONG_TTL = 900
_TITLES = {
    "sessions": "Server-side sessions",
    "jwt": "JWT: short-lived access tokens with refresh tokens",
    "hybrid": "Hybrid: sessions for browsers, short-lived JWTs for services, revocation pushed",
}


@dataclass(frozen=True, kw_only=True)
class Answers:
    """The seed's questions. The defaults describe the common case: one web app."""

    services: int = 1
    """How many independent services must verify a user's identity."""
    session_length: SessionLength = "hours"
    """How long users stay logged in: minutes, hours, days or weeks."""
    backends: Literal["one", "many"] = "one"
    """Whether your app runs as one backend or as many instances or hosts."""
    cross_domain: bool = False
    """Whether clients call your API from other domains."""
    clients: frozenset[Client] = frozenset({"web"})
    """Which clients you serve: ``web`` (server-rendered), ``spa``, ``mobile``."""
    instant_revocation: bool = False
    """Whether logging a user out (or banning one) must take effect at once."""
    permission_changes: bool = False
    """Whether roles or permissions change while users are logged in."""

    def __post_init__(self) -> None:
        if not isinstance(self.services, int) or self.services < 1:
            raise ValueError("services must be a whole number, at least 1")
        if self.session_length not in SESSION_LENGTHS:
            raise ValueError(f"session_length must be one of {', '.join(SESSION_LENGTHS)}")
        if self.backends not in ("one", "many"):
            raise ValueError("backends must be 'one' or 'many'")
        clients = frozenset(self.clients)
        if not clients or not clients <= set(CLIENTS):
            raise ValueError(f"clients must be one or more of {', '.join(CLIENTS)}")
        object.__setattr__(self, "clients", clients)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: the question, the answer given, what it argues for, and the seed's argument."""

    question: str
    answer: str
    favours: Literal["sessions", "jwt"]
    text: str


@dataclass(frozen=True, kw_only=True)
class Advice:
    """The recommendation, traced to the answers, with its revocation window and config."""

    recommendation: Recommendation
    title: str
    reasons: tuple[Reason, ...]
    decision: str
    """The rule of the framework that decided, in one sentence."""
    revocation_window: str
    revocation_seconds: int
    """Longest time a revoked user keeps access (0: instant)."""
    settings: dict[str, list[tuple[str, Any, str]]] = field(default_factory=dict)
    """TOML tables: ``{table: [(key, value, comment), ...]}``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "title": self.title,
            "decision": self.decision,
            "reasons": [
                {"question": r.question, "answer": r.answer, "favours": r.favours, "text": r.text}
                for r in self.reasons
            ],
            "revocation_window": self.revocation_window,
            "revocation_seconds": self.revocation_seconds,
            "config": {t: {k: v for k, v, _ in rows} for t, rows in self.settings.items()},
            "config_toml": to_toml(self.settings),
        }


def _reasons(a: Answers) -> list[Reason]:
    r: list[Reason] = []
    if a.services > 1:
        r.append(
            Reason(
                "services",
                f"{a.services} services verify identity",
                "jwt",
                "Independent services can verify a self-contained token offline through the "
                "JWKS, without calling back to the auth server on every request.",
            )
        )
    elif a.backends == "one":
        r.append(
            Reason(
                "backends",
                "one backend",
                "sessions",
                "With one backend the horizontal-scaling argument for JWT does not apply.",
            )
        )
    else:
        r.append(
            Reason(
                "backends",
                "many instances of one backend",
                "sessions",
                "Instances of one backend share the session store (Redis): scaling out alone "
                "is not a reason for JWT.",
            )
        )
    if a.cross_domain:
        r.append(
            Reason(
                "cross_domain",
                "clients on other domains",
                "jwt",
                "Cookies across domains need careful CORS and SameSite configuration; bearer "
                "tokens in a header are simpler.",
            )
        )
    if "mobile" in a.clients:
        r.append(
            Reason(
                "clients",
                "mobile apps",
                "jwt",
                "Native apps have no browser cookie jar: a short access token and a refresh "
                "token in the platform's keystore are the natural fit.",
            )
        )
    if "spa" in a.clients and not a.cross_domain:
        r.append(
            Reason(
                "clients",
                "an SPA on your own domain",
                "sessions",
                "An SPA served from your domain can use the HttpOnly session cookie, which "
                "keeps the credential out of JavaScript's reach.",
            )
        )
    if "web" in a.clients:
        r.append(
            Reason(
                "clients",
                "server-rendered web pages",
                "sessions",
                "Browsers send the session cookie by themselves; an HttpOnly cookie cannot be "
                "stolen by a script.",
            )
        )
    if a.session_length in ("days", "weeks"):
        r.append(
            Reason(
                "session_length",
                f"sessions last {a.session_length}",
                "sessions",
                "A long-lived JWT is a long window in which a stolen token grants full access; "
                "a session can be invalidated server-side at any moment.",
            )
        )
    if a.instant_revocation:
        r.append(
            Reason(
                "instant_revocation",
                "revocation must be instant",
                "sessions",
                "Delete the session and the user is logged out everywhere. A JWT stays valid "
                "until it expires unless every verifier learns of the revocation.",
            )
        )
    if a.permission_changes:
        r.append(
            Reason(
                "permission_changes",
                "permissions change mid-session",
                "sessions",
                "Sessions read roles live; a JWT carries the roles it was minted with until "
                "it expires.",
            )
        )
    return r


def advise(answers: Answers) -> Advice:
    """The framework's recommendation for ``answers``."""
    reasons = _reasons(answers)
    for_jwt = [r for r in reasons if r.favours == "jwt"]
    needs_control = answers.instant_revocation or answers.permission_changes
    browsers = "web" in answers.clients or ("spa" in answers.clients and not answers.cross_domain)
    if not for_jwt:
        kind: Recommendation = "sessions"
        decision = "Pick sessions unless you have a specific reason to pick JWT: none was given."
    elif needs_control or browsers:
        kind = "hybrid"
        decision = (
            "There are reasons for JWT, and also "
            + ("a need for revocation or live permissions" if needs_control else "browser clients")
            + ": keep sessions where they work, give services short-lived tokens, and push "
            "revocations to every verifier."
        )
    else:
        kind = "jwt"
        decision = (
            "There are reasons for JWT and none that needs instant control: use short access "
            "tokens with refresh tokens, so revocation is bounded by the access-token lifetime."
        )
    ttl = _SHORT_TTL if needs_control else _LONG_TTL
    if kind == "sessions":
        window, seconds = "instant: delete the session and the user is logged out everywhere", 0
    elif kind == "jwt":
        window = (
            f"up to {ttl // 60} min: a revoked user's access token works until it expires; "
            "the refresh token is refused at once"
        )
        seconds = ttl
    else:
        window = (
            f"instant for sessions; for access tokens, milliseconds where verifiers subscribe "
            f"to authwise's pushed revocations, and at most {ttl // 60} min anywhere else"
        )
        seconds = ttl
    return Advice(
        recommendation=kind,
        title=_TITLES[kind],
        reasons=tuple(reasons),
        decision=decision,
        revocation_window=window,
        revocation_seconds=seconds,
        settings=_settings(answers, kind, ttl),
    )


def _settings(a: Answers, kind: Recommendation, ttl: int) -> dict[str, list[tuple[str, Any, str]]]:
    idle, absolute = _TIMEOUTS[a.session_length]
    tables: dict[str, list[tuple[str, Any, str]]] = {}
    if kind != "jwt":
        tables["cookie"] = [
            ("name", "authwise_session", "sent as __Host-authwise_session"),
            ("secure", True, "Secure + __Host- prefix: HTTPS only, no Domain"),
            ("same_site", "lax", "HttpOnly is always on"),
        ]
        tables["sessions"] = [
            ("idle_timeout", idle, f"sessions last {a.session_length}"),
            ("absolute_timeout", absolute, ""),
        ]
    if kind != "sessions":
        ttl_why = (
            "short: revocation or permission changes must take effect quickly"
            if ttl == _SHORT_TTL
            else "the seed's 15-minute maximum: nothing needs faster revocation"
        )
        tables["tokens"] = [
            ("access_ttl", ttl, ttl_why),
            ("refresh_ttl", absolute, "a refresh family lives as long as a session would"),
            ("refresh_idle_ttl", idle, ""),
            ("algorithm", "ES256", "verifiers check it offline through /.well-known/jwks.json"),
        ]
    if a.cross_domain:
        tables["cors"] = [
            ("allow_origins", ["https://app.example.com"], "your clients' origins (bearer only)"),
        ]
    if a.backends == "many" or a.services > 1:
        tables["storage"] = [
            ("database_url", "postgresql://authwise@db.internal/authwise", "shared by all"),
            ("redis_url", "redis://redis.internal:6379/0", "sessions, revocations, pub/sub"),
        ]
    return tables


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_toml(settings: dict[str, list[tuple[str, Any, str]]]) -> str:
    """The settings as an authwise TOML configuration file."""
    lines: list[str] = []
    for table, rows in settings.items():
        if lines:
            lines.append("")
        lines.append(f"[{table}]")
        for key, value, comment in rows:
            line = f"{key} = {_toml_value(value)}"
            lines.append(f"{line}  # {comment}" if comment else line)
    return "\n".join(lines) + "\n"
