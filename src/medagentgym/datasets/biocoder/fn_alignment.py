"""biocoder family ``alignment``: pairwise and multiple alignment scores and sequence distances.

Scores are asked with their scoring stated in full (match, mismatch, linear or affine gaps, which
end gaps are free), distances with their model (p, Jukes-Cantor, Kimura 2-parameter) and how
gaps and ambiguous sites are treated, so that a correct function is unique. As in
``fn_sequences``, each template's general algorithm is a private helper whose source, bound to
the variant's constants, is the reference; the dynamic programmes are checked against brute-force
enumeration of alignments in the family's tests.
"""

from __future__ import annotations

import random

from medagentgym.datasets.biocoder.fn_sequences import (
    dna,
    mixed_case,
    pick,
    plant,
    revcomp,
)
from medagentgym.datasets.biocoder.spec import (
    FunctionTemplate,
    Variant,
    bind_variant,
    call_case,
    raises_case,
)

PROTEIN = "ACDEFGHIKLMNPQRSTVWY"


def mutate(rng: random.Random, seq: str, rate: float, alphabet: str = "ACGT", indels: bool = True) -> str:
    """``seq`` with substitutions (and, with ``indels``, insertions and deletions) at ``rate``."""
    out = []
    for ch in seq:
        roll = rng.random()
        if roll < rate:
            out.append(rng.choice([c for c in alphabet if c != ch] or [ch]))
        elif indels and roll < rate * 1.4:
            continue
        elif indels and roll < rate * 1.8:
            out += [ch, rng.choice(alphabet)]
        else:
            out.append(ch)
    return "".join(out)


def aligned_pair(rng: random.Random, length: int, rate: float = 0.25) -> tuple[str, str]:
    """Two rows of a pairwise alignment of equal length: substitutions, gaps in either row and,
    now and then, a column where both rows hold a gap."""
    top, bottom = [], []
    for _ in range(length):
        base = rng.choice("ACGT")
        roll = rng.random()
        if roll < rate / 2:
            top.append(base)
            bottom.append(rng.choice([c for c in "ACGT" if c != base]))
        elif roll < rate:
            top.append("-") if rng.random() < 0.5 else top.append(base)
            bottom.append(base if top[-1] == "-" else "-")
        elif roll < rate * 1.1:
            top.append("-")
            bottom.append("-")
        else:
            top.append(base)
            bottom.append(base)
    return "".join(top), "".join(bottom)


# == 1. Hamming distance ========================================================================


def _hamming(a: str, b: str, ignore_case: bool, u_is_t: bool, unequal: str, skip_gaps_n: bool,
             output: str) -> int | float | tuple:
    if ignore_case:
        a, b = a.upper(), b.upper()
    if u_is_t:
        a = a.replace("U", "T").replace("u", "t")
        b = b.replace("U", "T").replace("u", "t")
    extra = abs(len(a) - len(b))
    if extra and unequal == "raise":
        raise ValueError("sequences of different lengths")
    differences = compared = transitions = transversions = 0
    for x, y in zip(a, b):
        if skip_gaps_n and (x in "-Nn" or y in "-Nn"):
            continue
        compared += 1
        if x != y:
            differences += 1
            if x in "ACGT" and y in "ACGT":
                if {x, y} in ({"A", "G"}, {"C", "T"}):
                    transitions += 1
                else:
                    transversions += 1
    if unequal == "count":
        differences += extra
        compared += extra
    if output == "count":
        return differences
    if output == "proportion":
        return differences / compared if compared else 0.0
    return (transitions, transversions)


def draw_hamming(rng: random.Random) -> Variant:
    output = rng.choice(("count", "proportion", "ts_tv"))
    ignore_case = output == "ts_tv" or rng.random() < 0.5
    u_is_t = rng.random() < 0.5
    # transitions and transversions involve A/C/G/T pairs only: extra length, gaps and N never count there
    unequal = rng.choice(("raise", "truncate") if output == "ts_tv" else ("raise", "truncate", "count"))
    skip = output != "ts_tv" and rng.random() < 0.5
    name = pick(rng, ("hamming_distance", "hamming", "count_mismatches"))
    lines = [
        "Compare two sequences position by position (position i of one with position i of the other).",
        ("- Case is ignored (compare the uppercase forms)." if ignore_case else
         "- Case matters: 'a' and 'A' are different characters."),
        ("- U and T are the same base (u and t too)." if u_is_t else "- U and T are different characters."),
        ("- Skip every position where either sequence holds '-', 'N' or 'n'." if skip else
         "- Every position up to the shorter length is compared, whatever its characters."),
        {
            "raise": "- Sequences of different lengths raise ValueError.",
            "truncate": "- Sequences of different lengths are compared over the shorter length only.",
            "count": "- Sequences of different lengths: compare over the shorter length, and every extra character"
                     " of the longer one counts as one difference (and as one compared position).",
        }[unequal],
    ]
    if output == "count":
        lines.append("- Return the number of differing positions (int).")
    elif output == "proportion":
        lines.append("- Return the differing positions divided by the compared positions (float); 0.0 when no"
                     " position is compared.")
    else:
        lines.append("- Return a tuple (transitions, transversions) of ints counting the differing positions where"
                     " both characters are among A, C, G, T: transitions are A<->G and C<->T, every other pair is a"
                     " transversion; other differences are not counted.")
    x = dna(rng, rng.randint(12, 24))
    y = mutate(rng, x, 0.3, indels=False)
    cases = [
        call_case(name, x, y),
        call_case(name, mixed_case(rng, x), x),
        call_case(name, "", ""),
        call_case(name, x[:8] + "N-" + x[10:], y),
        call_case(name, x.replace("T", "U"), y),
    ]
    longer = y + dna(rng, rng.randint(1, 4))
    cases.append(raises_case(name, x, longer) if unequal == "raise" else call_case(name, x, longer))
    cases.append(call_case(name, "ACGUTGCA", "GTACCAUG"))
    params = {"ignore_case": ignore_case, "u_is_t": u_is_t, "unequal": unequal, "skip_gaps_n": skip, "output": output}
    returns = {"count": "int", "proportion": "float", "ts_tv": "tuple[int, int]"}[output]
    return bind_variant(name, "a: str, b: str", returns, "a, b", _hamming, params, "\n".join(lines), cases, params)


# == 2. edit distance ============================================================================


