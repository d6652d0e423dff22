"""What lets other libraries drive the MedAgentGym environment (docs/integrations.md).

- ``common``: the episode every adapter shares (start from a sample id, act, reward, cleanup of
  an abandoned episode) and ``ChatTurns`` (observations as the chat template's user turn).
- ``tokens``: token-level traces with loss masks, for trainers that generate token ids.
- ``server`` / ``serve_command`` / ``remote``: ``medagentgym serve`` and its gymnasium client.
- ``trl``, ``inspect_ai``, ``skyrl``, ``verifiers``, ``verl``, ``openrlhf``: one adapter per
  framework, each behind its own extra. Importing this package imports none of them.
"""
