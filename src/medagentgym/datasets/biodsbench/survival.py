"""Survival question families: Kaplan-Meier fit, median survival with its confidence interval,
log-rank test between two groups, Cox hazard ratio of a mutation (lifelines)."""

from __future__ import annotations

import math
import random

import numpy as np
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError
from lifelines.utils import median_survival_times

from medagentgym.datasets.biodsbench.facts import StudyFacts
from medagentgym.datasets.biodsbench.questions import (
    ENDPOINT_NAMES,
    FITTED_REL_TOL,
    MUTATED_CONVENTION,
    Draw,
    PatientCohort,
    Question,
    Reject,
    Variable,
    case,
    choose,
    choose_n,
    coding_mutations,
    finish,
    load,
    mutated_patients,
    pick_endpoint,
    pick_patient_cohort,
    pick_study,
    q,
    survival_columns,
    survival_convention,
)


def _cohort_lines(*cohorts: PatientCohort) -> tuple[list[str], list[str], tuple[str, ...]]:
    """Tables to read, the mutation preamble, and the conventions the cohorts need."""
    genes = any(c.needs_mutations for c in cohorts)
    samples = genes or any(c.kind == "subtype" for c in cohorts)
    tables = ["patients", *(["samples"] if samples else []), *(["mutations"] if genes else [])]
    return tables, (coding_mutations() if genes else []), ((MUTATED_CONVENTION,) if genes else ())


def _km(facts: StudyFacts, endpoint: str, cohort: PatientCohort) -> KaplanMeierFitter:
    surv = facts.survival(endpoint, cohort.patient_ids(facts))
    if len(surv) < 15 or surv["E"].sum() < 5:
        raise Reject("cohort too small for a survival curve")
    return KaplanMeierFitter().fit(surv["T"], event_observed=surv["E"])


class KaplanMeier:
    key = "kaplan_meier"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        endpoint = pick_endpoint(rng, facts)
        cohort = pick_patient_cohort(rng, facts)
        _km(facts, endpoint, cohort)
        return Draw(facts.study_id, {"endpoint": endpoint, "cohort": cohort.to_json()})

    def question(self, draw: Draw) -> Question:
        endpoint = draw.params["endpoint"]
        cohort = PatientCohort.from_json(draw.params["cohort"])
        tables, preamble, conventions = _cohort_lines(cohort)
        code = [
            *load(*tables, imports=["from lifelines import KaplanMeierFitter"]),
            *preamble,
            *cohort.code(),
            *survival_columns(endpoint),
            "kmf = KaplanMeierFitter()",
            'kmf.fit(data["months"], event_observed=data["event"])',
        ]
        return Question(
            task=(
                f"Estimate the {ENDPOINT_NAMES[endpoint]} curve of {cohort.describe()} with a "
                "Kaplan-Meier fit (lifelines KaplanMeierFitter), one observation per patient."
            ),
            variables=(
                Variable(
                    "kmf",
                    "lifelines KaplanMeierFitter",
                    f"fitted on {endpoint}_MONTHS with the 0/1 events of the cohort",
                ),
            ),
            code=finish(code),
            cases=(
                case(
                    "kmf is a fitted KaplanMeierFitter (class, patients, events)",
                    "[kmf.__class__.__name__, kmf.durations.shape[0], kmf.event_observed.sum()]",
                ),
                case("kmf.durations.sum()", "kmf.durations.sum()"),
                case("kmf.median_survival_time_", "kmf.median_survival_time_"),
                case("kmf survival at 12 and 24 months", "kmf.survival_function_at_times([12.0, 24.0]).tolist()"),
            ),
            conventions=(survival_convention(endpoint), *conventions),
        )


class MedianSurvival:
    key = "median_survival"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        endpoint = pick_endpoint(rng, facts)
        cohort = pick_patient_cohort(rng, facts)
        kmf = _km(facts, endpoint, cohort)
        bounds = median_survival_times(kmf.confidence_interval_)
        if not math.isfinite(kmf.median_survival_time_) or not math.isfinite(float(bounds.iloc[0, 0])):
            raise Reject("median not reached")
        return Draw(facts.study_id, {"endpoint": endpoint, "cohort": cohort.to_json()})

    def question(self, draw: Draw) -> Question:
        endpoint = draw.params["endpoint"]
        cohort = PatientCohort.from_json(draw.params["cohort"])
        tables, preamble, conventions = _cohort_lines(cohort)
        code = [
            *load(
                *tables,
                imports=[
                    "from lifelines import KaplanMeierFitter",
                    "from lifelines.utils import median_survival_times",
                ],
            ),
            *preamble,
            *cohort.code(),
            *survival_columns(endpoint),
            "kmf = KaplanMeierFitter()",
            'kmf.fit(data["months"], event_observed=data["event"])',
            "median_months = float(kmf.median_survival_time_)",
            "bounds = median_survival_times(kmf.confidence_interval_)",
            "ci_lower = float(bounds.iloc[0, 0])",
            "ci_upper = float(bounds.iloc[0, 1])",
        ]
        return Question(
            task=(
                f"Find the median {ENDPOINT_NAMES[endpoint]} in months of {cohort.describe()} and its "
                "95% confidence interval, from a Kaplan-Meier fit (lifelines KaplanMeierFitter with its "
                "default 95% interval; the interval of the median is "
                "lifelines.utils.median_survival_times(kmf.confidence_interval_))."
            ),
            variables=(
                Variable("median_months", "float", "the Kaplan-Meier median in months"),
                Variable("ci_lower", "float", "lower bound of its 95% confidence interval"),
                Variable(
                    "ci_upper", "float", "upper bound of its 95% confidence interval (float('inf') if not reached)"
                ),
            ),
            code=finish(code),
            cases=(
                case("median_months", "median_months"),
                case("ci_lower", "ci_lower"),
                case("ci_upper", "ci_upper"),
            ),
            conventions=(survival_convention(endpoint), *conventions),
        )


