"""Numeric-array functions (category ``numeric_arrays``): smoothing, peaks, normalisation,
binning, gap filling and transforms of expression values, each with its conventions drawn per variant.

The tabular family (``fn_tabular``) owns count normalisation (CPM, TPM), the most variable genes and
quantile normalisation, which it asks in its test split: none of those is asked here.

What makes two variants different tasks is always a convention that changes the numbers (a window,
an edge rule, a tie rule, a threshold, an output form), never a name: the hidden cases are built so
that every such change shows in at least one of them (signals whose ends differ from their middle,
plateaus and edge peaks, tied values, values on bin edges). Inputs are literal lists drawn from the
template's random stream, or arrays from a seeded ``np.random.default_rng`` written into the case.

References use numpy and scipy only (the base install), and each one is written for its variant:
no unused branches, since the oracle's trajectories are also demonstrations.
"""

from __future__ import annotations

import math
import random
import textwrap
from collections.abc import Sequence

from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.datasets.biocoder.spec import floats_literal as _floats, case as _case, tidy_spec as _tidy

# -- small builders shared by the templates below ------------------------------------------------


def _matrix(rows: Sequence[Sequence[float]]) -> str:
    return "[" + ", ".join(_floats(r) for r in rows) + "]"


def _signal(rng: random.Random, n: int, scale: float = 3.0, digits: int = 2) -> list[float]:
    """A wandering signal (random walk plus noise): its ends differ from its middle."""
    level, out = rng.uniform(-5, 5), []
    for _ in range(n):
        level += rng.gauss(0, scale / 3)
        out.append(round(level + rng.gauss(0, scale), digits))
    return out


