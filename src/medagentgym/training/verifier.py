"""An outcome verifier: a scalar score over a finished episode, and best@k by that score.

Why a verifier at all: majority vote needs repeated answers to agree, and it cannot tell a right
answer reached by sound steps from a popular wrong one. The original system reports best@16 with
a trained verifier beside pass@16; this module trains one (TRL's ``RewardTrainer``: a
sequence-classification head with one label, a Bradley-Terry loss over pairs) and plugs it into
``scoring.metrics`` as a ``Selector``.

What the verifier reads (``render_for_verifier``) is what the agent saw and did: the task, each
model turn, each observation (clipped), and a closing line naming the submitted answer. Never
the target, the score, the status, or a grading verdict an env configured with
``reveal_verdict`` put in the observation after a submission: the verifier must judge an episode
it has no grade for, so it must not learn to read one. The system prompt is left out (it is the
same in every episode and costs tokens).

Training pairs (``verifier_pairs``) are a successful and a failed scored episode of the same
train-split sample. Test-split episodes, and any sample id that occurs in the test split, never
enter training; infrastructure failures measured nothing and are skipped. Every skip is counted.

Long episodes are cut to ``max_length`` tokens keeping the head (the task) and the tail (the last
turns and the submitted answer), the same way in training and scoring; TRL's own tokenization
would instead drop long pairs silently, so pairs are tokenized here.
"""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medagentgym.runs.schema import Trajectory
from medagentgym.runs.store import load_manifest, load_run
from medagentgym.training.config import TrainConfig
from medagentgym.training.trainers import Fitted, save_model, trainer_args

__all__ = [
    "RENDER_VERSION",
    "ScoringSelector",
    "VerifierDataError",
    "VerifierLoadError",
    "VerifierSelector",
    "encode_for_verifier",
    "fit",
    "render_for_verifier",
    "verifier_pairs",
]

RENDER_VERSION = 1
METADATA_FILE = "medagentgym_verifier.json"
MAX_OBSERVATION_CHARS = 1_500
MAX_TURN_CHARS = 4_000
MAX_ANSWER_CHARS = 2_000
HELD_OUT_SHARE = 0.2
MIN_SAMPLES_FOR_HELD_OUT = 5  # fewer paired samples: every pair trains, accuracy is on training pairs


class VerifierDataError(ValueError):
    """The runs given to the verifier cannot make training pairs (one line, names the runs)."""


class VerifierLoadError(ValueError):
    """A verifier directory that is missing or does not hold a one-label classifier (one line)."""


# --------------------------------------------------------------------------------------------
# What the verifier reads


