"""The shape every question family shares: a draw (study and parameters), the question built
from it (task text, asked variables, reference code, hidden cases), cohorts, and the code
snippets the reference solutions are assembled from.

A family proposes draws from a random stream and rejects those without a meaningful answer
(``Reject``: too few patients or events, nothing altered); ``generate.py`` keeps drawing until a
draw falls in the asked split. Reference solutions are plain, readable pandas / lifelines /
scipy code that reads the study from ``RESOURCES["study"]`` and leaves the asked variables.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from medagentgym.catalog.sample import TestCase
from medagentgym.datasets.biodsbench.build import STUDIES
from medagentgym.datasets.biodsbench.facts import StudyFacts, study_facts
from medagentgym.datasets.biodsbench.study import (
    CNA_FILE,
    MUTATION_FILE,
    NON_PROTEIN_CHANGING,
    PATIENT_FILE,
    SAMPLE_FILE,
    SV_FILE,
    TIMELINE_FILE,
)

T = TypeVar("T")

#: Relative tolerance of numbers computed by closed formulas (counts, medians, test statistics).
EXACT_REL_TOL = 1e-6
#: Relative tolerance of iteratively fitted values (Cox model): optimisers stop a hair apart.
FITTED_REL_TOL = 1e-4


class Reject(Exception):
    """The drawn parameters give no meaningful question; draw again."""


@dataclass(frozen=True)
class Draw:
    """One question instance: a study and the parameters (JSON values) that define it."""

    study: str
    params: dict[str, Any]

    def key(self, category: str) -> str:
        return f"{category}|{self.study}|" + json.dumps(self.params, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Variable:
    name: str
    type: str  # as the prompt states it: "float", "int", "list[str]", "dict[str, int]", ...
    meaning: str


@dataclass(frozen=True)
class Question:
    task: str
    variables: tuple[Variable, ...]
    code: str
    cases: tuple[TestCase, ...]
    conventions: tuple[str, ...] = ()
    rel_tol: float = EXACT_REL_TOL


class Family(Protocol):
    key: str

    def propose(self, rng: random.Random) -> Draw: ...

    def question(self, draw: Draw) -> Question: ...


# -- choosing ---------------------------------------------------------------------------------


def choose(rng: random.Random, items: Sequence[T]) -> T:
    """``rng.choice``, but an empty pool rejects the draw instead of failing."""
    if not items:
        raise Reject("nothing to choose from")
    return rng.choice(items)


def choose_n(rng: random.Random, items: Sequence[T], k: int) -> list[T]:
    """``rng.sample`` of ``k`` items; too small a pool rejects the draw."""
    if len(items) < k:
        raise Reject(f"fewer than {k} items to choose from")
    return rng.sample(list(items), k)


def pick_study(rng: random.Random, *, pfs: bool = False, timeline: bool = False) -> StudyFacts:
    """A study drawn uniformly among those that have what the question needs."""
    eligible = [s.study_id for s in STUDIES]
    rng.shuffle(eligible)
    for study_id in eligible:
        facts = study_facts(study_id)
        if (pfs and not facts.has_pfs) or (timeline and facts.timeline is None):
            continue
        return facts
    raise Reject("no study has what the question needs")


def pick_endpoint(rng: random.Random, facts: StudyFacts) -> str:
    return "PFS" if facts.has_pfs and rng.random() < 0.4 else "OS"


ENDPOINT_NAMES = {"OS": "overall survival", "PFS": "progression-free survival"}


def q(value: str | int | list[str]) -> str:
    """A string, an int or a list of strings as a Python literal in double quotes (JSON's form of
    these is valid Python; JSON's ``null``/``true`` are not, so nothing else is accepted)."""
    ok = isinstance(value, (str, int)) and not isinstance(value, bool)
    if not ok and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise TypeError(f"cannot write {value!r} as a literal")
    return json.dumps(value)


def case(name: str, expr: str, rel_tol: float = EXACT_REL_TOL) -> TestCase:
    """A hidden case over the session's variables. No absolute tolerance: a p-value of 1e-12
    must not accept 0, and exact zeros (an empty count, a curve that reaches 0) come out exact."""
    return TestCase(name=name, expr=expr, rel_tol=rel_tol, abs_tol=0.0)


# -- conventions (the definitions a prompt states) --------------------------------------------

NOT_PROTEIN_CHANGING_TEXT = ", ".join(NON_PROTEIN_CHANGING)
MUTATED_CONVENTION = (
    "A sample is mutated in a gene when data_mutations.csv has a record of that gene "
    "(Hugo_Symbol) for it (Tumor_Sample_Barcode = SAMPLE_ID) whose Variant_Classification is not "
    f"one of: {NOT_PROTEIN_CHANGING_TEXT}. A patient is mutated when any of their samples is."
)


def survival_convention(endpoint: str) -> str:
    status = "OS_STATUS" if endpoint == "OS" else "PFS_STATUS"
    event = '"1:DECEASED"' if endpoint == "OS" else '"1:Progressed"'
    return (
        f"{ENDPOINT_NAMES[endpoint].capitalize()}: time {endpoint}_MONTHS, event 1 when {status} "
        f'is {event} (it starts with "1:"), else 0; leave out patients missing either value.'
    )


# -- code snippets ----------------------------------------------------------------------------

_TABLES = {
    "patients": PATIENT_FILE,
    "samples": SAMPLE_FILE,
    "mutations": MUTATION_FILE,
    "cna": CNA_FILE,
    "sv": SV_FILE,
    "timeline": TIMELINE_FILE,
}


def load(*tables: str, imports: Sequence[str] = ()) -> list[str]:
    """Imports and the reading of the named tables (``patients``, ``samples``, ...)."""
    lines = ["import os", "", "import pandas as pd", *imports, "", 'study = RESOURCES["study"]']
    for name in tables:
        extra = ", low_memory=False" if name == "mutations" else ""
        lines.append(f"{name} = pd.read_csv(os.path.join(study, {q(_TABLES[name])}){extra})")
    return lines


def coding_mutations() -> list[str]:
    """``coding``: the protein-changing records; ``patient_of``: sample id -> patient id."""
    return [
        f"NOT_PROTEIN_CHANGING = {q(list(NON_PROTEIN_CHANGING))}",
        'coding = mutations[~mutations["Variant_Classification"].isin(NOT_PROTEIN_CHANGING)]',
        'patient_of = dict(zip(samples["SAMPLE_ID"], samples["PATIENT_ID"]))',
    ]


def mutated_patients(gene: str, var: str) -> list[str]:
    return [f'{var} = set(coding.loc[coding["Hugo_Symbol"] == {q(gene)}, "Tumor_Sample_Barcode"].map(patient_of))']


def survival_columns(endpoint: str, source: str = "cohort", target: str = "data") -> list[str]:
    """``target``: ``source`` without missing survival, with 0/1 ``event`` and float ``months``."""
    return [
        f'{target} = {source}.dropna(subset=["{endpoint}_MONTHS", "{endpoint}_STATUS"]).copy()',
        f'{target}["months"] = {target}["{endpoint}_MONTHS"].astype(float)',
        f'{target}["event"] = {target}["{endpoint}_STATUS"].str.startswith("1:").astype(int)',
    ]


def finish(lines: list[str]) -> str:
    return "\n".join([*lines, 'answer = "done"']) + "\n"


# -- cohorts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientCohort:
    """A group of patients: all, one subtype, attribute values, or carriers / non-carriers of a
    gene's mutation."""

    kind: Literal["all", "subtype", "attribute", "mutated", "wildtype"]
    column: str = ""
    values: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PatientCohort:
        return cls(kind=data["kind"], column=data.get("column", ""), values=tuple(data.get("values", ())))

    @property
    def needs_mutations(self) -> bool:
        return self.kind in ("mutated", "wildtype")

    def describe(self) -> str:
        if self.kind == "all":
            return "all patients"
        if self.kind == "subtype":
            return f"patients with a sample of ONCOTREE_CODE {self.values[0]}"
        if self.kind == "attribute":
            if len(self.values) == 1:
                return f'patients whose {self.column} is "{self.values[0]}"'
            shown = " or ".join(f'"{v}"' for v in self.values)
            return f"patients whose {self.column} is {shown}"
        gene = self.values[0]
        return f"patients with a {gene} mutation" if self.kind == "mutated" else f"patients without a {gene} mutation"

    def code(self) -> list[str]:
        """Lines that set ``cohort`` (rows of ``patients``)."""
        if self.kind == "all":
            return ["cohort = patients"]
        if self.kind == "subtype":
            return [
                f'subtype_patients = samples.loc[samples["ONCOTREE_CODE"] == {q(self.values[0])}, "PATIENT_ID"]',
                'cohort = patients[patients["PATIENT_ID"].isin(subtype_patients)]',
            ]
        if self.kind == "attribute":
            return [f"cohort = patients[patients[{q(self.column)}].isin({q(list(self.values))})]"]
        lines = mutated_patients(self.values[0], "carriers")
        negate = "" if self.kind == "mutated" else "~"
        return [*lines, f'cohort = patients[{negate}patients["PATIENT_ID"].isin(carriers)]']

    def patient_ids(self, facts: StudyFacts) -> set[str]:
        everyone = set(facts.patients["PATIENT_ID"])
        if self.kind == "all":
            return everyone
        if self.kind == "subtype":
            return facts.subtype_patients(self.values[0]) & everyone
        if self.kind == "attribute":
            return set(facts.patients.loc[facts.patients[self.column].isin(list(self.values)), "PATIENT_ID"])
        carriers = facts.mutated_patients(self.values[0])
        return everyone & carriers if self.kind == "mutated" else everyone - carriers


def attribute_group(rng: random.Random, facts: StudyFacts, column: str) -> tuple[str, ...]:
    """One value of a patient attribute, or for STAGE an early / advanced pair."""
    if column == "STAGE" and rng.random() < 0.6:
        return ("I", "II") if rng.random() < 0.5 else ("III", "IV")
    return (rng.choice(facts.attribute_values(column)),)


def pick_patient_cohort(rng: random.Random, facts: StudyFacts, *, genes: bool = True) -> PatientCohort:
    u = rng.random()
    if u < 0.25:
        return PatientCohort("all")
    if u < 0.5:
        return PatientCohort("subtype", values=(rng.choice(facts.subtypes),))
    if u < 0.8 or not genes:
        column = choose(rng, facts.attributes())
        return PatientCohort("attribute", column=column, values=attribute_group(rng, facts, column))
    gene = choose(rng, facts.frequent_genes(15)[:8])
    return PatientCohort("mutated" if rng.random() < 0.6 else "wildtype", values=(gene,))


@dataclass(frozen=True)
class SampleCohort:
    """A group of samples: all, one subtype, or one SAMPLE_TYPE."""

    kind: Literal["all", "subtype", "sample_type"]
    value: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SampleCohort:
        return cls(kind=data["kind"], value=data.get("value", ""))

    def describe(self) -> str:
        if self.kind == "all":
            return "all samples of data_clinical_sample.csv"
        if self.kind == "subtype":
            return f"the samples of ONCOTREE_CODE {self.value}"
        return f'the samples whose SAMPLE_TYPE is "{self.value}"'

    def code(self) -> list[str]:
        """Lines that set ``cohort_samples`` (rows of ``samples``)."""
        if self.kind == "all":
            return ["cohort_samples = samples"]
        column = "ONCOTREE_CODE" if self.kind == "subtype" else "SAMPLE_TYPE"
        return [f"cohort_samples = samples[samples[{q(column)}] == {q(self.value)}]"]

    def sample_ids(self, facts: StudyFacts) -> set[str]:
        s = facts.samples
        if self.kind == "all":
            return set(s["SAMPLE_ID"])
        column = "ONCOTREE_CODE" if self.kind == "subtype" else "SAMPLE_TYPE"
        return set(s.loc[s[column] == self.value, "SAMPLE_ID"])


def pick_sample_cohort(rng: random.Random, facts: StudyFacts) -> SampleCohort:
    u = rng.random()
    if u < 0.4:
        return SampleCohort("all")
    if u < 0.8:
        return SampleCohort("subtype", rng.choice(facts.subtypes))
    return SampleCohort("sample_type", rng.choice(["Primary", "Metastasis"]))