def _edit_distance(a: str, b: str, substitution: int, insertion: int, deletion: int, transpositions: bool,
                   ignore_case: bool) -> int:
    if ignore_case:
        a, b = a.upper(), b.upper()
    n, m = len(a), len(b)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        d[i][0] = i * deletion
    for j in range(1, m + 1):
        d[0][j] = j * insertion
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = a[i - 1] == b[j - 1]
            best = min(d[i - 1][j] + deletion, d[i][j - 1] + insertion, d[i - 1][j - 1] + (0 if same else substitution))
            if transpositions and i > 1 and j > 1 and not same and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, d[i - 2][j - 2] + 1)
            d[i][j] = best
    return d[n][m]


def draw_edit_distance(rng: random.Random) -> Variant:
    substitution = rng.randint(1, 3)
    insertion = rng.randint(1, 3)
    deletion = rng.randint(1, 3)
    transpositions = rng.random() < 0.4
    ignore_case = rng.random() < 0.5
    name = pick(rng, ("edit_distance", "weighted_levenshtein", "levenshtein"))
    lines = [
        "The minimum total cost of edits turning the first string a into the second string b.",
        (f"- Substituting one character for another costs {substitution}; inserting a character (one of b that a"
        f" lacks) costs {insertion}; deleting a character (one of a that b lacks) costs {deletion}."),
    ]
    if transpositions:
        lines.append("- Swapping two adjacent characters costs 1 (restricted transpositions, the 'optimal string"
                     " alignment' distance: no substring is edited again after a swap).")
    lines.append("- Case is ignored (compare uppercase forms)." if ignore_case else "- Case matters ('a' != 'A').")
    lines.append("- Return the cost as an int; two empty strings cost 0.")
    x = dna(rng, rng.randint(8, 14))
    y = mutate(rng, x, 0.25)
    swap = list(x)
    k = rng.randrange(len(swap) - 1)
    while swap[k] == swap[k + 1]:
        k = (k + 1) % (len(swap) - 1)
    swap[k], swap[k + 1] = swap[k + 1], swap[k]
    p = "".join(rng.choice(PROTEIN) for _ in range(rng.randint(6, 10)))
    cases = [
        call_case(name, x, y),
        call_case(name, "", x[:5]),
        call_case(name, x[:6], ""),
        call_case(name, x, "".join(swap)),
        call_case(name, mixed_case(rng, x), x),
        call_case(name, p, mutate(rng, p, 0.3, PROTEIN)),
        call_case(name, "", ""),
    ]
    params = {"substitution": substitution, "insertion": insertion, "deletion": deletion,
              "transpositions": transpositions, "ignore_case": ignore_case}
    return bind_variant(name, "a: str, b: str", "int", "a, b", _edit_distance, params, "\n".join(lines), cases,
                        params)


# == 3. global alignment score (Needleman-Wunsch) ===============================================


def _global_score(a: str, b: str, match: int, mismatch: int, gap: int, transition: int | None) -> int:
    a, b = a.upper(), b.upper()

    def pair(x: str, y: str) -> int:
        if x == y:
            return match
        if transition is not None and {x, y} in ({"A", "G"}, {"C", "T"}):
            return transition
        return mismatch

    previous = [j * gap for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        current = [i * gap]
        for j in range(1, len(b) + 1):
            current.append(max(previous[j - 1] + pair(a[i - 1], b[j - 1]), previous[j] + gap, current[j - 1] + gap))
        previous = current
    return previous[-1]


def scoring_text(match: int, mismatch: int, gap: int, transition: int | None = None) -> str:
    text = f"a match (same letter, case-insensitive) scores {match:+d}, a mismatch {mismatch:+d}"
    if transition is not None:
        text += f" except a transition (A<->G or C<->T), which scores {transition:+d}"
    return text + f", and each gap position (a character aligned to a gap) {gap:+d}"


def draw_global_score(rng: random.Random) -> Variant:
    match = rng.randint(1, 3)
    mismatch = -rng.randint(1, 3)
    gap = -rng.randint(1, 4)
    transition = rng.choice((None, None, *(v for v in (-1, 0) if v > mismatch)))
    name = pick(rng, ("global_alignment_score", "needleman_wunsch", "nw_score"))
    spec = "\n".join([
        ("The optimal global (Needleman-Wunsch) alignment score of two sequences: every character of both"
        " sequences is aligned, to a character of the other or to a gap."),
        f"- Scoring: {scoring_text(match, mismatch, gap, transition)} (linear gaps; end gaps are not free).",
        "- Return the best score as an int (aligning two empty sequences scores 0).",
    ])
    x = dna(rng, rng.randint(7, 12))
    cases = [
        call_case(name, x, mutate(rng, x, 0.3)),
        call_case(name, mixed_case(rng, x), x),
        call_case(name, "", x[:4]),
        call_case(name, x[:3], ""),
        call_case(name, "ACGTAG", "GCATGA"),
        call_case(name, dna(rng, 9), dna(rng, 6)),
        call_case(name, "AAGG", "GGAA"),
    ]
    params = {"match": match, "mismatch": mismatch, "gap": gap, "transition": transition}
    return bind_variant(name, "a: str, b: str", "int", "a, b", _global_score, params, spec, cases, params)


# == 4. local alignment score (Smith-Waterman) ===================================================


def _local_score(a: str, b: str, match: int, mismatch: int, gap: int, with_end: bool) -> int | tuple:
    a, b = a.upper(), b.upper()
    best, end = 0, (0, 0)
    previous = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        current = [0]
        for j in range(1, len(b) + 1):
            diagonal = previous[j - 1] + (match if a[i - 1] == b[j - 1] else mismatch)
            value = max(0, diagonal, previous[j] + gap, current[j - 1] + gap)
            current.append(value)
            if value > best:
                best, end = value, (i, j)
        previous = current
    return (best, end[0], end[1]) if with_end else best


def draw_local_score(rng: random.Random) -> Variant:
    match = rng.randint(1, 3)
    mismatch = -rng.randint(1, 3)
    gap = -rng.randint(1, 4)
    with_end = rng.random() < 0.5
    name = pick(rng, ("local_alignment_score", "smith_waterman", "sw_score"))
    lines = [
        ("The optimal local (Smith-Waterman) alignment score of two sequences: the best score of an alignment"
        " between any substring of the first and any substring of the second (the empty alignment scores 0)."),
        f"- Scoring: {scoring_text(match, mismatch, gap)} (linear gaps).",
    ]
    if with_end:
        lines.append("- Return a tuple (score, i, j) of ints: the best score and where an optimal local alignment"
                     " ends, i and j being how many characters of the first and second sequence lie before that"
                     " end (it ends with a[i-1] and b[j-1]). In the dynamic-programming matrix H[i][j] (the best"
                     " score of a local alignment ending there), take the cell with the highest score; ties go to"
                     " the smallest i, then the smallest j. No positive score: (0, 0, 0).")
    else:
        lines.append("- Return the best score as an int (0 when nothing aligns with a positive score).")
    core = dna(rng, rng.randint(6, 9))
    long = dna(rng, rng.randint(20, 26))
    a = dna(rng, rng.randint(3, 8)) + core + dna(rng, rng.randint(2, 6))
    b = dna(rng, rng.randint(2, 5)) + mutate(rng, core, 0.15) + dna(rng, rng.randint(3, 7))
    cases = [
        call_case(name, a, b),
        call_case(name, mixed_case(rng, b), a),
        call_case(name, "", "ACGT"),
        call_case(name, "AAAA", "CCCC"),
        call_case(name, "TTACGTCAGT" + "ACGTTACGAT", "GGACGTCAGTTACGTT"),
        call_case(name, long, mutate(rng, long, 0.12)),
    ]
    params = {"match": match, "mismatch": mismatch, "gap": gap, "with_end": with_end}
    return bind_variant(name, "a: str, b: str", "tuple[int, int, int]" if with_end else "int", "a, b", _local_score,
                        params, "\n".join(lines), cases, params)


# == 5. evolutionary distances ===================================================================


def _distance(seqs: list, model: str, complete_deletion: bool, output: str) -> float | list:
    import math

    rows = [s.upper() for s in seqs]
    if len({len(r) for r in rows}) > 1:
        raise ValueError("aligned sequences must have equal lengths")
    width = len(rows[0]) if rows else 0
    usable = [k for k in range(width) if all(r[k] in "ACGT" for r in rows)] if complete_deletion else range(width)

    def pair(x: str, y: str) -> float:
        sites = [k for k in usable if x[k] in "ACGT" and y[k] in "ACGT"]
        if not sites:
            raise ValueError("no comparable site")
        transitions = sum(1 for k in sites if x[k] != y[k] and {x[k], y[k]} in ({"A", "G"}, {"C", "T"}))
        transversions = sum(1 for k in sites if x[k] != y[k]) - transitions
        p_ts, q_tv = transitions / len(sites), transversions / len(sites)
        p = p_ts + q_tv
        if model == "p":
            return p
        if model == "jc69":
            inner = 1 - 4 * p / 3
            return -0.75 * math.log(inner) if inner > 0 else float("inf")
        if model == "k2p":
            first, second = 1 - 2 * p_ts - q_tv, 1 - 2 * q_tv
            if first <= 0 or second <= 0:
                return float("inf")
            return -0.5 * math.log(first) - 0.25 * math.log(second)
        if transversions:
            return transitions / transversions
        return float("inf") if transitions else 0.0

    if output == "pair":
        return pair(rows[0], rows[1])
    n = len(rows)
    matrix = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i][j] = matrix[j][i] = pair(rows[i], rows[j])
    if output == "matrix":
        return matrix
    return [matrix[i][j] for i in range(n) for j in range(i + 1, n)]