def _two_groups(rng: random.Random, facts: StudyFacts) -> tuple[PatientCohort, PatientCohort]:
    u = rng.random()
    if u < 0.45:
        gene = choose(rng, facts.frequent_genes(8)[:10])
        return PatientCohort("mutated", values=(gene,)), PatientCohort("wildtype", values=(gene,))
    if u < 0.65 and len(facts.subtypes) >= 2:
        a, b = choose_n(rng, facts.subtypes, 2)
        return PatientCohort("subtype", values=(a,)), PatientCohort("subtype", values=(b,))
    column = choose(rng, facts.attributes())
    if column == "STAGE" and rng.random() < 0.6:
        return PatientCohort("attribute", "STAGE", ("I", "II")), PatientCohort("attribute", "STAGE", ("III", "IV"))
    values = facts.attribute_values(column)
    if len(values) < 2:
        raise Reject("attribute with one value")
    a, b = choose_n(rng, values, 2)
    return PatientCohort("attribute", column, (a,)), PatientCohort("attribute", column, (b,))


class LogRank:
    key = "logrank_test"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        endpoint = pick_endpoint(rng, facts)
        first, second = _two_groups(rng, facts)
        for group in (first, second):
            surv = facts.survival(endpoint, group.patient_ids(facts))
            if len(surv) < 8 or surv["E"].sum() < 3:
                raise Reject("group too small")
        return Draw(facts.study_id, {"endpoint": endpoint, "group1": first.to_json(), "group2": second.to_json()})

    def question(self, draw: Draw) -> Question:
        endpoint = draw.params["endpoint"]
        first = PatientCohort.from_json(draw.params["group1"])
        second = PatientCohort.from_json(draw.params["group2"])
        tables, preamble, conventions = _cohort_lines(first, second)
        code = [
            *load(*tables, imports=["from lifelines.statistics import logrank_test"]),
            *preamble,
            *first.code(),
            *survival_columns(endpoint, target="group1"),
            *second.code(),
            *survival_columns(endpoint, target="group2"),
            "result = logrank_test(",
            '    group1["months"], group2["months"], event_observed_A=group1["event"], event_observed_B=group2["event"]',
            ")",
            "n_group1 = len(group1)",
            "n_group2 = len(group2)",
            "test_statistic = float(result.test_statistic)",
            "pvalue = float(result.p_value)",
        ]
        return Question(
            task=(
                f"Compare {ENDPOINT_NAMES[endpoint]} between group 1, {first.describe()}, and group 2, "
                f"{second.describe()}, with a log-rank test (lifelines.statistics.logrank_test)."
            ),
            variables=(
                Variable("n_group1", "int", "patients of group 1 in the test"),
                Variable("n_group2", "int", "patients of group 2 in the test"),
                Variable("test_statistic", "float", "the log-rank chi-square statistic"),
                Variable("pvalue", "float", "its p-value"),
            ),
            code=finish(code),
            cases=(
                case("n_group1", "n_group1"),
                case("n_group2", "n_group2"),
                case("test_statistic", "test_statistic"),
                case("pvalue", "pvalue"),
            ),
            conventions=(survival_convention(endpoint), *conventions),
        )


_COVARIATE_TEXT = {
    "SEX": 'sex (MALE: 1 when SEX is "Male", else 0)',
    "STAGE": 'advanced stage (ADVANCED_STAGE: 1 when STAGE is "III" or "IV", else 0)',
}


