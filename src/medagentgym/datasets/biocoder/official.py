"""Reading an official BioCoder row as a program that the sandbox can run and grade.

An official row's ``context`` is a whole script: an import block, helpers, one
``<<insert solution here>>`` line where the function goes (at column 0, or inside a class body
for a method), a ``main()`` that prints, and an ``if __name__ == "__main__":`` block. The
original harness spliced answers in with ``str.replace`` (a method answer lost its class
indentation) and ran the script with subprocesses that delete files. Here the program is
rewritten once, at import time, from its syntax tree (``read_program``):

* the ``__main__`` block is removed: the hidden test calls ``main()`` itself;
* ``subprocess.run('rm -rf PATH', shell=True, ...)`` and ``mkdir PATH`` become ``shutil`` /
  ``os`` calls (sessions may not start processes); a shell command that cannot be translated
  is left alone, and the row is skipped as "shell command";
* top-level imports whose names neither the program nor the reference solution uses are
  dropped: every official row carries the same long import block, and without this one missing
  heavy package would sink every row instead of the rows that need it.

The tree only *finds* what to change; the edits replace whole lines of the original text, so
the code that stays keeps its layout (the part before the placeholder is what the agent reads).

The placeholder line is kept in the rewritten context: ``scoring.code_tests.splice_submission``
puts a submission there, indented like that line.

The category of a row (one of the eight biocoder categories) comes from ``category_of``, a
keyword rule documented in ``docs/biocoder.md``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from medagentgym.catalog.sample import PLACEHOLDER

# -- why a row is skipped ---------------------------------------------------------------------

INVALID = "invalid row"
DUPLICATE = "duplicate row"
NO_PLACEHOLDER = "no placeholder"
UNPARSABLE = "unparsable"
NO_MAIN = "no main()"
SHELL = "shell command"
MISSING_MODULE = "missing module"
NUMPY2 = "numpy-2 API removal"
EXCEPTION = "other exception"
TIME_LIMIT = "time limit"
OUTPUT_CAP = "output over the cap"
NONDETERMINISTIC = "nondeterministic output"
NO_OUTPUT = "prints nothing"
INDEPENDENT = "output independent of the function"

#: Every reason a row can be skipped for, in the order reports list them.
REASONS: tuple[str, ...] = (
    INVALID,
    DUPLICATE,
    NO_PLACEHOLDER,
    UNPARSABLE,
    NO_MAIN,
    SHELL,
    MISSING_MODULE,
    NUMPY2,
    EXCEPTION,
    TIME_LIMIT,
    OUTPUT_CAP,
    NONDETERMINISTIC,
    NO_OUTPUT,
    INDEPENDENT,
)


class RowSkip(ValueError):
    """A row that does not become a sample: ``reason`` is one of ``REASONS``, ``detail`` says more."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# -- the rewritten program ----------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """An official context rewritten for the sandbox, with what was changed.

    ``context`` keeps the placeholder line (at ``placeholder_line``, 0-based); ``method_of`` is the
    class whose body holds it (None for a module-level function). ``modules`` are the top-level
    packages the program and the reference solution import outside an ``ImportError`` guard (what
    must be installed for the row to run).
    """

    context: str
    entry: str
    placeholder_line: int
    method_of: str | None
    rewrites: tuple[str, ...]
    dropped_imports: tuple[str, ...]
    modules: tuple[str, ...]
    relative_imports: tuple[str, ...] = field(default=())

    @property
    def before_placeholder(self) -> str:
        """The program up to the placeholder: imports, constants, helpers, the class header."""
        return "\n".join(self.context.split("\n")[: self.placeholder_line])

    @property
    def placeholder_indent(self) -> str:
        line = self.context.split("\n")[self.placeholder_line]
        return line[: len(line) - len(line.lstrip())]


_DEF_NAME = re.compile(r"\bdef\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_SHELL_CALLS = {
    ("subprocess", "run"),
    ("subprocess", "call"),
    ("subprocess", "check_call"),
    ("subprocess", "check_output"),
    ("subprocess", "Popen"),
    ("os", "system"),
    ("os", "popen"),
}
_RM = re.compile(r"\s*rm\s+-(?:rf|fr|Rf|fR|r|R|f)\s+")
_MKDIR = re.compile(r"\s*mkdir(?:\s+-p)?\s+")
_UNSAFE_PATH = re.compile(r"[\s*?\[\]$;&|<>()`'\"~{}\\!#]")
_IMPORT_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def entry_name(signature: str) -> str:
    """The function's name in an official ``signature`` (decorator lines allowed)."""
    match = _DEF_NAME.search(signature)
    if match is None:
        raise RowSkip(UNPARSABLE, "the signature names no function (no 'def name(')")
    return match.group(1)


