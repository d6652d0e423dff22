"""Adapters that let other libraries drive the MedAgentGym environment.

``integrations.trl`` plugs the live environment into TRL's ``GRPOTrainer``: a ``rollout_func`` for
JSON-text actions (any chat model) and an ``environment_factory`` class for tool calls, with the
reward functions both use. Heavy libraries are imported inside functions only, so importing this
package costs nothing without the ``train`` extra.
"""
