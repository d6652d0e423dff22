"""biocoder family ``tabular_clustering``: count matrices and clustering with numpy, pandas and
scipy (CPM/TPM normalisation, log transforms with pseudocounts, low-count filters, per-group
summaries, fold changes, z-scores, k-means with a fixed initialisation, hierarchical clustering,
PCA, silhouettes, quantile normalisation, correlated pairs).

Where a result depends on an algorithm's details, the specification states them (k-means
iterations and ties, the exact scipy calls of hierarchical clustering, how ties are ranked), so a
correct answer is unambiguous; floats are compared with a relative tolerance that absorbs a
different but exact computation (summation order, a library's distance formula). Inputs are
built in each case's ``setup`` as DataFrames or lists: counts with HTSeq's special ``__`` rows, an
all-zero sample, constant rows, missing values, features on very different scales.
"""

from __future__ import annotations

import random
from typing import Any

from medagentgym.catalog.sample import TestCase
from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.datasets.biocoder.spec import constants_source as _source

#: Tolerances for float results: loose enough for another exact formula, tight enough for errors.
TOL = {"rel_tol": 1e-6, "abs_tol": 1e-8}
SPECIAL_ROWS = ("__no_feature", "__ambiguous", "__alignment_not_unique")


def _frame_setup(var: str, rows: list[list[Any]], index: list[str], columns: list[str]) -> str:
    return f"import pandas as pd\n{var} = pd.DataFrame({rows!r}, index={index!r}, columns={columns!r})\n"


def _case(name: str, label: str, setup: str, expr: str, **tol: float) -> TestCase:
    return TestCase(name=f"{name}({label})", setup=setup, expr=expr, **(tol or TOL))


def _gene_ids(rng: random.Random, n: int) -> list[str]:
    stem = rng.choice(("GENE", "ENSG0000", "g", "Tx"))
    start = rng.randint(1, 500)
    return [f"{stem}{start + 7 * i}" for i in range(n)]


def _sample_ids(rng: random.Random, n: int) -> list[str]:
    stem = rng.choice(("S", "sample_", "ctrl", "lib"))
    return [f"{stem}{i + 1}" for i in range(n)]


def _count(rng: random.Random, mean: float) -> int:
    """An overdispersed count (gamma-distributed rate, rounded), zero now and then."""
    if rng.random() < 0.08:
        return 0
    return int(rng.gammavariate(2.0, mean / 2.0))


def _counts(
    rng: random.Random, n_genes: int, n_samples: int, *, special: bool = False, zero_sample: bool = False
) -> tuple[list[list[int]], list[str], list[str]]:
    """A genes x samples count matrix (rows, gene ids, sample ids)."""
    genes, samples = _gene_ids(rng, n_genes), _sample_ids(rng, n_samples)
    means = [10 ** rng.uniform(0, 3.2) for _ in genes]
    rows = [[_count(rng, m) for _ in samples] for m in means]
    if special:
        for name in SPECIAL_ROWS[: rng.randint(2, 3)]:
            genes.append(name)
            rows.append([rng.randint(50, 5000) for _ in samples])
    if zero_sample:
        j = rng.randrange(n_samples)
        for row in rows:
            row[j] = 0
    return rows, genes, samples


_LOGS = {"log2": "log2", "log10": "log10", "ln": "natural log"}


# -- CPM -------------------------------------------------------------------------------------


def _draw_cpm(rng: random.Random) -> Variant:
    genes_rows = rng.choice((True, False))
    log = rng.choice((None, "log2", "log10", "ln"))
    pseudo = rng.choice((0.5, 1, 2, 4)) if log else None
    drop_special = rng.choice((True, False))
    name = "counts_to_cpm"
    layout = (
        "genes are rows (index: gene ids) and samples are columns"
        if genes_rows
        else "samples are rows (index: sample ids) and genes are columns"
    )
    special = (
        "First remove the genes whose id starts with '__' (HTSeq's special counters); they count nowhere. "
        if drop_special
        else "Every gene counts, including ids starting with '__'. "
    )
    transform = f"Then return {_LOGS[log]}(CPM + {pseudo}) for every value. " if log else "Return the CPM values themselves. "
    spec = (
        f"Normalise a count matrix to counts per million (CPM). `counts` is a pandas DataFrame of non-negative "
        f"ints where {layout}. {special}A sample's library size is the sum of its counts over the genes; "
        "CPM = count / library size * 1e6, and a sample whose library size is 0 has CPM 0 for every gene. "
        f"{transform}Return a float DataFrame with the same layout, the same index and column labels in the "
        "same order (minus removed genes)."
    )
    reference = _source(
        {"GENES_ROWS": genes_rows, "LOG": log, "PSEUDO": pseudo, "DROP_SPECIAL": drop_special},
        r'''
        import numpy as np
        import pandas as pd


        def counts_to_cpm(counts):
            frame = counts if GENES_ROWS else counts.T
            if DROP_SPECIAL:
                frame = frame.loc[[not str(g).startswith("__") for g in frame.index]]
            frame = frame.astype(float)
            lib = frame.sum(axis=0)
            cpm = frame.div(lib.where(lib > 0, np.nan), axis=1).fillna(0.0) * 1e6
            if LOG:
                cpm = {"log2": np.log2, "log10": np.log10, "ln": np.log}[LOG](cpm + PSEUDO)
            return cpm if GENES_ROWS else cpm.T
        ''',
    )

    def setup(rows: list[list[int]], genes: list[str], samples: list[str]) -> str:
        if genes_rows:
            return _frame_setup("counts", rows, genes, samples)
        return _frame_setup("counts", [list(col) for col in zip(*rows)], samples, genes)

    cases = (
        _case(name, "counts", setup(*_counts(rng, 8, 4, special=True)), f"{name}(counts)"),
        _case(name, "an empty library", setup(*_counts(rng, 6, 5, special=True, zero_sample=True)), f"{name}(counts)"),
        _case(name, "one sample", setup(*_counts(rng, 5, 1)), f"{name}(counts)"),
        _case(name, "special rows only kept", setup(*_counts(rng, 3, 3, special=True)), f"{name}(counts)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(counts: pd.DataFrame) -> pd.DataFrame",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"genes_rows": genes_rows, "log": log, "pseudo": pseudo, "drop_special": drop_special},
    )


# -- TPM -------------------------------------------------------------------------------------