def _lines(text: str) -> list[str]:
    """Lines as the Python tokenizer counts them (``\\n``, ``\\r\\n`` and ``\\r`` end a line)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _parse(source: str, what: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise RowSkip(UNPARSABLE, f"{what} does not parse: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise RowSkip(UNPARSABLE, f"{what} does not parse: {type(exc).__name__}") from None


def _placeholder_index(lines: Sequence[str]) -> int:
    found = [i for i, line in enumerate(lines) if line.strip() == PLACEHOLDER]
    if not found:
        raise RowSkip(NO_PLACEHOLDER, f"the context holds no line {PLACEHOLDER!r}")
    if len(found) > 1:
        raise RowSkip(NO_PLACEHOLDER, f"the context holds {len(found)} placeholder lines, not one")
    return found[0]


def _parse_program(lines: list[str], index: int) -> ast.Module:
    """The program's tree, with ``pass`` standing in for the placeholder line."""
    line = lines[index]
    stand_in = [*lines[:index], line[: len(line) - len(line.lstrip())] + "pass", *lines[index + 1 :]]
    return _parse("\n".join(stand_in), "the context")


def _bodies(node: ast.AST) -> Iterator[tuple[ast.AST, list[ast.stmt]]]:
    """Every statement list in the tree, with the node that owns it."""
    for name in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(node, name, None)
        if isinstance(block, list) and block and isinstance(block[0], (ast.stmt, ast.excepthandler)):
            yield node, block  # type: ignore[misc]
            for child in block:
                yield from _bodies(child)
    if isinstance(node, ast.Match):
        for case in node.cases:
            yield case, case.body
            for child in case.body:
                yield from _bodies(child)


def _placeholder_scope(tree: ast.Module, index: int) -> tuple[str | None, list[ast.stmt]]:
    """(None or the class name, the statement list) where the stand-in for the placeholder sits.

    The placeholder must be a statement of the module or of a class body: anywhere else (inside a
    function, a loop) the submitted function would not be where ``main()`` can reach it.
    """
    for owner, block in _bodies(tree):
        for stmt in block:
            if isinstance(stmt, ast.Pass) and stmt.lineno == index + 1:
                if owner is tree:
                    return None, block
                if isinstance(owner, ast.ClassDef):
                    return owner.name, block
                raise RowSkip(NO_PLACEHOLDER, "the placeholder is not at module or class level")
    raise RowSkip(NO_PLACEHOLDER, "the placeholder line is not a statement of its own")


def _owns_lines(stmt: ast.stmt, lines: Sequence[str]) -> bool:
    """Whether ``stmt`` alone occupies its lines (no ``a; b``), so they can be replaced whole."""
    first = lines[stmt.lineno - 1]
    if first[: stmt.col_offset].strip() or len(first) - len(first.lstrip()) != stmt.col_offset:
        return False
    end = stmt.end_lineno or stmt.lineno
    tail = lines[end - 1].encode("utf-8")[stmt.end_col_offset or 0 :].decode("utf-8", "replace").strip()
    return not tail or tail.startswith("#")


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    test = stmt.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


@dataclass
class _Edit:
    start: int  # first line replaced (0-based)
    end: int  # one past the last line replaced
    text: list[str]


def _apply(lines: list[str], edits: Iterable[_Edit]) -> list[str]:
    out = list(lines)
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        out[edit.start : edit.end] = edit.text
    return out


def _call_name(call: ast.Call) -> tuple[str, str] | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    return None


