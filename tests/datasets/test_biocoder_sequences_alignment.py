"""The biocoder families ``sequences`` and ``alignment``: their facts, their algorithms, and whether
every drawn variant is a well-posed task.

- Facts (codon tables, enzyme sites, IUPAC complements) are checked against Biopython.
- The dynamic programmes are checked against brute-force enumeration of every alignment of short
  strings (and Biopython's aligner for the affine one), the distances against worked values.
- Every template draws variants whose reference passes its own 4-8 cases, whose spec hides the
  reference, and whose cases tell the variant apart from variants with other conventions (a
  function written to a neighbouring spec fails), which is what makes the spec the only way to
  pass.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import math
import random
import re

import pytest

from medagentgym.codetests.reference import ReferenceSolutionError, compute_expected
from medagentgym.datasets.biocoder import fn_alignment, fn_sequences
from medagentgym.datasets.biocoder.spec import Variant
from medagentgym.scoring.code_tests import values_match

FAMILIES = {"sequences": fn_sequences, "alignment": fn_alignment}
TEMPLATES = [(family, t) for family, module in FAMILIES.items() for t in module.TEMPLATES]
IDS = [f"{family}:{t.key}" for family, t in TEMPLATES]


def outcomes(reference: str, variant: Variant) -> list | None:
    """What ``reference`` gives on ``variant``'s cases (None when it raises on one)."""
    try:
        return [c.expected for c in compute_expected(reference, variant.cases)]
    except ReferenceSolutionError:
        return None


def passes(reference: str, variant: Variant, expected: list) -> bool:
    got = outcomes(reference, variant)
    return got is not None and all(
        values_match(g, e, c.rel_tol, c.abs_tol) for g, e, c in zip(got, expected, variant.cases, strict=True)
    )


def renamed(reference: str, old: str, new: str) -> str:
    return re.sub(rf"\bdef {re.escape(old)}\(", f"def {new}(", reference)


# -- facts ----------------------------------------------------------------------------------------


def test_codon_tables_match_biopython() -> None:
    codon_table = pytest.importorskip("Bio.Data.CodonTable")
    standard = codon_table.unambiguous_dna_by_id[1]
    for number, (_title, changes) in fn_sequences.CODON_TABLES.items():
        table = codon_table.unambiguous_dna_by_id[number]
        for codon in itertools.product("TCAG", repeat=3):
            codon = "".join(codon)
            ours = fn_sequences._translate(codon, changes, 0, "star", "X")
            theirs = table.forward_table.get(codon, "*")
            assert ours == theirs, (number, codon)
        assert fn_sequences.table_stops(changes) == sorted(table.stop_codons), number
    assert fn_sequences._translate("".join(standard.forward_table), {}, 0, "star", "X") == "".join(
        standard.forward_table.values()
    )


def test_enzymes_match_biopython() -> None:
    restriction = pytest.importorskip("Bio.Restriction")
    for name, (site, cut) in fn_sequences.ENZYMES.items():
        enzyme = getattr(restriction, name)
        assert (enzyme.site, enzyme.fst5) == (site, cut), name
        assert enzyme.is_palindromic() and fn_sequences.revcomp(site) == site
        assert 0 < cut < len(site), name  # no fragment of length 0 from a site at an end


def test_complements_match_biopython() -> None:
    seq_module = pytest.importorskip("Bio.Seq")
    text = "ACGTRYSWKMBDHVNacgtrykmbdhvn"
    ours = fn_sequences._complement_sequence(text, True, False, True, False, "raise", False)
    assert ours == str(seq_module.Seq(text).reverse_complement())
    assert fn_sequences._translate("ATGGCCTAAGGG", {}, 0, "star", "X") == str(seq_module.Seq("ATGGCCTAAGGG").translate())


# -- sequence algorithms on worked examples -------------------------------------------------------


