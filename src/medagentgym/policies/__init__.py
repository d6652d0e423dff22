"""Policies: the oracle, scripted test policies (model policies come with the rollout issue)."""

from collections.abc import Callable

from medagentgym.policies.base import Policy, PolicyError, PolicyReply
from medagentgym.policies.oracle import OraclePolicy, WrongAnswerPolicy, wrong_answer
from medagentgym.policies.scripted import ScriptedPolicy

POLICIES: dict[str, Callable[..., Policy]] = {
    OraclePolicy.name: OraclePolicy,
    WrongAnswerPolicy.name: WrongAnswerPolicy,
}

__all__ = [
    "POLICIES",
    "OraclePolicy",
    "Policy",
    "PolicyError",
    "PolicyReply",
    "ScriptedPolicy",
    "WrongAnswerPolicy",
    "wrong_answer",
]
