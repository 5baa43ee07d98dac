"""``authwise advise``: every branch of the seed's decision framework, and the command."""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from authwise.cli import app
from authwise.config import load_settings
from authwise.core.advise import CLIENTS, SESSION_LENGTHS, Answers, advise, to_toml

runner = CliRunner()


def recommend(**answers: Any) -> str:
    return advise(Answers(**answers)).recommendation


# -- the framework ------------------------------------------------------------------------------


def test_default_is_sessions() -> None:
    advice = advise(Answers())
    assert advice.recommendation == "sessions"
    assert advice.revocation_seconds == 0
    assert advice.revocation_window.startswith("instant")
    assert [r.question for r in advice.reasons] == ["backends", "clients"]
    assert "none was given" in advice.decision
    assert set(advice.settings) == {"cookie", "sessions"}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"backends": "many"}, "sessions"),  # scaling out alone is no reason for JWT
        ({"clients": {"spa"}}, "sessions"),  # an SPA on our own domain uses the cookie
        ({"session_length": "weeks", "instant_revocation": True}, "sessions"),
        ({"services": 3, "clients": {"mobile"}}, "jwt"),
        ({"cross_domain": True, "clients": {"spa"}}, "jwt"),
        ({"services": 2, "clients": {"spa"}, "cross_domain": True}, "jwt"),
        ({"services": 3}, "hybrid"),  # services, but browsers too
        ({"clients": {"mobile"}, "instant_revocation": True}, "hybrid"),
        ({"clients": {"mobile"}, "permission_changes": True}, "hybrid"),
        ({"cross_domain": True, "clients": {"web", "mobile"}}, "hybrid"),
    ],
)
def test_recommendations(answers: dict[str, Any], expected: str) -> None:
    assert recommend(**answers) == expected


def test_jwt_without_control_needs_uses_the_15_minute_maximum() -> None:
    advice = advise(Answers(services=3, clients=frozenset({"mobile"})))
    tokens = {k: v for k, v, _ in advice.settings["tokens"]}
    assert tokens["access_ttl"] == 900
    assert advice.revocation_seconds == 900
    assert "up to 15 min" in advice.revocation_window
    assert "cookie" not in advice.settings
    assert "storage" in advice.settings


def test_hybrid_with_revocation_needs_uses_5_minutes() -> None:
    advice = advise(Answers(services=2, instant_revocation=True))
    tokens = {k: v for k, v, _ in advice.settings["tokens"]}
    assert tokens["access_ttl"] == 300
    assert advice.revocation_seconds == 300
    assert "milliseconds" in advice.revocation_window
    assert "revocation or live permissions" in advice.decision


def test_hybrid_for_browsers_alone_keeps_15_minutes() -> None:
    advice = advise(Answers(services=2))
    assert advice.recommendation == "hybrid"
    assert "browser clients" in advice.decision
    assert advice.revocation_seconds == 900


def test_every_reason_is_traced_to_an_answer() -> None:
    advice = advise(
        Answers(
            services=4,
            session_length="days",
            backends="many",
            cross_domain=True,
            clients=frozenset({"web", "spa", "mobile"}),
            instant_revocation=True,
            permission_changes=True,
        )
    )
    questions = [r.question for r in advice.reasons]
    assert questions == [
        "services",
        "cross_domain",
        "clients",
        "clients",
        "session_length",
        "instant_revocation",
        "permission_changes",
    ]
    assert advice.reasons[0].answer == "4 services verify identity"
    assert {r.favours for r in advice.reasons} == {"jwt", "sessions"}
    assert set(Answers.__dataclass_fields__) >= set(questions)


@pytest.mark.parametrize(
    ("length", "idle", "absolute"),
    [
        ("minutes", 900, 3600),
        ("hours", 1800, 28800),
        ("days", 86400, 604800),
        ("weeks", 604800, 2592000),
    ],
)
def test_session_length_sets_timeouts(length: str, idle: int, absolute: int) -> None:
    settings = advise(Answers(session_length=length, services=2, instant_revocation=True)).settings  # type: ignore[arg-type]
    sessions = {k: v for k, v, _ in settings["sessions"]}
    tokens = {k: v for k, v, _ in settings["tokens"]}
    assert (sessions["idle_timeout"], sessions["absolute_timeout"]) == (idle, absolute)
    assert (tokens["refresh_idle_ttl"], tokens["refresh_ttl"]) == (idle, absolute)
    long_reason = any(
        r.question == "session_length" for r in advise(Answers(session_length=length)).reasons
    )  # type: ignore[arg-type]
    assert long_reason == (length in ("days", "weeks"))


