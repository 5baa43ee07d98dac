"""schemathesis over /openapi.json against the running server (R04): for valid and for
malformed input, no 500 and no response (status, content type, headers, body) outside the
document."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .live import AUTHWISE, LiveServer, live_server

PASSWORD = "correct horse battery staple"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    with live_server(
        data, "--registration", env={"AUTHWISE_RATE_LIMITS_ENABLED": "false"}
    ) as server:
        created = subprocess.run(
            [str(AUTHWISE), "users", "create", "fuzz-admin", "--role", "admin", "--password-stdin"],
            input=PASSWORD + "\n",
            env=dict(server.env),
            capture_output=True,
            text=True,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        yield server


class Admin:
    """An admin bearer token, renewed when a fuzzed request has revoked it (logout
    everywhere, revoke everything and role changes all do)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.token = ""

    def header(self) -> dict[str, str]:
        if not self.token or httpx.get(f"{self.url}/me", headers=self._h()).status_code != 200:
            r = httpx.post(
                f"{self.url}/oauth/token",
                data={"grant_type": "password", "username": "fuzz-admin", "password": PASSWORD},
            )
            assert r.status_code == 200, r.text
            self.token = r.json()["access_token"]
        return self._h()

    def _h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def test_api_conforms_to_its_document(live: LiveServer) -> None:
    api = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    admin = Admin(live.url)
    failures: list[str] = []
    statuses: dict[int, int] = {}
    answered: set[str] = set()
    handled: set[str] = set()  # got past authentication: neither 401 nor 403
    operations = [result.ok() for result in api.get_all_operations()]
    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def run(case: Any) -> None:
                case.headers = {**(case.headers or {}), **admin.header()}
                response = case.call_and_validate(base_url=live.url, checks=CHECKS)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code < 300:
                    answered.add(case.operation.label)
                if response.status_code not in (401, 403):
                    handled.add(case.operation.label)

            try:
                run()
            except Unsatisfiable:
                # An operation without parameters or body has no malformed input to send.
                assert mode is GenerationMode.NEGATIVE, operation.path
            except Exception as exc:  # report every operation's failure at once
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
                )
    assert not failures, "\n\n".join(failures)
    assert len(operations) >= 25
    assert 500 not in statuses
    # The admin token got the authenticated operations real answers, not only 401s.
    assert {"GET /me", "GET /sessions", "GET /admin/users", "POST /oauth/revoke"} <= answered
    assert sum(v for k, v in statuses.items() if 400 <= k < 500) > 0
    # Every admin operation ran its handler with the admin token (random IDs: mostly 404s,
    # bad bodies 400s), so malformed input reached the code that parses it (issue 11).
    admin_operations = {o.label for o in operations if o.path.startswith("/admin/")}
    assert len(admin_operations) >= 7
    assert admin_operations <= handled, admin_operations - handled
