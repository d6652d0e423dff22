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

import random
from collections.abc import Callable, Mapping
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
