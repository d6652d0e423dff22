"""Genomic question families: mutation frequency, top mutated genes, variant classifications,
copy-number frequency (overall and by subtype), co-occurrence / mutual exclusivity (Fisher),
tumour mutational burden comparison (Mann-Whitney), oncoprint matrix, fusion partners."""

from __future__ import annotations

import random

import pandas as pd

from medagentgym.datasets.biodsbench.facts import StudyFacts
from medagentgym.datasets.biodsbench.questions import (
    MUTATED_CONVENTION,
    Draw,
    Question,
    Reject,
    SampleCohort,
    Variable,
    case,
    choose,
    choose_n,
    coding_mutations,
    finish,
    load,
    pick_sample_cohort,
    pick_study,
    q,
)
from medagentgym.datasets.biodsbench.study import TRUNCATING

CNA_CONVENTION = (
    "data_cna.csv has one row per gene (Hugo_Symbol) and one column per copy-number profiled "
    "sample: -2 deep deletion, -1 shallow loss, 0 diploid, 1 gain, 2 amplification. A sample "
    "is profiled for a gene when it has a column there and its cell for the gene is not empty."
)
FUSION_CONVENTION = (
    "A fusion is a row of data_sv.csv whose Site1_Hugo_Symbol and Site2_Hugo_Symbol are both "
    "given and differ; it involves a gene when either site is that gene, and its partner is the "
    "gene at the other site."
)

ALTERATIONS = {
    "amp": ("amplification (value 2)", "== 2"),
    "homdel": ("deep deletion (value -2)", "== -2"),
    "gain": ("gain or amplification (value 1 or 2)", ">= 1"),
    "loss": ("shallow loss or deep deletion (value -1 or -2)", "<= -1"),
}


def _cna_values(facts: StudyFacts, gene: str, sample_ids: set[str]) -> pd.Series:
    row = facts.cna.loc[gene]
    return row[row.index.isin(sample_ids)].dropna().astype(int)


def _altered(values: pd.Series, alteration: str) -> pd.Series:
    return {"amp": values == 2, "homdel": values == -2, "gain": values >= 1, "loss": values <= -1}[alteration]


class MutationFrequency:
    key = "mutation_frequency"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        gene = choose(rng, facts.frequent_genes(3)[:15])
        unit = rng.choice(["patients", "samples"])
        cohort = pick_sample_cohort(rng, facts)
        if unit == "patients" and cohort.kind == "sample_type":
            cohort = SampleCohort("all")
        mutated = facts.mutated_samples(gene) & cohort.sample_ids(facts)
        if not mutated:
            raise Reject("no mutated sample in the cohort")
        return Draw(facts.study_id, {"gene": gene, "unit": unit, "cohort": cohort.to_json()})

    def question(self, draw: Draw) -> Question:
        gene, unit = draw.params["gene"], draw.params["unit"]
        cohort = SampleCohort.from_json(draw.params["cohort"])
        code = [*load("samples", "mutations"), *coding_mutations(), *cohort.code()]
        code.append(f'mutated_samples = set(coding.loc[coding["Hugo_Symbol"] == {q(gene)}, "Tumor_Sample_Barcode"])')
        if unit == "samples":
            code += [
                "n_total = int(cohort_samples['SAMPLE_ID'].nunique())",
                "n_mutated = int(cohort_samples.loc[cohort_samples['SAMPLE_ID'].isin(mutated_samples), 'SAMPLE_ID'].nunique())",
            ]
        else:
            code += [
                "n_total = int(cohort_samples['PATIENT_ID'].nunique())",
                "n_mutated = int(cohort_samples.loc[cohort_samples['SAMPLE_ID'].isin(mutated_samples), 'PATIENT_ID'].nunique())",
            ]
        code.append("frequency = n_mutated / n_total")
        what = "patients" if unit == "patients" else "samples"
        scope = (
            cohort.describe()
            if unit == "samples"
            else (
                "all patients with a sample in data_clinical_sample.csv"
                if cohort.kind == "all"
                else f"the patients of {cohort.describe()}"
            )
        )
        return Question(
            task=(
                f"How frequent are {gene} mutations? Count the mutated {what} among {scope} "
                f"(the denominator includes {what} without any mutation record)."
            ),
            variables=(
                Variable("n_mutated", "int", f"mutated {what}"),
                Variable("n_total", "int", f"{what} in the denominator"),
                Variable("frequency", "float", "n_mutated / n_total (a fraction, not a percentage)"),
            ),
            code=finish(code),
            cases=(case("n_mutated", "n_mutated"), case("n_total", "n_total"), case("frequency", "frequency")),
            conventions=(MUTATED_CONVENTION,),
        )


