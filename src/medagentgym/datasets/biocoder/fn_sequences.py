"""biocoder family ``sequences``: functions over nucleotide sequence strings.

Each template draws the conventions that make a task different (a codon table, a stop rule, a
window and step, whether IUPAC codes are complemented, how invalid characters behave, an output
form) and writes a specification that fixes every one of them, so exactly one function passes.
The general algorithm of each template is written once below as a private helper (``_name``):
the reference of a variant is that helper's source plus the asked function, which calls it with
the variant's constants (``spec.reference_source``). The helpers are self-contained (imports in
their bodies, builtin annotations only) because their source runs alone in the sandbox.

Hidden inputs are drawn from the template's random stream with edge cases planted (empty input,
lowercase, ambiguous bases, invalid characters, sequences shorter than a window).
"""

from __future__ import annotations

import random

from medagentgym.datasets.biocoder.spec import (
    FunctionTemplate,
    Variant,
    bind_variant,
    call_case,
    raises_case,
)

# -- facts shared by the drawing code (the helpers below carry their own copies) ----------------

BASES = "ACGT"
IUPAC_CODES = "RYSWKMBDHVN"
_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N", "R": "Y", "Y": "R", "S": "S", "W": "W",
               "K": "M", "M": "K", "B": "V", "V": "B", "D": "H", "H": "D"}

