"""Statistics functions (category ``statistics``): multiple testing, 2x2 tables, diversity,
bootstrap and permutation procedures, ranks and classical tests, each with its conventions stated.

Where a library convention decides the number (two-sided p-values of discrete tests, continuity
corrections, tie-corrected variances, percentile interpolation), the specification states the
formula and, where one exists, the library call that follows it; the tests of this module check
those claims against scipy. Resampling procedures fix the generator and the order of its calls, so
a correct function reproduces the reference's numbers exactly.

Only p-values and statistics are asked, never decisions at a significance level: a decision hides
the difference between two tests (or two levels) unless a case happens to fall between them, so it
would make near-duplicate tasks; the hidden cases of a p-value see every change of convention.
"""

from __future__ import annotations

import random

from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.datasets.biocoder.spec import (
    float_literal as _lit,
    floats_literal as _floats,
    function_source as _function,
    case as _case,
    tidy_spec as _tidy,
)


# -- multiple-testing correction -------------------------------------------------------------------

_ADJUST_TEXT = {
    "bonferroni": "Bonferroni: adj = min(1, m * p)",
    "holm": "Holm (step-down): with the p-values sorted ascending p(1) <= ... <= p(m), "
    "adj(i) = max over j <= i of min(1, (m - j + 1) * p(j))",
    "hochberg": "Hochberg (step-up): with the p-values sorted ascending, "
    "adj(i) = min over j >= i of min(1, (m - j + 1) * p(j))",
    "bh": "Benjamini-Hochberg (step-up FDR): with the p-values sorted ascending, "
    "adj(i) = min over j >= i of min(1, m * p(j) / j)",
    "by": "Benjamini-Yekutieli: with c = 1 + 1/2 + ... + 1/m and the p-values sorted ascending, "
    "adj(i) = min over j >= i of min(1, c * m * p(j) / j)",
}

_ADJUST_CODE = {
    "bonferroni": ["adj = np.minimum(1.0, m * p)"],
    "holm": [
        "order = np.argsort(p, kind=\"stable\")",
        "steps = np.minimum(1.0, (m - np.arange(m)) * p[order])",
        "adj = np.empty(m)",
        "adj[order] = np.maximum.accumulate(steps)",
    ],
    "hochberg": [
        "order = np.argsort(p, kind=\"stable\")",
        "steps = np.minimum(1.0, (m - np.arange(m)) * p[order])",
        "adj = np.empty(m)",
        "adj[order] = np.minimum.accumulate(steps[::-1])[::-1]",
    ],
    "bh": [
        "order = np.argsort(p, kind=\"stable\")",
        "steps = np.minimum(1.0, m * p[order] / np.arange(1, m + 1))",
        "adj = np.empty(m)",
        "adj[order] = np.minimum.accumulate(steps[::-1])[::-1]",
    ],
    "by": [
        "order = np.argsort(p, kind=\"stable\")",
        "c = np.sum(1.0 / np.arange(1, m + 1))",
        "steps = np.minimum(1.0, c * m * p[order] / np.arange(1, m + 1))",
        "adj = np.empty(m)",
        "adj[order] = np.minimum.accumulate(steps[::-1])[::-1]",
    ],
}


def _adjust_reference(name: str, method: str, nan: str, form: str) -> str:
    first = {
        "list": ["raw = np.asarray(pvalues, dtype=float)"],
        "dict": ["names = list(pvalues)", "raw = np.array([pvalues[k] for k in names], dtype=float)"],
        "series": ["raw = pvalues.to_numpy(dtype=float)"],
    }[form]
    lines = [*first, "missing = np.isnan(raw)"]
    lines.append("p = raw[~missing]" if nan == "exclude" else "p = np.where(missing, 1.0, raw)")
    lines.append("m = p.size")
    lines += _ADJUST_CODE[method]
    if nan == "exclude":
        lines += ["result = np.full(raw.size, np.nan)", "result[~missing] = adj"]
    else:
        lines += ["result = np.where(missing, np.nan, adj)"]
    lines.append(
        {
            "list": "return [float(v) for v in result]",
            "dict": "return {k: float(v) for k, v in zip(names, result)}",
            "series": "return pd.Series(result, index=pvalues.index, name=pvalues.name)",
        }[form]
    )
    imports = "import numpy as np" + ("\nimport pandas as pd" if form == "series" else "")
    return _function(f"{name}(pvalues)", lines, imports)


