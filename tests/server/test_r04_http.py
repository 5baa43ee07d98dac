"""R04 over real HTTP: ``authwise serve`` as a subprocess, fed malformed input through its
real HTTP parser (uvicorn) rather than the in-process transport.

Bodies over ``server.max_body_bytes`` (with a length, chunked, streamed without end in
sight), broken framing, headers far over normal size, and bodies that are bad JSON, JSON of
the wrong type, the wrong content type, invalid UTF-8, NUL bytes or lone surrogates. Every
answer is a 4xx (the documented JSON error shape where the app answers), never a 500 and
never a hang: every exchange has a bounded timeout. The server stays healthy throughout and
logs no traceback, and a normal sign-in works at the end.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from .live import LiveServer, live_server

LIMIT = 32_768
USER = "r04-user"
PASSWORD = "correct horse battery staple"
COOKIE = "authwise_session"  # --dev: no __Host- prefix, no Secure
TIMEOUT = 10.0
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("r04") / "data"
    env = {
        "AUTHWISE_RATE_LIMITS_ENABLED": "false",
        "AUTHWISE_SERVER_MAX_BODY_BYTES": str(LIMIT),
    }
    with live_server(data, "--dev", "--registration", env=env) as server:
        r = httpx.post(
            f"{server.url}/users", json={"username": USER, "password": PASSWORD}, timeout=TIMEOUT
        )
        assert r.status_code == 202, r.text
        yield server


# -- Raw HTTP ---------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def exchange(live: LiveServer, request: bytes) -> Answer:
    """Send ``request`` as raw bytes on a new connection and read the answer, within
    ``TIMEOUT`` seconds for the whole exchange (a hang fails the test, it does not stall it).
    The request is sent from a thread, so a server that answers before reading it all (and
    then closes) is heard rather than lost in a broken pipe."""
    url = urlsplit(live.url)
    assert url.hostname == "127.0.0.1"  # loopback only
    with socket.create_connection((url.hostname, url.port or 80), timeout=TIMEOUT) as sock:

        def send() -> None:
            # OSError: the server stopped reading, and its answer is what counts.
            with contextlib.suppress(OSError):
                sock.sendall(request)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        data = bytearray()
        try:
            while True:
                head, sep, rest = bytes(data).partition(b"\r\n\r\n")
                if sep:
                    length = _content_length(head)
                    if length is not None and len(rest) >= length:
                        break
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise AssertionError(f"no answer within {TIMEOUT} s: {bytes(data[:200])!r}") from None
        except ConnectionResetError:
            pass  # closed after answering; whatever arrived is parsed below
        sender.join(TIMEOUT)
        assert not sender.is_alive(), "the request could not be sent within the timeout"
    head, sep, rest = bytes(data).partition(b"\r\n\r\n")
    assert sep, f"the connection closed without an answer: {bytes(data[:200])!r}"
    lines = head.decode("latin-1").split("\r\n")
    version, status, _ = lines[0].split(" ", 2)
    assert version == "HTTP/1.1", lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return Answer(int(status), headers, rest[:length])


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


def raw_request(
    live: LiveServer,
    method: str,
    path: str,
    headers: list[tuple[str, str]] | None = None,
    extra: bytes = b"",
    body: bytes = b"",
) -> bytes:
    """An HTTP/1.1 request as bytes; ``extra`` is appended to the header block verbatim."""
    host = urlsplit(live.url).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1") + extra + b"\r\n" + body


def chunked(body: bytes, size: int = 4096) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def sign_in_body(padding: int = 0) -> bytes:
    return json.dumps({"username": USER, "password": PASSWORD}).encode() + b" " * padding


# -- Checks -----------------------------------------------------------------------------------


def assert_error_shape(status: int, headers: Any, body: bytes, expected: set[int]) -> Any:
    """A 4xx in ``expected`` with the documented body: exactly ``error`` and
    ``error_description``, both non-empty strings, as JSON, with the security headers."""
    assert status in expected, (status, body[:300])
    assert 400 <= status < 500
    assert headers["content-type"].startswith(JSON), headers["content-type"]
    error = json.loads(body)
    assert set(error) == {"error", "error_description"}, error
    for key in ("error", "error_description"):
        assert isinstance(error[key], str), error
        assert error[key], error
    assert "Traceback" not in body.decode("utf-8", "replace")
    assert headers["x-content-type-options"] == "nosniff"
    return error


def assert_app_error(answer: Answer, expected: set[int]) -> Any:
    return assert_error_shape(answer.status, answer.headers, answer.body, expected)


_log_offset = [0]


@pytest.fixture(autouse=True)
def _log_mark(live: LiveServer) -> None:
    """Where the server log stood when the test began: each test answers for its own part."""
    _log_offset[0] = live.log.stat().st_size


def assert_no_traceback(live: LiveServer, offset: int = 0) -> None:
    with live.log.open("rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", "replace")
    for sign in ("Traceback", "unhandled", "Exception in ASGI application"):
        assert sign not in text, text[-4000:]


def assert_healthy(live: LiveServer) -> None:
    """GET /health answers 200, and nothing this test sent left a traceback in the log."""
    r = httpx.get(f"{live.url}/health", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "stores": {"database": "ok"}}
    assert_no_traceback(live, _log_offset[0])


def assert_sign_in_works(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        r = client.post("/session", json={"username": USER, "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert COOKIE in client.cookies
        me = client.get("/me")
        assert me.status_code == 200
        assert me.json()["username"] == USER
        assert me.json()["auth_method"] == "session"


# -- Bodies over the limit ----------------------------------------------------------------------


def test_r04_body_over_the_limit_with_content_length(live: LiveServer) -> None:
    for path, content_type in (("/session", JSON), ("/users", JSON), ("/oauth/token", FORM)):
        body = b"a" * (LIMIT + 1)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        answer = exchange(live, raw_request(live, "POST", path, headers, body=body))
        error = assert_app_error(answer, {413})
        assert error["error"] == "request_too_large"
    # At the limit, a valid body is read and answered; one byte more is refused.
    at_limit = sign_in_body(LIMIT - len(sign_in_body()))
    assert len(at_limit) == LIMIT
    headers = [("Content-Type", JSON), ("Content-Length", str(LIMIT))]
    answer = exchange(live, raw_request(live, "POST", "/session", headers, body=at_limit))
    assert answer.status == 200, answer.body
    over = sign_in_body(LIMIT + 1 - len(sign_in_body()))
    headers = [("Content-Type", JSON), ("Content-Length", str(LIMIT + 1))]
    answer = exchange(live, raw_request(live, "POST", "/session", headers, body=over))
    assert_app_error(answer, {413})
    assert_healthy(live)


def test_r04_announced_huge_body_is_refused_before_it_is_sent(live: LiveServer) -> None:
    """A Content-Length of 100 MB, with ``Expect: 100-continue`` and without: the answer is
    413 from the header alone, with no body sent at all (a server waiting for it would
    hang the exchange past its timeout)."""
    for expect in ([("Expect", "100-continue")], []):
        headers = [("Content-Type", JSON), ("Content-Length", "100000000"), *expect]
        answer = exchange(live, raw_request(live, "POST", "/session", headers))
        assert_app_error(answer, {413})
    assert_healthy(live)


def test_r04_chunked_body_over_the_limit(live: LiveServer) -> None:
    """The same body without a Content-Length, chunked: counted as it arrives."""
    for path, content_type in (("/session", JSON), ("/users", JSON), ("/oauth/token", FORM)):
        body = chunked(b"a" * (LIMIT + 1))
        headers = [("Content-Type", content_type), ("Transfer-Encoding", "chunked")]
        answer = exchange(live, raw_request(live, "POST", path, headers, body=body))
        assert_app_error(answer, {413})
    # Chunked is fine in itself: a valid sign-in sent chunked goes through.
    headers = [("Content-Type", JSON), ("Transfer-Encoding", "chunked")]
    answer = exchange(
        live, raw_request(live, "POST", "/session", headers, body=chunked(sign_in_body(), 7))
    )
    assert answer.status == 200, answer.body
    assert_healthy(live)


def test_r04_streamed_body_without_end_in_sight(live: LiveServer) -> None:
    """httpx with a generator body (chunked, no length): 16 MiB offered, 413 answered."""

    def stream() -> Iterator[bytes]:
        for _ in range(1024):
            yield b"a" * 16_384

    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        for path, content_type in (("/session", JSON), ("/oauth/token", FORM)):
            r = client.post(path, content=stream(), headers={"Content-Type": content_type})
            assert "content-length" not in r.request.headers
            assert r.request.headers["transfer-encoding"] == "chunked"
            assert_error_shape(r.status_code, r.headers, r.content, {413})
    assert_healthy(live)


# -- Broken framing ------------------------------------------------------------------------------

FRAMING: list[tuple[str, list[tuple[str, str]], bytes]] = [
    ("Content-Length not a number", [("Content-Length", "abc")], b"{}"),
    ("negative Content-Length", [("Content-Length", "-1")], b"{}"),
    ("two Content-Lengths", [("Content-Length", "2"), ("Content-Length", "3")], b"{}"),
    (
        "Content-Length and chunked",
        [("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
        b"0\r\n\r\n",
    ),
    ("bad chunk size", [("Transfer-Encoding", "chunked")], b"zz\r\nabc\r\n0\r\n\r\n"),
    (
        "chunk longer than announced",
        [("Transfer-Encoding", "chunked")],
        b"2\r\nabcdef\r\n0\r\n\r\n",
    ),
]


@pytest.mark.parametrize(("name", "headers", "body"), FRAMING, ids=[f[0] for f in FRAMING])
def test_r04_broken_framing(
    live: LiveServer, name: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    """Refused by the HTTP parser (400) or the app (4xx); a body that breaks off in the
    middle is no 500 and no traceback in the log."""
    request = raw_request(live, "POST", "/session", [("Content-Type", JSON), *headers], body=body)
    answer = exchange(live, request)
    assert 400 <= answer.status < 500, (answer.status, answer.body)
    if answer.headers.get("content-type", "").startswith(JSON):
        assert_app_error(answer, {answer.status})
    assert_healthy(live)


def test_r04_client_gone_in_the_middle_of_a_body(live: LiveServer) -> None:
    """A client that announces a body, sends half of it and closes: nothing to answer, but
    no 500 and no traceback either."""
    url = urlsplit(live.url)
    for headers in ([("Content-Length", "1000")], [("Transfer-Encoding", "chunked")]):
        request = raw_request(live, "POST", "/session", [("Content-Type", JSON), *headers])
        partial = b'{"username": "r04-' if "Content-Length" in headers[0] else b'20\r\n{"user'
        with socket.create_connection((url.hostname, url.port or 80), timeout=TIMEOUT) as sock:
            sock.sendall(request + partial)
    assert_healthy(live)
    assert_sign_in_works(live)
    assert_healthy(live)


# -- Headers far over normal size ---------------------------------------------------------------

HUGE_HEADERS: list[tuple[str, str, str, list[tuple[str, str]], bytes]] = [
    ("64 KiB cookie", "GET", "/me", [("Cookie", "a=" + "b" * 65_536)], b""),
    ("64 KiB session cookie", "GET", "/me", [("Cookie", f"{COOKIE}=aw_s_" + "A" * 65_536)], b""),
    (
        "2000 cookies",
        "GET",
        "/sessions",
        [("Cookie", "; ".join(f"c{i}=v" for i in range(2000)))],
        b"",
    ),
    ("1 MiB cookie", "GET", "/me", [("Cookie", f"{COOKIE}=" + "A" * 1_048_576)], b""),
    ("200 headers", "GET", "/me", [(f"X-Filler-{i}", "v" * 64) for i in range(200)], b""),
    ("2000 headers", "GET", "/session", [(f"X-Filler-{i}", "v") for i in range(2000)], b""),
    ("100 KiB bearer", "GET", "/me", [("Authorization", "Bearer " + "a" * 102_400)], b""),
    (
        "100 KiB bearer of dots",
        "GET",
        "/sessions",
        [("Authorization", "Bearer " + "a." * 51_200)],
        b"",
    ),
    ("100 KiB Basic", "GET", "/revocations", [("Authorization", "Basic " + "QUFB" * 25_600)], b""),
    (
        "100 KiB Basic on introspection",
        "POST",
        "/oauth/introspect",
        [
            ("Authorization", "Basic " + "A" * 102_400),
            ("Content-Type", FORM),
            ("Content-Length", "7"),
        ],
        b"token=x",
    ),
    (
        "100 KiB CSRF token",
        "DELETE",
        "/session",
        [("Cookie", f"{COOKIE}=aw_s_x"), ("X-CSRF-Token", "A" * 102_400)],
        b"",
    ),
    (
        "100 KiB Origin on sign-in",
        "POST",
        "/session",
        [("Origin", "https://" + "a" * 102_400), ("Content-Type", JSON), ("Content-Length", "2")],
        b"{}",
    ),
    (
        "100 KiB Content-Type",
        "POST",
        "/session",
        [("Content-Type", "application/json; x=" + "a" * 102_400), ("Content-Length", "2")],
        b"{}",
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "headers", "body"), HUGE_HEADERS, ids=[h[0] for h in HUGE_HEADERS]
)
def test_r04_huge_headers(
    live: LiveServer,
    name: str,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    answer = exchange(live, raw_request(live, method, path, headers, body=body))
    assert answer.status in {400, 401, 403, 413, 431}, (answer.status, answer.body[:300])
    if answer.headers.get("content-type", "").startswith(JSON):
        assert_app_error(answer, {answer.status})
    assert_healthy(live)


def test_r04_header_bytes_outside_ascii(live: LiveServer) -> None:
    """Latin-1 and invalid UTF-8 bytes in credentials: refused as credentials, no 500."""
    for path, value in (
        ("/me", b"Bearer \xc3\xa9\xff\xfe"),
        ("/revocations", b"Basic \xc3\xa9\xff\xfe"),
        ("/revocations", b"Basic w6n/"),  # base64 of bytes that are not UTF-8
        ("/me", b"\xff\xfe \xc3\xa9"),
    ):
        request = raw_request(live, "GET", path, extra=b"Authorization: " + value + b"\r\n")
        answer = exchange(live, request)
        assert_app_error(answer, {401})
    request = raw_request(
        live, "GET", "/me", extra=b"Cookie: " + COOKIE.encode() + b"=\xff\xfe\r\n"
    )
    assert_app_error(exchange(live, request), {401})
    assert_healthy(live)


def test_r04_huge_user_agent_is_cut_not_stored_whole(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        r = client.post(
            "/session",
            json={"username": USER, "password": PASSWORD},
            headers={"User-Agent": "u" * 102_400},
        )
        assert r.status_code == 200
        assert len(r.json()["session"]["user_agent"]) <= 256
        sessions = client.get("/sessions").json()["sessions"]
        assert all(len(s["user_agent"] or "") <= 256 for s in sessions)
    assert_healthy(live)


# -- Malformed bodies -------------------------------------------------------------------------

VALID = {"username": USER, "password": PASSWORD}


def _with(**fields: Any) -> bytes:
    """A sign-in body with ``fields`` replaced, escapes as JSON writes them (so a lone
    surrogate goes over the wire as ``\\ud800``)."""
    return json.dumps({**VALID, **fields}).encode()


DEEP_ARRAY = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"username": ' + b'{"a": ' * 4_000 + b"1" + b"}" * 4_000 + b', "password": "x"}'

# (name, content type or None for no header, body, statuses)
JSON_BODIES: list[tuple[str, str | None, bytes, set[int]]] = [
    ("truncated JSON", JSON, b'{"username": "r04-user", "password": ', {400}),
    ("not JSON", JSON, b"username=r04-user&password=x", {400}),
    ("trailing garbage", JSON, _with() + b" x", {400}),
    ("single quotes", JSON, b"{'username': 'r04-user', 'password': 'x'}", {400}),
    ("empty body", JSON, b"", {400}),
    ("NaN", JSON, b'{"username": NaN, "password": "x"}', {400}),
    ("JSON null", JSON, b"null", {400}),
    ("JSON array", JSON, b'["r04-user", "correct horse battery staple"]', {400}),
    ("array holding the object", JSON, b"[" + _with() + b"]", {400}),
    ("JSON number", JSON, b"42", {400}),
    ("number out of range", JSON, b"1e999", {400}),
    ("JSON string", JSON, b'"r04-user"', {400}),
    ("JSON true", JSON, b"true", {400}),
    ("array nested 10k deep", JSON, DEEP_ARRAY, {400}),
    ("object nested 4k deep in a field", JSON, DEEP_OBJECT, {400}),
    ("username a number", JSON, _with(username=1), {400}),
    ("username a list", JSON, _with(username=[USER]), {400}),
    ("username an object", JSON, _with(username={"$ne": ""}), {400}),
    ("username null", JSON, _with(username=None), {400}),
    ("username true", JSON, _with(username=True), {400}),
    ("username empty", JSON, _with(username=""), {400}),
    ("username too long", JSON, _with(username="a" * 257), {400}),
    ("password a number", JSON, _with(password=12345678), {400}),
    ("password a list", JSON, _with(password=[PASSWORD]), {400}),
    ("password too long", JSON, _with(password="a" * 1025), {400}),
    ("NUL in username", JSON, _with(username="r04\u0000user"), {400}),
    ("NUL in password", JSON, _with(password=PASSWORD + "\u0000"), {400}),
    ("raw NUL byte in a string", JSON, _with().replace(b"r04-user", b"r04\x00user"), {400}),
    ("lone high surrogate in username", JSON, _with(username="r04\ud800"), {400}),
    ("lone low surrogate in username", JSON, _with(username="\udc00r04"), {400}),
    ("lone high surrogate in password", JSON, _with(password=PASSWORD + "\ud800"), {400}),
    ("reversed surrogate pair in password", JSON, _with(password="\udc00\ud800" + PASSWORD), {400}),
    ("invalid UTF-8 in username", JSON, _with().replace(b"r04-user", b"r04\xff\xfe"), {400}),
    ("overlong UTF-8 in password", JSON, _with().replace(b"battery", b"\xc0\xaf"), {400}),
    ("UTF-8 encoded surrogate", JSON, _with().replace(b"battery", b"\xed\xa0\x80"), {400}),
    ("truncated UTF-8 sequence", JSON, _with().replace(b"staple", b"\xe2\x82"), {400}),
    ("byte order mark", JSON, b"\xef\xbb\xbf" + _with(), {400}),
    ("UTF-16 JSON", "application/json; charset=utf-16", json.dumps(VALID).encode("utf-16"), {400}),
    ("text/plain", "text/plain", _with(), {415}),
    ("text/plain form", "text/plain", b"username=r04-user&password=x", {415}),
    ("multipart", "multipart/form-data; boundary=x", b"--x\r\n\r\nr04\r\n--x--\r\n", {415}),
    ("XML", "application/xml", b"<user>r04-user</user>", {415}),
    ("JSON lookalike type", "application/jsonx", _with(), {415}),
    ("no Content-Type", None, _with(), {415}),
    ("form holding JSON", FORM, _with(), {400}),
    ("form with invalid UTF-8", FORM, b"username=r04\xff&password=x", {400}),
    ("form with a NUL", FORM, b"username=r04%00user&password=correct+horse", {400}),
    ("form with a percent-encoded surrogate", FORM, b"username=r04%ED%A0%80&password=x", {400}),
    (
        "form with a percent-encoded surrogate in the password",
        FORM,
        b"username=r04-new-user&password=correct+horse+%ED%A0%80+battery",
        {400},
    ),
    (
        "form with percent-encoded Latin-1 in the password",
        FORM,
        b"username=r04-new-user&password=correct+h%F6rse+battery+staple",
        {400},
    ),
    ("form with a repeated field", FORM, b"username=a&username=b&password=correct+horse", {400}),
    ("form of junk", FORM, b"&&=%zz%", {400}),
]


@pytest.mark.parametrize("path", ["/session", "/users"])
def test_r04_malformed_json_endpoint_bodies(live: LiveServer, path: str) -> None:
    failures = []
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        for name, content_type, body, expected in JSON_BODIES:
            headers = {"Content-Type": content_type} if content_type else {}
            r = client.post(path, content=body, headers=headers)
            try:
                assert_error_shape(r.status_code, r.headers, r.content, expected)
            except AssertionError as exc:
                failures.append(f"{name}: {r.status_code} {r.text[:200]} ({exc})")
    assert not failures, "\n".join(failures)
    assert_healthy(live)
    assert_sign_in_works(live)


def _grant(extra: bytes) -> bytes:
    return b"grant_type=password&" + extra


TOKEN_BODIES: list[tuple[str, str | None, bytes, set[int]]] = [
    ("JSON", JSON, b'{"grant_type": "password", "username": "r04-user", "password": "x"}', {415}),
    ("JSON array", JSON, b"[]", {415}),
    ("JSON nested 10k deep", JSON, DEEP_ARRAY, {415}),
    ("JSON nested 10k deep as a form", FORM, DEEP_ARRAY, {400}),
    ("text/plain", "text/plain", _grant(b"username=r04-user&password=x"), {415}),
    ("multipart", "multipart/form-data; boundary=x", b"--x\r\n\r\nr04\r\n--x--\r\n", {415}),
    ("no Content-Type", None, _grant(b"username=r04-user&password=x"), {415}),
    ("empty form", FORM, b"", {400}),
    ("form of junk", FORM, b"&&=%zz%", {400}),
    ("invalid UTF-8 in username", FORM, _grant(b"username=r04\xff&password=x"), {400}),
    ("invalid UTF-8 in password", FORM, _grant(b"username=r04-user&password=\xc0\xaf"), {400}),
    ("NUL in username", FORM, _grant(b"username=r04%00user&password=x"), {400}),
    ("NUL in password", FORM, _grant(b"username=r04-user&password=x%00"), {400}),
    ("raw NUL byte", FORM, _grant(b"username=r04\x00user&password=x"), {400}),
    (
        "percent-encoded surrogate in username",
        FORM,
        _grant(b"username=%ED%A0%80&password=x"),
        {400},
    ),
    (
        "percent-encoded surrogate in password",
        FORM,
        _grant(b"username=r04-user&password=%ED%B0%80"),
        {400},
    ),
    ("percent-encoded Latin-1", FORM, _grant(b"username=r04-user&password=h%F6rse"), {400}),
    ("repeated grant_type", FORM, b"grant_type=password&grant_type=refresh_token", {400}),
    ("grant_type with a NUL", FORM, b"grant_type=password%00&username=r04-user&password=x", {400}),
    ("username too long", FORM, _grant(b"username=" + b"a" * 257 + b"&password=x"), {400}),
    (
        "refresh token of invalid UTF-8",
        FORM,
        b"grant_type=refresh_token&refresh_token=aw_rt_\xff",
        {400},
    ),
    (
        "refresh token too long",
        FORM,
        b"grant_type=refresh_token&refresh_token=" + b"a" * 600,
        {400},
    ),
]


def test_r04_malformed_token_endpoint_bodies(live: LiveServer) -> None:
    failures = []
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        for name, content_type, body, expected in TOKEN_BODIES:
            headers = {"Content-Type": content_type} if content_type else {}
            r = client.post("/oauth/token", content=body, headers=headers)
            try:
                assert_error_shape(r.status_code, r.headers, r.content, expected)
                assert r.headers["cache-control"] == "no-store"
            except AssertionError as exc:
                failures.append(f"{name}: {r.status_code} {r.text[:200]} ({exc})")
    assert not failures, "\n".join(failures)
    assert_healthy(live)


def test_r04_invalid_encodings_are_refused_not_repaired(live: LiveServer) -> None:
    """A form's percent-escapes that are not UTF-8 are refused, as raw bytes are: never
    turned into U+FFFD and taken as given, where any two unreadable passwords would be the
    same password. Registration with one creates no account."""
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        for password in (b"correct+h%F6rse+battery+staple", b"correct+h%FCrse+battery+staple"):
            r = client.post(
                "/users",
                content=b"username=r04-latin1&password=" + password,
                headers={"Content-Type": FORM},
            )
            error = assert_error_shape(r.status_code, r.headers, r.content, {400})
            assert error["error"] == "invalid_request"
        for path, body in (
            ("/session", b"username=r04-user&password=correct+h%F6rse"),
            ("/oauth/token", b"grant_type=password&username=r04-user&password=h%F6rse"),
        ):
            r = client.post(path, content=body, headers={"Content-Type": FORM})
            error = assert_error_shape(r.status_code, r.headers, r.content, {400})
            assert error["error"] == "invalid_request"  # not a wrong password
        # Had it been repaired, this would be the account's password.
        r = client.post(
            "/session",
            json={"username": "r04-latin1", "password": "correct h\ufffdrse battery staple"},
        )
        assert r.status_code == 401
    assert_healthy(live)


# -- After all of it ---------------------------------------------------------------------------


def test_r04_afterwards_the_server_is_healthy_and_sign_in_works(live: LiveServer) -> None:
    assert_healthy(live)
    assert_no_traceback(live)  # the whole log, from the start
    assert_sign_in_works(live)
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        r = client.post(
            "/oauth/token",
            data={"grant_type": "password", "username": USER, "password": PASSWORD},
        )
        assert r.status_code == 200
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert client.get("/me", headers=bearer).json()["auth_method"] == "bearer"
    assert_healthy(live)
