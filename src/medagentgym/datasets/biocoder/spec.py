"""What a biocoder function family is made of: a template that draws concrete tasks.

A ``FunctionTemplate`` is one bioinformatics function to write (reverse complement with IUPAC
codes, k-mer counting, a FASTA parser, ...). Each draw from it is a ``Variant``: the function's
name, its specification and signature, the project's reference implementation, and the hidden
cases (inputs built by code, with edge cases). A variant's ``params`` are what makes it a
different task (k, a window width, a codon table, an output convention): two variants with the
same params are the same task, so the catalog never holds both.

Templates belong to one split (``split``): a function asked in the test split is never seen in
training, whatever its parameters. The hidden cases' expected values are computed from the
reference implementation in this process (``medagentgym.codetests.reference``) and compared
with what the agent's code returns in the sandbox.
"""

from __future__ import annotations

import inspect
import math
import random
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from medagentgym.catalog.sample import Split, TestCase


@dataclass(frozen=True)
class Variant:
    """One concrete function to write.

    - ``name``: the function's name (what the submission must define).
    - ``signature``: e.g. ``"def count_kmers(seq: str, k: int) -> dict[str, int]"``.
    - ``spec``: the specification shown to the agent: what it computes, the inputs and their
      conventions, the exact return type and order, and how edge cases behave.
    - ``reference``: self-contained source of the reference implementation (its imports
      included); it must define ``name`` and pass every case.
    - ``cases``: hidden tests (``TestCase`` with ``expected`` left None: it is computed). Build
      inputs in ``setup`` or inline in ``expr``; input files go under ``workdir``
      (``os.path.join(workdir, "reads.fq")``), never the current directory.
    - ``params``: what defines this task (JSON-able); the content key of the variant.
    - ``context``: optional helper code shown to the agent and loaded before the submission
      (with the ``PLACEHOLDER`` line where the submission goes); "" when not needed.
    """

    name: str
    signature: str
    spec: str
    reference: str
    cases: tuple[TestCase, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    context: str = ""


@dataclass(frozen=True)
class FunctionTemplate:
    """A function family: a key, its split, and how to draw a variant from a random stream."""

    key: str  # unique across the dataset, e.g. "reverse_complement_iupac"
    split: Split
    draw: Callable[[random.Random], Variant]
    title: str = ""  # a few words, for docs and `tasks list`


# -- helpers for writing families: cases written as calls, references bound from general helpers --

#: Longest case name shown in explanations; longer argument lists are cut with an ellipsis.
MAX_CASE_NAME = 90


def _case_name(text: str) -> str:
    return text if len(text) <= MAX_CASE_NAME else text[: MAX_CASE_NAME - 3] + "..."


def call_case(entry: str, *args: Any, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> TestCase:
    """A case whose value is ``entry(*args)``, the arguments written as Python literals (``repr``
    of str, int, float, bool, None, and lists, tuples and dicts of them)."""
    call = f"{entry}({', '.join(repr(a) for a in args)})"
    return TestCase(name=_case_name(call), expr=call, rel_tol=rel_tol, abs_tol=abs_tol)


def raises_case(entry: str, *args: Any, exception: str = "ValueError") -> TestCase:
    """A case that passes only when ``entry(*args)`` raises ``exception`` (or a subclass of it).

    Its value is the exception's class name, or ``"returned <value>"`` when the call returned:
    either way a string, which the expected name matches only when the function raised.
    """
    call = f"{entry}({', '.join(repr(a) for a in args)})"
    setup = (
        f"try:\n    _biocoder_outcome = 'returned ' + repr({call})\n"
        f"except {exception}:\n    _biocoder_outcome = {exception!r}\n"
    )
    return TestCase(name=_case_name(f"{call} raises {exception}"), setup=setup, expr="_biocoder_outcome")


def reference_source(signature: str, call: str, *helpers: Callable[..., Any]) -> str:
    """The source of a variant's reference implementation: the helpers' own source (each one
    self-contained: it imports what it needs in its body), then the asked function, whose body
    is ``return <call>`` binding the variant's constants.

    Writing the general algorithm once as real, tested Python and specialising it by a one-line
    wrapper keeps the reference readable and the same code the family's own tests exercise.
    """
    parts = [textwrap.dedent(inspect.getsource(helper)).rstrip() for helper in helpers]
    parts.append(f"{signature}:\n    return {call}")
    return "\n\n\n".join(parts) + "\n"


def bind_variant(
    name: str,
    parameters: str,
    returns: str,
    arguments: str,
    helper: Callable[..., Any],
    constants: Mapping[str, Any],
    spec: str,
    cases: Sequence[TestCase],
    params: Mapping[str, Any],
    extra_helpers: Sequence[Callable[..., Any]] = (),
) -> Variant:
    """A variant whose reference is ``def name(parameters) -> returns: return helper(arguments,
    **constants)`` after the helpers' source (``reference_source``): the general algorithm with
    the variant's conventions bound as keyword constants (written with ``repr``)."""
    signature = f"def {name}({parameters}) -> {returns}"
    bound = ", ".join([arguments, *(f"{key}={value!r}" for key, value in constants.items())])
    reference = reference_source(signature, f"{helper.__name__}({bound})", *extra_helpers, helper)
    return Variant(name=name, signature=signature, spec=spec, reference=reference, cases=tuple(cases),
                   params=dict(params))


# -- source builders shared by the families --------------------------------------------------------


def tidy_spec(spec: str) -> str:
    """The specification without trailing spaces on its lines (they come from optional sentences)."""
    return "\n".join(line.rstrip() for line in spec.strip().splitlines())


def case(name: str, setup: str, expr: str) -> TestCase:
    """A case with the default tolerances."""
    return TestCase(name=name, setup=setup, expr=expr)


def float_literal(value: float) -> str:
    """A float as Python source (NaN and infinities as ``float(...)`` calls)."""
    value = float(value)
    if math.isnan(value):
        return "float('nan')"
    if math.isinf(value):
        return "float('inf')" if value > 0 else "float('-inf')"
    return repr(value)


def floats_literal(values: Sequence[float]) -> str:
    """A list of floats as Python source."""
    return "[" + ", ".join(float_literal(v) for v in values) + "]"


def function_source(header: str, lines: Sequence[str], imports: str = "") -> str:
    """A module: imports, then ``def header:`` with the body lines (already relative-indented)."""
    head = f"{imports.strip()}\n\n\n" if imports.strip() else ""
    return head + f"def {header}:\n" + "".join(f"    {ln}\n" if ln else "\n" for ln in lines)


def constants_source(constants: Mapping[str, Any], body: str) -> str:
    """A self-contained reference: the variant's constants, then the (dedented) function."""
    head = "".join(f"{key} = {value!r}\n" for key, value in constants.items())
    return head + "\n\n" + textwrap.dedent(body).strip("\n") + "\n"
