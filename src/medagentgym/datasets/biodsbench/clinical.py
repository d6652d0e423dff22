"""Clinical question families: cross-tabulation of two patient attributes with a chi-square
test, and treatment durations from the timeline."""

from __future__ import annotations

import random

from medagentgym.datasets.biodsbench.questions import (
    Draw,
    Question,
    Reject,
    Variable,
    case,
    choose_n,
    finish,
    load,
    pick_study,
    q,
)

SUBTYPE = "ONCOTREE_CODE"


class ClinicalCrosstab:
    key = "clinical_crosstab"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        columns = [*facts.attributes(), SUBTYPE]
        row, col = choose_n(rng, columns, 2)
        data = facts.patients
        if SUBTYPE in (row, col):
            data = data.merge(facts.samples[["PATIENT_ID", SUBTYPE]].drop_duplicates(), on="PATIENT_ID")
        data = data.dropna(subset=[row, col])
        if data[row].nunique() < 2 or data[col].nunique() < 2:
            raise Reject("a one-value attribute")
        return Draw(facts.study_id, {"row": row, "column": col})

    def question(self, draw: Draw) -> Question:
        row, col = draw.params["row"], draw.params["column"]
        code = [*load("patients", "samples", imports=["from scipy.stats import chi2_contingency"])]
        if SUBTYPE in (row, col):
            code += [
                f'subtypes = samples[["PATIENT_ID", {q(SUBTYPE)}]].drop_duplicates()',
                'data = patients.merge(subtypes, on="PATIENT_ID")',
            ]
        else:
            code.append("data = patients")
        code += [
            f"table = pd.crosstab(data[{q(row)}], data[{q(col)}])",
            "pvalue = float(chi2_contingency(table).pvalue)",
        ]
        subtype_note = (
            f" A patient's {SUBTYPE} is the one of their samples in data_clinical_sample.csv (a "
            "patient's samples share it)."
            if SUBTYPE in (row, col)
            else ""
        )
        return Question(
            task=(
                f"Cross-tabulate the patients by {row} (rows) and {col} (columns), leaving out patients "
                f"with either value missing, and test their association with a chi-square test "
                f"(scipy.stats.chi2_contingency with its default settings).{subtype_note}"
            ),
            variables=(
                Variable(
                    "table",
                    "pandas.DataFrame",
                    "patient counts: index the values of the row attribute sorted ascending, columns the "
                    "values of the column attribute sorted ascending, no totals (what pd.crosstab gives)",
                ),
                Variable("pvalue", "float", "the chi-square test's p-value"),
            ),
            code=finish(code),
            cases=(case("table", "table"), case("pvalue", "pvalue")),
        )


class TreatmentDuration:
    key = "treatment_duration"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng, timeline=True)
        timeline = facts.timeline
        assert timeline is not None
        by = "AGENT" if rng.random() < 0.65 else "TREATMENT_TYPE"
        value = rng.choice(sorted(timeline[by].unique()))
        subtype = rng.choice(facts.subtypes) if rng.random() < 0.4 else None
        lines = timeline[timeline[by] == value]
        if subtype is not None:
            lines = lines[lines["PATIENT_ID"].isin(facts.subtype_patients(subtype))]
        if lines["STOP_DATE"].notna().sum() < 3:
            raise Reject("fewer than three finished lines")
        return Draw(facts.study_id, {"by": by, "value": value, "subtype": subtype})

    def question(self, draw: Draw) -> Question:
        by, value, subtype = draw.params["by"], draw.params["value"], draw.params["subtype"]
        code = [
            *load("timeline", *(["samples"] if subtype else [])),
            f"lines = timeline[timeline[{q(by)}] == {q(value)}]",
        ]
        who = "patients"
        if subtype:
            code += [
                f'subtype_patients = samples.loc[samples["ONCOTREE_CODE"] == {q(subtype)}, "PATIENT_ID"]',
                'lines = lines[lines["PATIENT_ID"].isin(subtype_patients)]',
            ]
            who = f"patients with a sample of ONCOTREE_CODE {subtype}"
        code += [
            'n_patients = int(lines["PATIENT_ID"].nunique())',
            'finished = lines.dropna(subset=["STOP_DATE"])',
            'median_duration_days = float((finished["STOP_DATE"] - finished["START_DATE"]).median())',
            'n_ongoing = int(lines["STOP_DATE"].isna().sum())',
        ]
        return Question(
            task=(
                f"From data_timeline_treatment.csv, describe the treatment lines whose {by} is "
                f'"{value}" given to {who}: how many patients received it, how long its finished lines '
                "lasted (STOP_DATE - START_DATE, in days), and how many lines are still ongoing (no STOP_DATE)."
            ),
            variables=(
                Variable("n_patients", "int", "distinct patients with at least one such line"),
                Variable("median_duration_days", "float", "median duration of the lines with a STOP_DATE"),
                Variable("n_ongoing", "int", "lines without a STOP_DATE"),
            ),
            code=finish(code),
            cases=(
                case("n_patients", "n_patients"),
                case("median_duration_days", "median_duration_days"),
                case("n_ongoing", "n_ongoing"),
            ),
        )