def test_cross_domain_adds_cors() -> None:
    settings = advise(Answers(cross_domain=True, clients=frozenset({"spa"}))).settings
    assert settings["cors"][0][:2] == ("allow_origins", ["https://app.example.com"])


@pytest.mark.parametrize(
    "answers",
    [
        {"services": 0},
        {"services": "2"},
        {"session_length": "years"},
        {"backends": "several"},
        {"clients": frozenset()},
        {"clients": frozenset({"desktop"})},
    ],
)
def test_invalid_answers(answers: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        Answers(**answers)


def test_to_toml_renders_every_type() -> None:
    text = to_toml(
        {
            "t": [
                ("a", True, ""),
                ("b", False, "no"),
                ("c", 3, ""),
                ("d", ["x"], ""),
                ("e", 'q"\\', ""),
            ]
        }
    )
    assert tomllib.loads(text) == {"t": {"a": True, "b": False, "c": 3, "d": ["x"], "e": 'q"\\'}}
    assert "b = false  # no" in text


def _grid() -> list[Answers]:
    client_sets = [
        frozenset(c) for n in range(1, len(CLIENTS) + 1) for c in itertools.combinations(CLIENTS, n)
    ]
    return [
        Answers(
            services=services,
            session_length=length,
            backends=backends,
            cross_domain=cross,
            clients=clients,
            instant_revocation=revoke,
            permission_changes=perms,
        )
        for services, length, backends, cross, clients, revoke, perms in itertools.product(
            (1, 3),
            SESSION_LENGTHS,
            ("one", "many"),
            (False, True),
            client_sets,
            (False, True),
            (False, True),
        )
    ]


def test_every_answer_set_gives_a_loadable_configuration(tmp_path: Path) -> None:
    path = tmp_path / "authwise.toml"
    kinds = set()
    configs: set[str] = set()
    for answers in _grid():
        advice = advise(answers)
        kinds.add(advice.recommendation)
        data = advice.to_dict()
        assert json.loads(json.dumps(data))["recommendation"] == advice.recommendation
        assert tomllib.loads(data["config_toml"]) == data["config"]
        # The framework: sessions unless a reason for JWT was given.
        has_jwt_reason = any(r.favours == "jwt" for r in advice.reasons)
        assert (advice.recommendation == "sessions") == (not has_jwt_reason)
        if answers.instant_revocation or answers.permission_changes:
            assert advice.revocation_seconds <= 300
        configs.add(data["config_toml"])
    assert kinds == {"sessions", "jwt", "hybrid"}
    for text in configs:
        path.write_text(text)
        settings = load_settings(config_file=path, environ={})
        tokens = tomllib.loads(text).get("tokens")
        if tokens is not None:
            assert settings.tokens.access_ttl == tokens["access_ttl"]


# -- the command ------------------------------------------------------------------------------


def test_flags_and_json() -> None:
    result = runner.invoke(
        app,
        [
            "advise",
            "--services",
            "3",
            "--client",
            "mobile",
            "--cross-domain",
            "--no-instant-revocation",
            "--no-permission-changes",
            "--session-length",
            "days",
            "--backends",
            "many",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["recommendation"] == "jwt"
    assert data["config"]["cors"]["allow_origins"] == ["https://app.example.com"]


def test_no_input_uses_defaults() -> None:
    result = runner.invoke(app, ["advise", "--no-input", "--json"])
    assert json.loads(result.stdout)["recommendation"] == "sessions"


def test_interactive_questionnaire() -> None:
    answers = "3\nweeks\nmany\ny\ndesktop\nweb,mobile\ny\nn\n"
    result = runner.invoke(app, ["advise"], input=answers)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Hybrid" in out
    assert "[services] 3 services verify identity" in out
    assert "Answer with web, spa and/or mobile." in result.stderr
    assert "Revocation window:" in out
    assert "[tokens]" in out
    assert "access_ttl = 300" in out


def test_prompts_go_to_stderr_so_json_stays_clean() -> None:
    result = runner.invoke(
        app, ["advise", "--json", "--services", "1"], input="hours\none\nn\nweb\nn\nn\n"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recommendation"] == "sessions"
    assert "How long" in result.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_unanswered_question_exits_2(as_json: bool) -> None:
    args = ["advise", "--json"] if as_json else ["advise"]
    result = runner.invoke(app, args, input="")
    assert result.exit_code == 2
    assert "unanswered" in result.output


def test_bad_flag_value_exits_2() -> None:
    result = runner.invoke(app, ["advise", "--no-input", "--session-length", "years", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage"
    result = runner.invoke(app, ["advise", "--no-input", "--client", "desktop"])
    assert result.exit_code == 2
    assert "clients must be" in result.stderr
