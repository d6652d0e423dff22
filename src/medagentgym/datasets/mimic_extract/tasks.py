"""The six MIMIC-Extract tasks: which window they read and what their label means.

The wording here is the prompt's description of the label; the label itself is computed in
``extract.py`` (from the world's hidden outcomes and the record's times, at build time).
"""

from __future__ import annotations

from dataclasses import dataclass

from medagentgym.datasets.mimic_extract.extract import (
    GAP_H,
    LONG_WINDOW_H,
    PREDICTION_WINDOW_H,
    SHORT_WINDOW_H,
)


@dataclass(frozen=True)
class Task:
    name: str  # also the label column of the training file
    category: str
    window_h: int  # hours of the hourly grid the agent is given
    label: str  # what a positive label means (prompt text)


_LONG = f"the first {LONG_WINDOW_H} hours of the ICU stay (every stay lasted at least {LONG_WINDOW_H + GAP_H} hours)"
_SHORT = (
    f"the first {SHORT_WINDOW_H} hours of the ICU stay; the label is the intervention's status in the "
    f"{PREDICTION_WINDOW_H}-hour window that starts {GAP_H} hours after the observation window ends "
    f"(hours {SHORT_WINDOW_H + GAP_H}-{SHORT_WINDOW_H + GAP_H + PREDICTION_WINDOW_H} of the stay)"
)

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("mort_icu", "mortality", LONG_WINDOW_H, "the patient died during this ICU stay"),
        Task("mort_hosp", "mortality", LONG_WINDOW_H, "the patient died before discharge from the hospital"),
        Task("los_3", "length_of_stay", LONG_WINDOW_H, "the ICU stay lasted more than 3 days"),
        Task("los_7", "length_of_stay", LONG_WINDOW_H, "the ICU stay lasted more than 7 days"),
        Task("vasopressor", "intervention", SHORT_WINDOW_H,
             "the patient was on a vasopressor infusion (norepinephrine or vasopressin) in the prediction window"),
        Task("ventilation", "intervention", SHORT_WINDOW_H,
             "the patient was on invasive mechanical ventilation in the prediction window"),
    )
}


def window_text(task: Task) -> str:
    """The sentence part that says which hours the features cover."""
    return _LONG if task.window_h == LONG_WINDOW_H else _SHORT