def _source(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


# -- moving average --------------------------------------------------------------------------------


def _draw_moving_average(rng: random.Random) -> Variant:
    edges = rng.choice(["shrink", "valid", "nearest", "zero"])
    if edges == "valid":
        window, align = rng.randint(2, 11), None
        params: dict = {"window": window, "edges": edges}
    else:
        align = rng.choice(["centered", "trailing"])
        window = rng.choice([3, 5, 7, 9, 11]) if align == "centered" else rng.randint(2, 9)
        params = {"window": window, "align": align, "edges": edges}
    left, right = (window // 2, window // 2) if align == "centered" else (window - 1, 0)
    name = "moving_average"
    if edges == "valid":
        where = f"each output value is the mean of {window} consecutive values"
    elif align == "centered":
        where = f"output[i] is the mean of values[i-{left}] .. values[i+{right}] (a centred window of {window})"
    else:
        where = f"output[i] is the mean of values[i-{window - 1}] .. values[i] (a trailing window of {window})"
    edge_text = {
        "shrink": "Where the window runs past either end of the signal, average only the positions that "
        "exist (the window shrinks there). The output has the input's length.",
        "valid": f"Only positions whose whole window lies inside the signal are computed: the output has "
        f"length n - {window - 1} (an empty array when the signal is shorter than {window}); "
        f"output[0] is the mean of values[0..{window - 1}].",
        "nearest": "Positions before the start take the first value and positions past the end take the "
        "last value (edge replication). The output has the input's length.",
        "zero": f"Positions outside the signal count as 0.0 and the mean always divides by {window}. "
        "The output has the input's length.",
    }[edges]
    spec = (
        f"Smooth a 1-D numeric signal with a moving average: {where}.\n"
        f"Edges: {edge_text}\n"
        "Input: `values`, a list or 1-D numpy array of finite numbers (possibly empty).\n"
        "Return a 1-D numpy array of floats (no rounding). An empty input returns an empty float array."
    )
    if edges == "valid":
        body = f"""
            if x.size < {window}:
                return np.empty(0)
            return np.convolve(x, np.ones({window}) / {window}, mode="valid")
        """
    elif edges == "shrink":
        body = f"""
            out = np.empty(x.size)
            for i in range(x.size):
                out[i] = x[max(0, i - {left}) : i + {right + 1}].mean()
            return out
        """
    else:
        mode = "edge" if edges == "nearest" else "constant"
        body = f"""
            if x.size == 0:
                return np.empty(0)
            padded = np.pad(x, ({left}, {right}), mode="{mode}")
            return np.convolve(padded, np.ones({window}) / {window}, mode="valid")
        """
    reference = _source(
        f"""
        import numpy as np


        def {name}(values):
            x = np.asarray(values, dtype=float)
        """
    ) + textwrap.indent(_source(body), "    ")
    n1 = rng.randint(14, 30)
    seed = rng.randint(1, 10**6)
    cases = [
        _case(f"{name}(signal of {n1} values)", f"case_x = {_floats(_signal(rng, n1))}", f"{name}(case_x)"),
        _case(
            f"{name}(numpy signal of 40 values)",
            f"import numpy as np\ncase_x = np.random.default_rng({seed}).normal(2.0, 1.5, 40).round(3)",
            f"{name}(case_x)",
        ),
        _case(f"{name}(spike)", f"case_x = {[0] * 6 + [rng.randint(5, 20)] + [0] * 6}", f"{name}(case_x)"),
        _case(
            f"{name}(signal shorter than the window)",
            f"case_x = {_floats(_signal(rng, max(1, window - 1)))}",
            f"{name}(case_x)",
        ),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    return Variant(name, f"def {name}(values) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- running median --------------------------------------------------------------------------------


def _draw_running_median(rng: random.Random) -> Variant:
    window = rng.choice([3, 5, 7, 9, 11, 13])
    # a window of 3 sees one value past the end, where 'symmetric' and 'nearest' agree
    edges = rng.choice(["shrink", "nearest", "reflect"] + (["symmetric"] if window > 3 else []))
    nan = rng.choice(["ignore", "propagate"])
    half = window // 2
    name = "running_median"
    edge_text = {
        "shrink": "where the window runs past an end, take the median of the positions that exist",
        "nearest": f"pad the signal with {half} copies of its first value before it and of its last value "
        "after it (exactly `numpy.pad(x, half, mode='edge')`)",
        "reflect": "pad the signal by mirroring it about its end samples without repeating them "
        "(x[2], x[1] | x[0], x[1], ...), exactly `numpy.pad(x, half, mode='reflect')`, which also "
        "defines signals shorter than the padding",
        "symmetric": "pad the signal by mirroring it including its end samples "
        "(x[1], x[0] | x[0], x[1], ...), exactly `numpy.pad(x, half, mode='symmetric')`, which also "
        "defines signals shorter than the padding",
    }[edges]
    nan_text = (
        "Missing values (NaN) are left out of each window's median; a window with no other value gives NaN."
        if nan == "ignore"
        else "A window that contains a NaN has a NaN median."
    )
    spec = (
        f"Compute the running median of a 1-D signal over a centred window of {window} positions "
        f"(output[i] is the median of values[i-{half}] .. values[i+{half}]; the median of an even count is "
        f"the mean of the two middle values). At the edges, {edge_text}.\n"
        f"{nan_text}\n"
        "Input: `values`, a list or 1-D numpy array of floats, possibly empty, possibly with NaN.\n"
        "Return a 1-D numpy float array of the input's length (empty for an empty input)."
    )
    median = "np.nanmedian" if nan == "ignore" else "np.median"
    if edges == "shrink":
        body = f"""
            out = np.empty(x.size)
            for i in range(x.size):
                out[i] = {median}(x[max(0, i - {half}) : i + {half + 1}])
            return out
        """
    else:
        mode = "edge" if edges == "nearest" else edges
        body = f"""
            if x.size == 0:
                return np.empty(0)
            padded = np.pad(x, {half}, mode="{mode}")
            return np.array([{median}(padded[i : i + {window}]) for i in range(x.size)])
        """
    reference = _source(
        f"""
        import numpy as np


        def {name}(values):
            x = np.asarray(values, dtype=float)
        """
    ) + textwrap.indent(_source(body), "    ")
    n1 = rng.randint(16, 30)
    noisy = _signal(rng, n1)
    for i in rng.sample(range(n1), 3):
        noisy[i] = round(noisy[i] + rng.choice([-1, 1]) * rng.uniform(15, 30), 2)
    with_nan = _signal(rng, rng.randint(12, 20))
    for i in (1, len(with_nan) // 2, len(with_nan) - 1):
        with_nan[i] = float("nan")
    cases = [
        _case(f"{name}(signal with outliers)", f"case_x = {_floats(noisy)}", f"{name}(case_x)"),
        _case(f"{name}(signal with NaN)", f"case_x = {_floats(with_nan)}", f"{name}(case_x)"),
        _case(
            f"{name}(numpy signal of 35 values)",
            f"import numpy as np\ncase_x = np.random.default_rng({rng.randint(1, 10**6)}).gamma(2.0, 2.0, 35).round(2)",
            f"{name}(case_x)",
        ),
        _case(f"{name}(short signal)", f"case_x = {_floats(_signal(rng, max(2, half)))}", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"window": window, "edges": edges, "nan": nan}
    return Variant(name, f"def {name}(values) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- peak finding ----------------------------------------------------------------------------------


def _designed_peaks(rng: random.Random) -> list[int]:
    """Peaks that separate every rule: a peak at each end, a three-wide flat top, isolated peaks at each
    height 1..6, and pairs of peaks 2, 3 and 4 apart; segments are 6 apart (past any distance asked)."""
    low = [0] * 5
    segments = [
        [rng.randint(7, 9)] * rng.randint(3, 4),  # flat top
        *([h] for h in range(1, 7)),  # isolated peaks of each height
        [rng.randint(4, 9), 0, rng.randint(4, 9)],  # 2 apart
        [rng.randint(4, 9), 0, 0, rng.randint(4, 9)],  # 3 apart
        [rng.randint(4, 9), 0, 1, 0, rng.randint(4, 9)],  # 4 apart, a small peak between
    ]
    rng.shuffle(segments)
    seq = [rng.randint(7, 9)]  # a peak at the start
    for segment in segments:
        seq += low + segment
    return seq + low + [rng.randint(7, 9)]  # and at the end


def _draw_find_peaks(rng: random.Random) -> Variant:
    height = rng.choice([None, 2, 3, 4, 5, 6])
    distance = rng.choice([1, 3, 4, 5])  # peaks are never adjacent: a distance of 2 changes nothing
    plateau = rng.choice(["left", "middle", "none"])
    endpoints = rng.choice([True, False])
    name = "find_peaks"
    plateau_text = {
        "left": "a flat top (a run of two or more equal values) rising from a lower value and falling to a "
        "lower value is one peak, at the run's first index",
        "middle": "a flat top (a run of two or more equal values) rising from a lower value and falling to a "
        "lower value is one peak, at index (first + last) // 2 of the run",
        "none": "flat tops (runs of two or more equal values) are never peaks",
    }[plateau]
    end_text = (
        "The first index is a peak when values[0] > values[1], and the last when values[-1] > values[-2] "
        "(a signal of one value has no peak; flat runs touching an end are never peaks)."
        if endpoints
        else "The first and last indices are never peaks (nor flat runs touching an end)."
    )
    rules = [
        f"An interior index i is a peak when values[i-1] < values[i] > values[i+1]; {plateau_text}.",
        end_text,
    ]
    if height is not None:
        rules.append(f"Keep only peaks whose value is >= {height}.")
    if distance > 1:
        rules.append(
            f"Then enforce a minimum distance of {distance} indices: visit the peaks from the highest value "
            "to the lowest (equal values: lower index first) and keep a peak only if it is at least "
            f"{distance} indices away from every peak already kept."
        )
    spec = (
        "Find the peaks (local maxima) of a 1-D signal.\n"
        + "\n".join(f"- {r}" for r in rules)
        + "\nInput: `values`, a list of finite numbers (possibly empty).\n"
        "Return a list of int indices in increasing order (an empty list when there is none)."
    )
    condition = "j + 1 < n and x[j + 1] < x[i]" + (" and j == i" if plateau == "none" else "")
    at = "(i + j) // 2" if plateau == "middle" else "i"
    ends = (
        """
        if n >= 2 and x[0] > x[1]:
            peaks.append(0)
        if n >= 2 and x[-1] > x[-2]:
            peaks.append(n - 1)
        """
        if endpoints
        else ""
    )
    filters = ""
    if height is not None:
        filters += f"peaks = [p for p in peaks if x[p] >= {height}]\n"
    if distance > 1:
        filters += _source(
            f"""
            kept = []
            for p in sorted(peaks, key=lambda p: (-x[p], p)):
                if all(abs(p - q) >= {distance} for q in kept):
                    kept.append(p)
            peaks = kept
            """
        )
    reference = _source(
        f"""
        def {name}(values):
            x = [float(v) for v in values]
            n = len(x)
            peaks = []
            i = 1
            while i < n - 1:
                if x[i] > x[i - 1]:
                    j = i
                    while j + 1 < n and x[j + 1] == x[i]:
                        j += 1
                    if {condition}:
                        peaks.append({at})
                    i = j + 1
                else:
                    i += 1
        """
    )
    reference += textwrap.indent(_source(ends), "    ") if ends else ""
    reference += textwrap.indent(filters, "    ") if filters else ""
    reference += "    return sorted(peaks)\n"
    random_ints = [rng.randint(0, 9) for _ in range(rng.randint(20, 32))]
    cases = [
        _case(f"{name}(designed signal)", f"case_x = {_designed_peaks(rng)}", f"{name}(case_x)"),
        _case(f"{name}(random integer signal)", f"case_x = {random_ints}", f"{name}(case_x)"),
        _case(f"{name}(float signal)", f"case_x = {_floats(_signal(rng, 25))}", f"{name}(case_x)"),
        _case(f"{name}(increasing signal)", f"case_x = {sorted(rng.sample(range(20), 6))}", f"{name}(case_x)"),
        _case(f"{name}(constant signal)", f"case_x = {[rng.randint(1, 5)] * 5}", f"{name}(case_x)"),
        _case(f"{name}(single value)", f"case_x = [{rng.randint(1, 9)}]", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"height": height, "distance": distance, "plateau": plateau, "endpoints": endpoints}
    return Variant(name, f"def {name}(values) -> list[int]", _tidy(spec), reference, tuple(cases), params)


# -- row/column standardisation -------------------------------------------------------------------

_SCALES = {
    "sd_population": ("the population standard deviation (divide by n)", "row.std()"),
    "sd_sample": (
        "the sample standard deviation (divide by n - 1; undefined, so degenerate, for a single value)",
        "row.std(ddof=1) if row.size > 1 else 0.0",
    ),
    "mad": ("the median absolute deviation from the median (unscaled)", "np.median(np.abs(row - np.median(row)))"),
    "mad_normal": (
        "1.4826 times the median absolute deviation from the median",
        "1.4826 * np.median(np.abs(row - np.median(row)))",
    ),
    "iqr": (
        "the interquartile range, 75th minus 25th percentile with linear interpolation (numpy's default)",
        "np.percentile(row, 75) - np.percentile(row, 25)",
    ),
}


def _draw_standardize(rng: random.Random) -> Variant:
    axis = rng.choice(["rows", "columns"])
    center = rng.choice(["mean", "median"])
    scale = rng.choice(sorted(_SCALES))
    degenerate = rng.choice(["zero", "nan"])
    name = "standardize"
    unit = "row (a gene across samples)" if axis == "rows" else "column (a sample across genes)"
    spec = (
        f"Standardise an expression matrix (genes in rows, samples in columns) one {unit} at a time: "
        f"subtract the {center} of that {axis[:-1]} and divide by {_SCALES[scale][0]} of that {axis[:-1]}.\n"
        f"A {axis[:-1]} whose scale is 0 (or undefined) is degenerate: all its output values are "
        + ("0.0." if degenerate == "zero" else "NaN.")
        + "\nInput: `matrix`, a list of lists or 2-D numpy array of finite numbers with at least one row "
        "and one column.\nReturn a 2-D numpy float array of the same shape (no rounding)."
    )
    fill = "0.0" if degenerate == "zero" else "np.nan"
    center_code = "row.mean()" if center == "mean" else "np.median(row)"
    data = "m.T" if axis == "columns" else "m"
    back = "out.T" if axis == "columns" else "out"
    reference = _source(
        f"""
        import numpy as np


        def {name}(matrix):
            m = np.asarray(matrix, dtype=float)
            data = {data}
            out = np.empty_like(data)
            for r, row in enumerate(data):
                scale = {_SCALES[scale][1]}
                out[r] = (row - {center_code}) / scale if scale > 0 else {fill}
            return {back}
        """
    )
    rows, cols = rng.randint(4, 6), rng.randint(5, 7)
    base = [[round(rng.uniform(0, 12), 2) for _ in range(cols)] for _ in range(rows)]
    square = [row[:] for row in base[:3]]  # a constant (integer-valued) row and a constant column
    square[1] = [float(rng.randint(2, 9))] * cols
    for row in square:
        row[0] = 4.0
    seed = rng.randint(1, 10**6)
    cases = [
        _case(f"{name}({rows}x{cols} matrix)", f"case_m = {_matrix(base)}", f"{name}(case_m)"),
        _case(
            f"{name}(numpy 8x5 log-normal matrix)",
            f"import numpy as np\ncase_m = np.random.default_rng({seed}).lognormal(1.0, 0.8, (8, 5)).round(3)",
            f"{name}(case_m)",
        ),
        _case(f"{name}(matrix with a constant row and column)", f"case_m = {_matrix(square)}", f"{name}(case_m)"),
        _case(
            f"{name}(one column)",
            f"case_m = {_matrix([[round(rng.uniform(0, 9), 1)] for _ in range(4)])}",
            f"{name}(case_m)",
        ),
        _case(
            f"{name}(one row)",
            f"case_m = {_matrix([[round(rng.uniform(0, 9), 1) for _ in range(5)]])}",
            f"{name}(case_m)",
        ),
    ]
    params = {"axis": axis, "center": center, "scale": scale, "degenerate": degenerate}
    return Variant(name, f"def {name}(matrix) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- min-max rescaling ------------------------------------------------------------------------------


def _draw_rescale(rng: random.Random) -> Variant:
    low, high = rng.choice([(0, 1), (-1, 1), (0, 100), (1, 10), (0, 255)])
    axis = rng.choice(["rows", "columns", "all"])
    degenerate = rng.choice(["low", "mid", "nan"])
    name = "rescale_range"
    scope = {
        "rows": "each row separately (its own minimum and maximum)",
        "columns": "each column separately (its own minimum and maximum)",
        "all": "the whole matrix at once (one minimum and one maximum)",
    }[axis]
    fill_text = {"low": f"{low}", "mid": f"{(low + high) / 2}", "nan": "NaN"}[degenerate]
    spec = (
        f"Min-max rescale a numeric matrix to the range [{low}, {high}], over {scope}: "
        f"y = {low} + (x - min) * ({high} - {low}) / (max - min).\n"
        "Missing values (NaN) are ignored when taking the minimum and maximum and stay NaN in the output.\n"
        f"When max == min (a constant block), every non-missing output value of that block is {fill_text}.\n"
        "Input: `matrix`, a list of lists or 2-D numpy array; every row and column has at least one "
        "non-missing value.\nReturn a 2-D numpy float array of the same shape (no rounding)."
    )
    fill = {"low": f"{float(low)}", "mid": f"{(low + high) / 2}", "nan": "np.nan"}[degenerate]
    if axis == "all":
        loop = "return scale(m)"
    elif axis == "rows":
        loop = "return np.array([scale(row) for row in m])"
    else:
        loop = "return np.array([scale(col) for col in m.T]).T"
    reference = _source(
        f"""
        import numpy as np


        def {name}(matrix):
            m = np.asarray(matrix, dtype=float)

            def scale(block):
                lo, hi = np.nanmin(block), np.nanmax(block)
                if hi == lo:
                    return np.where(np.isnan(block), np.nan, {fill})
                return {float(low)} + (block - lo) * {float(high - low)} / (hi - lo)

            {loop}
        """
    )
    rows, cols = rng.randint(3, 5), rng.randint(4, 6)
    base = [[round(rng.uniform(-20, 60), 2) for _ in range(cols)] for _ in range(rows)]
    holes = [row[:] for row in base]
    holes[0][1] = float("nan")
    holes[-1][0] = float("nan")
    const = [row[:] for row in base]
    const[1] = [7.0] * cols
    for row in const:
        row[-1] = 7.0
    cases = [
        _case(f"{name}({rows}x{cols} matrix)", f"case_m = {_matrix(base)}", f"{name}(case_m)"),
        _case(f"{name}(matrix with NaN)", f"case_m = {_matrix(holes)}", f"{name}(case_m)"),
        _case(f"{name}(constant row and column)", f"case_m = {_matrix(const)}", f"{name}(case_m)"),
        _case(
            f"{name}(numpy 6x4 matrix)",
            f"import numpy as np\ncase_m = np.random.default_rng({rng.randint(1, 10**6)}).normal(0, 5, (6, 4)).round(2)",
            f"{name}(case_m)",
        ),
        _case(f"{name}(single value)", f"case_m = [[{round(rng.uniform(1, 9), 1)}]]", f"{name}(case_m)"),
    ]
    params = {"range": [low, high], "axis": axis, "degenerate": degenerate}
    return Variant(name, f"def {name}(matrix) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- gap filling -----------------------------------------------------------------------------------


def _draw_fill_gaps(rng: random.Random) -> Variant:
    max_gap = rng.choice([None, 1, 2, 3])
    # a one-value gap's nearest known value is, on the tie, the previous one: the same task
    method = rng.choice(["linear", "previous", "next"] + (["nearest"] if max_gap != 1 else []))
    edges = rng.choice(["keep", "extend"])
    name = "fill_gaps"
    method_text = {
        "linear": "linear interpolation between the known values on either side of the gap (by index)",
        "previous": "the known value just before the gap",
        "next": "the known value just after the gap",
        "nearest": "the known value at the nearer end of the gap (by index; the one before the gap when both "
        "are equally far)",
    }[method]
    edge_text = (
        "A run of NaN at the start or the end of the signal (with a known value on one side only) stays NaN."
        if edges == "keep"
        else "A run of NaN at the start or the end of the signal (with a known value on one side only) takes the "
        "nearest known value."
    )
    gap_text = (
        f"Runs longer than {max_gap} missing value(s) are not filled at all (they stay NaN), at the edges too."
        if max_gap
        else "Runs of any length are filled."
    )
    spec = (
        "Fill the missing values (NaN) of a 1-D signal. A gap is a maximal run of consecutive NaN with a known "
        f"value on both sides; each of its positions takes {method_text}.\n{edge_text}\n{gap_text}\n"
        "Known values are never changed; an all-NaN signal stays as it is.\n"
        "Input: `values`, a list or 1-D numpy array of floats, possibly with NaN (possibly empty).\n"
        "Return a 1-D numpy float array of the input's length."
    )
    fill = {
        "linear": "out[start:stop] = x[left] + (x[right] - x[left]) * (np.arange(start, stop) - left) / (right - left)",
        "previous": "out[start:stop] = x[left]",
        "next": "out[start:stop] = x[right]",
        "nearest": "gap = np.arange(start, stop)\nout[start:stop] = np.where(gap - left <= right - gap, x[left], x[right])",
    }[method]
    lines = [
        "x = np.asarray(values, dtype=float)",
        "out = x.copy()",
        "missing = np.isnan(x)",
        "start = 0",
        "while start < x.size:",
        "    if not missing[start]:",
        "        start += 1",
        "        continue",
        "    stop = start",
        "    while stop < x.size and missing[stop]:",
        "        stop += 1",
        "    left, right = start - 1, stop  # the known neighbours, when inside the signal",
    ]
    if max_gap:
        lines += [f"    if stop - start > {max_gap}:", "        start = stop", "        continue"]
    lines += ["    if left >= 0 and right < x.size:", *("        " + ln for ln in fill.split("\n"))]
    if edges == "extend":
        lines += [
            "    elif left >= 0:",
            "        out[start:stop] = x[left]",
            "    elif right < x.size:",
            "        out[start:stop] = x[right]",
        ]
    lines += ["    start = stop", "return out"]
    reference = f"import numpy as np\n\n\ndef {name}(values):\n" + "".join(f"    {ln}\n" for ln in lines)

    def with_gaps(lengths: list[int], lead: int, trail: int) -> list[float]:
        out = [math.nan] * lead
        for length in lengths:
            out += [round(rng.uniform(-10, 10), 2) for _ in range(rng.randint(1, 3))] + [math.nan] * length
        out += [round(rng.uniform(-10, 10), 2) for _ in range(rng.randint(1, 3))]
        return out + [math.nan] * trail

    lengths = [1, 2, 3, 4, 5]
    rng.shuffle(lengths)
    cases = [
        _case(f"{name}(gaps of 1 to 5, edge gaps)", f"case_x = {_floats(with_gaps(lengths, 2, 3))}", f"{name}(case_x)"),
        _case(f"{name}(one-value edge gaps)", f"case_x = {_floats(with_gaps([2, 1], 1, 1))}", f"{name}(case_x)"),
        _case(
            f"{name}(numpy signal with random gaps)",
            f"import numpy as np\ncase_g = np.random.default_rng({rng.randint(1, 10**6)})\n"
            "case_x = case_g.normal(0, 5, 40).round(2)\ncase_x[case_g.random(40) < 0.3] = np.nan",
            f"{name}(case_x)",
        ),
        _case(f"{name}(no missing value)", f"case_x = {_floats(_signal(rng, 6))}", f"{name}(case_x)"),
        _case(f"{name}(all missing)", "case_x = [float('nan')] * 3", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"method": method, "edges": edges, "max_gap": max_gap}
    return Variant(name, f"def {name}(values) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- histogram counts -----------------------------------------------------------------------------


def _draw_histogram(rng: random.Random) -> Variant:
    closed = rng.choice(["left", "right"])
    outside = rng.choice(["drop", "clip", "tally"])
    # clipping puts a value on the outer edge into the end bin anyway: closing that edge changes nothing
    outer = rng.choice([True, False]) if outside != "clip" else False
    output = rng.choice(["counts", "fractions", "density"])
    name = "bin_values"
    if closed == "left":
        bin_text = "Bin i holds the values v with edges[i] <= v < edges[i+1]"
        outer_text = (
            "; the last bin also holds v == edges[-1]." if outer else "; a value equal to edges[-1] is in no bin."
        )
    else:
        bin_text = "Bin i holds the values v with edges[i] < v <= edges[i+1]"
        outer_text = (
            "; the first bin also holds v == edges[0]." if outer else "; a value equal to edges[0] is in no bin."
        )
    outside_text = {
        "drop": "Values in no bin are ignored.",
        "clip": "A value in no bin is counted in the first bin when v <= edges[0] and in the last bin when "
        "v >= edges[-1].",
        "tally": "Values in no bin are not counted in any bin; count separately those with v <= edges[0] "
        "(below) and v >= edges[-1] (above).",
    }[outside]
    out_text = {
        "counts": "the number of values in each bin (ints)",
        "fractions": "each bin's count divided by the number of values counted in bins (floats; all 0.0 when "
        "no value is counted)",
        "density": "each bin's count divided by (the number of values counted in bins * the bin's width) "
        "(floats; all 0.0 when no value is counted)",
    }[output]
    result = "a list with, per bin, " + out_text
    if outside == "tally":
        result = f"a tuple (per_bin, below, above): per_bin is a list with, per bin, {out_text}; below and above are ints"
    spec = (
        "Bin numeric values into the intervals defined by a list of bin edges.\n"
        f"{bin_text}{outer_text}\n{outside_text}\n"
        "NaN values are skipped entirely.\n"
        "Input: `values`, a list of floats (possibly empty, possibly with NaN); `edges`, a list of at "
        "least two strictly increasing floats (bins may have different widths).\n"
        f"Return {result}."
    )
    test = "edges[i] <= v < edges[i + 1]" if closed == "left" else "edges[i] < v <= edges[i + 1]"
    lines = [
        "edges = [float(e) for e in edges]",
        "nbins = len(edges) - 1",
        "counts = [0] * nbins",
        *(["below = above = 0"] if outside == "tally" else []),
        "for v in values:",
        "    v = float(v)",
        "    if math.isnan(v):",
        "        continue",
        f"    b = next((i for i in range(nbins) if {test}), None)",
    ]
    if outer:
        edge, first = ("edges[-1]", "nbins - 1") if closed == "left" else ("edges[0]", "0")
        lines += [f"    if b is None and v == {edge}:", f"        b = {first}"]
    lines += {
        "drop": ["    if b is None:", "        continue"],
        "clip": ["    if b is None:", "        b = 0 if v <= edges[0] else nbins - 1"],
        "tally": [
            "    if b is None:",
            "        if v <= edges[0]:",
            "            below += 1",
            "        else:",
            "            above += 1",
            "        continue",
        ],
    }[outside]
    lines.append("    counts[b] += 1")
    lines += {
        "counts": ["per_bin = counts"],
        "fractions": ["total = sum(counts)", "per_bin = [c / total if total else 0.0 for c in counts]"],
        "density": [
            "total = sum(counts)",
            "widths = [edges[i + 1] - edges[i] for i in range(nbins)]",
            "per_bin = [c / (total * w) if total else 0.0 for c, w in zip(counts, widths)]",
        ],
    }[output]
    lines.append("return (per_bin, below, above)" if outside == "tally" else "return per_bin")
    reference = f"import math\n\n\ndef {name}(values, edges):\n" + "".join(f"    {ln}\n" for ln in lines)

    def edges_grid() -> list[float]:
        start = rng.choice([0.0, -2.0, 1.0])
        widths = [rng.choice([0.5, 1.0, 1.5, 2.0]) for _ in range(rng.randint(3, 5))]
        out = [start]
        for w in widths:
            out.append(out[-1] + w)
        return out

    def values_on(edges: list[float], n: int) -> list[float]:
        lo, hi = edges[0] - 1.0, edges[-1] + 1.0
        vals = [round(rng.uniform(lo, hi) * 4) / 4 for _ in range(n)]
        return vals + [edges[0], edges[-1], edges[1]]

    e1, e2 = edges_grid(), edges_grid()
    v2 = values_on(e2, 10)
    v2[2] = float("nan")
    inside = [round(rng.uniform(e1[0] + 0.01, e1[-1] - 0.01), 2) for _ in range(8)]
    cases = [
        _case(f"{name}(values on a 0.25 grid)", f"case_v = {_floats(values_on(e1, 16))}\ncase_e = {_floats(e1)}", f"{name}(case_v, case_e)"),
        _case(f"{name}(values with NaN)", f"case_v = {_floats(v2)}\ncase_e = {_floats(e2)}", f"{name}(case_v, case_e)"),
        _case(f"{name}(values inside the range)", f"case_v = {_floats(inside)}\ncase_e = {_floats(e1)}", f"{name}(case_v, case_e)"),
        _case(
            f"{name}(only edge values)",
            f"case_v = {_floats([e2[0], e2[0], e2[-1]])}\ncase_e = {_floats(e2)}",
            f"{name}(case_v, case_e)",
        ),
        _case(f"{name}(no values)", f"case_v = []\ncase_e = {_floats(e1)}", f"{name}(case_v, case_e)"),
    ]
    params = {"closed": closed, "outer_closed": outer if outside != "clip" else None, "outside": outside, "output": output}
    signature = f"def {name}(values, edges) -> " + ("tuple[list, int, int]" if outside == "tally" else "list")
    return Variant(name, signature, _tidy(spec), reference, tuple(cases), params)


# -- log fold change -------------------------------------------------------------------------------

_LOGS = {2: ("log2", "np.log2", math.log2), 10: ("log10", "np.log10", math.log10), "e": ("natural log", "np.log", math.log)}


def _draw_log_fold_change(rng: random.Random) -> Variant:
    base = rng.choice([2, 10, "e"])
    pseudo = rng.choice([0, 0.1, 0.5, 1])
    scaling = rng.choice(["none", "cpm"])
    output = rng.choice(["values", "up", "down"])
    # thresholds on each base's own scale, inside the range the cases' fold changes cover
    # (their fold-change cutoffs, 1.41 1.49 1.58 2 2.23 2.51 2.83 3.32 3.55 4 4.95 5.62, all differ)
    levels = {2: [0.5, 1.0, 1.5, 2.0], 10: [0.2, 0.4, 0.55, 0.75], "e": [0.4, 0.8, 1.2, 1.6]}[base]
    threshold = rng.choice(levels) if output != "values" else None
    name = "log_fold_change"
    log_name, log_code, log_fn = _LOGS[base]
    steps = []
    if scaling == "cpm":
        steps.append("scale each vector to counts per million (divide by the vector's total, multiply by 1e6)")
    if pseudo:
        steps.append(f"compute lfc = {log_name}((treated + {pseudo}) / (control + {pseudo})) element-wise")
    else:
        steps.append(
            f"compute lfc = {log_name}(treated / control) element-wise; where either value is 0 the lfc is NaN"
        )
    out_text = {
        "values": "Return the lfc values as a 1-D numpy float array in input order.",
        "up": f"Return the list of int indices (increasing) whose lfc >= {threshold} (NaN never qualifies).",
        "down": f"Return the list of int indices (increasing) whose lfc <= -{threshold} (NaN never qualifies).",
    }[output]
    spec = (
        "Compute per-gene log fold changes between two count vectors of the same genes: "
        + "; then ".join(steps)
        + ".\n"
        "Input: `treated` and `control`, lists or 1-D numpy arrays of non-negative counts of equal length "
        "(each with a positive total).\n"
        f"{out_text}"
    )
    lines = ["a = np.asarray(treated, dtype=float)", "b = np.asarray(control, dtype=float)"]
    if scaling == "cpm":
        lines += ["a = a / a.sum() * 1e6", "b = b / b.sum() * 1e6"]
    if pseudo:
        lines.append(f"lfc = {log_code}((a + {pseudo}) / (b + {pseudo}))")
    else:
        lines += [
            'with np.errstate(divide="ignore", invalid="ignore"):',
            f"    lfc = np.where((a > 0) & (b > 0), {log_code}(a / b), np.nan)",
        ]
    lines.append(
        {
            "values": "return lfc",
            "up": f"return [int(i) for i in np.flatnonzero(lfc >= {threshold})]",
            "down": f"return [int(i) for i in np.flatnonzero(lfc <= -{threshold})]",
        }[output]
    )
    reference = f"import numpy as np\n\n\ndef {name}(treated, control):\n" + "".join(f"    {ln}\n" for ln in lines)

    def lfc_of(a: list[int], b: list[int]) -> list[float]:
        ta, tb = sum(a), sum(b)
        out = []
        for x, y in zip(a, b, strict=True):
            if scaling == "cpm":
                x, y = x / ta * 1e6, y / tb * 1e6
            if pseudo == 0 and (x == 0 or y == 0):
                out.append(math.nan)
            else:
                out.append(log_fn((x + pseudo) / (y + pseudo)))
        return out

    def pair(n: int) -> tuple[list[int], list[int]]:
        """Count vectors with zeros, big and small changes, none within 1e-6 of a threshold."""
        for _ in range(200):
            depth = rng.choice([0.4, 0.6, 1.7, 2.5])  # library sizes differ: scaling to CPM matters
            b = [rng.choice([0, rng.randint(1, 40), rng.randint(40, 400)]) for _ in range(n)]
            a = [max(0, round(y * depth * 2 ** rng.uniform(-4, 4) + rng.randint(-3, 3))) for y in b]
            if sum(a) and sum(b):
                values = lfc_of(a, b)
                if threshold is None or all(
                    math.isnan(v) or min(abs(v - threshold), abs(v + threshold)) > 1e-6 for v in values
                ):
                    return a, b
        raise RuntimeError("no usable count vectors")  # practically unreachable

    def ladder() -> tuple[list[int], list[int]]:
        """Every pair of small counts (0..9 each, plus one large gene per vector so that the library sizes
        differ): their ratios fall between any two cutoffs, for every pseudocount. Genes within 1e-6 of
        the threshold are left out."""
        pairs = [(x, y) for x in range(10) for y in range(10)] + [(rng.randint(300, 600), rng.randint(50, 150))]
        rng.shuffle(pairs)
        a, b = [x for x, _ in pairs], [y for _, y in pairs]
        if threshold is not None:
            keep = [
                i for i, v in enumerate(lfc_of(a, b))
                if math.isnan(v) or min(abs(v - threshold), abs(v + threshold)) > 1e-6
            ]
            a, b = [a[i] for i in keep], [b[i] for i in keep]
        return a, b

    a1, b1 = pair(rng.randint(10, 16))
    a2, b2 = pair(8)
    a3, b3 = ladder()
    seed = rng.randint(1, 10**6)
    cases = [
        _case(f"{name}(count vectors with zeros)", f"case_a = {a1}\ncase_b = {b1}", f"{name}(case_a, case_b)"),
        _case(f"{name}(numpy count vectors)", f"import numpy as np\ncase_a = np.array({a2})\ncase_b = np.array({b2})", f"{name}(case_a, case_b)"),
        _case(f"{name}(small counts and zeros)", f"case_a = {a3}\ncase_b = {b3}", f"{name}(case_a, case_b)"),
        _case(
            f"{name}(identical vectors)",
            f"case_a = {b1}\ncase_b = {b1}",
            f"{name}(case_a, case_b)",
        ),
        _case(
            f"{name}(swapped arguments)",
            f"case_a = {b1}\ncase_b = {a1}",
            f"{name}(case_a, case_b)",
        ),
        _case(
            f"{name}(seeded Poisson counts)",
            f"import numpy as np\ncase_g = np.random.default_rng({seed})\ncase_b = case_g.poisson(30, 20)\n"
            "case_a = case_g.poisson(case_b * case_g.choice([0.25, 1.0, 4.0], 20))",
            f"{name}(case_a, case_b)",
        ),
    ]
    if output != "values":
        cases = cases[:5]  # the seeded Poisson counts are not checked against the threshold here
    params = {"base": base, "pseudocount": pseudo, "scaling": scaling, "output": output, "threshold": threshold}
    signature = f"def {name}(treated, control) -> " + ("np.ndarray" if output == "values" else "list[int]")
    return Variant(name, signature, _tidy(spec), reference, tuple(cases), params)


# -- autocorrelation -------------------------------------------------------------------------------


def _draw_autocorrelation(rng: random.Random) -> Variant:
    max_lag = rng.randint(1, 8)
    estimator = rng.choice(["biased", "unbiased"])
    demean = rng.choice([True, False])
    name = "autocorrelation"
    d_text = "d = x - mean(x)" if demean else "d = x (the values as they are, not centred)"
    if estimator == "biased":
        formula = "r(k) = sum_{t=0}^{n-k-1} d[t] * d[t+k] / sum_t d[t]^2"
    else:
        formula = "r(k) = (sum_{t=0}^{n-k-1} d[t] * d[t+k] / (n - k)) / (sum_t d[t]^2 / n)"
    spec = (
        f"Compute the autocorrelation of a 1-D signal x of length n at lags k = 0, 1, ..., {max_lag}, with "
        f"{d_text} and {formula}.\n"
        "Lags k >= n give NaN; if sum_t d[t]^2 is 0 (or the signal is empty) every lag gives NaN.\n"
        "Input: `values`, a list or 1-D numpy array of finite numbers (possibly empty).\n"
        f"Return a 1-D numpy float array of length {max_lag + 1} (lag 0 first)."
    )
    lines = [
        "x = np.asarray(values, dtype=float)",
        "n = x.size",
        f"out = np.full({max_lag + 1}, np.nan)",
        "if n == 0:",
        "    return out",
        "d = x - x.mean()" if demean else "d = x",
        "energy = np.sum(d * d)",
        "if energy == 0:",
        "    return out",
        f"for k in range(min({max_lag}, n - 1) + 1):",
        "    out[k] = np.sum(d[: n - k] * d[k:]) / energy"
        if estimator == "biased"
        else "    out[k] = (np.sum(d[: n - k] * d[k:]) / (n - k)) / (energy / n)",
        "return out",
    ]
    reference = f"import numpy as np\n\n\ndef {name}(values):\n" + "".join(f"    {ln}\n" for ln in lines)
    period = rng.randint(3, 6)
    wave = [round(5 + 3 * math.sin(2 * math.pi * t / period) + rng.gauss(0, 0.5), 2) for t in range(30)]
    cases = [
        _case(f"{name}(periodic signal, period {period})", f"case_x = {_floats(wave)}", f"{name}(case_x)"),
        _case(f"{name}(random walk of 25 values)", f"case_x = {_floats(_signal(rng, 25))}", f"{name}(case_x)"),
        _case(
            f"{name}(seeded AR(1) signal)",
            f"import numpy as np\ncase_g = np.random.default_rng({rng.randint(1, 10**6)})\ncase_e = case_g.normal(0, 1, 50)\n"
            "case_x = np.empty(50)\ncase_x[0] = case_e[0]\nfor case_t in range(1, 50):\n"
            "    case_x[case_t] = 0.7 * case_x[case_t - 1] + case_e[case_t]",
            f"{name}(case_x)",
        ),
        _case(f"{name}(short signal)", f"case_x = {_floats(_signal(rng, max(2, max_lag - 1)))}", f"{name}(case_x)"),
        _case(f"{name}(constant signal)", f"case_x = {_floats([float(rng.randint(1, 9))] * 6)}", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"max_lag": max_lag, "estimator": estimator, "demean": demean}
    return Variant(name, f"def {name}(values) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- block downsampling ----------------------------------------------------------------------------


def _draw_downsample(rng: random.Random) -> Variant:
    factor = rng.randint(2, 6)
    how = rng.choice(["mean", "sum", "max", "min", "median"])
    remainder = rng.choice(["drop", "partial"])
    name = "downsample"
    rem_text = (
        f"A last group of fewer than {factor} values is dropped."
        if remainder == "drop"
        else f"A last group of fewer than {factor} values is summarised on its own (it still gives one output value)."
    )
    spec = (
        f"Downsample a 1-D signal by a factor of {factor}: split it into consecutive groups of {factor} values "
        f"(values[0:{factor}], values[{factor}:{2 * factor}], ...) and replace each group by its {how}.\n"
        f"{rem_text}\n"
        "Input: `values`, a list or 1-D numpy array of finite numbers (possibly empty).\n"
        "Return a 1-D numpy float array (empty when there is no group)."
    )
    stop = f"x.size - x.size % {factor}" if remainder == "drop" else "x.size"
    reference = _source(
        f"""
        import numpy as np


        def {name}(values):
            x = np.asarray(values, dtype=float)
            groups = [x[i : i + {factor}] for i in range(0, {stop}, {factor})]
            return np.array([np.{how}(g) for g in groups], dtype=float)
        """
    )
    n1 = factor * rng.randint(3, 6) + rng.randint(1, factor - 1)
    cases = [
        _case(f"{name}(signal of {n1} values)", f"case_x = {_floats(_signal(rng, n1))}", f"{name}(case_x)"),
        _case(f"{name}(exact multiple)", f"case_x = {_floats(_signal(rng, factor * 4))}", f"{name}(case_x)"),
        _case(
            f"{name}(numpy integers)",
            f"import numpy as np\ncase_x = np.random.default_rng({rng.randint(1, 10**6)}).integers(0, 50, {factor * 5 + factor - 1})",
            f"{name}(case_x)",
        ),
        _case(f"{name}(shorter than one group)", f"case_x = {_floats(_signal(rng, factor - 1))}", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"factor": factor, "statistic": how, "remainder": remainder}
    return Variant(name, f"def {name}(values) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- exponential smoothing -------------------------------------------------------------------------


def _draw_exp_smoothing(rng: random.Random) -> Variant:
    alpha = rng.choice([0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9])
    init = rng.choice(["first", "mean3", "adjusted"])
    name = "exponential_smoothing"
    if init == "adjusted":
        rule = (
            f"s[t] is the weighted average of values[0..t] with weight (1 - {alpha}) ** (t - i) on values[i] "
            "(weights normalised to sum to 1), i.e. pandas' `ewm(alpha=..., adjust=True).mean()`"
        )
    else:
        start = (
            "s[0] = values[0]"
            if init == "first"
            else "s[0] is the mean of the first three values (of all values when there are fewer than three)"
        )
        rule = f"{start}, and s[t] = {alpha} * values[t] + (1 - {alpha}) * s[t-1] for t >= 1"
    spec = (
        f"Exponentially smooth a 1-D signal with smoothing factor alpha = {alpha}: {rule}.\n"
        "Input: `values`, a list or 1-D numpy array of finite numbers (possibly empty).\n"
        "Return a 1-D numpy float array of the input's length (empty for an empty input)."
    )
    if init == "adjusted":
        body = f"""
            out = np.empty(x.size)
            for t in range(x.size):
                weights = (1 - {alpha}) ** np.arange(t, -1, -1)
                out[t] = np.sum(weights * x[: t + 1]) / weights.sum()
            return out
        """
    else:
        first = "x[0]" if init == "first" else "x[:3].mean()"
        body = f"""
            out = np.empty(x.size)
            if x.size == 0:
                return out
            out[0] = {first}
            for t in range(1, x.size):
                out[t] = {alpha} * x[t] + (1 - {alpha}) * out[t - 1]
            return out
        """
    reference = _source(
        f"""
        import numpy as np


        def {name}(values):
            x = np.asarray(values, dtype=float)
        """
    ) + textwrap.indent(_source(body), "    ")
    cases = [
        _case(f"{name}(signal of 20 values)", f"case_x = {_floats(_signal(rng, 20))}", f"{name}(case_x)"),
        _case(
            f"{name}(numpy signal)",
            f"import numpy as np\ncase_x = np.random.default_rng({rng.randint(1, 10**6)}).normal(10, 3, 30).round(2)",
            f"{name}(case_x)",
        ),
        _case(f"{name}(step)", f"case_x = {[0] * 4 + [rng.randint(5, 15)] * 5}", f"{name}(case_x)"),
        _case(f"{name}(two values)", f"case_x = {_floats(_signal(rng, 2))}", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"alpha": alpha, "init": init}
    return Variant(name, f"def {name}(values) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- test split: Hampel filter ---------------------------------------------------------------------


def _draw_hampel(rng: random.Random) -> Variant:
    half = rng.randint(1, 5)
    threshold = rng.choice([2, 2.5, 3, 3.5])
    # a cut window of two values never flags its centre (|x - med| equals the MAD): with a half-width
    # of 1 the edge rule changes nothing, and the task is the 'skip' one
    edges = rng.choice(["shrink", "skip"]) if half > 1 else "skip"
    output = rng.choice(["filtered", "outliers"])
    name = "hampel_filter"
    edge_text = (
        "Near the ends the window is cut to the positions that exist."
        if edges == "shrink"
        else f"Positions without a full window (the first and last {half}) are never tested."
    )
    out_text = (
        "Return a 1-D numpy float array: the signal with every outlier replaced by its window's median."
        if output == "filtered"
        else "Return the list of outlier indices (ints, increasing)."
    )
    spec = (
        f"Detect outliers in a 1-D signal with a Hampel filter. For each position i, take the window "
        f"values[i-{half}] .. values[i+{half}] of the original signal; med is the window's median and "
        f"S = 1.4826 * median(|window - med|). Position i is an outlier when |values[i] - med| > {threshold} * S "
        "(strictly; so with S = 0 any value different from med is an outlier).\n"
        f"{edge_text} Windows always read the original values, never replaced ones.\n"
        "Input: `values`, a list or 1-D numpy array of finite numbers (possibly empty).\n"
        f"{out_text}"
    )
    if edges == "shrink":
        window = f"window = x[max(0, i - {half}) : i + {half + 1}]"
        loop = "for i in range(n):"
    else:
        window = f"window = x[i - {half} : i + {half + 1}]"
        loop = f"for i in range({half}, n - {half}):"
    reference = _source(
        f"""
        import numpy as np


        def {name}(values):
            x = np.asarray(values, dtype=float)
            n = x.size
            out = x.copy()
            outliers = []
            {loop}
                {window}
                med = np.median(window)
                scale = 1.4826 * np.median(np.abs(window - med))
                if abs(x[i] - med) > {threshold} * scale:
                    outliers.append(i)
                    out[i] = med
            return {"out" if output == "filtered" else "outliers"}
        """
    )
    n1 = rng.randint(18, 30)
    spiky = _signal(rng, n1, scale=1.0)
    for i in [0, *rng.sample(range(2, n1 - 2), 3), n1 - 1]:
        spiky[i] = round(spiky[i] + rng.choice([-1, 1]) * rng.uniform(6, 15), 2)
    graded = _signal(rng, 72, scale=0.0)  # a constant level, plus unit noise and spikes of graded size
    noise = [round(rng.gauss(0, 1), 2) for _ in graded]
    sizes = [1.6, 1.9, 2.2, 2.45, 2.7, 2.95, 3.2, 3.45, 3.7, 4.2, 5.5]
    rng.shuffle(sizes)
    for k, size in enumerate(sizes):
        noise[3 + 6 * k] = round(rng.choice([-1, 1]) * size * 1.2, 2)
    graded = [round(g + e, 2) for g, e in zip(graded, noise, strict=True)]
    plateau = [5.0] * 9
    plateau[4] = 5.5
    plateau[rng.choice([0, 8])] = 6.0
    cases = [
        _case(f"{name}(signal with spikes)", f"case_x = {_floats(spiky)}", f"{name}(case_x)"),
        _case(
            f"{name}(numpy noisy signal)",
            f"import numpy as np\ncase_g = np.random.default_rng({rng.randint(1, 10**6)})\n"
            "case_x = case_g.normal(0, 1, 40).round(2)\ncase_x[[3, 17, 31]] += [7.5, -6.0, 9.0]",
            f"{name}(case_x)",
        ),
        _case(f"{name}(spikes of graded size)", f"case_x = {_floats(graded)}", f"{name}(case_x)"),
        _case(f"{name}(flat signal with small bumps)", f"case_x = {_floats(plateau)}", f"{name}(case_x)"),
        _case(f"{name}(short signal)", f"case_x = {_floats(_signal(rng, half + 1))}", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"half_window": half, "threshold": threshold, "edges": edges, "output": output}
    signature = f"def {name}(values) -> " + ("np.ndarray" if output == "filtered" else "list[int]")
    return Variant(name, signature, _tidy(spec), reference, tuple(cases), params)


# -- test split: segments above a threshold ---------------------------------------------------------


def _draw_segments(rng: random.Random) -> Variant:
    strict = rng.choice([True, False])
    min_len = rng.randint(1, 4)
    max_gap = rng.randint(0, 3)
    end = rng.choice(["inclusive", "exclusive"])
    name = "find_segments"
    op = ">" if strict else ">="
    gap_text = (
        f"Two runs separated by at most {max_gap} position(s) not passing are merged into one segment "
        "(the positions between them become part of it); merging is repeated left to right and happens "
        "before the length filter."
        if max_gap
        else "Runs are never merged."
    )
    end_text = (
        "(start, end) with end the index of the segment's last position (inclusive)"
        if end == "inclusive"
        else "(start, end) with end one past the segment's last position (exclusive, like a slice)"
    )
    spec = (
        f"Find the segments of a 1-D signal that pass a threshold. A position passes when "
        f"values[i] {op} threshold; a run is a maximal stretch of consecutive passing positions.\n"
        f"{gap_text}\n"
        f"Keep segments of at least {min_len} position(s){' (counting merged gaps)' if max_gap else ''}.\n"
        "Input: `values`, a list of finite numbers (possibly empty); `threshold`, a number.\n"
        f"Return a list of tuples {end_text}, in increasing order of start."
    )
    reference = _source(
        f"""
        def {name}(values, threshold):
            passing = [v {op} threshold for v in values]
            runs = []
            i = 0
            while i < len(passing):
                if passing[i]:
                    j = i
                    while j + 1 < len(passing) and passing[j + 1]:
                        j += 1
                    runs.append([i, j])
                    i = j + 1
                else:
                    i += 1
            merged = []
            for start, stop in runs:
                if merged and start - merged[-1][1] - 1 <= {max_gap}:
                    merged[-1][1] = stop
                else:
                    merged.append([start, stop])
            return [(start, stop{" + 1" if end == "exclusive" else ""}) for start, stop in merged if stop - start + 1 >= {min_len}]
        """
    )
    t = float(rng.randint(3, 6))

    def signal(n: int) -> list[float]:
        out = []
        state = rng.random() < 0.5
        while len(out) < n:
            run = rng.randint(1, 5)
            for _ in range(run):
                out.append(round(rng.uniform(t + 0.5, t + 4), 1) if state else round(rng.uniform(t - 4, t - 0.5), 1))
            state = not state
        sig = out[:n]
        for i in rng.sample(range(n), 3):
            sig[i] = t
        return sig

    runs = [[t + 1.0] * k for k in range(1, 6)]  # isolated runs of every length
    runs += [[t + 2.0] + [t - 1.0] * g + [t + 2.0] for g in range(1, 5)]  # pairs of runs g apart
    rng.shuffle(runs)
    designed = [t - 2.0] * 5
    for run in runs:
        designed += run + [t - 2.0] * 5
    cases = [
        _case(f"{name}(runs and gaps of every length)", f"case_x = {_floats(designed)}", f"{name}(case_x, {t})"),
        _case(f"{name}(signal of 30 values)", f"case_x = {_floats(signal(30))}", f"{name}(case_x, {t})"),
        _case(f"{name}(signal of 45 values)", f"case_x = {_floats(signal(45))}", f"{name}(case_x, {t})"),
        _case(
            f"{name}(threshold hits)",
            f"case_x = {_floats([t, t, t + 1, t - 2, t, t - 1, t - 1, t + 2, t + 3, t, t - 3, t + 1])}",
            f"{name}(case_x, {t})",
        ),
        _case(f"{name}(all passing)", f"case_x = {_floats([t + 1] * 5)}", f"{name}(case_x, {t})"),
        _case(f"{name}(nothing passing)", f"case_x = {_floats([t - 1] * 4)}", f"{name}(case_x, {t})"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x, {t})"),
    ]
    params = {"strict": strict, "min_length": min_len, "max_gap": max_gap, "end": end}
    return Variant(name, f"def {name}(values, threshold) -> list[tuple[int, int]]", _tidy(spec), reference, tuple(cases), params)


# -- test split: rank-based inverse normal transform -----------------------------------------------

_OFFSETS = {
    "blom": (0.375, "Blom"),
    "tukey": (1 / 3, "Tukey"),
    "rankit": (0.5, "rankit (Bliss)"),
    "van_der_waerden": (0.0, "Van der Waerden"),
}


def _draw_inverse_normal(rng: random.Random) -> Variant:
    offset = rng.choice(sorted(_OFFSETS))
    ties = rng.choice(["average", "min", "max", "ordinal"])
    output = rng.choice(["z", "fraction"])
    c, label = _OFFSETS[offset]
    c_text = {"blom": "3/8", "tukey": "1/3", "rankit": "1/2", "van_der_waerden": "0"}[offset]
    name = "inverse_normal_transform"
    tie_text = {
        "average": "tied values get the average of the ranks they span",
        "min": "tied values all get the lowest rank they span",
        "max": "tied values all get the highest rank they span",
        "ordinal": "tied values get distinct ranks in their order of appearance",
    }[ties]
    out_text = (
        "Return z = Phi^-1(f), the standard normal quantile of f, for every value."
        if output == "z"
        else "Return the fractions f themselves (before the normal quantile)."
    )
    spec = (
        f"Apply the rank-based inverse normal transform with the {label} offset c = {c_text}: rank the n non-missing "
        f"values from 1 (smallest) to n, where {tie_text}; each value's fraction is f = (rank - c) / (n - 2c + 1).\n"
        f"{out_text}\n"
        "Missing values (NaN) are not ranked, do not count in n, and stay NaN.\n"
        "Input: `values`, a list or 1-D numpy array of floats, possibly with NaN (possibly empty).\n"
        "Return a 1-D numpy float array of the input's length."
    )
    lines = [
        "x = np.asarray(values, dtype=float)",
        "out = np.full(x.size, np.nan)",
        "present = ~np.isnan(x)",
        "n = int(present.sum())",
        f'ranks = rankdata(x[present], method="{ties}")',
        *(
            ["fraction = ranks / (n + 1)"]
            if c == 0
            else [f"c = {c_text.replace('/', ' / ')}", "fraction = (ranks - c) / (n - 2 * c + 1)"]
        ),
        "out[present] = norm.ppf(fraction)" if output == "z" else "out[present] = fraction",
        "return out",
    ]
    imports = "import numpy as np\nfrom scipy.stats import " + ("norm, rankdata" if output == "z" else "rankdata")
    reference = f"{imports}\n\n\ndef {name}(values):\n" + "".join(f"    {ln}\n" for ln in lines)
    tied = [float(rng.randint(1, 6)) for _ in range(rng.randint(9, 14))]
    with_nan = [round(rng.uniform(0, 50), 1) for _ in range(10)]
    with_nan[1] = with_nan[7] = float("nan")
    with_nan[4] = with_nan[2]
    cases = [
        _case(f"{name}(values with ties)", f"case_x = {_floats(tied)}", f"{name}(case_x)"),
        _case(f"{name}(values with NaN)", f"case_x = {_floats(with_nan)}", f"{name}(case_x)"),
        _case(
            f"{name}(skewed expression values)",
            f"import numpy as np\ncase_x = np.random.default_rng({rng.randint(1, 10**6)}).lognormal(2, 1, 25).round(2)",
            f"{name}(case_x)",
        ),
        _case(f"{name}(single value)", f"case_x = [{round(rng.uniform(1, 9), 1)}]", f"{name}(case_x)"),
        _case(f"{name}(empty)", "case_x = []", f"{name}(case_x)"),
    ]
    params = {"offset": offset, "ties": ties, "output": output}
    return Variant(name, f"def {name}(values) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("moving_average", "train", _draw_moving_average, "moving average with stated window and edges"),
    FunctionTemplate("running_median", "train", _draw_running_median, "running median with edge padding and NaN rule"),
    FunctionTemplate("find_peaks", "train", _draw_find_peaks, "local maxima with plateau, height and distance rules"),
    FunctionTemplate("standardize_matrix", "train", _draw_standardize, "row or column standardisation"),
    FunctionTemplate("rescale_range", "train", _draw_rescale, "min-max rescaling to a stated range"),
    FunctionTemplate("fill_gaps", "train", _draw_fill_gaps, "filling missing values with a gap and edge rule"),
    FunctionTemplate("bin_values", "train", _draw_histogram, "histogram counts with closed sides and outliers"),
    FunctionTemplate("log_fold_change", "train", _draw_log_fold_change, "log fold changes and thresholded genes"),
    FunctionTemplate("autocorrelation", "train", _draw_autocorrelation, "autocorrelation with a stated estimator"),
    FunctionTemplate("downsample", "train", _draw_downsample, "block downsampling with a remainder rule"),
    FunctionTemplate("exponential_smoothing", "train", _draw_exp_smoothing, "exponential smoothing with a start rule"),
    FunctionTemplate("hampel_filter", "test", _draw_hampel, "Hampel outlier filter"),
    FunctionTemplate("find_segments", "test", _draw_segments, "segments above a threshold with gap merging"),
    FunctionTemplate("inverse_normal_transform", "test", _draw_inverse_normal, "rank-based inverse normal transform"),
)