def _draw_tpm(rng: random.Random) -> Variant:
    fragment = rng.choice((0, 50, 100, 150, 200))
    log = rng.choice((None, ("log2", 1), ("log2", 0.5), ("log10", 1)))
    drop_special = rng.choice((True, False))
    name = "counts_to_tpm"
    eff = (
        f"The effective length of a gene is its length - {fragment} + 1; genes whose effective length is "
        "0 or less are removed. "
        if fragment
        else "The effective length of a gene is its length. "
    )
    special = "Remove the genes whose id starts with '__'. " if drop_special else ""
    transform = f"Finally return {log[0]}(TPM + {log[1]}). " if log else "Return the TPM values. "
    spec = (
        "Compute transcripts per million (TPM). `counts` is a pandas DataFrame of non-negative ints, genes as "
        "rows (index: gene ids) and samples as columns; `lengths` maps gene ids to lengths in bases. "
        f"{special}Genes missing from `lengths` are removed. {eff}For each sample, rate = count / effective "
        "length, and TPM = rate / (sum of the sample's rates over the kept genes) * 1e6; a sample whose rates "
        f"sum to 0 has TPM 0 for every gene. {transform}Return a float DataFrame of the kept genes (in their "
        "original order) by all samples."
    )
    reference = _source(
        {"FRAGMENT": fragment, "LOG": log[0] if log else None, "PSEUDO": log[1] if log else None, "DROP_SPECIAL": drop_special},
        r'''
        import numpy as np
        import pandas as pd


        def counts_to_tpm(counts, lengths):
            keep = [g for g in counts.index if g in lengths and not (DROP_SPECIAL and str(g).startswith("__"))]
            keep = [g for g in keep if lengths[g] - (FRAGMENT - 1 if FRAGMENT else 0) > 0]
            frame = counts.loc[keep].astype(float)
            eff = pd.Series({g: float(lengths[g] - (FRAGMENT - 1 if FRAGMENT else 0)) for g in keep}, dtype=float)
            rate = frame.div(eff.reindex(frame.index), axis=0)
            total = rate.sum(axis=0)
            tpm = rate.div(total.where(total > 0, np.nan), axis=1).fillna(0.0) * 1e6
            if LOG:
                tpm = {"log2": np.log2, "log10": np.log10}[LOG](tpm + PSEUDO)
            return tpm
        ''',
    )

    def case(label: str, n_genes: int, n_samples: int, *, zero: bool = False) -> TestCase:
        rows, genes, samples = _counts(rng, n_genes, n_samples, special=True, zero_sample=zero)
        lengths = {}
        for g in genes:
            if rng.random() < 0.1:
                continue  # no length known
            lengths[g] = rng.choice((rng.randint(60, 260), rng.randint(300, 6000), rng.randint(300, 6000)))
        setup = _frame_setup("counts", rows, genes, samples) + f"lengths = {lengths!r}\n"
        return _case(name, label, setup, f"{name}(counts, lengths)")

    cases = (
        case("counts", 9, 4),
        case("an empty library", 7, 3, zero=True),
        case("short genes", 6, 2),
        case("one gene", 1, 3),
    )
    return Variant(
        name=name,
        signature=f"def {name}(counts: pd.DataFrame, lengths: dict[str, int]) -> pd.DataFrame",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"fragment": fragment, "log": list(log) if log else None, "drop_special": drop_special},
    )


# -- filter low counts -----------------------------------------------------------------------


def _draw_filter(rng: random.Random) -> Variant:
    use_cpm = rng.choice((True, False))
    threshold = rng.choice((0.5, 1, 2, 5) if use_cpm else (1, 5, 10, 20))
    min_samples = rng.choice((1, 2, 3, "half", "all"))
    as_frame = rng.choice((True, False))
    name = "filter_low_expression"
    measure = (
        "its CPM (count / the sample's library size * 1e6, library size = the sample's total count over all "
        "genes of the input; CPM 0 in a sample whose library size is 0)"
        if use_cpm
        else "its count"
    )
    need = {
        "half": "at least half of the samples (ceil(number of samples / 2))",
        "all": "every sample",
    }.get(str(min_samples), f"at least {min_samples} sample{'s' if min_samples != 1 else ''}")
    result = (
        "Return the rows of `counts` for the kept genes, unchanged (a DataFrame, original order)."
        if as_frame
        else "Return the list of kept gene ids in their original order."
    )
    spec = (
        "Filter out lowly expressed genes. `counts` is a pandas DataFrame of non-negative ints, genes as rows "
        f"(index: gene ids) and samples as columns. In a sample, a gene's value is {measure}. Keep a gene when "
        f"its value is at least {threshold} in {need}. {result}"
    )
    reference = _source(
        {"USE_CPM": use_cpm, "THRESHOLD": threshold, "MIN_SAMPLES": min_samples, "AS_FRAME": as_frame},
        r'''
        import math

        import numpy as np


        def filter_low_expression(counts):
            values = counts.astype(float)
            if USE_CPM:
                lib = values.sum(axis=0)
                values = values.div(lib.where(lib > 0, np.nan), axis=1).fillna(0.0) * 1e6
            n = counts.shape[1]
            need = {"half": math.ceil(n / 2), "all": n}.get(str(MIN_SAMPLES), MIN_SAMPLES)
            keep = (values >= THRESHOLD).sum(axis=1) >= need
            return counts.loc[keep] if AS_FRAME else [g for g, k in keep.items() if k]
        ''',
    )

    def boundary(n_samples: int) -> tuple[list[list[int]], list[str], list[str]]:
        """Genes on both sides of every threshold in all samples, genes above every threshold in
        1..n samples, and (for CPM) a dominant gene that sets every library to 1.9e6 counts, so
        that small counts land between the CPM thresholds."""
        rows, genes, samples = _counts(rng, 4, n_samples)
        levels = (1, 3, 5, 9, 11) if use_cpm else (0, 1, 4, 5, 9, 10, 19, 20)
        for value in levels:
            rows.append([value] * n_samples)
            genes.append(f"level{value}")
        for hits in range(1, n_samples + 1):
            rows.append([(11 if use_cpm else 20) if j < hits else 0 for j in range(n_samples)])
            genes.append(f"in{hits}")
        if use_cpm:
            rows.append([1_900_000 - sum(row[j] for row in rows) for j in range(n_samples)])
            genes.append("dominant")
        return rows, genes, samples

    cases = (
        _case(name, "counts", _frame_setup("counts", *_counts(rng, 10, 5)), f"{name}(counts)"),
        _case(name, "values at the threshold", _frame_setup("counts", *boundary(4)), f"{name}(counts)"),
        _case(name, "six samples", _frame_setup("counts", *boundary(6)), f"{name}(counts)"),
        _case(name, "an empty library", _frame_setup("counts", *_counts(rng, 6, 3, zero_sample=True)), f"{name}(counts)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(counts: pd.DataFrame)",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"use_cpm": use_cpm, "threshold": threshold, "min_samples": min_samples, "as_frame": as_frame},
    )