#: NCBI translation tables as reassignments of the standard code (context-dependent tables left out).
CODON_TABLES: dict[int, tuple[str, dict[str, str]]] = {
    1: ("Standard", {}),
    2: ("Vertebrate Mitochondrial", {"AGA": "*", "AGG": "*", "ATA": "M", "TGA": "W"}),
    3: ("Yeast Mitochondrial", {"ATA": "M", "CTA": "T", "CTC": "T", "CTG": "T", "CTT": "T", "TGA": "W"}),
    4: ("Mold, Protozoan and Coelenterate Mitochondrial", {"TGA": "W"}),
    5: ("Invertebrate Mitochondrial", {"AGA": "S", "AGG": "S", "ATA": "M", "TGA": "W"}),
    6: ("Ciliate, Dasycladacean and Hexamita Nuclear", {"TAA": "Q", "TAG": "Q"}),
    9: ("Echinoderm and Flatworm Mitochondrial", {"AAA": "N", "AGA": "S", "AGG": "S", "TGA": "W"}),
    10: ("Euplotid Nuclear", {"TGA": "C"}),
    12: ("Alternative Yeast Nuclear", {"CTG": "S"}),
    13: ("Ascidian Mitochondrial", {"AGA": "G", "AGG": "G", "ATA": "M", "TGA": "W"}),
    14: ("Alternative Flatworm Mitochondrial", {"AAA": "N", "AGA": "S", "AGG": "S", "TAA": "Y", "TGA": "W"}),
    15: ("Blepharisma Macronuclear", {"TAG": "Q"}),
    16: ("Chlorophycean Mitochondrial", {"TAG": "L"}),
    21: ("Trematode Mitochondrial", {"AAA": "N", "AGA": "S", "AGG": "S", "ATA": "M", "TGA": "W"}),
    22: ("Scenedesmus obliquus Mitochondrial", {"TAG": "L", "TCA": "*"}),
    23: ("Thraustochytrium Mitochondrial", {"TTA": "*"}),
    24: ("Rhabdopleuridae Mitochondrial", {"AGA": "S", "AGG": "K", "TGA": "W"}),
    25: ("Candidate Division SR1 and Gracilibacteria", {"TGA": "G"}),
    26: ("Pachysolen tannophilus Nuclear", {"CTG": "A"}),
    29: ("Mesodinium Nuclear", {"TAA": "Y", "TAG": "Y"}),
    30: ("Peritrich Nuclear", {"TAA": "E", "TAG": "E"}),
    32: ("Balanophoraceae Plastid", {"TAG": "W"}),
    33: ("Cephalodiscidae Mitochondrial", {"AGA": "S", "AGG": "K", "TAA": "Y", "TGA": "W"}),
}
STANDARD_STOPS = ("TAA", "TAG", "TGA")
IUPAC_SETS = {"A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT",
              "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}

#: Palindromic type II enzymes: recognition site and the cut's offset in it on the top strand.
ENZYMES: dict[str, tuple[str, int]] = {
    "EcoRI": ("GAATTC", 1), "BamHI": ("GGATCC", 1), "HindIII": ("AAGCTT", 1), "NotI": ("GCGGCCGC", 2),
    "PstI": ("CTGCAG", 5), "SmaI": ("CCCGGG", 3), "EcoRV": ("GATATC", 3), "KpnI": ("GGTACC", 5),
    "XhoI": ("CTCGAG", 1), "SacI": ("GAGCTC", 5), "XbaI": ("TCTAGA", 1), "SalI": ("GTCGAC", 1),
    "NcoI": ("CCATGG", 1), "NdeI": ("CATATG", 2), "HaeIII": ("GGCC", 2), "AluI": ("AGCT", 2),
    "MspI": ("CCGG", 1), "TaqI": ("TCGA", 1), "NheI": ("GCTAGC", 1), "SpeI": ("ACTAGT", 1),
    "ClaI": ("ATCGAT", 2), "BglII": ("AGATCT", 1), "ApaI": ("GGGCCC", 5), "SphI": ("GCATGC", 5),
    "HpaI": ("GTTAAC", 3), "ScaI": ("AGTACT", 3),
}

def dna(rng: random.Random, n: int, alphabet: str = BASES) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def revcomp(seq: str) -> str:
    return "".join(_COMPLEMENT[c] for c in reversed(seq))


def plant(rng: random.Random, seq: str, motif: str) -> str:
    """``seq`` with ``motif`` written over it at a random position (or ``motif`` if longer)."""
    if len(motif) >= len(seq):
        return motif
    at = rng.randrange(len(seq) - len(motif) + 1)
    return seq[:at] + motif + seq[at + len(motif):]


def mixed_case(rng: random.Random, seq: str) -> str:
    return "".join(c.lower() if rng.random() < 0.5 else c for c in seq)


def pick(rng: random.Random, names: tuple[str, ...]) -> str:
    return rng.choice(names)


# == 1. reverse complement ======================================================================


def _complement_sequence(seq: str, reverse: bool, rna: bool, iupac: bool, upper: bool, invalid: str,
                         gaps: bool) -> str:
    pairs = {"A": "T", "C": "G", "G": "C", "T": "A", "U": "A", "N": "N"}
    if iupac:
        pairs.update({"R": "Y", "Y": "R", "S": "S", "W": "W", "K": "M", "M": "K",
                      "B": "V", "V": "B", "D": "H", "H": "D"})
    out = []
    for ch in seq:
        key = ch.upper()
        if key in pairs:
            base = pairs[key]
            if rna and base == "T":
                base = "U"
            out.append(base.lower() if (not upper and ch.islower()) else base)
        elif gaps and ch in "-.":
            out.append(ch)
        elif invalid == "raise":
            raise ValueError(f"invalid character {ch!r}")
        elif invalid == "N":
            out.append("N")
        else:
            out.append(ch)
    if reverse:
        out.reverse()
    return "".join(out)


def draw_reverse_complement(rng: random.Random) -> Variant:
    reverse = rng.random() < 0.75
    rna = rng.random() < 0.3
    iupac = rng.random() < 0.5
    upper = rng.random() < 0.5
    invalid = rng.choice(("raise", "N", "keep"))
    gaps = rng.random() < 0.5
    names = ("reverse_complement", "revcomp", "rev_comp") if reverse else ("complement", "complement_strand")
    name = pick(rng, names)
    what = "the reverse complement" if reverse else "the complement (same order, not reversed)"
    valid = "A, C, G, T, U and N" + (" and the IUPAC ambiguity codes R, Y, S, W, K, M, B, D, H, V" if iupac else "")
    lines = [
        f"Return {what} of a nucleic-acid sequence.",
        f"- Valid letters (in either case): {valid}. T and U both mean the base pairing with A; "
        + ("the output is RNA: the complement of A is written U, never T." if rna
           else "the output is DNA: the complement of A is written T, never U."),
        "- Complements: A<->T (or U), C<->G, N->N"
        + (", R<->Y, K<->M, B<->V, D<->H, S->S, W->W." if iupac else "."),
        ("- Case: every output base is uppercase, whatever the input case." if upper
         else "- Case is preserved: a lowercase input letter gives a lowercase complement (n -> n)."),
    ]
    if gaps:
        lines.append("- '-' and '.' are gaps: copied unchanged (at their mirrored place when reversing).")
    invalid_rule = {
        "raise": "raise ValueError",
        "N": "that position becomes 'N' (uppercase) in the output",
        "keep": "the character is copied to the output unchanged",
    }[invalid]
    lines.append(f"- Any other character (digits, punctuation, other letters{'' if gaps else ', gaps'}): "
                 f"{invalid_rule}.")
    lines.append("- The empty string gives the empty string.")
    seq = dna(rng, rng.randint(12, 24))
    cases = [
        call_case(name, seq),
        call_case(name, mixed_case(rng, dna(rng, rng.randint(8, 16)))),
        call_case(name, ""),
        call_case(name, dna(rng, 6) + "N" + dna(rng, 5) + "n"),
        call_case(name, dna(rng, rng.randint(8, 14), "ACGU")),
    ]
    ambiguous = dna(rng, 4) + "".join(rng.sample(IUPAC_CODES[:-1], 4)) + dna(rng, 3)
    odd = [dna(rng, 5) + rng.choice("-.") + dna(rng, 4), dna(rng, 4) + rng.choice("XZ*5") + dna(rng, 4)]
    if iupac:
        cases.append(call_case(name, ambiguous.lower() if rng.random() < 0.5 else ambiguous))
        probes = odd
    else:
        probes = [ambiguous, *odd]
    for text in probes:
        accepted = gaps and any(c in "-." for c in text) and all(c in "ACGTUN-." for c in text.upper())
        cases.append(raises_case(name, text) if invalid == "raise" and not accepted else call_case(name, text))
    params = {"reverse": reverse, "rna": rna, "iupac": iupac, "upper": upper, "invalid": invalid, "gaps": gaps}
    return bind_variant(name, "seq: str", "str", "seq", _complement_sequence,
                 {"reverse": reverse, "rna": rna, "iupac": iupac, "upper": upper, "invalid": invalid,
                  "gaps": gaps},
                 "\n".join(lines), cases[:8], params)


# == 2. translation ============================================================================


def _translate(seq: str, changes: dict, frame: int, stop: str, unknown: str) -> str:
    bases = "TCAG"
    amino = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
    code = {a + b + c: amino[16 * i + 4 * j + k]
            for i, a in enumerate(bases) for j, b in enumerate(bases) for k, c in enumerate(bases)}
    code.update(changes)
    s = seq.upper().replace("U", "T")
    protein = []
    for i in range(frame, len(s) - 2, 3):
        codon = s[i:i + 3]
        if codon not in code:
            if unknown == "raise":
                raise ValueError(f"codon {codon!r} has a character other than A, C, G, T/U")
            protein.append("X")
            continue
        amino_acid = code[codon]
        if amino_acid == "*":
            if stop == "truncate":
                break
            if stop == "omit":
                continue
        protein.append(amino_acid)
    return "".join(protein)


def table_stops(changes: dict[str, str]) -> list[str]:
    stops = {c for c in STANDARD_STOPS if changes.get(c, "*") == "*"}
    stops |= {c for c, aa in changes.items() if aa == "*"}
    return sorted(stops)


def draw_translate(rng: random.Random) -> Variant:
    table = rng.choice(sorted(CODON_TABLES))
    title, changes = CODON_TABLES[table]
    frame = rng.randrange(3)
    stop = rng.choice(("star", "truncate", "omit"))
    unknown = rng.choice(("X", "raise"))
    name = pick(rng, ("translate", "translate_dna", "to_protein"))
    stops = table_stops(changes)
    if changes:
        reassigned = ", ".join(f"{c}->{'stop' if aa == '*' else aa}" for c, aa in sorted(changes.items()))
        code_text = f"NCBI translation table {table} ({title}): the standard genetic code with {reassigned}."
    else:
        code_text = "the standard genetic code (NCBI translation table 1)."
    stop_rule = {
        "star": "each stop codon is written '*' and translation continues after it",
        "truncate": "translation ends at the first stop codon, which is not written",
        "omit": "stop codons are skipped (nothing written) and translation continues after them",
    }[stop]
    spec = "\n".join([
        "Translate a nucleotide sequence into a protein string of one-letter amino-acid codes.",
        f"- Genetic code: {code_text} Its stop codons are {', '.join(stops)}.",
        "- The input is case-insensitive; U reads as T (RNA input is accepted).",
        (f"- Read codons starting at 0-based index {frame}, three bases at a time; a trailing"
        " incomplete codon is ignored."),
        f"- Stops: {stop_rule}.",
        "- A codon holding any character other than A, C, G, T/U "
        + ("translates to 'X'." if unknown == "X" else "makes the function raise ValueError."),
        "- Return the protein as a str ('' when there is no complete codon).",
    ])
    special = list(changes) + stops
    body = dna(rng, 3 * rng.randint(6, 10))
    codons = [body[i:i + 3] for i in range(0, len(body), 3)]
    for codon in rng.sample(special, min(3, len(special))):
        codons.insert(rng.randrange(len(codons) + 1), codon)
    main = dna(rng, frame) + "".join(codons) + dna(rng, rng.randrange(3))
    with_stop = dna(rng, frame) + dna(rng, 9) + rng.choice(stops) + dna(rng, 12)
    ambiguous = dna(rng, frame) + dna(rng, 6) + "ANG" + dna(rng, 6)
    cases = [
        call_case(name, main),
        call_case(name, with_stop),
        call_case(name, main.lower().replace("t", "u")),
        call_case(name, ""),
        call_case(name, dna(rng, frame + 2)),
        call_case(name, dna(rng, frame) + "".join(rng.choice(special) for _ in range(4)) + dna(rng, 6)),
        call_case(name, ambiguous) if unknown == "X" else raises_case(name, ambiguous),
    ]
    params = {"table": table, "frame": frame, "stop": stop, "unknown": unknown}
    return bind_variant(name, "seq: str", "str", "seq", _translate,
                 {"changes": dict(sorted(changes.items())), "frame": frame, "stop": stop, "unknown": unknown},
                 spec, cases, params)


# == 3. open reading frames ====================================================================


def _open_reading_frames(seq: str, min_codons: int, both_strands: bool, starts: tuple, nested: bool,
                         output: str) -> list:
    bases = "TCAG"
    amino = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
    code = {a + b + c: amino[16 * i + 4 * j + k]
            for i, a in enumerate(bases) for j, b in enumerate(bases) for k, c in enumerate(bases)}
    pairs = {"A": "T", "C": "G", "G": "C", "T": "A"}
    forward = seq.upper()
    n = len(forward)
    strands = [("+", forward)]
    if both_strands:
        strands.append(("-", "".join(pairs.get(c, c) for c in reversed(forward))))
    found = []
    for strand, text in strands:
        for frame in range(3):
            pending = []
            for i in range(frame, n - 2, 3):
                codon = text[i:i + 3]
                if codon in ("TAA", "TAG", "TGA"):
                    for begin in (pending if nested else pending[:1]):
                        if (i - begin) // 3 >= min_codons:
                            protein = "".join(code.get(text[j:j + 3], "X") for j in range(begin, i, 3))
                            end = i + 3
                            coords = (begin, end) if strand == "+" else (n - end, n - begin)
                            found.append((coords[0], coords[1], strand, protein))
                    pending = []
                elif codon in starts:
                    pending.append(i)
    if output == "coords":
        return sorted((s, e, strand) for s, e, strand, _ in found)
    return sorted((p for *_, p in found), key=lambda p: (-len(p), p))


def draw_orfs(rng: random.Random) -> Variant:
    min_codons = rng.randint(2, 10)
    both = rng.random() < 0.5
    alternative = rng.random() < 0.4
    starts = ("ATG", "GTG", "TTG") if alternative else ("ATG",)
    nested = rng.random() < 0.5
    output = rng.choice(("coords", "proteins"))
    name = pick(rng, ("find_orfs", "open_reading_frames", "orf_scan"))
    strand_text = ("both strands: the given (forward, '+') strand and its reverse complement ('-')"
                   if both else "the given strand only (frames 0, 1 and 2 of the forward strand)")
    lines = [
        "Find open reading frames (ORFs) in a DNA sequence (case-insensitive).",
        f"- Search {strand_text}.",
        (f"- Start codons: {', '.join(starts)}. Stop codons: TAA, TAG, TGA. A codon holding any other"
        " character is neither a start nor a stop."),
        ("- An ORF runs from a start codon to the first in-frame stop codon after it; starts with no"
        " in-frame stop downstream give no ORF."),
        ("- Every start codon gives its own ORF, so ORFs nested inside longer ones in the same frame"
         " are reported too." if nested else
         "- Only the longest ORF of each stop codon is reported (its most upstream start; nested"
         " starts sharing that stop are not reported)."),
        f"- Keep ORFs of at least {min_codons} codons, counting the start codon and not the stop codon.",
    ]
    if output == "coords":
        lines.append(
            "- Return a list of (start, end, strand) tuples, strand '+' or '-', where start/end are"
            " 0-based half-open coordinates on the given (forward) sequence covering the ORF including"
            " its stop codon (for a '-' ORF: the forward-strand span whose reverse complement is the"
            " ORF). Sort by start, then end, then strand ('+' before '-'). No ORF: []."
        )
    else:
        lines.append(
            "- Return the ORFs' protein translations (standard genetic code, stop codon not included,"
            " a codon with a character other than A/C/G/T translates to 'X') as a list of str, sorted by"
            " decreasing length and then alphabetically; identical proteins are all kept. No ORF: []."
        )

    def orf(codons: int) -> str:
        middle = "".join(rng.choice([c for c in (a + b + d for a in BASES for b in BASES for d in BASES)
                                     if c not in STANDARD_STOPS]) for _ in range(codons - 1))
        return rng.choice(starts) + middle + rng.choice(STANDARD_STOPS)

    alternative_orf = rng.choice(("GTG", "TTG")) + "GCC" * min_codons + "TAG"
    planted = plant(rng, dna(rng, rng.randint(60, 90)), orf(min_codons + rng.randint(0, 4)))
    nested_seq = dna(rng, 4) + "ATG" + dna(rng, 3).replace("T", "C") + "ATG" + orf(min_codons + 1)[3:] + dna(rng, 5)
    reverse = revcomp(plant(rng, dna(rng, rng.randint(45, 70)), orf(min_codons + rng.randint(0, 3))))
    no_stop = "ATG" + "".join(rng.choice(("GCC", "AAA", "CTG", "GGT")) for _ in range(min_codons + 2))
    cases = [
        call_case(name, planted),
        call_case(name, nested_seq),
        call_case(name, reverse),
        call_case(name, mixed_case(rng, plant(rng, dna(rng, 50), orf(min_codons + 2)))),
        call_case(name, no_stop),
        call_case(name, ""),
        call_case(name, plant(rng, dna(rng, 30) + "NN" + dna(rng, 30), orf(min_codons + 1))),
        call_case(name, "CC" + orf(min_codons) + "C" + orf(max(1, min_codons - 1)) + "CC" + alternative_orf),
    ]
    params = {"min_codons": min_codons, "both_strands": both, "starts": list(starts), "nested": nested,
              "output": output}
    return bind_variant(name, "seq: str", "list[tuple[int, int, str]]" if output == "coords" else "list[str]", "seq",
                 _open_reading_frames,
                 {"min_codons": min_codons, "both_strands": both, "starts": starts, "nested": nested,
                  "output": output},
                 "\n".join(lines), cases, params)


# == 4. k-mer counting =========================================================================


def _kmer_counts(seq: str, k: int, canonical: bool, skip_invalid: bool, output: str, top: int) -> dict | list:
    pairs = {"A": "T", "C": "G", "G": "C", "T": "A"}
    s = seq.upper()
    counts = {}
    for i in range(len(s) - k + 1):
        kmer = s[i:i + k]
        if any(c not in "ACGT" for c in kmer):
            if skip_invalid:
                continue
        elif canonical:
            kmer = min(kmer, "".join(pairs[c] for c in reversed(kmer)))
        counts[kmer] = counts.get(kmer, 0) + 1
    if output == "dict":
        return counts
    if output == "vector":
        import itertools

        every = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
        if canonical:
            every = [x for x in every if x <= "".join(pairs[c] for c in reversed(x))]
        return [counts.get(x, 0) for x in every]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked if output == "sorted" else ranked[:top]


def draw_kmer_counts(rng: random.Random) -> Variant:
    k = rng.randint(1, 6)
    canonical, skip = rng.choice(((False, False), (False, True), (True, True)))
    outputs = ["dict", "sorted", "top"] + (["vector"] if k <= 4 else [])
    output = rng.choice(outputs)
    top = rng.randint(1, 5) if output == "top" else 0
    if output == "vector":
        skip = True  # the vector lists A/C/G/T k-mers only: other windows never show
    name = pick(rng, ("count_kmers", "kmer_counts", "kmer_spectrum"))
    lines = [
        (f"Count the k-mers (substrings of length {k}) of a DNA sequence, at every start position"
        " (overlapping), case-insensitively: the k-mers are the uppercase forms."),
        ("- A k-mer holding any character other than A, C, G, T is skipped (not counted)." if skip else
         "- Every window is counted, including those holding characters other than A, C, G, T"
         " (uppercased, as they are)."),
    ]
    if canonical:
        lines.append("- Count canonical k-mers: a k-mer and its reverse complement are the same k-mer,"
                     " named by whichever of the two is alphabetically smaller.")
    if output == "dict":
        lines.append("- Return a dict mapping each k-mer that occurs to its count (int); no k-mer: {}.")
    elif output == "sorted":
        lines.append("- Return a list of (kmer, count) tuples of all k-mers that occur, sorted by decreasing"
                     " count, ties alphabetically by k-mer; no k-mer: [].")
    elif output == "top":
        lines.append(f"- Return the {top} most frequent k-mers as a list of (kmer, count) tuples, sorted by"
                     " decreasing count, ties alphabetically by k-mer (fewer if fewer occur; none: []).")
    else:
        lines.append(
            "- Return a list of ints: the count of every possible "
            + ("canonical " if canonical else "")
            + f"{k}-mer over A, C, G, T"
            + (" (those alphabetically no larger than their reverse complement)" if canonical else "")
            + ", in alphabetical order of the k-mers, zeros included (always the same length)."
        )
    sequences = [
        dna(rng, rng.randint(15, 40)),
        mixed_case(rng, dna(rng, rng.randint(10, 25))),
        dna(rng, 8) + "N" + dna(rng, 6) + "n" + dna(rng, 4),
        "",
        dna(rng, k - 1) if k > 1 else "n",
        "".join(rng.choice(("AC", "GT", "AAT")) for _ in range(8)),
    ]
    cases = [call_case(name, s) for s in sequences]
    params = {"k": k, "canonical": canonical, "skip_invalid": skip, "output": output, "top": top}
    returns = {"dict": "dict[str, int]", "vector": "list[int]"}.get(output, "list[tuple[str, int]]")
    return bind_variant(name, "seq: str", returns, "seq", _kmer_counts,
                 {"k": k, "canonical": canonical, "skip_invalid": skip, "output": output, "top": top},
                 "\n".join(lines), cases, params)


# == 5. windowed GC content ====================================================================


def _gc_windows(seq: str, window: int, step: int, denominator: str, partial: bool, percent: bool) -> list:
    s = seq.upper()
    values = []
    for start in range(0, len(s), step):
        chunk = s[start:start + window]
        if len(chunk) < window and not partial:
            break
        gc = chunk.count("G") + chunk.count("C")
        total = len(chunk) if denominator == "length" else sum(chunk.count(b) for b in "ACGT")
        fraction = gc / total if total else 0.0
        values.append(100.0 * fraction if percent else fraction)
    return values


def draw_gc_windows(rng: random.Random) -> Variant:
    window = rng.randint(4, 30)
    step = rng.choice(sorted({1, max(1, window // 2), window, rng.randint(1, window)}))
    denominator = rng.choice(("length", "acgt"))
    partial = rng.random() < 0.5
    percent = rng.random() < 0.5
    name = pick(rng, ("gc_windows", "sliding_gc", "windowed_gc_content"))
    lines = [
        (f"Compute the GC content of a DNA sequence in sliding windows of {window} bases with a step of"
        f" {step}: windows start at 0, {step}, {2 * step}, ... (case-insensitive)."),
        ("- Windows that run past the end of the sequence are included too (every start inside the"
         " sequence), computed on the bases they hold." if partial else
         "- Only complete windows are used (a window running past the end of the sequence is dropped)."),
        "- GC content of a window: (number of G and C) / "
        + ("the number of characters in the window (every character counts, N and others included; a window cut"
           " short by the end counts the characters it holds)." if denominator == "length"
           else "the number of A, C, G, T in the window (other characters are left out of both counts)."),
        "- A window whose denominator is 0 has GC content 0.0.",
        ("- Report each value as a percentage (0-100) " if percent else "- Report each value as a fraction (0-1) ")
        + "without rounding, as a list of floats in window order; no window: [].",
    ]
    cases = [
        call_case(name, dna(rng, rng.randint(window + 5, window * 3 + 7))),
        call_case(name, mixed_case(rng, dna(rng, rng.randint(window, window * 2 + 3)))),
        call_case(name, dna(rng, window - 1)),
        call_case(name, ""),
        call_case(name, dna(rng, 6) + "NNNN" + dna(rng, window + 3) + "-" + dna(rng, 5)),
        call_case(name, "N" * (window + step + 1) + dna(rng, 3, "GC")),
    ]
    params = {"window": window, "step": step, "denominator": denominator, "partial": partial, "percent": percent}
    return bind_variant(name, "seq: str", "list[float]", "seq", _gc_windows, dict(params), "\n".join(lines), cases, params)


# == 6. GC skew =================================================================================


def _gc_skew(seq: str, window: int, step: int, mode: str, g_minus_c: bool) -> list | int | None:
    s = seq.upper()
    skews = []
    for start in range(0, len(s) - window + 1, step):
        chunk = s[start:start + window]
        g, c = chunk.count("G"), chunk.count("C")
        diff = g - c if g_minus_c else c - g
        skews.append(diff / (g + c) if g + c else 0.0)
    if mode == "window":
        return skews
    running, total = [], 0.0
    for value in skews:
        total += value
        running.append(total)
    if mode == "cumulative":
        return running
    if not running:
        return None
    best = min(running) if mode == "argmin" else max(running)
    return running.index(best) * step


def draw_gc_skew(rng: random.Random) -> Variant:
    window = rng.randint(5, 40)
    step = rng.choice(sorted({window, max(1, window // 2), rng.randint(1, window)}))
    mode = rng.choice(("window", "cumulative", "argmin", "argmax"))
    g_minus_c = rng.random() < 0.7
    name = pick(rng, ("gc_skew", "compute_gc_skew", "skew_profile"))
    formula = "(G - C) / (G + C)" if g_minus_c else "(C - G) / (C + G)"
    lines = [
        (f"GC skew of a DNA sequence (case-insensitive) in windows of {window} bases, step {step}:"
        f" windows start at 0, {step}, {2 * step}, ... and only complete windows are used."),
        f"- The skew of a window is {formula} counted in that window; 0.0 when it holds no G or C.",
    ]
    if mode == "window":
        lines.append("- Return the list of window skews (floats) in window order; no window: [].")
    elif mode == "cumulative":
        lines.append("- Return the cumulative skew: a list of floats whose i-th item is the sum of the skews of"
                     " windows 0..i; no window: [].")
    else:
        which = "minimum" if mode == "argmin" else "maximum"
        lines.append(f"- Return the start position (0-based, an int) of the window where the cumulative skew"
                     f" (sum of the window skews up to and including that window) reaches its {which};"
                     f" the first such window on ties; None when there is no complete window.")
    cases = [
        call_case(name, dna(rng, rng.randint(window * 3, window * 5))),
        call_case(name, mixed_case(rng, dna(rng, rng.randint(window * 2, window * 3), "GGGCCATT"))),
        call_case(name, dna(rng, window - 1)),
        call_case(name, ""),
        call_case(name, dna(rng, window * 2, "AT") + dna(rng, window * 2, "GGCA")),
        call_case(name, dna(rng, window * 2, "CCGAT") + dna(rng, window * 2, "GGCT") + dna(rng, window, "CCGA")),
    ]
    params = {"window": window, "step": step, "mode": mode, "g_minus_c": g_minus_c}
    return bind_variant(name, "seq: str", "list[float]" if mode in ("window", "cumulative") else "int | None", "seq", _gc_skew, dict(params), "\n".join(lines),
                 cases, params)


# == 7. motif search ===========================================================================


def _motif_positions(seq: str, motif: str, overlapping: bool, both_strands: bool, one_based: bool,
                     mismatches: int, iupac: bool) -> list:
    codes = {"A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT",
             "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}
    pairs = {"A": "T", "C": "G", "G": "C", "T": "A", "R": "Y", "Y": "R", "S": "S", "W": "W", "K": "M", "M": "K",
             "B": "V", "V": "B", "D": "H", "H": "D", "N": "N"}
    if not motif:
        raise ValueError("empty motif")
    s, m = seq.upper(), motif.upper()
    patterns = [m]
    if both_strands:
        patterns.append("".join(pairs.get(c, c) for c in reversed(m)))

    def fits(text: str, pattern: str) -> bool:
        wrong = 0
        for have, want in zip(text, pattern):
            ok = have in codes.get(want, want) if iupac else have == want
            if not ok:
                wrong += 1
                if wrong > mismatches:
                    return False
        return True

    hits = [i for i in range(len(s) - len(m) + 1) if any(fits(s[i:i + len(m)], p) for p in patterns)]
    if not overlapping:
        kept, free_from = [], 0
        for i in hits:
            if i >= free_from:
                kept.append(i)
                free_from = i + len(m)
        hits = kept
    return [i + 1 for i in hits] if one_based else hits


def draw_motif_positions(rng: random.Random) -> Variant:
    overlapping = rng.random() < 0.5
    both = rng.random() < 0.5
    one_based = rng.random() < 0.5
    mismatches = rng.choice((0, 0, 1, 2))
    iupac = rng.random() < 0.5
    name = pick(rng, ("find_motif", "motif_positions", "locate_motif"))
    lines = [
        "Find where a motif occurs in a DNA sequence; both are case-insensitive.",
        ("- The motif may hold IUPAC codes (R=A/G, Y=C/T, S=C/G, W=A/T, K=G/T, M=A/C, B=C/G/T, D=A/G/T,"
         " H=A/C/T, V=A/C/G, N=any of A/C/G/T): a motif position matches a sequence character that is one"
         " of the bases its code stands for (so a sequence N matches nothing)." if iupac else
         "- Characters are compared literally (after uppercasing): N matches only N."),
        (f"- An occurrence at position i compares seq[i:i+len(motif)] with the motif and allows at most"
        f" {mismatches} mismatching position{'s' if mismatches != 1 else ''}."),
    ]
    if both:
        lines.append("- Search both strands: position i is also an occurrence when the window matches the reverse"
                     " complement of the motif" + (" (complement each IUPAC code too: R<->Y, K<->M, B<->V,"
                                                   " D<->H, S, W and N unchanged)" if iupac else "")
                     + "; each position is reported once.")
    lines.append("- Occurrences may overlap." if overlapping else
                 "- Report non-overlapping occurrences: scan left to right, keep an occurrence only if it starts"
                 " at or after the end of the last kept one.")
    lines.append(f"- Return the positions as a sorted list of ints, {'1' if one_based else '0'}-based (the"
                 " first base of the sequence is " + ("1" if one_based else "0") + "); none: []."
                 " An empty motif raises ValueError; a motif longer than the sequence gives [].")
    motif = dna(rng, rng.randint(3 + mismatches, 7))
    if iupac:
        spots = rng.sample(range(len(motif)), min(2, len(motif) - 1))
        motif = "".join(rng.choice("RYSWKMN") if i in spots else c for i, c in enumerate(motif))
    concrete = "".join(rng.choice(IUPAC_SETS[c]) for c in motif) if iupac else motif
    seq = dna(rng, rng.randint(30, 50))
    for _ in range(3):
        seq = plant(rng, seq, concrete)
    seq = plant(rng, seq, revcomp(concrete))
    repeat = "A" * 3
    cases = [
        call_case(name, seq, motif),
        call_case(name, mixed_case(rng, seq), motif.lower()),
        call_case(name, dna(rng, 8) + concrete * 3 + dna(rng, 5), motif),
        call_case(name, "AAAAAAA" + dna(rng, 6), repeat if rng.random() < 0.5 else "AA"),
        call_case(name, dna(rng, 10) + "N" * 4 + dna(rng, 10), "N" * 3 if iupac else "NN"),
        call_case(name, "ACG", motif + "ACGT"),
        raises_case(name, seq, ""),
    ]
    params = {"overlapping": overlapping, "both_strands": both, "one_based": one_based, "mismatches": mismatches,
              "iupac": iupac}
    return bind_variant(name, "seq: str, motif: str", "list[int]", "seq, motif", _motif_positions, dict(params),
                 "\n".join(lines), cases, params)


# == 8. codon usage ============================================================================


def _codon_usage(seq: str, start: int | str, include_stops: bool, measure: str) -> dict:
    bases = "TCAG"
    amino = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
    code = {a + b + c: amino[16 * i + 4 * j + k]
            for i, a in enumerate(bases) for j, b in enumerate(bases) for k, c in enumerate(bases)}
    s = seq.upper().replace("U", "T")
    if start == "first_atg":
        begin = s.find("ATG")
        if begin < 0:
            return {}
    else:
        begin = start
    counts = {}
    for i in range(begin, len(s) - 2, 3):
        codon = s[i:i + 3]
        if codon not in code or (code[codon] == "*" and not include_stops):
            continue
        counts[codon] = counts.get(codon, 0) + 1
    total = sum(counts.values())
    if measure == "count":
        return counts
    if measure == "fraction":
        return {c: n / total for c, n in counts.items()}
    if measure == "per_thousand":
        return {c: 1000.0 * n / total for c, n in counts.items()}
    family_total, family_size = {}, {}
    for codon, aa in code.items():
        family_size[aa] = family_size.get(aa, 0) + 1
    for codon, n in counts.items():
        family_total[code[codon]] = family_total.get(code[codon], 0) + n
    return {c: n * family_size[code[c]] / family_total[code[c]] for c, n in counts.items()}


def draw_codon_usage(rng: random.Random) -> Variant:
    start = rng.choice((0, 1, 2, "first_atg"))
    include_stops = rng.random() < 0.5
    measure = rng.choice(("count", "fraction", "per_thousand", "rscu"))
    name = pick(rng, ("codon_usage", "count_codons", "codon_table_usage"))
    begin = ("at the first occurrence of ATG anywhere in the sequence, in any frame (that ATG is the first codon;"
             " no ATG at all: return {})"
             if start == "first_atg" else f"at 0-based index {start}")
    what = {
        "count": "the number of times it occurs (int)",
        "fraction": "its count divided by the total number of counted codons (float)",
        "per_thousand": "its frequency per thousand counted codons: 1000 * count / total counted (float)",
        "rscu": ("its relative synonymous codon usage (float): count * k / (sum of the counts of all k codons"
                 " coding the same amino acid under the standard genetic code"
                 + (", the three stop codons forming one family" if include_stops else "") + ")"),
    }[measure]
    spec = "\n".join([
        "Codon usage of a coding sequence (case-insensitive; U reads as T).",
        f"- Read codons three bases at a time starting {begin}; a trailing incomplete codon is ignored.",
        "- Codons holding any character other than A, C, G, T are not counted."
        + (" Stop codons (TAA, TAG, TGA) are counted like the others." if include_stops else
           " Stop codons (TAA, TAG, TGA) are not counted (reading continues after them)."),
        (f"- Return a dict mapping each counted codon (uppercase DNA) to {what}. Codons that never occur are"
        " not in the dict; nothing counted: {}."),
    ])
    coding = "ATG" + "".join(rng.choice(("GCT", "GCC", "GCA", "GCG", "AAA", "AAG", "CTG", "TTA", "GGC",
                                         "TAA", "TGA", "CGT", "AGA")) for _ in range(rng.randint(10, 16)))
    lead = dna(rng, start, "CG") if isinstance(start, int) else dna(rng, rng.randint(1, 7), "CG")
    cases = [
        call_case(name, lead + coding),
        call_case(name, (lead + coding[:-3] + rng.choice(STANDARD_STOPS) + "GC").lower().replace("t", "u")),
        call_case(name, dna(rng, rng.randint(30, 45))),
        call_case(name, ""),
        call_case(name, "GCCGNAGCTTAGATGGCCGC" + dna(rng, 10)),
        call_case(name, "CCC" * 3 + "TTTAAA"),
    ]
    params = {"start": start, "include_stops": include_stops, "measure": measure}
    return bind_variant(name, "seq: str", "dict[str, int]" if measure == "count" else "dict[str, float]", "seq", _codon_usage, dict(params), spec, cases, params)


# == 9. melting temperature ====================================================================


def _melting_temperature(seq: str, rule: str, threshold: int, sodium: float) -> float:
    import math

    s = seq.upper()
    if not s or any(c not in "ACGT" for c in s):
        raise ValueError("a primer of A, C, G, T is needed")
    n = len(s)
    gc = s.count("G") + s.count("C")
    if rule == "wallace" or (rule == "switch" and n < threshold):
        return float(2 * (n - gc) + 4 * gc)
    if rule in ("basic", "switch"):
        return 64.9 + 41.0 * (gc - 16.4) / n
    return 100.5 + 41.0 * gc / n - 820.0 / n + 16.6 * math.log10(sodium)


def draw_melting_temperature(rng: random.Random) -> Variant:
    rule = rng.choice(("wallace", "basic", "switch", "switch", "salt", "salt"))
    threshold = rng.randint(10, 20) if rule == "switch" else 0
    sodium = rng.choice((0.01, 0.02, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)) if rule == "salt" else 0.0
    name = pick(rng, ("melting_temperature", "primer_tm", "tm"))
    wallace = "Tm = 2 * (A + T) + 4 * (G + C) (the Wallace rule)"
    basic = "Tm = 64.9 + 41 * (G + C - 16.4) / N"
    rule_text = {
        "wallace": f"{wallace}, for every length",
        "basic": f"{basic}, for every length",
        "switch": f"{wallace} when N < {threshold}; otherwise {basic}",
        "salt": f"the salt-adjusted formula Tm = 100.5 + 41 * (G + C) / N - 820 / N + 16.6 * log10([Na+])"
                f" with [Na+] = {sodium} M (log10 is the base-10 logarithm)",
    }[rule]
    spec = "\n".join([
        "Estimate the melting temperature (degrees C) of a DNA primer.",
        ("- The primer is case-insensitive and may only hold A, C, G, T; an empty primer or any other character"
        " raises ValueError."),
        f"- With N the primer's length and A, C, G, T the counts of each base: {rule_text}.",
        "- Return a float, not rounded.",
    ])
    lengths = [rng.randint(8, 30), rng.randint(8, 30), threshold or 12, threshold - 1 if threshold else 6]
    cases = [call_case(name, dna(rng, n)) for n in lengths]
    cases.append(call_case(name, mixed_case(rng, dna(rng, rng.randint(15, 25)))))
    cases.append(raises_case(name, ""))
    cases.append(raises_case(name, dna(rng, 8) + "N" + dna(rng, 8)))
    params = {"rule": rule, "threshold": threshold, "sodium": sodium}
    return bind_variant(name, "primer: str", "float", "primer", _melting_temperature, dict(params), spec, cases, params)


# == 10. sequence entropy ======================================================================


def _sequence_entropy(seq: str, base: int | str, window: int, step: int, acgt_only: bool,
                      normalise: bool) -> float | list:
    import math

    scale = 1.0 if base == "e" else math.log(base)

    def entropy(text: str) -> float:
        counts = {}
        for ch in text:
            if acgt_only and ch not in "ACGT":
                continue
            counts[ch] = counts.get(ch, 0) + 1
        total = sum(counts.values())
        if not total:
            return 0.0
        h = -sum((n / total) * math.log(n / total) for n in counts.values()) / scale
        return h / (math.log(4) / scale) if normalise else h

    s = seq.upper()
    if window == 0:
        return entropy(s)
    return [entropy(s[i:i + window]) for i in range(0, len(s) - window + 1, step)]


def draw_sequence_entropy(rng: random.Random) -> Variant:
    acgt_only = rng.random() < 0.6
    normalise = acgt_only and rng.random() < 0.4
    base = 2 if normalise else rng.choice((2, 10, "e"))  # a normalised entropy is the same in every base
    window = rng.choice((0, 0, rng.randint(4, 25)))
    step = rng.randint(1, window) if window else 0
    name = pick(rng, ("shannon_entropy", "sequence_entropy", "base_entropy"))
    log_text = {2: "base-2 logarithms (bits)", 10: "base-10 logarithms", "e": "natural logarithms (nats)"}[base]
    if normalise:
        log_text = "logarithms in any base (the result is normalised)"
    lines = [
        "Shannon entropy of the character composition of a DNA sequence (case-insensitive: count uppercase forms).",
        f"- H = -sum(p * log(p)) over the characters counted, p their relative frequencies, with {log_text}.",
        ("- Only A, C, G, T are counted; every other character is ignored." if acgt_only else
         "- Every character is counted as a symbol of its own (N, gaps and others included)."),
    ]
    if normalise:
        lines.append("- Normalise: divide H by the entropy of four equally frequent bases (log(4) in the same base),"
                     " so values lie in [0, 1].")
    lines.append("- Nothing counted gives 0.0.")
    if window:
        lines.append(f"- Compute it in windows of {window} characters starting at 0, {step}, {2 * step}, ...; only"
                     " complete windows; return a list of floats in window order (no window: []).")
    else:
        lines.append("- Compute it over the whole sequence and return a float.")
    size = max(window * 2, 20)
    cases = [
        call_case(name, dna(rng, rng.randint(size, size + 15))),
        call_case(name, mixed_case(rng, dna(rng, size, "AAAC"))),
        call_case(name, ""),
        call_case(name, "A" * size),
        call_case(name, dna(rng, size // 2) + "NN--" + dna(rng, size // 2)),
        call_case(name, dna(rng, max(1, window - 1) if window else 3)),
    ]
    params = {"base": base, "window": window, "step": step, "acgt_only": acgt_only, "normalise": normalise}
    return bind_variant(name, "seq: str", "list[float]" if window else "float", "seq", _sequence_entropy, dict(params), "\n".join(lines),
                 cases, params)


# == 11. restriction digest (test) =============================================================


def _restriction_digest(seq: str, site: str, cut: int, circular: bool, output: str) -> list:
    from itertools import pairwise

    s = seq.upper()
    n = len(s)
    if n == 0:
        return []
    size = len(site)
    if circular:
        text = s + s[:size - 1]
        cuts = sorted({(i + cut) % n for i in range(n) if text[i:i + size] == site})
    else:
        cuts = sorted({i + cut for i in range(n - size + 1) if s[i:i + size] == site})
    if output == "cuts":
        return cuts
    if not cuts:
        pieces = [n]
    elif circular:
        pieces = [b - a for a, b in pairwise(cuts)] + [n - cuts[-1] + cuts[0]]
    else:
        edges = [0, *cuts, n]
        pieces = [b - a for a, b in pairwise(edges)]
    return sorted(pieces, reverse=True) if output == "sorted_fragments" else pieces


def draw_restriction_digest(rng: random.Random) -> Variant:
    enzyme = rng.choice(sorted(ENZYMES))
    site, cut = ENZYMES[enzyme]
    circular = rng.random() < 0.5
    output = rng.choice(("cuts", "fragments", "sorted_fragments"))
    name = pick(rng, ("digest", "restriction_digest", f"{enzyme.lower()}_digest"))
    shape = ("circular (the sequence's end joins its start, so a site may span the junction)" if circular
             else "linear")
    lines = [
        (f"Simulate digesting a {shape} DNA molecule (given as a case-insensitive string) with {enzyme}, which"
        f" recognises {site} and cuts the top strand between {site[:cut]} and {site[cut:]} ({site[:cut]}^{site[cut:]})."),
        "- A cut position is the 0-based index of the first base after the cut on the given strand"
        + (" (taken modulo the length for sites spanning the junction)" if circular else "") + ".",
        "- The site is palindromic, so searching the given strand finds every site; sites may overlap.",
    ]
    if output == "cuts":
        lines.append("- Return the sorted list of distinct cut positions (ints); no site: [].")
    else:
        order = ("from the start of the sequence" if not circular else
                 "starting with the fragment that begins at the smallest cut position and going around")
        arrangement = ("in decreasing order of length" if output == "sorted_fragments" else f"in order {order}")
        whole = "[length of the sequence]" + (" (the uncut circle)" if circular else "")
        lines.append(f"- Return the fragment lengths (ints) {arrangement}; with no site, {whole}.")
    lines.append("- An empty sequence returns [].")
    body = dna(rng, rng.randint(30, 60))
    twice = plant(rng, plant(rng, body, site), site)
    junction = site[size_half(site):] + dna(rng, rng.randint(15, 30)) + site[:size_half(site)]
    cases = [
        call_case(name, twice),
        call_case(name, mixed_case(rng, plant(rng, dna(rng, 40), site))),
        call_case(name, dna(rng, 25, "AT")),
        call_case(name, junction),
        call_case(name, ""),
        call_case(name, dna(rng, 6) + site + site + dna(rng, 6)),
    ]
    params = {"enzyme": enzyme, "circular": circular, "output": output}
    return bind_variant(name, "seq: str", "list[int]", "seq", _restriction_digest,
                 {"site": site, "cut": cut, "circular": circular, "output": output}, "\n".join(lines), cases, params)


def size_half(site: str) -> int:
    return len(site) // 2


# == 12. CpG observed/expected (test) ==========================================================


def _cpg_windows(seq: str, window: int, step: int, output: str, min_gc: float, min_ratio: float) -> list:
    s = seq.upper()
    starts = list(range(0, len(s) - window + 1, step))
    ratios, passing = [], []
    for start in starts:
        chunk = s[start:start + window]
        c, g = chunk.count("C"), chunk.count("G")
        cg = sum(1 for j in range(window - 1) if chunk[j:j + 2] == "CG")
        ratio = cg * window / (c * g) if c * g else 0.0
        ratios.append(ratio)
        if (c + g) / window >= min_gc and ratio >= min_ratio:
            passing.append((start, start + window))
    if output == "ratios":
        return ratios
    merged = []
    for begin, end in passing:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def draw_cpg_windows(rng: random.Random) -> Variant:
    window = rng.randint(8, 30)
    step = rng.choice(sorted({1, max(1, window // 2), window, rng.randint(1, window)}))
    output = rng.choice(("ratios", "islands"))
    min_gc = rng.choice((0.5, 0.55, 0.6)) if output == "islands" else 0.0
    min_ratio = rng.choice((0.6, 0.65, 0.75)) if output == "islands" else 0.0
    name = pick(rng, ("cpg_windows", "cpg_scan", "find_cpg_islands" if output == "islands" else "cpg_ratio"))
    lines = [
        (f"Scan a DNA sequence (case-insensitive) for CpG enrichment in windows of {window} bases starting at 0,"
        f" {step}, {2 * step}, ...; only complete windows."),
        ("- In a window of length L with c C's, g G's and n CG dinucleotides (positions j with the window's"
        " bases j, j+1 = C, G; both inside the window), the observed/expected CpG ratio is n * L / (c * g),"
        " 0.0 when c * g = 0."),
    ]
    if output == "ratios":
        lines.append("- Return the list of ratios (floats) in window order; no window: [].")
    else:
        lines += [
            f"- A window passes when its GC fraction (c + g) / L >= {min_gc} and its ratio >= {min_ratio}.",
            ("- Merge passing windows that overlap or touch (next start <= current end) into islands and return"
            " them as a list of (start, end) tuples, 0-based half-open, in order; none: []."),
        ]
    island = dna(rng, window + 4, "CGCGGCA")
    cases = [
        call_case(name, dna(rng, 10) + island + dna(rng, window, "AT") + dna(rng, 10)),
        call_case(name, mixed_case(rng, dna(rng, window * 3))),
        call_case(name, dna(rng, window - 1, "CG")),
        call_case(name, ""),
        call_case(name, dna(rng, window * 2, "AT")),
        call_case(name, dna(rng, window, "AT") + "CG" * window + dna(rng, 5) + "CG" * (window // 2 + 1)),
        call_case(name, dna(rng, window * 4, "ACGTCG")),
    ]
    params = {"window": window, "step": step, "output": output, "min_gc": min_gc, "min_ratio": min_ratio}
    return bind_variant(name, "seq: str", "list[float]" if output == "ratios" else "list[tuple[int, int]]", "seq", _cpg_windows, dict(params), "\n".join(lines), cases, params)


# == 13. homopolymer runs (test) ===============================================================


def _homopolymer_runs(seq: str, min_length: int, soft_masked_breaks: bool, include_n: bool,
                      output: str) -> list | dict:
    letters = "ACGTN" if include_n else "ACGT"
    runs = []
    i = 0
    while i < len(seq):
        ch = seq[i]
        base = ch if soft_masked_breaks else ch.upper()
        j = i + 1
        while j < len(seq) and (seq[j] if soft_masked_breaks else seq[j].upper()) == base:
            j += 1
        if base in letters and j - i >= min_length:
            runs.append((i, j - i, base))
        i = j
    if output == "runs":
        return runs
    summary = {b: 0 for b in letters}
    for _, length, base in runs:
        summary[base] = max(summary[base], length) if output == "longest" else summary[base] + 1
    return summary


def draw_homopolymer_runs(rng: random.Random) -> Variant:
    min_length = rng.randint(2, 8)
    soft = rng.random() < 0.5
    include_n = rng.random() < 0.5
    output = rng.choice(("runs", "longest", "count"))
    name = pick(rng, ("homopolymer_runs", "find_homopolymers", "base_runs"))
    letters = "A, C, G, T" + (" and N" if include_n else "")
    lines = [
        "Find homopolymer runs (maximal stretches of one repeated base) in a DNA sequence.",
        f"- Runs of {letters} count; runs of any other character are ignored (but still end neighbouring runs).",
        ("- Lowercase letters are soft-masked: a lowercase letter is not a base and breaks runs (a run of"
         " lowercase letters never counts)." if soft else
         "- Case is ignored: 'a' and 'A' are the same base, and bases are reported in uppercase."),
        f"- Only runs of length >= {min_length} are kept.",
    ]
    if output == "runs":
        lines.append("- Return a list of (start, length, base) tuples in order of start (0-based start, base as one"
                     " uppercase letter); none: [].")
    else:
        what = "the length of its longest kept run" if output == "longest" else "the number of kept runs"
        lines.append(f"- Return a dict with one key per counted base ({letters}, in that order) mapping to {what};"
                     " 0 when it has none.")

    def runs_text(n: int) -> str:
        return "".join(rng.choice(BASES) * rng.randint(1, min_length + 2) for _ in range(n))

    cases = [
        call_case(name, runs_text(10)),
        call_case(name, mixed_case(rng, runs_text(8))),
        call_case(name, ""),
        call_case(name, "N" * (min_length + 1) + runs_text(4) + "-" * (min_length + 2)),
        call_case(name, "A" * min_length + "a" * 2 + "A" * (min_length - 1) + "C" * (min_length - 1)),
        call_case(name, dna(rng, 20)),
    ]
    params = {"min_length": min_length, "soft_masked_breaks": soft, "include_n": include_n, "output": output}
    return bind_variant(name, "seq: str", "list[tuple[int, int, str]]" if output == "runs" else "dict[str, int]", "seq",
                 _homopolymer_runs, dict(params), "\n".join(lines), cases,
                 params)


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("reverse_complement", "train", draw_reverse_complement, "Reverse complement with IUPAC codes"),
    FunctionTemplate("translate", "train", draw_translate, "Translation with NCBI codon tables"),
    FunctionTemplate("open_reading_frames", "train", draw_orfs, "Open reading frames"),
    FunctionTemplate("kmer_counts", "train", draw_kmer_counts, "k-mer counting"),
    FunctionTemplate("gc_windows", "train", draw_gc_windows, "Sliding-window GC content"),
    FunctionTemplate("gc_skew", "train", draw_gc_skew, "GC skew"),
    FunctionTemplate("motif_positions", "train", draw_motif_positions, "Motif search with mismatches"),
    FunctionTemplate("codon_usage", "train", draw_codon_usage, "Codon usage and RSCU"),
    FunctionTemplate("melting_temperature", "train", draw_melting_temperature, "Primer melting temperature"),
    FunctionTemplate("sequence_entropy", "train", draw_sequence_entropy, "Shannon entropy of composition"),
    FunctionTemplate("restriction_digest", "test", draw_restriction_digest, "Restriction digest"),
    FunctionTemplate("cpg_windows", "test", draw_cpg_windows, "CpG observed/expected and islands"),
    FunctionTemplate("homopolymer_runs", "test", draw_homopolymer_runs, "Homopolymer runs"),
)