class TopGenes:
    key = "top_mutated_genes"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        k = rng.choice([3, 5, 8, 10])
        cohort = pick_sample_cohort(rng, facts)
        if cohort.kind == "sample_type":
            cohort = SampleCohort("all")
        return Draw(facts.study_id, {"k": k, "cohort": cohort.to_json()})

    def question(self, draw: Draw) -> Question:
        k = draw.params["k"]
        cohort = SampleCohort.from_json(draw.params["cohort"])
        code = [
            *load("samples", "mutations"),
            *coding_mutations(),
            *cohort.code(),
            'records = coding[coding["Tumor_Sample_Barcode"].isin(cohort_samples["SAMPLE_ID"])]',
            'patients_per_gene = records["Tumor_Sample_Barcode"].map(patient_of).groupby(records["Hugo_Symbol"]).nunique()',
            "ranked = sorted(patients_per_gene.items(), key=lambda item: (-item[1], item[0]))",
            f"top_genes = [str(gene) for gene, _ in ranked[:{k}]]",
            f"patient_counts = [int(count) for _, count in ranked[:{k}]]",
        ]
        scope = "all patients" if cohort.kind == "all" else f"the patients of {cohort.describe()}"
        return Question(
            task=(
                f"Which {k} genes are mutated in the most patients, among {scope}? Rank genes by the "
                "number of distinct mutated patients, most first; break ties by gene symbol in "
                "alphabetical order."
            ),
            variables=(
                Variable("top_genes", "list[str]", f"the {k} gene symbols in rank order (a Python list)"),
                Variable(
                    "patient_counts",
                    "list[int]",
                    "their numbers of mutated patients, in the same order (a Python list)",
                ),
            ),
            code=finish(code),
            cases=(case("top_genes", "top_genes"), case("patient_counts", "patient_counts")),
            conventions=(MUTATED_CONVENTION,),
        )


class VariantClasses:
    key = "variant_classification"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        cohort = pick_sample_cohort(rng, facts)
        gene = choose(rng, facts.frequent_genes(5)[:12])
        records = facts.mutations[
            (facts.mutations["Hugo_Symbol"] == gene)
            & facts.mutations["Tumor_Sample_Barcode"].isin(cohort.sample_ids(facts))
        ]
        if len(records) < 5:
            raise Reject("too few records")
        return Draw(facts.study_id, {"gene": gene, "cohort": cohort.to_json()})

    def question(self, draw: Draw) -> Question:
        gene = draw.params["gene"]
        cohort = SampleCohort.from_json(draw.params["cohort"])
        code = [
            *load("samples", "mutations"),
            *cohort.code(),
            f'records = mutations[(mutations["Hugo_Symbol"] == {q(gene)}) & mutations["Tumor_Sample_Barcode"].isin(cohort_samples["SAMPLE_ID"])]',
            'variant_counts = {str(name): int(n) for name, n in records["Variant_Classification"].value_counts().items()}',
            f"TRUNCATING = {q(list(TRUNCATING))}",
            'truncating_fraction = float(records["Variant_Classification"].isin(TRUNCATING).mean())',
        ]
        return Question(
            task=(
                f"Summarise the variant classifications of {gene} in {cohort.describe()}: every "
                f"mutation record of {gene} in data_mutations.csv for those samples counts, silent "
                "and non-coding records included."
            ),
            variables=(
                Variable(
                    "variant_counts",
                    "dict[str, int]",
                    "Variant_Classification -> number of records (a Python dict; only classes that occur)",
                ),
                Variable(
                    "truncating_fraction",
                    "float",
                    f"fraction of those records that are truncating ({', '.join(TRUNCATING)})",
                ),
            ),
            code=finish(code),
            cases=(case("variant_counts", "variant_counts"), case("truncating_fraction", "truncating_fraction")),
        )


