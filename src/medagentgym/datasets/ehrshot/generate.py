"""EHRSHOT samples: one k-shot cohort of one task, its files, its hidden target and the oracle.

The slot (task, split, index, seed) seeds the cohort's random stream; the split picks the hidden
patient group its test examples come from (``pool.group_of``). If the oracle bound does not reach
the task's bar on the drawn test set, the cohort is redrawn from the slot's next stream (at most
``MAX_ATTEMPTS``; it happens for a few percent of cohorts of the weakest tasks), so every sample
is solvable by the model that knows the latent state.

Files of a cohort (written on first use, atomically, under the build's stamp):

- ``train.csv``: ``id, prediction_time, e00..e95`` (the frozen record embedding) and the label
  column(s): ``label`` (binary 0/1, or the class index), or one 0/1 column per label (multilabel);
- ``test.csv``: the same without labels;
- ``record.sqlite``: ``examples(id, part, prediction_time)`` and ``events(id, time, code, value,
  unit)``, each example's own events strictly before its prediction time (one example per
  patient, so nothing is repeated; no index, which would double the file for a table an agent
  reads whole: 2-3 MB a cohort).
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
from pathlib import Path

from medagentgym.catalog.sample import Sample, Split
from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets._prediction import cohort_sample, write_csv
from medagentgym.datasets.ehrshot.cohorts import MAX_ATTEMPTS, Cohort, cohort_scores, draw_cohort, load_calibrations
from medagentgym.datasets.ehrshot.examples import TaskSpec
from medagentgym.datasets.ehrshot.families_lab import LABS
from medagentgym.datasets.ehrshot.pool import Pool, build_dir, load_pool, shared_record
from medagentgym.datasets.ehrshot.record import EMBED_DIM, RECENT_HOURS
from medagentgym.datasets.ehrshot.tasks import DATASET_NAME, task_spec

FEATURES = tuple(f"e{i:02d}" for i in range(EMBED_DIM))

DEFINITIONS: dict[str, str] = {
    "guo_los": (
        "whether the hospital stay will last 7 days or more. The prediction time is 23:59 on the day "
        "of admission; stays discharged on the day of admission are not included"
    ),
    "guo_readmission": (
        "whether the patient will be admitted again within 30 days after being discharged from this "
        "stay. The prediction time is 23:59 on the day of admission; stays ending in death are not included"
    ),
    "guo_icu": (
        "whether the patient will be transferred to an intensive care unit during this stay. The "
        "prediction time is 23:59 on the day of admission; stays with ICU care starting on the day of "
        "admission are not included"
    ),
    "new_hypertension": "whether the patient gets a first diagnosis of essential hypertension within the next year",
    "new_hyperlipidemia": "whether the patient gets a first diagnosis of hyperlipidemia within the next year",
    "new_pancan": "whether the patient gets a first diagnosis of pancreatic cancer within the next year",
    "new_celiac": "whether the patient gets a first diagnosis of celiac disease within the next year",
    "new_lupus": "whether the patient gets a first diagnosis of lupus within the next year",
    "new_acutemi": "whether the patient gets a first diagnosis of acute myocardial infarction within the next year",
    "chexpert": (
        "which findings the report of a chest X-ray will state (multilabel: several can be present). "
        "The prediction time is 24 hours before the report is recorded"
    ),
}


METRICS = {
    "binary": "AUROC",
    "multiclass": "macro one-vs-rest AUROC over the classes",
    "multilabel": "macro AUROC over the findings",
}


def definition(task: TaskSpec) -> str:
    if task.family == "lab":
        grade = LABS[task.params["lab"]]
        return (
            f"the grade of a lab result at the moment it is ordered (the prediction time is just before "
            f"the result). Grades: {grade.text}. Class index: 0 normal, 1 mild, 2 moderate, 3 severe"
        )
    return DEFINITIONS[task.name]


def cohort_dir(task: str, split: Split, index: int, seed: int) -> Path:
    return build_dir() / "cohorts" / task / f"{split}-s{seed}-i{index}"


def _write_cohort(path: Path, task: TaskSpec, pool: Pool, cohort: Cohort) -> None:
    """The cohort's three files, written into a fresh directory moved into place at once."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        label_header = list(task.columns) if task.kind == "multilabel" else ["label"]
        train_rows = []
        for r in cohort.train.tolist():
            label = [int(x) for x in pool.labels[r]] if task.kind == "multilabel" else [int(pool.labels[r])]
            train_rows.append([pool.ids[r], pool.times[r], *(f"{v:.4f}" for v in pool.features[r]), *label])
        write_csv(tmp / "train.csv", ["id", "prediction_time", *FEATURES, *label_header], train_rows)
        test_rows = [
            [pool.ids[r], pool.times[r], *(f"{v:.4f}" for v in pool.features[r])] for r in cohort.test.tolist()
        ]
        write_csv(tmp / "test.csv", ["id", "prediction_time", *FEATURES], test_rows)
        record = shared_record()
        con = sqlite3.connect(tmp / "record.sqlite")
        try:
            con.execute(
                "CREATE TABLE examples (id TEXT PRIMARY KEY, part TEXT NOT NULL, prediction_time TEXT NOT NULL)"
            )
            con.execute(
                "CREATE TABLE events (id TEXT NOT NULL, time TEXT NOT NULL, code TEXT NOT NULL, value REAL, unit TEXT)"
            )
            for which, rows in (("train", cohort.train), ("test", cohort.test)):
                for r in rows.tolist():
                    eid, when = str(pool.ids[r]), str(pool.times[r])
                    con.execute("INSERT INTO examples VALUES (?, ?, ?)", (eid, which, when))
                    con.executemany(
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                        ((eid, *event) for event in record.events_before(int(pool.subjects[r]), when)),
                    )
            con.commit()
        finally:
            con.close()
        for item in tmp.iterdir():  # mkstemp/mkdtemp make owner-only files; a sandbox user may differ
            item.chmod(0o644)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not path.exists():
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _prompt(task: TaskSpec, cohort: Cohort, pool: Pool) -> str:
    k = int(task.params.get("k", 32))
    if task.kind == "binary":
        labels = "`label` (1 = yes, 0 = no)"
        shots = f"{k} of each label, or all the hospital has"
    elif task.kind == "multiclass":
        labels = "`label` (the class index: " + ", ".join(f"{i} {c}" for i, c in enumerate(task.columns)) + ")"
        shots = f"{k} of each class, or all the hospital has"
    else:
        labels = "one 0/1 column per finding (" + ", ".join(f"`{c}`" for c in task.columns) + ")"
        shots = f"about {k} with each finding"
    return (
        f"EHRSHOT task `{task.name}` (few-shot clinical prediction). Predict {definition(task)}.\n\n"
        f"The directory resource `cohort` holds {len(cohort.train)} training examples ({shots}) and "
        f"{len(cohort.test)} test examples, one per patient:\n"
        f"- `train.csv`: `id`, `prediction_time`, `e00`..`e{EMBED_DIM - 1:02d}` and {labels};\n"
        f"- `test.csv`: the same columns without {'the label columns' if task.kind == 'multilabel' else '`label`'};\n"
        f"- `record.sqlite`: table `examples(id, part, prediction_time)` and table `events(id, time, code, "
        f"value, unit)` with each example's record strictly before its prediction time (`part` is train or test; codes "
        f"`VISIT/<type>`, `VISIT_END`, `LAB/<name>` with value and unit, `ICD9CM/<diagnosis>`, "
        f"`ICD9Proc/<procedure>`, `DRUG/<name>` with dose, `ICU/<unit>`).\n"
        f"`e00`..`e{EMBED_DIM - 1:02d}` are a fixed pretrained representation of the record before the "
        f"prediction time (the same encoder for every task: age, sex, visits, distinct diagnoses, "
        f"procedures and drugs, code counts over the whole history and the last {RECENT_HOURS} hours, "
        f"latest lab values). You may use it, the raw events, or both.\n"
        f"Predictions are scored by {METRICS[task.kind]} on the hidden test labels."
    )