def draw_distance(rng: random.Random) -> Variant:
    model = rng.choice(("p", "jc69", "k2p", "tstv"))
    output = rng.choice(("pair", "matrix", "condensed"))
    complete = output != "pair" and rng.random() < 0.5
    names = {"p": "p_distance", "jc69": "jukes_cantor_distance", "k2p": "kimura_distance", "tstv": "ts_tv_ratio"}
    name = names[model] + ("" if output == "pair" else "_matrix")
    measure = {
        "p": "the p-distance p = (differing sites) / (compared sites)",
        "jc69": "the Jukes-Cantor (JC69) distance d = -3/4 * ln(1 - 4p/3), p being the p-distance; float('inf')"
                " when 1 - 4p/3 <= 0",
        "k2p": "the Kimura 2-parameter distance d = -1/2 * ln(1 - 2P - Q) - 1/4 * ln(1 - 2Q), P and Q being the"
               " proportions of compared sites that differ by a transition (A<->G, C<->T) and by a transversion;"
               " float('inf') when either logarithm's argument is <= 0",
        "tstv": "the transition/transversion ratio: (sites differing by a transition, A<->G or C<->T) / (sites"
                " differing by a transversion); float('inf') when there are transitions but no transversion, 0.0"
                " when there is neither",
    }[model]
    if output == "pair":
        lines = ["Compare two aligned DNA sequences (rows of an alignment, case-insensitive)."]
        site_rule = ("- Compared sites: the positions where both sequences hold one of A, C, G, T (gaps '-', N and"
                     " other characters there exclude the position).")
    else:
        lines = ["Compute pairwise distances among aligned DNA sequences (rows of an alignment, case-insensitive)."]
        site_rule = ("- Compared sites (complete deletion): only the positions where every sequence of the list holds"
                     " one of A, C, G, T are used, for every pair." if complete else
                     "- Compared sites (pairwise deletion): for each pair, the positions where both sequences hold"
                     " one of A, C, G, T.")
    lines += [
        site_rule,
        f"- The value of a pair is {measure}.",
        "- Sequences of different lengths raise ValueError, and so does a pair with no compared site.",
    ]
    if output == "pair":
        lines.append("- Return the value as a float.")
    elif output == "matrix":
        lines.append("- Return an n x n list of lists of floats (row i, column j: sequences i and j), symmetric, with"
                     " 0.0 on the diagonal; [] for no sequence.")
    else:
        lines.append("- Return the condensed form: a flat list of floats of the pairs (i, j) with i < j in the order"
                     " (0, 1), (0, 2), ..., (0, n-1), (1, 2), ...; [] for fewer than two sequences.")
    base = dna(rng, rng.randint(14, 22))
    rows = [mutate(rng, base, rng.choice((0.1, 0.2, 0.3)), indels=False) for _ in range(4)]
    gapped = [r[:4] + "-" + r[5:9] + "N" + r[10:] for r in rows[:2]] + rows[2:]
    if output == "pair":
        cases = [
            call_case(name, rows[0], rows[1]),
            call_case(name, gapped[0], mixed_case(rng, rows[2])),
            call_case(name, "ACGTACGTAC", "GTACGCATGT"),
            call_case(name, base, base),
            call_case(name, "AAAAGGGGCC", "GGGGAAAACC"),
            raises_case(name, base, base[:-1]),
            raises_case(name, "NN--", "ACGT"),
        ]
    else:
        cases = [
            call_case(name, rows[:3]),
            call_case(name, [mixed_case(rng, r) for r in gapped]),
            call_case(name, ["ACGTACGTAC", "GTACGCATGT", "ACGTACGTAA"]),
            call_case(name, ["ACGTAG", "A-GTTG", "ATGAAC"]),
            call_case(name, [base]),
            call_case(name, []),
            raises_case(name, [base, base[:-1]]),
        ]
    params = {"model": model, "complete_deletion": complete, "output": output}
    if output == "pair":
        return bind_variant(name, "a: str, b: str", "float", "[a, b]", _distance, params, "\n".join(lines), cases,
                            params)
    returns = "list[list[float]]" if output == "matrix" else "list[float]"
    return bind_variant(name, "seqs: list[str]", returns, "seqs", _distance, params, "\n".join(lines), cases, params)


