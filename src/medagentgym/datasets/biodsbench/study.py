"""The seeded generator of synthetic cancer studies in cBioPortal's table formats.

Public entry point: ``write_study(folder, seed, profile=..., n_patients=..., study_id=...)``
writes one study into ``folder`` and returns a ``StudyInfo`` (what was written, and the planted
effects). The same arguments always write byte-identical files. Files, with cBioPortal's names
and column names (CSV, as the BioDSBench task files present them):

- ``data_clinical_patient.csv``: PATIENT_ID, AGE, SEX, STAGE, RACE, profile attributes
  (e.g. SMOKING_HISTORY), OS_MONTHS, OS_STATUS ("1:DECEASED"/"0:LIVING"), and where the study
  records it PFS_MONTHS, PFS_STATUS ("1:Progressed"/"0:Not Progressed");
- ``data_clinical_sample.csv``: SAMPLE_ID, PATIENT_ID, CANCER_TYPE, CANCER_TYPE_DETAILED,
  ONCOTREE_CODE, SAMPLE_TYPE, GENE_PANEL, TUMOR_PURITY, (MSI_TYPE), SOMATIC_STATUS,
  TMB_NONSYNONYMOUS (protein-changing mutations per megabase of the sample's panel);
- ``data_mutations.csv``: MAF columns (Hugo_Symbol, Variant_Classification,
  Tumor_Sample_Barcode, HGVSp_Short, ...), including silent and non-coding records;
- ``data_cna.csv``: Hugo_Symbol then one column per copy-number profiled sample, discrete
  values -2..2 (empty where the sample's panel lacks the gene);
- ``data_sv.csv``: structural variants (Sample_Id, Site1_Hugo_Symbol, Site2_Hugo_Symbol, Class,
  read counts, Event_Info, ...), recurrent fusions among intragenic and intergenic noise;
- ``data_timeline_treatment.csv`` (profiles with treatments): PATIENT_ID, START_DATE, STOP_DATE
  (days from diagnosis; empty while a treatment is ongoing), EVENT_TYPE, TREATMENT_TYPE, AGENT.

Planted effects: the profile's survival gene multiplies the hazard of death and progression;
its exclusive pair is rarely co-mutated and its co-occurring pair often is; copy-number events
and fusions have per-subtype frequencies; missing values appear where real studies have them
(age, stage, survival, purity, TMB, samples not profiled for copy number, genes missing from an
older panel). No file holds a precomputed summary of any of these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medagentgym.datasets.biodsbench.genes import (
    AMINO_ACIDS,
    HOTSPOTS,
    ONCOGENES,
    THREE_LETTER,
    Gene,
    gene,
)
from medagentgym.datasets.biodsbench.profiles import (
    BACKGROUND_GENES,
    PASSENGER_GENES,
    CancerProfile,
)
from medagentgym.datasets.biodsbench.profiles import profile as get_profile

PATIENT_FILE = "data_clinical_patient.csv"
SAMPLE_FILE = "data_clinical_sample.csv"
MUTATION_FILE = "data_mutations.csv"
CNA_FILE = "data_cna.csv"
SV_FILE = "data_sv.csv"
TIMELINE_FILE = "data_timeline_treatment.csv"

#: Variant classifications that do not change the protein (cBioPortal leaves them out of its
#: mutation counts); every question that says "mutated" means a record not in this set.
NON_PROTEIN_CHANGING = ("Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA")
#: Classifications that truncate the protein.
TRUNCATING = (
    "Nonsense_Mutation",
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "Splice_Site",
    "Nonstop_Mutation",
    "Translation_Start_Site",
)
#: Megabases each panel covers (TMB denominators; "WES" stands for the exome subset simulated).
PANEL_MB = {"IMPACT468": 1.22, "IMPACT341": 0.98, "WES": 1.5}

OS_EVENT, OS_CENSORED = "1:DECEASED", "0:LIVING"
PFS_EVENT, PFS_CENSORED = "1:Progressed", "0:Not Progressed"

MAF_COLUMNS = (
    "Hugo_Symbol",
    "Entrez_Gene_Id",
    "Center",
    "NCBI_Build",
    "Chromosome",
    "Start_Position",
    "End_Position",
    "Strand",
    "Consequence",
    "Variant_Classification",
    "Variant_Type",
    "Reference_Allele",
    "Tumor_Seq_Allele1",
    "Tumor_Seq_Allele2",
    "dbSNP_RS",
    "Tumor_Sample_Barcode",
    "Matched_Norm_Sample_Barcode",
    "Mutation_Status",
    "t_ref_count",
    "t_alt_count",
    "n_ref_count",
    "n_alt_count",
    "HGVSc",
    "HGVSp",
    "HGVSp_Short",
    "Transcript_ID",
    "RefSeq",
    "Protein_position",
    "Hotspot",
)
SV_COLUMNS = (
    "Sample_Id",
    "SV_Status",
    "Site1_Hugo_Symbol",
    "Site1_Chromosome",
    "Site1_Position",
    "Site1_Description",
    "Site2_Hugo_Symbol",
    "Site2_Chromosome",
    "Site2_Position",
    "Site2_Description",
    "Site2_Effect_On_Frame",
    "NCBI_Build",
    "Class",
    "Tumor_Split_Read_Count",
    "Tumor_Paired_End_Read_Count",
    "Event_Info",
    "Breakpoint_Type",
    "Connection_Type",
    "Annotation",
)

_CONSEQUENCE = {
    "Missense_Mutation": "missense_variant",
    "Nonsense_Mutation": "stop_gained",
    "Frame_Shift_Del": "frameshift_variant",
    "Frame_Shift_Ins": "frameshift_variant",
    "In_Frame_Del": "inframe_deletion",
    "In_Frame_Ins": "inframe_insertion",
    "Splice_Site": "splice_acceptor_variant",
    "Silent": "synonymous_variant",
    "Intron": "intron_variant",
    "3'UTR": "3_prime_UTR_variant",
    "5'UTR": "5_prime_UTR_variant",
    "5'Flank": "upstream_gene_variant",
    "Translation_Start_Site": "start_lost",
}
_BASES = "ACGT"
# Mixes of protein-changing classes: oncogene (besides hotspots), tumour suppressor, background.
_TSG_MIX = (
    ("Missense_Mutation", 0.5),
    ("Nonsense_Mutation", 0.2),
    ("Frame_Shift_Del", 0.12),
    ("Frame_Shift_Ins", 0.06),
    ("Splice_Site", 0.07),
    ("In_Frame_Del", 0.04),
    ("Translation_Start_Site", 0.01),
)
_TRUNCATING_TSG_MIX = (
    ("Missense_Mutation", 0.1),
    ("Nonsense_Mutation", 0.42),
    ("Frame_Shift_Del", 0.28),
    ("Frame_Shift_Ins", 0.13),
    ("Splice_Site", 0.07),
)
_BACKGROUND_MIX = (
    ("Missense_Mutation", 0.66),
    ("Nonsense_Mutation", 0.1),
    ("Frame_Shift_Del", 0.09),
    ("Frame_Shift_Ins", 0.05),
    ("Splice_Site", 0.05),
    ("In_Frame_Del", 0.03),
    ("In_Frame_Ins", 0.02),
)
_TRUNCATION_PRONE = frozenset(
    {"APC", "CDH1", "ARID1A", "ARID2", "NF1", "KMT2C", "KMT2D", "RNF43", "BAP1", "PBRM1", "ATRX", "CIC", "FUBP1"}
)
_NONCODING = (("Intron", 0.45), ("3'UTR", 0.25), ("5'UTR", 0.15), ("5'Flank", 0.15))


@dataclass(frozen=True)
class StudyInfo:
    """What ``write_study`` wrote: the study's identity, its files and its planted effects."""

    study_id: str
    profile: str
    cancer_type: str
    seed: int
    n_patients: int
    n_samples: int
    subtypes: tuple[str, ...]
    files: tuple[str, ...]
    has_pfs: bool
    has_timeline: bool
    survival_gene: str
    exclusive_pair: tuple[str, str]
    cooccurring_pair: tuple[str, str]
    subtype_gain: tuple[str, str]  # (gene, subtype): the amplification most enriched in one subtype
    fusion_genes: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "profile": self.profile,
            "cancer_type": self.cancer_type,
            "seed": self.seed,
            "n_patients": self.n_patients,
            "n_samples": self.n_samples,
            "subtypes": list(self.subtypes),
            "files": list(self.files),
            "has_pfs": self.has_pfs,
            "has_timeline": self.has_timeline,
            "survival_gene": self.survival_gene,
            "exclusive_pair": list(self.exclusive_pair),
            "cooccurring_pair": list(self.cooccurring_pair),
            "subtype_gain": list(self.subtype_gain),
            "fusion_genes": list(self.fusion_genes),
            **self.extra,
        }