def _cna_gene(rng: random.Random, facts: StudyFacts) -> tuple[str, str]:
    """A gene and an alteration: mostly a planted event, sometimes any panel gene."""
    events = facts.profile.copy_number
    if rng.random() < 0.7:
        event = rng.choice(events)
        kind = event.kind if rng.random() < 0.7 else ("gain" if event.kind == "amp" else "loss")
        return event.gene, kind
    return rng.choice(facts.cna_genes()), rng.choice(list(ALTERATIONS))


class CopyNumberFrequency:
    key = "copy_number_frequency"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        gene, alteration = _cna_gene(rng, facts)
        cohort = pick_sample_cohort(rng, facts)
        values = _cna_values(facts, gene, cohort.sample_ids(facts))
        if len(values) < 15 or not _altered(values, alteration).any():
            raise Reject("too few profiled or altered samples")
        return Draw(facts.study_id, {"gene": gene, "alteration": alteration, "cohort": cohort.to_json()})

    def question(self, draw: Draw) -> Question:
        gene, alteration = draw.params["gene"], draw.params["alteration"]
        cohort = SampleCohort.from_json(draw.params["cohort"])
        text, test = ALTERATIONS[alteration]
        code = [
            *load("samples", "cna"),
            *cohort.code(),
            'cna = cna.set_index("Hugo_Symbol")',
            f'values = cna.loc[{q(gene)}, cna.columns.isin(cohort_samples["SAMPLE_ID"])].dropna()',
            "n_profiled = int(len(values))",
            f"n_altered = int((values {test}).sum())",
            "frequency = n_altered / n_profiled",
        ]
        return Question(
            task=f"How often is {gene} altered by {text} among {cohort.describe()} that are profiled for {gene}?",
            variables=(
                Variable("n_profiled", "int", f"samples of the group profiled for {gene}"),
                Variable("n_altered", "int", f"those with a {text.split(' (')[0]}"),
                Variable("frequency", "float", "n_altered / n_profiled (a fraction)"),
            ),
            code=finish(code),
            cases=(case("n_profiled", "n_profiled"), case("n_altered", "n_altered"), case("frequency", "frequency")),
            conventions=(CNA_CONVENTION,),
        )


class CopyNumberBySubtype:
    key = "copy_number_by_subtype"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        gene, alteration = _cna_gene(rng, facts)
        if alteration == "loss" or (alteration == "gain" and rng.random() < 0.5):
            alteration = "amp" if alteration == "gain" else "homdel"
        primary = rng.random() < 0.35
        frequencies = self._frequencies(facts, gene, alteration, primary)
        ranked = sorted(frequencies.values(), reverse=True)
        if len(ranked) < 2 or ranked[0] < 0.05 or ranked[0] == ranked[1]:
            raise Reject("no single subtype stands out")
        return Draw(facts.study_id, {"gene": gene, "alteration": alteration, "primary_only": primary})

    @staticmethod
    def _frequencies(facts: StudyFacts, gene: str, alteration: str, primary: bool) -> dict[str, float]:
        s = facts.samples if not primary else facts.samples[facts.samples["SAMPLE_TYPE"] == "Primary"]
        out = {}
        for code in sorted(s["ONCOTREE_CODE"].unique()):
            values = _cna_values(facts, gene, set(s.loc[s["ONCOTREE_CODE"] == code, "SAMPLE_ID"]))
            if len(values):
                out[str(code)] = float(_altered(values, alteration).mean())
        return out

    def question(self, draw: Draw) -> Question:
        gene, alteration = draw.params["gene"], draw.params["alteration"]
        primary = draw.params["primary_only"]
        text, test = ALTERATIONS[alteration]
        code = [*load("samples", "cna")]
        if primary:
            code.append('samples = samples[samples["SAMPLE_TYPE"] == "Primary"]')
        code += [
            'cna = cna.set_index("Hugo_Symbol")',
            f"row = cna.loc[{q(gene)}].dropna()",
            'row = row[row.index.isin(samples["SAMPLE_ID"])]',
            'subtype_of = dict(zip(samples["SAMPLE_ID"], samples["ONCOTREE_CODE"]))',
            f"altered = (row {test}).groupby(row.index.map(subtype_of)).mean()",
            "frequency_by_subtype = {str(code): float(share) for code, share in altered.items()}",
            "top_subtype = max(frequency_by_subtype, key=frequency_by_subtype.get)",
        ]
        which = 'primary samples (SAMPLE_TYPE "Primary")' if primary else "samples"
        return Question(
            task=(
                f"For each ONCOTREE_CODE, what fraction of its {which} profiled for {gene} carry a "
                f"{text} of {gene}? Which subtype has the highest fraction?"
            ),
            variables=(
                Variable(
                    "frequency_by_subtype",
                    "dict[str, float]",
                    "ONCOTREE_CODE -> fraction altered (a Python dict over the subtypes with a profiled sample)",
                ),
                Variable("top_subtype", "str", "the ONCOTREE_CODE with the highest fraction"),
            ),
            code=finish(code),
            cases=(case("frequency_by_subtype", "frequency_by_subtype"), case("top_subtype", "top_subtype")),
            conventions=(CNA_CONVENTION,),
        )


