"""The Sample: one task instance with its hidden target and a reference solution.

Everything here is serialized (trajectories, imported task files), so it is pydantic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")


class AnswerType(StrEnum):
    """How a submitted answer is parsed and compared; one scorer per type."""

    NUMBER = "number"  # float, compared with a tolerance or an official [lower, upper] range
    INTEGER = "integer"  # exact integer (scores, counts)
    STRING = "string"  # one string, compared after normalisation
    STRING_SET = "string_set"  # unordered set of strings: all gold items, no extras
    ORDERED_LIST = "ordered_list"  # list of strings whose order matters
    DATE = "date"  # calendar date (ISO 8601 after parsing), optionally a datetime
    BOOLEAN = "boolean"  # true / false
    WEEKS_DAYS = "weeks_days"  # a duration as whole weeks plus 0-6 days (gestational age)
    CODE_TESTS = "code_tests"  # code checked by hidden tests after submission (Target.tests)
    PREDICTIONS = "predictions"  # a predictions file scored by AUROC on hidden labels (Target.predictions)


class FieldCheck(BaseModel):
    """One condition on a resource the episode created (write tasks).

    ``path`` is a dotted element path whose arrays are flattened at every step
    (``dosageInstruction.doseAndRate.doseQuantity.value``); ``a.b|c.d`` pools the values of
    alternative paths (a route given as text or as a coding). With ``match="all"`` every value found
    there must pass and at least one must exist, so a resource cannot hedge with two doses; with
    ``"any"`` one passing value is enough (a code among several codings). Operations:

    - ``equals``: JSON equality; ``text``: strings equal after case folding and collapsing spaces;
    - ``number``: a JSON number within ``tolerance`` (absolute) of ``value``;
    - ``instant``: an ISO date-time *with* a time zone within ``tolerance`` seconds of ``value``;
    - ``reference``: ``value`` (``Patient/S1234567``) itself or an absolute URL ending with it;
    - ``coding``: an object whose ``system`` and ``code`` equal those of ``value``.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    op: Literal["equals", "text", "number", "instant", "reference", "coding"]
    value: Any
    tolerance: float = 0.0
    match: Literal["all", "any"] = "all"
    label: str = ""  # what the check is about, for explanations ("dose", "subject")


class ExpectedWrite(BaseModel):
    """A resource the episode must have created: its type and the checks it must pass."""

    model_config = ConfigDict(frozen=True)

    resource_type: str
    description: str  # e.g. "IV magnesium order, 2 g over 2 h", quoted in explanations
    checks: tuple[FieldCheck, ...] = ()


class StateTarget(BaseModel):
    """What an episode's record store must hold at the end, beyond its template (write tasks).

    Each expected write must be matched by its own created resource; with
    ``forbid_other_writes`` any created resource left unmatched (a second copy, an order for
    the wrong patient, an order nobody asked for) makes the episode wrong. An empty ``creates``
    with ``forbid_other_writes`` means "create nothing". Graded from the store's state, never
    from what the agent printed.
    """

    model_config = ConfigDict(frozen=True)

    creates: tuple[ExpectedWrite, ...] = ()
    forbid_other_writes: bool = True


#: Answer types graded by parsing and comparing a submitted value: all but hidden tests and
#: predictions, whose grading reads the session (``scoring/code_tests.py``,
#: ``scoring/predictions.py``) instead of parsing the submitted value alone.
VALUE_ANSWER_TYPES: tuple[AnswerType, ...] = tuple(
    t for t in AnswerType if t not in (AnswerType.CODE_TESTS, AnswerType.PREDICTIONS)
)

#: The line of a ``CodeTests.context`` where the submitted source is spliced in (indented like it).
PLACEHOLDER = "<<insert solution here>>"


class TestCase(BaseModel):
    """One hidden test: code run in the sandbox, and what it must produce (judged on the host).

    The sandbox runs ``setup`` (statements) and then evaluates ``expr``; the value is encoded to
    plain JSON there (``medagentgym.codetests.probe.encode``) and compared with ``expected`` here,
    in the harness process, with ``rel_tol``/``abs_tol`` for numbers. With ``expr`` empty the
    test observes what ``setup`` printed: ``expected`` is then that stdout text (compared with
    trailing spaces and blank lines at the end ignored). ``expected`` never enters any sandbox.

    ``setup`` and ``expr`` may use the name ``workdir``: a directory for input files, the
    session's working directory in the sandbox (a temporary directory when a generator computes
    ``expected`` in its own process).
    """

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class

    name: str  # what explanations call it, e.g. "reverse_complement('ACGTN')"
    setup: str = ""
    expr: str = ""
    expected: Any = None
    rel_tol: float = Field(default=1e-6, ge=0)
    abs_tol: float = Field(default=1e-9, ge=0)


