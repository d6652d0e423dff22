"""The medagentbench Dataset: FHIR workflows graded from answers and from the episode's store.

Sample ``i`` of a (category, split, seed) is the ``i``-th instance of the family's candidate list
for that split: every patient of the split (or, for the MRN lookup, every patient plus as many
names that are not on record), grouped by *branch* (within / outside 24 h, low / normal, older /
newer than a year, ...), each group shuffled with the seed, then interleaved so the first
samples of any slice already cover every branch. Instances are distinct within a split, and the
splits are disjoint because their patients are. The answer and the expected writes come from the
split's template store through the same FHIR requests the reference solution replays.
"""

from __future__ import annotations

import json
import random
import threading
from functools import cache
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import (
    AnswerType,
    Resource,
    Sample,
    Solution,
    Split,
    StateTarget,
    Target,
    make_sample_id,
)
from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets.medagentbench.build import (
    NAME,
    build_all,
    build_store,
    store_stamp,
)
from medagentgym.datasets.medagentbench.families import (
    FAMILIES,
    Instance,
    Solved,
    prompt,
    solve,
)
from medagentgym.datasets.medagentbench.patients import (
    NOW,
    NOW_ISO,
    PatientRecord,
    generate_patients,
)
from medagentgym.fhir import FhirStore, handle
from medagentgym.world import vocab as world_vocab

PACKAGE = "medagentgym.datasets.medagentbench"
STORE_NAME = "fhir"
STORE_DESCRIPTION = "the hospital's FHIR R4 server (fhir_get reads and searches, fhir_post creates)"

# Relative weights of the branches when they are interleaved (equal when not listed): most
# MRN lookups find their patient, as in the original benchmark.
_BRANCH_WEIGHTS: dict[str, dict[str, int]] = {"patient_mrn": {"found": 3, "not_found": 1}}


def store_resource(location: str, description: str = STORE_DESCRIPTION) -> Resource:
    return Resource(kind="fhir_store", name=STORE_NAME, path=location, description=description)


def target_of(solved: Solved) -> Target:
    """The hidden target: the answer (None for write-only families) and the expected writes
    (none, when no order is indicated: any write is then wrong)."""
    return Target(
        answer_type=solved.answer_type,
        value=solved.answer,
        abs_tol=solved.abs_tol,
        state=StateTarget(creates=tuple(solved.creates), forbid_other_writes=True),
    )


def solution_of(solved: Solved) -> Solution:
    return Solution(language="actions", code=json.dumps(solved.actions()))


@cache
def _patients(split: Split) -> tuple[PatientRecord, ...]:
    return tuple(generate_patients(split))


def candidates(family: str, records: tuple[PatientRecord, ...]) -> list[Instance]:
    """Every instance of ``family`` over a split's patients, each with its branch."""
    out: list[Instance] = []
    names = {(r.given, r.family) for r in records}
    for i, r in enumerate(records):
        rng = random.Random(stable_hash(NAME, family, r.mrn))
        match family:
            case "patient_mrn":
                out.append(Instance(family, "found", r.mrn, {"given": r.given, "family": r.family,
                                                             "birth_date": r.birth_date.isoformat()}))
                other = records[(i + 7) % len(records)]
                if i % 2 and (r.given, other.family) not in names:
                    given, family_name, born = r.given, other.family, r.birth_date
                else:  # the patient's name with a birth date that is not theirs
                    from datetime import timedelta

                    given, family_name = r.given, r.family
                    born = r.birth_date + timedelta(days=rng.choice((-366, -31, -2, 1, 3, 365)))
                out.append(Instance(family, "not_found", "", {"given": given, "family": family_name,
                                                              "birth_date": born.isoformat()}))
            case "patient_age":
                passed = (NOW.month, NOW.day) >= (r.birth_date.month, r.birth_date.day)
                out.append(Instance(family, "birthday_passed" if passed else "birthday_upcoming", r.mrn))
            case "record_bp":
                reading = f"{rng.randint(95, 180)}/{rng.randint(55, 110)} mmHg"
                out.append(Instance(family, "write", r.mrn, {"bp": reading}))
            case "latest_magnesium":
                recent = r.states["MG"] not in ("none", "old")
                out.append(Instance(family, "recent" if recent else "none_recent", r.mrn))
            case "magnesium_replacement":
                state = r.states["MG"]
                out.append(Instance(family, "none_recent" if state in ("none", "old") else state, r.mrn))
            case "average_glucose":
                out.append(Instance(family, "recent" if r.states["GLU"] == "recent" else "none_recent", r.mrn))
            case "latest_glucose":
                out.append(Instance(family, "none" if r.states["GLU"] == "none" else "present", r.mrn))
            case "ortho_referral":
                from medagentgym.datasets.medagentbench.vocab import REFERRAL_NOTES

                out.append(Instance(family, "write", r.mrn, {"note": rng.randrange(len(REFERRAL_NOTES))}))
            case "potassium_replacement":
                out.append(Instance(family, r.states["K"], r.mrn))
            case "hba1c_check":
                out.append(Instance(family, r.states["A1C"], r.mrn))
            case _:
                raise KeyError(f"unknown medagentbench family {family!r}")
    return out


