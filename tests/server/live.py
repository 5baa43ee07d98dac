"""The server as a real subprocess on a free port (``authwise serve``), for tests over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
AUTHWISE = Path(sys.executable).with_name("authwise")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def inherited_environ() -> dict[str, str]:
    """This process's environment without any ``AUTHWISE_*`` variable: a test server is
    configured by its test alone, never by the settings of whoever runs the tests."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("AUTHWISE_")}


@dataclass(frozen=True)
class LiveServer:
    url: str
    data_dir: Path
    env: Mapping[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, compare=False, repr=False)
    """The ``authwise serve`` process itself (one worker: uvicorn serves in it), for tests
    that kill it."""


@contextmanager
def live_server(
    data_dir: Path, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[LiveServer]:
    port = free_port()
    full_env = {**inherited_environ(), "AUTHWISE_DATA_DIR": str(data_dir), **(env or {})}
    log = data_dir.parent / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(AUTHWISE), "serve", "--port", str(port), *args],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield LiveServer(url, data_dir, full_env, log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_user(env: Mapping[str, str], username: str, password: str, *options: str) -> None:
    """``authwise users create USERNAME --password-stdin`` against a deployment's settings."""
    created = subprocess.run(
        [str(AUTHWISE), "users", "create", username, *options, "--password-stdin"],
        input=password + "\n",
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