# -- per-group summary -----------------------------------------------------------------------

_STATS = {
    "mean": "the mean",
    "median": "the median",
    "std1": "the sample standard deviation (ddof 1; NaN for a single value)",
    "std0": "the population standard deviation (ddof 0)",
    "min": "the minimum",
    "max": "the maximum",
    "count": "the number of values",
    "iqr": "the interquartile range, 75th minus 25th percentile with linear interpolation (numpy's default)",
}


def _draw_group_summary(rng: random.Random) -> Variant:
    stat = rng.choice(tuple(_STATS))
    propagate = rng.choice((True, False))
    min_n = rng.choice((1, 2, 3))
    name = "summarise_by_group"
    nan_rule = (
        "Among the others, a group with any missing value gets NaN (float('nan')) as its result; otherwise"
        if propagate
        else "Otherwise missing values are ignored and"
    )
    spec = (
        "Summarise a measurement per group. `df` is a pandas DataFrame; `value` names a float column (it may "
        "hold NaN) and `group` a column of str labels (it may hold None/NaN: such rows are ignored). Groups "
        f"with fewer than {min_n} non-missing value{'s' if min_n > 1 else ''} are left out. {nan_rule} the "
        f"result is {_STATS[stat]} of the group's values. Return a dict mapping each group label to its result "
        "as a float."
    )
    reference = _source(
        {"STAT": stat, "PROPAGATE": propagate, "MIN_N": min_n},
        r'''
        import numpy as np


        def summarise_by_group(df, value, group):
            out = {}
            for label, part in df.dropna(subset=[group]).groupby(group, sort=False):
                values = part[value].astype(float)
                present = values.dropna().to_numpy()
                if len(present) < MIN_N:
                    continue
                if PROPAGATE and len(present) < len(values):
                    out[label] = float("nan")
                    continue
                if STAT == "std1":
                    result = float(np.std(present, ddof=1)) if len(present) > 1 else float("nan")
                elif STAT == "iqr":
                    result = float(np.percentile(present, 75) - np.percentile(present, 25))
                else:
                    result = float({
                        "mean": np.mean, "median": np.median, "std0": np.std,
                        "min": np.min, "max": np.max, "count": len,
                    }[STAT](present))
                out[label] = result
            return out
        ''',
    )

    def frame(n_groups: int, n_rows: int, nan_rate: float) -> str:
        labels = [rng.choice(("ctrl", "treated", "TP53mut", "WT", "responder", "stage_II")) + str(i) for i in range(n_groups)]
        groups, values = [], []
        for _ in range(n_rows):
            groups.append(rng.choice(labels) if rng.random() > 0.08 else None)
            values.append(round(rng.gauss(10, 4), 3) if rng.random() > nan_rate else None)
        for label, size in zip(labels, (1, 2, 3)):  # groups at each size threshold
            for _ in range(size):
                groups.append(label + "_small")
                values.append(round(rng.gauss(5, 2), 3))
        return (
            "import pandas as pd\n"
            f"df = pd.DataFrame({{'level': {values!r}, 'arm': {groups!r}, 'site': {[rng.choice('AB') for _ in groups]!r}}})\n"
            "df['level'] = df['level'].astype(float)\n"
        )

    empty = "import pandas as pd\ndf = pd.DataFrame({'level': pd.Series([], dtype=float), 'arm': pd.Series([], dtype=object)})\n"
    cases = (
        _case(name, "groups", frame(4, 30, 0.1), f"{name}(df, 'level', 'arm')"),
        _case(name, "no missing values", frame(3, 18, 0.0), f"{name}(df, 'level', 'arm')"),
        _case(name, "two groups", frame(2, 14, 0.2), f"{name}(df, 'level', 'site')"),
        _case(name, "empty frame", empty, f"{name}(df, 'level', 'arm')"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(df: pd.DataFrame, value: str, group: str) -> dict[str, float]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"stat": stat, "propagate": propagate, "min_n": min_n},
    )


# -- log fold change -------------------------------------------------------------------------


