"""Workers that do not outlive their supervisor.

With ``--workers N`` the ASGI server's parent process binds the port and hands the socket to
N worker processes. If the parent is killed outright (SIGKILL, the OOM killer), nothing tells
the workers: they keep serving on the inherited socket, and a restarted server cannot bind
the port ("Address already in use") until someone finds and kills them.

:func:`exit_with_parent` makes a worker shut down gracefully (SIGTERM to itself: the server
stops accepting, finishes what it is doing and runs the lifespan shutdown) when its parent
goes away. On Linux the kernel delivers that signal (``PR_SET_PDEATHSIG``); elsewhere a
thread notices within a second that the parent is gone (``os.getppid()`` changes).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import sys
import threading

__all__ = ["exit_with_parent"]

log = logging.getLogger("authwise.server")

_PR_SET_PDEATHSIG = 1
POLL_INTERVAL = 1.0


def exit_with_parent() -> bool:
    """In a worker process (one started by ``multiprocessing``), arrange to receive SIGTERM
    when the parent dies; returns whether this process is such a worker. In the server's own
    process (one worker: it serves in the parent) it does nothing."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return False
    parent_pid = parent.pid
    if not _linux_death_signal():
        _watch(parent_pid)
    # The parent may have died before the death signal was asked for: then it never comes.
    if os.getppid() != parent_pid:
        _parent_gone(parent_pid)
    return True


def _linux_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
            return True
    return False


def _watch(parent_pid: int) -> None:
    def poll() -> None:
        stop = threading.Event()
        while not stop.wait(POLL_INTERVAL):
            if os.getppid() != parent_pid:
                _parent_gone(parent_pid)
                return

    threading.Thread(target=poll, name="authwise-parent-watch", daemon=True).start()


def _parent_gone(parent_pid: int) -> None:
    log.warning("supervisor process %d is gone: this worker shuts down", parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)
