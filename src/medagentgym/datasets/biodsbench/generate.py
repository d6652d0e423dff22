"""Generated biodsbench samples: a drawn analysis over one study, its prompt, the hidden cases
with expected values from the reference solution, and that solution.

A draw (study and parameters) alone decides the split, through its content key; the slot's
random stream draws until a draw of the asked split turns up that is not already taken
(``catalog.splits.DistinctSequence``). Expected values come from running the reference solution
on the built study files in this process (``codetests.reference.compute_expected``), with the
same libraries the sandbox has; they live only in the sample's hidden target.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from medagentgym.catalog.sample import (
    AnswerType,
    CodeTests,
    Resource,
    Sample,
    Solution,
    Split,
    Target,
    make_sample_id,
)
from medagentgym.catalog.splits import DistinctSequence, rng_for
from medagentgym.codetests.reference import compute_expected
from medagentgym.datasets.biodsbench.categories import (
    DATASET_NAME,
    CategorySpec,
    spec_by_name,
)
from medagentgym.datasets.biodsbench.facts import StudyFacts, study_facts
from medagentgym.datasets.biodsbench.questions import Draw, Question, Reject
from medagentgym.datasets.biodsbench.study import (
    CNA_FILE,
    MUTATION_FILE,
    PATIENT_FILE,
    SAMPLE_FILE,
    SV_FILE,
    TIMELINE_FILE,
)

MAX_REDRAWS = 400
#: Time allowed to each hidden case in the agent's session (seconds).
CASE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Candidate:
    draw: Draw
    key: str


def propose(spec: CategorySpec, rng: random.Random) -> Candidate:
    """A draw with a meaningful answer: redraws those the family rejects."""
    for _ in range(MAX_REDRAWS):
        try:
            draw = spec.family.propose(rng)
        except Reject:
            continue
        return Candidate(draw, draw.key(spec.name))
    raise RuntimeError(f"biodsbench {spec.name}: no usable draw in {MAX_REDRAWS} tries")


@lru_cache(maxsize=64)
def _sequence(category: str, split: Split, seed: int) -> DistinctSequence[Candidate]:
    return DistinctSequence(split, lambda i: rng_for(DATASET_NAME, category, split, i, seed), lambda c: c.key)


def draw_for(category: str, split: Split, index: int, seed: int = 0) -> Draw:
    """The draw at (category, split, index, seed)."""
    spec = spec_by_name(category)
    return _sequence(category, split, seed).get(index, lambda rng: propose(spec, rng)).draw


def describe_files(facts: StudyFacts) -> list[str]:
    """The prompt's list of the study's files, with the columns of the clinical tables."""
    patient_columns = ", ".join(facts.patients.columns)
    sample_columns = ", ".join(facts.samples.columns)
    lines = [
        f"- {PATIENT_FILE}: one row per patient; columns {patient_columns}. OS_MONTHS / PFS_MONTHS "
        'are months from diagnosis; OS_STATUS is "1:DECEASED" or "0:LIVING"'
        + ('; PFS_STATUS is "1:Progressed" or "0:Not Progressed"' if facts.has_pfs else "")
        + ". An empty cell is a missing value.",
        (
            f"- {SAMPLE_FILE}: one row per tumour sample; columns {sample_columns}. "
            "TMB_NONSYNONYMOUS is protein-changing mutations per megabase."
        ),
        (
            f"- {MUTATION_FILE}: somatic mutation records in MAF columns (Hugo_Symbol, "
            "Variant_Classification, Tumor_Sample_Barcode = SAMPLE_ID, HGVSp_Short, t_alt_count, ...)."
        ),
        (
            f"- {CNA_FILE}: discrete copy number, one row per gene (Hugo_Symbol), one column per profiled "
            "sample; -2 deep deletion, -1 shallow loss, 0 diploid, 1 gain, 2 amplification; empty where the "
            "sample's panel lacks the gene."
        ),
        (
            f"- {SV_FILE}: structural variants (Sample_Id, Site1_Hugo_Symbol, Site2_Hugo_Symbol, Class, "
            "Tumor_Split_Read_Count, Event_Info, ...)."
        ),
    ]
    if facts.timeline is not None:
        lines.append(
            f"- {TIMELINE_FILE}: treatment lines (PATIENT_ID, START_DATE, STOP_DATE in days from "
            "diagnosis, STOP_DATE empty while ongoing, EVENT_TYPE, TREATMENT_TYPE, AGENT)."
        )
    return lines


def render_prompt(facts: StudyFacts, question: Question) -> str:
    n_patients = len(facts.patients)
    n_samples = len(facts.samples)
    parts = [
        f'The folder RESOURCES["study"] (a path in your Python session) holds the synthetic cBioPortal '
        f"study {facts.study_id}: {facts.spec.title.lower()}, {n_patients} patients and {n_samples} "
        "tumour samples, as CSV files:\n" + "\n".join(describe_files(facts)),
        f"Task: {question.task}",
        "Leave these variables in your Python session (exact names and types; they are checked "
        "after you submit):\n" + "\n".join(f"- `{v.name}` ({v.type}): {v.meaning}" for v in question.variables),
    ]
    if question.conventions:
        parts.append("Definitions:\n" + "\n".join(f"- {c}" for c in question.conventions))
    parts.append(f"Numbers are compared with a relative tolerance of {question.rel_tol:g}.")
    return "\n\n".join(parts)


def study_resource(facts: StudyFacts) -> Resource:
    return Resource(
        kind="directory",
        name="study",
        path=str(facts.path),
        description=f"cBioPortal-style study {facts.study_id} ({', '.join(facts.files)})",
    )


def build_sample(category: str, split: Split, index: int, seed: int, draw: Draw) -> Sample:
    """The sample asking ``draw`` (its prompt, hidden cases with expected values, solution)."""
    spec = spec_by_name(category)
    facts = study_facts(draw.study)
    question = spec.family.question(draw)
    resource = study_resource(facts)
    cases = compute_expected(question.code, question.cases, resources=(resource,))
    tests = CodeTests(
        mode="namespace",
        variables=tuple(v.name for v in question.variables),
        cases=cases,
        timeout_s=CASE_TIMEOUT_S,
    )
    return Sample(
        id=make_sample_id(DATASET_NAME, category, split, index, seed),
        dataset=DATASET_NAME,
        category=category,
        split=split,
        index=index,
        seed=seed,
        prompt=render_prompt(facts, question),
        resources=(resource,),
        target=Target(answer_type=AnswerType.CODE_TESTS, value=None, tests=tests),
        solution=Solution(language="python", code=question.code),
        metadata={
            "content_key": draw.key(category),
            "study": draw.study,
            "params": draw.params,
            "family": spec.family.key,
        },
    )


@lru_cache(maxsize=512)
def _build(category: str, split: Split, index: int, seed: int, folder: str) -> Sample:
    return build_sample(category, split, index, seed, draw_for(category, split, index, seed))


def generate_sample(category: str, split: Split, index: int, seed: int = 0) -> Sample:
    """The sample at (category, split, index, seed); the same arguments give the same sample."""
    spec_by_name(category)  # a clear KeyError for unknown categories
    draw = draw_for(category, split, index, seed)
    folder = str(study_facts(draw.study).path)
    return _build(category, split, index, seed, folder)