def _clip(text: str, limit: int) -> str:
    """Head and tail of a long text: the start says what ran, the end holds the result or error."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n...[{len(text) - 2 * half} characters clipped]...\n{text[-half:]}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def _assistant_text(message: dict[str, Any]) -> str:
    """A model turn as plain text: its content, then its tool calls written out."""
    content = message.get("content")
    parts = [content if isinstance(content, str) else (_json(content) if content else "")]
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            parts.append(f"[tool call] {_json(call)}")
            continue
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                pass
        parts.append(f"[tool call] {function.get('name', '?')}({_json(arguments)})")
    return _clip("\n".join(p for p in parts if p) or "(empty reply)", MAX_TURN_CHARS)


def _observation(step_observation: str, *, submit: bool, last: bool) -> str | None:
    """An observation as the verifier reads it; a submission's own reply loses any verdict.

    After a submission the env says "Answer submitted" (with ``reveal_verdict``, also whether it
    was right). The final submission's reply is dropped (the closing line states the answer);
    an intermediate one of a multi-question sample keeps only the next question.
    """
    if not submit:
        return _clip(step_observation, MAX_OBSERVATION_CHARS)
    if last:
        return None
    _, sep, rest = step_observation.partition("\n\n")
    follow = rest.strip() if sep else ""
    return "Answer submitted." + (f"\n\n{_clip(follow, MAX_OBSERVATION_CHARS)}" if follow else "")


def _task_text(trajectory: Trajectory) -> str:
    for message in trajectory.messages:
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else _json(content)
    return "(no task recorded)"


def render_for_verifier(trajectory: Trajectory) -> list[dict[str, str]]:
    """The finished episode as the chat messages the verifier scores (see the module docstring).

    Turns come from the recorded messages (raw model output, tool calls written out) and
    observations from the step records (so a tool episode's observation is not repeated once per
    call, and a submission's grading reply can be recognised and left out).
    """
    messages: list[dict[str, str]] = [{"role": "user", "content": _task_text(trajectory)}]
    replies = [m for m in trajectory.messages if m.get("role") == "assistant"]
    steps = trajectory.steps
    for index, reply in enumerate(replies):
        messages.append({"role": "assistant", "content": _assistant_text(reply)})
        if index < len(steps):
            step = steps[index]
            submit = bool(step.action) and step.action.get("name") == "submit"  # type: ignore[union-attr]
            seen = _observation(step.observation, submit=submit, last=index == len(steps) - 1)
            if seen:
                messages.append({"role": "user", "content": f"Observation:\n{seen}"})
    if trajectory.submitted:
        closing = f"Submitted answer: {_clip(_json(trajectory.submitted_answer), MAX_ANSWER_CHARS)}"
    else:
        closing = "No answer was submitted."
    messages.append({"role": "user", "content": closing})
    return messages


def encode_for_verifier(tokenizer: Any, messages: list[dict[str, str]], max_length: int) -> tuple[list[int], bool]:
    """Token ids of rendered messages through the tokenizer's chat template, and whether they were cut.

    A sequence over ``max_length`` keeps its first quarter (the task) and its end (the last turns
    and the answer, which decide the outcome).
    """
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    if len(ids) <= max_length:
        return ids, False
    head = max_length // 4
    return ids[:head] + ids[len(ids) - (max_length - head) :], True


# --------------------------------------------------------------------------------------------
# Training pairs


def _trajectories(runs: Iterable[str | Path | Trajectory], counts: Counter[str]) -> list[Trajectory]:
    """Episodes of run folders (or trajectories passed directly), each (run, sample, epoch) once."""
    seen: dict[tuple[str, str, int], Trajectory] = {}
    for item in runs:
        if isinstance(item, Trajectory):
            batch = [item]
        else:
            run_dir = Path(item)
            try:
                load_manifest(run_dir)
            except (FileNotFoundError, ValueError) as exc:
                raise VerifierDataError(str(exc)) from None
            problems: list[str] = []
            batch = load_run(run_dir, problems)
            counts["unreadable_lines"] += len(problems)
        for trajectory in batch:
            key = (trajectory.run_id, trajectory.sample_id, trajectory.epoch)
            if key in seen:
                counts["duplicates"] += 1
            seen[key] = trajectory
    return list(seen.values())


def _order(t: Trajectory) -> tuple[str, int]:
    return (t.run_id, t.epoch)


def verifier_pairs(
    runs: Iterable[str | Path | Trajectory],
    *,
    max_pairs_per_sample: int,
    counts: Counter[str] | None = None,
) -> list[dict[str, Any]]:
    """Pairs {"chosen": messages, "rejected": messages, "sample_id"} for the verifier.

    ``runs`` are run folders (or trajectories). Per train-split sample: every combination of a
    successful and a failed scored episode, in an order that varies both sides before repeating
    either, cut to ``max_pairs_per_sample``. ``counts`` (if given) receives what was skipped and
    why: test_split / other_split episodes, train episodes of a sample id also seen in the test
    split, infra_error episodes, unpaired samples, duplicates, unreadable lines.
    """
    if max_pairs_per_sample < 1:
        raise ValueError(f"max_pairs_per_sample must be >= 1 (got {max_pairs_per_sample})")
    counts = counts if counts is not None else Counter()
    episodes = _trajectories(runs, counts)
    test_ids = {t.sample_id for t in episodes if t.split == "test"}
    by_sample: dict[str, tuple[list[Trajectory], list[Trajectory]]] = defaultdict(lambda: ([], []))
    for t in episodes:
        if t.split == "test":
            counts["test_split"] += 1
        elif t.split != "train":
            counts["other_split"] += 1
        elif t.sample_id in test_ids:
            counts["train_id_seen_in_test"] += 1
        elif t.status == "infra_error":
            counts["infra_error"] += 1
        else:
            by_sample[t.sample_id][0 if t.success else 1].append(t)
    pairs: list[dict[str, Any]] = []
    for sample_id in sorted(by_sample):
        good, bad = (sorted(side, key=_order) for side in by_sample[sample_id])
        if not good or not bad:
            counts["unpaired_samples"] += 1
            continue
        combos = sorted(((i, j) for i in range(len(good)) for j in range(len(bad))), key=lambda p: (max(p), p))
        for i, j in combos[:max_pairs_per_sample]:
            pairs.append(
                {
                    "chosen": render_for_verifier(good[i]),
                    "rejected": render_for_verifier(bad[j]),
                    "sample_id": sample_id,
                }
            )
        counts["paired_samples"] += 1
    counts["pairs"] = len(pairs)
    return pairs


def _held_out(sample_id: str, seed: int) -> bool:
    """A stable, seeded choice of held-out samples (pairs of one sample stay on one side)."""
    return zlib.crc32(f"{seed}:{sample_id}".encode()) % 1000 < HELD_OUT_SHARE * 1000


# --------------------------------------------------------------------------------------------
# Scoring with a model


def _score_ids(model: Any, pad_id: int, encoded: Sequence[list[int]], batch_size: int, device: str) -> list[float]:
    """The model's scalar per sequence, batched by length (right padding, attention mask)."""
    import torch

    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    scores = [0.0] * len(encoded)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in chunk)
            ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i], dtype=torch.long)
                mask[row, : len(encoded[i])] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            for row, i in enumerate(chunk):
                scores[i] = float(logits[row, 0].float())
    return scores


