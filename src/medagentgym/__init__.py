"""MedAgentGym: an executable, offline training ground for LLM coding agents in biomedicine."""

import sys as _sys

__version__ = "0.1.0"

# gymnasium ids (``gymnasium.make("medagentgym:MedAgentGym-v0")``); only when gymnasium is already
# loaded, so the sandbox's processes and the CLI do not import it for nothing.
if "gymnasium" in _sys.modules:
    import medagentgym.env  # noqa: F401  (registers the ids)
