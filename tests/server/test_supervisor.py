"""The worker supervisor killed outright (SIGKILL of ``authwise serve --workers 2``): the
workers notice, shut down and free the port, so the server starts again on the same port."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from authwise.server.supervision import exit_with_parent

from ..storage.faults import RedisServer
from .live import AUTHWISE, free_port, inherited_environ


def _serve(data: Path, port: int, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**inherited_environ(), "AUTHWISE_DATA_DIR": str(data), "AUTHWISE_REDIS_URL": redis_url}
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(AUTHWISE), "serve", "--dev", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"server exited: {log.read_text()}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"server did not start: {log.read_text()}"
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


def test_workers_exit_when_the_supervisor_is_killed_and_the_port_is_free_again(
    tmp_path: Path,
) -> None:
    redis = RedisServer()
    redis.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    first = _serve(tmp_path / "data", port, redis.url, log)
    second: subprocess.Popen[bytes] | None = None
    workers: list[int] = []
    try:
        _wait_healthy(url, first, log)
        workers = _children(first.pid)
        spawned = [p for p in workers if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(spawned) == 2, workers
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "the workers outlived their supervisor"
            time.sleep(0.1)
        # They stopped as on SIGTERM: gracefully, through the lifespan shutdown.
        assert log.read_text().count("Application shutdown complete") == 2
        second = _serve(tmp_path / "data", port, redis.url, log)
        _wait_healthy(url, second, log)
        assert "Address already in use" not in log.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        redis.cleanup()


def _worker(pid_file: str, poll: bool) -> None:
    """A worker that arranges to exit with its parent (by polling, when ``poll``)."""
    from authwise.server import supervision

    if poll:
        supervision._linux_death_signal = lambda: False  # type: ignore[assignment]
        supervision.POLL_INTERVAL = 0.05
    assert supervision.exit_with_parent()
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        time.sleep(1)


def _supervisor(pid_file: str, poll: bool) -> None:
    """Starts a worker, then dies without a word, as under SIGKILL."""
    worker = multiprocessing.get_context("spawn").Process(target=_worker, args=(pid_file, poll))
    worker.start()
    for _ in range(600):
        if Path(pid_file).exists() and Path(pid_file).read_text():
            break
        time.sleep(0.05)
    os._exit(0)


@pytest.mark.parametrize("poll", [False, True], ids=["death-signal", "polling"])
def test_a_worker_exits_when_its_parent_dies(tmp_path: Path, poll: bool) -> None:
    pid_file = tmp_path / "worker.pid"
    supervisor = multiprocessing.get_context("spawn").Process(
        target=_supervisor, args=(str(pid_file), poll)
    )
    supervisor.start()
    supervisor.join(timeout=60)
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while _alive(worker):
        if time.monotonic() > deadline:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the worker outlived its parent")
        time.sleep(0.05)


def test_the_servers_own_process_is_no_worker() -> None:
    assert exit_with_parent() is False
