"""The biocoder families file_formats, intervals and tabular_clustering.

Per template: drawn variants are deterministic and well formed; the reference is self-contained
(it runs in a bare namespace, without the session's ``pd``/``np``) and passes its own hidden cases
quickly; the cases are not all alike or empty; the spec shows neither the reference nor expected
values; the parameter space is large enough for the catalog. Wrong code fails: the wrong-answer
policy's wrapper, empty and echoing functions, and - for every single parameter - the reference
of a variant differing in that parameter alone (so each parameter changes the task and the cases
see the change). The conventions the specs state are checked against independent
implementations (Biopython's FASTQ decoding, pysam's CIGAR arithmetic, base sets for intervals,
scikit-learn's k-means, PCA and silhouettes). Then samples of each category go through the env
with the oracle, the wrong-answer policy and gaming answers.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import random
import tempfile
import time
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from medagentgym.catalog.sample import TestCase
from medagentgym.codetests.probe import encode
from medagentgym.codetests.reference import compute_expected
from medagentgym.datasets.biocoder import fn_formats, fn_intervals, fn_tabular
from medagentgym.datasets.biocoder.spec import FunctionTemplate, Variant
from medagentgym.policies.oracle import wrong_source
from medagentgym.scoring.code_tests import values_match

FAMILIES: dict[str, ModuleType] = {"file_formats": fn_formats, "intervals": fn_intervals, "tabular_clustering": fn_tabular}
TEMPLATES = [(category, t) for category, module in FAMILIES.items() for t in module.TEMPLATES]
IDS = [f"{category}/{t.key}" for category, t in TEMPLATES]
CHECKED_DRAWS = 4  # variants per template checked in full
SPACE_DRAWS = 150  # draws per template when counting its parameter space
PAIR_DRAWS = 160  # draws searched for pairs of variants differing in one parameter
NEEDED = {"train": 123, "test": 20}  # the catalog's counts per category


@cache
def _template(key: str) -> FunctionTemplate:
    return next(t for _, t in TEMPLATES if t.key == key)


@cache
def _variant(key: str, seed: int) -> Variant:
    return _template(key).draw(random.Random(seed))


@cache
def _cases(key: str, seed: int) -> tuple[TestCase, ...]:
    variant = _variant(key, seed)
    return compute_expected(variant.reference, variant.cases)


def _run(source: str, namespace: dict[str, Any]) -> None:
    """Run project code (a reference, a case's setup, an oracle solution) in ``namespace``."""
    exec(compile(source, "<biocoder>", "exec"), namespace)  # noqa: S102 - our own code, on purpose


def _passes(source: str, cases: tuple[TestCase, ...]) -> bool:
    """Whether ``source`` passes every case (run in-process like a reference)."""
    try:
        got = compute_expected(source, [c.model_copy(update={"expected": None}) for c in cases])
    except Exception:  # noqa: BLE001 - any failure of the candidate means it does not pass
        return False
    return all(values_match(g.expected, c.expected, c.rel_tol, c.abs_tol) for g, c in zip(got, cases, strict=True))


def _run_bare(source: str, cases: tuple[TestCase, ...]) -> list[Any]:
    """Run the reference and the cases in a namespace holding only ``workdir``: a reference that
    leans on the session's ``pd``/``np`` instead of importing them fails here."""
    out = []
    with tempfile.TemporaryDirectory() as workdir:
        namespace: dict[str, Any] = {"__name__": "bare", "workdir": workdir}
        _run(source, namespace)
        fn_names = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
        for case in cases:
            # the case's own inputs may use pandas (its setup imports it); the function may not borrow it
            case_ns = dict(namespace)
            with contextlib.redirect_stdout(io.StringIO()):
                _run(case.setup, case_ns)
                for name in fn_names:
                    case_ns[name] = namespace[name]
                out.append(encode(eval(compile(case.expr, "<expr>", "eval"), case_ns)))
    return out


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    return [value]


# -- the families --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", sorted(FAMILIES))
def test_family_has_enough_templates_in_both_splits(category: str) -> None:
    templates = FAMILIES[category].TEMPLATES
    assert len(templates) >= 10
    n_test = sum(t.split == "test" for t in templates)
    assert n_test >= 2 and n_test / len(templates) >= 0.2
    assert all(isinstance(t, FunctionTemplate) and t.title for t in templates)


def test_template_keys_and_function_names_are_unique_and_split_bound() -> None:
    keys = [t.key for _, t in TEMPLATES]
    assert len(keys) == len(set(keys))
    splits_by_name: dict[str, set[str]] = {}
    for _, t in TEMPLATES:
        for seed in range(3):
            splits_by_name.setdefault(_variant(t.key, seed).name, set()).add(t.split)
    assert all(len(s) == 1 for s in splits_by_name.values()), splits_by_name


# -- each variant --------------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_variants_are_well_formed_self_contained_and_pass_their_own_cases(category: str, template: FunctionTemplate) -> None:
    for seed in range(CHECKED_DRAWS):
        variant = _variant(template.key, seed)
        assert template.draw(random.Random(seed)) == variant  # deterministic
        assert json.loads(json.dumps(variant.params)) == dict(variant.params)
        assert variant.name.isidentifier() and variant.signature.startswith(f"def {variant.name}(")
        assert 4 <= len(variant.cases) <= 8
        assert len({c.name for c in variant.cases}) == len(variant.cases)
        assert all(c.expected is None and c.expr for c in variant.cases)
        for case in variant.cases:  # files only under workdir
            assert "open(" not in case.setup or "os.path.join(workdir" in case.setup
        tree = ast.parse(variant.reference)
        assert any(isinstance(n, ast.FunctionDef) and n.name == variant.name for n in tree.body)
        started = time.perf_counter()
        cases = _cases(template.key, seed)
        assert (time.perf_counter() - started) / len(cases) < 0.5
        bare = _run_bare(variant.reference, cases)
        assert all(values_match(b, c.expected, c.rel_tol, c.abs_tol) for b, c in zip(bare, cases, strict=True))
        values = [json.dumps(c.expected, sort_keys=True) for c in cases]
        assert len(set(values)) > 1, (template.key, seed, "every case gives the same value")
        empty = {"[]", "{}", '""', "null", '{"dict": []}'}
        assert sum(v not in empty for v in values) >= 2, (template.key, seed, "cases mostly empty")
        assert any(c.expected != {"float": "nan"} for c in cases)


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_spec_shows_neither_reference_nor_inputs_nor_expected_values(category: str, template: FunctionTemplate) -> None:
    for seed in range(CHECKED_DRAWS):
        variant = _variant(template.key, seed)
        body = variant.reference.split(f"def {variant.name}(", 1)[1]
        code_lines = [ln.strip() for ln in body.splitlines()[1:] if len(ln.strip()) > 20]
        assert not [ln for ln in code_lines if ln in variant.spec], template.key
        for case in _cases(template.key, seed):
            assert case.expr not in variant.spec
            for leaf in _leaves(case.expected):
                if isinstance(leaf, str) and len(leaf) >= 8:
                    assert leaf not in variant.spec, (template.key, leaf)
                if isinstance(leaf, float) and len(repr(leaf)) > 6:
                    assert repr(leaf) not in variant.spec, (template.key, leaf)


# -- parameter spaces ----------------------------------------------------------------------------


@cache
def _distinct_params(key: str) -> int:
    rng = random.Random(f"space-{key}")
    return len({json.dumps(_template(key).draw(rng).params, sort_keys=True) for _ in range(SPACE_DRAWS)})


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_each_template_has_a_real_parameter_space(category: str, template: FunctionTemplate) -> None:
    assert _distinct_params(template.key) >= (24 if template.split == "train" else 16)


@pytest.mark.parametrize("category", sorted(FAMILIES))
@pytest.mark.parametrize("split", ["train", "test"])
def test_each_category_has_room_for_its_counts(category: str, split: str) -> None:
    total = sum(_distinct_params(t.key) for t in FAMILIES[category].TEMPLATES if t.split == split)
    assert total >= 2 * NEEDED[split], (category, split, total)


# -- wrong code fails ----------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_wrong_implementations_fail(category: str, template: FunctionTemplate) -> None:
    for seed in range(CHECKED_DRAWS):
        variant, cases = _variant(template.key, seed), _cases(template.key, seed)
        name = variant.name
        assert _passes(variant.reference, cases)
        assert not _passes(wrong_source(variant.reference, name, False), cases)
        assert not _passes(f"def {name}(*args, **kwargs):\n    return None\n", cases)
        assert not _passes(f"def {name}(*args, **kwargs):\n    raise NotImplementedError\n", cases)
        assert not _passes(f"def {name}(*args, **kwargs):\n    return args[0]\n", cases)
        reads = f"def {name}(path, *args):\n    return open(path).read() if isinstance(path, str) else path\n"
        assert not _passes(reads, cases)


@pytest.mark.slow
@pytest.mark.parametrize(("category", "template"), TEMPLATES, ids=IDS)
def test_each_parameter_alone_changes_the_answer(category: str, template: FunctionTemplate) -> None:
    """For every parameter: two variants differing in it alone, and the reference of one fails a
    case of the other."""
    keys = list(_variant(template.key, 0).params)
    first_seen: dict[str, int] = {}
    checked: set[str] = set()
    for seed in range(PAIR_DRAWS):
        params = dict(_variant(template.key, seed).params)
        for other_seed in first_seen.values():
            other = dict(_variant(template.key, other_seed).params)
            differing = [k for k in keys if params[k] != other[k]]
            if len(differing) != 1 or differing[0] in checked:
                continue
            reference = _variant(template.key, other_seed).reference
            assert not _passes(reference, _cases(template.key, seed)), (template.key, other, params)
            checked.add(differing[0])
        first_seen.setdefault(json.dumps(params, sort_keys=True), seed)
        if checked == set(keys):
            break
    assert checked == set(keys), (template.key, "no pair found for", set(keys) - checked)


# -- the stated conventions against independent implementations -----------------------------------


def _call(reference: str, name: str, *args: Any) -> Any:
    namespace: dict[str, Any] = {}
    _run(reference, namespace)
    return namespace[name](*args)


@cache
def _first_variant(key: str, **want: Any) -> Variant:
    """The first variant drawn with these params (from its own seeds, not ``_variant``'s)."""
    for seed in range(3000):
        variant = _template(key).draw(random.Random(f"want-{seed}"))
        if all(variant.params[k] == v for k, v in want.items()):
            return variant
    raise AssertionError(f"no {key} variant with {want}")


def test_fastq_quality_decoding_matches_biopython(tmp_path) -> None:
    seq_io = pytest.importorskip("Bio.SeqIO")
    for offset, fmt in ((33, "fastq"), (64, "fastq-illumina")):
        variant = _first_variant("fastq_mean_quality_filter", offset=offset)
        case = variant.cases[0]  # a plain FASTQ file (no blank lines)
        namespace: dict[str, Any] = {"workdir": str(tmp_path)}
        _run(case.setup, namespace)
        path = namespace["path"]
        t, inclusive = variant.params["threshold"], variant.params["inclusive"]
        theirs = []
        for record in seq_io.parse(path, fmt):
            mean = float(np.mean(record.letter_annotations["phred_quality"]))
            if (mean >= t) if inclusive else (mean > t):
                theirs.append(record.description if variant.params["full_header"] else record.id)
        assert _call(variant.reference, variant.name, path) == theirs


def test_cigar_arithmetic_matches_pysam(tmp_path) -> None:
    pysam = pytest.importorskip("pysam")
    path = str(tmp_path / "aln.sam")
    lines = fn_formats._sam_file(random.Random(3), 40, messy=False).splitlines()
    # htslib turns a mapped alignment without CIGAR into an unmapped one; the SAM spec (and our
    # specs) go by FLAG alone, so leave those lines out of the comparison
    lines = [ln for ln in lines if ln.startswith("@") or not (ln.split("\t")[5] == "*" and not int(ln.split("\t")[1]) & 4)]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    with pysam.AlignmentFile(path, "r") as sam:
        reads = [r for r in sam if not r.is_unmapped and r.cigarstring]
    theirs = {
        "ref_end": [(r.query_name, r.reference_end) for r in reads],  # 0-based exclusive = 1-based inclusive
        "query_aligned": [(r.query_name, r.query_alignment_length) for r in reads],
        "query_length": [(r.query_name, r.infer_query_length()) for r in reads],
    }
    for measure, values in theirs.items():
        variant = _first_variant("sam_cigar_measure", measure=measure)
        p = variant.params
        kept = [
            value
            for r, value in zip(reads, values, strict=True)
            if not (p["skip_secondary"] and r.is_secondary)
            and not (p["skip_supplementary"] and r.is_supplementary)
            and not (p["min_mapq"] and (r.mapping_quality == 255 or r.mapping_quality < p["min_mapq"]))
        ]
        assert _call(variant.reference, variant.name, path) == kept, measure
    for seed in range(6):
        counts = _variant("sam_counts_per_reference", seed)
        p = counts.params
        expected_counts: dict[str, int] = {}
        with pysam.AlignmentFile(path, "r") as sam:
            for r in sam:
                mapq = r.mapping_quality
                if r.is_unmapped or (p["min_mapq"] and (mapq == 255 or mapq < p["min_mapq"])):
                    continue
                if r.flag & sum(p["excluded"]) or (p["proper_only"] and not r.is_proper_pair):
                    continue
                if p["strand"] != "any" and r.is_reverse != (p["strand"] == "reverse"):
                    continue
                expected_counts[r.reference_name] = expected_counts.get(r.reference_name, 0) + 1
        assert _call(counts.reference, counts.name, path) == expected_counts, p


def _bases(intervals: list[tuple], closed: bool) -> set[tuple[str, int]]:
    """The bases an interval list covers, by the convention's textbook definition."""
    out = set()
    for chrom, start, end, *_ in intervals:
        out.update((chrom, b) for b in (range(start, end + 1) if closed else range(start, end)))
    return out


def test_interval_conventions_match_base_sets() -> None:
    rng = random.Random(11)
    for closed in (True, False):
        for _ in range(20):
            ivs = [(c, s, e, st) for c, s, e, st in fn_intervals._random_intervals(rng, 10, closed, strand=True, empty=True)]
            merge_fn = _first_variant("merge_intervals", closed=closed, max_gap=-1, with_count=False, stranded=False)
            merged = _call(merge_fn.reference, merge_fn.name, ivs)
            assert _bases(merged, closed) == _bases(ivs, closed)
            assert sum(e - s + (1 if closed else 0) for _, s, e in merged) == len(_bases(ivs, closed))  # disjoint
            other = [(c, s, e, st) for c, s, e, st in fn_intervals._random_intervals(rng, 6, closed, strand=True)]
            sub = _first_variant("subtract_intervals", closed=closed, whole=False, min_len=1, same_strand=False)
            pieces = _call(sub.reference, sub.name, ivs, other)
            assert _bases(pieces, closed) == _bases(ivs, closed) - _bases(other, closed)
            sizes = {"chr1": 200, "chr2": 150, "chr10": 120}
            comp = _first_variant("uncovered_regions", closed=closed, min_len=1, keep_bare=True, totals=False)
            gaps = _call(comp.reference, comp.name, [iv[:3] for iv in ivs], sizes)
            genome = {(c, b) for c, n in sizes.items() for b in (range(1, n + 1) if closed else range(n))}
            assert _bases(gaps, closed) == genome - _bases(ivs, closed)


def test_coverage_and_clusters_match_base_counts() -> None:
    rng = random.Random(12)
    for closed in (True, False):
        for _ in range(10):
            ivs = fn_intervals._random_intervals(rng, 12, closed, strand=True, empty=True, span=80)
            reads = [(c, s, e, st, 60) for c, s, e, st in ivs]
            depth_fn = _first_variant("coverage_depth", closed=closed, strand="any", min_mapq=0, output="per_base")
            depth = _call(depth_fn.reference, depth_fn.name, reads, "chr1", 90)
            first = 1 if closed else 0
            covered = [_bases([iv], closed) for iv in ivs]
            assert depth == [sum(("chr1", first + i) in bases for bases in covered) for i in range(90)]
            hist_fn = _first_variant("coverage_histogram", closed=closed, cap=None, fraction=False, per_chrom=False)
            hist = _call(hist_fn.reference, hist_fn.name, [iv[:3] for iv in ivs], {"chr1": 90})
            assert hist == {d: depth.count(d) for d in set(depth)}
            for max_gap in (-1, 0, 3):
                merge_fn = _first_variant("merge_intervals", closed=closed, max_gap=max_gap, with_count=True, stranded=True)
                cluster_fn = _first_variant("cluster_intervals", closed=closed, max_gap=max_gap, stranded=True)
                merged = _call(merge_fn.reference, merge_fn.name, ivs)
                clusters = _call(cluster_fn.reference, cluster_fn.name, ivs)
                spans: dict[int, tuple] = {}
                for chrom, s, e, strand, cid in clusters:
                    c0, s0, e0, st0, n0 = spans.get(cid, (chrom, s, e, strand, 0))
                    assert (c0, st0) == (chrom, strand)
                    spans[cid] = (chrom, min(s0, s), max(e0, e), strand, n0 + 1)
                assert sorted(spans.values()) == sorted(merged)


def test_kmeans_run_to_convergence_matches_scikit_learn() -> None:
    cluster = pytest.importorskip("sklearn.cluster")
    rng = random.Random(2)
    for k in (2, 3, 4):
        variant = _first_variant("kmeans_labels", k=k, init="first", standardize=False, max_iter=100)
        centres = [(rng.uniform(-20, 20), rng.uniform(-20, 20)) for _ in range(k)]
        points = [[rng.gauss(cx, 2.0), rng.gauss(cy, 2.0)] for cx, cy in (rng.choice(centres) for _ in range(40))]
        ours = _call(variant.reference, variant.name, points)
        model = cluster.KMeans(n_clusters=k, init=np.asarray(points[:k]), n_init=1, max_iter=300, tol=0.0, algorithm="lloyd")
        assert ours == model.fit(np.asarray(points)).labels_.tolist()


def test_pca_and_silhouette_match_scikit_learn() -> None:
    decomposition = pytest.importorskip("sklearn.decomposition")
    metrics = pytest.importorskip("sklearn.metrics")
    import pandas as pd

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.gamma(2.0, 30.0, size=(15, 5)), columns=list("abcde"))
    variant = _first_variant("pca_variance_explained", scale=False, n_comp=3, log_first=False, cumulative=False)
    theirs = decomposition.PCA(n_components=3).fit(frame.to_numpy()).explained_variance_ratio_
    assert _call(variant.reference, variant.name, frame) == pytest.approx(list(theirs), rel=1e-9)
    points = rng.normal(size=(18, 3)).tolist()
    labels = [i % 3 for i in range(18)]
    for metric, theirs_metric in (("euclidean", "euclidean"), ("cityblock", "manhattan"), ("cosine", "cosine")):
        variant = _first_variant("silhouette", metric=metric, output="per_sample", standardize=False)
        expected = metrics.silhouette_samples(np.asarray(points), labels, metric=theirs_metric)
        assert _call(variant.reference, variant.name, points, labels) == pytest.approx(list(expected), rel=1e-6, abs=1e-9)