class CoOccurrence:
    key = "co_occurrence"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        frequent = facts.frequent_genes(5)[:10]
        u = rng.random()
        if u < 0.2:
            a, b = facts.profile.exclusive_pair
        elif u < 0.35:
            a, b = facts.profile.cooccurring_pair
        else:
            a, b = choose_n(rng, frequent, 2)
        a, b = sorted((a, b))
        everyone = set(facts.samples["PATIENT_ID"])
        ma, mb = facts.mutated_patients(a), facts.mutated_patients(b)
        if len(ma) < 5 or len(mb) < 5:
            raise Reject("a gene mutated in too few patients")
        both, a_only, b_only = len(ma & mb), len(ma - mb), len(mb - ma)
        neither = len(everyone - ma - mb)
        if both * neither == a_only * b_only:
            raise Reject("odds ratio exactly 1")
        return Draw(facts.study_id, {"genes": [a, b]})

    def question(self, draw: Draw) -> Question:
        a, b = draw.params["genes"]
        code = [
            *load("samples", "mutations", imports=["from scipy.stats import fisher_exact"]),
            *coding_mutations(),
            'everyone = set(samples["PATIENT_ID"])',
            f'mutated_a = set(coding.loc[coding["Hugo_Symbol"] == {q(a)}, "Tumor_Sample_Barcode"].map(patient_of))',
            f'mutated_b = set(coding.loc[coding["Hugo_Symbol"] == {q(b)}, "Tumor_Sample_Barcode"].map(patient_of))',
            "table = [",
            "    [len(mutated_a & mutated_b), len(mutated_a - mutated_b)],",
            "    [len(mutated_b - mutated_a), len(everyone - mutated_a - mutated_b)],",
            "]",
            "result = fisher_exact(table)",
            "odds_ratio = float(result.statistic)",
            "pvalue = float(result.pvalue)",
            'tendency = "co-occurrence" if odds_ratio > 1 else "mutual exclusivity"',
        ]
        return Question(
            task=(
                f"Do {a} and {b} mutations co-occur or tend to be mutually exclusive across the patients "
                "with a sample in data_clinical_sample.csv? Test it with a two-sided Fisher exact test "
                "(scipy.stats.fisher_exact) on the 2x2 table of patients "
                f"[[both mutated, {a} only], [{b} only, neither]]."
            ),
            variables=(
                Variable("table", "list[list[int]]", "that table, as a Python list of two lists of two ints"),
                Variable("odds_ratio", "float", "the sample odds ratio fisher_exact returns"),
                Variable("pvalue", "float", "its two-sided p-value"),
                Variable("tendency", "str", '"co-occurrence" when odds_ratio > 1, else "mutual exclusivity"'),
            ),
            code=finish(code),
            cases=(
                case("table", "table"),
                case("odds_ratio", "odds_ratio"),
                case("pvalue", "pvalue"),
                case("tendency", "tendency"),
            ),
            conventions=(MUTATED_CONVENTION,),
        )


