"""biodsbench through the real env and sandbox, graded from the agent's session: independent
analyses written another way score 1 within the stated tolerances; one wrong variable costs its
share, a list given as a Series fails, a curve fitted on the wrong cohort fails; the study files
cannot be changed; grading a sample is fast. (Every category against gaming answers:
``test_biodsbench_gaming.py``.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from medagentgym.catalog.sample import Sample
from medagentgym.datasets.biodsbench import DATASET
from medagentgym.datasets.biodsbench.generate import build_sample
from medagentgym.datasets.biodsbench.questions import Draw
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy
from medagentgym.policies.scripted import ScriptedPolicy
from medagentgym.rollout import run_episode
from medagentgym.runs.schema import Trajectory


@pytest.fixture(scope="module")
def env(sandbox_server) -> Iterator[MedAgentEnv]:  # type: ignore[no-untyped-def]
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _play(env: MedAgentEnv, sample: Sample, *codes: str) -> Trajectory:
    outputs = [json.dumps({"action": "execute_python", "code": code}) for code in codes]
    outputs.append(json.dumps({"action": "submit", "answer": "done"}))
    return run_episode(env, ScriptedPolicy(outputs), sample, run_id="biodsbench-test")


def test_one_wrong_variable_costs_its_share_and_success(env: MedAgentEnv) -> None:
    sample = DATASET.generate("logrank-test", "test", 1)
    trajectory = _play(env, sample, sample.solution.code + "pvalue = pvalue * 1.01\n")
    assert trajectory.reward == pytest.approx(0.75) and not trajectory.success
    assert "pvalue" in trajectory.score.explanation


def test_a_list_asked_for_fails_as_a_series_even_with_the_right_values(env: MedAgentEnv) -> None:
    sample = DATASET.generate("top-mutated-genes", "test", 0)
    code = sample.solution.code + "import pandas as pd\ntop_genes = pd.Series(top_genes)\n"
    trajectory = _play(env, sample, code)
    assert trajectory.reward == pytest.approx(0.5) and "top_genes" in trajectory.score.explanation


def test_a_fit_on_the_wrong_cohort_fails(env: MedAgentEnv) -> None:
    draw = Draw("nsclc_synth_2019", {"endpoint": "OS", "cohort": {"kind": "subtype", "column": "", "values": ["LUSC"]}})
    sample = build_sample("kaplan-meier", "test", 0, 0, draw)
    everyone = sample.solution.code.replace(
        'cohort = patients[patients["PATIENT_ID"].isin(subtype_patients)]', "cohort = patients"
    )
    assert everyone != sample.solution.code
    trajectory = _play(env, sample, everyone)
    assert trajectory.reward == 0.0


def test_the_study_files_are_read_only_to_the_agent(env: MedAgentEnv) -> None:
    sample = DATASET.generate("mutation-frequency", "test", 0)
    attack = (
        "import os\n"
        "path = os.path.join(RESOURCES['study'], 'data_mutations.csv')\n"
        "try:\n"
        "    open(path, 'a').write('x')\n"
        "    print('WROTE')\n"
        "except OSError as error:\n"
        "    print('refused', type(error).__name__)\n"
    )
    trajectory = _play(env, sample, attack)
    assert "refused" in (trajectory.steps[0].observation or "") and "WROTE" not in (
        trajectory.steps[0].observation or ""
    )
    assert run_episode(env, OraclePolicy(), sample, run_id="biodsbench-test").success


# Independent analyses: the same definitions, another route (merges, groupby, statsmodels,
# multivariate log-rank); they must pass within the stated tolerances.
_INDEPENDENT = {
    "mutation-frequency": (
        Draw("brca_synth_2020", {"gene": "PIK3CA", "unit": "patients", "cohort": {"kind": "subtype", "value": "ILC"}}),
        """
import pandas as pd
d = RESOURCES["study"]
s = pd.read_csv(d + "/data_clinical_sample.csv")
m = pd.read_csv(d + "/data_mutations.csv", low_memory=False)
skip = {"Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA"}
hits = m[(m.Hugo_Symbol == "PIK3CA") & ~m.Variant_Classification.isin(skip)]
ilc = s[s.ONCOTREE_CODE == "ILC"]
merged = ilc.merge(hits[["Tumor_Sample_Barcode"]], left_on="SAMPLE_ID", right_on="Tumor_Sample_Barcode")
n_mutated = merged.PATIENT_ID.nunique()
n_total = ilc.PATIENT_ID.nunique()
frequency = n_mutated / n_total
""",
    ),
    "clinical-crosstab": (
        Draw("nsclc_synth_2019", {"row": "ONCOTREE_CODE", "column": "SMOKING_HISTORY"}),
        """
import pandas as pd
from scipy import stats
d = RESOURCES["study"]
p = pd.read_csv(d + "/data_clinical_patient.csv")
s = pd.read_csv(d + "/data_clinical_sample.csv")
code = s.groupby("PATIENT_ID").ONCOTREE_CODE.first()
p["ONCOTREE_CODE"] = p.PATIENT_ID.map(code)
table = p.dropna(subset=["ONCOTREE_CODE", "SMOKING_HISTORY"]).groupby(["ONCOTREE_CODE", "SMOKING_HISTORY"]).size().unstack(fill_value=0)
pvalue = stats.chi2_contingency(table.to_numpy()).pvalue
""",
    ),
    "logrank-test": (
        Draw(
            "nsclc_synth_2019",
            {
                "endpoint": "OS",
                "group1": {"kind": "mutated", "column": "", "values": ["KEAP1"]},
                "group2": {"kind": "wildtype", "column": "", "values": ["KEAP1"]},
            },
        ),
        """
