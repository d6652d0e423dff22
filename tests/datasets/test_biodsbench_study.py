"""biodsbench studies: the seeded generator writes cBioPortal's file names and columns, the same
bytes for the same seed, realistic missingness, the planted effects every question family relies
on, and no summary table; the build into the cache is fast, idempotent and atomic."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import logrank_test
from scipy.stats import fisher_exact

from medagentgym.datasets.biodsbench import build
from medagentgym.datasets.biodsbench.build import (
    STUDIES,
    build_all,
    ensure_study,
    is_built,
    study_dir,
)
from medagentgym.datasets.biodsbench.profiles import PROFILES
from medagentgym.datasets.biodsbench.study import (
    MAF_COLUMNS,
    NON_PROTEIN_CHANGING,
    PATIENT_FILE,
    SAMPLE_FILE,
    SV_COLUMNS,
    TIMELINE_FILE,
    StudyInfo,
    subtype_gain,
    write_study,
)

OFFICIAL_NAMES = {
    "data_clinical_patient.csv",
    "data_clinical_sample.csv",
    "data_mutations.csv",
    "data_cna.csv",
    "data_sv.csv",
    "data_timeline_treatment.csv",
}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    return build_all()


@pytest.fixture(scope="module")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StudyInfo]:
    folder = tmp_path_factory.mktemp("study") / "nsclc"
    return folder, write_study(folder, 5, profile="nsclc", n_patients=120)


def test_write_study_is_deterministic_per_seed(tmp_path: Path, small_study: tuple[Path, StudyInfo]) -> None:
    folder, info = small_study
    again = write_study(tmp_path / "again", 5, profile="nsclc", n_patients=120)
    assert again == info
    assert _digest(tmp_path / "again") == _digest(folder)
    other = write_study(tmp_path / "other", 6, profile="nsclc", n_patients=120)
    assert _digest(tmp_path / "other") != _digest(folder) and other.seed == 6
    assert set(info.files) == {p.name for p in folder.iterdir()} <= OFFICIAL_NAMES
    assert info.n_patients == 120 and info.n_samples >= 120
    assert info.to_dict()["survival_gene"] == "KEAP1" and info.subtype_gain == ("SOX2", "LUSC")


def test_write_study_rejects_unknown_profiles_and_tiny_studies(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="unknown cancer profile"):
        write_study(tmp_path / "x", 1, profile="no-such-cancer")
    with pytest.raises(ValueError, match="at least 20"):
        write_study(tmp_path / "y", 1, n_patients=5)


def test_files_have_the_cbioportal_names_columns_and_codes(small_study: tuple[Path, StudyInfo]) -> None:
    folder, _ = small_study
    patients = pd.read_csv(folder / PATIENT_FILE)
    samples = pd.read_csv(folder / SAMPLE_FILE)
    mutations = pd.read_csv(folder / "data_mutations.csv", low_memory=False)
    cna = pd.read_csv(folder / "data_cna.csv")
    sv = pd.read_csv(folder / "data_sv.csv")
    timeline = pd.read_csv(folder / TIMELINE_FILE)
    assert {"PATIENT_ID", "AGE", "SEX", "OS_MONTHS", "OS_STATUS", "PFS_MONTHS", "PFS_STATUS"} <= set(patients.columns)
    assert set(patients["OS_STATUS"].dropna()) == {"1:DECEASED", "0:LIVING"}
    assert set(patients["PFS_STATUS"].dropna()) == {"1:Progressed", "0:Not Progressed"}
    both = patients.dropna(subset=["OS_MONTHS", "PFS_MONTHS"])
    assert (both["PFS_MONTHS"] <= both["OS_MONTHS"]).all() and (both["OS_MONTHS"] > 0).all()
    assert {"SAMPLE_ID", "PATIENT_ID", "CANCER_TYPE", "ONCOTREE_CODE", "SAMPLE_TYPE", "TMB_NONSYNONYMOUS"} <= set(
        samples.columns
    )
    assert samples["SAMPLE_ID"].is_unique and set(samples["PATIENT_ID"]) == set(patients["PATIENT_ID"])
    assert samples.groupby("PATIENT_ID")["ONCOTREE_CODE"].nunique().max() == 1  # a patient's samples share it
    assert list(mutations.columns) == list(MAF_COLUMNS)
    assert set(mutations["Tumor_Sample_Barcode"]) <= set(samples["SAMPLE_ID"])
    assert set(mutations["Variant_Classification"]) & set(NON_PROTEIN_CHANGING)  # silent and non-coding records
    assert mutations["HGVSp_Short"].dropna().str.startswith("p.").all()
    assert cna.columns[0] == "Hugo_Symbol" and set(cna.columns[1:]) <= set(samples["SAMPLE_ID"])
    values = cna.iloc[:, 1:].stack().dropna().astype(int)
    assert set(values.unique()) == {-2, -1, 0, 1, 2}
    assert list(sv.columns) == list(SV_COLUMNS) and set(sv["Sample_Id"]) <= set(samples["SAMPLE_ID"])
    assert list(timeline.columns) == ["PATIENT_ID", "START_DATE", "STOP_DATE", "EVENT_TYPE", "TREATMENT_TYPE", "AGENT"]
    done = timeline.dropna(subset=["STOP_DATE"])
    assert (done["STOP_DATE"] > done["START_DATE"]).all()


def test_files_have_realistic_missing_values(small_study: tuple[Path, StudyInfo]) -> None:
    folder, info = small_study
    patients = pd.read_csv(folder / PATIENT_FILE)
    samples = pd.read_csv(folder / SAMPLE_FILE)
    cna = pd.read_csv(folder / "data_cna.csv").set_index("Hugo_Symbol")
    timeline = pd.read_csv(folder / TIMELINE_FILE)
    for column in ("AGE", "STAGE", "OS_MONTHS", "PFS_MONTHS"):
        assert 0 < patients[column].isna().mean() < 0.2, column
    assert patients["OS_MONTHS"].isna().sum() > patients["OS_STATUS"].isna().sum()  # a status without its time
    assert samples["TUMOR_PURITY"].isna().any()
    assert len(cna.columns) < len(samples)  # some samples not profiled for copy number
    late = info.extra["late_genes"]
    older = samples.loc[samples["GENE_PANEL"] == "IMPACT341", "SAMPLE_ID"]
    profiled_older = [s for s in older if s in cna.columns]
    assert profiled_older and cna.loc[late, profiled_older].isna().all().all()
    assert timeline["STOP_DATE"].isna().any()


@pytest.mark.parametrize("spec", STUDIES, ids=[s.study_id for s in STUDIES])
def test_planted_effects_are_in_every_study(built: dict[str, Path], spec: build.StudySpec) -> None:
    folder = built[spec.study_id]
    prof = PROFILES[spec.profile]
    patients = pd.read_csv(folder / PATIENT_FILE)
    samples = pd.read_csv(folder / SAMPLE_FILE)
    mutations = pd.read_csv(folder / "data_mutations.csv", low_memory=False)
    coding = mutations[~mutations["Variant_Classification"].isin(NON_PROTEIN_CHANGING)]
    patient_of = dict(zip(samples["SAMPLE_ID"], samples["PATIENT_ID"], strict=True))

    def carriers(gene: str) -> set[str]:
        return set(coding.loc[coding["Hugo_Symbol"] == gene, "Tumor_Sample_Barcode"].map(patient_of))

    data = patients.dropna(subset=["OS_MONTHS", "OS_STATUS"])
    events = data["OS_STATUS"].str.startswith("1:").astype(int)
    mutated = data["PATIENT_ID"].isin(carriers(prof.survival_gene))
    result = logrank_test(data["OS_MONTHS"][mutated], data["OS_MONTHS"][~mutated], events[mutated], events[~mutated])
    shorter = data["OS_MONTHS"][mutated].median() < data["OS_MONTHS"][~mutated].median()
    assert result.p_value < 0.05 and shorter, (prof.survival_gene, result.p_value)

    everyone = set(samples["PATIENT_ID"])
    for (a, b), below_one in ((prof.exclusive_pair, True), (prof.cooccurring_pair, False)):
        ma, mb = carriers(a), carriers(b)
        table = [[len(ma & mb), len(ma - mb)], [len(mb - ma), len(everyone - ma - mb)]]
        odds = fisher_exact(table).statistic
        assert (odds < 1) if below_one else (odds > 1), (a, b, table)

    cna = pd.read_csv(folder / "data_cna.csv").set_index("Hugo_Symbol")
    gene, subtype = subtype_gain(prof)
    row = cna.loc[gene].dropna()
    code = row.index.map(dict(zip(samples["SAMPLE_ID"], samples["ONCOTREE_CODE"], strict=True)))
    share = (row == 2).groupby(code).mean()
    assert share[subtype] > 2 * share.drop(subtype).max(), (gene, share.to_dict())

    sv = pd.read_csv(folder / "data_sv.csv")
    recurrence = [
        sv.loc[
            (sv["Site1_Hugo_Symbol"] == f.five_prime) & (sv["Site2_Hugo_Symbol"] == f.three_prime), "Sample_Id"
        ].nunique()
        for f in prof.fusions
    ]
    assert max(recurrence) >= 3 and sum(recurrence) >= 5, recurrence


def test_no_file_holds_a_summary_table(built: dict[str, Path]) -> None:
    """Only the raw cBioPortal tables: no file or column an answer could be read from."""
    allowed_patient = {
        "PATIENT_ID",
        "AGE",
        "SEX",
        "STAGE",
        "RACE",
        "OS_MONTHS",
        "OS_STATUS",
        "PFS_MONTHS",
        "PFS_STATUS",
    }
    for spec in STUDIES:
        folder = built[spec.study_id]
        assert {p.name for p in folder.iterdir()} <= OFFICIAL_NAMES
        columns = set(pd.read_csv(folder / PATIENT_FILE, nrows=1).columns)
        extra = {a.name for a in PROFILES[spec.profile].attributes}
        assert columns <= allowed_patient | extra
        summary_words = {"MEDIAN", "PVALUE", "P", "HAZARD", "HR", "FREQUENCY", "ODDS", "RATIO", "FRACTION", "TOTAL"}
        for path in folder.iterdir():
            for column in pd.read_csv(path, nrows=0).columns:
                words = set(str(column).upper().split("_"))
                assert not words & summary_words, (path.name, column)


def test_build_is_idempotent_fast_and_outside_the_study_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path))
    start = time.perf_counter()
    paths = build_all()
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0, elapsed
    assert all(is_built(spec) for spec in STUDIES)
    spec = STUDIES[0]
    folder = study_dir(spec.study_id)
    assert paths[spec.study_id] == folder and (folder.parent / f"{spec.study_id}.stamp").is_file()
    before = _digest(folder)
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    start = time.perf_counter()
    build_all()
    assert time.perf_counter() - start < 1.0
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes  # reused, not rewritten
    ensure_study(spec.study_id, force=True)
    assert _digest(folder) == before
    leftovers = [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary folder left behind


def test_a_changed_stamp_rebuilds_and_a_damaged_folder_is_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEDAGENTGYM_CACHE", str(tmp_path))
    spec = STUDIES[4]
    folder = ensure_study(spec.study_id)
    before = _digest(folder)
    (folder / "data_cna.csv").write_text("tampered\n", encoding="utf-8")
    (folder.parent / f"{spec.study_id}.stamp").write_text("stale", encoding="utf-8")
    assert not is_built(spec)
    ensure_study(spec.study_id)
    assert _digest(folder) == before and is_built(spec)
    assert os.stat(folder).st_mode & 0o777 == 0o755


def test_profiles_draw_every_gene_from_the_gene_table() -> None:
    from medagentgym.datasets.biodsbench.genes import gene_table
    from medagentgym.datasets.biodsbench.study import study_genes

    table = gene_table()
    for prof in PROFILES.values():
        for symbol in study_genes(prof):
            assert symbol in table, (prof.key, symbol)
        assert abs(sum(s.weight for s in prof.subtypes) - 1.0) < 1e-9
    assert len({g.transcript_id for g in table.values()}) == len(table)
    assert np.all([g.start < g.end for g in table.values()])