# == 6. consensus sequence =======================================================================


def _consensus(seqs: list, threshold: float | None, ties: str, gaps: str) -> str:
    codes = {"AG": "R", "CT": "Y", "CG": "S", "AT": "W", "GT": "K", "AC": "M", "CGT": "B", "AGT": "D", "ACT": "H",
             "ACG": "V", "ACGT": "N"}
    order = "ACGT-"
    if not seqs or len({len(s) for s in seqs}) > 1:
        raise ValueError("a non-empty list of sequences of equal length is needed")
    out = []
    for column in zip(*(s.upper() for s in seqs)):
        counts = {}
        for c in column:
            if c in "ACGT" or (c == "-" and gaps != "ignore"):
                counts[c] = counts.get(c, 0) + 1
        if not counts:
            out.append("N")
            continue
        top = max(counts.values())
        winners = sorted((c for c, n in counts.items() if n == top), key=order.index)
        if threshold is not None and top / sum(counts.values()) < threshold:
            symbol = "N"
        elif len(winners) == 1 or ties == "first":
            symbol = winners[0]
        elif ties == "N" or "-" in winners:
            symbol = "N"
        else:
            symbol = codes["".join(winners)]
        if symbol == "-" and gaps == "drop":
            continue
        out.append(symbol)
    return "".join(out)