def _pair_accuracy(model: Any, pad_id: int, rows: Sequence[dict[str, Any]], batch_size: int, device: str) -> float | None:
    """Share of pairs whose chosen episode scores above the rejected one (None without pairs)."""
    if not rows:
        return None
    encoded = [r["chosen_ids"] for r in rows] + [r["rejected_ids"] for r in rows]
    scores = _score_ids(model, pad_id, encoded, batch_size, device)
    n = len(rows)
    return sum(scores[i] > scores[n + i] for i in range(n)) / n


# --------------------------------------------------------------------------------------------
# Training


def _encode_pairs(tokenizer: Any, pairs: Sequence[dict[str, Any]], max_length: int, counts: Counter[str]) -> list[dict[str, Any]]:
    rows = []
    for pair in pairs:
        chosen, cut_a = encode_for_verifier(tokenizer, pair["chosen"], max_length)
        rejected, cut_b = encode_for_verifier(tokenizer, pair["rejected"], max_length)
        counts["truncated_episodes"] += int(cut_a) + int(cut_b)
        rows.append({"chosen_ids": chosen, "rejected_ids": rejected, "sample_id": pair["sample_id"]})
    return rows


def _load_classifier(config: TrainConfig, device: str, pad_id: int) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification

    from medagentgym.training.models import resolve_model, use_bf16

    dtype = torch.bfloat16 if use_bf16(config, device) else torch.float32
    model = AutoModelForSequenceClassification.from_pretrained(
        resolve_model(config.model), num_labels=1, dtype=dtype, local_files_only=True
    )
    model.config.pad_token_id = pad_id  # the head reads the last non-pad token
    return model.to(device)


