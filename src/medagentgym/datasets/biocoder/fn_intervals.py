"""biocoder family ``intervals``: genomic intervals and coverage (merge, intersect, subtract,
complement, cluster, nearest feature, per-base coverage, histograms, sliding windows, ...).

The coordinate convention is part of every task (a drawn parameter): 0-based half-open (BED) or
1-based closed (GFF), and the output uses the same convention, so an off-by-one is a wrong answer.
The other parameters are what tools like bedtools expose as options (a maximum gap, a minimum
overlap, strand awareness, a depth cap, a window width and step). Inputs are plain Python lists
written into the case's expression; they include the cases interval code gets wrong: unsorted
input, nested and bookended intervals, intervals covering no base, chromosome names whose string
order differs from their numeric order, and "ladders" of intervals whose gaps take every size
from overlap to eleven bases, so each gap threshold changes the answer.
"""

from __future__ import annotations

import random
from typing import Any

from medagentgym.catalog.sample import TestCase
from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.datasets.biocoder.spec import constants_source as _source

CHROMS = ("chr1", "chr2", "chr10")
FLOAT_TOL = {"rel_tol": 1e-9, "abs_tol": 1e-9}

_HALF_OPEN = (
    "Coordinates are 0-based and half-open (BED): an interval (start, end) covers the bases start, "
    "start + 1, ..., end - 1, i.e. end - start bases. "
)
_CLOSED = (
    "Coordinates are 1-based and closed (GFF): an interval (start, end) covers the bases start, "
    "start + 1, ..., end, i.e. end - start + 1 bases. "
)


def _convention(closed: bool) -> str:
    return _CLOSED if closed else _HALF_OPEN


def _empty_rule(closed: bool) -> str:
    cond = "end < start" if closed else "end <= start"
    return f"An interval covering no base ({cond}) is ignored. "


def _call(name: str, label: str, *args: Any, **tol: float) -> TestCase:
    """A case calling ``name`` on literal arguments."""
    return TestCase(name=f"{name}({label})", expr=f"{name}({', '.join(repr(a) for a in args)})", **tol)


def _out(start0: int, end0: int, closed: bool) -> tuple[int, int]:
    """Half-open 0-based (start, end) written in the variant's convention."""
    return (start0 + 1, end0) if closed else (start0, end0)


def _random_intervals(
    rng: random.Random,
    n: int,
    closed: bool,
    *,
    chroms: tuple[str, ...] = CHROMS,
    span: int = 300,
    max_len: int = 40,
    strand: bool = False,
    name: str = "",
    empty: bool = False,
) -> list[tuple[Any, ...]]:
    """Random intervals in the convention, unsorted, some nested or bookended; with ``empty``
    two more, ending one base before their start and at their start."""
    out: list[tuple[Any, ...]] = []
    for i in range(n):
        chrom = rng.choice(chroms)
        s0 = rng.randint(0, span)
        e0 = s0 + rng.randint(1, max_len)
        if out and rng.random() < 0.25:  # bookended on, or nested in, an earlier interval
            prev = out[rng.randrange(len(out))]
            chrom = prev[0]
            p0 = prev[1] - 1 if closed else prev[1]
            p1 = prev[2]
            if rng.random() < 0.5:
                s0, e0 = p1, p1 + rng.randint(1, max_len)
            elif p1 - p0 > 2:
                s0 = rng.randint(p0 + 1, p1 - 1)
                e0 = rng.randint(s0 + 1, p1)
        row: tuple[Any, ...] = (chrom, *_out(s0, e0, closed))
        if strand:
            row += (rng.choice("++--."),)
        if name:
            row += (f"{name}{i}",)
        out.append(row)
    if empty and out:  # (s, s - 1) covers no base in either convention; (s, s) one base when closed
        for length in (-1, 0):
            chrom, s, _end, *rest = out[rng.randrange(len(out))]
            out.insert(rng.randrange(len(out) + 1), (chrom, s, s + length, *rest))
    return out


def _ladder(rng: random.Random, closed: bool, *, chrom: str = "chr1", strand: bool = False, start: int = 0) -> list[tuple[Any, ...]]:
    """Intervals whose successive gaps are every size from -2 (overlap) to 11, shuffled."""
    gaps = list(range(-2, 12))
    rng.shuffle(gaps)
    out: list[tuple[Any, ...]] = []
    s0 = start + rng.randint(0, 20)
    for gap in [*gaps, None]:  # one interval more than gaps: every gap is a link
        e0 = s0 + rng.randint(4, 12)
        row: tuple[Any, ...] = (chrom, *_out(s0, e0, closed))
        out.append(row + (("+",) if strand else ()))
        s0 = e0 + (gap or 0)
    rng.shuffle(out)
    return out


# -- merge -----------------------------------------------------------------------------------


def _gap_rule(max_gap: int, closed: bool) -> str:
    between = "next_start - current_end" if not closed else "next_start - current_end - 1"
    joined = (
        "only when they share at least one base (gap < 0)"
        if max_gap < 0
        else f"when the gap is at most {max_gap} base{'s' if max_gap != 1 else ''}"
    )
    return (
        f"The gap between two intervals is the number of bases strictly between them ({between} for "
        "sorted intervals; negative when they overlap). Sorting by start, an interval joins the current "
        f"merged interval {joined}, measured from the merged interval's end. "
    )