def test_sequence_helpers_worked_examples() -> None:
    assert fn_sequences._complement_sequence("AcGu-x", True, True, False, False, "N", True) == "N-aCgU"
    assert fn_sequences._complement_sequence("AcG", False, False, False, True, "keep", False) == "TGC"
    with pytest.raises(ValueError):
        fn_sequences._complement_sequence("ACR", True, False, False, True, "raise", False)
    assert fn_sequences._translate("xAUGUGAAAANNA", {"TGA": "W"}, 1, "truncate", "X") == "MWKX"
    assert fn_sequences._translate("ATGTAAGGG", {}, 0, "omit", "X") == "MG"
    # ORFs: the nested start is reported only when asked; min length counts codons without the stop
    orfs = functools.partial(fn_sequences._open_reading_frames, both_strands=False, starts=("ATG",), output="coords")
    assert orfs("ATGATGCCCTAA", min_codons=2, nested=True) == [(0, 12, "+"), (3, 12, "+")]
    assert orfs("ATGATGCCCTAA", min_codons=2, nested=False) == [(0, 12, "+")]
    assert orfs("ATGATGCCCTAA", min_codons=4, nested=True) == []
    minus = fn_sequences._open_reading_frames("TTAGGGCAT", 2, True, ("ATG",), True, "coords")
    assert minus == [(0, 9, "-")]
    assert fn_sequences._kmer_counts("ACGTn", 2, True, True, "dict", 0) == {"AC": 2, "CG": 1}
    assert fn_sequences._kmer_counts("AAAC", 2, False, True, "top", 1) == [("AA", 2)]
    assert fn_sequences._gc_windows("GCAT", 2, 1, "length", True, False) == [1.0, 0.5, 0.0, 0.0]
    assert fn_sequences._gc_skew("GGCA", 2, 2, "window", True) == [1.0, -1.0]
    assert fn_sequences._gc_skew("CCGG", 2, 2, "argmin", True) == 0
    assert fn_sequences._motif_positions("AAAA", "AA", True, False, False, 0, False) == [0, 1, 2]
    assert fn_sequences._motif_positions("AAAA", "AA", False, False, True, 0, False) == [1, 3]
    assert fn_sequences._motif_positions("ACGTT", "RNG", True, False, False, 0, True) == [0]
    assert fn_sequences._motif_positions("ANGTT", "RNG", True, False, False, 0, True) == []  # a sequence N matches nothing
    assert fn_sequences._motif_positions("AAGTT", "AAC", True, True, False, 0, False) == [2]  # GTT = revcomp(AAC)
    assert fn_sequences._codon_usage("ATGATGTAA", 0, False, "rscu") == {"ATG": 1.0}
    assert fn_sequences._codon_usage("GCTGCC", 0, False, "rscu") == {"GCT": 2.0, "GCC": 2.0}
    assert fn_sequences._melting_temperature("ACGT", "wallace", 0, 0.0) == 12.0
    assert fn_sequences._melting_temperature("ACGT" * 5, "basic", 0, 0.0) == pytest.approx(64.9 + 41 * (10 - 16.4) / 20)
    assert fn_sequences._sequence_entropy("ACGT", 2, 0, 0, True, False) == pytest.approx(2.0)
    assert fn_sequences._sequence_entropy("AACC", 2, 0, 0, True, True) == pytest.approx(0.5)
    assert fn_sequences._restriction_digest("AATTCxxxG", "GAATTC", 1, True, "cuts") == [0]  # across the junction
    assert fn_sequences._restriction_digest("AATTCxxxG", "GAATTC", 1, False, "cuts") == []
    assert fn_sequences._restriction_digest("AATTCAAAG", "GAATTC", 1, True, "fragments") == [9]
    assert fn_sequences._restriction_digest("AATTCAAAGAATTCAAAG", "GAATTC", 1, True, "cuts") == [0, 9]
    assert fn_sequences._restriction_digest("AGAATTCT", "GAATTC", 1, False, "fragments") == [2, 6]
    assert fn_sequences._cpg_windows("CGCG", 4, 1, "ratios", 0.0, 0.0) == [2 * 4 / 4]
    assert fn_sequences._cpg_windows("CGCGAAAACGCG", 4, 4, "islands", 0.5, 0.6) == [(0, 4), (8, 12)]
    assert fn_sequences._homopolymer_runs("AAaCCC", 2, True, False, "runs") == [(0, 2, "A"), (3, 3, "C")]
    assert fn_sequences._homopolymer_runs("AAaCCC", 2, False, False, "longest") == {"A": 3, "C": 3, "G": 0, "T": 0}