def _command_parts(node: ast.expr) -> list[str | ast.expr] | None:
    """A shell command as literal text and simple interpolated expressions, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if not isinstance(node, ast.JoinedStr):
        return None
    parts: list[str | ast.expr] = []
    for value in node.values:
        literal = isinstance(value, ast.Constant) and isinstance(value.value, str)
        simple = (
            isinstance(value, ast.FormattedValue)
            and value.conversion == -1
            and value.format_spec is None
            and isinstance(value.value, (ast.Name, ast.Attribute, ast.Constant))
        )
        if not (literal or simple):
            return None
        parts.append(value.value)  # the text of a literal, the expression of a placeholder
    return parts


def _path_source(parts: list[str | ast.expr]) -> str | None:
    """The Python source of the single path the command's remaining parts spell, or None."""
    parts = [p for p in parts if not (isinstance(p, str) and p == "")]
    if not parts:
        return None
    if parts and isinstance(parts[-1], str):
        parts[-1] = parts[-1].rstrip()
    for part in parts:
        if isinstance(part, str) and _UNSAFE_PATH.search(part):
            return None
    if len(parts) == 1 and isinstance(parts[0], str):
        return repr(parts[0]) if parts[0] else None
    values: list[ast.expr] = [
        ast.Constant(value=p) if isinstance(p, str) else ast.FormattedValue(value=p, conversion=-1, format_spec=None)
        for p in parts
    ]
    return ast.unparse(ast.JoinedStr(values=values))


def _translate_shell(call: ast.Call) -> tuple[str, set[str], str] | None:
    """(replacement source, modules it needs, description) for ``rm -rf PATH`` / ``mkdir PATH``."""
    if not call.args:
        return None
    parts = _command_parts(call.args[0])
    if not parts or not isinstance(parts[0], str):
        return None
    for pattern, kind in ((_RM, "rm"), (_MKDIR, "mkdir")):
        match = pattern.match(parts[0])
        if match is None:
            continue
        path = _path_source([parts[0][match.end() :], *parts[1:]])
        if path is None:
            return None
        if kind == "rm":
            source = (
                f"shutil.rmtree({path}) if os.path.isdir({path}) and not os.path.islink({path}) "
                f"else os.remove({path}) if os.path.lexists({path}) else None"
            )
            return source, {"os", "shutil"}, "rm -rf -> shutil.rmtree/os.remove"
        return f"os.makedirs({path}, exist_ok=True)", {"os"}, "mkdir -> os.makedirs"
    return None


def _binds_module(tree: ast.Module, module: str) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, ast.Import) and any(a.name == module and a.asname is None for a in stmt.names):
            return True
    return False


def _insertion_line(tree: ast.Module) -> int:
    """Where a new top-level import goes: after the docstring and ``from __future__`` imports."""
    line = 0
    for i, stmt in enumerate(tree.body):
        docstring = i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if not (docstring or future):
            break
        line = stmt.end_lineno or stmt.lineno
    return line


def _own_copies(lines: list[str], scope: list[ast.stmt], entry: str) -> list[_Edit]:
    """Edits removing the program's own definitions of ``entry`` beside the placeholder.

    Some official contexts already define the asked function next to the placeholder: after it,
    the copy replaces any submission (every answer passes); before it, the prompt would show the
    reference. Either way the copy goes, so ``main()`` calls the submitted function.
    """
    edits = []
    for stmt in scope:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == entry:
            first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            end = stmt.end_lineno or stmt.lineno
            tail = lines[end - 1].encode("utf-8")[stmt.end_col_offset or 0 :].strip()
            if len(indent) != stmt.col_offset or (tail and not tail.startswith(b"#")):
                raise RowSkip(UNPARSABLE, f"the program's own copy of {entry!r} shares its lines with other code")
            edits.append(_Edit(first - 1, end, []))
    return edits