def generate_sample(category: str, split: Split, index: int, seed: int = 0) -> Sample:
    """The sample at (category, split, index, seed); the same arguments give the same sample."""
    from medagentgym.datasets.ehrshot.build import ensure_built

    task = task_spec(category)
    ensure_built([task])
    calibration = load_calibrations()[task.name]
    pool = load_pool(task.name)
    group = "train" if split == "train" else "test"
    for attempt in range(MAX_ATTEMPTS):
        rng = random.Random(stable_hash(DATASET_NAME, category, split, index, seed, attempt))
        cohort = draw_cohort(task, pool, group, rng)
        scores = cohort_scores(task, pool, cohort)
        if scores["oracle"] >= calibration.bar:  # type: ignore[operator]
            break
    else:
        raise RuntimeError(f"{category}: no cohort's oracle reaches the bar {calibration.bar} in {MAX_ATTEMPTS} draws")
    folder = cohort_dir(category, split, index, seed)
    _write_cohort(folder, task, pool, cohort)
    ids = [str(pool.ids[r]) for r in cohort.test.tolist()]
    return cohort_sample(
        dataset=DATASET_NAME,
        category=category,
        split=split,
        index=index,
        seed=seed,
        prompt=_prompt(task, cohort, pool),
        folder=folder,
        description=f"{task.name} k-shot cohort: train.csv, test.csv, record.sqlite",
        kind=task.kind,  # type: ignore[arg-type]
        columns=task.columns,
        ids=ids,
        labels=scores["y_test"],  # type: ignore[arg-type]
        bar=calibration.bar,
        baseline_scores=scores["baseline_scores"],  # type: ignore[arg-type]
        oracle_scores=scores["oracle_scores"],  # type: ignore[arg-type]
        metadata={
            # A cohort is its test set: train and test splits draw it from disjoint patient groups.
            "content_key": f"{task.name}:{stable_hash(*sorted(ids)):016x}",
            "family": task.family,
            "kind": task.kind,
            "attempt": attempt,
            "n_train": len(cohort.train),
            "n_test": len(cohort.test),
            "bar": calibration.bar,
            "baseline_auroc": round(float(scores["baseline"]), 4),  # type: ignore[arg-type]
            "oracle_auroc": round(float(scores["oracle"]), 4),  # type: ignore[arg-type]
        },
    )