import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test
d = RESOURCES["study"]
p = pd.read_csv(d + "/data_clinical_patient.csv").dropna(subset=["OS_MONTHS", "OS_STATUS"])
s = pd.read_csv(d + "/data_clinical_sample.csv")
m = pd.read_csv(d + "/data_mutations.csv", low_memory=False)
keep = ~m.Variant_Classification.isin(["Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA"])
carriers = set(s[s.SAMPLE_ID.isin(m[keep & (m.Hugo_Symbol == "KEAP1")].Tumor_Sample_Barcode)].PATIENT_ID)
group = np.where(p.PATIENT_ID.isin(carriers), "mut", "wt")
res = multivariate_logrank_test(p.OS_MONTHS.to_numpy(), group, p.OS_STATUS.eq("1:DECEASED").to_numpy())
n_group1, n_group2 = int((group == "mut").sum()), int((group == "wt").sum())
test_statistic, pvalue = res.test_statistic, res.p_value
""",
    ),
    "cox-hazard-ratio": (
        Draw("glioma_synth_2018", {"endpoint": "OS", "gene": "PTEN", "adjust": ["SEX"]}),
        """
import numpy as np
import pandas as pd
import statsmodels.api as sm
d = RESOURCES["study"]
p = pd.read_csv(d + "/data_clinical_patient.csv").dropna(subset=["OS_MONTHS", "OS_STATUS", "AGE", "SEX"])
s = pd.read_csv(d + "/data_clinical_sample.csv")
m = pd.read_csv(d + "/data_mutations.csv", low_memory=False)
keep = ~m.Variant_Classification.isin(["Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA"])
carriers = set(s[s.SAMPLE_ID.isin(m[keep & (m.Hugo_Symbol == "PTEN")].Tumor_Sample_Barcode)].PATIENT_ID)
x = np.column_stack([p.PATIENT_ID.isin(carriers), p.AGE, p.SEX == "Male"]).astype(float)
fit = sm.PHReg(p.OS_MONTHS.to_numpy(), x, status=p.OS_STATUS.str.startswith("1").to_numpy().astype(int), ties="efron").fit()
hazard_ratio = float(np.exp(fit.params[0]))
ci_lower, ci_upper = (float(v) for v in np.exp(fit.conf_int()[0]))
p_value = float(fit.pvalues[0])
""",
    ),
    "top-mutated-genes": (
        Draw("coadread_synth_2021", {"k": 5, "cohort": {"kind": "all", "value": ""}}),
        """
import pandas as pd
d = RESOURCES["study"]
s = pd.read_csv(d + "/data_clinical_sample.csv")
m = pd.read_csv(d + "/data_mutations.csv", low_memory=False)
m = m[~m.Variant_Classification.isin(["Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA"])]
m = m.merge(s[["SAMPLE_ID", "PATIENT_ID"]], left_on="Tumor_Sample_Barcode", right_on="SAMPLE_ID")
counts = m[["PATIENT_ID", "Hugo_Symbol"]].drop_duplicates().Hugo_Symbol.value_counts()
table = counts.rename_axis("gene").reset_index(name="n").sort_values(["n", "gene"], ascending=[False, True]).head(5)
top_genes = table.gene.tolist()
patient_counts = table.n.tolist()
""",
    ),
    "kaplan-meier": (
        Draw(
            "prad_synth_2022",
            {"endpoint": "PFS", "cohort": {"kind": "attribute", "column": "STAGE", "values": ["III", "IV"]}},
        ),
        """
import pandas as pd
import lifelines
d = RESOURCES["study"]
p = pd.read_csv(d + "/data_clinical_patient.csv")
p = p[p.STAGE.isin(["III", "IV"]) & p.PFS_MONTHS.notna() & p.PFS_STATUS.notna()]
kmf = lifelines.KaplanMeierFitter(label="advanced")
kmf.fit(p.PFS_MONTHS.to_numpy(), p.PFS_STATUS.eq("1:Progressed").to_numpy())
""",
    ),
}


@pytest.mark.parametrize("name", sorted(_INDEPENDENT))
def test_independent_analyses_pass(env: MedAgentEnv, name: str) -> None:
    draw, code = _INDEPENDENT[name]
    sample = build_sample(name, "test", 0, 0, draw)
    trajectory = _play(env, sample, code)
    assert trajectory.success, (trajectory.score.explanation, trajectory.steps[0].observation)


def test_grading_a_sample_takes_well_under_a_second(env: MedAgentEnv) -> None:
    """The hidden cases run in the episode's session after the last step; measured per sample."""
    sample = DATASET.generate("oncoprint-matrix", "test", 0)  # the largest value (a gene x sample frame)
    env.reset(options={"sample": sample})
    env.step(json.dumps({"action": "execute_python", "code": sample.solution.code}))
    start = time.perf_counter()
    _, reward, terminated, _, _ = env.step(json.dumps({"action": "submit", "answer": "done"}))
    elapsed = time.perf_counter() - start
    assert terminated and reward == 1.0
    assert elapsed < 5.0, elapsed