class TmbComparison:
    key = "tmb_comparison"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        s = facts.samples.dropna(subset=["TMB_NONSYNONYMOUS"])
        u = rng.random()
        if u < 0.45:
            gene = choose(rng, facts.frequent_genes(8)[:10])
            groups = {"kind": "gene", "gene": gene}
            first = s["SAMPLE_ID"].isin(facts.mutated_samples(gene))
            second = ~first
        elif u < 0.7:
            a, b = choose_n(rng, facts.subtypes, 2)
            groups = {"kind": "subtype", "values": [a, b]}
            first, second = s["ONCOTREE_CODE"] == a, s["ONCOTREE_CODE"] == b
        elif u < 0.85 and "MSI_TYPE" in s.columns:
            groups = {"kind": "column", "column": "MSI_TYPE", "values": ["Instable", "Stable"]}
            first, second = s["MSI_TYPE"] == "Instable", s["MSI_TYPE"] == "Stable"
        else:
            groups = {"kind": "column", "column": "SAMPLE_TYPE", "values": ["Primary", "Metastasis"]}
            first, second = s["SAMPLE_TYPE"] == "Primary", s["SAMPLE_TYPE"] == "Metastasis"
        if first.sum() < 5 or second.sum() < 5:
            raise Reject("a group has fewer than 5 samples")
        return Draw(facts.study_id, {"groups": groups})

    def question(self, draw: Draw) -> Question:
        groups = draw.params["groups"]
        code = [
            *load(
                "samples",
                *(["mutations"] if groups["kind"] == "gene" else []),
                imports=["from scipy.stats import mannwhitneyu"],
            )
        ]
        conventions: tuple[str, ...] = ()
        if groups["kind"] == "gene":
            gene = groups["gene"]
            code += [
                *coding_mutations(),
                f'mutated_samples = set(coding.loc[coding["Hugo_Symbol"] == {q(gene)}, "Tumor_Sample_Barcode"])',
                'tmb = samples.dropna(subset=["TMB_NONSYNONYMOUS"])',
                'in_first = tmb["SAMPLE_ID"].isin(mutated_samples)',
                "in_second = ~in_first",
            ]
            names = (f"samples with a {gene} mutation", f"samples without a {gene} mutation")
            conventions = (MUTATED_CONVENTION,)
        else:
            column = "ONCOTREE_CODE" if groups["kind"] == "subtype" else groups["column"]
            a, b = groups["values"]
            code += [
                'tmb = samples.dropna(subset=["TMB_NONSYNONYMOUS"])',
                f"in_first = tmb[{q(column)}] == {q(a)}",
                f"in_second = tmb[{q(column)}] == {q(b)}",
            ]
            names = (f'samples whose {column} is "{a}"', f'samples whose {column} is "{b}"')
        code += [
            'group1 = tmb.loc[in_first, "TMB_NONSYNONYMOUS"]',
            'group2 = tmb.loc[in_second, "TMB_NONSYNONYMOUS"]',
            "n_group1 = int(len(group1))",
            "n_group2 = int(len(group2))",
            "median_group1 = float(group1.median())",
            "median_group2 = float(group2.median())",
            'pvalue = float(mannwhitneyu(group1, group2, alternative="two-sided").pvalue)',
        ]
        return Question(
            task=(
                "Compare tumour mutational burden (TMB_NONSYNONYMOUS of data_clinical_sample.csv, one "
                f"value per sample; samples without a value left out) between group 1, {names[0]}, and "
                f"group 2, {names[1]}, with a two-sided Mann-Whitney U test "
                "(scipy.stats.mannwhitneyu with its default method)."
            ),
            variables=(
                Variable("n_group1", "int", "samples in group 1"),
                Variable("n_group2", "int", "samples in group 2"),
                Variable("median_group1", "float", "median TMB of group 1"),
                Variable("median_group2", "float", "median TMB of group 2"),
                Variable("pvalue", "float", "the test's p-value"),
            ),
            code=finish(code),
            cases=tuple(case(v, v) for v in ("n_group1", "n_group2", "median_group1", "median_group2", "pvalue")),
            conventions=conventions,
        )


