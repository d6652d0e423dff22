"""Where agent code runs: a warm fork-server and one stateful session per episode.

    with SandboxServer() as server, server.open_session(sample.resources) as session:
        result = session.run_python("df = pd.DataFrame({'a': [1, 2]})\\ndf.a.sum()")
        result.value_repr  # '3'

Why this shape (fork-server, session per episode, named hardening layers): the design note
SANDBOX.md. Record ``SandboxServer.level`` and ``.layers`` with every trajectory.
"""

from medagentgym.sandbox.client import SandboxError, SandboxServer, Session, SessionClosedError
from medagentgym.sandbox.hardening import DEFAULT_LAYERS, ChildContext, HardeningLayer, LayerUnavailable
from medagentgym.sandbox.limits import SandboxLimits
from medagentgym.sandbox.results import ExecResult, ExecStatus
from medagentgym.sandbox.shared import close_shared_server, shared_server

__all__ = [
    "DEFAULT_LAYERS",
    "ChildContext",
    "ExecResult",
    "ExecStatus",
    "HardeningLayer",
    "LayerUnavailable",
    "SandboxError",
    "SandboxLimits",
    "SandboxServer",
    "Session",
    "SessionClosedError",
    "close_shared_server",
    "shared_server",
]
