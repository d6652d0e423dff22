"""The gymnasium environment, its actions and the episode prompt."""

from medagentgym.env.actions import Action, ActionParseError, parse_action, tool_schemas
from medagentgym.env.env import EnvConfig, MedAgentEnv, render_execution

__all__ = [
    "Action",
    "ActionParseError",
    "EnvConfig",
    "MedAgentEnv",
    "parse_action",
    "render_execution",
    "tool_schemas",
]