class Oncoprint:
    key = "oncoprint_matrix"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        prof = facts.profile
        pool = facts.frequent_genes(10)[:8]
        genes = choose_n(rng, pool, rng.choice([1, 2, 3]))
        for candidate in (rng.choice(prof.copy_number).gene, rng.choice(prof.fusions).three_prime):
            if candidate not in genes and rng.random() < 0.8:
                genes.append(candidate)
        if len(genes) < 3:
            genes += [g for g in rng.sample(pool, len(pool)) if g not in genes][: 3 - len(genes)]
        rng.shuffle(genes)
        cohort = pick_sample_cohort(rng, facts)
        if cohort.kind == "sample_type":
            cohort = SampleCohort("all")
        ids = cohort.sample_ids(facts)
        for g in genes:
            altered = facts.mutated_samples(g) & ids
            if g in facts.cna.index:
                row = facts.cna.loc[g]
                altered |= set(row.index[(row.abs() == 2).fillna(False)]) & ids
            fused = facts.fusions[(facts.fusions["Site1_Hugo_Symbol"] == g) | (facts.fusions["Site2_Hugo_Symbol"] == g)]
            altered |= set(fused["Sample_Id"]) & ids
            if not altered:
                raise Reject(f"{g} unaltered in the cohort")
        return Draw(facts.study_id, {"genes": genes, "cohort": cohort.to_json()})

    def question(self, draw: Draw) -> Question:
        genes = list(draw.params["genes"])
        cohort = SampleCohort.from_json(draw.params["cohort"])
        code = [
            *load("samples", "mutations", "cna", "sv"),
            *coding_mutations(),
            *cohort.code(),
            f"genes = {q(genes)}",
            'sample_ids = sorted(cohort_samples["SAMPLE_ID"])',
            'cna = cna.set_index("Hugo_Symbol")',
            'two_genes = sv["Site1_Hugo_Symbol"].notna() & sv["Site2_Hugo_Symbol"].notna()',
            'fusions = sv[two_genes & (sv["Site1_Hugo_Symbol"] != sv["Site2_Hugo_Symbol"])]',
            "rows = []",
            "for gene in genes:",
            '    mutated = set(coding.loc[coding["Hugo_Symbol"] == gene, "Tumor_Sample_Barcode"])',
            "    amplified, deleted = set(), set()",
            "    if gene in cna.index:",
            "        values = cna.loc[gene]",
            "        amplified = set(values.index[values == 2])",
            "        deleted = set(values.index[values == -2])",
            '    involved = (fusions["Site1_Hugo_Symbol"] == gene) | (fusions["Site2_Hugo_Symbol"] == gene)',
            '    fused = set(fusions.loc[involved, "Sample_Id"])',
            '    marks = (("MUT", mutated), ("AMP", amplified), ("HOMDEL", deleted), ("FUSION", fused))',
            '    rows.append([";".join(label for label, hit in marks if sample_id in hit) for sample_id in sample_ids])',
            "oncoprint = pd.DataFrame(rows, index=genes, columns=sample_ids)",
            'altered_fraction = [float((oncoprint.loc[gene] != "").mean()) for gene in genes]',
        ]
        return Question(
            task=(
                f"Build the oncoprint matrix of the genes {', '.join(genes)} (in this order) over "
                f"{cohort.describe()}. Each cell lists the sample's alterations of the gene, joined by "
                '";" in the order MUT (a mutation), AMP (copy number 2), HOMDEL (copy number -2), '
                'FUSION (a fusion involving the gene), or is the empty string "" when it has none.'
            ),
            variables=(
                Variable(
                    "oncoprint",
                    "pandas.DataFrame",
                    "index: the genes in the given order; columns: the SAMPLE_IDs sorted ascending; cells: str",
                ),
                Variable(
                    "altered_fraction",
                    "list[float]",
                    "per gene (same order), the fraction of those samples with at least one alteration",
                ),
            ),
            code=finish(code),
            cases=(case("oncoprint", "oncoprint"), case("altered_fraction", "altered_fraction")),
            conventions=(MUTATED_CONVENTION, CNA_CONVENTION, FUSION_CONVENTION),
        )