# -- alignment algorithms against brute force ----------------------------------------------------


def alignments(a: str, b: str):
    """Every global alignment of a and b as pairs of rows ('-' for gaps), no gap-gap column."""
    if not a and not b:
        yield "", ""
        return
    if a and b:
        for top, bottom in alignments(a[1:], b[1:]):
            yield a[0] + top, b[0] + bottom
    if a:
        for top, bottom in alignments(a[1:], b):
            yield a[0] + top, "-" + bottom
    if b:
        for top, bottom in alignments(a, b[1:]):
            yield "-" + top, b[0] + bottom


def linear_score(top: str, bottom: str, match: int, mismatch: int, gap: int) -> int:
    return sum(gap if "-" in (x, y) else (match if x == y else mismatch) for x, y in zip(top, bottom))


def affine_score(top: str, bottom: str, match: int, mismatch: int, gap_open: int, gap_extend: int) -> int:
    total = 0
    for i, (x, y) in enumerate(zip(top, bottom)):
        if x == "-" or y == "-":
            row = 0 if x == "-" else 1
            continues = i > 0 and (top, bottom)[row][i - 1] == "-"
            total += gap_extend if continues else gap_open
        else:
            total += match if x == y else mismatch
    return total


def short_pairs(seed: int, n: int = 25) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(fn_sequences.dna(rng, rng.randint(0, 5), "ACG"), fn_sequences.dna(rng, rng.randint(0, 5), "ACG"))
            for _ in range(n)]


@pytest.mark.parametrize(("match", "mismatch", "gap"), [(1, -1, -1), (2, -3, -2), (3, -1, -4)])
def test_global_and_local_scores_match_brute_force(match: int, mismatch: int, gap: int) -> None:
    for a, b in short_pairs(match):
        every = list(alignments(a, b))
        assert fn_alignment._global_score(a, b, match, mismatch, gap, None) == max(
            linear_score(t, u, match, mismatch, gap) for t, u in every)
        local = max([0] + [fn_alignment._global_score(a[i:j], b[k:m], match, mismatch, gap, None)
                           for i in range(len(a)) for j in range(i + 1, len(a) + 1)
                           for k in range(len(b)) for m in range(k + 1, len(b) + 1)])
        assert fn_alignment._local_score(a, b, match, mismatch, gap, False) == local
        score, i, j = fn_alignment._local_score(a, b, match, mismatch, gap, True)
        assert score == local and (score == 0) == ((i, j) == (0, 0))


@pytest.mark.parametrize(("match", "mismatch", "gap_open", "gap_extend"), [(1, -1, -3, -1), (2, -2, -5, -2), (3, -1, -2, -2)])
def test_affine_score_matches_brute_force_and_biopython(match: int, mismatch: int, gap_open: int, gap_extend: int) -> None:
    for a, b in short_pairs(gap_open):
        best = max(affine_score(t, u, match, mismatch, gap_open, gap_extend) for t, u in alignments(a, b))
        assert fn_alignment._affine_global_score(a, b, match, mismatch, gap_open, gap_extend) == best, (a, b)
    align = pytest.importorskip("Bio.Align")
    aligner = align.PairwiseAligner(mode="global", match_score=match, mismatch_score=mismatch,
                                    open_gap_score=gap_open, extend_gap_score=gap_extend)
    rng = random.Random(7)
    for _ in range(20):
        a, b = fn_sequences.dna(rng, rng.randint(1, 15)), fn_sequences.dna(rng, rng.randint(1, 15))
        assert fn_alignment._affine_global_score(a, b, match, mismatch, gap_open, gap_extend) == aligner.score(a, b)


@pytest.mark.parametrize("mode", ["overlap", "fit"])
def test_semiglobal_score_matches_brute_force(mode: str) -> None:
    match, mismatch, gap = 2, -1, -2
    for a, b in short_pairs(11):
        best = None
        for top, bottom in alignments(a, b):
            columns = list(zip(top, bottom))
            score = 0
            for k, (x, y) in enumerate(columns):
                if "-" in (x, y):
                    gap_row = top if x == "-" else bottom
                    before, after = gap_row[:k], gap_row[k + 1:]
                    at_end = before.strip("-") == "" or after.strip("-") == ""
                    free = at_end and (mode == "overlap" or x != "-" and y == "-")
                    score += 0 if free else gap
                else:
                    score += match if x == y else mismatch
            best = score if best is None else max(best, score)
        assert fn_alignment._semiglobal_score(a, b, match, mismatch, gap, mode) == best, (a, b, mode)