def _first_pass(
    lines: list[str], index: int, tree: ast.Module, scope: list[ast.stmt], entry: str
) -> tuple[list[str], list[str]]:
    """Remove the ``__main__`` block and the program's own copies of ``entry``, translate shell
    commands; (new lines, rewrites applied)."""
    edits: list[_Edit] = _own_copies(lines, scope, entry)
    rewrites: list[str] = ["removed the program's own copy of the function"] if edits else []
    for stmt in tree.body:
        if _is_main_guard(stmt):
            end = stmt.end_lineno or stmt.lineno
            if stmt.lineno - 1 <= index < end:
                raise RowSkip(NO_PLACEHOLDER, "the placeholder sits inside the __main__ block")
            edits.append(_Edit(stmt.lineno - 1, end, []))
            rewrites.append("removed the __main__ block")
    untranslated: list[str] = []
    needed: set[str] = set()
    removed = [(e.start, e.end) for e in edits]
    for _owner, block in _bodies(tree):
        for stmt in block:
            if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
                continue
            if _call_name(stmt.value) not in _SHELL_CALLS:
                continue
            if any(a <= stmt.lineno - 1 < b for a, b in removed):
                continue  # inside the removed __main__ block
            translated = _translate_shell(stmt.value) if _owns_lines(stmt, lines) else None
            if translated is None:
                untranslated.append(ast.unparse(stmt)[:120])
                continue
            source, modules, what = translated
            indent = lines[stmt.lineno - 1][: stmt.col_offset]
            edits.append(_Edit(stmt.lineno - 1, stmt.end_lineno or stmt.lineno, [indent + source]))
            needed |= modules
            rewrites.append(what)
    # Any other call of a shell function (not a statement of its own, e.g. assigned) stays too.
    translated_calls = {id(s.value) for _o, b in _bodies(tree) for s in b if isinstance(s, ast.Expr)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and _call_name(node) in _SHELL_CALLS
            and id(node) not in translated_calls
            and not any(a <= node.lineno - 1 < b for a, b in removed)
        ):
            untranslated.append(ast.unparse(node)[:120])
    if untranslated:
        raise RowSkip(SHELL, f"runs a shell command the sandbox refuses: {untranslated[0]}")
    missing = sorted(m for m in needed if not _binds_module(tree, m))
    if missing:
        at = _insertion_line(tree)
        edits.append(_Edit(at, at, [f"import {m}" for m in missing]))
        rewrites.append(f"added import {', '.join(missing)}")
    return _apply(lines, edits), rewrites


def _used_names(trees: Iterable[ast.AST], skip: set[int]) -> set[str]:
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
    return names


def _bound_name(alias: ast.alias, from_import: bool) -> str:
    if alias.asname:
        return alias.asname
    return alias.name if from_import else alias.name.split(".")[0]


def _second_pass(lines: list[str], tree: ast.Module, solution: ast.Module) -> tuple[list[str], list[str]]:
    """Drop top-level imports nothing uses; (new lines, what was dropped)."""
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    used = _used_names([tree, solution], skip=set())
    edits: list[_Edit] = []
    dropped: list[str] = []
    for stmt in imports:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            continue
        from_import = isinstance(stmt, ast.ImportFrom)
        kept = [a for a in stmt.names if a.name == "*" or _bound_name(a, from_import) in used]
        if len(kept) == len(stmt.names) or not _owns_lines(stmt, lines):
            continue
        gone = [a for a in stmt.names if a not in kept]
        prefix = f"{stmt.module}." if isinstance(stmt, ast.ImportFrom) and stmt.module else ""
        dropped.extend(f"{prefix}{a.name}" for a in gone)
        text: list[str] = []
        if kept:
            new: ast.stmt
            if isinstance(stmt, ast.ImportFrom):
                new = ast.ImportFrom(module=stmt.module, names=kept, level=stmt.level)
            else:
                new = ast.Import(names=kept)
            text = [ast.unparse(new)]
        edits.append(_Edit(stmt.lineno - 1, stmt.end_lineno or stmt.lineno, text))
    return _apply(lines, edits), dropped


def _guarded(handlers: list[ast.ExceptHandler]) -> bool:
    for handler in handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(t, ast.Name) and t.id in _IMPORT_GUARDS for t in types):
            return True
    return False