# -- through the package and the env --------------------------------------------------------------


def _dataset() -> Any:
    from medagentgym.catalog import get_dataset

    try:
        dataset = get_dataset("biocoder")
    except KeyError:
        return None
    return dataset if set(FAMILIES) <= {c.name for c in dataset.categories()} else None


@pytest.mark.skipif(_dataset() is None, reason="the biocoder package does not list these categories yet")
@pytest.mark.parametrize("category", sorted(FAMILIES))
def test_prompts_hide_reference_cases_and_values(category: str) -> None:
    dataset = _dataset()
    for split in ("train", "test"):
        for index in range(4):
            sample = dataset.generate(category, split, index, 0)
            shown = sample.prompt + json.dumps(sample.public_view())
            assert sample.metadata["template"] in {t.key for t in FAMILIES[category].TEMPLATES if t.split == split}
            for case in sample.target.tests.cases:
                assert case.expr not in shown
                assert not [ln for ln in case.setup.splitlines() if len(ln) > 20 and ln in shown]
                for leaf in _leaves(case.expected):
                    assert not (isinstance(leaf, str) and len(leaf) >= 8 and leaf in shown)
            namespace: dict[str, Any] = {}
            _run(sample.solution.code, namespace)  # defines the reference, leaves its source in `answer`
            body = namespace["answer"].split("def ", 1)[1]
            assert not [ln for ln in body.splitlines() if len(ln.strip()) > 20 and ln.strip() in shown]


