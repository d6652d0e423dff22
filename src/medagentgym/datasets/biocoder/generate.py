"""Generated biocoder samples: a drawn function variant, its prompt, hidden tests and reference.

The split is decided by the template (a function asked in test is never asked in train), not by
a hash of the instance, so ``splits.DistinctSequence`` (which filters by hash) is not used: index
``i`` of a (category, split, seed) draws from its own random stream, trying the split's templates
in a rotation that starts at ``i`` (so a family's templates take turns), and takes the first
variant whose content key (template key + the variant's params, sorted JSON) no earlier index
holds. Index ``i`` therefore depends on the indices before it, which are drawn first, once, and
kept: the same arguments always give the same sample.

Expected values are computed for the asked sample only (the reference runs in this process on
the hidden cases, ``codetests.reference``); drawing the earlier variants only builds their inputs.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache

from medagentgym.catalog.sample import (
    AnswerType,
    CodeTests,
    Sample,
    Solution,
    Split,
    Target,
    make_sample_id,
)
from medagentgym.catalog.splits import rng_for
from medagentgym.codetests.reference import compute_expected
from medagentgym.datasets.biocoder.categories import (
    DATASET_NAME,
    CategorySpec,
    spec_by_name,
    templates_in,
)
from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.scoring.code_tests import splice_submission

#: Draws tried for one index before the split's parameter space is called exhausted.
MAX_DRAWS = 400


def content_key(template: str, params: object) -> str:
    """What makes a task different: the template and the variant's params (never its name or inputs)."""
    return f"{template}|" + json.dumps(params, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Drawn:
    template: FunctionTemplate
    variant: Variant
    key: str


class VariantSequence:
    """The distinct variants of one (category, split, seed), drawn in index order and kept."""

    def __init__(self, category: str, split: Split, seed: int, templates: tuple[FunctionTemplate, ...]) -> None:
        if not templates:
            raise ValueError(f"biocoder category {category!r} has no {split} template")
        self.category = category
        self.split = split
        self.seed = seed
        self.templates = templates
        self.items: list[Drawn] = []
        self.keys: set[str] = set()
        self.repeats = 0  # draws rejected because their key was taken
        self._lock = threading.Lock()

    def get(self, index: int) -> Drawn:
        if index < 0:
            raise IndexError(f"sample index must be >= 0, not {index}")
        with self._lock:
            while len(self.items) <= index:
                self.items.append(self._draw(len(self.items)))
            return self.items[index]

    def _draw(self, index: int) -> Drawn:
        rng = rng_for(DATASET_NAME, self.category, self.split, index, self.seed)
        n = len(self.templates)
        for attempt in range(MAX_DRAWS):
            template = self.templates[(index + attempt) % n]
            variant = template.draw(rng)
            key = content_key(template.key, variant.params)
            if key not in self.keys:
                self.keys.add(key)
                return Drawn(template, variant, key)
            self.repeats += 1
        raise RuntimeError(
            f"biocoder {self.category}/{self.split}: no new variant in {MAX_DRAWS} draws after {len(self.items)}"
            " (the templates' parameter spaces may be exhausted)"
        )


@lru_cache(maxsize=64)
def variant_sequence(category: str, split: Split, seed: int) -> VariantSequence:
    return VariantSequence(category, split, seed, templates_in(category, split))


def render_prompt(variant: Variant, spec: CategorySpec) -> str:
    """Instruction, specification, signature, the code the function goes into (if any) and what it
    may import. Never the reference, the cases or their values."""
    parts = [f"Write the Python function `{variant.name}`.", variant.spec.strip(),
             f"Signature:\n\n    {variant.signature}"]
    if variant.context.strip():
        parts.append(
            "Your function is inserted into the following code at the line `<<insert solution here>>` and may use"
            f" what that code defines:\n\n```python\n{variant.context.rstrip()}\n```"
        )
    parts.append(
        f"It may import {spec.imports}. Hidden tests call it on several inputs, edge cases included; check it on"
        " small inputs of your own first."
    )
    return "\n\n".join(parts)


def reference_tests(variant: Variant) -> tuple[CodeTests, str]:
    """The hidden tests with their expected values, and the module the reference forms (spliced
    into the context like a submission)."""
    draft = CodeTests(mode="function", entry=variant.name, context=variant.context, cases=variant.cases)
    module = splice_submission(variant.reference, draft)
    cases = compute_expected(module, variant.cases)
    return draft.model_copy(update={"cases": cases}), module


def solution_code(variant: Variant, module: str) -> str:
    """Oracle code: ``answer`` is the reference's source; running it checks it loads."""
    runnable = "answer" if not variant.context.strip() else repr(module)
    return f"answer = {variant.reference!r}\nexec({runnable})\n"


def generate_sample(category: str, split: Split, index: int, seed: int = 0) -> Sample:
    """The sample at (category, split, index, seed); the same arguments give the same sample."""
    spec = spec_by_name(category)
    drawn = variant_sequence(category, split, seed).get(index)
    variant = drawn.variant
    tests, module = reference_tests(variant)
    return Sample(
        id=make_sample_id(DATASET_NAME, category, split, index, seed),
        dataset=DATASET_NAME,
        category=category,
        split=split,
        index=index,
        seed=seed,
        prompt=render_prompt(variant, spec),
        target=Target(answer_type=AnswerType.CODE_TESTS, value=None, tests=tests),
        solution=Solution(language="python", code=solution_code(variant, module)),
        metadata={
            "content_key": drawn.key,
            "template": drawn.template.key,
            "title": drawn.template.title,
            "params": dict(variant.params),
            "entry": variant.name,
        },
    )