def _draw_lfc(rng: random.Random) -> Variant:
    pseudo = rng.choice((0.5, 1, 2, 5))
    log_first = rng.choice((True, False))
    cpm = rng.choice((True, False))
    top = rng.choice((None, 3, 5))
    name = "log2_fold_change"
    scale = (
        "First convert counts to CPM (count / the sample's total count over all genes * 1e6). "
        if cpm
        else "Use the raw counts. "
    )
    average = (
        f"the mean over the group's samples of log2(value + {pseudo})"
        if log_first
        else f"log2(mean over the group's samples of the value + {pseudo})"
    )
    result = (
        f"Return the ids of the {top} genes with the largest absolute fold change, largest first (ties: the "
        "gene listed first in `counts` first)."
        if top
        else "Return a dict mapping every gene id to its fold change (float)."
    )
    spec = (
        "Compute log2 fold changes between two groups of samples. `counts` is a pandas DataFrame of "
        "non-negative ints, genes as rows (index: gene ids) and samples as columns; `groups` maps sample ids "
        "to group labels (samples missing from it are ignored; every sample of the input counts for CPM "
        f"library sizes); `numerator` and `denominator` are two labels. {scale}For each gene and group let "
        f"A(group) = {average}. The fold change is A(numerator) - A(denominator). {result}"
    )
    reference = _source(
        {"PSEUDO": pseudo, "LOG_FIRST": log_first, "CPM": cpm, "TOP": top},
        r'''
        import numpy as np


        def log2_fold_change(counts, groups, numerator, denominator):
            values = counts.astype(float)
            if CPM:
                values = values / values.sum(axis=0) * 1e6

            def level(label):
                cols = [s for s in counts.columns if groups.get(s) == label]
                part = values[cols]
                if LOG_FIRST:
                    return np.log2(part + PSEUDO).mean(axis=1)
                return np.log2(part.mean(axis=1) + PSEUDO)

            lfc = level(numerator) - level(denominator)
            if TOP:
                order = sorted(range(len(lfc)), key=lambda i: (-abs(lfc.iloc[i]), i))
                return [lfc.index[i] for i in order[:TOP]]
            return {g: float(v) for g, v in lfc.items()}
        ''',
    )

    def case(label: str, n_genes: int, n_per_group: int) -> TestCase:
        rows, genes, samples = _counts(rng, n_genes, 2 * n_per_group + 1)
        for row in rows[: n_genes // 3]:  # planted changes
            for j in range(n_per_group):
                row[j] = row[j] * rng.choice((3, 5, 8)) + rng.randint(0, 20)
        labels = ["tumour"] * n_per_group + ["normal"] * n_per_group
        groups = dict(zip(samples, labels))  # the last sample is in no group
        setup = _frame_setup("counts", rows, genes, samples) + f"groups = {groups!r}\n"
        return _case(name, label, setup, f"{name}(counts, groups, 'tumour', 'normal')")

    def pseudocount_case() -> TestCase:
        """Genes absent from the normal samples next to genes with fixed ratios, libraries of
        exactly 1e6 counts (so CPM = count): every pseudocount orders the top genes differently."""
        samples = _sample_ids(rng, 7)
        fixed = {"low8": (8, 0), "low4": (4, 0), "low2": (2, 0), "ratio12": (1200, 100), "ratio4": (400, 100), "ratio3": (350, 100)}
        genes = list(fixed) + _gene_ids(rng, 3)
        rows = [[t] * 3 + [n] * 3 + [rng.randint(0, 50)] for t, n in fixed.values()]
        rows += [[rng.randint(90, 110) for _ in samples] for _ in range(3)]
        rows.append([1_000_000 - sum(row[j] for row in rows) for j in range(len(samples))])
        genes.append("dominant")
        order = list(range(len(rows)))
        rng.shuffle(order)
        groups = dict(zip(samples, ["tumour"] * 3 + ["normal"] * 3))
        setup = _frame_setup("counts", [rows[i] for i in order], [genes[i] for i in order], samples) + f"groups = {groups!r}\n"
        return _case(name, "absent in one group", setup, f"{name}(counts, groups, 'tumour', 'normal')")

    cases = (
        case("3 vs 3", 10, 3),
        case("2 vs 2", 8, 2),
        case("1 vs 1", 6, 1),
        case("4 vs 4", 12, 4),
        pseudocount_case(),
    )
    return Variant(
        name=name,
        signature=f"def {name}(counts: pd.DataFrame, groups: dict[str, str], numerator: str, denominator: str)",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"pseudo": pseudo, "log_first": log_first, "cpm": cpm, "top": top},
    )


# -- z-scores --------------------------------------------------------------------------------


def _draw_zscore(rng: random.Random) -> Variant:
    ddof = rng.choice((0, 1))
    constant = rng.choice(("zero", "nan", "drop"))
    log_first = rng.choice((True, False))
    clip = rng.choice((None, 2.0, 3.0))
    name = "zscore_rows"
    const_rule = {
        "zero": "A row whose values are all equal becomes all 0.0.",
        "nan": "A row whose values are all equal becomes all NaN.",
        "drop": "A row whose values are all equal is removed.",
    }[constant]
    spec = (
        "Standardise each row of a matrix. `matrix` is a pandas DataFrame of non-negative numbers, genes as "
        "rows and samples as columns. "
        + ("First replace every value x by log2(x + 1). " if log_first else "")
        + f"For each row, z = (x - row mean) / row standard deviation (ddof {ddof}). {const_rule} "
        + (f"Finally clip z to [-{clip}, {clip}]. " if clip else "")
        + "Return a float DataFrame with the same labels (minus removed rows), in the same order."
    )
    reference = _source(
        {"DDOF": ddof, "CONSTANT": constant, "LOG_FIRST": log_first, "CLIP": clip},
        r'''
        import numpy as np


        def zscore_rows(matrix):
            values = matrix.astype(float)
            if LOG_FIRST:
                values = np.log2(values + 1)
            mean = values.mean(axis=1)
            std = values.std(axis=1, ddof=DDOF)
            flat = values.max(axis=1) == values.min(axis=1)
            z = values.sub(mean, axis=0).div(std.where(~flat, 1.0), axis=0)
            if CONSTANT == "zero":
                z.loc[flat] = 0.0
            elif CONSTANT == "nan":
                z.loc[flat] = np.nan
            else:
                z = z.loc[~flat]
            if CLIP:
                z = z.clip(-CLIP, CLIP)
            return z
        ''',
    )

    def matrix(n_genes: int, n_samples: int) -> str:
        rows, genes, samples = _counts(rng, n_genes, n_samples)
        rows.append([rng.randint(0, 40)] * n_samples)  # constant row
        genes.append("flat")
        rows.append([0] * (n_samples - 1) + [rng.randint(200, 900)])  # one outlier
        genes.append("spike")
        order = list(range(len(rows)))
        rng.shuffle(order)
        return _frame_setup("matrix", [rows[i] for i in order], [genes[i] for i in order], samples)

    cases = (
        _case(name, "12 samples", matrix(6, 12), f"{name}(matrix)"),
        _case(name, "5 samples", matrix(5, 5), f"{name}(matrix)"),
        _case(name, "20 samples", matrix(3, 20), f"{name}(matrix)"),
        _case(name, "two samples", matrix(3, 2), f"{name}(matrix)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(matrix: pd.DataFrame) -> pd.DataFrame",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"ddof": ddof, "constant": constant, "log_first": log_first, "clip": clip},
    )


# -- k-means ---------------------------------------------------------------------------------

_KMEANS_INIT = {
    "first": "the first k points (rows 0 .. k-1)",
    "last": "the last k points (rows n-k .. n-1, in that order)",
    "spread": "the points at rows floor(i * n / k) for i = 0 .. k-1",
}