GAMING = {
    "empty": "def {name}(*args, **kwargs):\n    pass\n",
    "prints": "def {name}(*args, **kwargs):\n    print(args)\n",
    "always-equal": (
        "class _Any(list):\n    def __eq__(self, other):\n        return True\n\n"
        "def {name}(*args, **kwargs):\n    return _Any()\n"
    ),
    "reads-the-harness": (
        "import inspect, os\n\ndef {name}(*args, **kwargs):\n"
        "    seen = [sorted(f.frame.f_globals) for f in inspect.stack()]\n"
        "    files = {{p: open(p, errors='replace').read()[:200] for p in os.listdir('.') if os.path.isfile(p)}}\n"
        "    return [seen, files]\n"
    ),
    "patched-builtins": (
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\n\n"
        "def {name}(*args, **kwargs):\n    return []\n"
    ),
}


@pytest.mark.slow
@pytest.mark.skipif(_dataset() is None, reason="the biocoder package does not list these categories yet")
@pytest.mark.parametrize("category", sorted(FAMILIES))
def test_samples_through_the_env(sandbox_server, category: str) -> None:
    from medagentgym.env import MedAgentEnv
    from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
    from medagentgym.rollout import run_episode

    dataset = _dataset()
    env = MedAgentEnv(sandbox=sandbox_server)
    try:
        samples = [dataset.generate(category, "train", 5, 0), dataset.generate(category, "test", 3, 0)]
        for sample in samples:
            good = run_episode(env, OraclePolicy(), sample, run_id="h2")
            assert good.success and good.reward == 1.0, (sample.id, good.score)
            bad = run_episode(env, WrongAnswerPolicy(), sample, run_id="h2")
            assert bad.status == "ok" and not bad.success, sample.id
        sample = samples[1]
        entry = sample.target.tests.entry
        for label, code in GAMING.items():
            env.reset(options={"sample": sample})
            _, reward, *_, info = env.step(json.dumps({"action": "submit", "answer": code.format(name=entry)}))
            assert reward < 1.0 and not info["score"].get("correct", False), (label, info["score"])
        # an agent that wrote its own files into the scratch does not change the next grading
        env.reset(options={"sample": sample})
        plant = "import os\nfor n in ('reads.fq', 'calls.vcf', 'aln.sam'):\n    open(n, 'w').write('junk')\n"
        env.step(json.dumps({"action": "execute_python", "code": plant}))
        oracle_answer: dict[str, Any] = {}
        _run(sample.solution.code, oracle_answer)
        _, reward, *_ = env.step(json.dumps({"action": "submit", "answer": oracle_answer["answer"]}))
        assert reward == 1.0
    finally:
        env.close()


def test_case_inputs_are_written_under_workdir_only() -> None:
    """Every file a case writes lands in ``workdir``: running the setups in a temporary directory
    leaves the current directory untouched."""
    before = set(os.listdir("."))
    for _, template in TEMPLATES:
        variant = _variant(template.key, 1)
        with tempfile.TemporaryDirectory() as workdir:
            for case in variant.cases:
                namespace: dict[str, Any] = {"workdir": workdir}
                _run(case.setup, namespace)
    assert set(os.listdir(".")) == before
