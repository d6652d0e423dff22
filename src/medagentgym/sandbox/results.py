"""What one execution in a sandbox session returns. Shared by the sandbox, the env and trajectories."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

ExecStatus = Literal["ok", "error", "timeout", "crashed", "infra_error"]


class ExecResult(BaseModel):
    """The outcome of running one snippet (Python or SQL) in a session.

    - ``ok``: ran to the end. ``error``: the snippet raised (``error`` holds the traceback tail).
    - ``timeout``: the wall-clock limit passed; ``timed_out`` is set. If the session had to be
      killed to stop it, ``session_restarted`` is set and earlier variables are gone.
    - ``crashed``: the session process died (segfault, kill by a limit); it was restarted.
    - ``infra_error``: the sandbox itself failed (not the agent's fault).
    """

    status: ExecStatus
    stdout: str = ""
    stderr: str = ""
    value_repr: str | None = None  # notebook-style echo of a final expression
    error: str | None = None
    duration_s: float = 0.0
    timed_out: bool = False
    truncated: bool = False
    session_restarted: bool = False
