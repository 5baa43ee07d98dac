"""The README's configuration example is a real configuration: it loads, and means what the
README says it means."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from authwise.config.loading import load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_configuration_example_loads(tmp_path: Path) -> None:
    [block] = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    config = tmp_path / "authwise.toml"
    config.write_text(block)
    settings = load_settings(config_file=config, environ={})
    assert settings.server.public_url == "https://auth.example.com"
    assert settings.server.registration is False
    assert settings.tokens.audiences == ("https://api.example.com",)
    assert (settings.tokens.access_ttl, settings.tokens.algorithm) == (300, "ES256")
    assert (settings.sessions.idle_timeout, settings.sessions.absolute_timeout) == (1800, 28800)
    assert settings.storage.redis_url == "redis://cache:6379/0"
    assert settings.cors.allow_origins == ("https://app.example.com",)


def test_the_readme_python_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    tokens, sessions = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    run: dict[str, Any] = {}
    exec(compile(tokens, "README.md", "exec"), run)  # noqa: S102 - our own README
    assert run["access"].sub == "user-42"
    assert capsys.readouterr().out == "user-42 ('reader',)\n"
    run = {}
    exec(compile(sessions, "README.md", "exec"), run)  # noqa: S102
    assert run["decision"].active
    assert not run["decision"].rotate
    assert list(run["store"]) == [run["new"].digest]  # the store holds no session ID
