"""Training on MedAgentGym: demonstrations, exports, TRL trainers, a verifier for best@k.

The chain (docs/training.md): a demonstration policy plays train-split samples into a run folder;
``export`` turns run folders into TRL datasets (conversational SFT rows, per-decision DPO pairs,
RL prompts); ``train`` runs TRL's SFT, DPO or GRPO (online, against the live environment) or
trains an outcome verifier from a config file; the trained model is evaluated with the ordinary
``run``/``report`` on held-out test samples, and the verifier picks best@k beside majority vote.

Everything heavy (torch, transformers, trl, peft, datasets) is imported inside functions: the
package imports cheaply, and the ``train`` extra is needed only to train.
"""