def fit(config: TrainConfig, device: str) -> Fitted:
    """Train the verifier on pairs from ``config.verifier.runs``; save it to ``<output_dir>/model``."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from medagentgym.training.models import load_tokenizer, lora_config

    runs = config.verifier.runs
    if not runs:
        raise VerifierDataError("verifier.runs is empty: name the run folders whose episodes train the verifier")
    counts: Counter[str] = Counter()
    pairs = verifier_pairs(runs, max_pairs_per_sample=config.verifier.max_pairs_per_sample, counts=counts)
    if not pairs:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v) or "no episodes"
        raise VerifierDataError(
            f"{', '.join(runs)}: no train-split sample has both a successful and a failed episode ({skipped})"
        )
    tokenizer = load_tokenizer(config.model, padding_side="right")
    rows = _encode_pairs(tokenizer, pairs, config.max_length, counts)
    samples = sorted({r["sample_id"] for r in rows})
    held = set()
    if len(samples) >= MIN_SAMPLES_FOR_HELD_OUT:
        held = {s for s in samples if _held_out(s, config.seed)}
        if not held or len(held) == len(samples):  # keep both sides non-empty
            held = {samples[-1]} if not held else set(samples[1:])
    train_rows = [r for r in rows if r["sample_id"] not in held]
    held_rows = [r for r in rows if r["sample_id"] in held]

    model = _load_classifier(config, device, tokenizer.pad_token_id)
    # pairs are already cut to max_length (head and tail kept): the trainer must not cut them again
    args = trainer_args(RewardConfig, config, device, final={"max_length": None})
    dataset = Dataset.from_list([{"chosen_ids": r["chosen_ids"], "rejected_ids": r["rejected_ids"]} for r in train_rows])
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config, "SEQ_CLS"),
    )
    trainer.train()
    trained = trainer.model
    trained.eval()
    batch = max(1, config.batch_size)
    train_accuracy = _pair_accuracy(trained, tokenizer.pad_token_id, train_rows, batch, device)
    held_accuracy = _pair_accuracy(trained, tokenizer.pad_token_id, held_rows, batch, device)
    out = save_model(trained, tokenizer, config)
    (out / METADATA_FILE).write_text(
        json.dumps({"render_version": RENDER_VERSION, "max_length": config.max_length}, indent=2) + "\n",
        encoding="utf-8",
    )
    data = {
        "runs": list(runs),
        "pairs": len(rows),
        "train_pairs": len(train_rows),
        "held_out_pairs": len(held_rows),
        "paired_samples": len(samples),
        "held_out_samples": len(held),
        "train_pair_accuracy": train_accuracy,
        "held_out_pair_accuracy": held_accuracy,
        "skipped": {k: v for k, v in sorted(counts.items()) if k not in ("pairs", "paired_samples")},
    }
    return Fitted(model_dir=out, log_history=list(trainer.state.log_history), steps=trainer.state.global_step, data=data)


# --------------------------------------------------------------------------------------------
# best@k by a score


class ScoringSelector:
    """best@k by a per-episode score: the arg-max, ties to the earliest candidate.

    An episode that submitted nothing scores -inf (it cannot be right, whatever a model thinks of
    it). Scores are cached per (run id, sample id, epoch), because metrics ask about the same
    episodes for every k and every group. Subclasses implement ``_compute_scores``.
    """

    name = "scored"

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int], float] = {}

    def _compute_scores(self, trajectories: Sequence[Trajectory]) -> list[float]:
        raise NotImplementedError

    @staticmethod
    def _key(t: Trajectory) -> tuple[str, str, int]:
        return (t.run_id, t.sample_id, t.epoch)

    def prepare(self, trajectories: Sequence[Trajectory]) -> None:
        """Score every episode not yet cached, in one pass (batched where the scorer batches)."""
        todo: dict[tuple[str, str, int], Trajectory] = {}
        for t in trajectories:
            key = self._key(t)
            if key in self._cache or key in todo:
                continue
            if not t.submitted:
                self._cache[key] = -math.inf
            else:
                todo[key] = t
        if todo:
            values = self._compute_scores(list(todo.values()))
            if len(values) != len(todo):
                raise RuntimeError(f"{type(self).__name__} returned {len(values)} scores for {len(todo)} episodes")
            for key, value in zip(todo, values):
                self._cache[key] = float(value) if not math.isnan(value) else -math.inf

    def scores(self, candidates: Sequence[Trajectory]) -> list[float]:
        self.prepare(candidates)
        return [self._cache[self._key(t)] for t in candidates]

    def select(self, candidates: Sequence[Trajectory]) -> int:
        if not candidates:
            raise ValueError("no candidates to select from")
        values = self.scores(candidates)
        best = 0
        for index, value in enumerate(values):
            if value > values[best]:
                best = index
        return best


class VerifierSelector(ScoringSelector):
    """best@k by a trained verifier (a one-label sequence classifier saved by ``fit``)."""

    name = "verifier"

    def __init__(self, model_dir: str | Path, *, max_length: int = 2048, batch_size: int = 8, device: str = "cpu") -> None:
        super().__init__()
        self.model_dir = Path(model_dir)
        self.max_length = max_length
        self.batch_size = max(1, batch_size)
        self.device = device
        self.model, self.tokenizer = self._load()

    def _load(self) -> tuple[Any, Any]:
        where = self.model_dir
        if not (where / "config.json").is_file():
            raise VerifierLoadError(f"{where}: not a verifier model directory (no config.json)")
        meta = where / METADATA_FILE
        if meta.is_file():  # absent for a classifier trained elsewhere: accepted as is
            try:
                version = json.loads(meta.read_text(encoding="utf-8")).get("render_version")
            except (ValueError, OSError, AttributeError):
                raise VerifierLoadError(f"{meta}: not a verifier metadata file") from None
            if version != RENDER_VERSION:
                raise VerifierLoadError(
                    f"{where}: trained on episodes rendered as version {version}, this code renders version {RENDER_VERSION}"
                )
        try:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(where, local_files_only=True)
        except Exception as exc:  # a corrupt or foreign directory: one line, not a traceback
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VerifierLoadError(f"{where}: cannot load the verifier ({type(exc).__name__}: {first[:300]})") from None
        if getattr(model.config, "num_labels", None) != 1:
            raise VerifierLoadError(f"{where}: not a verifier (num_labels={model.config.num_labels}, expected 1)")
        if getattr(tokenizer, "chat_template", None) is None:
            raise VerifierLoadError(f"{where}: the tokenizer has no chat template")
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        model.to(self.device)
        model.eval()
        return model, tokenizer

    def _compute_scores(self, trajectories: Sequence[Trajectory]) -> list[float]:
        encoded = [encode_for_verifier(self.tokenizer, render_for_verifier(t), self.max_length)[0] for t in trajectories]
        return _score_ids(self.model, self.model.config.pad_token_id, encoded, self.batch_size, self.device)