def ladder(rng: random.Random) -> list[str]:
    """Twenty rows whose columns are won with frequencies 0.5, 0.55, ..., 0.95, then two tied columns
    (two bases; a base and the gap): every threshold and tie rule gives a different consensus."""
    columns = []
    for top in range(10, 20):
        first, second, third = rng.sample("ACGT", 3)
        rest = 20 - top
        columns.append(first * top + second * (rest - rest // 2) + third * (rest // 2))
    first, second, third = rng.sample("ACGT", 3)
    columns.append(first * 8 + second * 8 + third * 4)
    columns.append("-" * 8 + first * 8 + second * 4)
    shuffled = []
    for column in columns:
        cells = list(column)
        rng.shuffle(cells)
        shuffled.append(cells)
    return ["".join(column[r] for column in shuffled) for r in range(20)]


def draw_consensus(rng: random.Random) -> Variant:
    threshold = rng.choice((None, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9))
    # a shared top count is at most half the column: above 0.5 the threshold decides every tie
    ties = rng.choice(("first", "N", "iupac")) if threshold is None or threshold <= 0.5 else "N"
    gaps = rng.choice(("ignore", "count", "drop"))
    name = pick(rng, ("consensus", "consensus_sequence", "majority_consensus"))
    lines = [
        "The consensus of aligned DNA sequences (equal-length rows; case-insensitive), one column at a time.",
        {
            "ignore": "- Counted symbols: A, C, G, T. Gaps ('-'), N and any other character are not counted.",
            "count": "- Counted symbols: A, C, G, T and the gap '-' (which can win a column and is then written '-')."
                     " N and any other character are not counted.",
            "drop": "- Counted symbols: A, C, G, T and the gap '-'. A column won by the gap is left out of the"
                    " consensus (so the result can be shorter). N and any other character are not counted.",
        }[gaps],
        "- The winner is the most frequent counted symbol; a column with nothing counted gives 'N'.",
    ]
    if threshold is not None:
        lines.append(f"- If the winner's count divided by all counted symbols of the column is below {threshold},"
                     " the column gives 'N' (whatever the ties).")
    lines.append("- Ties: a shared top count never reaches the threshold, so it gives 'N'." if ties == "N" and threshold
                 and threshold > 0.5 else {
        "first": "- Ties: the first tied symbol in the order A, C, G, T, '-' wins.",
        "N": "- Ties: a column whose top count is shared gives 'N'.",
        "iupac": "- Ties: a shared top count gives the IUPAC code of the tied bases (A/G=R, C/T=Y, C/G=S, A/T=W,"
                 " G/T=K, A/C=M, C/G/T=B, A/G/T=D, A/C/T=H, A/C/G=V, all four=N); a tie involving the gap gives 'N'.",
    }[ties])
    lines.append("- Return the consensus as an uppercase str. An empty list or rows of different lengths raise"
                 " ValueError.")
    base = dna(rng, rng.randint(10, 16))
    rows = [mutate(rng, base, 0.35, indels=False) for _ in range(rng.choice((4, 5, 6)))]
    gapped = [r[:3] + "--" + r[5:] if k % 2 == 0 else r for k, r in enumerate(rows)]
    gapped.append(base[:3] + "--" + base[5:])
    cases = [
        call_case(name, rows),
        call_case(name, [mixed_case(rng, r) for r in gapped]),
        call_case(name, ladder(rng)),
        call_case(name, ["AC-TN", "AG-TN", "GC-AN", "GA-TN"]),
        call_case(name, ["AAAA"]),
        raises_case(name, []),
        raises_case(name, ["ACG", "ACGT"]),
    ]
    params = {"threshold": threshold, "ties": ties, "gaps": gaps}
    return bind_variant(name, "seqs: list[str]", "str", "seqs", _consensus, params, "\n".join(lines), cases, params)


# == 7. position weight matrix ===================================================================


def _position_weight_matrix(seqs: list, pseudocount: float, n_policy: str, output: str, gc: float) -> dict:
    import math

    if not seqs or len({len(s) for s in seqs}) > 1:
        raise ValueError("a non-empty list of sites of equal length is needed")
    width = len(seqs[0])
    counts = {b: [0.0] * width for b in "ACGT"}
    for site in seqs:
        for k, c in enumerate(site.upper()):
            if c in "ACGT":
                counts[c][k] += 1
            elif c == "N" and n_policy != "raise":
                if n_policy == "spread":
                    for b in "ACGT":
                        counts[b][k] += 0.25
            else:
                raise ValueError(f"unexpected character {c!r}")
    counts = {b: [x + pseudocount for x in counts[b]] for b in "ACGT"}
    if output == "counts":
        return counts
    totals = [sum(counts[b][k] for b in "ACGT") for k in range(width)]
    freqs = {b: [counts[b][k] / totals[k] if totals[k] else 0.25 for k in range(width)] for b in "ACGT"}
    if output == "frequencies":
        return freqs
    background = {"A": (1 - gc) / 2, "C": gc / 2, "G": gc / 2, "T": (1 - gc) / 2}
    return {b: [math.log2(f / background[b]) if f > 0 else float("-inf") for f in freqs[b]] for b in "ACGT"}


def draw_pwm(rng: random.Random) -> Variant:
    pseudocount = rng.choice((0.0, 0.25, 0.5, 1.0))
    n_policy = rng.choice(("skip", "spread", "raise"))
    output = rng.choice(("counts", "frequencies", "log_odds", "log_odds"))
    gc = rng.choice((0.4, 0.5, 0.6)) if output == "log_odds" else 0.5
    name = pick(rng, ("position_weight_matrix", "build_pwm", "profile_matrix"))
    lines = [
        "Build a position matrix from aligned binding sites (equal-length DNA strings, case-insensitive).",
        "- For each column k and base b in A, C, G, T: count the sites with base b at column k.",
        {
            "skip": "- An N adds nothing to its column.",
            "spread": "- An N adds 0.25 to each of the four bases' counts of its column.",
            "raise": "- An N raises ValueError, like any character other than A, C, G, T.",
        }[n_policy] + (" Any other character (gaps included) raises ValueError." if n_policy != "raise" else ""),
        f"- Add a pseudocount of {pseudocount} to every count.",
    ]
    if output == "counts":
        lines.append("- Return the pseudocounted counts.")
    else:
        lines.append("- Frequencies: each count divided by the sum of the four counts of its column (0.25 for each"
                     " base when that sum is 0).")
        if output == "log_odds":
            lines.append(f"- Log-odds: log2(frequency / background), with background probabilities A = T ="
                         f" {round((1 - gc) / 2, 3)} and C = G = {round(gc / 2, 3)}; a frequency of 0 gives"
                         " float('-inf').")
        lines.append(f"- Return the {'frequencies' if output == 'frequencies' else 'log-odds scores'}.")
    lines[-1] += (" The result is a dict with keys 'A', 'C', 'G', 'T' (in that order), each a list of floats, one"
                  " per column. An empty list or sites of different lengths raise ValueError.")
    consensus = dna(rng, rng.randint(4, 7))
    sites = [mutate(rng, consensus, 0.25, indels=False) for _ in range(rng.randint(4, 7))]
    with_n = [*sites[:-1], sites[-1][:2] + "N" + sites[-1][3:]]
    cases = [
        call_case(name, sites),
        call_case(name, [mixed_case(rng, s) for s in sites[:3]]),
        call_case(name, ["AAAA", "AAAA"]),
        raises_case(name, with_n) if n_policy == "raise" else call_case(name, with_n),
        raises_case(name, [consensus, consensus[:-1]]),
        raises_case(name, [consensus[:2] + "-" + consensus[3:], consensus]),
    ]
    params = {"pseudocount": pseudocount, "n_policy": n_policy, "output": output, "gc": gc}
    return bind_variant(name, "sites: list[str]", "dict[str, list[float]]", "sites", _position_weight_matrix, params,
                        "\n".join(lines), cases, params)


# == 8. scanning with a PWM =====================================================================


def _pwm_scan(seq: str, pwm: dict, both_strands: bool, output: str, threshold: float,
              one_based: bool) -> list | tuple | None:
    pairs = {"A": "T", "C": "G", "G": "C", "T": "A"}
    s = seq.upper()
    width = len(pwm["A"])
    hits = []
    for i in range(len(s) - width + 1):
        window = s[i:i + width]
        if any(c not in "ACGT" for c in window):
            continue
        strands = [("+", window)]
        if both_strands:
            strands.append(("-", "".join(pairs[c] for c in reversed(window))))
        for strand, text in strands:
            hits.append((sum(pwm[c][k] for k, c in enumerate(text)), i + (1 if one_based else 0), strand))
    if output == "hits":
        return [(position, strand) for score, position, strand in hits if score >= threshold]
    best = None
    for hit in hits:
        if best is None or hit[0] > best[0]:
            best = hit
    return best


def draw_pwm_scan(rng: random.Random) -> Variant:
    both = rng.random() < 0.5
    output = rng.choice(("best", "hits", "hits"))
    threshold = rng.choice((0.0, 1.0, 1.5, 2.0, 3.0, 4.0)) if output == "hits" else 0.0
    one_based = rng.random() < 0.5
    name = pick(rng, ("scan_pwm", "pwm_scan", "score_sites"))
    origin = "1-based (the first base is 1)" if one_based else "0-based"
    lines = [
        ("Scan a DNA sequence (case-insensitive) with a position weight matrix given as a dict with keys 'A', 'C',"
        " 'G', 'T', each a list of the same length w (the score of that base at each of the w positions)."),
        ("- The score of a window seq[i:i+w] is the sum over its positions k of pwm[base][k]. Windows holding any"
        " character other than A, C, G, T are skipped."),
    ]
    if both:
        lines.append("- Both strands: each window is also scored as its reverse complement (strand '-'); the position"
                     " is still the window's start on the given sequence.")
    else:
        lines.append("- Only the given strand is scanned (strand '+').")
    if output == "hits":
        lines.append(f"- Return every (position, strand) whose score is >= {threshold}, as a list of tuples sorted by"
                     f" position and then strand ('+' before '-'); positions are {origin} window starts; none: [].")
    else:
        lines.append(f"- Return the best-scoring window as a tuple (score, position, strand), the score a float and"
                     f" the position {origin}; ties go to the smallest position, then '+' before '-'; None when no"
                     " window can be scored.")
    width = rng.randint(3, 6)
    pwm = {b: [rng.randint(-8, 6) / 4 for _ in range(width)] for b in "ACGT"}
    for k in range(width):  # one clear best base per position: the best site scores 2 * width
        pwm[rng.choice("ACGT")][k] = 2.0
    best_site = "".join(max("ACGT", key=lambda b, k=k: pwm[b][k]) for k in range(width))
    seq = plant(rng, dna(rng, rng.randint(20, 30)), best_site)
    cases = [
        call_case(name, seq, pwm),
        call_case(name, mixed_case(rng, plant(rng, dna(rng, 18), revcomp(best_site))), pwm),
        call_case(name, dna(rng, 8) + "N" + dna(rng, 8), pwm),
        call_case(name, "", pwm),
        call_case(name, best_site * 2, pwm),
        call_case(name, dna(rng, 12), {b: [0.5] * 3 for b in "ACGT"}),
    ]
    params = {"both_strands": both, "output": output, "threshold": threshold, "one_based": one_based}
    returns = "list[tuple[int, str]]" if output == "hits" else "tuple[float, int, str] | None"
    return bind_variant(name, "seq: str, pwm: dict[str, list[float]]", returns, "seq, pwm", _pwm_scan, params,
                        "\n".join(lines), cases, params)


# == 9. percent identity ========================================================================


def _percent_identity(a: str, b: str, denominator: str, percent: bool, n_matches: bool, ignore_case: bool) -> float:
    if len(a) != len(b):
        raise ValueError("aligned rows must have equal lengths")
    if ignore_case:
        a, b = a.upper(), b.upper()
    columns = [(x, y) for x, y in zip(a, b) if not (x == "-" and y == "-")]
    identical = sum(1 for x, y in columns if x == y and (n_matches or x not in "Nn"))
    if denominator == "columns":
        total = len(columns)
    elif denominator == "ungapped":
        total = sum(1 for x, y in columns if x != "-" and y != "-")
    else:
        length_a = sum(1 for x, _ in columns if x != "-")
        length_b = sum(1 for _, y in columns if y != "-")
        total = min(length_a, length_b) if denominator == "shorter" else (length_a + length_b) / 2
    value = identical / total if total else 0.0
    return 100.0 * value if percent else value


def draw_percent_identity(rng: random.Random) -> Variant:
    denominator = rng.choice(("columns", "ungapped", "shorter", "mean"))
    percent = rng.random() < 0.5
    n_matches = rng.random() < 0.5
    ignore_case = rng.random() < 0.5
    name = pick(rng, ("percent_identity", "sequence_identity", "pairwise_identity"))
    what = {
        "columns": "the number of alignment columns",
        "ungapped": "the number of columns where neither row holds a gap",
        "shorter": "the ungapped length (characters other than '-') of the shorter of the two sequences",
        "mean": "the mean of the two sequences' ungapped lengths (characters other than '-')",
    }[denominator]
    spec = "\n".join([
        "The identity of two rows of a pairwise alignment (equal-length strings, '-' for gaps).",
        ("- Case is ignored ('a' and 'A' are identical)." if ignore_case else
         "- Case matters: 'a' and 'A' are different characters."),
        "- First drop every column where both rows hold '-'.",
        "- Identical columns: the same character in both rows, not a gap"
        + ("." if n_matches else ", and not N or n (an N aligned to an N does not count as identical)."),
        f"- Identity = identical columns / {what}; 0.0 when that denominator is 0.",
        (f"- Return it as a float {'percentage (0-100)' if percent else 'fraction (0-1)'}, not rounded. Rows of"
        " different lengths raise ValueError."),
    ])
    top, bottom = aligned_pair(rng, rng.randint(14, 22))
    short_top, short_bottom = aligned_pair(rng, 10, 0.6)
    cases = [
        call_case(name, top, bottom),
        call_case(name, mixed_case(rng, top), bottom),
        call_case(name, "ACGTN-", "ACGTN-"),
        call_case(name, short_top, short_bottom),
        call_case(name, "", ""),
        call_case(name, "--ACGTNN", "ACAC-TNN"),
        raises_case(name, top, bottom[:-1]),
    ]
    params = {"denominator": denominator, "percent": percent, "n_matches": n_matches, "ignore_case": ignore_case}
    return bind_variant(name, "a: str, b: str", "float", "a, b", _percent_identity, params, spec, cases, params)


# == 10. CIGAR from an alignment ================================================================


def _alignment_cigar(reference: str, query: str, extended: bool, soft_clip: bool, ignore_case: bool, gaps: str,
                     output: str) -> str | list:
    if len(reference) != len(query):
        raise ValueError("aligned rows must have equal lengths")
    ops = []
    for r, q in zip(reference, query):
        if r in gaps and q in gaps:
            continue
        if r in gaps:
            ops.append("I")
        elif q in gaps:
            ops.append("D")
        elif not extended:
            ops.append("M")
        else:
            same = r.upper() == q.upper() if ignore_case else r == q
            ops.append("=" if same else "X")
    if soft_clip:
        start = 0
        while start < len(ops) and ops[start] == "I":
            ops[start] = "S"
            start += 1
        end = len(ops) - 1
        while end >= start and ops[end] == "I":
            ops[end] = "S"
            end -= 1
    runs = []
    for op in ops:
        if runs and runs[-1][1] == op:
            runs[-1][0] += 1
        else:
            runs.append([1, op])
    if output == "tuples":
        return [(n, op) for n, op in runs]
    return "".join(f"{n}{op}" for n, op in runs)


def draw_cigar(rng: random.Random) -> Variant:
    extended = rng.random() < 0.5
    soft_clip = rng.random() < 0.5
    ignore_case = extended and rng.random() < 0.5
    gaps = rng.choice(("-", "-."))
    output = rng.choice(("string", "tuples"))
    name = pick(rng, ("alignment_to_cigar", "cigar_from_alignment", "make_cigar"))
    lines = [
        ("Describe a pairwise alignment as a CIGAR: the arguments are the reference row and the query row of the"
        " alignment (equal-length strings)."),
        ("- Gaps are written '-'; every other character is a base (including '.')." if gaps == "-" else
         "- Gaps are written '-' or '.' (both mean a gap); every other character is a base."),
        "- Columns where both rows hold a gap are skipped.",
        "- A column with a gap in the reference is an insertion 'I'; a gap in the query is a deletion 'D'.",
        ("- A column with characters in both rows is '=' when they are equal and 'X' otherwise"
         + (" (compared case-insensitively)." if ignore_case else " (case-sensitive: 'a' and 'A' differ).")
         if extended else "- A column with characters in both rows is 'M' (match or mismatch alike)."),
    ]
    if soft_clip:
        lines.append("- Insertions before the first and after the last column that is not an insertion become soft"
                     " clips 'S' (an alignment made only of insertions is all 'S').")
    lines.append("- Consecutive columns of the same operation are merged.")
    lines.append("- Return " + ("the CIGAR string, e.g. lengths followed by operation letters ('3M1I2D'); '' for"
                                " nothing." if output == "string" else
                                "a list of (length, operation) tuples, e.g. [(3, 'M'), (1, 'I')]; [] for nothing.")
                 + " Rows of different lengths raise ValueError.")
    top, bottom = aligned_pair(rng, rng.randint(16, 24))
    cases = [
        call_case(name, top, bottom),
        call_case(name, "--" + top + "-", dna(rng, 2) + mixed_case(rng, bottom) + dna(rng, 1)),
        call_case(name, "ACGT", "acgA"),
        call_case(name, "", ""),
        call_case(name, "---", "ACG"),
        call_case(name, "AC--GT-", "A-CCG-T"),
        call_case(name, "AC.GT", "A.CG-"),
        raises_case(name, top, bottom + "A"),
    ]
    params = {"extended": extended, "soft_clip": soft_clip, "ignore_case": ignore_case, "gaps": gaps, "output": output}
    return bind_variant(name, "reference: str, query: str", "str" if output == "string" else "list[tuple[int, str]]",
                        "reference, query", _alignment_cigar, params, "\n".join(lines), cases, params)


# == 11. alignment-free k-mer similarity ========================================================


def _kmer_similarity(a: str, b: str, k: int, measure: str, canonical: bool) -> float:
    pairs = {"A": "T", "C": "G", "G": "C", "T": "A"}

    def kmers(seq: str) -> set:
        s = seq.upper()
        found = set()
        for i in range(len(s) - k + 1):
            word = s[i:i + k]
            if all(c in "ACGT" for c in word):
                if canonical:
                    word = min(word, "".join(pairs[c] for c in reversed(word)))
                found.add(word)
        return found

    first, second = kmers(a), kmers(b)
    shared = len(first & second)
    if measure == "jaccard":
        union = len(first | second)
        return shared / union if union else 0.0
    if measure == "dice":
        total = len(first) + len(second)
        return 2 * shared / total if total else 0.0
    return shared / len(first) if first else 0.0


def draw_kmer_similarity(rng: random.Random) -> Variant:
    k = rng.randint(2, 9)
    measure = rng.choice(("jaccard", "dice", "containment"))
    canonical = rng.random() < 0.5
    name = pick(rng, ("kmer_similarity", "kmer_jaccard" if measure == "jaccard" else "kmer_overlap", "compare_kmers"))
    formula = {
        "jaccard": "the Jaccard index |A & B| / |A | B| (0.0 when both sets are empty)",
        "dice": "the Dice coefficient 2 * |A & B| / (|A| + |B|) (0.0 when both sets are empty)",
        "containment": "the containment of the first in the second, |A & B| / |A| (0.0 when A is empty)",
    }[measure]
    spec = "\n".join([
        f"Alignment-free similarity of two DNA sequences from their sets of distinct {k}-mers.",
        (f"- A and B are the sets of distinct {k}-mers (substrings of length {k}, at every start) of the first and"
        " second sequence, uppercased; k-mers holding any character other than A, C, G, T are left out."),
        ("- Use canonical k-mers: a k-mer and its reverse complement are the same, represented by the"
         " alphabetically smaller of the two." if canonical else "- k-mers are taken as read (no reverse complement)."),
        f"- Return {formula}, as a float.",
    ])
    x = dna(rng, rng.randint(18, 30))
    cases = [
        call_case(name, x, mutate(rng, x, 0.1)),
        call_case(name, mixed_case(rng, x), revcomp(x)),
        call_case(name, x[: k - 1], x),
        call_case(name, "", ""),
        call_case(name, x[:12], x),
        call_case(name, dna(rng, 15) + "NN" + dna(rng, 5), x),
    ]
    params = {"k": k, "measure": measure, "canonical": canonical}
    return bind_variant(name, "a: str, b: str", "float", "a, b", _kmer_similarity, params, spec, cases, params)


# == 12. affine-gap global score (test) =========================================================


def _affine_global_score(a: str, b: str, match: int, mismatch: int, gap_open: int, gap_extend: int) -> int:
    a, b = a.upper(), b.upper()
    n, m = len(a), len(b)
    low = float("-inf")
    aligned = [[low] * (m + 1) for _ in range(n + 1)]
    gap_in_b = [[low] * (m + 1) for _ in range(n + 1)]  # a[i-1] against a gap
    gap_in_a = [[low] * (m + 1) for _ in range(n + 1)]  # b[j-1] against a gap
    aligned[0][0] = 0
    for i in range(1, n + 1):
        gap_in_b[i][0] = gap_open + (i - 1) * gap_extend
    for j in range(1, m + 1):
        gap_in_a[0][j] = gap_open + (j - 1) * gap_extend
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            pair = match if a[i - 1] == b[j - 1] else mismatch
            aligned[i][j] = max(aligned[i - 1][j - 1], gap_in_b[i - 1][j - 1], gap_in_a[i - 1][j - 1]) + pair
            gap_in_b[i][j] = max(aligned[i - 1][j] + gap_open, gap_in_b[i - 1][j] + gap_extend,
                                 gap_in_a[i - 1][j] + gap_open)
            gap_in_a[i][j] = max(aligned[i][j - 1] + gap_open, gap_in_a[i][j - 1] + gap_extend,
                                 gap_in_b[i][j - 1] + gap_open)
    return int(max(aligned[n][m], gap_in_b[n][m], gap_in_a[n][m]))


def draw_affine_global(rng: random.Random) -> Variant:
    match = rng.randint(1, 3)
    mismatch = -rng.randint(1, 3)
    gap_open = -rng.randint(2, 6)
    gap_extend = -rng.randint(1, min(2, -gap_open))
    name = pick(rng, ("affine_global_score", "gotoh_score", "global_affine"))
    spec = "\n".join([
        ("The optimal global alignment score of two sequences with affine gap penalties (every character of both"
        " sequences aligned, to a character or to a gap; end gaps are not free)."),
        f"- A match (same letter, case-insensitive) scores {match:+d} and a mismatch {mismatch:+d}.",
        (f"- A gap of length L (a maximal run of consecutive gap positions in the same sequence) scores"
        f" {gap_open:+d} + (L - 1) * ({gap_extend:+d}). A gap in one sequence directly followed by a gap in the"
        " other is allowed and counts as two separate gaps."),
        "- Return the best score as an int (two empty sequences score 0).",
    ])
    x = dna(rng, rng.randint(8, 12))
    cases = [
        call_case(name, x, mutate(rng, x, 0.3)),
        call_case(name, x, x[:3] + x[7:]),
        call_case(name, mixed_case(rng, x), x),
        call_case(name, "", x[:5]),
        call_case(name, "ACGTTTTACG", "ACGACG"),
        call_case(name, dna(rng, 7), dna(rng, 9)),
        call_case(name, "", ""),
    ]
    params = {"match": match, "mismatch": mismatch, "gap_open": gap_open, "gap_extend": gap_extend}
    return bind_variant(name, "a: str, b: str", "int", "a, b", _affine_global_score, params, spec, cases, params)


# == 13. semi-global alignment score (test) =====================================================


def _semiglobal_score(a: str, b: str, match: int, mismatch: int, gap: int, mode: str) -> int:
    a, b = a.upper(), b.upper()
    n, m = len(a), len(b)
    previous = [0 if mode == "overlap" else j * gap for j in range(m + 1)]
    last_column = [previous[m]]
    for i in range(1, n + 1):
        current = [0]
        for j in range(1, m + 1):
            pair = match if a[i - 1] == b[j - 1] else mismatch
            current.append(max(previous[j - 1] + pair, previous[j] + gap, current[j - 1] + gap))
        previous = current
        last_column.append(current[m])
    if mode == "fit":
        return max(last_column)
    return max(max(last_column), max(previous))


def draw_semiglobal(rng: random.Random) -> Variant:
    match = rng.randint(1, 3)
    mismatch = -rng.randint(1, 3)
    gap = -rng.randint(1, 4)
    mode = rng.choice(("overlap", "fit"))
    name = pick(rng, ("semiglobal_score", "overlap_alignment_score" if mode == "overlap" else "fitting_alignment_score",
                      "end_free_alignment"))
    rule = ("- End gaps are free in both sequences: gaps before the first or after the last character of either"
            " sequence score 0 (so one sequence's end may overlap the other's start), every other gap position"
            " scores normally." if mode == "overlap" else
            "- Fitting alignment: every character of the second sequence b must be aligned (gaps inside its aligned"
            " span score normally), while characters of the first sequence a before and after that span are left"
            " unaligned at no cost; b's own leading and trailing gaps are not free.")
    spec = "\n".join([
        "An optimal semi-global alignment score of two sequences.",
        f"- Scoring: {scoring_text(match, mismatch, gap)} (linear gaps).",
        rule,
        "- Return the best score as an int (empty sequences: "
        + ("0)." if mode == "overlap" else "len(b) * the gap score when a is empty, 0 when b is empty)."),
    ])
    x = dna(rng, rng.randint(12, 18))
    inner = mutate(rng, x[3:11], 0.15)
    cases = [
        call_case(name, x, inner),
        call_case(name, x[:10], x[5:] + dna(rng, 4)),
        call_case(name, mixed_case(rng, inner), x),
        call_case(name, "", "ACG"),
        call_case(name, "ACG", ""),
        call_case(name, dna(rng, 9), dna(rng, 6)),
        call_case(name, "TTTTACGTACGT", "ACGTAAGT"),
    ]
    params = {"match": match, "mismatch": mismatch, "gap": gap, "mode": mode}
    return bind_variant(name, "a: str, b: str", "int", "a, b", _semiglobal_score, params, spec, cases, params)


# == 14. sum-of-pairs score of a multiple alignment (test) ======================================


def _sum_of_pairs(rows: list, match: int, mismatch: int, gap: int, gap_gap: int) -> int:
    if len({len(r) for r in rows}) > 1:
        raise ValueError("alignment rows must have equal lengths")
    total = 0
    for column in zip(*(r.upper() for r in rows)):
        for i in range(len(column)):
            for j in range(i + 1, len(column)):
                x, y = column[i], column[j]
                if x == "-" and y == "-":
                    total += gap_gap
                elif x == "-" or y == "-":
                    total += gap
                else:
                    total += match if x == y else mismatch
    return total


def draw_sum_of_pairs(rng: random.Random) -> Variant:
    match = rng.randint(0, 3)
    mismatch = -rng.randint(1, 3)
    gap = -rng.randint(1, 4)
    gap_gap = rng.choice((0, 0, -1))
    name = pick(rng, ("sum_of_pairs", "sp_score", "msa_sum_of_pairs"))
    spec = "\n".join([
        "The sum-of-pairs score of a multiple sequence alignment given as a list of equal-length rows ('-' for gaps).",
        ("- Sum, over every column and every unordered pair of rows (i < j), the score of the two characters:"
        f" the same letter (case-insensitive) {match:+d}; different letters {mismatch:+d}; a letter against a gap"
        f" {gap:+d}; a gap against a gap {gap_gap:+d}."),
        ("- Return the total as an int (0 for an empty list, a single row or empty rows). Rows of different lengths"
        " raise ValueError."),
    ])
    base = dna(rng, rng.randint(8, 14))
    rows = [aligned_pair(rng, len(base))[k % 2] for k in range(rng.randint(3, 5))]
    cases = [
        call_case(name, rows),
        call_case(name, [mixed_case(rng, r) for r in rows[:3]]),
        call_case(name, ["AC-T", "A--T", "GC-A"]),
        call_case(name, [base]),
        call_case(name, []),
        call_case(name, ["-", "-"]),
        raises_case(name, [base, base + "A"]),
    ]
    params = {"match": match, "mismatch": mismatch, "gap": gap, "gap_gap": gap_gap}
    return bind_variant(name, "rows: list[str]", "int", "rows", _sum_of_pairs, params, spec, cases, params)


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("hamming", "train", draw_hamming, "Hamming distance and transitions/transversions"),
    FunctionTemplate("edit_distance", "train", draw_edit_distance, "Weighted edit distance"),
    FunctionTemplate("global_score", "train", draw_global_score, "Needleman-Wunsch score"),
    FunctionTemplate("local_score", "train", draw_local_score, "Smith-Waterman score"),
    FunctionTemplate("distance", "train", draw_distance, "p, Jukes-Cantor and Kimura distances"),
    FunctionTemplate("consensus", "train", draw_consensus, "Consensus sequence"),
    FunctionTemplate("position_weight_matrix", "train", draw_pwm, "Position weight matrix"),
    FunctionTemplate("pwm_scan", "train", draw_pwm_scan, "Scanning with a position weight matrix"),
    FunctionTemplate("percent_identity", "train", draw_percent_identity, "Percent identity"),
    FunctionTemplate("cigar", "train", draw_cigar, "CIGAR from an alignment"),
    FunctionTemplate("kmer_similarity", "train", draw_kmer_similarity, "k-mer Jaccard, Dice and containment"),
    FunctionTemplate("affine_global_score", "test", draw_affine_global, "Affine-gap global score"),
    FunctionTemplate("semiglobal_score", "test", draw_semiglobal, "Semi-global (overlap, fitting) score"),
    FunctionTemplate("sum_of_pairs", "test", draw_sum_of_pairs, "Sum-of-pairs score"),
)
