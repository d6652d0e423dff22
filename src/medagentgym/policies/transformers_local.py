"""A policy that runs a local Hugging Face causal LM in-process (CPU by default).

Why: the gym must produce real model trajectories without any API or network. The default model
is the embedded SmolLM2-135M-Instruct (see ``embedded_model``); any local directory saved with
``save_pretrained`` (with a chat template) works the same way. Actions are JSON text, the format
every chat model can follow; tool calls are not produced.

Batching. Many episodes run concurrently under the async rollout runner, and a small model on a
CPU is far cheaper per token when several prompts share one forward pass. So every request (from
``aact`` or the synchronous ``act``) goes into one queue; a single worker thread takes whatever is
waiting (up to ``batch_size``, after a few milliseconds to let concurrent requests arrive),
left-pads the prompts, generates them together and resolves each request's future. All model
and tokenizer calls happen in that thread, so nothing else has to be thread-safe.

Sampling and seeds. ``temperature == 0`` is greedy decoding. Otherwise each request carries its own
``torch.Generator`` seeded from (episode seed, sample id, turn), and a logits processor draws one
token per row by the Gumbel-max trick with that row's generator. A reply therefore depends on its
own seed and prompt only, not on which other requests shared its batch (up to floating-point
differences between batch shapes, which can rarely flip a near-tie).

Context. The conversation is fitted with ``policies.context.fit_messages`` into the model's window
(``max_position_embeddings``, capped by ``max_context``) minus ``max_new_tokens``: the system and
task messages are always kept, the oldest turns are dropped first.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from medagentgym.catalog.sample import Sample
from medagentgym.catalog.splits import stable_hash
from medagentgym.policies.base import Policy, PolicyError, PolicyReply, PreflightError
from medagentgym.policies.context import fit_messages
from medagentgym.policies.embedded_model import (
    EMBEDDED_ALIASES,
    EMBEDDED_MODEL_NAME,
    EmbeddedModelError,
    resolve_model_dir,
)
from medagentgym.runs.schema import PolicyInfo, TokenUsage

_ROLES = ("system", "user", "assistant")
# Room for the tokens a chat template adds around messages beyond fit_messages' per-message allowance.
_TEMPLATE_MARGIN = 32


@dataclass
class _Request:
    messages: list[dict[str, Any]]
    seed: int
    future: Future[PolicyReply] = field(default_factory=Future)


@dataclass
class _Prepared:
    request: _Request
    input_ids: list[int]


def _normalise(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plain role/content messages any chat template accepts (tool results become user turns)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role", "user")
        out.append({"role": role if role in _ROLES else "user", "content": str(message.get("content") or "")})
    return out


def _merge_same_role(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join consecutive messages of one role: strict chat templates demand alternating roles,
    and context fitting puts its omission note (a user message) right after the task."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1] = {**merged[-1], "content": merged[-1]["content"] + "\n\n" + message["content"]}
        else:
            merged.append(dict(message))
    return merged


def _turn_seed(seed: int, sample_id: str, messages: list[dict[str, Any]]) -> int:
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    return stable_hash("transformers-policy", sample_id, seed, turn) % (2**63)


class _RowSampler:
    """Per-row sampling with per-row generators (Gumbel-max), used as a logits processor.

    generate() runs in greedy mode; this processor turns the scores of each row into a sample
    from its temperature/top-p distribution: argmax(log p + Gumbel noise) is a draw from p.
    """

    def __init__(self, generators: list[Any], temperature: float, top_p: float) -> None:
        self.generators = generators
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        logits = scores.float() / self.temperature
        if self.top_p < 1.0:
            sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
            probs = sorted_logits.softmax(dim=-1)
            cumulative = probs.cumsum(dim=-1)
            drop_sorted = cumulative - probs > self.top_p  # keeps at least the top token
            drop = drop_sorted.scatter(-1, order, drop_sorted)
            logits = logits.masked_fill(drop, float("-inf"))
        log_probs = logits.log_softmax(dim=-1)
        vocab = log_probs.shape[-1]
        noise = torch.stack(
            [torch.rand(vocab, generator=g, dtype=torch.float32) for g in self.generators]
        ).to(log_probs.device)
        gumbel = -torch.log(-torch.log(noise.clamp(1e-10, 1.0 - 1e-7)))
        return log_probs + gumbel


class TransformersPolicy:
    """A local transformers model as a Policy, with batched generation across episodes."""

    name = "transformers"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        temperature: float = 0.2,
        top_p: float = 0.9,
        max_new_tokens: int = 256,
        batch_size: int = 8,
        batch_wait_s: float = 0.005,
        max_context: int = 8192,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        if temperature < 0 or not 0 < top_p <= 1 or max_new_tokens < 1 or batch_size < 1:
            raise ValueError("need temperature >= 0, 0 < top_p <= 1, max_new_tokens >= 1, batch_size >= 1")
        self.model_dir = resolve_model_dir(model)  # before the heavy imports: a bad name fails fast
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.max_new_tokens = int(max_new_tokens)
        self.batch_size = int(batch_size)
        self.batch_wait_s = float(batch_wait_s)
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"{self.model_dir} has no chat template; this policy needs a chat model")
        torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_dir, dtype=torch_dtype, local_files_only=True
        ).to(device)
        self.model.eval()
        window = int(getattr(self.model.config, "max_position_embeddings", None) or max_context)
        self.window = min(window, int(max_context))
        if self.window - self.max_new_tokens < 64:
            raise ValueError(
                f"max_new_tokens={self.max_new_tokens} leaves no room in a {self.window}-token window"
            )
        self.prompt_budget = self.window - self.max_new_tokens
        self.eos_ids = self._eos_ids()
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else self.eos_ids[0]
        label = EMBEDDED_MODEL_NAME if str(model).lower() in EMBEDDED_ALIASES else str(self.model_dir)
        self.info = PolicyInfo(
            name=self.name,
            model=label,
            sampling={
                "temperature": self.temperature,
                "top_p": self.top_p,
                "max_new_tokens": self.max_new_tokens,
            },
            action_format="json",
        )
        self.generate_calls = 0  # how many batched generate() calls ran (for tests and stats)
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._closed = False
        self._worker = threading.Thread(target=self._serve, name="transformers-policy", daemon=True)
        self._worker.start()

    # ----- the Policy protocol -------------------------------------------------------------

    @classmethod
    def from_options(cls, **options: Any) -> TransformersPolicy:
        """Build from loose options (the CLI's); see the module-level :func:`from_options`."""
        return from_options(**options)

    def start_episode(self, sample: Sample, *, seed: int = 0) -> Policy:
        return _Episode(self, sample.id, seed)

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> PolicyReply:
        return self._submit(messages, _turn_seed(0, "", messages)).result()

    async def aact(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> PolicyReply:
        return await asyncio.wrap_future(self._submit(messages, _turn_seed(0, "", messages)))

    def close(self) -> None:
        """Stop the worker; requests still queued fail with a PolicyError."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._worker.join(timeout=60)
        self._fail_queued()  # a request that slipped in while the worker was stopping

    def __enter__(self) -> TransformersPolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- prompts -------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def prompt_ids(self, messages: list[dict[str, Any]]) -> list[int]:
        """The token ids sent to the model for this conversation, fitted into the window.

        Call it from the worker thread only (tests call it while no request is in flight).
        """
        chat = _normalise(messages)
        budget = self.prompt_budget - _TEMPLATE_MARGIN
        ids: list[int] = []
        for _ in range(4):
            fitted = fit_messages(chat, budget, count=self.count_tokens)
            encoded = self.tokenizer.apply_chat_template(
                _merge_same_role(fitted), add_generation_prompt=True, tokenize=True, return_dict=True
            )
            ids = list(encoded["input_ids"])
            if len(ids) <= self.prompt_budget:
                return ids
            budget -= len(ids) - self.prompt_budget + 16
        # The kept head (system + task) alone is too long: keep its start and the generation prompt.
        tail = 16
        return ids[: self.prompt_budget - tail] + ids[-tail:]

    # ----- the generation worker -----------------------------------------------------------

    def _submit(self, messages: list[dict[str, Any]], seed: int) -> Future[PolicyReply]:
        request = _Request(messages=list(messages), seed=seed)
        if self._closed:
            request.future.set_exception(PolicyError("the transformers policy is closed", kind="closed"))
            return request.future
        self._queue.put(request)
        return request.future

    def _take_batch(self) -> list[_Request] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # handle the stop after this batch
                break
            batch.append(item)
        return batch

    def _serve(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                break
            try:
                replies = self._generate(batch)
            except Exception as exc:  # the model failed, not the agent: an infrastructure error
                error = PolicyError(
                    f"local generation failed: {type(exc).__name__}: {exc}", kind="local_model"
                )
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(error)
                continue
            for request, reply in zip(batch, replies, strict=True):
                if not request.future.done():
                    request.future.set_result(reply)
        self._fail_queued()

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None and not item.future.done():
                item.future.set_exception(PolicyError("the transformers policy is closed", kind="closed"))

    def _generate(self, batch: list[_Request]) -> list[PolicyReply]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        prepared = [_Prepared(r, self.prompt_ids(r.messages)) for r in batch]
        width = max(len(p.input_ids) for p in prepared)
        input_ids = torch.full((len(prepared), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prepared), width), dtype=torch.long)
        for row, p in enumerate(prepared):  # left padding: every prompt ends where generation starts
            input_ids[row, width - len(p.input_ids) :] = torch.tensor(p.input_ids, dtype=torch.long)
            attention[row, width - len(p.input_ids) :] = 1
        processors = LogitsProcessorList()
        if self.temperature > 0:
            generators = [torch.Generator().manual_seed(p.request.seed) for p in prepared]
            processors.append(_RowSampler(generators, self.temperature, self.top_p))
        config = GenerationConfig(
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            eos_token_id=self.eos_ids,
            pad_token_id=self.pad_id,
        )
        self.generate_calls += 1
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=config,
                logits_processor=processors,
            )
        replies = []
        for row, p in enumerate(prepared):
            generated = output[row, width:].tolist()
            length = len(generated)
            for i, token in enumerate(generated):
                if token in self.eos_ids:
                    length = i + 1
                    break
            text = self.tokenizer.decode(generated[:length], skip_special_tokens=True)
            usage = TokenUsage(prompt_tokens=len(p.input_ids), completion_tokens=length)
            replies.append(PolicyReply(content=text.strip(), usage=usage))
        return replies

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        for value in [configured] if not isinstance(configured, list) else configured:
            if value is not None and value not in ids:
                ids.append(int(value))
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(int(self.tokenizer.eos_token_id))
        if not ids:
            raise ValueError(f"{self.model_dir} defines no end-of-sequence token")
        return ids


class _Episode:
    """A per-episode view: same model and queue, its own seed stream."""

    def __init__(self, policy: TransformersPolicy, sample_id: str, seed: int) -> None:
        self.policy = policy
        self.info = policy.info
        self.sample_id = sample_id
        self.seed = seed

    def start_episode(self, sample: Sample, *, seed: int = 0) -> Policy:
        return self.policy.start_episode(sample, seed=seed)

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> PolicyReply:
        return self.policy._submit(messages, _turn_seed(self.seed, self.sample_id, messages)).result()

    async def aact(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> PolicyReply:
        seed = _turn_seed(self.seed, self.sample_id, messages)
        return await asyncio.wrap_future(self.policy._submit(messages, seed))


_FLOATS = {"temperature", "top_p", "batch_wait_s"}
_INTS = {"max_new_tokens", "batch_size", "max_context"}


def from_options(**options: Any) -> TransformersPolicy:
    """Build the policy from loose options (e.g. CLI ``--policy-option key=value`` strings).

    The model loads here, so this is the policy's pre-flight: a model that does not resolve or
    load is a one-line ``PreflightError`` naming it (bad option values stay ValueErrors).
    """
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key == "action_format":
            if value != "json":
                raise ValueError("the transformers policy writes JSON text actions only (action_format=json)")
            continue
        if key == "max_tokens":  # the CLI's name for the reply length
            key = "max_new_tokens"
        if key in _FLOATS:
            kwargs[key] = float(value)
        elif key in _INTS:
            kwargs[key] = int(value)
        elif key in {"model", "device", "dtype"}:
            kwargs[key] = str(value)
        else:
            raise ValueError(f"unknown option {key!r} for the transformers policy")
    try:
        return TransformersPolicy(**kwargs)
    except (EmbeddedModelError, OSError) as exc:
        detail = " ".join(str(exc).split())[:400]
        model = kwargs.get("model", "smollm2")
        raise PreflightError(f"cannot load the transformers model {model!r}: {detail}") from exc