def test_edit_distance_worked_examples() -> None:
    levenshtein = functools.partial(fn_alignment._edit_distance, substitution=1, insertion=1, deletion=1,
                                    ignore_case=False)
    assert levenshtein("kitten", "sitting", transpositions=False) == 3
    assert levenshtein("CA", "AC", transpositions=True) == 1
    assert levenshtein("CA", "ABC", transpositions=True) == 3  # optimal string alignment, not Damerau
    assert fn_alignment._edit_distance("", "AB", 1, 2, 3, False, False) == 4
    assert fn_alignment._edit_distance("AB", "", 1, 2, 3, False, False) == 6
    assert fn_alignment._edit_distance("ab", "AB", 1, 1, 1, False, True) == 0


def test_distances_worked_examples() -> None:
    a, b = "ACGTACGTAC", "GCGTACGTAA"  # one transition (A/G), one transversion (C/A) over 10 sites
    assert fn_alignment._distance([a, b], "p", False, "pair") == pytest.approx(0.2)
    assert fn_alignment._distance([a, b], "jc69", False, "pair") == pytest.approx(-0.75 * math.log(1 - 0.8 / 3))
    assert fn_alignment._distance([a, b], "k2p", False, "pair") == pytest.approx(
        -0.5 * math.log(1 - 0.2 - 0.1) - 0.25 * math.log(1 - 0.2))
    assert fn_alignment._distance([a, b], "tstv", False, "pair") == 1.0
    assert fn_alignment._distance(["AAAA", "CCCC"], "jc69", False, "pair") == math.inf
    rows = ["ACGTAG", "A-GTTG", "ATGAAC"]
    assert fn_alignment._distance(rows, "p", False, "condensed")[1] == pytest.approx(3 / 6)
    assert fn_alignment._distance(rows, "p", True, "condensed")[1] == pytest.approx(2 / 5)
    with pytest.raises(ValueError):
        fn_alignment._distance(["NN", "AC"], "p", False, "pair")
    assert fn_alignment._hamming("ACGT", "GTGTAA", True, False, "count", False, "count") == 4
    assert fn_alignment._hamming("ACGT", "GAGT", True, False, "raise", False, "ts_tv") == (1, 1)
    assert fn_alignment._percent_identity("AC-G", "ACT-", "ungapped", False, True, True) == 1.0
    assert fn_alignment._percent_identity("AC-G", "ACT-", "columns", True, True, True) == 50.0
    assert fn_alignment._alignment_cigar("-ACG-", "TAGGA", True, True, False, "-", "string") == "1S1=1X1=1S"
    assert fn_alignment._consensus(["AC", "AG", "TG", "TC"], None, "iupac", "ignore") == "WS"
    assert fn_alignment._consensus(["A-", "C-", "A-"], 0.7, "first", "drop") == "N"
    assert fn_alignment._sum_of_pairs(["A-", "AC", "--"], 1, -1, -2, 0) == (1 - 2 - 2) + (-2 + 0 - 2)
    assert fn_alignment._kmer_similarity("ACGT", "ACGA", 2, "jaccard", False) == pytest.approx(2 / 4)
    pwm = fn_alignment._position_weight_matrix(["AC", "AG"], 0.0, "skip", "log_odds", 0.5)
    assert pwm["A"][0] == pytest.approx(2.0) and pwm["C"][0] == -math.inf
    assert fn_alignment._pwm_scan("ACGT", {"A": [1.0, 0.0], "C": [0.0, 1.0], "G": [0.0, 0.5], "T": [0.5, 0.0]},
                                  True, "best", 0.0, False) == (2.0, 0, "+")


# -- every template draws well-posed variants -------------------------------------------------------


