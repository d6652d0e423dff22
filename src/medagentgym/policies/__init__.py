"""Policies, found by name: the oracle and test policies here, model policies loaded lazily.

A ``PolicySpec`` (a name and options) is what crosses process boundaries (the CLI, Ray workers);
``make_policy`` turns it into a Policy through the class's ``from_options``. Model policies import
heavy libraries (httpx, torch) only when chosen. ``preflight`` checks a built policy's remote
dependency before a run starts.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, Field

from medagentgym.policies.base import Policy, PolicyError, PolicyReply, PreflightError
from medagentgym.policies.oracle import OraclePolicy, WrongAnswerPolicy, wrong_answer
from medagentgym.policies.scripted import ScriptedPolicy

POLICY_CLASSES: dict[str, str] = {
    "oracle": "medagentgym.policies.oracle:OraclePolicy",
    "wrong-answer": "medagentgym.policies.oracle:WrongAnswerPolicy",
    "openai": "medagentgym.policies.openai_chat:OpenAIChatPolicy",
    "transformers": "medagentgym.policies.transformers_local:TransformersPolicy",
    # the demonstrations for training (a policy like the oracle, kept with the training code)
    "demonstration": "medagentgym.training.demonstrations:DemonstrationPolicy",
}


class PolicySpec(BaseModel):
    """A policy by name with its constructor options (never secrets: keys come from the env)."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class UnknownPolicyError(ValueError):
    pass


def policy_class(name: str) -> type:
    if name not in POLICY_CLASSES:
        raise UnknownPolicyError(f"unknown policy {name!r} (known: {', '.join(POLICY_CLASSES)})")
    module, attr = POLICY_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), attr)


def make_policy(spec: PolicySpec) -> Policy:
    return policy_class(spec.name).from_options(**spec.options)  # type: ignore[no-any-return]


def preflight(policy: Policy) -> None:
    """Check, before any episode, that the policy can work: raises ``PreflightError`` if not.

    Calls the policy's optional ``preflight()``; a policy without one (the oracle, scripted and
    local policies, whose failures show at construction) passes. A check that breaks in an
    unexpected way is reported as a pre-flight failure too, so the caller has one error to catch.
    """
    check = getattr(policy, "preflight", None)
    if check is None:
        return
    try:
        check()
    except PreflightError:
        raise
    except Exception as exc:
        name = getattr(getattr(policy, "info", None), "name", type(policy).__name__)
        detail = " ".join(str(exc).split())[:300]
        raise PreflightError(f"pre-flight check of the {name} policy failed: {type(exc).__name__}: {detail}") from exc


__all__ = [
    "POLICY_CLASSES",
    "OraclePolicy",
    "Policy",
    "PolicyError",
    "PolicyReply",
    "PolicySpec",
    "PreflightError",
    "ScriptedPolicy",
    "UnknownPolicyError",
    "WrongAnswerPolicy",
    "make_policy",
    "policy_class",
    "preflight",
    "wrong_answer",
]