def study_genes(prof: CancerProfile) -> tuple[str, ...]:
    """The genes on the study's panel (mutations and copy number): the profile's own and the
    background set, sorted."""
    genes = {d.gene for d in prof.drivers} | {c.gene for c in prof.copy_number} | set(BACKGROUND_GENES)
    genes |= {f.five_prime for f in prof.fusions} | {f.three_prime for f in prof.fusions}
    return tuple(sorted(genes))


def subtype_gain(prof: CancerProfile) -> tuple[str, str]:
    """The planted amplification most enriched in one subtype: (gene, subtype) maximising its
    frequency there over its highest frequency in any other subtype."""
    codes = [s.code for s in prof.subtypes]
    candidates = []
    for event in prof.copy_number:
        if event.kind != "amp":
            continue
        for code in codes:
            others = max(event.probability(o) for o in codes if o != code)
            candidates.append((event.probability(code) / max(others, 0.01), event.gene, code))
    _, gene_symbol, code = max(candidates)
    return gene_symbol, code


def _choice(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    names = [o[0] for o in options]
    weights = np.array([o[1] for o in options], dtype=float)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


# -- mutation records -------------------------------------------------------------------------


@dataclass
class _Mutation:
    """A mutation as drawn (before its read counts, which each sample draws anew)."""

    gene: str
    klass: str
    position: int
    ref: str
    alt: str
    protein: str  # short form without "p." ("" for non-coding)
    protein_position: int | None
    hotspot: bool


def _random_allele(rng: np.random.Generator, n: int) -> str:
    return "".join(_BASES[int(i)] for i in rng.integers(0, 4, n))


def _snv(rng: np.random.Generator, uv: bool) -> tuple[str, str]:
    """A single-base substitution (ultraviolet signature: mostly C>T on either strand)."""
    if uv and rng.random() < 0.75:
        return ("C", "T") if rng.random() < 0.5 else ("G", "A")
    ref = _BASES[int(rng.integers(0, 4))]
    others = [b for b in _BASES if b != ref]
    return ref, others[int(rng.integers(0, 3))]


def _draw_mutation(rng: np.random.Generator, g: Gene, klass: str, uv: bool, protein: str | None = None) -> _Mutation:
    """One mutation of class ``klass`` in gene ``g`` (``protein``: a given hotspot change)."""
    position = int(rng.integers(g.start, g.end))
    length = g.protein_length
    if protein is not None:
        digits = "".join(ch for ch in protein.split("_")[0] if ch.isdigit())
        ppos = int(digits)
        if protein.endswith("del"):
            ref = _random_allele(rng, 15)
            return _Mutation(g.symbol, "In_Frame_Del", position, ref, "-", protein, ppos, True)
        ref, alt = _snv(rng, False)
        return _Mutation(g.symbol, "Missense_Mutation", position, ref, alt, protein, ppos, True)
    ppos = int(rng.integers(2, length + 1))
    aa = AMINO_ACIDS[int(rng.integers(0, 20))]
    if klass in NON_PROTEIN_CHANGING and klass != "Silent":
        ref, alt = _snv(rng, uv)
        return _Mutation(g.symbol, klass, position, ref, alt, "", None, False)
    if klass == "Missense_Mutation":
        new = AMINO_ACIDS[int(rng.integers(0, 20))]
        new = new if new != aa else ("A" if aa != "A" else "V")
        ref, alt = _snv(rng, uv)
        if uv and rng.random() < 0.08:
            ref, alt = "CC", "TT"
        return _Mutation(g.symbol, klass, position, ref, alt, f"{aa}{ppos}{new}", ppos, False)
    if klass == "Silent":
        ref, alt = _snv(rng, uv)
        return _Mutation(g.symbol, klass, position, ref, alt, f"{aa}{ppos}=", ppos, False)
    if klass == "Nonsense_Mutation":
        ref, alt = _snv(rng, uv)
        return _Mutation(g.symbol, klass, position, ref, alt, f"{aa}{ppos}*", ppos, False)
    if klass == "Frame_Shift_Del":
        n = int(rng.choice([1, 2, 4, 5]))
        shift = AMINO_ACIDS[int(rng.integers(0, 20))]
        return _Mutation(
            g.symbol,
            klass,
            position,
            _random_allele(rng, n),
            "-",
            f"{aa}{ppos}{shift}fs*{int(rng.integers(2, 40))}",
            ppos,
            False,
        )
    if klass == "Frame_Shift_Ins":
        n = int(rng.choice([1, 2, 4]))
        shift = AMINO_ACIDS[int(rng.integers(0, 20))]
        return _Mutation(
            g.symbol,
            klass,
            position,
            "-",
            _random_allele(rng, n),
            f"{aa}{ppos}{shift}fs*{int(rng.integers(2, 40))}",
            ppos,
            False,
        )
    if klass == "In_Frame_Del":
        return _Mutation(g.symbol, klass, position, _random_allele(rng, 3), "-", f"{aa}{ppos}del", ppos, False)
    if klass == "In_Frame_Ins":
        ins = AMINO_ACIDS[int(rng.integers(0, 20))]
        nxt = AMINO_ACIDS[int(rng.integers(0, 20))]
        return _Mutation(
            g.symbol, klass, position, "-", _random_allele(rng, 3), f"{aa}{ppos}_{nxt}{ppos + 1}ins{ins}", ppos, False
        )
    if klass == "Splice_Site":
        ref, alt = _snv(rng, uv)
        return _Mutation(g.symbol, klass, position, ref, alt, f"X{ppos}_splice", ppos, False)
    if klass == "Translation_Start_Site":
        ref, alt = _snv(rng, uv)
        return _Mutation(g.symbol, klass, position, ref, alt, "M1?", 1, False)
    raise ValueError(f"unknown variant classification {klass!r}")


def _driver_mutation(rng: np.random.Generator, symbol: str, uv: bool) -> _Mutation:
    g = gene(symbol)
    hotspots = HOTSPOTS.get(symbol)
    if symbol in ONCOGENES and hotspots:
        if rng.random() < 0.88:
            return _draw_mutation(rng, g, "Missense_Mutation", uv, _choice(rng, hotspots))
        return _draw_mutation(rng, g, "Missense_Mutation", uv)
    if symbol == "TP53" and hotspots and rng.random() < 0.35:
        return _draw_mutation(rng, g, "Missense_Mutation", uv, _choice(rng, hotspots))
    mix = _TRUNCATING_TSG_MIX if symbol in _TRUNCATION_PRONE else _TSG_MIX
    return _draw_mutation(rng, g, _choice(rng, mix), uv)


def _hgvsp_long(short: str) -> str:
    """``G12D`` -> ``p.Gly12Asp`` (the long form of the simple cases; others keep the short text)."""
    if not short or not short[0].isalpha() or short.startswith("X"):
        return f"p.{short}" if short else ""
    digits = ""
    rest = short[1:]
    while rest and rest[0].isdigit():
        digits, rest = digits + rest[0], rest[1:]
    first = THREE_LETTER.get(short[0], short[0])
    if len(rest) == 1 and rest in THREE_LETTER:
        return f"p.{first}{digits}{THREE_LETTER[rest]}"
    return f"p.{first}{digits}{rest}"


def _maf_row(
    m: _Mutation, sample: str, patient: str, rng: np.random.Generator, depth_mean: float, purity: float
) -> dict[str, Any]:
    g = gene(m.gene)
    depth = max(20, int(rng.normal(depth_mean, depth_mean * 0.25)))
    vaf = min(0.95, max(0.03, rng.normal(purity / 200, 0.06)))
    alt_count = max(3, round(depth * vaf))
    ref_len = len(m.ref) if m.ref != "-" else 1
    variant_type = "INS" if m.ref == "-" else "DEL" if m.alt == "-" else {1: "SNP", 2: "DNP"}.get(len(m.ref), "ONP")
    cpos = (m.protein_position or 1) * 3 - int(rng.integers(0, 3))
    if m.protein_position is None:
        hgvsc = (
            f"c.{-int(rng.integers(10, 400))}{m.ref}>{m.alt}"
            if m.klass != "Intron"
            else f"c.{cpos}+{int(rng.integers(20, 900))}{m.ref}>{m.alt}"
        )
    elif variant_type in ("SNP", "DNP", "ONP"):
        hgvsc = f"c.{cpos}{m.ref}>{m.alt}"
    elif variant_type == "DEL":
        hgvsc = f"c.{cpos}_{cpos + len(m.ref) - 1}del"
    else:
        hgvsc = f"c.{cpos}_{cpos + 1}ins{m.alt}"
    normal_depth = max(10, int(rng.normal(depth_mean * 0.6, depth_mean * 0.15)))
    return {
        "Hugo_Symbol": m.gene,
        "Entrez_Gene_Id": g.entrez,
        "Center": "SYNTH",
        "NCBI_Build": "GRCh37",
        "Chromosome": g.chromosome,
        "Start_Position": m.position,
        "End_Position": m.position + ref_len - 1,
        "Strand": "+",
        "Consequence": _CONSEQUENCE.get(m.klass, "coding_sequence_variant"),
        "Variant_Classification": m.klass,
        "Variant_Type": variant_type,
        "Reference_Allele": m.ref,
        "Tumor_Seq_Allele1": m.ref,
        "Tumor_Seq_Allele2": m.alt,
        "dbSNP_RS": "novel" if rng.random() < 0.1 else None,
        "Tumor_Sample_Barcode": sample,
        "Matched_Norm_Sample_Barcode": f"{patient}-N01",
        "Mutation_Status": "SOMATIC",
        "t_ref_count": depth - alt_count,
        "t_alt_count": alt_count,
        "n_ref_count": normal_depth if rng.random() > 0.04 else None,
        "n_alt_count": int(rng.random() < 0.05) if rng.random() > 0.04 else None,
        "HGVSc": f"{g.transcript_id}:{hgvsc}",
        "HGVSp": _hgvsp_long(m.protein) if m.protein else None,
        "HGVSp_Short": f"p.{m.protein}" if m.protein else None,
        "Transcript_ID": g.transcript_id,
        "RefSeq": g.refseq,
        "Protein_position": m.protein_position,
        "Hotspot": int(m.hotspot),
    }


# -- the study --------------------------------------------------------------------------------


@dataclass
class _Sample:
    sample_id: str
    patient_id: str
    subtype: str
    sample_type: str
    panel: str
    purity: float
    hypermutated: bool
    index_in_patient: int


def _ids(prof: CancerProfile, rng: np.random.Generator, n: int, study_id: str) -> list[str]:
    if prof.sequencing == "panel":
        numbers = rng.choice(np.arange(1000, 70000), size=n, replace=False)
        return [f"P-{int(x):07d}" for x in numbers]
    tag = study_id.split("_")[0].upper()
    return [f"{tag}-{i:04d}" for i in rng.permutation(np.arange(1, n + 1))]


def _sample_id(prof: CancerProfile, patient: str, k: int, panel: str) -> str:
    if prof.sequencing == "panel":
        suffix = {"IMPACT341": "IM3", "IMPACT468": "IM6"}[panel]
        return f"{patient}-T{k:02d}-{suffix}"
    return f"{patient}-T{k:02d}"


def write_study(
    folder: Path,
    seed: int,
    *,
    profile: str | CancerProfile = "nsclc",
    n_patients: int = 200,
    study_id: str | None = None,
) -> StudyInfo:
    """Write one synthetic study into ``folder`` (created if needed) and describe it.

    ``profile`` names a cancer profile (``profiles.PROFILES``: nsclc, colorectal, breast, glioma,
    melanoma, prostate, hepatobiliary, esophagogastric) or is one. Deterministic: the same
    (seed, profile, n_patients, study_id) write the same bytes. Existing files of the same names
    are overwritten; other files in ``folder`` are left alone.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if n_patients < 20:
        raise ValueError("a study needs at least 20 patients")
    study_id = study_id or f"{prof.key}_synth_{seed}"
    rng = np.random.default_rng([seed, n_patients, sum(map(ord, prof.key))])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    genes_on_panel = study_genes(prof)
    # genes the older panel (IMPACT341) lacks: no mutation calls, empty copy-number cells
    late_genes = tuple(
        sorted(
            str(g)
            for g in rng.choice(
                sorted(set(genes_on_panel) - {prof.survival_gene, *prof.exclusive_pair}), 3, replace=False
            )
        )
    )

    patients = _ids(prof, rng, n_patients, study_id)
    codes = [s.code for s in prof.subtypes]
    weights = np.array([s.weight for s in prof.subtypes])
    subtype_of = {
        p: codes[int(i)] for p, i in zip(patients, rng.choice(len(codes), n_patients, p=weights / weights.sum()))
    }

    # drivers per patient, with the planted exclusivity and co-occurrence
    drivers: dict[str, set[str]] = {}
    for p in patients:
        st = subtype_of[p]
        hit = {d.gene for d in prof.drivers if rng.random() < d.probability(st)}
        a, b = prof.exclusive_pair
        if a in hit and b in hit and rng.random() < 0.95:
            hit.discard(b)
        c, d = prof.cooccurring_pair
        if c in hit and d not in hit:
            p_d = next(x.probability(st) for x in prof.drivers if x.gene == d)
            if rng.random() < min(0.9, 1.5 * p_d):
                hit.add(d)
        drivers[p] = hit

    patient_rows = _patient_table(prof, rng, patients, drivers, subtype_of)

    # samples: one per patient, a second (metastasis) for some
    samples: list[_Sample] = []
    for p in patients:
        count = 2 if rng.random() < 0.08 else 1
        hyper = rng.random() < prof.hypermutated_fraction
        for k in range(1, count + 1):
            if prof.sequencing == "panel":
                panel = "IMPACT341" if rng.random() < 0.2 else "IMPACT468"
            else:
                panel = "WES"
            sample_type = ("Primary" if rng.random() < 0.7 else "Metastasis") if k == 1 else "Metastasis"
            purity = float(
                rng.choice([20, 30, 40, 50, 60, 70, 80, 90], p=[0.06, 0.12, 0.16, 0.2, 0.18, 0.14, 0.09, 0.05])
            )
            samples.append(
                _Sample(_sample_id(prof, p, k, panel), p, subtype_of[p], sample_type, panel, purity, hyper, k)
            )

    mutation_rows, tmb = _mutations(prof, rng, samples, drivers, genes_on_panel, late_genes)
    sample_rows = _sample_table(prof, rng, samples, tmb)
    cna = _copy_number(prof, rng, samples, genes_on_panel, late_genes)
    sv_rows = _structural_variants(prof, rng, samples, genes_on_panel)

    files = [PATIENT_FILE, SAMPLE_FILE, MUTATION_FILE, CNA_FILE, SV_FILE]
    pd.DataFrame(patient_rows).to_csv(folder / PATIENT_FILE, index=False)
    pd.DataFrame(sample_rows).to_csv(folder / SAMPLE_FILE, index=False)
    mutations = pd.DataFrame(mutation_rows, columns=list(MAF_COLUMNS))
    for column in ("n_ref_count", "n_alt_count", "Protein_position"):
        mutations[column] = mutations[column].astype("Int64")
    mutations.to_csv(folder / MUTATION_FILE, index=False)
    cna.to_csv(folder / CNA_FILE, index=False)
    sv = pd.DataFrame(sv_rows, columns=list(SV_COLUMNS))
    sv["Tumor_Split_Read_Count"] = sv["Tumor_Split_Read_Count"].astype("Int64")
    sv.to_csv(folder / SV_FILE, index=False)
    if prof.treatments:
        _timeline(prof, rng, patients).to_csv(folder / TIMELINE_FILE, index=False)
        files.append(TIMELINE_FILE)

    fusion_genes = sorted({f.three_prime for f in prof.fusions} | {f.five_prime for f in prof.fusions})
    return StudyInfo(
        study_id=study_id,
        profile=prof.key,
        cancer_type=prof.cancer_type,
        seed=seed,
        n_patients=n_patients,
        n_samples=len(samples),
        subtypes=tuple(codes),
        files=tuple(files),
        has_pfs=prof.median_pfs_months is not None,
        has_timeline=bool(prof.treatments),
        survival_gene=prof.survival_gene,
        exclusive_pair=prof.exclusive_pair,
        cooccurring_pair=prof.cooccurring_pair,
        subtype_gain=subtype_gain(prof),
        fusion_genes=tuple(fusion_genes),
        extra={"late_genes": list(late_genes)},
    )


def _patient_table(
    prof: CancerProfile,
    rng: np.random.Generator,
    patients: list[str],
    drivers: dict[str, set[str]],
    subtypes: dict[str, str],
) -> list[dict[str, Any]]:
    rows = []
    shape = 1.3
    os_scale = prof.median_os_months / math.log(2) ** (1 / shape)
    pfs_scale = (prof.median_pfs_months or 1.0) / math.log(2) ** (1 / shape)
    for p in patients:
        row: dict[str, Any] = {"PATIENT_ID": p}
        subtype_hazard = prof.subtype_hr.get(subtypes[p], 1.0)
        age = int(np.clip(round(rng.normal(prof.age_mean, prof.age_sd)), 19, 90))
        row["AGE"] = age if rng.random() > 0.03 else None
        row["SEX"] = "Female" if rng.random() < prof.female_fraction else "Male"
        for attribute in prof.attributes:
            w = np.array(attribute.weights)
            value = attribute.values[int(rng.choice(len(w), p=w / w.sum()))]
            row[attribute.name] = None if rng.random() < attribute.missing else value
        stage = row.get("STAGE")
        lp = 0.0
        if prof.survival_gene in drivers[p]:
            lp += math.log(prof.survival_hr)
        lp += {"III": math.log(1.4), "IV": math.log(2.0)}.get(stage or "", 0.0)
        lp += 0.012 * (age - prof.age_mean) + math.log(subtype_hazard)
        factor = math.exp(-lp / shape)
        death = os_scale * factor * (-math.log(1 - rng.random())) ** (1 / shape)
        progression = pfs_scale * factor * (-math.log(1 - rng.random())) ** (1 / shape)
        follow_up = rng.uniform(3.0, 96.0)
        os_time = min(death, follow_up)
        row["OS_MONTHS"] = round(max(os_time, 0.1), 2)
        row["OS_STATUS"] = OS_EVENT if death <= follow_up else OS_CENSORED
        u = rng.random()
        if u < 0.015:
            row["OS_MONTHS"], row["OS_STATUS"] = None, None
        elif u < 0.025:
            row["OS_MONTHS"] = None  # a status without its time
        if prof.median_pfs_months is not None:
            pfs_time = min(progression, death, follow_up)
            row["PFS_MONTHS"] = round(max(min(pfs_time, os_time), 0.1), 2)
            row["PFS_STATUS"] = PFS_EVENT if min(progression, death) <= follow_up else PFS_CENSORED
            if rng.random() < 0.06:
                row["PFS_MONTHS"], row["PFS_STATUS"] = None, None
        rows.append(row)
    return rows


def _mutations(
    prof: CancerProfile,
    rng: np.random.Generator,
    samples: list[_Sample],
    drivers: dict[str, set[str]],
    panel_genes: tuple[str, ...],
    late_genes: tuple[str, ...],
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    rows: list[dict[str, Any]] = []
    tmb: dict[str, float] = {}
    depth = 550.0 if prof.sequencing == "panel" else 110.0
    driver_genes = {d.gene for d in prof.drivers}
    background = [g for g in panel_genes if g not in driver_genes]
    first_drivers: dict[str, list[_Mutation]] = {}
    for s in samples:
        covered = (lambda g: g not in late_genes) if s.panel == "IMPACT341" else (lambda g: True)
        drawn: list[_Mutation] = []
        if s.index_in_patient == 1:
            ds = []
            for g in sorted(drivers[s.patient_id]):
                ds.append(_driver_mutation(rng, g, prof.uv_signature))
                if rng.random() < 0.1:
                    ds.append(_driver_mutation(rng, g, prof.uv_signature))
            first_drivers[s.patient_id] = ds
        drawn += [m for m in first_drivers[s.patient_id] if covered(m.gene)]
        boost = 8.0 if s.hypermutated else 1.0
        for g in background:
            if covered(g) and rng.random() < 0.02 * boost:
                drawn.append(_draw_mutation(rng, gene(g), _choice(rng, _BACKGROUND_MIX), prof.uv_signature))
        if prof.sequencing == "exome":
            for g in PASSENGER_GENES:
                for _ in range(
                    int(rng.poisson(gene(g).protein_length / 20000 * boost * (2.0 if prof.uv_signature else 1.0)))
                ):
                    klass = _choice(rng, _BACKGROUND_MIX) if rng.random() < 0.75 else "Silent"
                    drawn.append(_draw_mutation(rng, gene(g), klass, prof.uv_signature))
        for _ in range(int(rng.poisson(1.2 * boost))):
            g = panel_genes[int(rng.integers(0, len(panel_genes)))]
            if covered(g):
                drawn.append(_draw_mutation(rng, gene(g), "Silent", prof.uv_signature))
        for _ in range(int(rng.poisson(0.4))):
            g = panel_genes[int(rng.integers(0, len(panel_genes)))]
            if covered(g):
                drawn.append(_draw_mutation(rng, gene(g), _choice(rng, _NONCODING), prof.uv_signature))
        order = rng.permutation(len(drawn))
        for i in order:
            rows.append(_maf_row(drawn[int(i)], s.sample_id, s.patient_id, rng, depth, s.purity))
        coding = sum(1 for m in drawn if m.klass not in NON_PROTEIN_CHANGING)
        tmb[s.sample_id] = coding / PANEL_MB[s.panel]
    return rows, tmb


def _sample_table(
    prof: CancerProfile, rng: np.random.Generator, samples: list[_Sample], tmb: dict[str, float]
) -> list[dict[str, Any]]:
    detailed = {s.code: s.detailed for s in prof.subtypes}
    rows = []
    for s in samples:
        row: dict[str, Any] = {
            "SAMPLE_ID": s.sample_id,
            "PATIENT_ID": s.patient_id,
            "CANCER_TYPE": prof.cancer_type,
            "CANCER_TYPE_DETAILED": detailed[s.subtype],
            "ONCOTREE_CODE": s.subtype,
            "SAMPLE_TYPE": s.sample_type,
            "GENE_PANEL": s.panel,
            "TUMOR_PURITY": s.purity if rng.random() > 0.07 else None,
        }
        if prof.hypermutated_attribute:
            u = rng.random()
            row[prof.hypermutated_attribute] = (
                "Indeterminate" if u < 0.03 else ("Instable" if s.hypermutated else "Stable")
            )
        row["SOMATIC_STATUS"] = "Matched"
        row["TMB_NONSYNONYMOUS"] = tmb[s.sample_id] if rng.random() > 0.02 else None
        rows.append(row)
    return rows


def _copy_number(
    prof: CancerProfile,
    rng: np.random.Generator,
    samples: list[_Sample],
    panel_genes: tuple[str, ...],
    late_genes: tuple[str, ...],
) -> pd.DataFrame:
    events = {c.gene: c for c in prof.copy_number}
    columns: dict[str, list[int | None]] = {}
    first: dict[str, dict[str, int]] = {}
    for s in samples:
        if rng.random() < 0.04:
            continue  # not profiled for copy number
        values: dict[str, int] = {}
        for g in panel_genes:
            event = events.get(g)
            v = 0
            if event is not None and rng.random() < event.probability(s.subtype):
                v = 2 if event.kind == "amp" else -2
            else:
                u = rng.random()
                if u < 0.006:
                    v = 2 if rng.random() < 0.5 else -2
                elif u < 0.08:
                    v = -1
                elif u < 0.15:
                    v = 1
                if event is not None and v in (2, -2):
                    v = 1 if event.kind == "amp" else -1
            values[g] = v
        if s.index_in_patient > 1 and s.patient_id in first and rng.random() < 0.85:
            values = dict(first[s.patient_id])
        if s.index_in_patient == 1:
            first[s.patient_id] = values
        columns[s.sample_id] = [
            None if (s.panel == "IMPACT341" and g in late_genes) else values[g] for g in panel_genes
        ]
    frame = pd.DataFrame({"Hugo_Symbol": list(panel_genes)})
    for sample_id, vals in columns.items():
        frame[sample_id] = pd.array(vals, dtype="Int64")
    return frame


def _intron_site(rng: np.random.Generator, g: Gene) -> tuple[int, str]:
    exon = int(rng.integers(2, 20))
    return int(
        rng.integers(g.start, g.end)
    ), f"Intron of {g.symbol}({g.strand}):{int(rng.integers(50, 3000))}bp before exon {exon}"


def _sv_row(
    rng: np.random.Generator, sample: str, g1: Gene, g2: Gene | None, *, reads: tuple[int, int], event: str
) -> dict[str, Any]:
    pos1, desc1 = _intron_site(rng, g1)
    if g2 is None:
        chrom2 = g1.chromosome
        pos2 = pos1 + int(rng.integers(20_000, 2_000_000))
        desc2 = "IGR"
        sv_class = "DELETION" if rng.random() < 0.5 else "DUPLICATION"
    else:
        chrom2 = g2.chromosome
        pos2, desc2 = _intron_site(rng, g2)
        if g2.symbol == g1.symbol:
            sv_class = "DELETION"
        elif g2.chromosome == g1.chromosome:
            sv_class = "INVERSION" if rng.random() < 0.5 else "DELETION"
        else:
            sv_class = "TRANSLOCATION"
    split = int(rng.integers(*reads))
    return {
        "Sample_Id": sample,
        "SV_Status": "SOMATIC",
        "Site1_Hugo_Symbol": g1.symbol,
        "Site1_Chromosome": g1.chromosome,
        "Site1_Position": pos1,
        "Site1_Description": desc1,
        "Site2_Hugo_Symbol": g2.symbol if g2 is not None else None,
        "Site2_Chromosome": chrom2,
        "Site2_Position": pos2,
        "Site2_Description": desc2,
        "Site2_Effect_On_Frame": (
            ("in frame" if rng.random() < 0.7 else "frameshift") if g2 is not None and g2.symbol != g1.symbol else None
        ),
        "NCBI_Build": "GRCh37",
        "Class": sv_class,
        "Tumor_Split_Read_Count": split if rng.random() > 0.05 else None,
        "Tumor_Paired_End_Read_Count": int(rng.integers(reads[0], reads[1] * 2)),
        "Event_Info": event,
        "Breakpoint_Type": "PRECISE" if rng.random() < 0.85 else "IMPRECISE",
        "Connection_Type": "5to3" if rng.random() < 0.6 else "3to5",
        "Annotation": f"{event} ({g1.symbol} breakpoint in intron)",
    }


def _structural_variants(
    prof: CancerProfile, rng: np.random.Generator, samples: list[_Sample], panel_genes: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    first: dict[str, list[tuple[str, str]]] = {}
    for s in samples:
        if s.index_in_patient == 1:
            hits = [(f.five_prime, f.three_prime) for f in prof.fusions if rng.random() < f.probability(s.subtype)]
            first[s.patient_id] = hits
        for five, three in first.get(s.patient_id, []):
            rows.append(
                _sv_row(rng, s.sample_id, gene(five), gene(three), reads=(4, 80), event=f"{five}-{three} Fusion")
            )
            if rng.random() < 0.15:  # the reciprocal event, reported as its own row
                rows.append(
                    _sv_row(rng, s.sample_id, gene(three), gene(five), reads=(2, 30), event=f"{three}-{five} Fusion")
                )
        for _ in range(int(rng.poisson(0.3))):
            g = gene(panel_genes[int(rng.integers(0, len(panel_genes)))])
            rows.append(_sv_row(rng, s.sample_id, g, g, reads=(2, 40), event="Deletion within transcript"))
        for _ in range(int(rng.poisson(0.12))):
            a, b = rng.choice(len(panel_genes), 2, replace=False)
            g1, g2 = gene(panel_genes[int(a)]), gene(panel_genes[int(b)])
            rows.append(_sv_row(rng, s.sample_id, g1, g2, reads=(1, 9), event=f"{g1.symbol}-{g2.symbol} Fusion"))
        for _ in range(int(rng.poisson(0.1))):
            g = gene(panel_genes[int(rng.integers(0, len(panel_genes)))])
            rows.append(_sv_row(rng, s.sample_id, g, None, reads=(2, 25), event="Intergenic"))
    return rows


def _timeline(prof: CancerProfile, rng: np.random.Generator, patients: list[str]) -> pd.DataFrame:
    rows = []
    for p in patients:
        if rng.random() > 0.85:
            continue
        n_lines = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        picks = rng.choice(len(prof.treatments), size=min(n_lines, len(prof.treatments)), replace=False)
        start = int(rng.integers(0, 90))
        for k, i in enumerate(picks):
            t = prof.treatments[int(i)]
            duration = max(1, round(rng.gamma(2.0, t.mean_days / 2.0)))
            ongoing = k == len(picks) - 1 and rng.random() < 0.15
            rows.append(
                {
                    "PATIENT_ID": p,
                    "START_DATE": start,
                    "STOP_DATE": None if ongoing else start + duration,
                    "EVENT_TYPE": "TREATMENT",
                    "TREATMENT_TYPE": t.treatment_type,
                    "AGENT": t.agent,
                }
            )
            start = start + duration + int(rng.integers(7, 75))
    frame = pd.DataFrame(
        rows, columns=["PATIENT_ID", "START_DATE", "STOP_DATE", "EVENT_TYPE", "TREATMENT_TYPE", "AGENT"]
    )
    frame["STOP_DATE"] = frame["STOP_DATE"].astype("Int64")
    return frame.sort_values(["PATIENT_ID", "START_DATE"], kind="stable").reset_index(drop=True)