@pytest.mark.parametrize(("family", "template"), TEMPLATES, ids=IDS)
def test_template_draws_well_posed_variants(family: str, template) -> None:
    keys = set()
    for seed in range(25):
        variant = template.draw(random.Random(seed))
        again = template.draw(random.Random(seed))
        assert variant == again, "a draw must be deterministic given its stream"
        assert variant.signature.startswith(f"def {variant.name}(") and " -> " in variant.signature
        assert 4 <= len(variant.cases) <= 8
        assert len({c.name for c in variant.cases}) == len(variant.cases), "case names must be distinct"
        keys.add(json.dumps(variant.params, sort_keys=True))
        expected = outcomes(variant.reference, variant)
        assert expected is not None, "the reference must pass its own cases"
        # the spec names the conventions, never the implementation or an unformatted placeholder
        assert not re.search(r"^\s*(def|return|import|for|if) ", variant.spec, re.MULTILINE), variant.spec
        assert not re.search(r"\{[a-z_]+\}", variant.spec), variant.spec
        helper = re.search(r"^def (_\w+)\(", variant.reference, re.MULTILINE)
        assert helper is not None and helper.group(1) not in variant.spec
        for case in variant.cases:
            assert case.expr not in variant.spec
    assert len(keys) >= 5, "the template's parameter space is too small"


@pytest.mark.parametrize(("family", "template"), TEMPLATES, ids=IDS)
def test_cases_tell_conventions_apart(family: str, template) -> None:
    """A function written to another variant's spec (other params) fails this variant's cases:
    the hidden cases exercise every convention the spec fixes (a few near-duplicates are allowed
    where a convention only shows on rare inputs)."""
    variants: dict[str, Variant] = {}
    for seed in range(200):
        variant = template.draw(random.Random(seed))
        variants.setdefault(json.dumps(variant.params, sort_keys=True), variant)
        if len(variants) == 8:
            break
    chosen = list(variants.values())
    pairs = same = 0
    for v in chosen:
        expected = outcomes(v.reference, v)
        for w in chosen:
            if w is v:
                continue
            pairs += 1
            same += passes(renamed(w.reference, w.name, v.name), v, expected)
    assert same <= max(1, pairs // 25), f"{same} of {pairs} variants with other conventions pass each other's cases"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_shape(family: str) -> None:
    templates = FAMILIES[family].TEMPLATES
    assert len(templates) >= 10
    test_only = [t for t in templates if t.split == "test"]
    assert len(test_only) >= 2 and len(test_only) >= 0.2 * len(templates)
    assert len({t.key for t in templates}) == len(templates)
    assert all(t.title for t in templates)


def test_naive_implementations_fail() -> None:
    """Common slips fail the hidden cases: no reversal, the standard code for a mitochondrial
    table, global scoring for a local alignment."""
    rng_seed = 0
    while True:
        variant = fn_sequences.draw_reverse_complement(random.Random(rng_seed))
        if variant.params["reverse"] and variant.params["invalid"] == "keep":
            break
        rng_seed += 1
    expected = outcomes(variant.reference, variant)
    forgot_to_reverse = (f"def {variant.name}(seq):\n    pairs = dict(zip('ACGTacgt', 'TGCAtgca'))\n"
                         "    return ''.join(pairs.get(c, c) for c in seq)\n")
    assert not passes(forgot_to_reverse, variant, expected)

    seed = 0
    while True:
        variant = fn_sequences.draw_translate(random.Random(seed))
        if variant.params["table"] == 2 and variant.params["stop"] == "star":
            break
        seed += 1
    expected = outcomes(variant.reference, variant)
    standard = re.sub(r"changes=\{[^}]*\}", "changes={}", variant.reference)
    assert standard != variant.reference
    assert not passes(standard, variant, expected)

    variant = fn_alignment.draw_local_score(random.Random(3))
    expected = outcomes(variant.reference, variant)
    params = variant.params
    global_instead = (f"{inspect.getsource(fn_alignment._global_score)}\n"
                      f"def {variant.name}(a, b):\n    s = _global_score(a, b, {params['match']}, {params['mismatch']},"
                      f" {params['gap']}, None)\n    return (s, len(a), len(b)) if {params['with_end']} else s\n")
    assert not passes(global_instead, variant, expected)