class CodeTests(BaseModel):
    """Hidden tests of a code answer (``AnswerType.CODE_TESTS``).

    - ``mode="function"``: the submission is the source of ``entry`` (a function, or a method
      when the placeholder of ``context`` sits inside a class). The grader splices it into
      ``context`` at the ``PLACEHOLDER`` line, indented like that line (no context: the source
      alone), loads the module in a **fresh** session with the sample's resources, runs
      ``prelude`` and then every case.
    - ``mode="namespace"``: the submission only ends the episode; the cases are evaluated in the
      episode's **own** session after its last step, over the ``variables`` the task asked to
      leave there.

    Score = passed cases / cases; correct only when all pass. Each case runs as its own step
    with ``timeout_s``.
    """

    model_config = ConfigDict(frozen=True)

    mode: Literal["function", "namespace"]
    entry: str = ""
    context: str = ""
    prelude: str = ""
    variables: tuple[str, ...] = ()
    cases: tuple[TestCase, ...] = Field(min_length=1)
    timeout_s: float = Field(default=10.0, gt=0)

    @property
    def method(self) -> bool:
        """Whether the submission goes into a class body (the placeholder line is indented)."""
        return any(line.strip() == PLACEHOLDER and line[:1] in (" ", "\t") for line in self.context.splitlines())


class PredictionTask(BaseModel):
    """Hidden labels of a prediction answer (``AnswerType.PREDICTIONS``) and the bar to reach.

    The agent writes a CSV file in its session with a header ``id,<columns...>`` and one row per
    test example (every id of ``ids`` exactly once, nothing else) and submits the file's name.
    The grader reads that file inside the episode's session, so the labels never travel there,
    and computes on the host:

    - ``binary``: AUROC of the one column (``columns == ("score",)``, higher = more likely 1);
      ``labels`` holds 0/1 per id;
    - ``multiclass``: macro one-vs-rest AUROC, one score column per class; ``labels`` holds the
      class index (into ``columns``) per id;
    - ``multilabel``: macro AUROC over labels, one score column per label; ``labels`` holds a
      tuple of 0/1 per id (one per column).

    Success means ``metric >= bar``. ``bar`` is set per task at build time from a baseline (the
    dataset says which); ``baseline`` and ``oracle`` are that baseline's and the oracle bound's
    (the model that knows the latent state) AUROC on this very test set, reported beside it.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["binary", "multiclass", "multilabel"]
    columns: tuple[str, ...] = Field(min_length=1)
    ids: tuple[str, ...] = Field(min_length=2)
    labels: tuple[Any, ...]
    bar: float = Field(ge=0.0, le=1.0)
    baseline: float = Field(ge=0.0, le=1.0)
    oracle: float = Field(ge=0.0, le=1.0)
    baseline_name: str = "logistic regression"
    file: str = "predictions.csv"  # the name the prompt suggests

    @model_validator(mode="after")
    def _consistent(self) -> PredictionTask:
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("prediction ids must be unique")
        if len(self.labels) != len(self.ids):
            raise ValueError("one label per test id")
        if "id" in self.columns or len(set(self.columns)) != len(self.columns):
            raise ValueError("score columns must be distinct and not 'id'")
        if self.kind == "binary":
            if self.columns != ("score",) or any(v not in (0, 1) for v in self.labels):
                raise ValueError("a binary task has the column 'score' and 0/1 labels")
        elif self.kind == "multiclass":
            if len(self.columns) < 2 or any(not isinstance(v, int) or not 0 <= v < len(self.columns) for v in self.labels):
                raise ValueError("a multiclass task has one column per class and class-index labels")
        elif any(len(v) != len(self.columns) or any(x not in (0, 1) for x in v) for v in self.labels):
            raise ValueError("a multilabel task has one 0/1 label per column for every id")
        return self


class Target(BaseModel):
    """The hidden ground truth of a sample and how to compare against it.

    ``value`` is the canonical answer (a float, an int, a string, a list of strings, an ISO date
    string, a bool). ``lower``/``upper`` give an official acceptance range for numbers (as the
    MedCalc-Bench files do); ``rel_tol``/``abs_tol`` apply when no range is given.

    ``state`` (samples with a record store) adds expectations on what the episode created; a
    target with a ``state`` may leave ``value`` None when only the writes are graded (the
    submission then just ends the episode).

    ``tests`` (answer type ``code_tests``) holds the hidden tests that grade a code answer;
    ``value`` is then None. ``predictions`` (answer type ``predictions``) holds the hidden test
    labels and the bar of a prediction task; ``value`` is then None too.
    """

    model_config = ConfigDict(frozen=True)

    answer_type: AnswerType
    value: Any
    lower: float | None = None
    upper: float | None = None
    rel_tol: float | None = None
    abs_tol: float | None = None
    state: StateTarget | None = None
    tests: CodeTests | None = None
    predictions: PredictionTask | None = None

    @model_validator(mode="after")
    def _tests_match_type(self) -> Target:
        if (self.answer_type is AnswerType.CODE_TESTS) != (self.tests is not None):
            raise ValueError("a code_tests target needs tests, and only a code_tests target has them")
        if (self.answer_type is AnswerType.PREDICTIONS) != (self.predictions is not None):
            raise ValueError("a predictions target needs predictions, and only a predictions target has them")
        return self

    @property
    def answer_graded(self) -> bool:
        """False only for a write task whose submission is not graded (``value`` None)."""
        return not (self.state is not None and self.value is None)


class Resource(BaseModel):
    """Something the agent may inspect and use: a SQLite database, a file, a directory, or a
    FHIR record store.

    ``path`` is absolute and points into the user cache (built data) or a user-provided location.
    Databases are always opened read-only. A ``fhir_store``'s path is the split's *template*
    store in the cache (each episode works on its own copy, which the harness makes; the sandbox
    never sees it) or the ``http(s)://`` base URL of a user's FHIR server.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["sqlite", "file", "directory", "fhir_store"]
    name: str
    path: str
    description: str = ""