def _draw_merge(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    max_gap = rng.randint(-1, 10)
    with_count = rng.choice((True, False))
    stranded = rng.choice((True, False))
    name = "merge_intervals"
    strand_rule = (
        "Only intervals of the same chromosome and the same strand merge. "
        if stranded
        else "Intervals of the same chromosome merge whatever their strands. "
    )
    item = "(chrom, start, end" + (", strand" if stranded else "") + (", n)" if with_count else ")")
    spec = (
        "Merge the genomic intervals `intervals`, a list of (chrom, start, end, strand) tuples (strand is "
        f"'+', '-' or '.'), given in any order. {_convention(closed)}{_empty_rule(closed)}{strand_rule}"
        f"{_gap_rule(max_gap, closed)}Return a list of {item} tuples in the same convention"
        + (", where n is how many input intervals the merged interval holds" if with_count else "")
        + ", sorted by chrom (string order), start, end"
        + (" and strand" if stranded else "")
        + ". An empty input gives []."
    )
    reference = _source(
        {"CLOSED": closed, "MAX_GAP": max_gap, "WITH_COUNT": with_count, "STRANDED": stranded},
        r'''
        def merge_intervals(intervals):
            groups = {}
            for chrom, start, end, strand in intervals:
                s0 = start - 1 if CLOSED else start
                if end - s0 < 1:
                    continue
                key = (chrom, strand if STRANDED else None)
                groups.setdefault(key, []).append((s0, end))
            out = []
            for (chrom, strand), spans in groups.items():
                spans.sort()
                cur_s, cur_e, n = spans[0][0], spans[0][1], 1
                merged = []
                for s0, e0 in spans[1:]:
                    if s0 - cur_e <= MAX_GAP:
                        cur_e, n = max(cur_e, e0), n + 1
                    else:
                        merged.append((cur_s, cur_e, n))
                        cur_s, cur_e, n = s0, e0, 1
                merged.append((cur_s, cur_e, n))
                for s0, e0, n in merged:
                    row = (chrom, s0 + 1 if CLOSED else s0, e0)
                    if STRANDED:
                        row += (strand,)
                    if WITH_COUNT:
                        row += (n,)
                    out.append(row)
            out.sort(key=lambda row: row[: 4 if STRANDED else 3])
            return out
        ''',
    )
    ladder = _ladder(rng, closed, strand=True, start=rng.randint(0, 50))
    cases = (
        _call(name, "random", _random_intervals(rng, 12, closed, strand=True, empty=True)),
        _call(name, "ladder of gaps", ladder),
        _call(name, "two chromosomes", _random_intervals(rng, 8, closed, chroms=("chr2", "chr10"), span=80, max_len=25, strand=True)),
        _call(name, "one interval", _random_intervals(rng, 1, closed, strand=True)),
        _call(name, "empty", []),
    )
    return Variant(
        name=name,
        signature=f"def {name}(intervals: list[tuple[str, int, int, str]]) -> list[tuple]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "max_gap": max_gap, "with_count": with_count, "stranded": stranded},
    )


# -- intersect -------------------------------------------------------------------------------

_INTERSECT_MODES = {
    "parts": (
        "for every pair (a, b) that overlaps enough, taken in the order of `a` and then of `b`, the "
        "shared part as a (chrom, start, end) tuple"
    ),
    "with_hits": "every interval of `a` (the tuple as given) that overlaps enough at least one interval of `b`, in the order of `a`, each once",
    "without_hits": "every interval of `a` (the tuple as given) that overlaps enough no interval of `b`, in the order of `a`",
    "count": "for every interval of `a`, in order, the tuple as given followed by the number of intervals of `b` it overlaps enough",
}


def _draw_intersect(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    mode = rng.choice(tuple(_INTERSECT_MODES))
    min_overlap = rng.choice((1, 2, 3, 5, 10, 20))
    same_strand = rng.choice((True, False))
    name = "intersect_intervals"
    strand_rule = "and have the same strand " if same_strand else ""
    spec = (
        "Intersect two lists of genomic intervals `a` and `b`, each a list of (chrom, start, end, strand) "
        f"tuples (strand '+', '-' or '.'). {_convention(closed)}{_empty_rule(closed)}Two intervals "
        f"overlap enough when they are on the same chromosome {strand_rule}and share at least "
        f"{min_overlap} base{'s' if min_overlap > 1 else ''}. Return a list: {_INTERSECT_MODES[mode]}. "
        "Coordinates stay in the same convention."
    )
    reference = _source(
        {"CLOSED": closed, "MODE": mode, "MIN_OVERLAP": min_overlap, "SAME_STRAND": same_strand},
        r'''
        def intersect_intervals(a, b):
            def half_open(iv):
                return (iv[1] - 1 if CLOSED else iv[1]), iv[2]

            def valid(iv):
                s0, e0 = half_open(iv)
                return e0 - s0 >= 1

            b = [iv for iv in b if valid(iv)]
            out = []
            for x in a:
                if not valid(x):
                    continue
                xs, xe = half_open(x)
                hits = []
                for y in b:
                    if y[0] != x[0] or (SAME_STRAND and y[3] != x[3]):
                        continue
                    ys, ye = half_open(y)
                    if min(xe, ye) - max(xs, ys) >= MIN_OVERLAP:
                        hits.append((max(xs, ys), min(xe, ye)))
                if MODE == "parts":
                    out += [(x[0], s + 1 if CLOSED else s, e) for s, e in hits]
                elif MODE == "with_hits" and hits or MODE == "without_hits" and not hits:
                    out.append(tuple(x))
                elif MODE == "count":
                    out.append((*x, len(hits)))
            return out
        ''',
    )

    def near(src: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Intervals of b that overlap some of a's by 0 to 25 bases (so every threshold matters)."""
        out = []
        for chrom, s, e, strand in src:
            s0 = s - 1 if closed else s
            if rng.random() < 0.3 or e - s0 < 1:
                continue
            shared = rng.randint(0, min(25, e - s0))
            side = rng.random() < 0.5
            b0 = e - shared if side else s0 - rng.randint(1, 20) + shared
            b1 = b0 + rng.randint(max(1, shared), shared + 20) if side else s0 + shared
            if b1 - b0 < 1:
                continue
            out.append((chrom, *_out(b0, b1, closed), strand if rng.random() < 0.6 else rng.choice("+-.")))
        return out

    a1 = _random_intervals(rng, 8, closed, strand=True, max_len=50, empty=True)
    b1 = near(a1) + _random_intervals(rng, 4, closed, strand=True, max_len=50)
    rng.shuffle(b1)
    a2 = _random_intervals(rng, 6, closed, chroms=("chr1", "chrX"), strand=True, max_len=60)
    b2 = near(a2) + near(a2)
    # numeric overlaps (min end - max start) of exactly min_overlap - 1 and min_overlap: they decide
    # both the threshold and the convention
    edge_a = [("chr1", 100, 140, "+"), ("chr1", 200, 240, "-"), ("chr2", 10, 60, "+")]
    edge_b = [
        ("chr1", 140 - (min_overlap - 1), 170, "+"),
        ("chr1", 240 - min_overlap, 260, "-"),
        ("chr2", 60 - min_overlap - 1, 61, "-"),
        ("chr1", 60, 100, "+"),
    ]
    cases = (
        _call(name, "a, b", a1, b1),
        _call(name, "a2, b2", a2, b2),
        _call(name, "overlaps at the threshold", edge_a, edge_b),
        _call(name, "b empty", a2[:3], []),
        _call(name, "a empty", [], b1),
        _call(name, "same intervals", a1[:4], a1[:4]),
    )
    return Variant(
        name=name,
        signature=f"def {name}(a: list[tuple[str, int, int, str]], b: list[tuple[str, int, int, str]]) -> list[tuple]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "mode": mode, "min_overlap": min_overlap, "same_strand": same_strand},
    )


# -- per-base coverage -----------------------------------------------------------------------

_COVERAGE_OUTPUTS = {
    "per_base": "a list of length `length` whose item i is the depth at the chromosome's (i + 1)-th base",
    "runs_nonzero": (
        "a list of (start, end, depth) tuples, in the same coordinate convention, for the maximal runs of "
        "consecutive bases with the same non-zero depth, in position order (runs of depth 0 left out)"
    ),
    "runs_all": (
        "a list of (start, end, depth) tuples, in the same coordinate convention, for the maximal runs of "
        "consecutive bases with the same depth, depth 0 included, covering the whole chromosome in position order"
    ),
}


def _draw_coverage(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    strand = rng.choice(("any", "+", "-"))
    min_mapq = rng.choice((0, 10, 20, 30))
    output = rng.choice(tuple(_COVERAGE_OUTPUTS))
    name = "coverage_depth"
    rules = ["are on `chrom`"]
    if strand != "any":
        rules.append(f"have strand '{strand}'")
    if min_mapq:
        rules.append(f"have mapq at least {min_mapq}")
    spec = (
        "Compute the read depth along one chromosome. `reads` is a list of (chrom, start, end, strand, "
        "mapq) tuples; `chrom` names the chromosome and `length` its length in bases. "
        f"{_convention(closed)}{_empty_rule(closed)}Count only the reads that "
        + " and ".join(rules)
        + ". The depth at a base is the number of counted reads covering it; parts of reads outside the "
        f"chromosome are ignored. Return {_COVERAGE_OUTPUTS[output]}. A chromosome without counted "
        "reads has depth 0 everywhere."
    )
    reference = _source(
        {"CLOSED": closed, "STRAND": strand, "MIN_MAPQ": min_mapq, "OUTPUT": output},
        r'''
        def coverage_depth(reads, chrom, length):
            depth = [0] * length
            for c, start, end, strand, mapq in reads:
                if c != chrom or (STRAND != "any" and strand != STRAND) or mapq < MIN_MAPQ:
                    continue
                s0 = start - 1 if CLOSED else start
                for i in range(max(0, s0), min(length, end)):
                    depth[i] += 1
            if OUTPUT == "per_base":
                return depth
            runs, i = [], 0
            while i < length:
                j = i
                while j < length and depth[j] == depth[i]:
                    j += 1
                if depth[i] or OUTPUT == "runs_all":
                    runs.append((i + 1 if CLOSED else i, j, depth[i]))
                i = j
            return runs
        ''',
    )

    def reads(n: int, chroms: tuple[str, ...], length: int) -> list[tuple[Any, ...]]:
        out = []
        for _ in range(n):
            s0 = rng.randint(-10, length - 2)
            e0 = s0 + rng.randint(1, 30)
            if rng.random() < 0.1:
                e0 = s0  # covers no base
            out.append((rng.choice(chroms), *_out(s0, e0, closed), rng.choice("+-"), rng.choice((0, 5, 10, 15, 20, 29, 30, 60))))
        return out

    length = rng.randint(60, 120)
    cases = (
        _call(name, "reads, chr1", reads(14, ("chr1", "chr1", "chr2"), length), "chr1", length),
        _call(name, "reads, chr2", reads(10, ("chr1", "chr2"), length), "chr2", length),
        _call(name, "deep pile", reads(20, ("chrM",), 40), "chrM", 40),
        _call(name, "no reads on it", reads(3, ("chr1",), 30), "chr9", 12),
        _call(name, "empty", [], "chr1", 5),
    )
    return Variant(
        name=name,
        signature=f"def {name}(reads: list[tuple[str, int, int, str, int]], chrom: str, length: int) -> list",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "strand": strand, "min_mapq": min_mapq, "output": output},
    )


# -- coverage histogram ----------------------------------------------------------------------


def _draw_histogram(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    cap = rng.choice((None, 2, 3, 4, 5))
    fraction = rng.choice((True, False))
    per_chrom = rng.choice((True, False))
    name = "coverage_histogram"
    cap_rule = f"Depths of {cap} or more are pooled under the key {cap}. " if cap else ""
    value = (
        "the fraction of the bases (a float, no rounding) at that depth"
        if fraction
        else "the number of bases (int) at that depth"
    )
    scope = (
        "Return a dict mapping each chromosome of `sizes` to its own histogram, computed over that "
        "chromosome's bases: a dict mapping each depth (int) that occurs to "
        if per_chrom
        else "Return one histogram over all bases of all chromosomes of `sizes`: a dict mapping each depth (int) that occurs to "
    )
    spec = (
        "Build a coverage histogram. `intervals` is a list of (chrom, start, end) tuples and `sizes` a dict "
        f"mapping chromosome names to lengths (bases). {_convention(closed)}{_empty_rule(closed)}The depth "
        "of a base is the number of intervals covering it; intervals on chromosomes missing from `sizes` "
        f"and parts outside a chromosome are ignored. {cap_rule}{scope}{value}. Depths with no base are "
        "absent; every base of `sizes` counts, depth 0 included."
    )
    reference = _source(
        {"CLOSED": closed, "CAP": cap, "FRACTION": fraction, "PER_CHROM": per_chrom},
        r'''
        def coverage_histogram(intervals, sizes):
            per = {}
            for chrom, length in sizes.items():
                depth = [0] * length
                for c, start, end in intervals:
                    if c != chrom:
                        continue
                    s0 = start - 1 if CLOSED else start
                    for i in range(max(0, s0), min(length, end)):
                        depth[i] += 1
                hist = {}
                for d in depth:
                    d = min(d, CAP) if CAP else d
                    hist[d] = hist.get(d, 0) + 1
                per[chrom] = hist

            def finish(hist, total):
                return {d: (n / total if FRACTION else n) for d, n in hist.items()}

            if PER_CHROM:
                return {chrom: finish(hist, sizes[chrom]) for chrom, hist in per.items()}
            pooled = {}
            for hist in per.values():
                for d, n in hist.items():
                    pooled[d] = pooled.get(d, 0) + n
            return finish(pooled, sum(sizes.values()))
        ''',
    )

    def pile(chrom: str, n: int, length: int) -> list[tuple[Any, ...]]:
        out = []
        centre = rng.randint(5, length - 5)
        for _ in range(n):
            s0 = centre - rng.randint(0, 15)
            out.append((chrom, *_out(s0, s0 + rng.randint(3, 25), closed)))
        return out

    sizes = {"chr1": rng.randint(50, 90), "chr2": rng.randint(30, 60)}
    ivs = pile("chr1", 7, sizes["chr1"]) + _random_intervals(rng, 5, closed, chroms=("chr1", "chr2", "chrUn"), span=60, empty=True)
    rng.shuffle(ivs)
    cases = (
        _call(name, "two chromosomes", ivs, sizes, **FLOAT_TOL),
        _call(name, "deep pile", pile("chrM", 9, 40) + pile("chrM", 4, 40), {"chrM": 40}, **FLOAT_TOL),
        _call(name, "overhanging", [("chr1", *_out(s, e, closed)) for s, e in ((-5, 12), (20, 45), (8, 30))], {"chr1": 30, "chr3": 10}, **FLOAT_TOL),
        _call(name, "no intervals", [], {"chr1": 12, "chr2": 8}, **FLOAT_TOL),
    )
    return Variant(
        name=name,
        signature=f"def {name}(intervals: list[tuple[str, int, int]], sizes: dict[str, int]) -> dict",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "cap": cap, "fraction": fraction, "per_chrom": per_chrom},
    )


# -- nearest feature -------------------------------------------------------------------------

_NEAREST_MODES = {
    "any": "every feature on the query's chromosome is a candidate",
    "no_overlap": "features sharing a base with the query are not candidates",
    "left": "only features lying entirely before the query (their last base before its first base) are candidates",
    "right": "only features lying entirely after the query (their first base after its last base) are candidates",
}
_NEAREST_TIES = {
    "lowest_start": "the one with the smallest start (then the smallest end, then the first in `features`)",
    "first_listed": "the one listed first in `features`",
    "all": "all of them",
}


def _draw_nearest(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    mode = rng.choice(tuple(_NEAREST_MODES))
    tie = rng.choice(tuple(_NEAREST_TIES))
    with_distance = rng.choice((True, False))
    name = "nearest_feature"
    found = "a sorted list of the tied feature names" if tie == "all" else "the feature's name"
    item = f"a tuple ({found}, distance)" if with_distance else found
    spec = (
        "For each query interval find the nearest feature. `queries` and `features` are lists of (chrom, "
        f"start, end, name) tuples. {_convention(closed)}The distance between two intervals on the same "
        "chromosome is 0 when they share a base, else the number of bases strictly between them plus 1 "
        f"(adjacent intervals are at distance 1). For each query, {_NEAREST_MODES[mode]}; among the candidates "
        f"at the smallest distance take {_NEAREST_TIES[tie]}. Return a dict mapping each query name to {item}, "
        "or to None when the query has no candidate."
    )
    reference = _source(
        {"CLOSED": closed, "MODE": mode, "TIE": tie, "WITH_DISTANCE": with_distance},
        r'''
        def nearest_feature(queries, features):
            out = {}
            for q_chrom, q_start, q_end, q_name in queries:
                qs = q_start - 1 if CLOSED else q_start
                cands = []
                for order, (chrom, start, end, f_name) in enumerate(features):
                    if chrom != q_chrom:
                        continue
                    fs = start - 1 if CLOSED else start
                    if fs < q_end and qs < end:
                        dist = 0
                    else:
                        dist = (qs - end if end <= qs else fs - q_end) + 1
                    if MODE == "no_overlap" and dist == 0:
                        continue
                    if MODE == "left" and not end <= qs:
                        continue
                    if MODE == "right" and not fs >= q_end:
                        continue
                    cands.append((dist, fs, end, order, f_name))
                if not cands:
                    out[q_name] = None
                    continue
                best = min(c[0] for c in cands)
                tied = [c for c in cands if c[0] == best]
                if TIE == "all":
                    found = sorted(c[4] for c in tied)
                elif TIE == "lowest_start":
                    found = min(tied, key=lambda c: (c[1], c[2], c[3]))[4]
                else:
                    found = min(tied, key=lambda c: c[3])[4]
                out[q_name] = (found, best) if WITH_DISTANCE else found
            return out
        ''',
    )

    def around(query: tuple[Any, ...], k: int) -> list[tuple[Any, ...]]:
        """Features at chosen distances on both sides of a query, with ties and an overlap."""
        chrom, s, e, qname = query
        s0 = s - 1 if closed else s
        out = []
        d_left, d_right = rng.randint(1, 6), rng.randint(1, 6)
        if rng.random() < 0.5:
            d_right = d_left  # a tie across sides
        out.append((chrom, *_out(s0 - d_left + 1 - rng.randint(3, 9), s0 - d_left + 1, closed)))
        out.append((chrom, *_out(e + d_right - 1, e + d_right - 1 + rng.randint(3, 9), closed)))
        if rng.random() < 0.6:
            out.append((chrom, *_out(s0 - d_left + 1 - rng.randint(10, 14), s0 - d_left + 1, closed)))  # same end: tie
        if rng.random() < 0.6:
            mid = rng.randint(s0, e - 1)
            out.append((chrom, *_out(mid, mid + rng.randint(1, 5), closed)))  # overlaps the query
        out.append((chrom, *_out(e + 30, e + 40, closed)))
        return [(c, a, b, f"{qname}_f{k}{j}") for j, (c, a, b) in enumerate(out)]

    def queries(n: int, chroms: tuple[str, ...]) -> list[tuple[Any, ...]]:
        out = []
        for i in range(n):
            s0 = rng.randint(40, 400)
            out.append((rng.choice(chroms), *_out(s0, s0 + rng.randint(2, 20), closed), f"q{i}"))
        return out

    qs1 = queries(4, ("chr1", "chr2"))
    feats1 = [f for k, q in enumerate(qs1) for f in around(q, k)]
    rng.shuffle(feats1)
    qs2 = queries(3, ("chr1",)) + [("chr5", *_out(10, 20, closed), "lonely")]
    feats2 = [f for k, q in enumerate(qs2[:3]) for f in around(q, k)]
    rng.shuffle(feats2)
    edge_q = ("chr1", *_out(50, 60, closed), "edge")
    # numbers, not converted: sharing a base or adjacent depends on the convention
    touching = [("chr1", 60, 70, "A"), ("chr1", 40, 50, "L"), ("chr1", 55, 58, "O"), ("chr1", 30, 48, "B")]
    adjacent = [("chr1", *_out(s, e, closed), label) for s, e, label in ((60, 70, "right1"), (40, 50, "left1"), (30, 50, "left2"))]
    cases = (
        _call(name, "queries, features", qs1, feats1),
        _call(name, "one query without features", qs2, feats2),
        _call(name, "only overlap", [edge_q], [("chr1", *_out(55, 58, closed), "inside"), ("chr2", *_out(0, 5, closed), "far")]),
        _call(name, "touching features", [("chr1", 50, 60, "query")], touching),
        _call(name, "adjacent on both sides", [edge_q], adjacent),
        _call(name, "no features", qs1[:2], []),
    )
    return Variant(
        name=name,
        signature=f"def {name}(queries: list[tuple[str, int, int, str]], features: list[tuple[str, int, int, str]]) -> dict",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "mode": mode, "tie": tie, "with_distance": with_distance},
    )


# -- sliding windows -------------------------------------------------------------------------

_WINDOW_RULES = {
    "overlap": "a feature counts in every window with which it shares at least one base",
    "start": "a feature counts in the windows that contain its first base",
    "midpoint": (
        "a feature counts in the windows that contain its midpoint base, the base at offset "
        "(number of bases - 1) // 2 from its first base"
    ),
}


def _draw_windows(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    width = rng.choice((50, 100, 200, 250, 500))
    half_step = rng.choice((True, False))
    rule = rng.choice(tuple(_WINDOW_RULES))
    partial = rng.choice((True, False))
    step = width // 2 if half_step else width
    name = "window_counts"
    first = "1" if closed else "0"
    last_rule = (
        "windows continue while their first base lies on the chromosome, and the last ones are cut at "
        "the chromosome's end"
        if partial
        else "only windows lying entirely on the chromosome are reported (none if it is shorter than a window)"
    )
    spec = (
        "Count features in sliding windows along a chromosome of `length` bases. `features` is a list of "
        f"(start, end) tuples on that chromosome. {_convention(closed)}{_empty_rule(closed)}Window k "
        f"(k = 0, 1, ...) covers the {width} bases starting at base {first} + {step} * k; {last_rule}. "
        f"{_WINDOW_RULES[rule].capitalize()}. Return the list of counts (int), one per window in order."
    )
    reference = _source(
        {"CLOSED": closed, "WIDTH": width, "STEP": step, "RULE": rule, "PARTIAL": partial},
        r'''
        def window_counts(features, length):
            spans = []
            for start, end in features:
                s0 = start - 1 if CLOSED else start
                if end - s0 >= 1:
                    spans.append((s0, end))
            counts = []
            k = 0
            while k * STEP < length:
                w0, w1 = k * STEP, min(k * STEP + WIDTH, length)
                if not PARTIAL and k * STEP + WIDTH > length:
                    break
                n = 0
                for s0, e0 in spans:
                    if RULE == "overlap":
                        hit = s0 < w1 and w0 < e0
                    else:
                        point = s0 if RULE == "start" else s0 + (e0 - s0 - 1) // 2
                        hit = w0 <= point < w1
                    n += hit
                counts.append(n)
                k += 1
            return counts
        ''',
    )

    def feats(n: int, length: int) -> list[tuple[int, int]]:
        out = []
        for _ in range(n):
            boundary = rng.randint(1, max(1, length // step)) * step
            if rng.random() < 0.5:  # straddles a window boundary
                s0 = boundary - rng.randint(1, width // 2)
                e0 = boundary + rng.randint(1, width // 2)
            else:
                s0 = rng.randint(0, length - 1)
                e0 = s0 + rng.randint(1, width)
            out.append(_out(s0, e0, closed))
        return out

    length1 = width * rng.randint(3, 6) + rng.randint(1, width - 1)
    length2 = width * rng.randint(2, 4)
    # features starting on the last base of a window and on the first base of the next one, one
    # base long and longer: which window holds them is exactly what the convention decides
    edges = []
    for boundary in sorted(rng.sample(range(step, length1, step), 3)):
        edges += [_out(boundary - 1, boundary, closed), _out(boundary, boundary + 1, closed)]
        edges += [_out(boundary - 1, boundary + 6, closed), _out(boundary, boundary + 6, closed)]
    rng.shuffle(edges)
    cases = (
        _call(name, "ragged end", feats(12, length1), length1),
        _call(name, "features at window edges", edges, length1),
        _call(name, "exact multiple", feats(8, length2) + [_out(5, 5, closed)], length2),
        _call(name, "short chromosome", [_out(0, 3, closed), _out(width // 3, width // 3 + 2, closed)], width - 7),
        _call(name, "no features", [], 3 * width + 1),
    )
    return Variant(
        name=name,
        signature=f"def {name}(features: list[tuple[int, int]], length: int) -> list[int]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "width": width, "half_step": half_step, "rule": rule, "partial": partial},
    )


# -- complement ------------------------------------------------------------------------------


def _draw_complement(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    min_len = rng.choice((1, 2, 5, 10, 20, 50))
    keep_bare = rng.choice((True, False))
    totals = rng.choice((True, False))
    name = "uncovered_regions"
    bare = (
        "a chromosome of `sizes` on which no interval covers a base is one uncovered region from its first to its last base"
        if keep_bare
        else "chromosomes of `sizes` on which no interval covers a base are left out"
    )
    result = (
        "a dict mapping each reported chromosome to the total number of bases in its kept regions "
        "(chromosomes whose regions were all dropped map to 0)"
        if totals
        else "a list of (chrom, start, end) tuples in the same convention, sorted by chrom (string order) and start"
    )
    spec = (
        "Find the parts of a genome that no interval covers. `intervals` is a list of (chrom, start, end) "
        f"tuples, `sizes` a dict of chromosome lengths. {_convention(closed)}{_empty_rule(closed)}Intervals on "
        "chromosomes missing from `sizes` and parts outside a chromosome are ignored. The uncovered regions "
        "are the maximal runs of bases of a chromosome that no interval covers; "
        f"{bare}. Keep only regions of at least {min_len} bases. Return {result}."
    )
    reference = _source(
        {"CLOSED": closed, "MIN_LEN": min_len, "KEEP_BARE": keep_bare, "TOTALS": totals},
        r'''
        def uncovered_regions(intervals, sizes):
            regions, reported = [], []
            for chrom in sorted(sizes):
                length = sizes[chrom]
                clipped = [(max(0, s - 1 if CLOSED else s), min(length, e)) for c, s, e in intervals if c == chrom]
                spans = sorted((s0, e0) for s0, e0 in clipped if e0 - s0 >= 1)
                if not spans and not KEEP_BARE:
                    continue
                reported.append(chrom)
                pos = 0
                for s0, e0 in spans + [(length, length)]:
                    if s0 - pos >= MIN_LEN:
                        regions.append((chrom, pos, s0))
                    pos = max(pos, e0)
            if TOTALS:
                out = {chrom: 0 for chrom in reported}
                for chrom, s0, e0 in regions:
                    out[chrom] += e0 - s0
                return out
            return [(chrom, s0 + 1 if CLOSED else s0, e0) for chrom, s0, e0 in regions]
        ''',
    )
    sizes = {"chr1": rng.randint(150, 300), "chr2": rng.randint(80, 150), "chr10": rng.randint(40, 90)}
    ladder = _ladder(rng, closed, chrom="chr2", start=5)
    cases = (
        _call(name, "random", _random_intervals(rng, 10, closed, chroms=("chr1", "chr10", "chrUn"), span=250, empty=True), sizes),
        _call(name, "ladder of gaps", ladder, {"chr2": 400, "chr7": 30}),
        _call(name, "overhang", [("chr1", *_out(-10, 15, closed)), ("chr1", *_out(40, 90, closed))], {"chr1": 70}),
        _call(name, "no intervals", [], {"chr1": 35, "chr2": 8}),
    )
    return Variant(
        name=name,
        signature=f"def {name}(intervals: list[tuple[str, int, int]], sizes: dict[str, int]) -> list | dict",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "min_len": min_len, "keep_bare": keep_bare, "totals": totals},
    )


# -- subtract --------------------------------------------------------------------------------


def _draw_subtract(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    whole = rng.choice((True, False))
    min_len = rng.choice((1, 2, 5, 10, 20, 50))
    same_strand = rng.choice((True, False))
    name = "subtract_intervals"
    matching = "on the same chromosome and strand" if same_strand else "on the same chromosome (any strand)"
    rule = (
        f"drop it entirely if it shares at least one base with an interval of `b` {matching}, otherwise "
        "keep it whole (one piece)"
        if whole
        else f"remove every base covered by an interval of `b` {matching}; what remains may be several pieces"
    )
    spec = (
        "Subtract intervals `b` from intervals `a`; both are lists of (chrom, start, end, strand) tuples. "
        f"{_convention(closed)}{_empty_rule(closed)}For each interval of `a`, {rule}. Keep only pieces of at "
        f"least {min_len} bases. Return a list of (chrom, start, end, strand) tuples in the same convention: "
        "the pieces of each interval of `a` in position order, intervals of `a` in their given order."
    )
    reference = _source(
        {"CLOSED": closed, "WHOLE": whole, "MIN_LEN": min_len, "SAME_STRAND": same_strand},
        r'''
        def subtract_intervals(a, b):
            def half_open(iv):
                return (iv[1] - 1 if CLOSED else iv[1]), iv[2]

            out = []
            for chrom, start, end, strand in a:
                s0, e0 = half_open((chrom, start, end))
                if e0 - s0 < 1:
                    continue
                cuts = sorted(
                    half_open(y)
                    for y in b
                    if y[0] == chrom and (not SAME_STRAND or y[3] == strand) and half_open(y)[1] - half_open(y)[0] >= 1
                )
                cuts = [(cs, ce) for cs, ce in cuts if cs < e0 and s0 < ce]
                if WHOLE:
                    pieces = [] if cuts else [(s0, e0)]
                else:
                    pieces, pos = [], s0
                    for cs, ce in cuts:
                        if cs > pos:
                            pieces.append((pos, cs))
                        pos = max(pos, ce)
                    if pos < e0:
                        pieces.append((pos, e0))
                for ps, pe in pieces:
                    if pe - ps >= MIN_LEN:
                        out.append((chrom, ps + 1 if CLOSED else ps, pe, strand))
            return out
        ''',
    )

    def holes(src: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        out = []
        for chrom, s, e, strand in src:
            s0 = s - 1 if closed else s
            for _ in range(rng.choice((0, 0, 1, 2))):
                c0 = rng.randint(s0 - 5, e - 1)
                out.append((chrom, *_out(c0, c0 + rng.randint(1, 30), closed), strand if rng.random() < 0.6 else rng.choice("+-")))
        return out

    a1 = _random_intervals(rng, 8, closed, strand=True, max_len=120, empty=True)
    b1 = holes(a1) + _random_intervals(rng, 3, closed, strand=True)
    rng.shuffle(b1)
    long_a = [("chr1", *_out(0, 200, closed), "+")]
    long_b = [("chr1", *_out(s, s + rng.randint(2, 15), closed), rng.choice("+-")) for s in sorted(rng.sample(range(5, 190, 3), 8))]
    lengths = [("chr3", *_out(100 * i, 100 * i + n, closed), "+") for i, n in enumerate((1, 2, 4, 5, 9, 10, 19, 20, 49, 50))]
    touching_a = [("chr1", 10, 20, "+"), ("chr1", 40, 60, "-"), ("chr1", 80, 95, "+")]
    touching_b = [("chr1", 20, 30, "+"), ("chr1", 30, 40, "-"), ("chr1", 60, 61, "+"), ("chr1", 70, 80, "-"), ("chr1", 85, 88, "-")]
    cases = (
        _call(name, "a, b", a1, b1),
        _call(name, "one long interval, many holes", long_a, long_b),
        _call(name, "lengths at the thresholds", lengths, [("chr3", *_out(2000, 2010, closed), "+")]),
        _call(name, "touching intervals", touching_a, touching_b),
        _call(name, "b empty", a1[:4], []),
        _call(name, "a empty", [], b1),
    )
    return Variant(
        name=name,
        signature=f"def {name}(a: list[tuple[str, int, int, str]], b: list[tuple[str, int, int, str]]) -> list[tuple[str, int, int, str]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "whole": whole, "min_len": min_len, "same_strand": same_strand},
    )


# -- extend (slop) ---------------------------------------------------------------------------


def _draw_extend(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    up, down = rng.sample((0, 10, 50, 100, 200, 500), 2)
    stranded = rng.choice((True, False))
    name = "extend_intervals"
    sides = (
        f"Extend each interval by {up} bases upstream and {down} bases downstream: upstream is towards lower "
        "coordinates for strand '+' or '.' and towards higher coordinates for strand '-'. "
        if stranded
        else f"Extend each interval by {up} bases towards lower coordinates and {down} bases towards higher "
        "coordinates, whatever its strand. "
    )
    spec = (
        "Extend genomic intervals. `intervals` is a list of (chrom, start, end, strand) tuples (strand '+', "
        f"'-' or '.') and `sizes` a dict of chromosome lengths. {_convention(closed)}{sides}Then clip the "
        "result to the chromosome (no base before its first base or after its last). Intervals on "
        "chromosomes missing from `sizes` are dropped. Return a list of (chrom, start, end, strand) tuples in "
        "the same convention and in the given order."
    )
    reference = _source(
        {"CLOSED": closed, "UP": up, "DOWN": down, "STRANDED": stranded},
        r'''
        def extend_intervals(intervals, sizes):
            out = []
            for chrom, start, end, strand in intervals:
                if chrom not in sizes:
                    continue
                s0 = start - 1 if CLOSED else start
                left, right = (DOWN, UP) if STRANDED and strand == "-" else (UP, DOWN)
                s0, e0 = max(0, s0 - left), min(sizes[chrom], end + right)
                out.append((chrom, s0 + 1 if CLOSED else s0, e0, strand))
            return out
        ''',
    )
    sizes = {"chr1": rng.randint(3000, 6000), "chr2": rng.randint(1400, 2500)}
    ivs = []
    for strand in "+-.+-":
        chrom = rng.choice(("chr1", "chr2"))
        s0 = rng.randint(600, sizes[chrom] - 700)
        ivs.append((chrom, *_out(s0, s0 + rng.randint(1, 300), closed), strand))
    edges = [
        ("chr2", *_out(5, 40, closed), "+"),
        ("chr2", *_out(sizes["chr2"] - 30, sizes["chr2"], closed), "-"),
        ("chr2", *_out(3, 9, closed), "-"),
        ("chr2", *_out(sizes["chr2"] - 8, sizes["chr2"] - 2, closed), "+"),
    ]
    cases = (
        _call(name, "interior", ivs, sizes),
        _call(name, "near the ends", edges, sizes),
        _call(name, "unknown chromosome", [("chrZ", *_out(10, 20, closed), "+"), *ivs[:2]], sizes),
        _call(name, "empty", [], sizes),
    )
    return Variant(
        name=name,
        signature=f"def {name}(intervals: list[tuple[str, int, int, str]], sizes: dict[str, int]) -> list[tuple[str, int, int, str]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "up": up, "down": down, "stranded": stranded},
    )


# -- test split: breadth of coverage, Jaccard, clusters --------------------------------------


def _draw_breadth(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    min_depth = rng.randint(1, 5)
    min_mapq = rng.choice((0, 20))
    as_fraction = rng.choice((True, False))
    name = "target_breadth"
    mapq_rule = f"Only reads with mapq at least {min_mapq} count. " if min_mapq else "Every read counts. "
    value = (
        "the fraction of the target's bases (float, no rounding) covered by at least "
        if as_fraction
        else "the number of the target's bases (int) covered by at least "
    )
    spec = (
        "Measure how much of each target region is covered. `targets` is a list of (chrom, start, end, name) "
        "tuples and `reads` a list of (chrom, start, end, mapq) tuples. "
        f"{_convention(closed)}{_empty_rule(closed)}{mapq_rule}Return a dict mapping each target name to "
        f"{value}{min_depth} counted read{'s' if min_depth > 1 else ''} (on the target's chromosome)."
    )
    reference = _source(
        {"CLOSED": closed, "MIN_DEPTH": min_depth, "MIN_MAPQ": min_mapq, "AS_FRACTION": as_fraction},
        r'''
        def target_breadth(targets, reads):
            out = {}
            for chrom, start, end, name in targets:
                t0 = start - 1 if CLOSED else start
                if end - t0 < 1:
                    continue
                depth = [0] * (end - t0)
                for c, s, e, mapq in reads:
                    if c != chrom or mapq < MIN_MAPQ:
                        continue
                    s0 = s - 1 if CLOSED else s
                    for i in range(max(s0, t0), min(e, end)):
                        depth[i - t0] += 1
                covered = sum(1 for d in depth if d >= MIN_DEPTH)
                out[name] = covered / len(depth) if AS_FRACTION else covered
            return out
        ''',
    )

    def reads_over(targets: list[tuple[Any, ...]], n: int) -> list[tuple[Any, ...]]:
        out = []
        for _ in range(n):
            chrom, s, _end, _name = rng.choice(targets)
            s0 = (s - 1 if closed else s) + rng.randint(-10, 30)
            out.append((chrom, *_out(s0, s0 + rng.randint(5, 35), closed), rng.choice((0, 10, 19, 20, 40, 60))))
        return out

    targets = []
    for i in range(4):
        s0 = rng.randint(0, 300)
        targets.append((rng.choice(("chr1", "chr2")), *_out(s0, s0 + rng.randint(20, 60), closed), f"t{i}"))
    cases = (
        _call(name, "targets, reads", targets, reads_over(targets, 30), **FLOAT_TOL),
        _call(name, "sparse reads", targets[:2], reads_over(targets, 6), **FLOAT_TOL),
        _call(name, "reads on another chromosome", [("chr3", *_out(0, 10, closed), "x")], [("chr1", *_out(0, 10, closed), 60)], **FLOAT_TOL),
        _call(name, "no reads", targets, [], **FLOAT_TOL),
    )
    return Variant(
        name=name,
        signature=f"def {name}(targets: list[tuple[str, int, int, str]], reads: list[tuple[str, int, int, int]]) -> dict",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "min_depth": min_depth, "min_mapq": min_mapq, "as_fraction": as_fraction},
    )


def _draw_jaccard(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    per_chrom = rng.choice((True, False))
    min_len = rng.choice((1, 5, 10, 20, 50))
    details = rng.choice((True, False))
    name = "interval_jaccard"
    value = (
        "a tuple (intersection bases, union bases, jaccard)"
        if details
        else "the Jaccard index"
    )
    scope = (
        "Return a dict mapping each chromosome on which either set has a kept interval to "
        if per_chrom
        else "Return, over the whole genome, "
    )
    spec = (
        "Compute the base-pair Jaccard index of two interval sets `a` and `b`, lists of (chrom, start, end) "
        f"tuples. {_convention(closed)}First drop the intervals shorter than {min_len} bases (this drops those "
        "covering no base). A set covers a base when any of its kept intervals does. Intersection bases: "
        "bases covered by both sets; union bases: bases covered by either; the Jaccard index is their ratio "
        f"(float, no rounding), 0.0 when the union is empty. {scope}{value}."
    )
    reference = _source(
        {"CLOSED": closed, "PER_CHROM": per_chrom, "MIN_LEN": min_len, "DETAILS": details},
        r'''
        def interval_jaccard(a, b):
            def bases(intervals):
                covered = set()
                for chrom, start, end in intervals:
                    s0 = start - 1 if CLOSED else start
                    if end - s0 >= MIN_LEN:
                        covered.update((chrom, i) for i in range(s0, end))
                return covered

            ca, cb = bases(a), bases(b)

            def result(x, y):
                inter, union = len(x & y), len(x | y)
                jac = inter / union if union else 0.0
                return (inter, union, jac) if DETAILS else jac

            if not PER_CHROM:
                return result(ca, cb)
            chroms = {c for c, _ in ca | cb}
            return {c: result({p for p in ca if p[0] == c}, {p for p in cb if p[0] == c}) for c in chroms}
        ''',
    )
    a1 = _random_intervals(rng, 8, closed, chroms=("chr1", "chr2"), span=150, max_len=60, empty=True)
    lowest = 1 if closed else 0
    b1 = [(c, max(lowest, s + rng.randint(-10, 10)), e + rng.randint(-10, 10)) for c, s, e in a1[:5]]
    b1 += _random_intervals(rng, 3, closed, chroms=("chr2", "chr3"), span=150, max_len=60)
    short = [("chr1", *_out(s, s + n, closed)) for s, n in ((0, 3), (10, 7), (30, 12), (60, 25), (100, 55))]
    cases = (
        _call(name, "a, b", a1, b1, **FLOAT_TOL),
        _call(name, "short intervals", short, [("chr1", *_out(0, 160, closed))], **FLOAT_TOL),
        _call(name, "disjoint chromosomes", a1[:3], [("chrY", *_out(0, 80, closed))], **FLOAT_TOL),
        _call(name, "both empty", [], [], **FLOAT_TOL),
    )
    return Variant(
        name=name,
        signature=f"def {name}(a: list[tuple[str, int, int]], b: list[tuple[str, int, int]])",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "per_chrom": per_chrom, "min_len": min_len, "details": details},
    )


def _draw_cluster(rng: random.Random) -> Variant:
    closed = rng.choice((True, False))
    max_gap = rng.randint(-1, 10)
    stranded = rng.choice((True, False))
    name = "cluster_intervals"
    strand_rule = "the same chromosome and strand" if stranded else "the same chromosome (any strand)"
    spec = (
        "Assign cluster ids to genomic intervals. `intervals` is a list of (chrom, start, end, strand) "
        f"tuples. {_convention(closed)}{_empty_rule(closed)}Sort the intervals by chrom (string order), "
        "start, end (ties keep the given order). Intervals on "
        f"{strand_rule} form chains. {_gap_rule(max_gap, closed).replace('merged interval', 'cluster')}"
        "Number the clusters 1, 2, ... in the order of their first interval in the sorted list. Return a list "
        "of (chrom, start, end, strand, cluster id) tuples in that sorted order."
    )
    reference = _source(
        {"CLOSED": closed, "MAX_GAP": max_gap, "STRANDED": stranded},
        r'''
        def cluster_intervals(intervals):
            rows = [iv for iv in intervals if iv[2] - (iv[1] - 1 if CLOSED else iv[1]) >= 1]
            rows.sort(key=lambda iv: (iv[0], iv[1], iv[2]))
            open_clusters = {}
            next_id, out = 1, []
            for chrom, start, end, strand in rows:
                key = (chrom, strand if STRANDED else None)
                s0 = start - 1 if CLOSED else start
                current = open_clusters.get(key)
                if current is not None and s0 - current[1] <= MAX_GAP:
                    cid = current[0]
                    open_clusters[key] = (cid, max(current[1], end))
                else:
                    cid, next_id = next_id, next_id + 1
                    open_clusters[key] = (cid, end)
                out.append((chrom, start, end, strand, cid))
            return out
        ''',
    )
    ladder = _ladder(rng, closed, strand=True, start=rng.randint(0, 40))
    cases = (
        _call(name, "random", _random_intervals(rng, 12, closed, strand=True, empty=True)),
        _call(name, "ladder of gaps", ladder),
        _call(name, "interleaved strands", _random_intervals(rng, 8, closed, chroms=("chr2",), span=60, strand=True)),
        _call(name, "empty", []),
    )
    return Variant(
        name=name,
        signature=f"def {name}(intervals: list[tuple[str, int, int, str]]) -> list[tuple[str, int, int, str, int]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"closed": closed, "max_gap": max_gap, "stranded": stranded},
    )


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("merge_intervals", "train", _draw_merge, "merge intervals with a gap threshold"),
    FunctionTemplate("intersect_intervals", "train", _draw_intersect, "intersect two interval sets"),
    FunctionTemplate("coverage_depth", "train", _draw_coverage, "per-base read depth"),
    FunctionTemplate("coverage_histogram", "train", _draw_histogram, "coverage histogram"),
    FunctionTemplate("nearest_feature", "train", _draw_nearest, "nearest feature with tie rules"),
    FunctionTemplate("window_counts", "train", _draw_windows, "sliding-window feature counts"),
    FunctionTemplate("uncovered_regions", "train", _draw_complement, "complement of intervals in a genome"),
    FunctionTemplate("subtract_intervals", "train", _draw_subtract, "subtract intervals"),
    FunctionTemplate("extend_intervals", "train", _draw_extend, "strand-aware interval extension"),
    FunctionTemplate("target_breadth", "test", _draw_breadth, "breadth of coverage of targets"),
    FunctionTemplate("interval_jaccard", "test", _draw_jaccard, "base-pair Jaccard of interval sets"),
    FunctionTemplate("cluster_intervals", "test", _draw_cluster, "cluster ids of nearby intervals"),
)
