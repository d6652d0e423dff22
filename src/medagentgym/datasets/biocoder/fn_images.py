"""Image-processing functions (category ``image_processing``) on synthetic images: thresholds,
connected components, per-object measurements, morphology, filters and background subtraction.

Every image is built in the case's setup: noisy blobs on a background (optionally on a gradient)
from a seeded ``np.random.default_rng``, or binary masks written as rows of ``#`` and ``.``, so
a failing case can be read and reproduced. Masks are drawn with what separates the conventions:
diagonal-only contacts (4- versus 8-connectivity), specks (size filters), objects on the image
border (border rules), holes and thin parts (morphology).

References use numpy and scipy.ndimage only (scikit-image is an optional extra); where a
convention has a library name, the specification gives it (scipy's boundary modes, Otsu as
scikit-image computes it), and this module's tests check the claim.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.datasets.biocoder.spec import function_source as _function, case as _case, tidy_spec as _tidy


def _blobs(
    rng: random.Random,
    var: str,
    shape: tuple[int, int],
    n_blobs: int,
    *,
    noise: float = 2.0,
    background: float = 10.0,
    gradient: float = 0.0,
    integer: bool = False,
) -> str:
    """Setup code for a noisy image with bright disks (literal centres, radii and amplitudes)."""
    h, w = shape
    blobs = [
        (rng.randint(1, h - 2), rng.randint(1, w - 2), rng.randint(1, 4), round(rng.uniform(15, 60), 1))
        for _ in range(n_blobs)
    ]
    lines = [
        "import numpy as np",
        f"case_g = np.random.default_rng({rng.randint(1, 10**6)})",
        f"case_rr, case_cc = np.mgrid[:{h}, :{w}]",
        f"{var} = case_g.normal({background}, {noise}, ({h}, {w})) + {gradient} * case_cc",
        f"for case_r, case_c, case_rad, case_amp in {blobs!r}:",
        f"    {var}[(case_rr - case_r) ** 2 + (case_cc - case_c) ** 2 <= case_rad ** 2] += case_amp",
    ]
    if integer:
        lines.append(f"{var} = np.clip(np.round({var}), 0, 255).astype(np.uint8)")
    return "\n".join(lines)


def _random_mask(rng: random.Random, h: int, w: int) -> list[str]:
    """Rows of '#'/'.': rectangles (some on the border, some with holes), specks, a diagonal chain."""
    grid = [["."] * w for _ in range(h)]
    for _ in range(rng.randint(2, 4)):
        rh, rw = rng.randint(2, 5), rng.randint(2, 6)
        r0, c0 = rng.randint(0, h - rh), rng.randint(0, w - rw)
        for r in range(r0, r0 + rh):
            for c in range(c0, c0 + rw):
                grid[r][c] = "#"
        if rh >= 3 and rw >= 3 and rng.random() < 0.5:
            grid[r0 + 1][c0 + 1] = "."  # a hole
    for _ in range(rng.randint(2, 4)):  # specks
        grid[rng.randrange(h)][rng.randrange(w)] = "#"
    r, c = rng.randrange(h), rng.randrange(w)
    step = rng.choice([1, -1])
    for _ in range(rng.randint(2, 4)):  # touching only by corners
        if 0 <= r < h and 0 <= c < w:
            grid[r][c] = "#"
        r, c = r + 1, c + step
    return ["".join(row) for row in grid]


def _mask_setup(rows: Sequence[str], var: str = "case_mask") -> str:
    body = "\n".join(f"    {row!r}," for row in rows)
    return f'import numpy as np\n{var} = np.array([[ch == "#" for ch in row] for row in [\n{body}\n]])'


# -- global thresholds -----------------------------------------------------------------------------


def _draw_threshold(rng: random.Random) -> Variant:
    method = rng.choice(["otsu", "otsu", "intermeans", "mean", "median", "percentile"])
    nbins = rng.choice([16, 32, 64, 128, 256]) if method == "otsu" else None
    pct = rng.choice([75, 90, 95]) if method == "percentile" else None
    output = rng.choice(["value", "mask", "fraction"])
    name = "threshold_image"
    method_text = {
        "otsu": f"Otsu's method on a {nbins}-bin histogram: counts, edges = numpy.histogram(image, bins={nbins}) "
        "(over [min, max]); bin centres c_i = (edges[i] + edges[i+1]) / 2. For each split k = 0 .. "
        f"{(nbins or 0) - 2}, class 0 is bins 0..k and class 1 bins k+1..{(nbins or 0) - 1}; with w0, w1 their total "
        "counts and m0, m1 their count-weighted mean centres, the between-class score is w0 * w1 * (m0 - m1)^2. "
        "The threshold is c_k of the split with the highest score (the first one on ties); this is what "
        f"skimage.filters.threshold_otsu(image, nbins={nbins}) returns",
        "intermeans": "the iterative intermeans (Ridler-Calvard) method: start with t = mean of all pixels; repeat "
        "t_new = (mean of pixels <= t + mean of pixels > t) / 2 until |t_new - t| < 1e-6, and return the last t_new",
        "mean": "the mean of all pixel values",
        "median": "the median of all pixel values",
        "percentile": f"the {pct}th percentile of all pixel values (numpy's default linear interpolation)",
    }[method]
    out_text = {
        "value": "Return the threshold as a float.",
        "mask": "Return the foreground mask, a boolean numpy array of the image's shape that is True where pixel > threshold.",
        "fraction": "Return the fraction of pixels with pixel > threshold, a float.",
    }[output]
    spec = (
        f"Compute a global threshold of a grey-level image with {method_text}.\n"
        "Input: `image`, a 2-D numpy array (float or uint8) that is not constant.\n"
        f"{out_text}"
    )
    lines = ["x = np.asarray(image, dtype=float)"]
    if method == "otsu":
        lines += [
            f"counts, edges = np.histogram(x, bins={nbins})",
            "centers = (edges[:-1] + edges[1:]) / 2",
            "w0 = np.cumsum(counts)[:-1]",
            "w1 = np.cumsum(counts[::-1])[::-1][1:]",
            "m0 = np.cumsum(counts * centers)[:-1] / w0",
            "m1 = np.cumsum((counts * centers)[::-1])[::-1][1:] / w1",
            "with np.errstate(invalid=\"ignore\"):",
            "    score = np.nan_to_num(w0 * w1 * (m0 - m1) ** 2)",
            "t = float(centers[np.argmax(score)])",
        ]
    elif method == "intermeans":
        lines += [
            "t = x.mean()",
            "while True:",
            "    t_new = (x[x <= t].mean() + x[x > t].mean()) / 2",
            "    if abs(t_new - t) < 1e-6:",
            "        break",
            "    t = t_new",
            "t = float(t_new)",
        ]
    elif method == "percentile":
        lines.append(f"t = float(np.percentile(x, {pct}))")
    else:
        lines.append(f"t = float(np.{method}(x))")
    lines.append({"value": "return t", "mask": "return x > t", "fraction": "return float(np.mean(x > t))"}[output])
    reference = _function(f"{name}(image)", lines, "import numpy as np")
    cases = [
        _case(f"{name}(noisy blobs 24x30)", _blobs(rng, "case_img", (24, 30), 5), f"{name}(case_img)"),
        _case(
            f"{name}(blobs on a gradient)",
            _blobs(rng, "case_img", (20, 20), 4, gradient=round(rng.uniform(0.2, 1.0), 2)),
            f"{name}(case_img)",
        ),
        _case(f"{name}(uint8 image)", _blobs(rng, "case_img", (16, 18), 3, integer=True, background=40), f"{name}(case_img)"),
        _case(
            f"{name}(two-level image)",
            f"import numpy as np\ncase_img = np.full((6, 8), {rng.randint(1, 9)}.0)\ncase_img[2:5, 3:7] = {rng.randint(20, 60)}.0",
            f"{name}(case_img)",
        ),
        _case(
            f"{name}(bimodal noise)",
            f"import numpy as np\ncase_g = np.random.default_rng({rng.randint(1, 10**6)})\n"
            "case_img = np.concatenate([case_g.normal(30, 8, (20, 30)), case_g.normal(55, 10, (10, 30))])",
            f"{name}(case_img)",
        ),
    ]
    params = {"method": method, "nbins": nbins, "percentile": pct, "output": output}
    returns = {"value": "float", "mask": "np.ndarray", "fraction": "float"}[output]
    return Variant(name, f"def {name}(image) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- connected components --------------------------------------------------------------------------

_CONNECTIVITY = {
    4: "4-connectivity (pixels touching by an edge: up, down, left, right)",
    8: "8-connectivity (pixels touching by an edge or a corner)",
}


def _draw_components(rng: random.Random) -> Variant:
    connectivity = rng.choice([4, 8])
    min_size = rng.choice([1, 2, 3, 5, 8])
    output = rng.choice(["count", "sizes", "labels", "boxes"])
    name = "label_objects"
    size_text = f"Objects with fewer than {min_size} pixels are discarded (they become background). " if min_size > 1 else ""
    order = (
        "Objects are numbered 1, 2, ... in the raster order of their first pixel (scan rows top to bottom, each "
        "row left to right), after discarding"
        if min_size > 1
        else "Objects are numbered 1, 2, ... in the raster order of their first pixel (scan rows top to bottom, each "
        "row left to right)"
    )
    out_text = {
        "count": "Return the number of objects (an int).",
        "sizes": "Return the objects' pixel counts as a list of ints, largest first.",
        "labels": f"{order}. Return the label image: an int numpy array of the mask's shape, 0 for background and "
        "each object's pixels set to its number.",
        "boxes": f"{order}. Return, in that order, each object's bounding box as a tuple (min_row, min_col, max_row, "
        "max_col) of ints, all inclusive, in a list.",
    }[output]
    spec = (
        f"Find the connected objects of a binary mask with {_CONNECTIVITY[connectivity]}. {size_text}\n{out_text}\n"
        "Input: `mask`, a 2-D boolean numpy array (possibly all False)."
    )
    lines = [
        "structure = np.ones((3, 3), dtype=bool)" if connectivity == 8 else "structure = ndimage.generate_binary_structure(2, 1)",
        "labels, count = ndimage.label(mask, structure=structure)",
    ]
    if min_size > 1:
        lines += [
            "sizes = np.bincount(labels.ravel(), minlength=count + 1)",
            f"kept = [i for i in range(1, count + 1) if sizes[i] >= {min_size}]",
            "relabeled = np.zeros_like(labels)",
            "for new, old in enumerate(kept, start=1):",
            "    relabeled[labels == old] = new",
            "labels, count = relabeled, len(kept)",
        ]
    lines += {
        "count": ["return int(count)"],
        "sizes": ["return sorted((int(np.sum(labels == i)) for i in range(1, count + 1)), reverse=True)"],
        "labels": ["return labels"],
        "boxes": [
            "boxes = []",
            "for i in range(1, count + 1):",
            "    rows, cols = np.nonzero(labels == i)",
            "    boxes.append((int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())))",
            "return boxes",
        ],
    }[output]
    reference = _function(f"{name}(mask)", lines, "import numpy as np\nfrom scipy import ndimage")
    diagonal = ["#..##", ".#.#.", "..#..", ".....", "##..#"]
    cases = [
        _case(f"{name}(random mask 12x16)", _mask_setup(_random_mask(rng, 12, 16)), f"{name}(case_mask)"),
        _case(f"{name}(random mask 10x10)", _mask_setup(_random_mask(rng, 10, 10)), f"{name}(case_mask)"),
        _case(f"{name}(diagonal contacts)", _mask_setup(diagonal), f"{name}(case_mask)"),
        _case(
            f"{name}(thresholded blobs)",
            _blobs(rng, "case_img", (20, 24), 6) + "\ncase_mask = case_img > 30",
            f"{name}(case_mask)",
        ),
        _case(f"{name}(empty mask)", "import numpy as np\ncase_mask = np.zeros((4, 5), dtype=bool)", f"{name}(case_mask)"),
    ]
    params = {"connectivity": connectivity, "min_size": min_size, "output": output}
    returns = {"count": "int", "sizes": "list[int]", "labels": "np.ndarray", "boxes": "list[tuple[int, int, int, int]]"}[output]
    return Variant(name, f"def {name}(mask) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- per-object measurements -----------------------------------------------------------------------

_MEASURES = {
    "area": ("its area (pixel count, an int)", "int(inside.sum())"),
    "centroid": ("its centroid (mean row, mean column) as a tuple of floats", "(float(rows.mean()), float(cols.mean()))"),
    "weighted_centroid": (
        "its intensity-weighted centroid (sum(I * row) / sum(I), sum(I * col) / sum(I)) as a tuple of floats",
        "(float(np.sum(values * rows) / values.sum()), float(np.sum(values * cols) / values.sum()))",
    ),
    "mean_intensity": ("its mean intensity (a float)", "float(values.mean())"),
    "max_intensity": ("its maximum intensity (a float)", "float(values.max())"),
    "min_intensity": ("its minimum intensity (a float)", "float(values.min())"),
    "integrated_intensity": ("its integrated intensity, the sum of its pixel values (a float)", "float(values.sum())"),
    "std_intensity": ("the population standard deviation of its intensities (divide by n; a float)", "float(values.std())"),
}


def _label_setup(rng: random.Random, h: int, w: int) -> str:
    """A label image (non-consecutive labels, objects on the border) and an intensity image."""
    objects = []
    labels = rng.sample(range(1, 12), rng.randint(3, 5))
    for k, label in enumerate(labels):
        rh, rw = rng.randint(2, 4), rng.randint(2, 5)
        r0 = 0 if k == 0 else rng.randint(1, h - rh - 1)
        c0 = rng.randint(0, w - rw) if k == 0 else rng.randint(1, w - rw - 1)
        objects.append((label, r0, c0, rh, rw))
    return "\n".join(
        [
            "import numpy as np",
            f"case_lab = np.zeros(({h}, {w}), dtype=int)",
            f"for case_l, case_r, case_c, case_h, case_w in {objects!r}:",
            "    case_lab[case_r : case_r + case_h, case_c : case_c + case_w] = case_l",
            f"case_img = np.random.default_rng({rng.randint(1, 10**6)}).uniform(0, 100, ({h}, {w})).round(1)",
        ]
    )


def _draw_measurements(rng: random.Random) -> Variant:
    measure = rng.choice(sorted(_MEASURES))
    border = rng.choice(["keep", "exclude"])
    output = rng.choice(["dict", "list"])
    name = "measure_objects"
    border_text = (
        "Objects with at least one pixel on the image border (first or last row or column) are left out. "
        if border == "exclude"
        else ""
    )
    out_text = (
        "Return a dict mapping each object's label (an int) to its measurement."
        if output == "dict"
        else "Return a list of the measurements, ordered by increasing label."
    )
    spec = (
        f"Measure the labelled objects of an image: for every object, {_MEASURES[measure][0]}. "
        "An object is the set of pixels carrying one positive label (labels need not be consecutive; 0 is "
        f"background); rows and columns are 0-based pixel indices. {border_text}\n{out_text}\n"
        "Input: `labels`, a 2-D int numpy array; `image`, a 2-D float numpy array of the same shape (intensities)."
    )
    lines = ["labels = np.asarray(labels)", "image = np.asarray(image, dtype=float)", "result = {}"]
    lines += ["for label in np.unique(labels[labels > 0]):", "    inside = labels == label", "    rows, cols = np.nonzero(inside)"]
    if border == "exclude":
        h_w = "labels.shape[0] - 1, labels.shape[1] - 1"
        lines += [
            f"    last_row, last_col = {h_w}",
            "    if rows.min() == 0 or cols.min() == 0 or rows.max() == last_row or cols.max() == last_col:",
            "        continue",
        ]
    lines += ["    values = image[inside]", f"    result[int(label)] = {_MEASURES[measure][1]}"]
    lines.append("return result" if output == "dict" else "return [result[label] for label in sorted(result)]")
    reference = _function(f"{name}(labels, image)", lines, "import numpy as np")
    cases = [
        _case(f"{name}(labels on 12x14)", _label_setup(rng, 12, 14), f"{name}(case_lab, case_img)"),
        _case(f"{name}(labels on 10x10)", _label_setup(rng, 10, 10), f"{name}(case_lab, case_img)"),
        _case(f"{name}(labels on 15x9)", _label_setup(rng, 15, 9), f"{name}(case_lab, case_img)"),
        _case(
            f"{name}(one full-image object)",
            f"import numpy as np\ncase_lab = np.full((3, 4), {rng.randint(1, 9)})\ncase_img = np.arange(12, dtype=float).reshape(3, 4)",
            f"{name}(case_lab, case_img)",
        ),
        _case(
            f"{name}(no objects)",
            "import numpy as np\ncase_lab = np.zeros((4, 4), dtype=int)\ncase_img = np.ones((4, 4))",
            f"{name}(case_lab, case_img)",
        ),
    ]
    params = {"measure": measure, "border": border, "output": output}
    returns = "dict[int, ...]" if output == "dict" else "list"
    return Variant(name, f"def {name}(labels, image) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- binary morphology -----------------------------------------------------------------------------

# Only 3-wide elements, applied 1 to 3 times: larger squares, disks and diamonds are their powers
# (two 3x3 squares make the 5x5 square, two crosses the radius-2 disk), which would repeat tasks.
_ELEMENTS = {
    "cross3": ("the 3x3 cross (centre and its 4 edge neighbours)", "np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)"),
    "square3": ("the 3x3 square", "np.ones((3, 3), dtype=bool)"),
    "hline3": ("the horizontal line of 3 pixels (1 row, 3 columns, centred)", "np.ones((1, 3), dtype=bool)"),
    "vline3": ("the vertical line of 3 pixels (3 rows, 1 column, centred)", "np.ones((3, 1), dtype=bool)"),
}


def _draw_morphology(rng: random.Random) -> Variant:
    operation = rng.choice(["erode", "dilate", "open", "close"])
    element = rng.choice(sorted(_ELEMENTS))
    iterations = rng.choice([1, 2, 3])
    border = rng.choice(["background", "foreground"]) if operation != "dilate" else None
    name = "morph_mask"
    times = {1: "once", 2: "twice", 3: "three times"}[iterations] + ("" if iterations == 1 else " (each time on the previous result)")
    op_text = {
        "erode": f"Erode the mask {times}",
        "dilate": f"Dilate the mask {times}",
        "open": f"Open the mask: erode it {times}, then dilate the result {times}",
        "close": f"Close the mask: dilate it {times}, then erode the result {times}",
    }[operation]
    border_text = (
        "Pixels outside the image count as background for dilation"
        + (f" and as {border} for erosion." if border else ".")
    )
    spec = (
        f"{op_text}, with the structuring element {_ELEMENTS[element][0]}, centred on each pixel. Erosion keeps a "
        "pixel when every element position around it is foreground; dilation sets a pixel when any element position "
        f"around it is foreground. {border_text}\n"
        "Input: `mask`, a 2-D boolean numpy array.\nReturn a boolean numpy array of the same shape."
    )
    bv = 1 if border == "foreground" else 0
    erode = f"ndimage.binary_erosion(out, structure=element, iterations={iterations}, border_value={bv})"
    dilate = f"ndimage.binary_dilation(out, structure=element, iterations={iterations})"
    steps = {"erode": [erode], "dilate": [dilate], "open": [erode, dilate], "close": [dilate, erode]}[operation]
    lines = [f"element = {_ELEMENTS[element][1]}", "out = np.asarray(mask, dtype=bool)"]
    lines += [f"out = {step}" for step in steps]
    lines.append("return out")
    reference = _function(f"{name}(mask)", lines, "import numpy as np\nfrom scipy import ndimage")
    cases = [
        _case(f"{name}(random mask 12x14)", _mask_setup(_random_mask(rng, 12, 14)), f"{name}(case_mask)"),
        _case(f"{name}(random mask 9x11)", _mask_setup(_random_mask(rng, 9, 11)), f"{name}(case_mask)"),
        _case(
            f"{name}(thresholded blobs)",
            _blobs(rng, "case_img", (16, 16), 4) + "\ncase_mask = case_img > 30",
            f"{name}(case_mask)",
        ),
        _case(f"{name}(full mask)", "import numpy as np\ncase_mask = np.ones((5, 6), dtype=bool)", f"{name}(case_mask)"),
        _case(
            f"{name}(single pixel)",
            f"import numpy as np\ncase_mask = np.zeros((7, 7), dtype=bool)\ncase_mask[{rng.randint(1, 5)}, {rng.randint(1, 5)}] = True",
            f"{name}(case_mask)",
        ),
    ]
    params = {"operation": operation, "element": element, "iterations": iterations, "border": border}
    return Variant(name, f"def {name}(mask) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- local filters ---------------------------------------------------------------------------------

_MODES = {
    "reflect": "'reflect' (mirror including the edge pixel: c b a | a b c | c b a)",
    "mirror": "'mirror' (mirror about the edge pixel, not repeating it: c b | a b c | b a)",
    "nearest": "'nearest' (repeat the edge pixel: a a | a b c | c c)",
    "constant": "'constant' (pixels outside the image are 0.0)",
    "wrap": "'wrap' (the image repeats periodically: b c | a b c | a b)",
}


def _draw_local_filter(rng: random.Random) -> Variant:
    kind = rng.choice(["mean", "median", "max", "min"])
    size = rng.choice([3, 5, 7])
    # modes that differ for this filter: a 3x3 window sees one pixel past the edge, where 'reflect' and
    # 'nearest' agree; a max or min only sees values 'reflect', 'mirror' or 'nearest' take from the window
    if kind == "max":  # the images are positive: a max never sees the constant's zeros either
        mode = rng.choice(["reflect", "wrap"])
    elif kind == "min":
        mode = rng.choice(["reflect", "constant", "wrap"])
    elif size == 3:
        mode = rng.choice(["reflect", "mirror", "constant", "wrap"])
    else:
        mode = rng.choice(sorted(_MODES))
    name = "local_filter"
    spec = (
        f"Filter a grey-level image: each output pixel is the {kind} of the {size}x{size} neighbourhood centred on "
        f"it. Outside the image, extend it with scipy.ndimage's mode {_MODES[mode]}, applied along each axis.\n"
        "Input: `image`, a 2-D numpy array (any numeric dtype).\n"
        "Return a float numpy array of the same shape."
    )
    call = {
        "mean": "uniform_filter",
        "median": "median_filter",
        "max": "maximum_filter",
        "min": "minimum_filter",
    }[kind]
    lines = [
        "x = np.asarray(image, dtype=float)",
        f'return ndimage.{call}(x, size={size}, mode="{mode}"{", cval=0.0" if mode == "constant" else ""})',
    ]
    reference = _function(f"{name}(image)", lines, "import numpy as np\nfrom scipy import ndimage")
    cases = [
        _case(f"{name}(noisy blobs 14x18)", _blobs(rng, "case_img", (14, 18), 3), f"{name}(case_img)"),
        _case(f"{name}(gradient image)", _blobs(rng, "case_img", (10, 12), 2, gradient=2.5, noise=0.5), f"{name}(case_img)"),
        _case(f"{name}(uint8 image)", _blobs(rng, "case_img", (9, 9), 2, integer=True), f"{name}(case_img)"),
        _case(
            f"{name}(single bright pixel)",
            f"import numpy as np\ncase_img = np.zeros((6, 7))\ncase_img[0, {rng.randint(0, 6)}] = {rng.randint(5, 50)}.0",
            f"{name}(case_img)",
        ),
        _case(
            f"{name}(image smaller than the window)",
            f"import numpy as np\ncase_img = np.array({[[rng.randint(0, 9) for _ in range(2)] for _ in range(2)]}, dtype=float)",
            f"{name}(case_img)",
        ),
    ]
    params = {"filter": kind, "size": size, "mode": mode}
    return Variant(name, f"def {name}(image) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- gradients -------------------------------------------------------------------------------------


def _draw_gradient(rng: random.Random) -> Variant:
    operator = rng.choice(["sobel", "prewitt", "central"])
    output = rng.choice(["magnitude", "l1", "gx", "gy"])
    # a 3x3 kernel sees one pixel past the edge, where 'reflect' and 'nearest' agree: one of them only
    mode = rng.choice(["reflect", "mirror", "constant", "wrap"]) if operator != "central" else None
    name = "image_gradient"
    if operator == "central":
        op_text = (
            "central differences as numpy.gradient computes them: gy = numpy.gradient(I, axis=0) and gx = "
            "numpy.gradient(I, axis=1) (half the difference of the two neighbours inside, one-sided first "
            "differences at the first and last row/column)"
        )
    else:
        w = "[1, 2, 1]" if operator == "sobel" else "[1, 1, 1]"
        op_text = (
            f"the {operator.capitalize()} operator without normalisation: gx[r, c] = sum over k = -1, 0, 1 of "
            f"w[k] * (I[r + k, c + 1] - I[r + k, c - 1]) and gy[r, c] = sum over k of w[k] * (I[r + 1, c + k] - "
            f"I[r - 1, c + k]), with w = {w}; outside the image, extend it with scipy.ndimage's mode "
            f"{_MODES[mode or 'reflect']} (what scipy.ndimage.{operator}(I, axis=..., mode=...) computes)"
        )
    out_text = {
        "magnitude": "the gradient magnitude sqrt(gx^2 + gy^2)",
        "l1": "the L1 gradient magnitude |gx| + |gy|",
        "gx": "gx, the derivative along columns (x, increasing column index)",
        "gy": "gy, the derivative along rows (y, increasing row index)",
    }[output]
    spec = (
        f"Compute the gradient of a grey-level image I with {op_text}.\n"
        f"Return {out_text}, as a float numpy array of the image's shape.\n"
        "Input: `image`, a 2-D numpy array (any numeric dtype) with at least 2 rows and 2 columns."
    )
    lines = ["x = np.asarray(image, dtype=float)"]
    if operator == "central":
        lines += ["gy = np.gradient(x, axis=0)", "gx = np.gradient(x, axis=1)"]
    else:
        lines += [
            f'gy = ndimage.{operator}(x, axis=0, mode="{mode}")',
            f'gx = ndimage.{operator}(x, axis=1, mode="{mode}")',
        ]
    if output == "gx":
        lines = [ln for ln in lines if not ln.startswith("gy")]
    if output == "gy":
        lines = [ln for ln in lines if not ln.startswith("gx")]
    lines.append(
        {"magnitude": "return np.hypot(gx, gy)", "l1": "return np.abs(gx) + np.abs(gy)", "gx": "return gx", "gy": "return gy"}[output]
    )
    imports = "import numpy as np" + ("" if operator == "central" else "\nfrom scipy import ndimage")
    reference = _function(f"{name}(image)", lines, imports)
    cases = [
        _case(f"{name}(noisy blobs 12x15)", _blobs(rng, "case_img", (12, 15), 3), f"{name}(case_img)"),
        _case(f"{name}(ramp with blobs)", _blobs(rng, "case_img", (10, 10), 2, gradient=3.0, noise=0.3), f"{name}(case_img)"),
        _case(f"{name}(uint8 image)", _blobs(rng, "case_img", (8, 9), 2, integer=True), f"{name}(case_img)"),
        _case(
            f"{name}(vertical edge)",
            f"import numpy as np\ncase_img = np.zeros((5, 6))\ncase_img[:, {rng.randint(2, 4)}:] = {rng.randint(5, 20)}.0",
            f"{name}(case_img)",
        ),
        _case(
            f"{name}(2x2 image)",
            f"import numpy as np\ncase_img = np.array({[[rng.randint(0, 9) for _ in range(2)] for _ in range(2)]})",
            f"{name}(case_img)",
        ),
    ]
    params = {"operator": operator, "output": output, "mode": mode}
    return Variant(name, f"def {name}(image) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- blob counting pipeline ------------------------------------------------------------------------


def _draw_count_blobs(rng: random.Random) -> Variant:
    fraction = rng.choice([0.3, 0.4, 0.5, 0.6, 0.7])
    connectivity = rng.choice([4, 8])
    min_area = rng.choice([1, 4, 9, 16])
    output = rng.choice(["count", "areas", "centroids"])
    name = "count_blobs"
    order = "ordered by the raster position (row, then column) of each blob's first pixel"
    out_text = {
        "count": "Return the number of blobs (an int).",
        "areas": "Return the blobs' areas (pixel counts) as a list of ints, largest first.",
        "centroids": f"Return the blobs' centroids (mean row, mean column) as a list of tuples of floats, {order}.",
    }[output]
    area_text = f"Keep only blobs of at least {min_area} pixels. " if min_area > 1 else ""
    spec = (
        f"Count bright blobs in a grey-level image: a pixel is foreground when its value is > {fraction} * the "
        f"image's maximum; blobs are the connected foreground regions with {_CONNECTIVITY[connectivity]}. "
        f"{area_text}\n{out_text}\n"
        "Input: `image`, a 2-D float numpy array with a positive maximum."
    )
    lines = [
        "x = np.asarray(image, dtype=float)",
        f"mask = x > {fraction} * x.max()",
        "structure = np.ones((3, 3), dtype=bool)" if connectivity == 8 else "structure = ndimage.generate_binary_structure(2, 1)",
        "labels, count = ndimage.label(mask, structure=structure)",
        "blobs = [np.nonzero(labels == i) for i in range(1, count + 1)]",
    ]
    if min_area > 1:
        lines.append(f"blobs = [(rows, cols) for rows, cols in blobs if rows.size >= {min_area}]")
    lines.append(
        {
            "count": "return len(blobs)",
            "areas": "return sorted((int(rows.size) for rows, _ in blobs), reverse=True)",
            "centroids": "return [(float(rows.mean()), float(cols.mean())) for rows, cols in blobs]",
        }[output]
    )
    reference = _function(f"{name}(image)", lines, "import numpy as np\nfrom scipy import ndimage")
    touching = "\n".join(
        [
            "import numpy as np",
            "case_img = np.full((9, 10), 1.0)",
            f"case_img[1:4, 1:4] = {rng.randint(600, 900) / 10 + 0.05}",
            f"case_img[4:6, 4:6] = {rng.randint(600, 900) / 10 + 0.05}",
            f"case_img[6, 8] = {rng.randint(600, 900) / 10 + 0.05}",
            f"case_img[7:9, 0:5] = {rng.randint(300, 500) / 10 + 0.05}",
            "case_img[0, 9] = 100.0",
        ]
    )
    cases = [
        _case(f"{name}(noisy blobs 30x30)", _blobs(rng, "case_img", (30, 30), 7, noise=3.0), f"{name}(case_img)"),
        _case(f"{name}(blobs on a gradient)", _blobs(rng, "case_img", (24, 28), 6, gradient=0.8), f"{name}(case_img)"),
        _case(f"{name}(blobs touching by corners)", touching, f"{name}(case_img)"),
        _case(f"{name}(dim blobs 20x20)", _blobs(rng, "case_img", (20, 20), 5, noise=4.0, background=20.0), f"{name}(case_img)"),
        _case(
            f"{name}(one bright pixel)",
            f"import numpy as np\ncase_img = np.full((5, 5), 0.5)\ncase_img[{rng.randint(0, 4)}, {rng.randint(0, 4)}] = 9.0",
            f"{name}(case_img)",
        ),
    ]
    params = {"fraction": fraction, "connectivity": connectivity, "min_area": min_area, "output": output}
    returns = {"count": "int", "areas": "list[int]", "centroids": "list[tuple[float, float]]"}[output]
    return Variant(name, f"def {name}(image) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- contrast stretching ---------------------------------------------------------------------------


def _draw_stretch(rng: random.Random) -> Variant:
    low, high = rng.choice([(0, 100), (1, 99), (2, 98), (5, 95)])
    out = rng.choice(["unit", "uint8"])
    gamma = rng.choice([1, 0.5, 2])
    name = "stretch_contrast"
    gamma_text = f" Then raise every value to the power {gamma}." if gamma != 1 else ""
    out_text = (
        "Return the float numpy array of values in [0, 1]."
        if out == "unit"
        else "Finally multiply by 255, round half to even (numpy.round) and return a uint8 numpy array."
    )
    spec = (
        f"Stretch the contrast of a grey-level image: lo and hi are its {low}th and {high}th percentiles (numpy's "
        "default linear interpolation); each pixel becomes (v - lo) / (hi - lo), clipped to [0, 1]."
        f"{gamma_text}\n{out_text}\n"
        "Input: `image`, a 2-D numpy array (any numeric dtype) whose two percentiles differ. The output has its shape."
    )
    lines = [
        "x = np.asarray(image, dtype=float)",
        f"lo, hi = np.percentile(x, [{low}, {high}])",
        "y = np.clip((x - lo) / (hi - lo), 0.0, 1.0)",
    ]
    if gamma != 1:
        lines.append(f"y = y**{gamma}")
    lines.append("return y" if out == "unit" else "return np.round(y * 255).astype(np.uint8)")
    reference = _function(f"{name}(image)", lines, "import numpy as np")
    cases = [
        _case(f"{name}(noisy blobs 16x20)", _blobs(rng, "case_img", (16, 20), 4, noise=3.0), f"{name}(case_img)"),
        _case(f"{name}(gradient image)", _blobs(rng, "case_img", (12, 12), 2, gradient=1.7, noise=1.0), f"{name}(case_img)"),
        _case(
            f"{name}(low-contrast image)",
            f"import numpy as np\ncase_img = np.random.default_rng({rng.randint(1, 10**6)}).normal(100, 2, (10, 11))",
            f"{name}(case_img)",
        ),
        _case(
            f"{name}(image with outliers)",
            f"import numpy as np\ncase_img = np.random.default_rng({rng.randint(1, 10**6)}).uniform(10, 20, (12, 12))\n"
            "case_img[0, 0] = 500.0\ncase_img[5, 7] = -300.0",
            f"{name}(case_img)",
        ),
    ]
    params = {"percentiles": [low, high], "output": out, "gamma": gamma}
    return Variant(name, f"def {name}(image) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- block reduction -------------------------------------------------------------------------------


def _draw_block_reduce(rng: random.Random) -> Variant:
    factor = rng.choice([2, 3, 4])
    how = rng.choice(["mean", "max", "min", "sum", "median"])
    edge = rng.choice(["crop", "pad_zero", "pad_edge"])
    name = "block_reduce"
    edge_text = {
        "crop": f"Rows and columns left over after the last full block (when a side is not a multiple of {factor}) are dropped.",
        "pad_zero": f"When a side is not a multiple of {factor}, first pad the image at the bottom/right with 0.0 up to the "
        "next multiple (what skimage.measure.block_reduce does with cval=0).",
        "pad_edge": f"When a side is not a multiple of {factor}, first pad the image at the bottom/right by repeating its "
        "last row/column up to the next multiple.",
    }[edge]
    spec = (
        f"Downsample a grey-level image by non-overlapping {factor}x{factor} blocks: output[i, j] is the {how} of "
        f"image[{factor}i : {factor}i + {factor}, {factor}j : {factor}j + {factor}].\n{edge_text}\n"
        "Input: `image`, a 2-D numpy array (any numeric dtype).\n"
        "Return a float numpy array (shape (0, k) or (k, 0) when a side has no full block after cropping)."
    )
    lines = ["x = np.asarray(image, dtype=float)"]
    if edge == "crop":
        lines.append(f"x = x[: x.shape[0] - x.shape[0] % {factor}, : x.shape[1] - x.shape[1] % {factor}]")
    else:
        pad_mode = '"constant"' if edge == "pad_zero" else '"edge"'
        lines += [
            f"pad_rows, pad_cols = -x.shape[0] % {factor}, -x.shape[1] % {factor}",
            f"x = np.pad(x, ((0, pad_rows), (0, pad_cols)), mode={pad_mode})",
        ]
    lines += [
        f"rows, cols = x.shape[0] // {factor}, x.shape[1] // {factor}",
        "if rows == 0 or cols == 0:",
        "    return np.zeros((rows, cols))",
        f"blocks = x.reshape(rows, {factor}, cols, {factor})",
        f"return np.{how}(blocks, axis=(1, 3))",
    ]
    reference = _function(f"{name}(image)", lines, "import numpy as np")
    odd = (factor * 3 + 1, factor * 4 + factor - 1)
    cases = [
        _case(f"{name}(image {odd[0]}x{odd[1]})", _blobs(rng, "case_img", odd, 3), f"{name}(case_img)"),
        _case(f"{name}(exact multiple)", _blobs(rng, "case_img", (factor * 4, factor * 3), 2), f"{name}(case_img)"),
        _case(f"{name}(uint8 image)", _blobs(rng, "case_img", (11, 13), 3, integer=True), f"{name}(case_img)"),
        _case(
            f"{name}(image smaller than a block)",
            f"import numpy as np\ncase_img = np.arange(1.0, {factor}.0).reshape(1, {factor - 1})",
            f"{name}(case_img)",
        ),
    ]
    params = {"factor": factor, "statistic": how, "edge": edge}
    return Variant(name, f"def {name}(image) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


# -- test split: distance transform ----------------------------------------------------------------

_METRICS = {
    "euclidean": "Euclidean distance (sqrt(dr^2 + dc^2))",
    "cityblock": "city-block distance (|dr| + |dc|)",
    "chessboard": "chessboard distance (max(|dr|, |dc|))",
}


def _draw_distance(rng: random.Random) -> Variant:
    metric = rng.choice(sorted(_METRICS))
    side = rng.choice(["inside", "outside"])
    output = rng.choice(["map", "max", "mean"])
    name = "distance_map"
    side_text = (
        "every foreground pixel gets its distance to the nearest background pixel; background pixels get 0"
        if side == "inside"
        else "every background pixel gets its distance to the nearest foreground pixel; foreground pixels get 0"
    )
    out_text = {
        "map": "Return the distance map as a float numpy array of the mask's shape.",
        "max": "Return the largest distance as a float.",
        "mean": "Return the mean distance over the pixels that get one ("
        + ("the foreground" if side == "inside" else "the background")
        + "), a float.",
    }[output]
    spec = (
        f"Compute a distance transform of a binary mask with the {_METRICS[metric]} between pixel centres: "
        f"{side_text}. Only pixels inside the image count (the image border is not background).\n{out_text}\n"
        "Input: `mask`, a 2-D boolean numpy array with at least one foreground and one background pixel."
    )
    target = "np.asarray(mask, dtype=bool)" if side == "inside" else "~np.asarray(mask, dtype=bool)"
    call = (
        "ndimage.distance_transform_edt(target)"
        if metric == "euclidean"
        else f'ndimage.distance_transform_cdt(target, metric="{"taxicab" if metric == "cityblock" else "chessboard"}").astype(float)'
    )
    lines = [f"target = {target}", f"dist = {call}"]
    lines.append(
        {
            "map": "return dist",
            "max": "return float(dist.max())",
            "mean": "return float(dist[target].mean())",
        }[output]
    )
    reference = _function(f"{name}(mask)", lines, "import numpy as np\nfrom scipy import ndimage")
    cases = [
        _case(f"{name}(random mask 12x14)", _mask_setup(_random_mask(rng, 12, 14)), f"{name}(case_mask)"),
        _case(f"{name}(random mask 9x9)", _mask_setup(_random_mask(rng, 9, 9)), f"{name}(case_mask)"),
        _case(
            f"{name}(thresholded blobs)",
            _blobs(rng, "case_img", (16, 18), 3) + "\ncase_mask = case_img > 30\ncase_mask[0, 0] = False\ncase_mask[-1, -1] = True",
            f"{name}(case_mask)",
        ),
        _case(
            f"{name}(one background pixel)",
            f"import numpy as np\ncase_mask = np.ones((5, 7), dtype=bool)\ncase_mask[{rng.randint(0, 4)}, {rng.randint(0, 6)}] = False",
            f"{name}(case_mask)",
        ),
        _case(
            f"{name}(one foreground pixel)",
            f"import numpy as np\ncase_mask = np.zeros((6, 6), dtype=bool)\ncase_mask[{rng.randint(0, 5)}, {rng.randint(0, 5)}] = True",
            f"{name}(case_mask)",
        ),
    ]
    params = {"metric": metric, "side": side, "output": output}
    returns = "np.ndarray" if output == "map" else "float"
    return Variant(name, f"def {name}(mask) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- test split: object boundaries ----------------------------------------------------------------


def _draw_boundaries(rng: random.Random) -> Variant:
    kind = rng.choice(["inner", "outer"])
    connectivity = rng.choice([4, 8])
    edge = rng.choice(["background", "ignore"]) if kind == "inner" else None
    output = rng.choice(["mask", "count", "per_object"])
    name = "object_boundary"
    neighbours = "4 edge neighbours" if connectivity == 4 else "8 neighbours (edges and corners)"
    kind_text = (
        f"the inner boundary: foreground pixels with at least one background pixel among their {neighbours}"
        if kind == "inner"
        else f"the outer boundary: background pixels with at least one foreground pixel among their {neighbours}"
    )
    edge_text = {
        "background": " Neighbours outside the image count as background (so foreground pixels on the image edge are boundary).",
        "ignore": " Neighbours outside the image are ignored (the image edge alone never makes a boundary).",
        None: " Neighbours outside the image are ignored.",
    }[edge]
    out_text = {
        "mask": "Return the boundary as a boolean numpy array of the mask's shape.",
        "count": "Return the number of boundary pixels (an int).",
        "per_object": "Label the foreground's objects with 8-connectivity, numbered 1, 2, ... in raster order of their "
        "first pixel; return a dict mapping each object's number to the number of boundary pixels "
        + ("belonging to it." if kind == "inner" else "adjacent to it (with the same neighbourhood; a pixel next to two objects counts for both)."),
    }[output]
    spec = (
        f"Extract {kind_text} of a binary mask.{edge_text}\n{out_text}\n"
        "Input: `mask`, a 2-D boolean numpy array."
    )
    element = "np.ones((3, 3), dtype=bool)" if connectivity == 8 else "ndimage.generate_binary_structure(2, 1)"
    lines = ["m = np.asarray(mask, dtype=bool)", f"element = {element}"]
    if kind == "inner":
        bv = 0 if edge == "background" else 1
        lines.append(f"boundary = m & ~ndimage.binary_erosion(m, structure=element, border_value={bv})")
    else:
        lines.append("boundary = ~m & ndimage.binary_dilation(m, structure=element)")
    if output == "mask":
        lines.append("return boundary")
    elif output == "count":
        lines.append("return int(boundary.sum())")
    else:
        lines += ["labels, count = ndimage.label(m, structure=np.ones((3, 3), dtype=bool))", "result = {}"]
        lines += ["for i in range(1, count + 1):"]
        if kind == "inner":
            lines.append("    result[i] = int(np.sum(boundary & (labels == i)))")
        else:
            lines.append("    near = ndimage.binary_dilation(labels == i, structure=element)")
            lines.append("    result[i] = int(np.sum(boundary & near))")
        lines.append("return result")
    reference = _function(f"{name}(mask)", lines, "import numpy as np\nfrom scipy import ndimage")
    cases = [
        _case(f"{name}(random mask 12x14)", _mask_setup(_random_mask(rng, 12, 14)), f"{name}(case_mask)"),
        _case(f"{name}(random mask 10x9)", _mask_setup(_random_mask(rng, 10, 9)), f"{name}(case_mask)"),
        _case(f"{name}(diagonal contacts)", _mask_setup(["#..##", ".#.#.", "..#..", ".....", "##..#"]), f"{name}(case_mask)"),
        _case(f"{name}(full mask)", "import numpy as np\ncase_mask = np.ones((4, 5), dtype=bool)", f"{name}(case_mask)"),
        _case(f"{name}(empty mask)", "import numpy as np\ncase_mask = np.zeros((3, 3), dtype=bool)", f"{name}(case_mask)"),
    ]
    params = {"kind": kind, "connectivity": connectivity, "edge": edge, "output": output}
    returns = {"mask": "np.ndarray", "count": "int", "per_object": "dict[int, int]"}[output]
    return Variant(name, f"def {name}(mask) -> {returns}", _tidy(spec), reference, tuple(cases), params)


# -- test split: background subtraction ------------------------------------------------------------


def _draw_background(rng: random.Random) -> Variant:
    method = rng.choice(["tophat", "median", "minimum", "percentile"])
    size = rng.choice([5, 7, 9, 11, 15]) if method != "percentile" else None
    pct = rng.choice([5, 10, 25]) if method == "percentile" else None
    # an opening or a minimum filter never exceeds the image: clipping only matters for the others
    clip = rng.choice([True, False]) if method in ("median", "percentile") else None
    name = "subtract_background"
    method_text = {
        "tophat": f"the grey-level opening of the image with a {size}x{size} square (a {size}x{size} minimum filter "
        f"followed by a {size}x{size} maximum filter)",
        "median": f"the {size}x{size} median filter of the image",
        "minimum": f"the {size}x{size} minimum filter of the image",
        "percentile": f"the constant {pct}th percentile of all pixel values (numpy's default linear interpolation)",
    }[method]
    mode_text = (
        " Filters extend the image with scipy.ndimage's default mode 'reflect' (mirror including the edge pixel)."
        if method != "percentile"
        else ""
    )
    clip_text = {True: "Negative results are set to 0.0.", False: "Negative results are kept.", None: ""}[clip]
    spec = (
        f"Subtract the background from a grey-level image, the background being {method_text}.{mode_text}"
        + (f" {clip_text}\n" if clip_text else "\n")
        + 
        "Input: `image`, a 2-D numpy array (any numeric dtype).\n"
        "Return a float numpy array of the image's shape: image - background."
    )
    lines = ["x = np.asarray(image, dtype=float)"]
    lines.append(
        {
            "tophat": f"background = ndimage.grey_opening(x, size=({size}, {size}))",
            "median": f"background = ndimage.median_filter(x, size={size})",
            "minimum": f"background = ndimage.minimum_filter(x, size={size})",
            "percentile": f"background = np.percentile(x, {pct})",
        }[method]
    )
    lines.append("return np.maximum(x - background, 0.0)" if clip else "return x - background")
    imports = "import numpy as np" + ("\nfrom scipy import ndimage" if method != "percentile" else "")
    reference = _function(f"{name}(image)", lines, imports)
    cases = [
        _case(f"{name}(blobs on a gradient)", _blobs(rng, "case_img", (20, 24), 4, gradient=1.5), f"{name}(case_img)"),
        _case(f"{name}(noisy blobs 18x18)", _blobs(rng, "case_img", (18, 18), 5, noise=3.0), f"{name}(case_img)"),
        _case(f"{name}(uint8 image)", _blobs(rng, "case_img", (12, 14), 3, integer=True), f"{name}(case_img)"),
        _case(
            f"{name}(small image)",
            f"import numpy as np\ncase_img = np.array({[[rng.randint(0, 20) for _ in range(3)] for _ in range(3)]}, dtype=float)",
            f"{name}(case_img)",
        ),
    ]
    params = {"method": method, "size": size, "percentile": pct, "clip": clip}
    return Variant(name, f"def {name}(image) -> np.ndarray", _tidy(spec), reference, tuple(cases), params)


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("threshold_image", "train", _draw_threshold, "Otsu, intermeans and percentile thresholds"),
    FunctionTemplate("label_objects", "train", _draw_components, "connected components with a connectivity and size filter"),
    FunctionTemplate("measure_objects", "train", _draw_measurements, "per-object areas, centroids and intensities"),
    FunctionTemplate("morph_mask", "train", _draw_morphology, "binary erosion, dilation, opening and closing"),
    FunctionTemplate("local_filter", "train", _draw_local_filter, "mean, median, max and min filters with a boundary mode"),
    FunctionTemplate("image_gradient", "train", _draw_gradient, "Sobel, Prewitt and central-difference gradients"),
    FunctionTemplate("count_blobs", "train", _draw_count_blobs, "threshold, label and measure bright blobs"),
    FunctionTemplate("stretch_contrast", "train", _draw_stretch, "percentile contrast stretching with gamma"),
    FunctionTemplate("block_reduce", "train", _draw_block_reduce, "block downsampling with an edge rule"),
    FunctionTemplate("distance_map", "test", _draw_distance, "Euclidean, city-block and chessboard distance transforms"),
    FunctionTemplate("object_boundary", "test", _draw_boundaries, "inner and outer object boundaries"),
    FunctionTemplate("subtract_background", "test", _draw_background, "top-hat, median, minimum and percentile backgrounds"),
)