class CoxHazard:
    key = "cox_hazard_ratio"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        endpoint = pick_endpoint(rng, facts)
        genes = facts.frequent_genes(10)[:8]
        gene = facts.profile.survival_gene if rng.random() < 0.3 else choose(rng, genes)
        extra = rng.choice([(), ("SEX",), ("STAGE",)])
        if "SEX" in extra and facts.patients["SEX"].nunique() < 2:
            raise Reject("one sex only")
        covariates = ["AGE", *extra]
        data = facts.patients.dropna(subset=[f"{endpoint}_MONTHS", f"{endpoint}_STATUS", *covariates])
        carriers = data["PATIENT_ID"].isin(facts.mutated_patients(gene))
        events = data[f"{endpoint}_STATUS"].str.startswith("1:")
        if carriers.sum() < 8 or (~carriers).sum() < 8 or events.sum() < 20 or events[carriers].sum() < 3:
            raise Reject("too few carriers or events")
        self._fit(facts, endpoint, gene, extra)
        return Draw(facts.study_id, {"endpoint": endpoint, "gene": gene, "adjust": list(extra)})

    @staticmethod
    def _fit(facts: StudyFacts, endpoint: str, gene: str, extra: tuple[str, ...]) -> None:
        """Reject designs whose model does not converge to finite estimates."""
        data = facts.patients.dropna(subset=[f"{endpoint}_MONTHS", f"{endpoint}_STATUS", "AGE", *extra])
        frame = (
            data[["AGE"]]
            .astype(float)
            .assign(
                months=data[f"{endpoint}_MONTHS"].astype(float),
                event=data[f"{endpoint}_STATUS"].str.startswith("1:").astype(int),
                MUTATED=data["PATIENT_ID"].isin(facts.mutated_patients(gene)).astype(int),
            )
        )
        if "SEX" in extra:
            frame["MALE"] = (data["SEX"] == "Male").astype(int)
        if "STAGE" in extra:
            frame["ADVANCED_STAGE"] = data["STAGE"].isin(["III", "IV"]).astype(int)
        try:
            summary = CoxPHFitter().fit(frame, duration_col="months", event_col="event").summary
        except (ConvergenceError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            raise Reject(f"Cox model does not fit: {exc}") from None
        if not all(
            math.isfinite(float(v))
            for v in summary.loc["MUTATED", ["exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%"]]
        ):
            raise Reject("infinite hazard ratio")

    def question(self, draw: Draw) -> Question:
        endpoint, gene = draw.params["endpoint"], draw.params["gene"]
        extra = tuple(draw.params["adjust"])
        columns = ["MUTATED", "AGE"]
        prepare = [
            *mutated_patients(gene, "carriers"),
            f"data = patients.dropna(subset={q([f'{endpoint}_MONTHS', f'{endpoint}_STATUS', 'AGE', *extra])}).copy()",
            f'data["months"] = data["{endpoint}_MONTHS"].astype(float)',
            f'data["event"] = data["{endpoint}_STATUS"].str.startswith("1:").astype(int)',
            'data["MUTATED"] = data["PATIENT_ID"].isin(carriers).astype(int)',
        ]
        if "SEX" in extra:
            prepare.append('data["MALE"] = (data["SEX"] == "Male").astype(int)')
            columns.append("MALE")
        if "STAGE" in extra:
            prepare.append('data["ADVANCED_STAGE"] = data["STAGE"].isin(["III", "IV"]).astype(int)')
            columns.append("ADVANCED_STAGE")
        code = [
            *load("patients", "samples", "mutations", imports=["from lifelines import CoxPHFitter"]),
            *coding_mutations(),
            *prepare,
            "cph = CoxPHFitter()",
            f'cph.fit(data[{q(["months", "event", *columns])}], duration_col="months", event_col="event")',
            'row = cph.summary.loc["MUTATED"]',
            'hazard_ratio = float(row["exp(coef)"])',
            'ci_lower = float(row["exp(coef) lower 95%"])',
            'ci_upper = float(row["exp(coef) upper 95%"])',
            'p_value = float(row["p"])',
        ]
        adjust = ", ".join(["age (AGE, in years)", *(_COVARIATE_TEXT[c] for c in extra)])
        return Question(
            task=(
                f"Fit a Cox proportional-hazards model (lifelines CoxPHFitter, default settings) of "
                f"{ENDPOINT_NAMES[endpoint]} on MUTATED (1 for patients with a {gene} mutation, else 0), "
                f"adjusted for {adjust}, over the patients with none of these values missing. Report "
                "the hazard ratio of MUTATED."
            ),
            variables=(
                Variable("hazard_ratio", "float", "exp(coef) of MUTATED"),
                Variable("ci_lower", "float", "lower bound of its 95% confidence interval"),
                Variable("ci_upper", "float", "upper bound of its 95% confidence interval"),
                Variable("p_value", "float", "the Wald test p-value of MUTATED"),
            ),
            code=finish(code),
            cases=tuple(case(v, v, FITTED_REL_TOL) for v in ("hazard_ratio", "ci_lower", "ci_upper", "p_value")),
            conventions=(survival_convention(endpoint), MUTATED_CONVENTION),
            rel_tol=FITTED_REL_TOL,
        )
