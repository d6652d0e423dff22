"""The mimic_extract Dataset: MIMIC-Extract-style prediction cohorts on the world's ICU stays.

A sample is one cohort of one task: a training file (hourly features and the label) and a test
file (features only) in the sample's own folder; the test labels live only in the hidden target.
See docs/mimic_extract.md for the windows, the labels, the oracle bound and the measured bars.
"""

from __future__ import annotations

import functools
import random
import statistics
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from medagentgym.catalog.dataset import Category, ImportReport, RowShape
from medagentgym.catalog.sample import AnswerType, Sample, Split
from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets._prediction import cohort_sample, metric, round_scores
from medagentgym.datasets.mimic_extract.cohorts import (
    NAME,
    Cohort,
    baseline_scores,
    build_calibration,
    calibration,
    cohort_folder,
    draw_cohort,
    oracle_scores,
    remove_stale_cohorts,
    stamp,
    stay_key,
    stays,
    write_cohort,
)
from medagentgym.datasets.mimic_extract.extract import LABS, STATIC, VARIABLES, VITALS
from medagentgym.datasets.mimic_extract.tasks import TASKS, Task, window_text

#: Redraws allowed when a cohort's oracle falls below the bar (rare; counted in metadata).
MAX_ATTEMPTS = 20
STATIC_TEXT = (
    "age (years), sex (F/M), admission_type, first_careunit, admission_diagnosis (the admitting "
    "diagnosis text), hours_to_icu (hours from hospital admission to ICU admission)"
)


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("medagentgym.datasets.mimic_extract").joinpath("categories.toml").read_text()
    return tomllib.loads(text)


def task_for(category: Category, split: Split, index: int) -> Task:
    """The category's task at a sample slot: alternating by index (the train split starts with
    the second task, so the full split's three train and three test samples cover all six)."""
    names = category.params["tasks"]
    offset = 1 if split == "train" else 0
    return TASKS[names[(index + offset) % len(names)]]


def prompt_for(task: Task, n_train: int, n_test: int) -> str:
    vitals = ", ".join(name for name, _ in VITALS)
    labs = ", ".join(name for name, _ in LABS)
    last = task.window_h - 1
    return (
        f"Prediction task `{task.name}` (MIMIC-Extract style, synthetic ICU data): predict for each test ICU "
        f"stay whether {task.label}.\n\n"
        f"The folder RESOURCES['cohort'] (a path in your Python session) holds `train.csv` ({n_train} stays "
        f"with the label column `{task.name}`, 1 = yes, 0 = no) and `test.csv` ({n_test} stays, no label). "
        "Both are wide tables with one row per ICU stay: `id`, the static fields known at ICU admission "
        f"({STATIC_TEXT}), then hourly values `<variable>_hNN` for hours h00..h{last:02d} of {window_text(task)}. "
        "Each hourly value is the mean of the measurements charted in that hour since ICU admission; an "
        "empty cell means nothing was measured in that hour (vitals are charted every 2-4 hours, labs "
        f"about once a day, so most lab hours are empty). Vitals: {vitals} (blood pressures in mmHg, "
        f"temperature in degrees C). Labs: {labs}.\n\n"
        f"Write a predictions file `predictions.csv` with one row per test stay (every id of test.csv "
        "exactly once) and submit its name. The score is AUROC on the hidden test labels; it must reach "
        "the bar set by a logistic-regression baseline."
    )


class MimicExtract:
    """MIMIC-Extract-style mortality, length-of-stay and intervention prediction cohorts."""

    name = NAME
    title = "MIMIC-Extract: ICU mortality, length of stay and interventions from hourly vitals and labs"
    family = "clinical_prediction"  # selects the system prompt (env/prompts.py)
    # The official task list's rows; no importer reads them (credentialed data), but the import
    # command can tell a user who passes that file to another dataset whose rows these are.
    row_shape = RowShape(fields=("task_name", "task_description", "task_category"))

    def categories(self) -> list[Category]:
        return [
            Category(
                name=row["name"],
                dataset=NAME,
                title=row["title"],
                answer_type=AnswerType(row["answer_type"]),
                counts=row["counts"],
                full_counts=row.get("full", {}),
                params={"tasks": list(row["tasks"])},
            )
            for row in _table()["category"]
        ]

    def category(self, name: str) -> Category:
        for category in self.categories():
            if category.name == name:
                return category
        raise KeyError(f"unknown {NAME} category {name!r}; choose from {[c.name for c in self.categories()]}")

    def build(self, *, force: bool = False) -> None:
        """Extract the stays from the world and calibrate every task's bar (stamped; reused), and
        drop the cohort files of other stamps (an older world or older code)."""
        stays()
        build_calibration(force=force)
        remove_stale_cohorts()

    def generate(self, category: str, split: Split, index: int, seed: int = 0) -> Sample:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        if index < 0:
            raise IndexError(f"sample index must be >= 0, not {index}")
        cat = self.category(category)
        task = task_for(cat, split, index)
        bar = calibration()[split][task.name].bar
        for attempt in range(MAX_ATTEMPTS):
            rng = random.Random(stable_hash(NAME, category, split, index, seed, attempt))
            cohort = draw_cohort(task, split, rng)
            oracle = oracle_scores(cohort)
            if metric("binary", cohort.test_labels, round_scores(oracle), ("score",)) >= bar:
                break
        else:
            raise RuntimeError(f"{NAME}: no cohort of {task.name} where the oracle reaches the bar {bar}")
        return self._sample(cat, task, split, index, seed, cohort, oracle, bar, attempt)

    def _sample(self, cat: Category, task: Task, split: Split, index: int, seed: int, cohort: Cohort,
                oracle: Any, bar: float, attempt: int) -> Sample:
        folder = cohort_folder(cat.name, split, index, seed, attempt)
        write_cohort(cohort, folder)
        ids = [stay_key(s) for s in cohort.test]
        labels = cohort.test_labels
        content_key = f"{task.name}|{split}|" + ",".join(sorted(stay_key(s) for s in cohort.train)) + "|" + ",".join(
            sorted(ids))
        return cohort_sample(
            dataset=NAME,
            category=cat.name,
            split=split,
            index=index,
            seed=seed,
            prompt=prompt_for(task, len(cohort.train), len(cohort.test)),
            folder=folder,
            description=f"train.csv and test.csv of the {task.name} cohort (wide hourly tables)",
            kind="binary",
            columns=("score",),
            ids=ids,
            labels=labels,
            bar=bar,
            baseline_scores=baseline_scores(cohort),
            oracle_scores=oracle,
            metadata={
                "task": task.name,
                "window_h": task.window_h,
                "n_train": len(cohort.train),
                "n_test": len(cohort.test),
                "test_prevalence": round(statistics.fmean(labels), 4),
                "attempts": attempt + 1,
                "stamp": stamp(),
                "content_key": f"{stable_hash(content_key):016x}",
                "variables": list(VARIABLES),
                "static": list(STATIC),
            },
        )

    def import_file(self, source: Path, output: Path, **options: Any) -> ImportReport:
        """Not available: the official MIMIC-Extract files are credentialed PhysioNet data."""
        raise ValueError(
            f"{NAME}: the official MIMIC-Extract task files derive from credentialed MIMIC-III data (PhysioNet) "
            "and cannot be imported here; the generated samples offer the same six tasks (mort_icu, mort_hosp, "
            "los_3, los_7, vasopressor, ventilation) on the synthetic world's ICU stays"
        )


DATASET = MimicExtract()
