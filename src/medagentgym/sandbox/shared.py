"""One sandbox server per process, shared by every Env that was not given its own.

A fork-server costs a process, a warm interpreter and ~100 ms to start; a library user who makes
64 envs (``gymnasium.make`` in a vector env, a trainer's environment_factory, the HTTP server's
sessions) should pay that once, not 64 times. The server is replaced when it was closed, when its
process died, or when this process is a fork of the one that started it (a Ray or multiprocessing
worker must not talk to its parent's server), and closed at interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import threading

from medagentgym.sandbox.client import SandboxServer

_lock = threading.Lock()
_server: SandboxServer | None = None
_owner_pid: int | None = None
_atexit_registered = False


def _usable(server: SandboxServer) -> bool:
    if server.closed or _owner_pid != os.getpid():
        return False
    return not server.started or server.running


def shared_server() -> SandboxServer:
    """This process's shared sandbox server (started on first use by whoever opens a session)."""
    global _server, _owner_pid, _atexit_registered
    with _lock:
        if _server is not None and _usable(_server):
            return _server
        stale, _server = _server, SandboxServer()
        same_process = _owner_pid == os.getpid()
        _owner_pid = os.getpid()
        if not _atexit_registered:
            atexit.register(close_shared_server)
            _atexit_registered = True
    if stale is not None and same_process:
        stale.close()
    return _server


def close_shared_server() -> None:
    """Close the shared server (its sessions end); the next ``shared_server()`` starts a new one."""
    global _server
    with _lock:
        server, _server = _server, None
        mine = _owner_pid == os.getpid()
    if server is not None and mine:
        server.close()