def _draw_adjust_pvalues(rng: random.Random) -> Variant:
    method = rng.choice(sorted(_ADJUST_TEXT))
    nan = rng.choice(["exclude", "count"])
    form = rng.choice(["list", "dict", "series"])
    name = "adjust_pvalues"
    nan_text = (
        "Missing p-values (NaN) are left out: m counts only the others, and their output is NaN."
        if nan == "exclude"
        else "Missing p-values (NaN) count in m as if they were 1.0, and their output is NaN."
    )
    form_text = {
        "list": "Input: `pvalues`, a list of floats in [0, 1] or NaN (possibly empty).\n"
        "Return the adjusted p-values as a list of floats in input order.",
        "dict": "Input: `pvalues`, a dict mapping hypothesis names to floats in [0, 1] or NaN (possibly empty).\n"
        "Return a dict mapping each hypothesis name to its adjusted p-value (a float).",
        "series": "Input: `pvalues`, a pandas Series of floats in [0, 1] or NaN indexed by hypothesis name "
        "(possibly empty).\nReturn a pandas Series of the adjusted p-values (float64) with the same index and name.",
    }[form]
    spec = (
        f"Correct p-values for multiple testing with the {_ADJUST_TEXT[method]}, where m is the number of "
        "p-values (tied p-values get equal adjusted values).\n"
        f"{nan_text}\n{form_text}"
    )
    reference = _adjust_reference(name, method, nan, form)

    def pvals(n: int) -> list[float]:
        """Log-uniform small p-values mixed with uniform ones: every method's adjustments differ."""
        return [round(10 ** rng.uniform(-4.5, -0.5), 6) if rng.random() < 0.6 else round(rng.random(), 6) for _ in range(n)]

    def literal(values: list[float]) -> str:
        if form == "list":
            return f"case_p = {_floats(values)}"
        names = [f"GO:{rng.randint(1, 99999):07d}" for _ in values]
        if form == "dict":
            items = ", ".join(f"{k!r}: {_lit(v)}" for k, v in zip(names, values, strict=True))
            return f"case_p = {{{items}}}"
        return f"import pandas as pd\ncase_p = pd.Series({_floats(values)}, index={names!r}, name='raw_p', dtype=float)"

    p1 = pvals(rng.randint(8, 14))
    p2 = pvals(rng.randint(6, 9))
    p2[1] = p2[3] = p2[4]
    p3 = pvals(rng.randint(6, 10))
    p3[0] = p3[-2] = float("nan")
    dense = sorted(round(10 ** rng.uniform(-4, -0.7), 6) for _ in range(16))
    rng.shuffle(dense)
    samples = [
        (f"{len(p1)} p-values", p1),
        ("tied p-values", p2),
        ("with NaN", p3),
        ("16 close small p-values", dense),
        ("single p-value", [round(rng.uniform(0.001, 0.2), 4)]),
        ("empty", []),
    ]
    cases = [_case(f"{name}({label})", literal(values), f"{name}(case_p)") for label, values in samples]
    params = {"method": method, "nan": nan, "input": form}
    returns = {"list": "list[float]", "dict": "dict[str, float]", "series": "pd.Series"}[form]
    return Variant(name, f"def {name}(pvalues) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- association in a 2x2 table --------------------------------------------------------------------

_TESTS_2X2 = {
    "fisher_two_sided": "Fisher's exact test, two-sided: the sum of the hypergeometric probabilities (margins "
    "fixed) of every table no more probable than the observed one (scipy.stats.fisher_exact's convention, "
    "with its relative tolerance of 1e-7 on 'no more probable')",
    "fisher_greater": "Fisher's exact test, one-sided 'greater' (odds ratio > 1): P(X >= a), X the top-left "
    "cell under the hypergeometric distribution with the margins fixed",
    "fisher_less": "Fisher's exact test, one-sided 'less' (odds ratio < 1): P(X <= a), X the top-left cell "
    "under the hypergeometric distribution with the margins fixed",
    "chi2_yates": "Pearson's chi-square test with Yates' continuity correction: each |O - E| is reduced by "
    "0.5 (but not below 0) before squaring; 1 degree of freedom",
    "chi2": "Pearson's chi-square test without continuity correction: sum of (O - E)^2 / E; 1 degree of freedom",
    "g_test": "the G-test (log-likelihood ratio): G = 2 * sum of O * ln(O / E) over cells with O > 0, no "
    "correction; 1 degree of freedom",
}


def _assoc_reference(name: str, test: str, output: str, form: str) -> str:
    header, lines = {
        "cells": (f"{name}(a, b, c, d)", []),
        "nested": (f"{name}(table)", ["(a, b), (c, d) = table"]),
        "subjects": (
            f"{name}(exposed, outcome)",
            [
                "pairs = list(zip(exposed, outcome))",
                "a, b = pairs.count((True, True)), pairs.count((True, False))",
                "c, d = pairs.count((False, True)), pairs.count((False, False))",
            ],
        ),
    }[form]
    if test.startswith("fisher"):
        alternative = {"fisher_two_sided": "two-sided", "fisher_greater": "greater", "fisher_less": "less"}[test]
        lines = [*lines, f'return float(fisher_exact([[a, b], [c, d]], alternative="{alternative}").pvalue)']
        return _function(header, lines, "from scipy.stats import fisher_exact")
    lines = [
        *lines,
        "observed = np.array([[a, b], [c, d]], dtype=float)",
        "rows, cols = observed.sum(axis=1), observed.sum(axis=0)",
        "if rows.min() == 0 or cols.min() == 0:",
        f"    return {'0.0' if output == 'statistic' else '1.0'}",
        "expected = np.outer(rows, cols) / observed.sum()",
    ]
    if test == "chi2":
        lines.append("stat = float(np.sum((observed - expected) ** 2 / expected))")
    elif test == "chi2_yates":
        lines += [
            "diff = np.maximum(np.abs(observed - expected) - 0.5, 0.0)",
            "stat = float(np.sum(diff**2 / expected))",
        ]
    else:
        lines += [
            "cells = observed > 0",
            "stat = float(2 * np.sum(observed[cells] * np.log(observed[cells] / expected[cells])))",
        ]
    lines.append("return stat" if output == "statistic" else "return float(chi2.sf(stat, 1))")
    imports = "import numpy as np" + ("" if output == "statistic" else "\nfrom scipy.stats import chi2")
    return _function(header, lines, imports)


def _draw_association(rng: random.Random) -> Variant:
    test = rng.choice(sorted(_TESTS_2X2))
    output = "p" if test.startswith("fisher") else rng.choice(["p", "statistic"])
    form = rng.choice(["cells", "nested", "subjects"])
    name = "association_test"
    zero_text = (
        ""
        if test.startswith("fisher")
        else "If a row or a column total is 0, the statistic is 0.0 and the p-value 1.0.\n"
    )
    form_text = {
        "cells": "Input: four non-negative ints a, b, c, d with a positive total.",
        "nested": "Input: `table`, the nested list [[a, b], [c, d]] of non-negative ints with a positive total.",
        "subjects": "Input: `exposed` and `outcome`, two lists of bools of equal positive length, one entry per "
        "subject; the table counts subjects: a = exposed cases, b = exposed non-cases, c = unexposed cases, "
        "d = unexposed non-cases.",
    }[form]
    spec = (
        "Test the association in a 2x2 contingency table [[a, b], [c, d]] (rows: exposed / unexposed; "
        f"columns: cases / non-cases) with {_TESTS_2X2[test]}."
        + ("" if test.startswith("fisher") else " E are the expected counts under independence (row total * "
           "column total / grand total).")
        + "\n"
        f"{zero_text}{form_text}\n"
        + ("Return the p-value as a float." if output == "p" else "Return the test statistic as a float.")
    )
    reference = _assoc_reference(name, test, output, form)

    def table() -> list[int]:
        if rng.random() < 0.4:
            return [rng.randint(0, 8) for _ in range(4)]
        base = rng.randint(10, 60)
        return [max(0, int(base * rng.uniform(0.3, 2.0))) for _ in range(4)]

    def call(t: list[int]) -> tuple[str, str]:
        if form == "cells":
            return "", f"{name}({t[0]}, {t[1]}, {t[2]}, {t[3]})"
        if form == "nested":
            return f"case_t = [[{t[0]}, {t[1]}], [{t[2]}, {t[3]}]]", f"{name}(case_t)"
        subjects = [(True, True)] * t[0] + [(True, False)] * t[1] + [(False, True)] * t[2] + [(False, False)] * t[3]
        rng.shuffle(subjects)
        exposed, outcome = [e for e, _ in subjects], [o for _, o in subjects]
        return f"case_e = {exposed!r}\ncase_o = {outcome!r}", f"{name}(case_e, case_o)"

    tables = [table() for _ in range(3)]
    named = [
        *((f"random table {t}", t) for t in tables),
        ("strong positive association", [rng.randint(12, 25), rng.randint(1, 5), rng.randint(1, 5), rng.randint(12, 25)]),
        ("strong negative association", [rng.randint(1, 5), rng.randint(12, 25), rng.randint(12, 25), rng.randint(1, 5)]),
        ("zero cell", [0, rng.randint(3, 12), rng.randint(3, 12), rng.randint(3, 12)]),
        ("zero row total", [0, 0, rng.randint(1, 9), rng.randint(1, 9)]),
    ]
    cases = [_case(f"{name}({label})", *call(t)) for label, t in named]
    params = {"test": test, "output": output, "input": form}
    args = {"cells": "a: int, b: int, c: int, d: int", "nested": "table: list[list[int]]",
            "subjects": "exposed: list[bool], outcome: list[bool]"}[form]
    return Variant(name, f"def {name}({args}) -> float", _tidy(spec), reference, tuple(cases), params)


# -- effect measures of a 2x2 table with confidence intervals ---------------------------------------


def _draw_effect_2x2(rng: random.Random) -> Variant:
    measure = rng.choice(["odds_ratio", "log_odds_ratio", "risk_ratio", "log_risk_ratio", "risk_difference"])
    level = rng.choice([0.9, 0.95, 0.99])
    zero = rng.choice(["none", "always", "if_zero"])
    name = "effect_with_ci"
    base = measure.removeprefix("log_")
    text = {
        "odds_ratio": "the odds ratio OR = (a * d) / (b * c), with the Woolf interval: "
        "log(OR) +/- z * sqrt(1/a + 1/b + 1/c + 1/d)",
        "risk_ratio": "the risk ratio RR = (a / (a + b)) / (c / (c + d)), with the Katz interval: "
        "log(RR) +/- z * sqrt(1/a - 1/(a + b) + 1/c - 1/(c + d))",
        "risk_difference": "the risk difference RD = p1 - p2 with p1 = a / (a + b), p2 = c / (c + d), with the "
        "Wald interval RD +/- z * sqrt(p1 (1 - p1) / (a + b) + p2 (1 - p2) / (c + d))",
    }[base]
    scale = ""
    if measure.startswith("log_"):
        scale = " Report the estimate and both limits on the natural-log scale (log of the ratio, and the limits before exponentiating)."
    elif base != "risk_difference":
        scale = " The ratio's limits are exp of the log-scale limits."
    zero_text = {
        "none": "No correction is applied: if a cell the formula divides by or takes the log of is 0 "
        + ("(any cell)" if base == "odds_ratio" else "(a or c)" if base == "risk_ratio" else "")
        + ", return (nan, nan, nan)."
        if base != "risk_difference"
        else "No correction is applied.",
        "always": "Add 0.5 to every cell before computing anything (Haldane-Anscombe correction).",
        "if_zero": "If any cell is 0, add 0.5 to every cell before computing anything; otherwise use the counts as they are.",
    }[zero]
    spec = (
        "For a 2x2 table [[a, b], [c, d]] (rows: exposed / unexposed; columns: events / non-events), compute "
        f"{text}, where z is the standard normal quantile for a two-sided {level:g} confidence level "
        f"(z = Phi^-1(1 - (1 - {level:g}) / 2), exact, not rounded).{scale}\n"
        f"{zero_text}\n"
        "Input: four non-negative ints a, b, c, d with a + b > 0 and c + d > 0.\n"
        "Return a tuple of three floats (estimate, lower, upper)."
    )
    lines = [f"z = norm.ppf(1 - (1 - {level}) / 2)"]
    if zero == "always":
        lines.append("a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5")
    elif zero == "if_zero":
        lines += ["if 0 in (a, b, c, d):", "    a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5"]
    if base == "odds_ratio":
        if zero == "none":
            lines += ["if 0 in (a, b, c, d):", "    return (math.nan, math.nan, math.nan)"]
        lines += ["est = math.log(a * d / (b * c))", "se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)"]
    elif base == "risk_ratio":
        if zero == "none":
            lines += ["if a == 0 or c == 0:", "    return (math.nan, math.nan, math.nan)"]
        lines += [
            "est = math.log((a / (a + b)) / (c / (c + d)))",
            "se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))",
        ]
    else:
        lines += [
            "p1, p2 = a / (a + b), c / (c + d)",
            "est = p1 - p2",
            "se = math.sqrt(p1 * (1 - p1) / (a + b) + p2 * (1 - p2) / (c + d))",
        ]
    if measure in ("odds_ratio", "risk_ratio"):
        lines.append("return (math.exp(est), math.exp(est - z * se), math.exp(est + z * se))")
    else:
        lines.append("return (est, est - z * se, est + z * se)")
    reference = _function(f"{name}(a, b, c, d)", lines, "import math\n\nfrom scipy.stats import norm")
    tables = [
        [rng.randint(5, 40) for _ in range(4)],
        [rng.randint(1, 12) for _ in range(4)],
        [rng.randint(20, 90), rng.randint(20, 90), rng.randint(2, 15), rng.randint(40, 120)],
        [0, rng.randint(4, 20), rng.randint(2, 10), rng.randint(4, 20)],
        [rng.randint(3, 10), 0, rng.randint(2, 10), rng.randint(4, 20)],
        [rng.randint(1, 10), rng.randint(4, 20), rng.randint(1, 10), 0],
    ]
    cases = [_case(f"{name}({a}, {b}, {c}, {d})", "", f"{name}({a}, {b}, {c}, {d})") for a, b, c, d in tables]
    params = {"measure": measure, "level": level, "zero": zero}
    return Variant(name, f"def {name}(a: int, b: int, c: int, d: int) -> tuple[float, float, float]", _tidy(spec), reference, tuple(cases), params)


# -- diversity indices -----------------------------------------------------------------------------

_DIVERSITY = {
    "shannon_ln": ("the Shannon index H = -sum p_i ln p_i (natural log)", "-np.sum(p * np.log(p))"),
    "shannon_log2": ("the Shannon index H = -sum p_i log2 p_i (bits)", "-np.sum(p * np.log2(p))"),
    "shannon_log10": ("the Shannon index H = -sum p_i log10 p_i", "-np.sum(p * np.log10(p))"),
    "simpson": ("Simpson's concentration D = sum p_i^2", "np.sum(p**2)"),
    "gini_simpson": ("the Gini-Simpson index 1 - sum p_i^2", "1 - np.sum(p**2)"),
    "inverse_simpson": ("the inverse Simpson index 1 / sum p_i^2", "1 / np.sum(p**2)"),
    "simpson_unbiased": (
        "Simpson's unbiased index sum n_i (n_i - 1) / (N (N - 1)) (undefined, so NaN, when N < 2)",
        "np.sum(n * (n - 1)) / (total * (total - 1)) if total > 1 else math.nan",
    ),
    "pielou": (
        "Pielou's evenness J = H / ln S with H the natural-log Shannon index (undefined, so NaN, when S < 2)",
        "-np.sum(p * np.log(p)) / math.log(n.size) if n.size > 1 else math.nan",
    ),
    "berger_parker": ("the Berger-Parker dominance max p_i", "float(p.max())"),
    "chao1": (
        (
            "the bias-corrected Chao1 richness S + F1 (F1 - 1) / (2 (F2 + 1)), F1 and F2 the numbers of taxa "
            "seen exactly once and exactly twice"
        ),
        "n.size + np.sum(n == 1) * (np.sum(n == 1) - 1) / (2 * (np.sum(n == 2) + 1))",
    ),
    "hill_0.5": ("the Hill number of order 0.5: (sum p_i^0.5)^(1 / (1 - 0.5))", "np.sum(p**0.5) ** 2"),
    "hill_3": ("the Hill number of order 3: (sum p_i^3)^(1 / (1 - 3))", "np.sum(p**3) ** -0.5"),
    "hill_1": ("the Hill number of order 1: exp(H), H the natural-log Shannon index", "math.exp(-np.sum(p * np.log(p)))"),
    "richness": ("the observed richness S (number of taxa present)", "n.size"),
}


def _draw_diversity(rng: random.Random) -> Variant:
    index = rng.choice(sorted(_DIVERSITY))
    form = rng.choice(["counts", "labels"])
    min_count = rng.choice([1, 2, 3])
    name = "diversity_index"
    form_text = {
        "counts": "`counts`, a list of non-negative ints, one per taxon",
        "labels": "`counts`, a list of observation labels (strings), one per individual observed; a taxon's count "
        "is the number of times its label occurs",
    }[form]
    ignored = (
        "Taxa with a count of 0 are ignored."
        if min_count == 1
        else f"Taxa with a count below {min_count} are ignored, as if absent (they count neither in N nor in S)."
    )
    spec = (
        f"Compute {_DIVERSITY[index][0]} of a community sample, where n_i is the count of taxon i, N the total "
        f"count, p_i = n_i / N and S the number of taxa counted. {ignored}\n"
        f"Input: {form_text}.\n"
        "Return a float; a sample with no individuals (N = 0) returns NaN."
    )
    first = {
        "counts": "n = np.asarray(counts, dtype=float)",
        "labels": "n = np.array(list(Counter(counts).values()), dtype=float)",
    }[form]
    lines = [first, "n = n[n > 0]" if min_count == 1 else f"n = n[n >= {min_count}]", "total = n.sum()", "if total == 0:", "    return math.nan", "p = n / total"]
    lines.append(f"return float({_DIVERSITY[index][1]})")
    imports = "import math\n" + ("from collections import Counter\n" if form == "labels" else "") + "\nimport numpy as np"
    reference = _function(f"{name}(counts)", lines, imports)
    taxa = ["Bacteroides", "Prevotella", "Escherichia", "Lactobacillus", "Clostridium", "Streptococcus",
            "Bifidobacterium", "Faecalibacterium", "Ruminococcus", "Akkermansia", "Veillonella", "Roseburia"]

    def sample(n_taxa: int, singletons: bool) -> list[int]:
        counts = [rng.choice([0, 1, 2, rng.randint(3, 40), rng.randint(40, 200)]) for _ in range(n_taxa)]
        if singletons:
            counts[:3] = [1, 1, 2]
        return counts

    def literal(counts: list[int]) -> str:
        names = rng.sample(taxa, len(counts))
        if form == "counts":
            return repr(counts)
        labels = [t for t, c in zip(names, counts, strict=True) for _ in range(c)]
        rng.shuffle(labels)
        return repr(labels)

    samples = [
        ("sample with singletons and doubletons", sample(rng.randint(7, 10), True)),
        ("even sample", [rng.randint(5, 9)] * rng.randint(3, 6)),
        ("dominated sample", [rng.randint(150, 300), *[rng.randint(1, 4) for _ in range(rng.randint(3, 6))]]),
        ("random sample", sample(rng.randint(5, 9), False)),
        ("single taxon", [0, rng.randint(2, 30), 0]),
        ("empty sample", [0, 0] if form != "labels" else []),
    ]
    cases = [_case(f"{name}({label})", f"case_c = {literal(c)}", f"{name}(case_c)") for label, c in samples]
    params = {"index": index, "input": form, "min_count": min_count}
    annotation = {"counts": "list[int]", "labels": "list[str]"}[form]
    return Variant(name, f"def {name}(counts: {annotation}) -> float", _tidy(spec), reference, tuple(cases), params)


# -- bootstrap confidence interval ------------------------------------------------------------------

_STATS = {
    "mean": ("the mean", "sample.mean(axis=1)", "x.mean()"),
    "median": ("the median", "np.median(sample, axis=1)", "np.median(x)"),
    "sd": ("the sample standard deviation (divide by n - 1)", "sample.std(axis=1, ddof=1)", "x.std(ddof=1)"),
    "trimmed_mean": (
        "the 10% trimmed mean (sort, drop floor(0.1 * n) values from each end, average the rest)",
        "np.sort(sample, axis=1)[:, cut : x.size - cut].mean(axis=1)",
        "np.sort(x)[cut : x.size - cut].mean()",
    ),
}


def _draw_bootstrap(rng: random.Random) -> Variant:
    stat = rng.choice(sorted(_STATS))
    method = rng.choice(["percentile", "basic"])
    level = rng.choice([0.8, 0.9, 0.95, 0.99])
    reps = rng.choice([500, 1000, 2000])
    name = "bootstrap_ci"
    method_text = (
        "the percentile interval (lo, hi) = (q((1 - level) / 2), q((1 + level) / 2))"
        if method == "percentile"
        else "the basic (reverse percentile) interval (2 * t - q((1 + level) / 2), 2 * t - q((1 - level) / 2)), "
        "t the statistic of the original data"
    )
    spec = (
        f"Compute a bootstrap confidence interval at level {level:g} for {_STATS[stat][0]} of a sample, with "
        f"exactly this procedure: rng = numpy.random.default_rng(seed); draw all resampling indices at once "
        f"with rng.integers(0, n, size=({reps}, n)) (row b holds replicate b); compute the statistic of each "
        f"replicate data[row]; q(f) is numpy.quantile of the {reps} replicate statistics at f with numpy's "
        f"default (linear) interpolation. Return {method_text}.\n"
        "Input: `data`, a list or 1-D numpy array of at least two finite numbers; `seed`, an int.\n"
        "Return a tuple of two floats (lower, upper)."
    )
    lines = ["x = np.asarray(data, dtype=float)"]
    if stat == "trimmed_mean":
        lines.append("cut = int(0.1 * x.size)")
    lines += [
        "rng = np.random.default_rng(seed)",
        f"sample = x[rng.integers(0, x.size, size=({reps}, x.size))]",
        f"stats = {_STATS[stat][1]}",
        f"lo, hi = np.quantile(stats, [(1 - {level}) / 2, (1 + {level}) / 2])",
    ]
    if method == "percentile":
        lines.append("return (float(lo), float(hi))")
    else:
        lines += [f"t = {_STATS[stat][2]}", "return (float(2 * t - hi), float(2 * t - lo))"]
    reference = _function(f"{name}(data, seed)", lines, "import numpy as np")
    skewed = [round(rng.expovariate(0.2), 2) for _ in range(rng.randint(15, 30))]
    normal = [round(rng.gauss(50, 8), 1) for _ in range(rng.randint(20, 40))]
    cases = [
        _case(f"{name}(skewed sample, seed {s})", f"case_x = {_floats(skewed)}", f"{name}(case_x, {s})")
        for s in (rng.randint(0, 10**6), rng.randint(0, 10**6))
    ]
    cases += [
        _case(f"{name}(normal-ish sample)", f"case_x = {_floats(normal)}", f"{name}(case_x, {rng.randint(0, 999)})"),
        _case(
            f"{name}(numpy sample of 60)",
            f"import numpy as np\ncase_x = np.random.default_rng({rng.randint(1, 10**6)}).lognormal(2, 0.7, 60)",
            f"{name}(case_x, {rng.randint(0, 999)})",
        ),
        _case(f"{name}(two values)", f"case_x = {_floats([round(rng.uniform(0, 9), 1), round(rng.uniform(10, 20), 1)])}", f"{name}(case_x, 7)"),
    ]
    params = {"statistic": stat, "method": method, "level": level, "replicates": reps}
    return Variant(name, f"def {name}(data, seed: int) -> tuple[float, float]", _tidy(spec), reference, tuple(cases), params)


# -- ranks -------------------------------------------------------------------------------------------


def _draw_rank(rng: random.Random) -> Variant:
    ties = rng.choice(["average", "min", "max", "dense", "ordinal"])
    order = rng.choice(["ascending", "descending"])
    nan = rng.choice(["keep", "last"])
    scale = rng.choice(["rank", "fraction"])
    name = "rank_values"
    tie_text = {
        "average": "tied values all get the average of the positions they occupy",
        "min": "tied values all get the lowest position they occupy",
        "max": "tied values all get the highest position they occupy",
        "dense": "tied values share one rank and ranks of distinct values are consecutive integers (1, 2, 3, ...)",
        "ordinal": "tied values get distinct positions in their order of appearance",
    }[ties]
    nan_text = (
        "NaN values are not ranked: their rank is NaN."
        if nan == "keep"
        else "NaN values are ranked after every number (whatever the order), all together as one group of tied "
        "values that follows the same tie rule."
    )
    size = "the number of ranked values (NaN included when they are ranked)" if ties != "dense" else "the largest dense rank"
    scale_text = "" if scale == "rank" else f" Finally divide every rank by {size}."
    spec = (
        f"Rank a list of numbers, {'smallest' if order == 'ascending' else 'largest'} first: positions run from 1; "
        f"{tie_text}.\n{nan_text}{scale_text}\n"
        "Input: `values`, a list of floats, possibly with NaN (possibly empty).\n"
        "Return a list of floats in input order."
    )
    key = "x[i]" if order == "ascending" else "-x[i]"
    value = {
        "average": "(start + stop) / 2",
        "min": "start",
        "max": "stop",
        "dense": "group",
        "ordinal": None,
    }[ties]
    lines = [
        "x = [float(v) for v in values]",
        "present = [i for i in range(len(x)) if not math.isnan(x[i])]",
        f"groups = [list(g) for _, g in groupby(sorted(present, key=lambda i: {key}), key=lambda i: x[i])]",
    ]
    if nan == "last":
        lines += ["missing = [i for i in range(len(x)) if math.isnan(x[i])]", "if missing:", "    groups.append(missing)"]
    lines += ["ranks = [math.nan] * len(x)", "start = 1"]
    if ties == "ordinal":
        lines += ["for members in groups:", "    for offset, i in enumerate(members):", "        ranks[i] = start + offset", "    start += len(members)"]
    else:
        lines += [
            "for group, members in enumerate(groups, start=1):",
            "    stop = start + len(members) - 1",
            "    for i in members:",
            f"        ranks[i] = float({value})",
            "    start = stop + 1",
        ]
    if scale == "fraction":
        size_code = "len(groups)" if ties == "dense" else "sum(len(g) for g in groups)"
        lines += [f"size = {size_code}", "return [r / size for r in ranks] if size else ranks"]
    else:
        lines.append("return [float(r) for r in ranks]")
    reference = _function(f"{name}(values)", lines, "import math\nfrom itertools import groupby")
    tied = [float(rng.randint(1, 6)) for _ in range(rng.randint(9, 14))]
    with_nan = [round(rng.uniform(0, 10), 1) for _ in range(8)]
    with_nan[2] = with_nan[6] = float("nan")
    with_nan[4] = with_nan[0]
    cases = [
        _case(f"{name}(values with ties)", f"case_x = {_floats(tied)}", f"{name}(case_x)"),
        _case(f"{name}(values with NaN)", f"case_x = {_floats(with_nan)}", f"{name}(case_x)"),
        _case(f"{name}(distinct values)", f"case_x = {_floats(rng.sample(range(-20, 40), 7))}", f"{name}(case_x)"),
        _case(f"{name}(all equal)", f"case_x = {_floats([3.5] * 4)}", f"{name}(case_x)"),
        _case(f"{name}(only NaN)", "case_x = [float('nan'), float('nan')]", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"ties": ties, "order": order, "nan": nan, "scale": scale}
    return Variant(name, f"def {name}(values) -> list[float]", _tidy(spec), reference, tuple(cases), params)


# -- two-sample tests --------------------------------------------------------------------------------

_TWO_SAMPLE = {
    "welch_t": "Welch's t-test (unequal variances; Welch-Satterthwaite degrees of freedom), what "
    "scipy.stats.ttest_ind(x, y, equal_var=False, alternative=...) computes",
    "student_t": "Student's t-test (pooled variance, n1 + n2 - 2 degrees of freedom), what "
    "scipy.stats.ttest_ind(x, y, equal_var=True, alternative=...) computes",
    "mann_whitney_cc": "the Mann-Whitney U test with the normal approximation: U1 = (sum of the ranks of x in the "
    "pooled sample, ties averaged) - n1 (n1 + 1) / 2; sd = sqrt(n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1)))) "
    "over tie groups of size t; z = (U - n1 n2 / 2 - 0.5) / sd with U = max(U1, U2) for two-sided (p = 2 * sf(z), at "
    "most 1), U = U1 for 'greater' and U = U2 = n1 n2 - U1 for 'less' (p = sf(z)); this is "
    "scipy.stats.mannwhitneyu(x, y, use_continuity=True, method='asymptotic', alternative=...)",
    "mann_whitney": "the Mann-Whitney U test with the normal approximation and no continuity correction: "
    "U1 = (sum of the ranks of x in the pooled sample, ties averaged) - n1 (n1 + 1) / 2; "
    "sd = sqrt(n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1)))) over tie groups of size t; "
    "z = (U - n1 n2 / 2) / sd with U = max(U1, U2) for two-sided (p = 2 * sf(z), at most 1), U = U1 for "
    "'greater' and U = U2 = n1 n2 - U1 for 'less' (p = sf(z)); this is "
    "scipy.stats.mannwhitneyu(x, y, use_continuity=False, method='asymptotic', alternative=...)",
}


def _two_sample_reference(name: str, test: str, alternative: str, output: str, transform: str = "none") -> str:
    lines = ["x, y = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))"] if transform == "log" else []
    if test.endswith("_t"):
        lines.append(f"result = ttest_ind(x, y, equal_var={test == 'student_t'}, alternative=\"{alternative}\")")
        lines.append("return float(result.statistic)" if output == "statistic" else "return float(result.pvalue)")
        imports = ("import numpy as np\n" if transform == "log" else "") + "from scipy.stats import ttest_ind"
        return _function(f"{name}(x, y)", lines, imports)
    lines += [
        "x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)",
        "n1, n2 = x.size, y.size",
        "pooled = np.concatenate([x, y])",
        "u1 = float(rankdata(pooled)[:n1].sum() - n1 * (n1 + 1) / 2)",
    ]
    if output == "statistic":
        return _function(f"{name}(x, y)", [*lines, "return u1"], "import numpy as np\nfrom scipy.stats import rankdata")
    u = {"two-sided": "max(u1, n1 * n2 - u1)", "greater": "u1", "less": "n1 * n2 - u1"}[alternative]
    shift = " - 0.5" if test == "mann_whitney_cc" else ""
    lines += [
        "n = pooled.size",
        "_, tie_sizes = np.unique(pooled, return_counts=True)",
        "sd = np.sqrt(n1 * n2 / 12 * ((n + 1) - np.sum(tie_sizes**3 - tie_sizes) / (n * (n - 1))))",
        f"z = ({u} - n1 * n2 / 2{shift}) / sd",
        "return float(min(1.0, 2 * norm.sf(z)))" if alternative == "two-sided" else "return float(norm.sf(z))",
    ]
    return _function(f"{name}(x, y)", lines, "import numpy as np\nfrom scipy.stats import norm, rankdata")


def _draw_two_sample(rng: random.Random) -> Variant:
    test = rng.choice(sorted(_TWO_SAMPLE))
    output = rng.choice(["p", "p", "statistic"])
    alternative = rng.choice(["two-sided", "greater", "less"]) if output == "p" else None
    if output == "statistic" and test == "mann_whitney":
        test = "mann_whitney_cc"  # U does not depend on the correction: one task
    # ranks do not change under a log transform: only the t-tests get one
    transform = rng.choice(["none", "log"]) if test.endswith("_t") else "none"
    name = "two_sample_test"
    alt_text = {
        "two-sided": "two-sided",
        "greater": "one-sided, alternative 'greater' (x tends to be larger than y)",
        "less": "one-sided, alternative 'less' (x tends to be smaller than y)",
        None: "",
    }[alternative]
    stat_text = "the t statistic (x minus y)" if test.endswith("_t") else "the U statistic of x, U1"
    out_text = f"Return the {alt_text} p-value as a float." if output == "p" else f"Return {stat_text} as a float."
    log_text = "First replace every value by its natural log (all values are positive).\n" if transform == "log" else ""
    spec = (
        f"Compare two independent samples x and y with {_TWO_SAMPLE[test]}.\n{log_text}"
        "Input: `x` and `y`, lists or 1-D numpy arrays of positive finite numbers, each with at least two values "
        "and not all values equal.\n"
        f"{out_text}"
    )
    reference = _two_sample_reference(name, test, alternative or "two-sided", output, transform)
    shift = rng.uniform(0.5, 3)
    x = [round(abs(rng.gauss(10 + shift, 2.5)) + 0.1, 1) for _ in range(rng.randint(8, 15))]
    y = [round(abs(rng.gauss(10, 1.5)) + 0.1, 1) for _ in range(rng.randint(8, 15))]
    ties_x = [float(rng.randint(1, 6)) for _ in range(rng.randint(6, 10))]
    ties_y = [float(rng.randint(2, 7)) for _ in range(rng.randint(6, 10))]
    small_x = [round(rng.uniform(0.5, 5), 2) for _ in range(3)]
    small_y = [round(rng.uniform(3, 9), 2) for _ in range(4)]
    seed = rng.randint(1, 10**6)
    cases = [
        _case(f"{name}(shifted samples)", f"case_x = {_floats(x)}\ncase_y = {_floats(y)}", f"{name}(case_x, case_y)"),
        _case(f"{name}(reversed roles)", f"case_x = {_floats(y)}\ncase_y = {_floats(x)}", f"{name}(case_x, case_y)"),
        _case(f"{name}(tied integer data)", f"case_x = {_floats(ties_x)}\ncase_y = {_floats(ties_y)}", f"{name}(case_x, case_y)"),
        _case(f"{name}(small samples)", f"case_x = {_floats(small_x)}\ncase_y = {_floats(small_y)}", f"{name}(case_x, case_y)"),
        _case(
            f"{name}(seeded skewed samples)",
            f"import numpy as np\ncase_g = np.random.default_rng({seed})\n"
            "case_x = case_g.exponential(2.0, 25)\ncase_y = case_g.exponential(1.4, 18)",
            f"{name}(case_x, case_y)",
        ),
    ]
    params = {"test": test, "alternative": alternative, "output": output, "transform": transform}
    return Variant(name, f"def {name}(x, y) -> float", _tidy(spec), reference, tuple(cases), params)


# -- binomial proportion confidence intervals ---------------------------------------------------------

_PROPORTION = {
    "wald": "the Wald interval p +/- z sqrt(p (1 - p) / n), p = k / n",
    "wilson": "the Wilson score interval (p + z^2 / (2n)) / (1 + z^2 / n) +/- z / (1 + z^2 / n) * "
    "sqrt(p (1 - p) / n + z^2 / (4 n^2)), p = k / n",
    "wilson_cc": "the Wilson score interval with continuity correction (Newcombe 1998): lower = (2 n p + z^2 - 1 - "
    "z sqrt(z^2 - 2 - 1/n + 4 p (n (1 - p) + 1))) / (2 (n + z^2)), upper = (2 n p + z^2 + 1 + z sqrt(z^2 + 2 - 1/n + "
    "4 p (n (1 - p) - 1))) / (2 (n + z^2)), p = k / n; the lower limit is 0 when k = 0 and the upper limit 1 when k = n",
    "agresti_coull": "the Agresti-Coull interval: n' = n + z^2, p' = (k + z^2 / 2) / n', p' +/- z sqrt(p' (1 - p') / n')",
    "clopper_pearson": "the Clopper-Pearson exact interval: lower = Beta quantile at (1 - level) / 2 with shape "
    "(k, n - k + 1) (0 when k = 0), upper = Beta quantile at (1 + level) / 2 with shape (k + 1, n - k) (1 when k = n)",
    "jeffreys": "the Jeffreys interval: Beta(k + 0.5, n - k + 0.5) quantiles at (1 - level) / 2 and (1 + level) / 2, "
    "with the lower limit set to 0 when k = 0 and the upper limit set to 1 when k = n (Brown, Cai and DasGupta's "
    "boundary modification, which statsmodels' proportion_confint does not apply)",
}


def _draw_proportion(rng: random.Random) -> Variant:
    method = rng.choice(sorted(_PROPORTION))
    level = rng.choice([0.8, 0.9, 0.95, 0.99])
    clip = rng.choice([True, False]) if method in ("wald", "agresti_coull") else None
    name = "proportion_ci"
    clip_text = {
        True: "\nClip both limits to [0, 1].",
        False: "\nDo not clip the limits (they may leave [0, 1]).",
        None: "",
    }[clip]
    spec = (
        f"Compute a two-sided {level:g} confidence interval for a binomial proportion from k successes in n "
        f"trials with {_PROPORTION[method]}. z = Phi^-1(1 - (1 - {level:g}) / 2), the exact standard normal "
        f"quantile.{clip_text}\n"
        "Input: `k` and `n`, ints with n >= 1 and 0 <= k <= n.\n"
        "Return a tuple of two floats (lower, upper)."
    )
    lines = [f"z = norm.ppf(1 - (1 - {level}) / 2)", "p = k / n"]
    imports = "import math\n\nfrom scipy.stats import norm"
    if method == "wald":
        lines += ["half = z * math.sqrt(p * (1 - p) / n)", "lo, hi = p - half, p + half"]
    elif method == "wilson":
        lines += [
            "center = (p + z**2 / (2 * n)) / (1 + z**2 / n)",
            "half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))",
            "lo, hi = center - half, center + half",
        ]
    elif method == "wilson_cc":
        lines += [
            "denom = 2 * (n + z**2)",
            "lo = 0.0 if k == 0 else (2 * n * p + z**2 - 1 - z * math.sqrt(z**2 - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))) / denom",
            "hi = 1.0 if k == n else (2 * n * p + z**2 + 1 + z * math.sqrt(z**2 + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))) / denom",
        ]
    elif method == "agresti_coull":
        lines += [
            "n2 = n + z**2",
            "p2 = (k + z**2 / 2) / n2",
            "half = z * math.sqrt(p2 * (1 - p2) / n2)",
            "lo, hi = p2 - half, p2 + half",
        ]
    elif method == "clopper_pearson":
        imports = "from scipy.stats import beta"
        lines = [
            f"lo = 0.0 if k == 0 else beta.ppf((1 - {level}) / 2, k, n - k + 1)",
            f"hi = 1.0 if k == n else beta.ppf((1 + {level}) / 2, k + 1, n - k)",
        ]
    else:
        imports = "from scipy.stats import beta"
        lines = [
            f"lo = 0.0 if k == 0 else beta.ppf((1 - {level}) / 2, k + 0.5, n - k + 0.5)",
            f"hi = 1.0 if k == n else beta.ppf((1 + {level}) / 2, k + 0.5, n - k + 0.5)",
        ]
    if clip:
        lines.append("lo, hi = max(0.0, lo), min(1.0, hi)")
    lines.append("return (float(lo), float(hi))")
    reference = _function(f"{name}(k, n)", lines, imports)
    n1 = rng.randint(20, 200)
    n2 = rng.randint(5, 15)
    pairs = [
        (rng.randint(1, n1 - 1), n1),
        (rng.randint(1, 3), n2),
        (0, rng.randint(4, 30)),
        (n2, n2),
        (rng.randint(400, 900), 1000),
        (1, 1),
    ]
    cases = [_case(f"{name}({k}, {n})", "", f"{name}({k}, {n})") for k, n in pairs]
    params = {"method": method, "level": level, "clip": clip}
    return Variant(name, f"def {name}(k: int, n: int) -> tuple[float, float]", _tidy(spec), reference, tuple(cases), params)


# -- permutation test ----------------------------------------------------------------------------------


def _draw_permutation(rng: random.Random) -> Variant:
    stat = rng.choice(["mean", "median"])
    reps = rng.choice([99, 249, 499])
    alternative = rng.choice(["two-sided", "greater", "less"])
    plus_one = rng.choice([True, False])
    name = "permutation_test"
    compare = {
        "two-sided": "|T*| >= |T|",
        "greater": "T* >= T",
        "less": "T* <= T",
    }[alternative]
    p_text = f"(count + 1) / ({reps} + 1)" if plus_one else f"count / {reps}"
    spec = (
        f"Two-sample permutation test for a difference in {stat}s. The statistic is T = {stat}(x) - {stat}(y). "
        f"Follow exactly this procedure: rng = numpy.random.default_rng(seed); pooled = x followed by y (as one "
        f"float array); repeat {reps} times: perm = rng.permutation(pooled), T* = {stat}(perm[:len(x)]) - "
        f"{stat}(perm[len(x):]). count = the number of permutations with {compare}. Return the p-value {p_text}.\n"
        "Input: `x` and `y`, lists of numbers (at least one value each); `seed`, an int.\n"
        "Return a float."
    )
    test = {"two-sided": "abs(t) >= abs(observed)", "greater": "t >= observed", "less": "t <= observed"}[alternative]
    lines = [
        "x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)",
        "rng = np.random.default_rng(seed)",
        "pooled = np.concatenate([x, y])",
        f"observed = np.{stat}(x) - np.{stat}(y)",
        "count = 0",
        f"for _ in range({reps}):",
        "    perm = rng.permutation(pooled)",
        f"    t = np.{stat}(perm[: x.size]) - np.{stat}(perm[x.size :])",
        f"    if {test}:",
        "        count += 1",
        f"return (count + 1) / ({reps} + 1)" if plus_one else f"return count / {reps}",
    ]
    reference = _function(f"{name}(x, y, seed)", lines, "import numpy as np")

    def ints(n: int, lo: int, hi: int) -> list[int]:
        return [rng.randint(lo, hi) for _ in range(n)]

    shift = rng.randint(1, 4)
    cases = [
        _case(f"{name}(shifted integer samples)", f"case_x = {ints(8, shift, 10 + shift)}\ncase_y = {ints(9, 0, 10)}", f"{name}(case_x, case_y, {rng.randint(0, 10**6)})"),
        _case(f"{name}(similar samples)", f"case_x = {ints(7, 0, 12)}\ncase_y = {ints(10, 0, 12)}", f"{name}(case_x, case_y, {rng.randint(0, 10**6)})"),
        _case(f"{name}(clear separation)", f"case_x = {ints(6, 20, 30)}\ncase_y = {ints(6, 0, 10)}", f"{name}(case_x, case_y, {rng.randint(0, 10**6)})"),
        _case(f"{name}(reversed separation)", f"case_x = {ints(5, 0, 8)}\ncase_y = {ints(7, 12, 25)}", f"{name}(case_x, case_y, {rng.randint(0, 10**6)})"),
        _case(f"{name}(one value each)", f"case_x = [{rng.randint(0, 5)}]\ncase_y = [{rng.randint(6, 9)}]", f"{name}(case_x, case_y, 3)"),
    ]
    params = {"statistic": stat, "permutations": reps, "alternative": alternative, "plus_one": plus_one}
    return Variant(name, f"def {name}(x, y, seed: int) -> float", _tidy(spec), reference, tuple(cases), params)


# -- test split: Hardy-Weinberg equilibrium -------------------------------------------------------------

_HWE_OUTPUT = {
    "chi2_stat": "the chi-square statistic sum (O - E)^2 / E over the three genotype classes",
    "chi2_p": "the chi-square p-value (1 degree of freedom) of that statistic",
    "exact_p": "the exact test p-value (Wigginton, Cutler & Abecasis 2005): with N individuals and n_A copies of "
    "allele A fixed, P(h) = 2^h N! n_A! n_B! / (n_AA! h! n_BB! (2N)!) for every heterozygote count h of the same "
    "parity as n_A (n_AA = (n_A - h) / 2, n_BB = (n_B - h) / 2); the p-value is the sum of P(h) over the h with "
    "P(h) <= P(observed) * (1 + 1e-9), at most 1",
    "maf": "the minor allele frequency min(p, q)",
    "inbreeding": "the inbreeding coefficient F = 1 - (observed heterozygotes) / (expected heterozygotes)",
    "expected": "the expected counts (E_AA, E_AB, E_BB) = (N p^2, 2 N p q, N q^2) as a tuple of floats",
}


def _hwe_reference(name: str, form: str, output: str) -> str:
    if form == "counts":
        lines = ["n_aa, n_ab, n_bb = (int(v) for v in counts)"]
        header = f"{name}(counts)"
    else:
        lines = [
            "calls = [g for g in genotypes if g != \"./.\"]",
            "alleles = sorted({a for g in calls for a in g})",
            "first = alleles[0] if alleles else \"\"",
            "n_aa = sum(1 for g in calls if g[0] == first and g[1] == first)",
            "n_ab = sum(1 for g in calls if g[0] != g[1])",
            "n_bb = len(calls) - n_aa - n_ab",
        ]
        header = f"{name}(genotypes)"
    lines += [
        "n = n_aa + n_ab + n_bb",
        "n_a = 2 * n_aa + n_ab",
        "n_b = 2 * n_bb + n_ab",
        "p, q = n_a / (2 * n), n_b / (2 * n)",
    ]
    if output in ("chi2_stat", "chi2_p"):
        lines += [
            "if n_a == 0 or n_b == 0:",
            "    return 0.0" if output == "chi2_stat" else "    return 1.0",
            "expected = [n * p * p, 2 * n * p * q, n * q * q]",
            "stat = sum((o - e) ** 2 / e for o, e in zip((n_aa, n_ab, n_bb), expected))",
            "return float(stat)" if output == "chi2_stat" else "return float(chi2.sf(stat, 1))",
        ]
        imports = "from scipy.stats import chi2"
    elif output == "exact_p":
        lines += [
            "",
            "def log_prob(h):",
            "    aa, bb = (n_a - h) // 2, (n_b - h) // 2",
            "    return (h * math.log(2) + math.lgamma(n + 1) + math.lgamma(n_a + 1) + math.lgamma(n_b + 1)",
            "            - math.lgamma(aa + 1) - math.lgamma(h + 1) - math.lgamma(bb + 1) - math.lgamma(2 * n + 1))",
            "",
            "observed = math.exp(log_prob(n_ab))",
            "total = 0.0",
            "for h in range(n_a % 2, min(n_a, n_b) + 1, 2):",
            "    prob = math.exp(log_prob(h))",
            "    if prob <= observed * (1 + 1e-9):",
            "        total += prob",
            "return min(1.0, total)",
        ]
        imports = "import math"
    elif output == "maf":
        lines.append("return min(p, q)")
        imports = ""
    elif output == "inbreeding":
        lines += ["expected_het = 2 * n * p * q", "return 1 - n_ab / expected_het if expected_het > 0 else math.nan"]
        imports = "import math"
    else:
        lines.append("return (n * p * p, 2 * n * p * q, n * q * q)")
        imports = ""
    return _function(header, lines, imports)


def _draw_hwe(rng: random.Random) -> Variant:
    form = rng.choice(["counts", "genotypes"])
    output = rng.choice(sorted(_HWE_OUTPUT))
    name = "hardy_weinberg"
    out_text = f"Return {_HWE_OUTPUT[output]}" + ("." if output == "expected" else " as a float.")
    if form == "counts":
        in_text = "`counts`, a tuple (n_AA, n_AB, n_BB) of non-negative ints with a positive sum"
    else:
        in_text = (
            "`genotypes`, a list of two-character genotype strings over two alleles (e.g. 'CC', 'CT', 'TC', 'TT'; "
            "'CT' and 'TC' are both heterozygous); the entry './.' is a missing call and is skipped. Allele A is the "
            "alphabetically first allele present. At least one call is not missing"
        )
    spec = (
        "Test a biallelic marker for Hardy-Weinberg equilibrium. With N genotyped individuals, n_A = 2 n_AA + n_AB "
        "and n_B = 2 n_BB + n_AB allele copies, p = n_A / 2N and q = n_B / 2N.\n"
        f"{out_text}\n"
        + {
            "chi2_stat": "A monomorphic marker (n_A = 0 or n_B = 0) has a statistic of 0.0.\n",
            "chi2_p": "A monomorphic marker (n_A = 0 or n_B = 0) has a p-value of 1.0.\n",
            "exact_p": "",
            "maf": "",
            "inbreeding": "A monomorphic marker (n_A = 0 or n_B = 0) has F = NaN.\n",
            "expected": "",
        }[output]
        + f"Input: {in_text}."
    )
    reference = _hwe_reference(name, form, output)
    letters = rng.sample("ACGT", 2)

    def literal(counts: tuple[int, int, int]) -> str:
        if form == "counts":
            return repr(counts)
        a, b = sorted(letters)
        calls = [a + a] * counts[0] + [rng.choice([a + b, b + a]) for _ in range(counts[1])] + [b + b] * counts[2]
        calls += ["./."] * rng.randint(0, 3)
        rng.shuffle(calls)
        return repr(calls)

    n = rng.randint(40, 120)
    p = rng.uniform(0.2, 0.8)
    sets = [
        ("near equilibrium", (round(n * p * p), round(2 * n * p * (1 - p)), round(n * (1 - p) ** 2))),
        ("heterozygote deficit", (rng.randint(15, 30), rng.randint(2, 8), rng.randint(10, 25))),
        ("heterozygote excess", (rng.randint(2, 8), rng.randint(30, 50), rng.randint(2, 8))),
        ("rare allele", (rng.randint(30, 60), rng.randint(1, 3), 0)),
        ("monomorphic", (0, 0, rng.randint(5, 20))),
    ]
    cases = [_case(f"{name}({label} {c})", f"case_g = {literal(c)}", f"{name}(case_g)") for label, c in sets]
    params = {"input": form, "output": output}
    returns = "tuple[float, float, float]" if output == "expected" else "float"
    arg = "counts: tuple[int, int, int]" if form == "counts" else "genotypes: list[str]"
    return Variant(name, f"def {name}({arg}) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- test split: paired tests -----------------------------------------------------------------------------

_PAIRED = {
    "paired_t": "the paired t-test on d = x - y: t = mean(d) / (sd(d) / sqrt(n)), sd with n - 1, n - 1 degrees of "
    "freedom (what scipy.stats.ttest_rel(x, y, alternative=...) computes)",
    "wilcoxon": "the Wilcoxon signed-rank test with the normal approximation on d = x - y: drop zero differences, "
    "rank |d| (ties averaged) over the n remaining, W+ = sum of the ranks of positive d, mean n (n + 1) / 4, "
    "variance n (n + 1) (2n + 1) / 24 - sum(t^3 - t) / 48 over tie groups of size t of |d|, z = (W+ - mean) / sqrt(variance), "
    "no continuity correction; two-sided p = 2 * sf(|z|) (at most 1), 'greater' p = sf(z), 'less' p = cdf(z) (this is "
    "scipy.stats.wilcoxon(x, y, zero_method='wilcox', correction=False, method='asymptotic', alternative=...))",
    "wilcoxon_cc": "the Wilcoxon signed-rank test with the normal approximation and a continuity correction on "
    "d = x - y: drop zero differences, rank |d| (ties averaged) over the n remaining, W+ = sum of the ranks of positive "
    "d, mean n (n + 1) / 4, variance n (n + 1) (2n + 1) / 24 - sum(t^3 - t) / 48 over tie groups of size t of |d|; "
    "two-sided: z = (|W+ - mean| - 0.5) / sqrt(variance), p = 2 * sf(z) (at most 1); 'greater': z = (W+ - mean - 0.5) / "
    "sqrt(variance), p = sf(z); 'less': z = (W+ - mean + 0.5) / sqrt(variance), p = cdf(z) (this is "
    "scipy.stats.wilcoxon(x, y, zero_method='wilcox', correction=True, method='asymptotic', alternative=...))",
    "sign_test": "the exact sign test on d = x - y: drop zero differences, k = the number of positive d among the n "
    "remaining, and use the Binomial(n, 0.5) distribution: 'greater' p = P(K >= k), 'less' p = P(K <= k), "
    "two-sided p = the sum of P(K = i) over every i with P(K = i) <= P(K = k) (at most 1), as "
    "scipy.stats.binomtest(k, n, 0.5, alternative=...) computes",
}


_PAIRED_STATISTIC = {
    "paired_t": "the t statistic (for d = x - y)",
    "wilcoxon": "W+, the sum of the ranks of the positive differences (a float)",
    "sign_test": "k, the number of positive differences (an int)",
}


def _paired_reference(name: str, test: str, alternative: str, output: str) -> str:
    if test == "paired_t":
        field = "statistic" if output == "statistic" else "pvalue"
        lines = [f'return float(ttest_rel(x, y, alternative="{alternative}").{field})']
        return _function(f"{name}(x, y)", lines, "from scipy.stats import ttest_rel")
    lines = ["d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)", "d = d[d != 0]"]
    if test == "sign_test":
        if output == "statistic":
            return _function(f"{name}(x, y)", [*lines, "return int(np.sum(d > 0))"], "import numpy as np")
        lines.append(f'return float(binomtest(int(np.sum(d > 0)), d.size, 0.5, alternative="{alternative}").pvalue)')
        return _function(f"{name}(x, y)", lines, "import numpy as np\nfrom scipy.stats import binomtest")
    lines += ["n = d.size", "ranks = rankdata(np.abs(d))", "w_plus = float(ranks[d > 0].sum())"]
    if output == "statistic":
        return _function(f"{name}(x, y)", [*lines, "return w_plus"], "import numpy as np\nfrom scipy.stats import rankdata")
    lines += [
        "_, tie_sizes = np.unique(np.abs(d), return_counts=True)",
        "sd = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(tie_sizes**3 - tie_sizes) / 48)",
        "diff = w_plus - n * (n + 1) / 4",
    ]
    cc = test == "wilcoxon_cc"
    if alternative == "two-sided":
        lines += [f"z = (abs(diff){' - 0.5' if cc else ''}) / sd", "return float(min(1.0, 2 * norm.sf(z)))"]
    elif alternative == "greater":
        lines += [f"z = (diff{' - 0.5' if cc else ''}) / sd", "return float(norm.sf(z))"]
    else:
        lines += [f"z = (diff{' + 0.5' if cc else ''}) / sd", "return float(norm.cdf(z))"]
    return _function(f"{name}(x, y)", lines, "import numpy as np\nfrom scipy.stats import norm, rankdata")


def _draw_paired(rng: random.Random) -> Variant:
    test = rng.choice(sorted(_PAIRED))
    output = rng.choice(["p", "p", "statistic"])
    alternative = rng.choice(["two-sided", "greater", "less"]) if output == "p" else None
    if output == "statistic" and test == "wilcoxon_cc":
        test = "wilcoxon"  # W+ does not depend on the correction: one task
    name = "paired_test"
    if output == "p":
        alt_text = {
            "two-sided": "two-sided",
            "greater": "one-sided 'greater' (x tends to exceed y)",
            "less": "one-sided 'less' (x tends to be below y)",
        }[alternative]
        out_text = f"Return the {alt_text} p-value as a float."
    else:
        out_text = f"Return {_PAIRED_STATISTIC[test]}."
    spec = (
        f"Compare paired measurements x[i], y[i] (before/after on the same subjects) with {_PAIRED[test]}.\n"
        "Input: `x` and `y`, lists or 1-D numpy arrays of finite numbers of equal length, with at least three "
        "non-zero differences that are not all equal.\n"
        f"{out_text}"
    )
    reference = _paired_reference(name, test, alternative or "two-sided", output)
    n1 = rng.randint(10, 20)
    before = [round(rng.gauss(100, 15), 1) for _ in range(n1)]
    effect = rng.uniform(-4, 6)
    after = [round(b + effect + rng.gauss(0, 6), 1) for b in before]
    after[0] = before[0]  # one zero difference
    ints_b = [rng.randint(1, 9) for _ in range(12)]
    ints_a = [b + rng.choice([-2, -1, 0, 1, 1, 2, 3]) for b in ints_b]
    ints_a[:3] = [ints_b[0] + 1, ints_b[1] + 2, ints_b[2] - 1]  # non-zero differences, not all equal
    small_b = [round(rng.uniform(5, 10), 1) for _ in range(6)]
    small_a = [round(b + rng.choice([-1, 1]) * rng.uniform(0.2, 2), 1) for b in small_b]
    small_a[0] = round(small_b[0] + 1.5, 1)
    small_a[1] = round(small_b[1] - 0.7, 1)
    seed = rng.randint(1, 10**6)
    cases = [
        _case(f"{name}(before/after with a zero difference)", f"case_x = {_floats(after)}\ncase_y = {_floats(before)}", f"{name}(case_x, case_y)"),
        _case(f"{name}(swapped)", f"case_x = {_floats(before)}\ncase_y = {_floats(after)}", f"{name}(case_x, case_y)"),
        _case(f"{name}(tied integer scores)", f"case_x = {ints_a}\ncase_y = {ints_b}", f"{name}(case_x, case_y)"),
        _case(f"{name}(six pairs)", f"case_x = {_floats(small_a)}\ncase_y = {_floats(small_b)}", f"{name}(case_x, case_y)"),
        _case(
            f"{name}(seeded pairs)",
            f"import numpy as np\ncase_g = np.random.default_rng({seed})\ncase_y = case_g.normal(50, 10, 30).round(1)\n"
            "case_x = (case_y + case_g.normal(1.5, 4, 30)).round(1)",
            f"{name}(case_x, case_y)",
        ),
    ]
    params = {"test": test, "alternative": alternative, "output": output}
    returns = "int" if (output == "statistic" and test == "sign_test") else "float"
    return Variant(name, f"def {name}(x, y) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- test split: standardised mean differences --------------------------------------------------------

_POOLED = "s_p = sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2))"
_SMD = {
    "cohen_d": f"Cohen's d: (mean(x) - mean(y)) / s_p with the pooled SD {_POOLED}",
    "hedges_g": f"Hedges' g: Cohen's d (pooled SD {_POOLED}) times the exact correction "
    "J = Gamma(df / 2) / (sqrt(df / 2) Gamma((df - 1) / 2)), df = n1 + n2 - 2",
    "hedges_g_approx": f"Hedges' g with the approximate correction: Cohen's d (pooled SD {_POOLED}) times "
    "J = 1 - 3 / (4 (n1 + n2) - 9)",
    "glass_delta": "Glass's delta: (mean(x) - mean(y)) / s2, the SD of the control group y only",
    "cohen_d_av": "Cohen's d_av: (mean(x) - mean(y)) / sqrt((s1^2 + s2^2) / 2)",
}


def _draw_smd(rng: random.Random) -> Variant:
    measure = rng.choice(sorted(_SMD))
    output = rng.choice(["estimate", "ci"])
    level = rng.choice([0.9, 0.95, 0.99]) if output == "ci" else None
    name = "standardized_difference"
    if output == "ci":
        out_text = (
            f"Return a tuple (estimate, lower, upper) with the normal-approximation {level:g} interval estimate "
            "+/- z * sqrt((n1 + n2) / (n1 n2) + estimate^2 / (2 (n1 + n2))), z = Phi^-1(1 - (1 - level) / 2) exact."
        )
    else:
        out_text = "Return the estimate as a float."
    spec = (
        f"Compute the standardised mean difference between a treated group x and a control group y as "
        f"{_SMD[measure]}; s1 and s2 are the sample SDs (n - 1) of x and y.\n"
        "Input: `x` and `y`, lists or 1-D numpy arrays of finite numbers with at least two values each and a "
        "positive SD in each group.\n"
        f"{out_text}"
    )
    lines = [
        "x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)",
        "n1, n2 = x.size, y.size",
        "s1, s2 = x.std(ddof=1), y.std(ddof=1)",
        "diff = x.mean() - y.mean()",
    ]
    pooled = "sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))"
    lines += {
        "cohen_d": [pooled, "est = diff / sp"],
        "hedges_g": [
            pooled,
            "df = n1 + n2 - 2",
            "j = math.exp(math.lgamma(df / 2) - math.lgamma((df - 1) / 2)) / math.sqrt(df / 2)",
            "est = diff / sp * j",
        ],
        "hedges_g_approx": [pooled, "est = diff / sp * (1 - 3 / (4 * (n1 + n2) - 9))"],
        "glass_delta": ["est = diff / s2"],
        "cohen_d_av": ["est = diff / math.sqrt((s1**2 + s2**2) / 2)"],
    }[measure]
    imports = "import math\n\nimport numpy as np"
    if output == "ci":
        imports += "\nfrom scipy.stats import norm"
        lines += [
            f"z = norm.ppf(1 - (1 - {level}) / 2)",
            "se = math.sqrt((n1 + n2) / (n1 * n2) + est**2 / (2 * (n1 + n2)))",
            "return (float(est), float(est - z * se), float(est + z * se))",
        ]
    else:
        lines.append("return float(est)")
    reference = _function(f"{name}(x, y)", lines, imports)
    groups = []
    for _ in range(3):
        sx, sy = rng.uniform(1, 4), rng.uniform(1, 4)
        mx = rng.uniform(8, 14)
        groups.append(
            ([round(rng.gauss(mx, sx), 2) for _ in range(rng.randint(5, 20))],
             [round(rng.gauss(10, sy), 2) for _ in range(rng.randint(5, 20))])
        )
    cases = [
        _case(f"{name}(groups of {len(x)} and {len(y)})", f"case_x = {_floats(x)}\ncase_y = {_floats(y)}", f"{name}(case_x, case_y)")
        for x, y in groups
    ]
    cases += [
        _case(f"{name}(two values each)", f"case_x = [1.0, {round(rng.uniform(2, 5), 1)}]\ncase_y = [0.5, {round(rng.uniform(1, 3), 1)}]", f"{name}(case_x, case_y)"),
        _case(
            f"{name}(seeded unequal spreads)",
            f"import numpy as np\ncase_g = np.random.default_rng({rng.randint(1, 10**6)})\n"
            "case_x = case_g.normal(5, 1, 12)\ncase_y = case_g.normal(4, 3, 30)",
            f"{name}(case_x, case_y)",
        ),
    ]
    params = {"measure": measure, "output": output, "level": level}
    returns = "tuple[float, float, float]" if output == "ci" else "float"
    return Variant(name, f"def {name}(x, y) -> {returns}", _tidy(spec), reference, tuple(cases), params)


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("adjust_pvalues", "train", _draw_adjust_pvalues, "multiple-testing correction"),
    FunctionTemplate("association_test_2x2", "train", _draw_association, "Fisher, chi-square and G tests of a 2x2 table"),
    FunctionTemplate("effect_with_ci_2x2", "train", _draw_effect_2x2, "odds ratio, risk ratio, risk difference with CIs"),
    FunctionTemplate("diversity_index", "train", _draw_diversity, "Shannon, Simpson, Hill and Chao1 diversity"),
    FunctionTemplate("bootstrap_ci", "train", _draw_bootstrap, "seeded bootstrap confidence intervals"),
    FunctionTemplate("rank_values", "train", _draw_rank, "ranks with tie, order and NaN rules"),
    FunctionTemplate("two_sample_test", "train", _draw_two_sample, "t-tests and Mann-Whitney U"),
    FunctionTemplate("proportion_ci", "train", _draw_proportion, "binomial proportion confidence intervals"),
    FunctionTemplate("permutation_test", "train", _draw_permutation, "seeded two-sample permutation test"),
    FunctionTemplate("hardy_weinberg", "test", _draw_hwe, "Hardy-Weinberg chi-square and exact tests"),
    FunctionTemplate("paired_test", "test", _draw_paired, "paired t, Wilcoxon signed-rank and sign tests"),
    FunctionTemplate("standardized_difference", "test", _draw_smd, "Cohen's d, Hedges' g, Glass's delta"),
)
