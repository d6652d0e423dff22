"""biocoder family ``file_formats``: parse, filter, convert and summarise FASTA, FASTQ, GFF3, VCF,
SAM and BED files.

Every case's ``setup`` writes the input file into ``workdir`` and its ``expr`` calls the function
on that path (or on plain values for the writers). The drawn parameters are the conventions a
parser must get right (the Phred offset, a quality threshold and whether it is inclusive, which
records to keep, how duplicates or missing values behave, the output layout), so two variants
with different parameters are different functions; the inputs mix in what real files contain and
naive parsers trip on: blank lines, comment lines, CRLF line ends, lowercase bases, a quality line
starting with ``@``, percent-escaped GFF3 values, truncated VCF sample fields, MAPQ 255.

References are source text (module-level constants, then the function) so the oracle can run them
in the sandbox exactly as an agent's submission is run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from medagentgym.catalog.sample import TestCase
from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.datasets.biocoder.spec import constants_source as _source

BASES = "ACGT"
#: Tolerances of float-valued cases: equal up to summation order.
FLOAT_TOL = {"rel_tol": 1e-9, "abs_tol": 1e-9}


# -- shared helpers --------------------------------------------------------------------------


def _file_case(call: str, filename: str, text: str, *, label: str = "", **tol: float) -> TestCase:
    """A case that writes ``text`` to ``workdir/filename`` and evaluates ``call(path)``."""
    setup = (
        "import os\n"
        f"path = os.path.join(workdir, {filename!r})\n"
        "with open(path, 'w', newline='') as handle:\n"
        f"    handle.write({text!r})\n"
    )
    name = f"{call}({filename}{', ' + label if label else ''})"
    return TestCase(name=name, setup=setup, expr=f"{call}(path)", **tol)


def _dna(rng: random.Random, n: int, alphabet: str = BASES) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _read_name(rng: random.Random, i: int) -> str:
    return f"{rng.choice(('read', 'r', 'SRR', 'M0'))}{rng.randint(100, 999)}_{i}"


def _quals_with_sum(rng: random.Random, n: int, total: int, *, lo: int = 2, hi: int = 41, first: int | None = None) -> list[int]:
    """``n`` Phred scores in [lo, hi] summing to ``total`` (clamped to what is feasible),
    optionally with a fixed first score."""
    q = [lo] * n
    free = list(range(n))
    if first is not None and n:
        q[0] = first
        free = free[1:]
    total = max(sum(q), min(total, sum(q) + (hi - lo) * len(free)))
    remaining = total - sum(q)
    while remaining > 0:
        i = rng.choice(free)
        if q[i] < hi:
            step = min(remaining, hi - q[i], rng.randint(1, 6))
            q[i] += step
            remaining -= step
    return q


def _qual_text(quals: Sequence[int], offset: int) -> str:
    return "".join(chr(offset + q) for q in quals)


def _fastq(records: Sequence[tuple[str, str, str]], *, plus_header: bool = False, eol: str = "\n", blank_every: int = 0) -> str:
    out = []
    for i, (header, seq, qual) in enumerate(records):
        out.append(f"@{header}{eol}{seq}{eol}+{header if plus_header else ''}{eol}{qual}{eol}")
        if blank_every and i % blank_every == blank_every - 1:
            out.append(eol)
    return "".join(out)


# -- FASTQ: mean-quality filter --------------------------------------------------------------

_FASTQ_RULES = (
    "The file is FASTQ: each record is four lines (an '@' header line, the sequence line, a '+' line "
    "that may repeat the header, the quality line of the same length as the sequence). Lines end "
    "with '\\n' or '\\r\\n'; blank (empty or whitespace-only) lines may appear between records and "
    "carry no data. A quality line may itself start with '@'. "
)


def _draw_fastq_filter(rng: random.Random) -> Variant:
    offset = rng.choice((33, 64))
    threshold = rng.randint(10, 35)
    inclusive = rng.choice((True, False))
    full_header = rng.choice((True, False))
    name = "filter_fastq_by_mean_quality"
    ident = (
        "the whole header line after '@' with trailing whitespace removed"
        if full_header
        else "the header text after '@' up to the first whitespace"
    )
    spec = (
        f"Filter the reads of the FASTQ file at `path` by mean base quality. {_FASTQ_RULES}"
        f"Qualities are Phred+{offset}: the score of a character c is ord(c) - {offset}. A read is kept "
        f"when the arithmetic mean of its scores is {'at least' if inclusive else 'strictly greater than'} "
        f"{threshold} (no rounding). Return the identifiers of the kept reads as a list of str, in file "
        f"order; a read's identifier is {ident}. An empty file gives []."
    )
    reference = _source(
        {"OFFSET": offset, "THRESHOLD": threshold, "INCLUSIVE": inclusive, "FULL_HEADER": full_header},
        r'''
        def filter_fastq_by_mean_quality(path):
            with open(path) as handle:
                lines = [line.rstrip("\r\n") for line in handle if line.strip()]
            kept = []
            for i in range(0, len(lines) - 3, 4):
                header, seq, _, qual = lines[i : i + 4]
                scores = [ord(c) - OFFSET for c in qual]
                mean = sum(scores) / len(scores)
                if mean >= THRESHOLD if INCLUSIVE else mean > THRESHOLD:
                    text = header[1:].rstrip()
                    kept.append(text if FULL_HEADER else text.split()[0])
            return kept
        ''',
    )

    def read(i: int, mean_num: int, mean_den: int = 1, first: int | None = None) -> tuple[str, str, str]:
        length = rng.randint(12, 30) * mean_den
        quals = _quals_with_sum(rng, length, length * mean_num // mean_den, first=first)
        header = _read_name(rng, i) + (f" length={length} lane={rng.randint(1, 8)}" if rng.random() < 0.6 else "")
        return header, _dna(rng, length), _qual_text(quals, offset)

    at_score = 64 - offset  # the score whose character is '@'
    main = [
        read(0, threshold, first=at_score if offset == 33 else None),
        read(1, threshold - rng.randint(1, 6)),
        read(2, threshold + rng.randint(1, 6)),
        read(3, 2 * threshold + 1, 2),  # mean threshold + 0.5
        read(4, 2 * threshold - 1, 2),  # mean threshold - 0.5
        read(5, threshold + 1),
        read(6, threshold - 1),
    ]
    rng.shuffle(main)
    messy = [read(10 + i, threshold + rng.choice((-3, -1, 0, 1, 4))) for i in range(5)]
    messy.append(read(20, threshold + 2, first=0 if offset == 64 else None))
    single = [read(30, threshold)]
    low = [read(40 + i, max(2, threshold - rng.randint(2, 8))) for i in range(3)]
    cases = (
        _file_case(name, "reads.fq", _fastq(main)),
        _file_case(name, "messy.fq", _fastq(messy, plus_header=True, eol="\r\n", blank_every=2), label="blank lines, CRLF"),
        _file_case(name, "single.fq", _fastq(single), label="one read"),
        _file_case(name, "low.fq", "\n" + _fastq(low) + "\n\n", label="all low"),
        _file_case(name, "empty.fq", ""),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> list[str]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"offset": offset, "threshold": threshold, "inclusive": inclusive, "full_header": full_header},
    )


# -- FASTQ: per-position quality -------------------------------------------------------------

_STAT_WORDS = {
    "mean": "the arithmetic mean",
    "median": "the median (the mean of the two middle values for an even count)",
    "min": "the minimum",
    "max": "the maximum",
}


def _draw_position_quality(rng: random.Random) -> Variant:
    offset = rng.choice((33, 64))
    stat = rng.choice(tuple(_STAT_WORDS))
    ignore_n = rng.choice((True, False))
    positions = rng.randint(5, 30)
    name = "quality_by_position"
    n_rule = (
        "A base called 'N' or 'n' does not contribute its score. "
        if ignore_n
        else "Every base contributes its score, whatever its letter. "
    )
    spec = (
        f"Summarise the base qualities of the FASTQ file at `path` by position. {_FASTQ_RULES}"
        f"Qualities are Phred+{offset} (score = ord(c) - {offset}). For each of the first {positions} "
        f"positions (position 1 is a read's first base) compute {_STAT_WORDS[stat]} of the scores of the "
        f"reads long enough to have a base there. {n_rule}Return a list of exactly {positions} items, "
        "item i for position i + 1: a float, or None when no score contributes to that position."
    )
    reference = _source(
        {"OFFSET": offset, "STAT": stat, "IGNORE_N": ignore_n, "POSITIONS": positions},
        r'''
        import statistics


        def quality_by_position(path):
            with open(path) as handle:
                lines = [line.rstrip("\r\n") for line in handle if line.strip()]
            columns = [[] for _ in range(POSITIONS)]
            for i in range(0, len(lines) - 3, 4):
                seq, qual = lines[i + 1], lines[i + 3]
                for pos, (base, char) in enumerate(zip(seq, qual)):
                    if pos >= POSITIONS or (IGNORE_N and base in "Nn"):
                        continue
                    columns[pos].append(ord(char) - OFFSET)
            summary = {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max}[STAT]
            return [float(summary(col)) if col else None for col in columns]
        ''',
    )

    def reads(count: int, lo_len: int, hi_len: int, n_rate: float) -> list[tuple[str, str, str]]:
        out = []
        for i in range(count):
            length = rng.randint(lo_len, hi_len)
            seq = "".join(rng.choice("Nn") if rng.random() < n_rate else rng.choice(BASES) for _ in range(length))
            quals = [2 if b in "Nn" and rng.random() < 0.7 else rng.randint(10, 41) for b in seq]
            out.append((_read_name(rng, i), seq, _qual_text(quals, offset)))
        return out

    varied = reads(6, max(3, positions - 4), positions + 6, 0.15)
    short = reads(3, 2, max(3, positions // 2), 0.2)
    even = reads(4, positions, positions + 2, 0.1)
    cases = (
        _file_case(name, "varied.fq", _fastq(varied)),
        _file_case(name, "short.fq", _fastq(short, eol="\r\n", blank_every=1), label="short reads"),
        _file_case(name, "even.fq", _fastq(even, plus_header=True), label="four reads"),
        _file_case(name, "one.fq", _fastq(reads(1, positions - 2, positions + 3, 0.3)), label="one read"),
        _file_case(name, "empty.fq", "\n"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> list[float | None]",
        spec=spec,
        reference=reference,
        cases=tuple(c.model_copy(update=FLOAT_TOL) for c in cases),
        params={"offset": offset, "stat": stat, "ignore_n": ignore_n, "positions": positions},
    )


# -- FASTQ: 3' quality trimming --------------------------------------------------------------


def _draw_fastq_trim(rng: random.Random) -> Variant:
    offset = rng.choice((33, 64))
    cutoff = rng.randint(5, 30)
    algorithm = rng.choice(("trailing", "running_sum"))
    min_len = rng.choice((1, 5, 10, 15, 20))
    name = "trim_fastq_3prime"
    rule = (
        f"remove bases from the 3' end one at a time while the last remaining base has a score below "
        f"{cutoff}"
        if algorithm == "trailing"
        else (
            f"keep the prefix of length x (0 <= x <= L, L the read length) that maximises "
            f"S(x) = sum of ({cutoff} - q[i]) over the positions i >= x (0-based, q the scores; S(L) = 0); "
            "when several x reach the maximum take the largest"
        )
    )
    spec = (
        f"Quality-trim the 3' ends of the reads of the FASTQ file at `path`. {_FASTQ_RULES}"
        f"Qualities are Phred+{offset} (score = ord(c) - {offset}). For each read, {rule}; the quality "
        f"string is cut at the same place. Keep the reads whose trimmed length is at least {min_len}. "
        "Return a list of (identifier, trimmed sequence, trimmed quality string) tuples in file order; "
        "the identifier is the header text after '@' up to the first whitespace. Sequences keep their "
        "letters as written (no case change)."
    )
    reference = _source(
        {"OFFSET": offset, "CUTOFF": cutoff, "ALGORITHM": algorithm, "MIN_LEN": min_len},
        r'''
        def trim_fastq_3prime(path):
            with open(path) as handle:
                lines = [line.rstrip("\r\n") for line in handle if line.strip()]
            out = []
            for i in range(0, len(lines) - 3, 4):
                header, seq, _, qual = lines[i : i + 4]
                scores = [ord(c) - OFFSET for c in qual]
                if ALGORITHM == "trailing":
                    keep = len(scores)
                    while keep > 0 and scores[keep - 1] < CUTOFF:
                        keep -= 1
                else:
                    best, keep, running = 0, len(scores), 0
                    for x in range(len(scores) - 1, -1, -1):
                        running += CUTOFF - scores[x]
                        if running > best:
                            best, keep = running, x
                if keep >= MIN_LEN:
                    out.append((header[1:].split()[0], seq[:keep], qual[:keep]))
            return out
        ''',
    )

    def read(i: int, core: int, tail: list[int]) -> tuple[str, str, str]:
        quals = [rng.randint(cutoff + 1, 41) for _ in range(core)] + tail
        seq = "".join(rng.choice("ACGTacgtN" if rng.random() < 0.2 else BASES) for _ in quals)
        header = _read_name(rng, i) + (" 1:N:0:1" if rng.random() < 0.5 else "")
        return header, seq, _qual_text(quals, offset)

    def low() -> int:  # a score below the cutoff
        return rng.randint(max(0, cutoff - 8), cutoff - 1)

    def high() -> int:  # a score at or above it
        return rng.randint(cutoff, min(41, cutoff + 12))

    mixed = [
        read(0, rng.randint(15, 25), [low() for _ in range(rng.randint(2, 6))]),
        read(1, rng.randint(15, 25), [low(), low(), cutoff + rng.randint(1, 3), low(), low(), low()]),
        read(2, rng.randint(15, 25), []),
        read(3, rng.randint(15, 25), [cutoff, low(), cutoff, low(), low()]),
        read(4, rng.randint(min_len, min_len + 3), [low(), high(), low(), low(), low(), low()]),
        read(5, 0, [low() for _ in range(8)]),
        read(6, max(0, min_len - 2), [low(), low()]),
        read(7, min_len, [low(), low(), low()]),
    ]
    rng.shuffle(mixed)
    cases = (
        _file_case(name, "reads.fq", _fastq(mixed[:5])),
        _file_case(name, "more.fq", _fastq(mixed[5:], eol="\r\n", blank_every=1, plus_header=True), label="CRLF"),
        _file_case(name, "dips.fq", _fastq([read(8, rng.randint(20, 30), [low(), high(), low(), high(), low(), low()]) for _ in range(3)])),
        _file_case(name, "empty.fq", ""),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> list[tuple[str, str, str]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"offset": offset, "cutoff": cutoff, "algorithm": algorithm, "min_len": min_len},
    )


# -- FASTA: parse into a dict ----------------------------------------------------------------

_DUP_WORDS = {
    "first": "the first record with that key is kept and later ones are ignored",
    "last": "the last record with that key wins",
    "concatenate": "their sequences are concatenated in file order under that key",
}
_CASE_WORDS = {"keep": "keep letters as written", "upper": "convert to upper case", "lower": "convert to lower case"}
_REMOVE_WORDS = {
    "": "keep every other character",
    "-": "remove gap characters '-'",
    "-.*": "remove the characters '-', '.' and '*'",
}


def _draw_fasta_parse(rng: random.Random) -> Variant:
    full_header = rng.choice((True, False))
    case = rng.choice(tuple(_CASE_WORDS))
    duplicates = rng.choice(tuple(_DUP_WORDS))
    remove = rng.choice(tuple(_REMOVE_WORDS))
    name = "read_fasta"
    key = (
        "the whole header line after '>' with surrounding whitespace removed"
        if full_header
        else "the header text after '>' up to the first whitespace"
    )
    spec = (
        "Parse the FASTA file at `path` into a dict mapping each record's key to its sequence. A record "
        "starts at a line beginning with '>' and its sequence is the concatenation of the following "
        "lines up to the next header (sequences may be wrapped at any width). Lines end with '\\n' or "
        "'\\r\\n'. Ignore blank lines, lines starting with ';' (comments) and anything before the first "
        f"header. The key is {key}. In sequence lines remove all whitespace, {_REMOVE_WORDS[remove]}, and "
        f"{_CASE_WORDS[case]}. A record without sequence lines maps to ''. When several records have the "
        f"same key, {_DUP_WORDS[duplicates]}. Return a dict (str -> str); an empty file gives {{}}."
    )
    reference = _source(
        {"FULL_HEADER": full_header, "CASE": case, "DUPLICATES": duplicates, "REMOVE": remove},
        r'''
        def read_fasta(path):
            records = []
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if not line.strip() or line.startswith(";"):
                        continue
                    if line.startswith(">"):
                        text = line[1:].strip()
                        records.append([text if FULL_HEADER else (text.split() or [""])[0], []])
                    elif records:
                        records[-1][1].append(line)
            out = {}
            for key, parts in records:
                seq = "".join("".join(parts).split())
                seq = "".join(c for c in seq if c not in REMOVE)
                seq = {"keep": seq, "upper": seq.upper(), "lower": seq.lower()}[CASE]
                if key not in out:
                    out[key] = seq
                elif DUPLICATES == "last":
                    out[key] = seq
                elif DUPLICATES == "concatenate":
                    out[key] += seq
            return out
        ''',
    )

    def record(ident: str, desc: str, length: int, width: int, eol: str = "\n") -> str:
        alphabet = "ACGTacgt-.*N " if rng.random() < 0.7 else "ACGT"
        seq = _dna(rng, length, alphabet)
        lines = [seq[i : i + width] for i in range(0, len(seq), width)]
        return f">{ident}{(' ' + desc) if desc else ''}{eol}" + "".join(line + eol for line in lines)

    ids = [f"{rng.choice(('seq', 'contig', 'chr', 'gene'))}{rng.randint(1, 99)}_{i}" for i in range(6)]
    main = "".join(record(ids[i], rng.choice(("", "desc", f"len={i}")), rng.randint(5, 40), rng.randint(6, 15)) for i in range(4))
    dups = (
        record(ids[4], "first copy", rng.randint(4, 12), 60)
        + "; a comment line\n"
        + record(ids[5], "", rng.randint(4, 12), 5)
        + "\n\n"
        + record(ids[4], "first copy", rng.randint(4, 12), 7)
        + record(ids[4], "second copy", rng.randint(4, 12), 7)
    )
    messy = (
        "preamble text that is not a record\n; comment\n"
        + record(ids[0], "x y", rng.randint(8, 20), 6, "\r\n")
        + "\r\n"
        + f">{ids[1]}\r\n"
        + record(ids[2], "", rng.randint(8, 20), 4, "\r\n")
    )
    cases = (
        _file_case(name, "seqs.fa", main),
        _file_case(name, "dups.fa", dups, label="duplicates, comments"),
        _file_case(name, "messy.fa", messy, label="preamble, CRLF, empty record"),
        _file_case(name, "empty.fa", "\n"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> dict[str, str]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"full_header": full_header, "case": case, "duplicates": duplicates, "remove": remove},
    )


# -- FASTA: format records -------------------------------------------------------------------


def _draw_fasta_format(rng: random.Random) -> Variant:
    width = rng.randint(10, 80)
    case = rng.choice(tuple(_CASE_WORDS))
    skip_empty = rng.choice((True, False))
    name = "format_fasta"
    empty_rule = (
        "a record whose cleaned sequence is empty is left out entirely"
        if skip_empty
        else "a record whose cleaned sequence is empty is written as its header line alone"
    )
    spec = (
        "Format `records`, a list of (header, sequence) pairs, as FASTA text. For each record write a "
        "header line: '>' followed by the header with its surrounding whitespace removed and then its "
        "leading '>' characters removed. Then write the sequence, with all whitespace removed and letters "
        f"{'kept as written' if case == 'keep' else 'converted to ' + case + ' case'}, in lines of exactly "
        f"{width} characters (the last line may be shorter; no empty sequence line). Every line, the last "
        f"one included, ends with '\\n'; {empty_rule}. Return the text as one str (no records: '')."
    )
    reference = _source(
        {"WIDTH": width, "CASE": case, "SKIP_EMPTY": skip_empty},
        r'''
        def format_fasta(records):
            out = []
            for header, sequence in records:
                seq = "".join(sequence.split())
                seq = {"keep": seq, "upper": seq.upper(), "lower": seq.lower()}[CASE]
                if not seq and SKIP_EMPTY:
                    continue
                out.append(">" + header.strip().lstrip(">") + "\n")
                for start in range(0, len(seq), WIDTH):
                    out.append(seq[start : start + WIDTH] + "\n")
            return "".join(out)
        ''',
    )

    def records(count: int) -> list[tuple[str, str]]:
        out = []
        for i in range(count):
            length = rng.choice((rng.randint(1, 3 * width), width, 2 * width, width + 1, width - 1))
            seq = _dna(rng, length, "ACGTacgtN")
            if rng.random() < 0.3:
                cut = rng.randint(0, len(seq))
                seq = seq[:cut] + rng.choice((" ", "\n", "\t")) + seq[cut:]
            header = f"{rng.choice(('', ' ', '>'))}seq{i} {rng.choice(('', 'sample=A', 'len=' + str(length)))}"
            out.append((header, seq))
        return out

    exact = [(f"exact{i}", _dna(rng, k * width)) for i, k in enumerate((1, 2))]
    with_empty = [*records(2), ("empty", ""), ("blank", " \n ")]
    cases = [
        TestCase(name=f"{name}(4 records)", expr=f"{name}({records(4)!r})"),
        TestCase(name=f"{name}(exact multiples of the width)", expr=f"{name}({exact!r})"),
        TestCase(name=f"{name}(with empty sequences)", expr=f"{name}({with_empty!r})"),
        TestCase(name=f"{name}(one short record)", expr=f"{name}({[('>>short', _dna(rng, rng.randint(1, width - 1), 'acgt'))]!r})"),
        TestCase(name=f"{name}([])", expr=f"{name}([])"),
    ]
    return Variant(
        name=name,
        signature=f"def {name}(records: list[tuple[str, str]]) -> str",
        spec=spec,
        reference=reference,
        cases=tuple(cases),
        params={"width": width, "case": case, "skip_empty": skip_empty},
    )


# -- GFF3 ------------------------------------------------------------------------------------

_GFF_TYPES = ("gene", "mRNA", "exon", "CDS")
_GFF_RULES = (
    "The file is GFF3: tab-separated lines of nine columns (seqid, source, type, start, end, score, "
    "strand, phase, attributes), 1-based closed coordinates. Ignore blank lines and lines starting "
    "with '#'; the line '##FASTA' ends the annotation (everything after it is sequence data and is "
    "ignored). Attributes are 'key=value' pairs separated by ';' (a trailing ';' may appear); keys are "
    "case-sensitive. "
)


def _gff_escape(text: str) -> str:
    return text.replace("%", "%25").replace(";", "%3B").replace("=", "%3D").replace("&", "%26").replace(",", "%2C")


def _gff_file(rng: random.Random, n_genes: int, *, fasta: bool, blank: bool) -> str:
    """A small GFF3 annotation: genes with mRNAs, exons and CDSs, attributes in varied order,
    some percent-escaped values, multi-parent exons, comments, optionally a FASTA section."""
    lines = ["##gff-version 3"]
    seqids = [f"chr{rng.randint(1, 22)}", f"scaffold_{rng.randint(1, 50)}"]
    for s in seqids:
        lines.append(f"##sequence-region {s} 1 {rng.randint(20000, 90000)}")
    notes = ("putative kinase; partial", "a=b test", "50% GC", "similar to X, Y", "tRNA & rRNA", "plain note")
    for g in range(n_genes):
        seqid = rng.choice(seqids)
        source = rng.choice(("ensembl", "havana", "RefSeq", "."))
        strand = rng.choice("+-")
        start = rng.randint(1, 15000)
        gene_end = start + rng.randint(300, 4000)
        gene_id = f"gene{g}_{rng.randint(10, 99)}"
        gene_attrs = [f"ID={gene_id}"]
        if rng.random() < 0.7:
            gene_attrs.append(f"Name={_gff_escape(rng.choice(('BRCA', 'TP', 'KRAS', 'ab;c', 'x=y')) + str(g))}")
        if rng.random() < 0.5:
            gene_attrs.append(f"Note={_gff_escape(rng.choice(notes))}")
        rng.shuffle(gene_attrs)
        score = rng.choice((".", str(rng.randint(0, 1000))))
        lines.append("\t".join((seqid, source, "gene", str(start), str(gene_end), score, strand, ".", ";".join(gene_attrs) + rng.choice(("", ";")))))
        mrnas = [f"{gene_id}.t{t}" for t in range(rng.randint(1, 2))]
        for tid in mrnas:
            attrs = [f"ID={tid}", f"Parent={gene_id}"]
            if rng.random() < 0.4:
                attrs.append(f"Name={tid.upper()}")
            rng.shuffle(attrs)
            lines.append("\t".join((seqid, source, "mRNA", str(start), str(gene_end), ".", strand, ".", ";".join(attrs))))
        pos = start
        for e in range(rng.randint(1, 3)):
            e_start = pos + rng.randint(0, 200)
            e_end = min(gene_end, e_start + rng.randint(50, 600))
            pos = e_end + rng.randint(-40, 150)  # exons may overlap a little
            parents = mrnas if rng.random() < 0.5 else mrnas[:1]
            attrs = [f"Parent={','.join(parents)}"]
            if rng.random() < 0.5:
                attrs.append(f"ID=exon{g}_{e}")
            if rng.random() < 0.3:
                attrs.append(f"Note={_gff_escape(rng.choice(notes))}")
            if rng.random() < 0.3:
                attrs.append(f"Name={_gff_escape(rng.choice(('ex', 'e;x', 'x,y')))}{e}")
            rng.shuffle(attrs)
            lines.append("\t".join((seqid, source, "exon", str(e_start), str(e_end), ".", strand, ".", ";".join(attrs))))
            if rng.random() < 0.6:
                c_end = max(e_start, e_end - rng.randint(0, 40))
                attrs = [f"Parent={','.join(parents)}"] + ([f"ID=cds{g}"] if rng.random() < 0.6 else [])
                if rng.random() < 0.4:
                    attrs.append(f"Name={_gff_escape(rng.choice(('CDS', 'cds%', 'p=1')))}{g}")
                rng.shuffle(attrs)
                lines.append("\t".join((seqid, source, "CDS", str(e_start), str(c_end), ".", strand, str(rng.randint(0, 2)), ";".join(attrs))))
        if rng.random() < 0.4:
            lines.append(f"# end of {gene_id}")
        if blank and rng.random() < 0.4:
            lines.append("")
    if fasta:
        lines.append("##FASTA")
        lines.append(f">{seqids[0]}")
        lines.append(_dna(rng, 60))
    return "\n".join(lines) + "\n"


def _gff_overlaps(rng: random.Random) -> str:
    """Pairs of overlapping features of every type on both strands, with a contained one: the
    file on which a union of bases and a plain sum of lengths differ for every grouping."""
    lines = ["##gff-version 3"]
    for k, feature in enumerate(_GFF_TYPES):
        for strand in "+-":
            seqid = rng.choice(("chrA", "chrB"))
            source = rng.choice(("ensembl", "RefSeq"))
            start = rng.randint(1, 5000)
            first_end = start + rng.randint(100, 400)
            second_start = rng.randint(start + 10, first_end - 10)
            spans = [(start, first_end), (second_start, first_end + rng.randint(20, 300))]
            if rng.random() < 0.5:
                spans.append((start + 5, start + 5 + rng.randint(1, 4)))  # contained in the first
            for j, (a, b) in enumerate(spans):
                attrs = f"ID={feature}{k}{strand}{j};Parent=p{k}"
                lines.append("\t".join((seqid, source, feature, str(a), str(b), ".", strand, ".", attrs)))
    return "\n".join(lines) + "\n"


#: The attributes asked per feature type: the ones the generated files carry for that type
#: (sometimes absent), so no variant's answer is empty on every file.
_GFF_ASKED = {
    "gene": ("ID", "Name", "Note"),
    "mRNA": ("ID", "Parent", "Name"),
    "exon": ("Parent", "ID", "Note", "Name"),
    "CDS": ("Parent", "ID", "Name"),
}


def _draw_gff_attribute(rng: random.Random) -> Variant:
    feature = rng.choice(_GFF_TYPES)
    attribute = rng.choice(_GFF_ASKED[feature])
    skip_missing = rng.choice((True, False))
    split_values = rng.choice((True, False))
    name = "gff3_attribute_values"
    value_rule = (
        "a list of str: the raw value split at ',' and then each part percent-decoded"
        if split_values
        else "a str: the whole raw value, percent-decoded (commas kept)"
    )
    missing_rule = (
        f"features without the '{attribute}' attribute are skipped"
        if skip_missing
        else f"a feature without the '{attribute}' attribute contributes None"
    )
    spec = (
        f"Read the GFF3 file at `path` and collect the '{attribute}' attribute of every feature whose type "
        f"(column 3) is exactly '{feature}'. {_GFF_RULES}Percent-decoding replaces every %XX escape "
        "(hexadecimal, UTF-8) by its character. Return a list with one item per collected feature, in "
        f"file order; each item is {value_rule}; {missing_rule}."
    )
    reference = _source(
        {"FEATURE": feature, "ATTRIBUTE": attribute, "SKIP_MISSING": skip_missing, "SPLIT_VALUES": split_values},
        r'''
        from urllib.parse import unquote


        def gff3_attribute_values(path):
            out = []
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if line.startswith("##FASTA"):
                        break
                    if not line.strip() or line.startswith("#"):
                        continue
                    cols = line.split("\t")
                    if len(cols) < 9 or cols[2] != FEATURE:
                        continue
                    attrs = {}
                    for pair in cols[8].split(";"):
                        if "=" in pair:
                            key, value = pair.split("=", 1)
                            attrs[key.strip()] = value
                    if ATTRIBUTE not in attrs:
                        if not SKIP_MISSING:
                            out.append(None)
                        continue
                    value = attrs[ATTRIBUTE]
                    out.append([unquote(v) for v in value.split(",")] if SPLIT_VALUES else unquote(value))
            return out
        ''',
    )
    cases = (
        _file_case(name, "genes.gff3", _gff_file(rng, 4, fasta=False, blank=False)),
        _file_case(name, "more.gff3", _gff_file(rng, 6, fasta=True, blank=True), label="comments, FASTA section"),
        _file_case(name, "other.gff3", _gff_file(rng, 3, fasta=True, blank=True)),
        _file_case(name, "header_only.gff3", "##gff-version 3\n# nothing here\n"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> list",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"feature": feature, "attribute": attribute, "skip_missing": skip_missing, "split_values": split_values},
    )


def _draw_gff_lengths(rng: random.Random) -> Variant:
    feature = rng.choice(_GFF_TYPES)
    group = rng.choice(("seqid", "strand", "source"))
    union = rng.choice((True, False))
    strand = rng.choice(("any", "+", "-"))
    name = "gff3_length_by_group"
    column = {"seqid": "column 1 (seqid)", "strand": "column 7 (strand)", "source": "column 2 (source)"}[group]
    strand_rule = "" if strand == "any" else f"Only features on strand '{strand}' count. "
    length_rule = (
        "the number of distinct bases they cover: overlapping features of the same group and seqid "
        "count each base once"
        if union
        else "the sum of their lengths (end - start + 1), overlapping features counted in full"
    )
    spec = (
        f"Read the GFF3 file at `path` and total the lengths of the features of type '{feature}' "
        f"(column 3, exact match), grouped by {column}. {_GFF_RULES}{strand_rule}A group's total is "
        f"{length_rule}. Return a dict mapping each group value (str, as written) to its total (int); "
        "groups without a counted feature are absent."
    )
    reference = _source(
        {"FEATURE": feature, "GROUP": group, "UNION": union, "STRAND": strand},
        r'''
        def gff3_length_by_group(path):
            column = {"seqid": 0, "source": 1, "strand": 6}[GROUP]
            spans = {}
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if line.startswith("##FASTA"):
                        break
                    if not line.strip() or line.startswith("#"):
                        continue
                    cols = line.split("\t")
                    if len(cols) < 9 or cols[2] != FEATURE or (STRAND != "any" and cols[6] != STRAND):
                        continue
                    spans.setdefault(cols[column], []).append((cols[0], int(cols[3]), int(cols[4])))
            totals = {}
            for key, items in spans.items():
                if not UNION:
                    totals[key] = sum(end - start + 1 for _, start, end in items)
                    continue
                total, last = 0, {}
                for seqid, start, end in sorted(items):
                    covered = last.get(seqid, 0)
                    if end > covered:
                        total += end - max(start, covered + 1) + 1
                        last[seqid] = end
                totals[key] = total
            return totals
        ''',
    )
    cases = (
        _file_case(name, "genes.gff3", _gff_file(rng, 5, fasta=False, blank=False)),
        _file_case(name, "more.gff3", _gff_file(rng, 8, fasta=True, blank=True), label="comments, FASTA section"),
        _file_case(name, "few.gff3", _gff_file(rng, 2, fasta=False, blank=True)),
        _file_case(name, "overlaps.gff3", _gff_overlaps(rng), label="overlapping features"),
        _file_case(name, "header_only.gff3", "##gff-version 3\n\n"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> dict[str, int]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"feature": feature, "group": group, "union": union, "strand": strand},
    )


# -- VCF -------------------------------------------------------------------------------------

_VCF_RULES = (
    "The file is VCF: meta lines start with '##', the header line starts with '#CHROM' and names the "
    "samples after the FORMAT column (column 9); data lines are tab-separated (CHROM, POS, ID, REF, "
    "ALT, QUAL, FILTER, INFO, FORMAT, then one column per sample). Ignore blank lines. ALT lists "
    "alternate alleles separated by ','. QUAL '.' counts as 0. A sample column holds the values of "
    "the FORMAT keys (':'-separated) in the order FORMAT gives for that line; trailing fields may be "
    "dropped. A genotype (GT) lists allele indexes separated by '/' or '|' (0 = REF, 1 = first ALT, "
    "...); '.' is a missing allele. "
)


def _vcf_file(rng: random.Random, samples: Sequence[str], n_rows: int, *, messy: bool) -> str:
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    lines.append('##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">')
    lines.append("\t".join(("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples)))
    pos = rng.randint(100, 5000)
    # QUAL values on and between every threshold a variant may use, so each threshold matters
    quals = [".", "0", "10", "20", "30", "40", "50", "60", "5.5", "15", "25.5", "35", "45.2", "55"]
    rng.shuffle(quals)
    for row in range(n_rows):
        pos += rng.randint(1, 400)
        kind = rng.random()
        ref = rng.choice(BASES)
        if kind < 0.55:
            alts = [rng.choice([b for b in BASES if b != ref])]
        elif kind < 0.75:
            alts = rng.sample([b for b in BASES if b != ref], 2)
        elif kind < 0.9:
            alts = [ref + _dna(rng, rng.randint(1, 3))]
        else:
            ref, alts = ref + _dna(rng, 2), [ref]
        qual = quals[row % len(quals)]
        filt = "PASS" if row % 3 else rng.choice(("q10", "LowQual;q10", "."))
        fmt = rng.choice((["GT", "DP"], ["GT", "DP"], ["DP", "GT"], ["GT"], ["GT", "GQ", "DP"]))
        cols = []
        for _s in samples:
            a = rng.choice(("0", "0", "1", "1", str(len(alts)), "."))
            b = rng.choice(("0", "1", str(len(alts)), "."))
            if rng.random() < 0.1:
                gt = "."
            elif rng.random() < 0.08:
                gt = a  # a haploid call
            else:
                gt = f"{a}{rng.choice('/|')}{b}"
            values = {"GT": gt, "DP": rng.choice((str(rng.randint(0, 25)), str(rng.randint(0, 25)), ".")), "GQ": str(rng.randint(1, 99))}
            fields = [values[k] for k in fmt]
            if messy and len(fields) > 1 and fmt[0] == "GT" and rng.random() < 0.25:
                fields = fields[:1]  # trailing fields dropped
            cols.append(":".join(fields))
        ident = rng.choice((".", f"rs{rng.randint(1000, 99999)}"))
        info = f"DP={rng.randint(5, 90)}"
        lines.append("\t".join((rng.choice(("chr1", "chr2")), str(pos), ident, ref, ",".join(alts), qual, filt, info, ":".join(fmt), *cols)))
        if messy and rng.random() < 0.2:
            lines.append("")
    return "\n".join(lines) + "\n"


def _vcf_grid(rng: random.Random, samples: Sequence[str]) -> str:
    """PASS SNP lines with QUAL on and just below every threshold, plus one line of each kind
    another filter removes (not PASS, insertion, deletion, multi-allelic); DP values on and just
    below every depth threshold. Each filter setting changes which calls count."""
    header = [
        "##fileformat=VCFv4.2",
        "\t".join(("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples)),
    ]
    rows = [(q, "PASS", "snp") for q in (".", "9.5", "10", "19.5", "20", "29.5", "30", "39.5", "40", "49.5", "50")]
    rows += [("60", "q10", "snp"), ("60", "PASS", "ins"), ("60", "PASS", "del"), ("60", "PASS", "multi")]
    depths = ["4", "5", "9", "10", "14", "15", "30"]
    lines, pos = list(header), rng.randint(100, 900)
    for i, (qual, filt, kind) in enumerate(rows):
        pos += rng.randint(5, 300)
        ref = rng.choice(BASES)
        others = [b for b in BASES if b != ref]
        alts = {"snp": [others[0]], "ins": [ref + _dna(rng, 2)], "del": [ref], "multi": others[:2]}[kind]
        if kind == "del":
            ref += _dna(rng, 2)
        cols = []
        for j, _sample in enumerate(samples):
            gt = "0/1" if j == 0 else rng.choice(("0/0", "0/1", "1/1", "1|2" if kind == "multi" else "1|1", "0", "./1"))
            cols.append(f"{gt}:{depths[(i + j) % len(depths)]}")
        lines.append("\t".join(("chr1", str(pos), ".", ref, ",".join(alts), qual, filt, ".", "GT:DP", *cols)))
    return "\n".join(lines) + "\n"


def _draw_vcf_genotypes(rng: random.Random) -> Variant:
    pass_only = rng.choice((True, False))
    min_qual = rng.choice((0, 10, 20, 30, 40, 50))
    snps_only = rng.choice((True, False))
    min_dp = rng.choice((0, 5, 10, 15))
    name = "genotype_counts"
    filters = []
    if pass_only:
        filters.append("whose FILTER is exactly 'PASS'")
    if min_qual:
        filters.append(f"whose QUAL is at least {min_qual}")
    if snps_only:
        filters.append("whose REF is one base and whose every ALT allele is one of A, C, G, T")
    row_rule = ("Count only the data lines " + ", ".join(filters) + ". ") if filters else "Count every data line. "
    dp_rule = (
        f"A call whose DP value is below {min_dp}, is '.', or is absent counts as missing. "
        if min_dp
        else "DP plays no part. "
    )
    spec = (
        f"Count the genotype classes of each sample of the VCF file at `path`. {_VCF_RULES}{row_rule}"
        "Classify each sample's call on a counted line: 'missing' when GT is absent or any allele is '.'; "
        "otherwise 'hom_ref' when every allele is 0, 'hom_alt' when every allele is the same non-zero "
        "index, 'het' in every other case (a haploid call has one allele). "
        f"{dp_rule}Return a dict mapping each sample name (header order) to a dict with exactly the keys "
        "'hom_ref', 'het', 'hom_alt', 'missing' and int counts (0 included)."
    )
    reference = _source(
        {"PASS_ONLY": pass_only, "MIN_QUAL": min_qual, "SNPS_ONLY": snps_only, "MIN_DP": min_dp},
        r'''
        def genotype_counts(path):
            samples, counts = [], {}
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if not line.strip() or line.startswith("##"):
                        continue
                    cols = line.split("\t")
                    if line.startswith("#CHROM"):
                        samples = cols[9:]
                        counts = {s: {"hom_ref": 0, "het": 0, "hom_alt": 0, "missing": 0} for s in samples}
                        continue
                    ref, alts, qual, filt = cols[3], cols[4].split(","), cols[5], cols[6]
                    if PASS_ONLY and filt != "PASS":
                        continue
                    if (0.0 if qual == "." else float(qual)) < MIN_QUAL:
                        continue
                    if SNPS_ONLY and (len(ref) != 1 or any(a not in ("A", "C", "G", "T") for a in alts)):
                        continue
                    keys = cols[8].split(":")
                    for sample, field in zip(samples, cols[9:]):
                        values = dict(zip(keys, field.split(":")))
                        gt = values.get("GT")
                        alleles = gt.replace("|", "/").split("/") if gt else ["."]
                        if MIN_DP:
                            dp = values.get("DP", ".")
                            if dp == "." or int(dp) < MIN_DP:
                                alleles = ["."]
                        if "." in alleles:
                            kind = "missing"
                        elif all(a == "0" for a in alleles):
                            kind = "hom_ref"
                        elif len(set(alleles)) == 1:
                            kind = "hom_alt"
                        else:
                            kind = "het"
                        counts[sample][kind] += 1
            return counts
        ''',
    )
    samples = [f"{rng.choice(('NA', 'HG', 'S'))}{rng.randint(100, 999)}{c}" for c in "ABC"]
    cases = (
        _file_case(name, "calls.vcf", _vcf_file(rng, samples, 10, messy=False)),
        _file_case(name, "messy.vcf", _vcf_file(rng, samples[:2], 14, messy=True), label="truncated fields, blank lines"),
        _file_case(name, "one.vcf", _vcf_file(rng, samples[:1], 6, messy=True), label="one sample"),
        _file_case(name, "grid.vcf", _vcf_grid(rng, samples[:2]), label="thresholds"),
        _file_case(name, "no_rows.vcf", _vcf_file(rng, samples, 0, messy=False), label="no data lines"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> dict[str, dict[str, int]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"pass_only": pass_only, "min_qual": min_qual, "snps_only": snps_only, "min_dp": min_dp},
    )


def _draw_vcf_allele_frequency(rng: random.Random) -> Variant:
    any_alt = rng.choice((True, False))
    pass_only = rng.choice((True, False))
    min_qual = rng.choice((0, 10, 20, 30, 40))
    skip_indels = rng.choice((True, False))
    name = "alt_allele_frequencies"
    filters = []
    if pass_only:
        filters.append("whose FILTER is exactly 'PASS'")
    if min_qual:
        filters.append(f"whose QUAL is at least {min_qual}")
    if skip_indels:
        filters.append("whose REF and every ALT allele are each exactly one base long")
    row_rule = ("Report only the data lines " + ", ".join(filters) + ". ") if filters else "Report every data line. "
    counted = "any alternate allele (index >= 1)" if any_alt else "the first alternate allele (index 1)"
    spec = (
        f"Compute an alternate-allele frequency for the variants of the VCF file at `path`. {_VCF_RULES}"
        f"{row_rule}For a reported line, pool the alleles of all samples' GT calls (a haploid call has one "
        "allele; a partly missing call such as './1' contributes its called allele; a missing GT or '.' "
        f"allele contributes nothing). The frequency is the number of pooled alleles that are {counted} "
        "divided by the number of pooled alleles, as a float without rounding, or None when no allele "
        "was pooled. Return a list of (CHROM, POS as int, frequency) tuples in file order."
    )
    reference = _source(
        {"ANY_ALT": any_alt, "PASS_ONLY": pass_only, "MIN_QUAL": min_qual, "SKIP_INDELS": skip_indels},
        r'''
        def alt_allele_frequencies(path):
            out = []
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if not line.strip() or line.startswith("#"):
                        continue
                    cols = line.split("\t")
                    ref, alts, qual, filt = cols[3], cols[4].split(","), cols[5], cols[6]
                    if PASS_ONLY and filt != "PASS":
                        continue
                    if (0.0 if qual == "." else float(qual)) < MIN_QUAL:
                        continue
                    if SKIP_INDELS and (len(ref) != 1 or any(len(a) != 1 for a in alts)):
                        continue
                    keys = cols[8].split(":")
                    alleles = []
                    for field in cols[9:]:
                        gt = dict(zip(keys, field.split(":"))).get("GT", ".")
                        alleles += [int(a) for a in gt.replace("|", "/").split("/") if a != "."]
                    hits = sum(1 for a in alleles if (a >= 1 if ANY_ALT else a == 1))
                    out.append((cols[0], int(cols[1]), hits / len(alleles) if alleles else None))
            return out
        ''',
    )
    samples = [f"S{rng.randint(10, 99)}{c}" for c in "ABCD"]
    missing_row = "\t".join(("chr3", str(rng.randint(100, 900)), ".", "A", "G,T", "50", "PASS", ".", "GT", "./.", "."))
    cases = (
        _file_case(name, "calls.vcf", _vcf_file(rng, samples, 10, messy=False), **FLOAT_TOL),
        _file_case(name, "messy.vcf", _vcf_file(rng, samples[:3], 12, messy=True), label="truncated fields, blank lines", **FLOAT_TOL),
        _file_case(name, "uncalled.vcf", _vcf_file(rng, samples[:2], 3, messy=False) + missing_row + "\n", label="no called allele", **FLOAT_TOL),
        _file_case(name, "grid.vcf", _vcf_grid(rng, samples[:3]), label="thresholds", **FLOAT_TOL),
        _file_case(name, "no_rows.vcf", _vcf_file(rng, samples, 0, messy=False), label="no data lines"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> list[tuple[str, int, float | None]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"any_alt": any_alt, "pass_only": pass_only, "min_qual": min_qual, "skip_indels": skip_indels},
    )


# -- SAM -------------------------------------------------------------------------------------

_SAM_RULES = (
    "The file is SAM text: header lines start with '@'; alignment lines are tab-separated with the "
    "mandatory columns QNAME, FLAG, RNAME, POS (1-based), MAPQ, CIGAR, RNEXT, PNEXT, TLEN, SEQ, QUAL, "
    "then optional tags. Ignore blank lines. FLAG bits: 0x1 paired, 0x2 proper pair, 0x4 unmapped, "
    "0x10 reverse strand, 0x100 secondary, 0x200 QC fail, 0x400 duplicate, 0x800 supplementary. "
)
_SAM_FLAG_NAMES = {0x100: "secondary (0x100)", 0x400: "duplicate (0x400)", 0x800: "supplementary (0x800)"}


def _cigar(rng: random.Random) -> tuple[str, int]:
    """A random CIGAR and its query length (soft clips included)."""
    ops = []
    if rng.random() < 0.35:
        ops.append((rng.randint(1, 12), "S" if rng.random() < 0.7 else "H"))
    for _ in range(rng.randint(1, 4)):
        ops.append((rng.randint(5, 40), rng.choice("MMM=X")))
        if rng.random() < 0.4:
            ops.append((rng.randint(1, 4), rng.choice("IDN" if rng.random() < 0.2 else "ID")))
    ops.append((rng.randint(5, 30), "M"))
    if rng.random() < 0.35:
        ops.append((rng.randint(1, 12), "S" if rng.random() < 0.7 else "H"))
    query = sum(n for n, op in ops if op in "MIS=X")
    return "".join(f"{n}{op}" for n, op in ops), query


def _sam_file(rng: random.Random, n: int, *, messy: bool) -> str:
    refs = [f"chr{rng.randint(1, 9)}", f"chr{rng.randint(10, 22)}", "chrM"]
    lines = ["@HD\tVN:1.6\tSO:unsorted"] + [f"@SQ\tSN:{r}\tLN:{rng.randint(20000, 99999)}" for r in refs]
    lines.append("@PG\tID:aligner\tPN:aligner")
    for i in range(n):
        flag = 0
        for bit, p in ((0x1, 0.6), (0x2, 0.45), (0x10, 0.5), (0x100, 0.15), (0x200, 0.08), (0x400, 0.15), (0x800, 0.12)):
            if rng.random() < p:
                flag |= bit
        unmapped = rng.random() < 0.12
        if unmapped:
            flag |= 0x4
        cigar, qlen = _cigar(rng)
        rname = rng.choice(refs)
        if unmapped and rng.random() < 0.6:
            rname, cigar = "*", "*"
        elif not unmapped and rng.random() < 0.05:
            cigar = "*"
        if cigar == "*":
            qlen = rng.randint(20, 60)
        mapq = rng.choice((0, 1, 3, 8, 12, 25, 37, 42, 60, 255)) if not unmapped else 0
        pos = 0 if rname == "*" else rng.randint(1, 15000)
        seq = _dna(rng, qlen)
        qname, tag = f"q{i}_{rng.randint(100, 999)}", f"NM:i:{rng.randint(0, 5)}"
        lines.append("\t".join((qname, str(flag), rname, str(pos), str(mapq), cigar, "*", "0", "0", seq, "I" * qlen, tag)))
        if messy and rng.random() < 0.15:
            lines.append("")
    return "\n".join(lines) + "\n"


def _sam_grid(rng: random.Random) -> str:
    """Alignments that each flip one filter: for every (proper pair, strand) combination, one
    clean alignment per MAPQ on and below each threshold (and 255), and one per excludable flag
    bit with a high MAPQ."""
    refs = ["chr1", "chr2", "chrX"]
    lines = ["@HD\tVN:1.6"] + [f"@SQ\tSN:{r}\tLN:90000" for r in refs]
    i = 0
    for base in (0x1, 0x1 | 0x2, 0x1 | 0x10, 0x1 | 0x2 | 0x10):
        variants = [(base, mapq) for mapq in (0, 1, 4, 5, 9, 10, 19, 20, 29, 30, 255)]
        variants += [(base | bit, 60) for bit in _SAM_FLAG_NAMES]
        for flag, mapq in variants:
            cigar, qlen = _cigar(rng)
            seq = _dna(rng, qlen)
            lines.append("\t".join((f"g{i}", str(flag), rng.choice(refs), str(rng.randint(1, 9000)), str(mapq), cigar, "*", "0", "0", seq, "F" * qlen)))
            i += 1
    return "\n".join(lines) + "\n"


def _draw_sam_counts(rng: random.Random) -> Variant:
    min_mapq = rng.choice((0, 1, 5, 10, 20, 30))
    excluded = sorted(b for b in _SAM_FLAG_NAMES if rng.random() < 0.5)
    proper_only = rng.choice((True, False))
    strand = rng.choice(("any", "forward", "reverse"))
    name = "count_alignments_per_reference"
    rules = ["FLAG 0x4 (unmapped) is unset and RNAME is not '*'"]
    if min_mapq:
        rules.append(f"MAPQ is at least {min_mapq} (MAPQ 255 means unavailable and never passes)")
    if excluded:
        rules.append("none of the bits " + ", ".join(_SAM_FLAG_NAMES[b] for b in excluded) + " is set")
    if proper_only:
        rules.append("bit 0x2 (proper pair) is set")
    if strand != "any":
        rules.append(f"bit 0x10 is {'unset' if strand == 'forward' else 'set'}")
    spec = (
        f"Count the alignments of the SAM file at `path` per reference. {_SAM_RULES}An alignment counts when "
        + "; ".join(rules)
        + ". Return a dict mapping RNAME (str) to the number of counted alignments (int); references "
        "without a counted alignment are absent."
    )
    reference = _source(
        {"MIN_MAPQ": min_mapq, "EXCLUDED_MASK": sum(excluded), "PROPER_ONLY": proper_only, "STRAND": strand},
        r'''
        def count_alignments_per_reference(path):
            counts = {}
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if not line.strip() or line.startswith("@"):
                        continue
                    cols = line.split("\t")
                    flag, rname, mapq = int(cols[1]), cols[2], int(cols[4])
                    if flag & 0x4 or rname == "*":
                        continue
                    if MIN_MAPQ and (mapq == 255 or mapq < MIN_MAPQ):
                        continue
                    if flag & EXCLUDED_MASK:
                        continue
                    if PROPER_ONLY and not flag & 0x2:
                        continue
                    if STRAND == "forward" and flag & 0x10 or STRAND == "reverse" and not flag & 0x10:
                        continue
                    counts[rname] = counts.get(rname, 0) + 1
            return counts
        ''',
    )
    cases = (
        _file_case(name, "aln.sam", _sam_file(rng, 30, messy=False)),
        _file_case(name, "messy.sam", _sam_file(rng, 24, messy=True), label="blank lines"),
        _file_case(name, "small.sam", _sam_file(rng, 8, messy=False)),
        _file_case(name, "grid.sam", _sam_grid(rng), label="every flag and MAPQ threshold"),
        _file_case(name, "header_only.sam", _sam_file(rng, 0, messy=False), label="no alignments"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> dict[str, int]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"min_mapq": min_mapq, "excluded": excluded, "proper_only": proper_only, "strand": strand},
    )


_CIGAR_MEASURES = {
    "ref_end": "the 1-based inclusive reference end: POS + (total length of the M, D, N, = and X operations) - 1",
    "query_aligned": "the number of aligned query bases: total length of the M, I, = and X operations",
    "query_length": "the query length: total length of the M, I, S, = and X operations (hard clips H excluded)",
    "edit_bases": "the total length of the I, D and X operations",
    "clipped": "the total length of the S and H operations",
}


def _draw_cigar(rng: random.Random) -> Variant:
    measure = rng.choice(tuple(_CIGAR_MEASURES))
    skip_secondary = rng.choice((True, False))
    skip_supplementary = rng.choice((True, False))
    min_mapq = rng.choice((0, 10, 20, 30))
    name = "alignment_cigar_measure"
    skips = ["unmapped alignments (FLAG 0x4)", "alignments whose CIGAR is '*'"]
    if skip_secondary:
        skips.append("secondary alignments (0x100)")
    if skip_supplementary:
        skips.append("supplementary alignments (0x800)")
    if min_mapq:
        skips.append(f"alignments with MAPQ below {min_mapq} or equal to 255")
    spec = (
        f"For the alignments of the SAM file at `path`, compute a CIGAR-derived value. {_SAM_RULES}A CIGAR "
        "is a run of <length><operation> items with operations M, I, D, N, S, H, P, = and X. Skip "
        + ", ".join(skips)
        + f". For each remaining alignment the value is {_CIGAR_MEASURES[measure]}. Return a list of "
        "(QNAME, value as int) tuples in file order."
    )
    reference = _source(
        {"MEASURE": measure, "SKIP_SECONDARY": skip_secondary, "SKIP_SUPPLEMENTARY": skip_supplementary, "MIN_MAPQ": min_mapq},
        r'''
        import re


        def alignment_cigar_measure(path):
            out = []
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if not line.strip() or line.startswith("@"):
                        continue
                    cols = line.split("\t")
                    flag, pos, mapq, cigar = int(cols[1]), int(cols[3]), int(cols[4]), cols[5]
                    if flag & 0x4 or cigar == "*":
                        continue
                    if SKIP_SECONDARY and flag & 0x100 or SKIP_SUPPLEMENTARY and flag & 0x800:
                        continue
                    if MIN_MAPQ and (mapq == 255 or mapq < MIN_MAPQ):
                        continue
                    ops = [(int(n), op) for n, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar)]
                    total = lambda kinds: sum(n for n, op in ops if op in kinds)
                    value = {
                        "ref_end": pos + total("MDN=X") - 1,
                        "query_aligned": total("MI=X"),
                        "query_length": total("MIS=X"),
                        "edit_bases": total("IDX"),
                        "clipped": total("SH"),
                    }[MEASURE]
                    out.append((cols[0], value))
            return out
        ''',
    )
    cases = (
        _file_case(name, "aln.sam", _sam_file(rng, 16, messy=False)),
        _file_case(name, "messy.sam", _sam_file(rng, 14, messy=True), label="blank lines"),
        _file_case(name, "more.sam", _sam_file(rng, 12, messy=False)),
        _file_case(name, "grid.sam", _sam_grid(rng), label="every flag and MAPQ threshold"),
        _file_case(name, "header_only.sam", _sam_file(rng, 0, messy=False), label="no alignments"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> list[tuple[str, int]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"measure": measure, "skip_secondary": skip_secondary, "skip_supplementary": skip_supplementary, "min_mapq": min_mapq},
    )


# -- BED -------------------------------------------------------------------------------------


def _draw_bed_convert(rng: random.Random) -> Variant:
    coord_names = rng.choice((True, False))
    plus_default = rng.choice((True, False))
    sort = rng.choice((True, False))
    min_len = rng.choice((1, 10, 50, 100))
    name = "bed_to_one_based"
    name_rule = (
        "'<chrom>:<start>-<end>' written with the converted 1-based coordinates"
        if coord_names
        else "'.'"
    )
    order = (
        "sorted by chromosome name (plain string order), then start, then end (ties keep file order)"
        if sort
        else "in file order"
    )
    spec = (
        "Convert the BED file at `path` to 1-based closed coordinates. BED lines are tab-separated: "
        "chrom, start, end (0-based, half-open), then optionally name, score, strand and more columns. "
        "Ignore blank lines and lines starting with '#', 'track' or 'browser'. A feature covers "
        f"end - start bases; drop the features shorter than {min_len}. A missing name column, or a "
        f"name '.', becomes {name_rule}; a missing strand column, or strand '.', becomes "
        f"'{'+' if plus_default else '.'}'. Return a list of (chrom, start, end, name, strand) tuples with "
        f"int 1-based inclusive start and end, {order}."
    )
    reference = _source(
        {"COORD_NAMES": coord_names, "PLUS_DEFAULT": plus_default, "SORT": sort, "MIN_LEN": min_len},
        r'''
        def bed_to_one_based(path):
            out = []
            with open(path) as handle:
                for raw in handle:
                    line = raw.rstrip("\r\n")
                    if not line.strip() or line.startswith(("#", "track", "browser")):
                        continue
                    cols = line.split("\t")
                    chrom, start, end = cols[0], int(cols[1]), int(cols[2])
                    if end - start < MIN_LEN:
                        continue
                    name = cols[3] if len(cols) > 3 and cols[3] != "." else None
                    if name is None:
                        name = f"{chrom}:{start + 1}-{end}" if COORD_NAMES else "."
                    strand = cols[5] if len(cols) > 5 and cols[5] != "." else ("+" if PLUS_DEFAULT else ".")
                    out.append((chrom, start + 1, end, name, strand))
            if SORT:
                out.sort(key=lambda row: (row[0], row[1], row[2]))
            return out
        ''',
    )

    def bed(n: int, messy: bool) -> str:
        lines = ['track name="peaks" description="test"'] if messy else []
        if messy:
            lines.append("browser position chr1:1-1000")
        for i in range(n):
            chrom = rng.choice(("chr1", "chr2", "chr10", "chrX"))
            start = rng.randint(0, 5000)
            length = rng.choice((rng.randint(1, 9), rng.randint(10, 49), rng.randint(50, 99), rng.randint(100, 400), min_len, min_len - 1))
            cols = [chrom, str(start), str(start + max(0, length))]
            width = rng.choice((3, 4, 6, 6, 6))
            if width >= 4:
                cols.append(rng.choice((f"peak{i}", ".", f"feat_{i}")))
            if width >= 6:
                cols += [str(rng.randint(0, 1000)), rng.choice("+-.")]
            lines.append("\t".join(cols))
            if messy and rng.random() < 0.2:
                lines.append(rng.choice(("", "# comment")))
        return "\n".join(lines) + "\n"

    cases = (
        _file_case(name, "peaks.bed", bed(10, False)),
        _file_case(name, "messy.bed", bed(12, True), label="track, browser, comments"),
        _file_case(name, "few.bed", bed(4, True)),
        _file_case(name, "header_only.bed", "track name=empty\n# nothing\n"),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> list[tuple[str, int, int, str, str]]",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"coord_names": coord_names, "plus_default": plus_default, "sort": sort, "min_len": min_len},
    )


# -- FASTQ to FASTA --------------------------------------------------------------------------


def _draw_fastq_to_fasta(rng: random.Random) -> Variant:
    max_n = rng.choice((0.0, 0.05, 0.1, 0.2, 0.5))
    width = rng.choice((0, 50, 60, 70, 80))
    full_header = rng.choice((True, False))
    upper = rng.choice((True, False))
    name = "fastq_to_fasta"
    header = (
        "the whole FASTQ header after '@' with trailing whitespace removed"
        if full_header
        else "the FASTQ header text after '@' up to the first whitespace"
    )
    wrap = "on a single line" if width == 0 else f"in lines of exactly {width} characters (the last may be shorter)"
    spec = (
        f"Convert the FASTQ file at `path` to FASTA text. {_FASTQ_RULES}Drop every read in which the "
        f"fraction of bases that are 'N' or 'n' exceeds {max_n} (strictly greater). For each kept read, in "
        f"file order, write a header line '>' + {header}, then its sequence "
        f"{'converted to upper case' if upper else 'with letters as written'}, {wrap}. Every line ends with "
        "'\\n'. Return the text as one str ('' when no read is kept)."
    )
    reference = _source(
        {"MAX_N": max_n, "WIDTH": width, "FULL_HEADER": full_header, "UPPER": upper},
        r'''
        def fastq_to_fasta(path):
            with open(path) as handle:
                lines = [line.rstrip("\r\n") for line in handle if line.strip()]
            out = []
            for i in range(0, len(lines) - 3, 4):
                header, seq = lines[i][1:].rstrip(), lines[i + 1]
                if sum(1 for c in seq if c in "Nn") / len(seq) > MAX_N:
                    continue
                out.append(">" + (header if FULL_HEADER else header.split()[0]) + "\n")
                seq = seq.upper() if UPPER else seq
                step = WIDTH or len(seq)
                for start in range(0, len(seq), step):
                    out.append(seq[start : start + step] + "\n")
            return "".join(out)
        ''',
    )

    def reads(count: int) -> list[tuple[str, str, str]]:
        out = []
        for i in range(count):
            length = rng.randint(90, 170) if i == 0 else rng.randint(40, 170)
            n_frac = 0.0 if i == 0 else rng.choice((0.0, 0.03, 0.07, 0.15, 0.3, 0.6, max_n))
            n_count = round(length * n_frac)
            seq = list(_dna(rng, length, "ACGTACGTacgt"))
            for j in rng.sample(range(length), n_count):
                seq[j] = rng.choice("Nn")
            header = _read_name(rng, i) + (" 2:N:0:ACGT" if rng.random() < 0.5 else "")
            out.append((header, "".join(seq), "I" * length))
        return out

    boundary_len = 100
    boundary = [("edge_n", "N" * round(boundary_len * max_n) + "A" * (boundary_len - round(boundary_len * max_n)), "I" * boundary_len)]
    cases = (
        _file_case(name, "reads.fq", _fastq(reads(5))),
        _file_case(name, "messy.fq", _fastq(reads(4), eol="\r\n", blank_every=2, plus_header=True), label="CRLF, blank lines"),
        _file_case(name, "edge.fq", _fastq(boundary + reads(1)), label="N fraction at the limit"),
        _file_case(name, "empty.fq", ""),
    )
    return Variant(
        name=name,
        signature=f"def {name}(path: str) -> str",
        spec=spec,
        reference=reference,
        cases=cases,
        params={"max_n": max_n, "width": width, "full_header": full_header, "upper": upper},
    )


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("fastq_mean_quality_filter", "train", _draw_fastq_filter, "FASTQ mean-quality filter"),
    FunctionTemplate("fastq_quality_by_position", "train", _draw_position_quality, "FASTQ per-position quality"),
    FunctionTemplate("fastq_trim_3prime", "train", _draw_fastq_trim, "FASTQ 3' quality trimming"),
    FunctionTemplate("fasta_parse", "train", _draw_fasta_parse, "FASTA to dict"),
    FunctionTemplate("fasta_format", "train", _draw_fasta_format, "records to wrapped FASTA"),
    FunctionTemplate("gff3_attribute_values", "train", _draw_gff_attribute, "GFF3 attribute values"),
    FunctionTemplate("gff3_length_by_group", "train", _draw_gff_lengths, "GFF3 feature lengths by group"),
    FunctionTemplate("vcf_genotype_counts", "train", _draw_vcf_genotypes, "VCF genotype classes per sample"),
    FunctionTemplate("sam_counts_per_reference", "train", _draw_sam_counts, "SAM flag filters and counts"),
    FunctionTemplate("sam_cigar_measure", "train", _draw_cigar, "SAM CIGAR lengths"),
    FunctionTemplate("vcf_alt_allele_frequency", "test", _draw_vcf_allele_frequency, "VCF alternate-allele frequency"),
    FunctionTemplate("bed_to_one_based", "test", _draw_bed_convert, "BED to 1-based coordinates"),
    FunctionTemplate("fastq_to_fasta", "test", _draw_fastq_to_fasta, "FASTQ to FASTA with an N filter"),
)