def _draw_kmeans(rng: random.Random) -> Variant:
    k = rng.randint(2, 5)
    init = rng.choice(tuple(_KMEANS_INIT))
    standardize = rng.choice((True, False))
    max_iter = rng.choice((1, 2, 3, 100))
    name = "kmeans_labels"
    scale = (
        "First standardise each column (subtract its mean, divide by its population standard deviation, "
        "ddof 0; a constant column becomes 0). "
        if standardize
        else "Use the coordinates as given. "
    )
    spec = (
        f"Cluster points with Lloyd's k-means, k = {k}, deterministically. `points` is a list of n >= {k} "
        f"points, each a list of floats (all the same dimension). {scale}Initial centroid j is point j of "
        f"{_KMEANS_INIT[init]}. Assignment step: each point goes to the centroid at the smallest Euclidean "
        "distance (ties: the lowest centroid index). Do one assignment step; then repeat at most "
        f"{max_iter} time{'s' if max_iter > 1 else ''}: move each centroid to the mean of its assigned points "
        "(a centroid without points stays where it is), do an assignment step, and stop early if no label "
        "changed. Return the final labels as a list of n ints (centroid indexes)."
    )
    reference = _source(
        {"K": k, "INIT": init, "STANDARDIZE": standardize, "MAX_ITER": max_iter},
        r'''
        import numpy as np


        def kmeans_labels(points):
            x = np.asarray(points, dtype=float)
            n = len(x)
            if STANDARDIZE:
                sd = x.std(axis=0)
                x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
                x[:, sd == 0] = 0.0
            rows = {
                "first": list(range(K)),
                "last": list(range(n - K, n)),
                "spread": [i * n // K for i in range(K)],
            }[INIT]
            centroids = x[rows].copy()

            def assign(c):
                d = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
                return d.argmin(axis=1)

            labels = assign(centroids)
            for _ in range(MAX_ITER):
                for j in range(K):
                    if (labels == j).any():
                        centroids[j] = x[labels == j].mean(axis=0)
                new = assign(centroids)
                if (new == labels).all():
                    break
                labels = new
            return [int(v) for v in labels]
        ''',
    )

    def blobs(n: int, dim: int, spread: float) -> list[list[float]]:
        centres = [[rng.uniform(-10, 10) for _ in range(dim)] for _ in range(k)]
        return [[round(rng.gauss(c, spread), 3) for c in rng.choice(centres)] for _ in range(n)]

    def creeping(n: int) -> list[list[float]]:
        """Points along a line whose initial centroids sit clumped at one end: Lloyd's
        iterations then move the centroids a little at a time."""
        xs = sorted(rng.uniform(0, 100) for _ in range(n))
        pts = [[round(v, 3), round(rng.uniform(0, 2), 3)] for v in xs]
        chosen = {"first": list(range(k)), "last": list(range(n - k, n)), "spread": [i * n // k for i in range(k)]}[init]
        clump = [[round(0.5 * i, 3), round(rng.uniform(0, 2), 3)] for i in range(k)]
        rest = [p for p in pts[k:]]
        out: list[list[float]] = [None] * n  # type: ignore[list-item]
        for row, p in zip(chosen, clump):
            out[row] = p
        free = iter(rest)
        return [p if p is not None else next(free) for p in out]

    def scaled(n: int) -> list[list[float]]:
        return [[round(rng.uniform(0, 1), 4), round(rng.uniform(0, 1000), 1), round(rng.gauss(0, 1), 3)] for _ in range(n)]

    n1 = rng.randint(10, 16)
    cases = (
        _case(name, "blobs", f"points = {blobs(n1, 2, 3.0)!r}\n", f"{name}(points)"),
        _case(name, "points on a line", f"points = {creeping(24)!r}\n", f"{name}(points)"),
        _case(name, "columns on different scales", f"points = {scaled(14)!r}\n", f"{name}(points)"),
        _case(name, "duplicate points", f"points = {[[1.0, 1.0]] * k + blobs(6, 2, 1.0)!r}\n", f"{name}(points)"),
        _case(name, "a constant column", f"points = {[[5.0, p[0], p[1]] for p in blobs(9, 2, 2.0)]!r}\n", f"{name}(points)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(points: list[list[float]]) -> list[int]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"k": k, "init": init, "standardize": standardize, "max_iter": max_iter},
    )


# -- hierarchical clustering -----------------------------------------------------------------

_LINKAGES = [
    (method, metric)
    for method in ("single", "complete", "average", "weighted")
    for metric in ("euclidean", "cityblock", "correlation", "cosine")
] + [("ward", "euclidean"), ("centroid", "euclidean"), ("median", "euclidean")]


def _draw_hclust(rng: random.Random) -> Variant:
    method, metric = rng.choice(_LINKAGES)
    k = rng.randint(2, 6)
    standardize = rng.choice((True, False))
    name = "hierarchical_labels"
    scale = (
        "First standardise each column of `x` (subtract its mean, divide by its sample standard deviation, "
        "ddof 1). "
        if standardize
        else ""
    )
    spec = (
        "Cut a hierarchical clustering into clusters. `x` is a list of n points (rows), each a list of floats. "
        f"{scale}Compute Z = scipy.cluster.hierarchy.linkage(X, method='{method}', metric='{metric}') on the "
        f"float array X of the points, then labels = scipy.cluster.hierarchy.fcluster(Z, t={k}, "
        "criterion='maxclust'). Renumber the labels 0, 1, 2, ... in the order in which they first appear "
        "along the rows. Return the renumbered labels as a list of n ints."
    )
    reference = _source(
        {"METHOD": method, "METRIC": metric, "K": k, "STANDARDIZE": standardize},
        r'''
        import numpy as np
        from scipy.cluster.hierarchy import fcluster, linkage


        def hierarchical_labels(x):
            data = np.asarray(x, dtype=float)
            if STANDARDIZE:
                data = (data - data.mean(axis=0)) / data.std(axis=0, ddof=1)
            labels = fcluster(linkage(data, method=METHOD, metric=METRIC), t=K, criterion="maxclust")
            seen = {}
            return [seen.setdefault(int(v), len(seen)) for v in labels]
        ''',
    )

    def points(n: int, dim: int, n_centres: int, spread: float, scales: list[float] | None = None) -> list[list[float]]:
        centres = [[rng.uniform(-5, 5) for _ in range(dim)] for _ in range(n_centres)]
        scales = scales or [1.0] * dim
        return [[round(rng.gauss(c, spread) * s, 4) for c, s in zip(rng.choice(centres), scales)] for _ in range(n)]

    cases = (
        _case(name, "overlapping groups", f"x = {points(16, 5, 4, 2.0)!r}\n", f"{name}(x)"),
        _case(name, "separated groups", f"x = {points(12, 4, 3, 0.6)!r}\n", f"{name}(x)"),
        _case(name, "columns on different scales", f"x = {points(14, 4, 3, 1.5, [1.0, 50.0, 0.1, 5.0])!r}\n", f"{name}(x)"),
        _case(name, "noise", f"x = {points(20, 6, 1, 3.0)!r}\n", f"{name}(x)"),
        _case(name, "many groups", f"x = {points(30, 5, 6, 2.5)!r}\n", f"{name}(x)"),
        _case(name, "unbalanced groups", f"x = {points(18, 4, 1, 1.0) + points(3, 4, 1, 0.5) + points(4, 4, 2, 1.5)!r}\n", f"{name}(x)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(x: list[list[float]]) -> list[int]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"method": method, "metric": metric, "k": k, "standardize": standardize},
    )


# -- correlated pairs ------------------------------------------------------------------------


def _draw_corr_pairs(rng: random.Random) -> Variant:
    method = rng.choice(("pearson", "spearman", "kendall"))
    absolute = rng.choice((True, False))
    top = rng.choice((3, 4, 5))
    min_mean = rng.choice((0, 5, 20))
    name = "top_correlated_pairs"
    method_text = {
        "pearson": "Pearson correlation",
        "spearman": "Spearman rank correlation (average ranks for ties)",
        "kendall": "Kendall's tau-b",
    }[method]
    spec = (
        "Find the most correlated gene pairs. `matrix` is a pandas DataFrame, genes as rows (index: gene ids) "
        "and samples as columns. "
        + (f"Ignore the genes whose mean across samples is below {min_mean}. " if min_mean else "")
        + f"For every pair of distinct genes (a listed before b in `matrix`) compute the {method_text} of "
        "their values across samples (as pandas.DataFrame.corr computes it); pairs whose correlation is "
        f"undefined (a constant gene) are skipped. Rank the pairs by {'absolute ' if absolute else ''}correlation, "
        f"largest first (ties: by the position of a, then of b). Return the top {top} as a list of (a, b, "
        "correlation) tuples, the correlation a float with its sign; fewer if there are fewer pairs."
    )
    reference = _source(
        {"METHOD": method, "ABSOLUTE": absolute, "TOP": top, "MIN_MEAN": min_mean},
        r'''
        import math


        def top_correlated_pairs(matrix):
            data = matrix.astype(float)
            data = data.loc[data.mean(axis=1) >= MIN_MEAN]
            corr = data.T.corr(method=METHOD)
            genes = list(data.index)
            pairs = []
            for i in range(len(genes)):
                for j in range(i + 1, len(genes)):
                    r = corr.iloc[i, j]
                    if math.isnan(r):
                        continue
                    pairs.append((-(abs(r) if ABSOLUTE else r), i, j, float(r)))
            pairs.sort()
            return [(genes[i], genes[j], r) for _, i, j, r in pairs[:TOP]]
        ''',
    )

    def matrix(n_genes: int, n_samples: int) -> str:
        rows, genes, samples = _counts(rng, n_genes, n_samples)
        base = rows[0]
        rows.append([v + rng.randint(0, 3) for v in base])  # strongly correlated with the first
        genes.append("partner")
        rows.append([max(0, 60 - v // 3) for v in base])  # anti-correlated
        genes.append("mirror")
        rows.append([7] * n_samples)  # constant: undefined correlations
        genes.append("flat")
        faint = [rng.randint(0, 4) for _ in range(n_samples - 2)] + [0, 5]
        medium = [rng.randint(5, 15) for _ in range(n_samples)]
        rows += [faint, [v + 1 for v in faint], medium, [v + 2 for v in medium]]  # perfect pairs, low means
        genes += ["faint", "faint_b", "medium", "medium_b"]
        order = list(range(len(rows)))
        rng.shuffle(order)
        return _frame_setup("matrix", [rows[i] for i in order], [genes[i] for i in order], samples)

    cases = (
        _case(name, "8 genes", matrix(4, 8), f"{name}(matrix)"),
        _case(name, "6 samples", matrix(5, 6), f"{name}(matrix)"),
        _case(name, "12 samples", matrix(6, 12), f"{name}(matrix)"),
        _case(name, "two genes", _frame_setup("matrix", [[1, 2, 3, 4], [40, 30, 35, 10]], ["a", "b"], ["s1", "s2", "s3", "s4"]), f"{name}(matrix)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(matrix: pd.DataFrame) -> list[tuple[str, str, float]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"method": method, "absolute": absolute, "top": top, "min_mean": min_mean},
    )


# -- most variable genes ---------------------------------------------------------------------

_VARIABILITY = {
    "var": "the sample variance (ddof 1)",
    "mad": "the median absolute deviation (median of |x - median|, no scaling)",
    "cv": "the coefficient of variation (population standard deviation, ddof 0, divided by the mean; genes with mean 0 are skipped)",
}


def _draw_top_variable(rng: random.Random) -> Variant:
    measure = rng.choice(tuple(_VARIABILITY))
    log_first = rng.choice((True, False))
    top = rng.choice((3, 5, 10))
    min_mean = rng.choice((0, 5, 20))
    name = "most_variable_genes"
    spec = (
        "Select the most variable genes. `matrix` is a pandas DataFrame of non-negative counts, genes as rows "
        "(index: gene ids) and samples as columns. "
        + (f"Ignore the genes whose mean raw value is below {min_mean}. " if min_mean else "")
        + ("Then replace every value x by log2(x + 1). " if log_first else "")
        + f"Score each gene by {_VARIABILITY[measure]} of its values. Return the ids of the {top} highest-scoring "
        "genes, highest first (ties: the gene listed first in `matrix` first); fewer if fewer genes remain."
    )
    reference = _source(
        {"MEASURE": measure, "LOG_FIRST": log_first, "TOP": top, "MIN_MEAN": min_mean},
        r'''
        import numpy as np


        def most_variable_genes(matrix):
            data = matrix.astype(float)
            data = data.loc[data.mean(axis=1) >= MIN_MEAN]
            if LOG_FIRST:
                data = np.log2(data + 1)
            scores = []
            for pos, (gene, row) in enumerate(data.iterrows()):
                x = row.to_numpy()
                if MEASURE == "var":
                    score = x.var(ddof=1)
                elif MEASURE == "mad":
                    score = np.median(np.abs(x - np.median(x)))
                else:
                    if x.mean() == 0:
                        continue
                    score = x.std() / x.mean()
                scores.append((-score, pos, gene))
            scores.sort()
            return [gene for _, _, gene in scores[:TOP]]
        ''',
    )

    def matrix(n_genes: int, n_samples: int) -> str:
        rows, genes, samples = _counts(rng, n_genes, n_samples)
        rows.append([0] * n_samples)
        genes.append("silent")
        rows.append([rng.randint(0, 4) for _ in range(n_samples)])
        genes.append("faint")
        return _frame_setup("matrix", rows, genes, samples)

    def low_counts(n_genes: int, n_samples: int) -> str:
        """Steady genes with means over 1..n, and two genes switching between 0 and a level
        (means near 4 and 18): the most variable by every measure, each removed by a mean filter."""
        genes, samples = _gene_ids(rng, n_genes), _sample_ids(rng, n_samples)
        rows = [[max(0, level + rng.randint(-1, 1)) for _ in range(n_samples)] for level in range(1, n_genes + 1)]
        half = n_samples // 2
        for label, level in (("pulse_faint", 8), ("pulse_medium", 36)):
            pattern = [0] * half + [level] * (n_samples - half)
            rng.shuffle(pattern)
            rows.insert(rng.randrange(len(rows) + 1), pattern)
            genes.insert(rows.index(pattern), label)
        return _frame_setup("matrix", rows, genes, samples)

    cases = (
        _case(name, "low counts", low_counts(24, 6), f"{name}(matrix)"),
        _case(name, "15 genes", matrix(13, 6), f"{name}(matrix)"),
        _case(name, "25 genes", matrix(23, 8), f"{name}(matrix)"),
        _case(name, "few genes", matrix(3, 5), f"{name}(matrix)"),
        _case(name, "three samples", matrix(12, 3), f"{name}(matrix)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(matrix: pd.DataFrame) -> list[str]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"measure": measure, "log_first": log_first, "top": top, "min_mean": min_mean},
    )


# -- test split: PCA, silhouette, quantile normalisation -------------------------------------


def _draw_pca(rng: random.Random) -> Variant:
    scale = rng.choice((True, False))
    n_comp = rng.randint(1, 4)
    log_first = rng.choice((True, False))
    cumulative = rng.choice((True, False)) if n_comp > 1 else False  # one cumulative ratio is the ratio
    name = "pca_variance_explained"
    spec = (
        "Report how much variance the leading principal components explain. `x` is a pandas DataFrame of "
        "non-negative values, samples as rows and features as columns. "
        + ("First replace every value v by log2(v + 1). " if log_first else "")
        + "Centre each column on its mean"
        + (" and divide it by its sample standard deviation (ddof 1)" if scale else "")
        + ". The explained-variance ratio of component i is s_i^2 / sum_j s_j^2, s the singular values of the "
        f"centred matrix (all components in the sum). Return a list of {n_comp} floats: "
        + (
            "the cumulative ratios: item i is the sum of the ratios of the first i + 1 components"
            if cumulative
            else "the ratios of the first components, largest first"
        )
        + "."
    )
    reference = _source(
        {"SCALE": scale, "N_COMP": n_comp, "LOG_FIRST": log_first, "CUMULATIVE": cumulative},
        r'''
        import numpy as np


        def pca_variance_explained(x):
            data = x.to_numpy(dtype=float)
            if LOG_FIRST:
                data = np.log2(data + 1)
            data = data - data.mean(axis=0)
            if SCALE:
                data = data / data.std(axis=0, ddof=1)
            s = np.linalg.svd(data, compute_uv=False)
            ratios = s**2 / (s**2).sum()
            ratios = np.cumsum(ratios) if CUMULATIVE else ratios
            return [float(r) for r in ratios[:N_COMP]]
        ''',
    )

    def frame(n: int, p: int) -> str:
        rows = []
        loadings = [rng.uniform(0.5, 3) for _ in range(p)]
        levels = [10 ** rng.uniform(0.5, 3) for _ in range(p)]
        for _ in range(n):
            factor = rng.gauss(0, 1)
            rows.append([round(max(0.0, lv * (1 + 0.3 * factor * ld) + rng.gauss(0, lv * 0.2)), 3) for lv, ld in zip(levels, loadings)])
        return _frame_setup("x", rows, [f"s{i}" for i in range(n)], [f"f{j}" for j in range(p)])

    cases = (
        _case(name, "10 x 6", frame(10, 6), f"{name}(x)"),
        _case(name, "20 x 5", frame(20, 5), f"{name}(x)"),
        _case(name, "6 x 8", frame(6, 8), f"{name}(x)"),
        _case(name, "30 x 4", frame(30, 4), f"{name}(x)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(x: pd.DataFrame) -> list[float]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"scale": scale, "n_comp": n_comp, "log_first": log_first, "cumulative": cumulative},
    )


_SIL_METRICS = {
    "euclidean": "Euclidean distance",
    "cityblock": "Manhattan (cityblock) distance",
    "cosine": "cosine distance (1 - cosine similarity)",
    "sqeuclidean": "squared Euclidean distance",
}


def _draw_silhouette(rng: random.Random) -> Variant:
    metric = rng.choice(tuple(_SIL_METRICS))
    output = rng.choice(("mean", "per_cluster", "per_sample"))
    standardize = rng.choice((True, False))
    name = "silhouette"
    result = {
        "mean": "the mean of s(i) over all points (a float)",
        "per_cluster": "a dict mapping each label to the mean s(i) of its points",
        "per_sample": "the list of s(i) in point order",
    }[output]
    spec = (
        "Compute silhouette values of a clustering. `points` is a list of n points (lists of floats) and "
        "`labels` a list of n int cluster labels with at least 2 distinct labels. "
        + (
            "First standardise each column (subtract its mean, divide by its population standard deviation, ddof 0). "
            if standardize
            else ""
        )
        + f"Distances are the {_SIL_METRICS[metric]}. For point i, a(i) is the mean distance to the other points "
        "of its cluster and b(i) the smallest, over the other clusters, mean distance to that cluster's points; "
        "s(i) = (b(i) - a(i)) / max(a(i), b(i)), and s(i) = 0 for a point alone in its cluster. "
        f"Return {result}."
    )
    reference = _source(
        {"METRIC": metric, "OUTPUT": output, "STANDARDIZE": standardize},
        r'''
        import numpy as np
        from scipy.spatial.distance import cdist


        def silhouette(points, labels):
            x = np.asarray(points, dtype=float)
            if STANDARDIZE:
                x = (x - x.mean(axis=0)) / x.std(axis=0)
            lab = np.asarray(labels)
            d = cdist(x, x, metric=METRIC)
            s = []
            for i in range(len(x)):
                same = (lab == lab[i])
                if same.sum() == 1:
                    s.append(0.0)
                    continue
                a = d[i, same].sum() / (same.sum() - 1)
                b = min(d[i, lab == other].mean() for other in set(lab.tolist()) if other != lab[i])
                s.append(float((b - a) / max(a, b)))
            if OUTPUT == "mean":
                return float(np.mean(s))
            if OUTPUT == "per_cluster":
                return {int(c): float(np.mean([v for v, l in zip(s, labels) if l == c])) for c in set(labels)}
            return s
        ''',
    )

    def data(n: int, dim: int, n_clusters: int, spread: float) -> tuple[list[list[float]], list[int]]:
        centres = [[rng.uniform(-6, 6) for _ in range(dim)] for _ in range(n_clusters)]
        labels = [i % n_clusters for i in range(n)]
        rng.shuffle(labels)
        scales = [rng.choice((1.0, 1.0, 10.0, 0.2)) for _ in range(dim)]
        pts = [[round(rng.gauss(c, spread) * s + 3.0, 4) for c, s in zip(centres[lab], scales)] for lab in labels]
        return pts, labels

    p1, l1 = data(12, 3, 3, 1.5)
    p2, l2 = data(9, 2, 2, 3.0)
    p3, l3 = data(7, 4, 3, 1.0)
    l3 = l3[:-1] + [7]  # a singleton cluster
    cases = (
        _case(name, "three clusters", f"points = {p1!r}\nlabels = {l1!r}\n", f"{name}(points, labels)"),
        _case(name, "two noisy clusters", f"points = {p2!r}\nlabels = {l2!r}\n", f"{name}(points, labels)"),
        _case(name, "a singleton", f"points = {p3!r}\nlabels = {l3!r}\n", f"{name}(points, labels)"),
        _case(name, "four points", f"points = {[[0.0, 1.0], [0.5, 1.2], [4.0, 3.0], [4.2, 2.5]]!r}\nlabels = [1, 1, 2, 2]\n", f"{name}(points, labels)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(points: list[list[float]], labels: list[int])",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"metric": metric, "output": output, "standardize": standardize},
    )


def _draw_quantile(rng: random.Random) -> Variant:
    pseudo = rng.choice((None, 0.5, 1, 2))
    target = rng.choice(("mean", "median"))
    ties = rng.choice(("first", "average"))
    name = "quantile_normalize"
    tie_rule = (
        "Tied values within a column are ranked in row order (the first occurrence gets the lower rank)."
        if ties == "first"
        else "Tied values within a column all get the mean of the reference values at the ranks they span."
    )
    spec = (
        "Quantile-normalise the columns of a matrix. `matrix` is a pandas DataFrame of non-negative numbers, "
        "genes as rows and samples as columns, without missing values. "
        + (f"First replace every value x by log2(x + {pseudo}). " if pseudo else "")
        + "Sort each column; the reference distribution at rank r (0-based) is the "
        + ("mean" if target == "mean" else "median")
        + " over the columns of their r-th smallest value. Replace each value by the reference value at its "
        f"rank within its column. {tie_rule} Return a float DataFrame with the same labels and order."
    )
    reference = _source(
        {"PSEUDO": pseudo, "TARGET": target, "TIES": ties},
        r'''
        import numpy as np
        import pandas as pd


        def quantile_normalize(matrix):
            data = matrix.astype(float)
            if PSEUDO:
                data = np.log2(data + PSEUDO)
            values = data.to_numpy()
            ordered = np.sort(values, axis=0)
            ref = ordered.mean(axis=1) if TARGET == "mean" else np.median(ordered, axis=1)
            out = np.empty_like(values)
            for j in range(values.shape[1]):
                col = values[:, j]
                order = np.argsort(col, kind="stable")
                ranks = np.empty(len(col), dtype=int)
                ranks[order] = np.arange(len(col))
                if TIES == "first":
                    out[:, j] = ref[ranks]
                else:
                    for i, v in enumerate(col):
                        tied = ranks[col == v]
                        out[i, j] = ref[tied].mean()
            return pd.DataFrame(out, index=data.index, columns=data.columns)
        ''',
    )

    def matrix(n_genes: int, n_samples: int, tie_rate: float) -> str:
        rows, genes, samples = _counts(rng, n_genes, n_samples)
        for row in rows:
            for j in range(n_samples):
                if rng.random() < tie_rate:
                    row[j] = rng.choice((0, 3, 10))
        return _frame_setup("matrix", rows, genes, samples)

    cases = (
        _case(name, "8 x 4", matrix(8, 4, 0.15), f"{name}(matrix)"),
        _case(name, "many ties", matrix(10, 3, 0.5), f"{name}(matrix)"),
        _case(name, "5 x 5", matrix(5, 5, 0.1), f"{name}(matrix)"),
        _case(name, "one sample", matrix(6, 1, 0.3), f"{name}(matrix)"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(matrix: pd.DataFrame) -> pd.DataFrame",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"pseudo": pseudo, "target": target, "ties": ties},
    )


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("counts_to_cpm", "train", _draw_cpm, "counts per million with log transform"),
    FunctionTemplate("counts_to_tpm", "train", _draw_tpm, "transcripts per million"),
    FunctionTemplate("filter_low_expression", "train", _draw_filter, "low-count gene filter"),
    FunctionTemplate("summarise_by_group", "train", _draw_group_summary, "per-group summary with pandas"),
    FunctionTemplate("log2_fold_change", "train", _draw_lfc, "log2 fold change between groups"),
    FunctionTemplate("zscore_rows", "train", _draw_zscore, "row z-scores"),
    FunctionTemplate("kmeans_labels", "train", _draw_kmeans, "k-means with a fixed initialisation"),
    FunctionTemplate("hierarchical_labels", "train", _draw_hclust, "hierarchical clustering cut at k"),
    FunctionTemplate("top_correlated_pairs", "train", _draw_corr_pairs, "most correlated gene pairs"),
    FunctionTemplate("most_variable_genes", "train", _draw_top_variable, "most variable genes"),
    FunctionTemplate("pca_variance_explained", "test", _draw_pca, "PCA explained variance"),
    FunctionTemplate("silhouette", "test", _draw_silhouette, "silhouette values"),
    FunctionTemplate("quantile_normalize", "test", _draw_quantile, "quantile normalisation"),
)
