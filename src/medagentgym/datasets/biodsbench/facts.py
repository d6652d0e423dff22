"""What the question generator knows about a built study: its tables read back from the files,
and the derived sets it needs to choose questions with meaningful answers (genes mutated in
enough patients, groups with enough events, fusion genes, agents with finished lines).

Facts are only used to *choose* parameters; the expected values always come from running the
reference solution on the files (``codetests.reference.compute_expected``). The derivations
here follow the same definitions the prompts state (``study.NON_PROTEIN_CHANGING`` and so on).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from medagentgym.datasets.biodsbench.build import (
    StudySpec,
    ensure_study,
    study_spec,
    study_stamp,
)
from medagentgym.datasets.biodsbench.profiles import CancerProfile, profile
from medagentgym.datasets.biodsbench.study import (
    CNA_FILE,
    MUTATION_FILE,
    NON_PROTEIN_CHANGING,
    PATIENT_FILE,
    SAMPLE_FILE,
    SV_FILE,
    TIMELINE_FILE,
)

#: Patient-table columns that are not categorical attributes a question may group by.
NON_ATTRIBUTES = frozenset({"PATIENT_ID", "AGE", "OS_MONTHS", "OS_STATUS", "PFS_MONTHS", "PFS_STATUS"})


@dataclass(frozen=True)
class StudyFacts:
    spec: StudySpec
    profile: CancerProfile
    path: Path
    patients: pd.DataFrame
    samples: pd.DataFrame
    coding: pd.DataFrame  # protein-changing mutation records, with PATIENT_ID
    mutations: pd.DataFrame  # every mutation record, with PATIENT_ID and ONCOTREE_CODE
    cna: pd.DataFrame  # genes x profiled samples (Int64, missing where not on the panel)
    fusions: pd.DataFrame  # data_sv rows whose two sites are two different genes
    sv: pd.DataFrame
    timeline: pd.DataFrame | None

    @property
    def study_id(self) -> str:
        return self.spec.study_id

    @property
    def has_pfs(self) -> bool:
        return "PFS_MONTHS" in self.patients.columns

    @property
    def files(self) -> tuple[str, ...]:
        names = [PATIENT_FILE, SAMPLE_FILE, MUTATION_FILE, CNA_FILE, SV_FILE]
        if self.timeline is not None:
            names.append(TIMELINE_FILE)
        return tuple(names)

    @property
    def subtypes(self) -> tuple[str, ...]:
        return tuple(sorted(self.samples["ONCOTREE_CODE"].unique()))

    def subtype_patients(self, code: str) -> set[str]:
        return set(self.samples.loc[self.samples["ONCOTREE_CODE"] == code, "PATIENT_ID"])

    def mutated_patients(self, gene: str) -> set[str]:
        return set(self.coding.loc[self.coding["Hugo_Symbol"] == gene, "PATIENT_ID"])

    def mutated_samples(self, gene: str) -> set[str]:
        return set(self.coding.loc[self.coding["Hugo_Symbol"] == gene, "Tumor_Sample_Barcode"])

    def genes_by_patients(self) -> list[tuple[str, int]]:
        """Genes with their number of mutated patients, most first (ties by symbol)."""
        counts = self.coding.groupby("Hugo_Symbol")["PATIENT_ID"].nunique()
        return sorted(((str(g), int(n)) for g, n in counts.items()), key=lambda gn: (-gn[1], gn[0]))

    def frequent_genes(self, minimum: int) -> list[str]:
        return [g for g, n in self.genes_by_patients() if n >= minimum]

    def attributes(self) -> list[str]:
        """Categorical patient attributes with at least two observed values."""
        names = []
        for column in self.patients.columns:
            if column in NON_ATTRIBUTES:
                continue
            if self.patients[column].dropna().nunique() >= 2:
                names.append(column)
        return names

    def attribute_values(self, column: str) -> list[str]:
        return sorted(str(v) for v in self.patients[column].dropna().unique())

    def survival(self, endpoint: str, patient_ids: set[str] | None = None) -> pd.DataFrame:
        """Durations and 0/1 events of an endpoint ("OS"/"PFS") over patients with both values."""
        frame = self.patients if patient_ids is None else self.patients[self.patients["PATIENT_ID"].isin(patient_ids)]
        data = frame.dropna(subset=[f"{endpoint}_MONTHS", f"{endpoint}_STATUS"])
        return pd.DataFrame(
            {
                "PATIENT_ID": data["PATIENT_ID"],
                "T": data[f"{endpoint}_MONTHS"].astype(float),
                "E": data[f"{endpoint}_STATUS"].str.startswith("1:").astype(int),
            }
        )

    def cna_genes(self) -> list[str]:
        return [str(g) for g in self.cna.index]

    def fusion_partner_samples(self, gene: str, min_reads: int) -> dict[str, set[str]]:
        """For each partner of ``gene``, the samples with a fusion between them passing the read filter."""
        f = self.fusions
        if min_reads > 0:
            f = f[f["Tumor_Split_Read_Count"] >= min_reads]
        partners: dict[str, set[str]] = {}
        for _, row in f.iterrows():
            a, b = row["Site1_Hugo_Symbol"], row["Site2_Hugo_Symbol"]
            if gene not in (a, b):
                continue
            partners.setdefault(b if a == gene else a, set()).add(row["Sample_Id"])
        return partners


def study_facts(study_id: str) -> StudyFacts:
    """The facts of a study (built first if needed); read once per process and cache folder."""
    path = ensure_study(study_id)
    return _load(study_id, str(path), study_stamp(study_spec(study_id)))


@cache
def _load(study_id: str, folder: str, stamp: str) -> StudyFacts:
    spec = study_spec(study_id)
    path = Path(folder)
    patients = pd.read_csv(path / PATIENT_FILE)
    samples = pd.read_csv(path / SAMPLE_FILE)
    mutations = pd.read_csv(path / MUTATION_FILE, low_memory=False)
    sample_patient = samples.set_index("SAMPLE_ID")["PATIENT_ID"]
    sample_subtype = samples.set_index("SAMPLE_ID")["ONCOTREE_CODE"]
    mutations = mutations.assign(
        PATIENT_ID=mutations["Tumor_Sample_Barcode"].map(sample_patient),
        ONCOTREE_CODE=mutations["Tumor_Sample_Barcode"].map(sample_subtype),
    )
    coding = mutations[~mutations["Variant_Classification"].isin(NON_PROTEIN_CHANGING)]
    cna = pd.read_csv(path / CNA_FILE).set_index("Hugo_Symbol").astype("Int64")
    sv = pd.read_csv(path / SV_FILE)
    both = sv["Site1_Hugo_Symbol"].notna() & sv["Site2_Hugo_Symbol"].notna()
    fusions = sv[both & (sv["Site1_Hugo_Symbol"] != sv["Site2_Hugo_Symbol"])]
    timeline = pd.read_csv(path / TIMELINE_FILE) if (path / TIMELINE_FILE).is_file() else None
    return StudyFacts(
        spec=spec,
        profile=profile(spec.profile),
        path=path,
        patients=patients,
        samples=samples,
        coding=coding,
        mutations=mutations,
        cna=cna,
        fusions=fusions,
        sv=sv,
        timeline=timeline,
    )
