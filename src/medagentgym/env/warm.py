"""Warm sandbox sessions: how many a runner asks for, and asking a server for them once.

A session forked and hardened ahead of time turns an episode's session start into taking one from
a pool (the sandbox keeps the pool, replenishes it in the background and never hands a session to
two episodes: ``SandboxServer(warm_sessions=N)``, ``prewarm(resources, limits=None, n=None)``).
An env may also be given another sandbox object (a test double, a remote sandbox) without
``prewarm``; it is then used exactly as before.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from medagentgym.catalog.sample import Resource

#: Warm sessions per (resources, limits) a runner asks of the server it starts, per live session
#: it allows; capped by ``MAX_DEFAULT_WARM_SESSIONS``.
MAX_DEFAULT_WARM_SESSIONS = 8


def default_warm_sessions(max_sessions: int) -> int:
    """A runner's pool size when none is asked for: enough that an episode ending and the next
    starting rarely find the pool empty, bounded so idle sessions stay a small memory cost."""
    return max(1, min(max_sessions, MAX_DEFAULT_WARM_SESSIONS))


def server_options(warm_sessions: int) -> dict[str, Any]:
    """Keyword arguments for a ``SandboxServer`` with ``warm_sessions`` (none when none is asked for)."""
    return {"warm_sessions": warm_sessions} if warm_sessions > 0 else {}


_asked_lock = threading.Lock()
_asked: weakref.WeakKeyDictionary[Any, set[tuple[tuple[Resource, ...], int]]] = weakref.WeakKeyDictionary()


def ask_warm_sessions(server: Any, resources: Sequence[Resource], n: int) -> bool:
    """Ask ``server`` to keep ``n`` sessions warm for ``resources``; False when it cannot.

    A server's ``prewarm`` keeps the pool filled from then on and blocks until it is, so it is
    asked once per (server, resources, n), not at every reset. Never raises: a pool that cannot
    be filled only means the episode's session starts cold.
    """
    prewarm = getattr(server, "prewarm", None)
    if prewarm is None or n <= 0:
        return False
    key = (tuple(resources), n)
    with _asked_lock:
        asked = _asked.setdefault(server, set())
        if key in asked:
            return True
        asked.add(key)
    try:
        prewarm(resources=key[0], n=n)
    except Exception:  # noqa: BLE001 - warming is an optimisation; the episode must go on
        with _asked_lock:
            asked.discard(key)
        return False
    return True