def _imported_modules(tree: ast.AST, guarded: bool = False) -> Iterator[tuple[str, bool]]:
    """(module, relative?) of every import outside a ``try`` that catches ImportError."""
    if isinstance(tree, (ast.Try, ast.TryStar)):
        inner = guarded or _guarded(tree.handlers)
        for stmt in tree.body:
            yield from _imported_modules(stmt, inner)
        for stmt in [*tree.handlers, *tree.orelse, *tree.finalbody]:
            yield from _imported_modules(stmt, guarded)
        return
    if not guarded:
        if isinstance(tree, ast.Import):
            for alias in tree.names:
                yield alias.name.split(".")[0], False
        elif isinstance(tree, ast.ImportFrom):
            if tree.level:
                yield "." * tree.level + (tree.module or ""), True
            elif tree.module:
                yield tree.module.split(".")[0], False
    for child in ast.iter_child_nodes(tree):
        yield from _imported_modules(child, guarded)


def _defines_top_level(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and s.name == name for s in tree.body
    )


def read_program(context: str, solution: str, signature: str) -> Program:
    """The official ``context`` rewritten for the sandbox (see the module docstring).

    Raises RowSkip when the row cannot be graded: no (or several) placeholder lines, code that
    does not parse, no ``main()``, a shell command that cannot be translated, a reference that
    does not define the signature's function.
    """
    try:
        return _read_program(context, solution, signature)
    except RecursionError:  # a tree the parser accepts can still be too deep to walk recursively
        raise RowSkip(UNPARSABLE, "the code is nested too deeply to analyse") from None


def _read_program(context: str, solution: str, signature: str) -> Program:
    entry = entry_name(signature)
    lines = _lines(context)
    index = _placeholder_index(lines)
    solution_tree = _parse(textwrap.dedent(solution.replace("\r\n", "\n").expandtabs(4)), "the reference solution")
    if not _defines_top_level(solution_tree, entry):
        raise RowSkip(UNPARSABLE, f"the reference solution does not define {entry!r}")
    tree = _parse_program(lines, index)
    method_of, scope = _placeholder_scope(tree, index)
    if not _defines_top_level(tree, "main"):
        raise RowSkip(NO_MAIN, "the program defines no main() to call")
    lines, rewrites = _first_pass(lines, index, tree, scope, entry)
    index = _placeholder_index(lines)
    tree = _parse_program(lines, index)
    lines, dropped = _second_pass(lines, tree, solution_tree)
    if dropped:
        rewrites.append(f"dropped {len(dropped)} unused imports")
    index = _placeholder_index(lines)
    tree = _parse_program(lines, index)
    found = sorted({*_imported_modules(tree), *_imported_modules(solution_tree)})
    return Program(
        context="\n".join(lines).rstrip("\n") + "\n",
        entry=entry,
        placeholder_line=index,
        method_of=method_of,
        rewrites=tuple(rewrites),
        dropped_imports=tuple(dropped),
        modules=tuple(m for m, relative in found if not relative),
        relative_imports=tuple(m for m, relative in found if relative),
    )


def stub_source(entry: str) -> str:
    """A function of the right name that does nothing: a row whose ``main()`` prints the same with
    it as with the reference does not test the function (its output is skipped as independent)."""
    return f"def {entry}(*args, **kwargs):\n    return None\n"


# -- the prompt ---------------------------------------------------------------------------------


def render_prompt(problem: str, signature: str, program: Program) -> str:
    """What the agent reads: the task, the signature and the program up to the placeholder.

    Never the part after the placeholder (``main()``, the hidden harness) and never the solution.
    """
    where = (
        f"as a method of class `{program.method_of}` (write it at column 0 or indented: it is placed in the "
        "class body)"
        if program.method_of
        else "as a module-level function"
    )
    marker = f"{program.placeholder_indent}# <- your `{program.entry}` goes here"
    prefix = program.before_placeholder.strip("\n")
    listing = f"{prefix}\n{marker}" if prefix.strip() else marker
    return (
        f"{problem.strip()}\n\n"
        f"Signature:\n{signature.strip()}\n\n"
        f"Your function is loaded {where} into the program below, at the marked line. It may use the "
        "imports, constants, helpers and classes defined above that line. Hidden tests then run the "
        "program and compare what it prints with the expected output.\n\n"
        f"Submit the complete source of `{program.entry}` (its decorators and `def` line included) as "
        "a JSON string.\n\n"
        f"```python\n{listing}\n```\n"
    )