class FusionPartners:
    key = "fusion_partners"

    def propose(self, rng: random.Random) -> Draw:
        facts = pick_study(rng)
        prof = facts.profile
        if rng.random() < 0.75:
            f = rng.choice(prof.fusions)
            gene = f.three_prime if rng.random() < 0.7 else f.five_prime
        else:
            fused = pd.concat([facts.fusions["Site1_Hugo_Symbol"], facts.fusions["Site2_Hugo_Symbol"]])
            gene = rng.choice(sorted(fused.unique()))
        min_reads = rng.choice([0, 0, 5, 10])
        unit = rng.choice(["samples", "patients"])
        partners = facts.fusion_partner_samples(gene, min_reads)
        if len(set().union(*partners.values()) if partners else set()) < 2:
            raise Reject("fewer than two samples with the fusion")
        return Draw(facts.study_id, {"gene": gene, "min_reads": min_reads, "unit": unit})

    def question(self, draw: Draw) -> Question:
        gene, min_reads, unit = draw.params["gene"], draw.params["min_reads"], draw.params["unit"]
        code = [
            *load("samples", "sv"),
            'two_genes = sv["Site1_Hugo_Symbol"].notna() & sv["Site2_Hugo_Symbol"].notna()',
            'fusions = sv[two_genes & (sv["Site1_Hugo_Symbol"] != sv["Site2_Hugo_Symbol"])]',
        ]
        if min_reads:
            code.append(f'fusions = fusions[fusions["Tumor_Split_Read_Count"] >= {min_reads}]')
        code += [
            f'involved = fusions[(fusions["Site1_Hugo_Symbol"] == {q(gene)}) | (fusions["Site2_Hugo_Symbol"] == {q(gene)})].copy()',
            f'involved["partner"] = involved["Site2_Hugo_Symbol"].where(involved["Site1_Hugo_Symbol"] == {q(gene)}, involved["Site1_Hugo_Symbol"])',
        ]
        if unit == "patients":
            code += [
                'patient_of = dict(zip(samples["SAMPLE_ID"], samples["PATIENT_ID"]))',
                'involved["unit"] = involved["Sample_Id"].map(patient_of)',
            ]
        else:
            code.append('involved["unit"] = involved["Sample_Id"]')
        code += [
            'partner_counts = {str(p): int(n) for p, n in involved.groupby("partner")["unit"].nunique().items()}',
            'n_with_fusion = int(involved["unit"].nunique())',
        ]
        reads = (
            f" Keep only rows with Tumor_Split_Read_Count >= {min_reads} (a row without a count is dropped)."
            if min_reads
            else " Keep every row, whatever its read counts."
        )
        return Question(
            task=f"Which genes are the fusion partners of {gene}, and in how many distinct {unit}?{reads}",
            variables=(
                Variable(
                    "partner_counts",
                    "dict[str, int]",
                    f"partner gene -> number of distinct {unit} with a fusion of {gene} and that partner (a Python dict)",
                ),
                Variable("n_with_fusion", "int", f"distinct {unit} with any fusion involving {gene}"),
            ),
            code=finish(code),
            cases=(case("partner_counts", "partner_counts"), case("n_with_fusion", "n_with_fusion")),
            conventions=(FUSION_CONVENTION,),
        )


__all__ = [
    "CoOccurrence",
    "CopyNumberBySubtype",
    "CopyNumberFrequency",
    "FusionPartners",
    "MutationFrequency",
    "Oncoprint",
    "TmbComparison",
    "TopGenes",
    "VariantClasses",
]
