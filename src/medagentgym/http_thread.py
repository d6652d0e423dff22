"""A real uvicorn server on a free loopback port in a background thread.

Tests and benchmarks of the HTTP pieces (the mock LLM, the environment server) need real
sockets and a real server rather than an in-process test client, and must never race for a port:
the socket is bound first and handed to uvicorn.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free port on ``host`` (not listening yet)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextlib.contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    *,
    name: str = "medagentgym-http",
    lifespan: Literal["auto", "on", "off"] = "auto",
    shutdown_s: float = 5.0,
    start_timeout_s: float = 30.0,
) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields ``http://host:port``."""
    import uvicorn

    sock = free_socket(host)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan=lifespan, timeout_graceful_shutdown=shutdown_s, backlog=4096
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=2 * shutdown_s)
        sock.close()