# -- the category rule -------------------------------------------------------------------------

#: The eight biocoder categories, in tie-break order (the first wins a tie).
CATEGORIES: tuple[str, ...] = (
    "image_processing",
    "alignment",
    "file_formats",
    "intervals",
    "sequences",
    "tabular_clustering",
    "statistics",
    "numeric_arrays",
)

#: Keywords per category. Each keyword found (as a whole word or phrase, case folded) in the row's
#: problem text, signature and reference solution adds one point; the category with most points
#: wins, ties go to the first in ``CATEGORIES``; a row without any hit is ``numeric_arrays``.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "image_processing": (
        "image", "images", "pixel", "pixels", "pixel_data", "skimage", "centrosome", "morphology",
        "structuring element", "structuring_element", "erosion", "dilation", "labels", "labeled",
        "labeled_image", "segmentation", "segmented", "convex hull", "outlines", "ndimage",
        "illumination", "colocalization", "regionprops", "mask",
    ),
    "alignment": (
        "alignment", "aligned", "align", "aln", "identity", "hamming", "edit distance",
        "levenshtein", "pairwise", "overlap", "substitution", "gap", "gaps", "msa", "blast",
    ),
    "file_formats": (
        "file", "filename", "file name", "file_name", "fasta", "fastq", "fn", "vcf", "gff", "sam",
        "bam", "bed", "bim", "csv", "header", "open", "read_csv", "pdb", "uniprot", "latex", "tex",
        "parse", "lines",
    ),
    "intervals": (
        "interval", "intervals", "bin", "bins", "segment", "segments", "chromosome", "chrom",
        "coverage", "depth", "breakpoint", "breakpoints", "coordinates", "copy number", "ploidy",
        "cnarr", "log2", "bedcov", "genomic", "region", "regions", "insert size", "target",
    ),
    "sequences": (
        "sequence", "sequences", "dna", "rna", "protein", "nucleotide", "nucleotides", "codon",
        "kmer", "kmers", "k-mer", "k-mers", "allele", "alleles", "contig", "contigs", "gene",
        "genes", "residue", "resname", "atom", "hydrogen", "amino", "read", "reads", "base", "bases", "string",
        "regular expression",
    ),
    "tabular_clustering": (
        "cluster", "clusters", "clustering", "kmeans", "k-means", "pca", "markov", "dataframe",
        "pandas", "table", "column", "columns", "rows", "matrix", "samples",
    ),
    "statistics": (
        "p-value", "p-values", "pvalue", "median", "mean", "standard deviation", "std", "variance",
        "outlier", "outliers", "probability", "probabilities", "z-test", "benjamini", "hochberg",
        "mad", "biweight", "density", "kde", "statistic", "regression", "ec50", "dosage", "iqr",
        "quantile", "percentile", "stats", "weighted", "random", "distribution",
    ),
    "numeric_arrays": (
        "array", "arrays", "numpy", "convolve", "convolution", "smooth", "smoothing", "signal",
        "window", "peak", "peaks", "wavelet", "haar", "interpolate", "interpolation", "resize",
        "vector", "cumulative", "savgol",
    ),
}

_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    category: tuple(re.compile(rf"(?<![a-z0-9_]){re.escape(word)}(?![a-z0-9_])") for word in words)
    for category, words in KEYWORDS.items()
}


def category_scores(problem: str, signature: str, solution: str) -> dict[str, int]:
    """Points per category (keywords found) over the row's problem, signature and solution."""
    text = f"{problem}\n{signature}\n{solution}".casefold()
    return {category: sum(1 for p in _PATTERNS[category] if p.search(text)) for category in CATEGORIES}


def category_of(problem: str, signature: str, solution: str) -> str:
    """The row's category by the keyword rule (see ``KEYWORDS``)."""
    scores = category_scores(problem, signature, solution)
    best = max(scores.values())
    if best == 0:
        return "numeric_arrays"
    return next(c for c in CATEGORIES if scores[c] == best)
