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

# The gymnasium ids (env/registration.py): registered whenever the env is imported, so
# ``gymnasium.make("MedAgentGym-v0")`` works after any import of the env.
from medagentgym.env.registration import register_envs as _register_envs  # noqa: E402

_register_envs()