class Solution(BaseModel):
    """Reference code that provably produces the target when run in the sandbox.

    ``python``: self-contained Python that leaves the answer in a variable named ``answer``.
    Datasets over databases run their gold SQL from Python (the session defines ``DATABASES``),
    so the oracle has one way to read any answer back.

    ``actions``: a JSON list of env actions ending in ``submit`` (tasks over a record store,
    which the sandbox cannot reach): the oracle replays them through the env, so the GETs, the
    POSTs the target expects and the submitted answer (derived by the generator from the same
    store) all go through the real action path.
    """

    model_config = ConfigDict(frozen=True)

    language: Literal["python", "actions"] = "python"
    code: str


class FollowUp(BaseModel):
    """A later question of a sequential sample, shown after the previous answer is submitted.

    It may depend on earlier questions ("of those patients, ..."): the episode's session, with
    its variables, carries over. Each follow-up has its own hidden target and reference solution.
    """

    model_config = ConfigDict(frozen=True)

    prompt: str
    target: Target
    solution: Solution


class Question(BaseModel):
    """One graded question of a sample: the first one or a follow-up (a uniform view of both)."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    target: Target
    solution: Solution


class Sample(BaseModel):
    """One task instance. Deterministic from (dataset, category, split, index, seed).

    A *sequential* sample has ``followups``: the env shows its questions one at a time, grades
    each submitted answer with its own target, and the episode's reward is the mean of the
    sub-scores (success: every sub-answer right). ``prompt``/``target``/``solution`` are the
    first question's, so a sample without follow-ups is an ordinary one-question task.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    dataset: str
    category: str
    split: Split
    index: int
    seed: int
    prompt: str
    resources: tuple[Resource, ...] = ()
    target: Target
    solution: Solution
    metadata: dict[str, Any] = Field(default_factory=dict)
    followups: tuple[FollowUp, ...] = ()

    @property
    def answer_type(self) -> AnswerType:
        return self.target.answer_type

    @property
    def questions(self) -> tuple[Question, ...]:
        """Every graded question in order: the first, then the follow-ups."""
        first = Question(prompt=self.prompt, target=self.target, solution=self.solution)
        rest = tuple(Question(prompt=f.prompt, target=f.target, solution=f.solution) for f in self.followups)
        return (first, *rest)

    def public_view(self) -> dict[str, Any]:
        """What an agent (or `tasks show` without --reveal) may see.

        Metadata is hidden too: datasets keep gold SQL and extracted parameters there. Follow-up
        questions are hidden (with their targets and solutions): only their number is shown,
        since the env reveals each one after the previous answer.
        """
        view = self.model_dump(mode="json", exclude={"target", "solution", "metadata", "followups"})
        view["answer_type"] = self.target.answer_type.value
        if self.followups:
            view["questions"] = 1 + len(self.followups)
        return view


def make_sample_id(dataset: str, category: str, split: Split, index: int, seed: int) -> str:
    """A stable, readable id; the same arguments always give the same id."""
    return f"{dataset}/{category}/{split}/{seed}/{index}"
