"""Cancer profiles: what a synthetic study of one cancer type looks like.

A profile holds the subtypes (OncoTree codes), the driver genes and their frequencies per subtype,
the planted effects every question family relies on (a gene whose mutation shortens survival, a
mutually exclusive driver pair, a co-occurring pair, a copy-number event frequent in one subtype,
recurrent fusions), clinical attributes with their distributions, and the treatments of the
timeline. Frequencies are in the range reported for each cancer type but are not taken from any
data set; the studies are synthetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Subtype:
    code: str  # ONCOTREE_CODE
    detailed: str  # CANCER_TYPE_DETAILED
    weight: float


@dataclass(frozen=True)
class Driver:
    """A driver gene: the chance a tumour carries a protein-changing mutation in it."""

    gene: str
    freq: float
    by_subtype: Mapping[str, float] = field(default_factory=dict)

    def probability(self, subtype: str) -> float:
        return self.by_subtype.get(subtype, self.freq)


@dataclass(frozen=True)
class CopyNumberEvent:
    """A focal amplification (+2) or deep deletion (-2), with its chance per subtype."""

    gene: str
    kind: Literal["amp", "homdel"]
    freq: float
    by_subtype: Mapping[str, float] = field(default_factory=dict)

    def probability(self, subtype: str) -> float:
        return self.by_subtype.get(subtype, self.freq)


@dataclass(frozen=True)
class Fusion:
    """A recurrent fusion: the 5' gene (Site1) joined to the 3' gene (Site2)."""

    five_prime: str
    three_prime: str
    freq: float
    by_subtype: Mapping[str, float] = field(default_factory=dict)

    def probability(self, subtype: str) -> float:
        return self.by_subtype.get(subtype, self.freq)


@dataclass(frozen=True)
class Attribute:
    """A categorical clinical attribute of the patient table (``missing``: chance of an empty cell)."""

    name: str
    values: tuple[str, ...]
    weights: tuple[float, ...]
    missing: float = 0.0


@dataclass(frozen=True)
class Treatment:
    treatment_type: str  # TREATMENT_TYPE of the timeline
    agent: str  # AGENT
    mean_days: float  # mean duration of a line of this agent


@dataclass(frozen=True)
class CancerProfile:
    key: str
    cancer_type: str  # CANCER_TYPE
    subtypes: tuple[Subtype, ...]
    drivers: tuple[Driver, ...]
    exclusive_pair: tuple[str, str]  # the second is rarely mutated when the first is
    cooccurring_pair: tuple[str, str]  # the second is more often mutated when the first is
    survival_gene: str  # its mutation shortens overall and progression-free survival
    survival_hr: float
    copy_number: tuple[CopyNumberEvent, ...]
    fusions: tuple[Fusion, ...]
    attributes: tuple[Attribute, ...]
    treatments: tuple[Treatment, ...]  # empty: the study has no timeline table
    median_os_months: float
    median_pfs_months: float | None  # None: the study records no progression-free survival
    female_fraction: float
    age_mean: float
    age_sd: float
    sequencing: Literal["panel", "exome"]
    hypermutated_fraction: float = 0.03
    uv_signature: bool = False  # melanoma: C>T and CC>TT substitutions dominate
    subtype_hr: Mapping[str, float] = field(default_factory=dict)  # hazard of a subtype (default 1)
    hypermutated_attribute: str | None = None  # sample column marking hypermutated tumours (MSI)


#: Cancer genes on every study's panel besides the profile's own genes (background mutations,
#: shallow copy-number changes, intragenic structural variants).
BACKGROUND_GENES = (
    "TP53",
    "KRAS",
    "PIK3CA",
    "PTEN",
    "CDKN2A",
    "ARID1A",
    "KMT2C",
    "KMT2D",
    "ATM",
    "BRCA1",
    "BRCA2",
    "NF1",
    "RB1",
    "NOTCH1",
    "FBXW7",
    "ERBB3",
    "CTNNB1",
    "SMARCA4",
    "APC",
    "TERT",
)
#: Long genes that collect passenger mutations in exome studies.
PASSENGER_GENES = (
    "TTN",
    "MUC16",
    "CSMD3",
    "RYR2",
    "LRP1B",
    "FAT1",
    "FAT4",
    "ZFHX3",
    "USH2A",
    "SYNE1",
    "OBSCN",
    "PCLO",
    "DNAH5",
)

_STAGES = Attribute("STAGE", ("I", "II", "III", "IV"), (0.2, 0.25, 0.3, 0.25), missing=0.05)
_RACE = Attribute("RACE", ("White", "Black", "Asian", "Other"), (0.68, 0.13, 0.12, 0.07), missing=0.08)


def _attrs(*extra: Attribute) -> tuple[Attribute, ...]:
    return (_STAGES, _RACE, *extra)


PROFILES: dict[str, CancerProfile] = {
    p.key: p
    for p in (
        CancerProfile(
            key="nsclc",
            cancer_type="Non-Small Cell Lung Cancer",
            subtypes=(
                Subtype("LUAD", "Lung Adenocarcinoma", 0.72),
                Subtype("LUSC", "Lung Squamous Cell Carcinoma", 0.28),
            ),
            drivers=(
                Driver("TP53", 0.5, {"LUSC": 0.8}),
                Driver("KRAS", 0.3, {"LUSC": 0.03}),
                Driver("EGFR", 0.16, {"LUSC": 0.02}),
                Driver("STK11", 0.14, {"LUSC": 0.03}),
                Driver("KEAP1", 0.17, {"LUSC": 0.12}),
                Driver("NF1", 0.1),
                Driver("PIK3CA", 0.05, {"LUSC": 0.16}),
                Driver("SMARCA4", 0.08),
                Driver("BRAF", 0.06, {"LUSC": 0.02}),
                Driver("CDKN2A", 0.05, {"LUSC": 0.15}),
                Driver("ERBB2", 0.03),
            ),
            exclusive_pair=("KRAS", "EGFR"),
            cooccurring_pair=("KRAS", "STK11"),
            survival_gene="KEAP1",
            survival_hr=2.1,
            copy_number=(
                CopyNumberEvent("SOX2", "amp", 0.03, {"LUSC": 0.34}),
                CopyNumberEvent("NKX2-1", "amp", 0.1, {"LUSC": 0.02}),
                CopyNumberEvent("MET", "amp", 0.04),
                CopyNumberEvent("CDKN2A", "homdel", 0.18, {"LUSC": 0.25}),
                CopyNumberEvent("MDM2", "amp", 0.05),
            ),
            fusions=(
                Fusion("EML4", "ALK", 0.05, {"LUSC": 0.0}),
                Fusion("KIF5B", "RET", 0.025, {"LUSC": 0.0}),
                Fusion("CCDC6", "RET", 0.01, {"LUSC": 0.0}),
                Fusion("CD74", "ROS1", 0.02, {"LUSC": 0.0}),
                Fusion("EZR", "ROS1", 0.01, {"LUSC": 0.0}),
            ),
            attributes=_attrs(
                Attribute("SMOKING_HISTORY", ("Never", "Former", "Current"), (0.2, 0.55, 0.25), missing=0.06)
            ),
            treatments=(
                Treatment("Chemotherapy", "Carboplatin", 90),
                Treatment("Chemotherapy", "Pemetrexed", 150),
                Treatment("Chemotherapy", "Docetaxel", 80),
                Treatment("Immunotherapy", "Pembrolizumab", 210),
                Treatment("Targeted Therapy", "Osimertinib", 360),
                Treatment("Targeted Therapy", "Alectinib", 420),
            ),
            median_os_months=22.0,
            median_pfs_months=8.5,
            female_fraction=0.52,
            age_mean=66,
            age_sd=9,
            sequencing="panel",
        ),
        CancerProfile(
            key="colorectal",
            cancer_type="Colorectal Cancer",
            subtypes=(
                Subtype("COAD", "Colon Adenocarcinoma", 0.7),
                Subtype("READ", "Rectal Adenocarcinoma", 0.3),
            ),
            drivers=(
                Driver("APC", 0.75),
                Driver("TP53", 0.6),
                Driver("KRAS", 0.42),
                Driver("PIK3CA", 0.18),
                Driver("SMAD4", 0.14),
                Driver("BRAF", 0.12, {"READ": 0.04}),
                Driver("FBXW7", 0.1),
                Driver("SOX9", 0.08),
                Driver("TCF7L2", 0.09),
                Driver("ARID1A", 0.07),
                Driver("RNF43", 0.05),
            ),
            exclusive_pair=("KRAS", "BRAF"),
            cooccurring_pair=("KRAS", "PIK3CA"),
            survival_gene="BRAF",
            survival_hr=2.3,
            copy_number=(
                CopyNumberEvent("MYC", "amp", 0.06, {"READ": 0.12}),
                CopyNumberEvent("ERBB2", "amp", 0.02, {"READ": 0.09}),
                CopyNumberEvent("SMAD4", "homdel", 0.07),
                CopyNumberEvent("CDKN2A", "homdel", 0.02),
            ),
            fusions=(
                Fusion("PTPRK", "RSPO3", 0.04),
                Fusion("TPM3", "NTRK1", 0.015),
                Fusion("LMNA", "NTRK1", 0.015),
                Fusion("AGK", "BRAF", 0.01),
            ),
            attributes=_attrs(Attribute("TUMOR_SIDE", ("Left", "Right"), (0.62, 0.38), missing=0.04)),
            treatments=(
                Treatment("Chemotherapy", "Fluorouracil", 150),
                Treatment("Chemotherapy", "Oxaliplatin", 120),
                Treatment("Chemotherapy", "Irinotecan", 140),
                Treatment("Targeted Therapy", "Bevacizumab", 200),
                Treatment("Targeted Therapy", "Cetuximab", 160),
                Treatment("Immunotherapy", "Pembrolizumab", 300),
            ),
            median_os_months=30.0,
            median_pfs_months=10.0,
            female_fraction=0.45,
            age_mean=61,
            age_sd=12,
            sequencing="panel",
            hypermutated_fraction=0.12,
            hypermutated_attribute="MSI_TYPE",
        ),
        CancerProfile(
            key="breast",
            cancer_type="Breast Cancer",
            subtypes=(
                Subtype("IDC", "Breast Invasive Ductal Carcinoma", 0.8),
                Subtype("ILC", "Breast Invasive Lobular Carcinoma", 0.2),
            ),
            drivers=(
                Driver("PIK3CA", 0.34, {"ILC": 0.48}),
                Driver("TP53", 0.36, {"ILC": 0.08}),
                Driver("CDH1", 0.03, {"ILC": 0.62}),
                Driver("GATA3", 0.13),
                Driver("MAP3K1", 0.08),
                Driver("KMT2C", 0.1),
                Driver("AKT1", 0.05),
                Driver("PTEN", 0.06),
                Driver("ESR1", 0.06),
                Driver("ERBB2", 0.03, {"ILC": 0.06}),
                Driver("NF1", 0.05),
            ),
            exclusive_pair=("PIK3CA", "AKT1"),
            cooccurring_pair=("CDH1", "PIK3CA"),
            survival_gene="TP53",
            survival_hr=1.9,
            copy_number=(
                CopyNumberEvent("ERBB2", "amp", 0.18, {"ILC": 0.03}),
                CopyNumberEvent("CCND1", "amp", 0.14),
                CopyNumberEvent("MYC", "amp", 0.1, {"ILC": 0.04}),
                CopyNumberEvent("FGFR1", "amp", 0.09),
                CopyNumberEvent("CDKN2A", "homdel", 0.03),
            ),
            fusions=(
                Fusion("ESR1", "CCDC170", 0.03),
                Fusion("ETV6", "NTRK3", 0.01),
                Fusion("FGFR2", "BICC1", 0.01),
            ),
            attributes=_attrs(
                Attribute("ER_STATUS", ("Positive", "Negative"), (0.75, 0.25), missing=0.05),
                Attribute("MENOPAUSAL_STATUS", ("Pre", "Post"), (0.3, 0.7), missing=0.1),
            ),
            treatments=(
                Treatment("Hormone Therapy", "Letrozole", 540),
                Treatment("Hormone Therapy", "Tamoxifen", 600),
                Treatment("Hormone Therapy", "Fulvestrant", 300),
                Treatment("Targeted Therapy", "Palbociclib", 330),
                Treatment("Targeted Therapy", "Trastuzumab", 300),
                Treatment("Chemotherapy", "Paclitaxel", 110),
            ),
            median_os_months=48.0,
            median_pfs_months=16.0,
            female_fraction=0.99,
            age_mean=57,
            age_sd=12,
            sequencing="panel",
        ),
        CancerProfile(
            key="glioma",
            cancer_type="Glioma",
            subtypes=(
                Subtype("GBM", "Glioblastoma Multiforme", 0.6),
                Subtype("ODG", "Oligodendroglioma", 0.18),
                Subtype("ASTR", "Astrocytoma", 0.22),
            ),
            drivers=(
                Driver("IDH1", 0.04, {"ODG": 0.85, "ASTR": 0.75}),
                Driver("TP53", 0.3, {"ODG": 0.05, "ASTR": 0.7}),
                Driver("ATRX", 0.05, {"ODG": 0.03, "ASTR": 0.65}),
                Driver("PTEN", 0.3, {"ODG": 0.03, "ASTR": 0.05}),
                Driver("EGFR", 0.25, {"ODG": 0.01, "ASTR": 0.03}),
                Driver("NF1", 0.13, {"ODG": 0.05, "ASTR": 0.06}),
                Driver("PIK3CA", 0.08, {"ODG": 0.12}),
                Driver("CIC", 0.01, {"ODG": 0.55}),
                Driver("FUBP1", 0.01, {"ODG": 0.25}),
                Driver("PDGFRA", 0.05),
                Driver("RB1", 0.07),
            ),
            exclusive_pair=("IDH1", "EGFR"),
            cooccurring_pair=("IDH1", "ATRX"),
            survival_gene="PTEN",
            survival_hr=2.2,
            copy_number=(
                CopyNumberEvent("EGFR", "amp", 0.42, {"ODG": 0.02, "ASTR": 0.05}),
                CopyNumberEvent("CDKN2A", "homdel", 0.5, {"ODG": 0.05, "ASTR": 0.12}),
                CopyNumberEvent("PDGFRA", "amp", 0.1, {"ASTR": 0.06}),
                CopyNumberEvent("MDM2", "amp", 0.07),
                CopyNumberEvent("CDK4", "amp", 0.12, {"ODG": 0.02}),
            ),
            fusions=(
                Fusion("FGFR3", "TACC3", 0.06, {"ODG": 0.0, "ASTR": 0.01}),
                Fusion("PTPRZ1", "MET", 0.02, {"ODG": 0.0}),
                Fusion("CAPZA2", "MET", 0.01, {"ODG": 0.0}),
            ),
            attributes=_attrs(
                Attribute("EXTENT_OF_RESECTION", ("Gross total", "Subtotal", "Biopsy"), (0.45, 0.4, 0.15), missing=0.07)
            ),
            treatments=(
                Treatment("Chemotherapy", "Temozolomide", 180),
                Treatment("Chemotherapy", "Lomustine", 90),
                Treatment("Targeted Therapy", "Bevacizumab", 150),
                Treatment("Radiation Therapy", "Radiation", 42),
            ),
            median_os_months=18.0,
            median_pfs_months=7.0,
            female_fraction=0.41,
            age_mean=55,
            age_sd=14,
            sequencing="panel",
            subtype_hr={"ODG": 0.35, "ASTR": 0.55},
        ),
        CancerProfile(
            key="melanoma",
            cancer_type="Melanoma",
            subtypes=(
                Subtype("SKCM", "Cutaneous Melanoma", 0.82),
                Subtype("ACRM", "Acral Melanoma", 0.18),
            ),
            drivers=(
                Driver("BRAF", 0.46, {"ACRM": 0.18}),
                Driver("NRAS", 0.26, {"ACRM": 0.2}),
                Driver("NF1", 0.14, {"ACRM": 0.1}),
                Driver("CDKN2A", 0.15),
                Driver("TP53", 0.15),
                Driver("PTEN", 0.08),
                Driver("ARID2", 0.12),
                Driver("PPP6C", 0.08),
                Driver("RAC1", 0.06),
                Driver("KIT", 0.02, {"ACRM": 0.16}),
                Driver("MAP2K1", 0.04),
            ),
            exclusive_pair=("BRAF", "NRAS"),
            cooccurring_pair=("NF1", "ARID2"),
            survival_gene="NRAS",
            survival_hr=2.4,
            copy_number=(
                CopyNumberEvent("CCND1", "amp", 0.04, {"ACRM": 0.28}),
                CopyNumberEvent("MITF", "amp", 0.08),
                CopyNumberEvent("CDKN2A", "homdel", 0.3, {"ACRM": 0.2}),
                CopyNumberEvent("KIT", "amp", 0.01, {"ACRM": 0.12}),
                CopyNumberEvent("PTEN", "homdel", 0.06),
            ),
            fusions=(
                Fusion("AGK", "BRAF", 0.025),
                Fusion("TRIM24", "BRAF", 0.012),
                Fusion("ETV6", "NTRK3", 0.008),
            ),
            attributes=_attrs(Attribute("ULCERATION", ("Yes", "No"), (0.35, 0.65), missing=0.15)),
            treatments=(),
            median_os_months=34.0,
            median_pfs_months=9.0,
            female_fraction=0.4,
            age_mean=60,
            age_sd=14,
            sequencing="exome",
            hypermutated_fraction=0.15,
            uv_signature=True,
        ),
        CancerProfile(
            key="prostate",
            cancer_type="Prostate Cancer",
            subtypes=(
                Subtype("PRAD", "Prostate Adenocarcinoma", 0.86),
                Subtype("PRNE", "Prostate Neuroendocrine Carcinoma", 0.14),
            ),
            drivers=(
                Driver("TP53", 0.3, {"PRNE": 0.65}),
                Driver("SPOP", 0.13, {"PRNE": 0.02}),
                Driver("FOXA1", 0.09),
                Driver("PTEN", 0.08, {"PRNE": 0.2}),
                Driver("RB1", 0.04, {"PRNE": 0.45}),
                Driver("AR", 0.06, {"PRNE": 0.02}),
                Driver("KMT2C", 0.08),
                Driver("ATM", 0.06),
                Driver("BRCA2", 0.05),
                Driver("CDK12", 0.08),
                Driver("APC", 0.06),
            ),
            exclusive_pair=("SPOP", "CDK12"),
            cooccurring_pair=("TP53", "RB1"),
            survival_gene="RB1",
            survival_hr=2.6,
            copy_number=(
                CopyNumberEvent("AR", "amp", 0.12, {"PRNE": 0.03}),
                CopyNumberEvent("MYCN", "amp", 0.01, {"PRNE": 0.3}),
                CopyNumberEvent("PTEN", "homdel", 0.16, {"PRNE": 0.3}),
                CopyNumberEvent("RB1", "homdel", 0.02, {"PRNE": 0.25}),
                CopyNumberEvent("MYC", "amp", 0.08),
            ),
            fusions=(
                Fusion("TMPRSS2", "ERG", 0.38, {"PRNE": 0.1}),
                Fusion("SLC45A3", "ERG", 0.03),
                Fusion("NDRG1", "ERG", 0.02),
                Fusion("TMPRSS2", "ETV1", 0.03),
            ),
            attributes=_attrs(
                Attribute("RISK_GROUP", ("Low", "Intermediate", "High"), (0.2, 0.45, 0.35), missing=0.05)
            ),
            treatments=(
                Treatment("Hormone Therapy", "Leuprolide", 500),
                Treatment("Hormone Therapy", "Enzalutamide", 330),
                Treatment("Hormone Therapy", "Abiraterone", 300),
                Treatment("Chemotherapy", "Docetaxel", 120),
                Treatment("Chemotherapy", "Cabazitaxel", 100),
            ),
            median_os_months=40.0,
            median_pfs_months=14.0,
            female_fraction=0.0,
            age_mean=67,
            age_sd=8,
            sequencing="panel",
            subtype_hr={"PRNE": 1.8},
        ),
        CancerProfile(
            key="hepatobiliary",
            cancer_type="Hepatobiliary Cancer",
            subtypes=(
                Subtype("IHCH", "Intrahepatic Cholangiocarcinoma", 0.64),
                Subtype("EHCH", "Extrahepatic Cholangiocarcinoma", 0.2),
                Subtype("GBC", "Gallbladder Cancer", 0.16),
            ),
            drivers=(
                Driver("IDH1", 0.2, {"EHCH": 0.01, "GBC": 0.01}),
                Driver("TP53", 0.25, {"GBC": 0.55, "EHCH": 0.4}),
                Driver("KRAS", 0.17, {"EHCH": 0.35}),
                Driver("ARID1A", 0.18),
                Driver("BAP1", 0.12, {"EHCH": 0.03, "GBC": 0.02}),
                Driver("PBRM1", 0.09),
                Driver("CDKN2A", 0.06),
                Driver("SMAD4", 0.06, {"EHCH": 0.15, "GBC": 0.12}),
                Driver("ERBB2", 0.02, {"GBC": 0.08}),
                Driver("PIK3CA", 0.06),
                Driver("FGFR2", 0.02),
            ),
            exclusive_pair=("IDH1", "KRAS"),
            cooccurring_pair=("TP53", "SMAD4"),
            survival_gene="TP53",
            survival_hr=2.0,
            copy_number=(
                CopyNumberEvent("ERBB2", "amp", 0.03, {"GBC": 0.22}),
                CopyNumberEvent("MDM2", "amp", 0.06),
                CopyNumberEvent("CDKN2A", "homdel", 0.15),
                CopyNumberEvent("MYC", "amp", 0.05),
            ),
            fusions=(
                Fusion("FGFR2", "BICC1", 0.05, {"EHCH": 0.0, "GBC": 0.0}),
                Fusion("FGFR2", "CCDC6", 0.025, {"EHCH": 0.0, "GBC": 0.0}),
                Fusion("FGFR2", "TACC3", 0.02, {"EHCH": 0.0, "GBC": 0.0}),
                Fusion("LMNA", "NTRK1", 0.01),
            ),
            attributes=_attrs(
                Attribute(
                    "TUMOR_GRADE",
                    ("Well differentiated", "Moderately differentiated", "Poorly differentiated"),
                    (0.15, 0.55, 0.3),
                    missing=0.12,
                ),
                Attribute("RESECTED", ("Yes", "No"), (0.45, 0.55)),
            ),
            treatments=(
                Treatment("Chemotherapy", "Gemcitabine", 150),
                Treatment("Chemotherapy", "Cisplatin", 120),
                Treatment("Targeted Therapy", "Ivosidenib", 180),
                Treatment("Targeted Therapy", "Pemigatinib", 240),
            ),
            median_os_months=16.0,
            median_pfs_months=None,
            female_fraction=0.55,
            age_mean=63,
            age_sd=11,
            sequencing="panel",
        ),
        CancerProfile(
            key="esophagogastric",
            cancer_type="Esophagogastric Cancer",
            subtypes=(
                Subtype("STAD", "Stomach Adenocarcinoma", 0.46),
                Subtype("ESCA", "Esophageal Adenocarcinoma", 0.3),
                Subtype("GEJ", "Adenocarcinoma of the Gastroesophageal Junction", 0.24),
            ),
            drivers=(
                Driver("TP53", 0.62, {"ESCA": 0.75}),
                Driver("CDH1", 0.1, {"ESCA": 0.02, "GEJ": 0.03}),
                Driver("ARID1A", 0.15, {"ESCA": 0.06}),
                Driver("PIK3CA", 0.11),
                Driver("KRAS", 0.08),
                Driver("ERBB2", 0.04),
                Driver("SMAD4", 0.09, {"ESCA": 0.13}),
                Driver("CDKN2A", 0.07),
                Driver("RHOA", 0.06, {"ESCA": 0.01}),
                Driver("APC", 0.08),
                Driver("KMT2D", 0.09),
            ),
            exclusive_pair=("CDH1", "TP53"),
            cooccurring_pair=("PIK3CA", "ARID1A"),
            survival_gene="SMAD4",
            survival_hr=1.9,
            copy_number=(
                CopyNumberEvent("ERBB2", "amp", 0.08, {"ESCA": 0.32, "GEJ": 0.12}),
                CopyNumberEvent("CCNE1", "amp", 0.1),
                CopyNumberEvent("KRAS", "amp", 0.07),
                CopyNumberEvent("MYC", "amp", 0.09),
                CopyNumberEvent("CDKN2A", "homdel", 0.1),
            ),
            fusions=(
                Fusion("CLDN18", "ARHGAP26", 0.07, {"ESCA": 0.0, "GEJ": 0.01}),
                Fusion("CD74", "ROS1", 0.005),
                Fusion("FGFR2", "BICC1", 0.01),
            ),
            attributes=_attrs(
                Attribute("LAUREN_CLASS", ("Intestinal", "Diffuse", "Mixed"), (0.55, 0.3, 0.15), missing=0.2)
            ),
            treatments=(
                Treatment("Chemotherapy", "Fluorouracil", 130),
                Treatment("Chemotherapy", "Oxaliplatin", 110),
                Treatment("Chemotherapy", "Cisplatin", 90),
                Treatment("Targeted Therapy", "Trastuzumab", 210),
                Treatment("Targeted Therapy", "Ramucirumab", 120),
                Treatment("Immunotherapy", "Nivolumab", 180),
            ),
            median_os_months=14.0,
            median_pfs_months=6.0,
            female_fraction=0.28,
            age_mean=64,
            age_sd=11,
            sequencing="panel",
            hypermutated_fraction=0.06,
            hypermutated_attribute="MSI_TYPE",
        ),
    )
}


def profile(key: str) -> CancerProfile:
    try:
        return PROFILES[key]
    except KeyError:
        raise KeyError(f"unknown cancer profile {key!r} (known: {', '.join(PROFILES)})") from None