def interleave(instances: list[Instance], family: str, split: Split, seed: int) -> list[Instance]:
    """Group by branch, shuffle each group with the seed, then take from the groups in turn
    (by their weights) so every prefix of the list covers every branch."""
    groups: dict[str, list[Instance]] = {}
    for inst in instances:
        groups.setdefault(inst.branch, []).append(inst)
    for branch, group in groups.items():
        random.Random(stable_hash(NAME, family, split, seed, branch)).shuffle(group)
    weights = _BRANCH_WEIGHTS.get(family, {})
    pattern = [b for b in sorted(groups) for _ in range(weights.get(b, 1))]
    ordered: list[Instance] = []
    positions = dict.fromkeys(groups, 0)
    while len(ordered) < len(instances):
        for branch in pattern:
            if positions[branch] < len(groups[branch]):
                ordered.append(groups[branch][positions[branch]])
                positions[branch] += 1
    seen: set[str] = set()
    for inst in ordered:  # a repeat would be a generator bug: the catalog promises distinct samples
        if inst.key in seen:
            raise RuntimeError(f"duplicate medagentbench instance {inst.key}")
        seen.add(inst.key)
    return ordered


class MedAgentBench:
    """FHIR workflows over a per-episode copy of a synthetic hospital's record store."""

    name = NAME
    title = "MedAgentBench: clinical FHIR workflows (lookups, labs, orders) against a per-episode record store"
    family = "fhir_workflow"  # selects the system prompt (env/prompts.py)
    row_shape = RowShape(fields=("id", "instruction"))  # what ``importer.parse_row`` cannot do without

    def __init__(self) -> None:
        self._categories: list[Category] | None = None
        self._orders: dict[tuple[str, Split, int], list[Instance]] = {}
        self._stores: dict[tuple[str, str], FhirStore] = {}
        self._lock = threading.Lock()

    # ---- catalog

    def categories(self) -> list[Category]:
        if self._categories is None:
            rows = world_vocab.read_toml("categories.toml", PACKAGE)["category"]
            self._categories = [
                Category(
                    name=r["name"],
                    dataset=NAME,
                    title=r["title"],
                    answer_type=AnswerType(r["answer_type"]),
                    counts=dict(r["counts"]),
                    full_counts=dict(r.get("full", {})),
                )
                for r in rows
            ]
            unknown = {c.name for c in self._categories} ^ set(FAMILIES)
            if unknown:
                raise RuntimeError(f"categories.toml and the family table disagree on {sorted(unknown)}")
        return list(self._categories)

    def category(self, name: str) -> Category:
        for category in self.categories():
            if category.name == name:
                return category
        known = ", ".join(c.name for c in self.categories())
        raise KeyError(f"unknown {NAME} category {name!r} (known: {known})")

    # ---- data

    def build(self, *, force: bool = False) -> None:
        build_all(force=force)
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

    def template(self, split: Split) -> Path:
        """The split's template store (built on first use)."""
        return build_store(split)

    def _store(self, split: Split) -> FhirStore:
        """A read-only handle on the split's template, for the solvers (kept per process)."""
        path = self.template(split)
        key = (str(path), store_stamp())
        with self._lock:
            if key not in self._stores:
                self._stores[key] = FhirStore(path, readonly=True)
            return self._stores[key]

    def fetch(self, split: Split) -> Any:
        """``fetch(url) -> JSON`` over the split's template, for the solvers."""
        store = self._store(split)

        def get(url: str) -> dict[str, Any]:
            response = handle(store, "GET", url)
            if response.status == 404 and "/" in url.split("?")[0]:
                return response.body  # a read of a missing resource: the solver decides
            if not response.ok:
                raise RuntimeError(f"the template store answered {response.status} to {url}: {response.text()}")
            return response.body

        return get

    # ---- generation

    def instances(self, category: str, split: Split, seed: int = 0) -> list[Instance]:
        key = (category, split, seed)
        if key not in self._orders:
            self.category(category)
            self._orders[key] = interleave(candidates(category, _patients(split)), category, split, seed)
        return self._orders[key]

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        instances = self.instances(category, split, seed)
        if not 0 <= index < len(instances):
            raise IndexError(f"{NAME}/{category} has {len(instances)} instances in {split}, not {index + 1}")
        inst = instances[index]
        solved = solve(inst, self.fetch(split), NOW_ISO)
        return Sample(
            id=make_sample_id(NAME, category, split, index, seed),
            dataset=NAME,
            category=category,
            split=split,
            index=index,
            seed=seed,
            prompt=prompt(inst, NOW_ISO),
            resources=(store_resource(str(self.template(split))),),
            target=target_of(solved),
            solution=solution_of(solved),
            metadata={
                "family": inst.family,
                "branch": inst.branch,
                "mrn": inst.mrn,
                "params": inst.params,
                "content_key": inst.key,
                "now": NOW_ISO,
            },
        )

    # ---- import

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """Official MedAgentBench rows -> samples over the user's FHIR server (``fhir_url``).

        Without ``fhir_url`` nothing is written: the official rows name patients of the original
        server, which are not in the embedded store (a ValueError says so).
        """
        from medagentgym.datasets.medagentbench.importer import import_rows

        return import_rows(Path(source), Path(output), **options)


DATASET = MedAgentBench()
