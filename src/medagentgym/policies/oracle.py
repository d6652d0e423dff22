"""Policies that know the answer, for validation and tests.

The oracle behaves like a careful agent that already knows the method: it inspects the resources,
runs the sample's reference solution in the sandbox, reads the answer back from the execution
output and submits it. If the sandbox, the solution or the scorer is broken, the oracle fails, which
is what ``medagentgym validate`` relies on. ``WrongAnswerPolicy`` does the same work and then
submits a deliberately altered answer: it must always score 0.

A solution in the ``actions`` language (tasks over a FHIR record store, which the sandbox cannot
reach) is a JSON list of env actions ending in ``submit``: the oracle replays it action by action
through the env, so its searches, its creates and its answer all take the real path. The
wrong-answer policy replays it without the creates and with an altered answer, so a write task
ends with its orders missing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from medagentgym.catalog.sample import AnswerType, Sample
from medagentgym.policies.base import Policy, PolicyReply
from medagentgym.runs.schema import PolicyInfo
from medagentgym.scoring import parse_answer

ANSWER_MARKER = "__MEDAGENTGYM_ANSWER__"


def _answer_probe(solution_code: str) -> str:
    return (
        f"{solution_code.rstrip()}\n\n"
        "import json as _json\n"
        f"print({ANSWER_MARKER!r}, _json.dumps(answer, default=str))\n"
    )


def _answer_from_observation(text: str) -> Any:
    for line in reversed(text.splitlines()):
        if line.startswith(ANSWER_MARKER):
            return json.loads(line[len(ANSWER_MARKER) :].strip())
    return None


class OraclePolicy:
    """Inspect, run the reference solution, submit what it printed."""

    name = "oracle"

    def __init__(self, *, action_format: str = "json") -> None:
        self.action_format = action_format
        self.info = PolicyInfo(name=self.name, action_format=action_format)  # type: ignore[arg-type]
        self._sample: Sample | None = None

    @classmethod
    def from_options(cls, *, action_format: str = "json") -> OraclePolicy:
        return cls(action_format=action_format)

    def start_episode(self, sample: Sample, *, seed: int = 0) -> Policy:
        episode = type(self)(action_format=self.action_format)
        episode._sample = sample
        return episode

    def transform_answer(self, answer: Any, sample: Sample, answer_type: AnswerType) -> Any:
        return answer

    def transform_source(self, source: Any, sample: Sample, question: int) -> Any:
        """The code answer to submit for a function-mode question (as it is, for the oracle)."""
        return source

    def transform_code(self, code: str, sample: Sample, question: int) -> str:
        """The reference code to run for question ``question`` (as it is, for the oracle)."""
        return code

    def transform_actions(self, actions: list[dict[str, Any]], sample: Sample) -> list[dict[str, Any]]:
        """The actions of an ``actions`` solution to replay (all of them, for the oracle)."""
        return actions

    def _replay(self, turn: int) -> dict[str, Any]:
        """Turn ``turn`` of an ``actions`` solution (its submit repeats if turns run on)."""
        assert self._sample is not None
        actions = json.loads(self._sample.solution.code)
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            raise ValueError(f"{self._sample.id}: an actions solution must be a non-empty list of actions")
        actions = self.transform_actions(actions, self._sample)
        return dict(actions[min(turn, len(actions) - 1)])

    def _plan(self, turn: int, last_observation: str) -> dict[str, Any]:
        """Turn 0 inspects; then, per question, run its reference solution and submit the answer
        it printed (a sequential sample repeats that pair for every follow-up). An ``actions``
        solution is replayed instead."""
        assert self._sample is not None, "start_episode() first"
        sample = self._sample
        if sample.solution.language == "actions":
            return self._replay(turn)
        if turn == 0:
            has_db = any(r.kind == "sqlite" for r in sample.resources)
            return {"action": "list_tables"} if has_db else {"action": "list_files"}
        questions = sample.questions
        question, phase = divmod(turn - 1, 2)
        question = min(question, len(questions) - 1)
        if phase == 0:
            code = self.transform_code(questions[question].solution.code, sample, question)
            return {"action": "execute_python", "code": _answer_probe(code)}
        answer = _answer_from_observation(last_observation)
        target = questions[question].target
        if target.tests is not None and target.tests.mode == "function":
            answer = self.transform_source(answer, sample, question)
        else:
            answer = self.transform_answer(answer, sample, target.answer_type)
        return {"action": "submit", "answer": answer}

    async def aact(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> PolicyReply:
        return self.act(messages, tools)

    def act(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> PolicyReply:
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        last = messages[-1].get("content") or "" if messages else ""
        action = self._plan(turn, str(last))
        if self.action_format == "tools":
            name = action.pop("action")
            call = {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(action)},
            }
            return PolicyReply(content=None, tool_calls=[call])
        return PolicyReply(content=json.dumps(action))


def wrong_answer(answer: Any, answer_type: AnswerType) -> Any:
    """A plausible but wrong version of a correct answer, per answer type."""
    match answer_type:
        case AnswerType.NUMBER:
            value = float(answer)
            return value * 1.5 + 7.0
        case AnswerType.INTEGER:
            return int(float(answer)) + 1
        case AnswerType.BOOLEAN:
            return not (answer in (True, 1) or str(answer).lower() in ("true", "1", "yes"))
        case AnswerType.DATE:
            moment = parse_answer(answer, AnswerType.DATE).value  # ISO or US MM/DD/YYYY
            if isinstance(moment, dt.datetime):
                return (moment + dt.timedelta(days=1)).isoformat(sep=" ")
            return (moment + dt.timedelta(days=1)).isoformat()
        case AnswerType.WEEKS_DAYS:
            weeks, days = parse_answer(answer, AnswerType.WEEKS_DAYS).value
            return [weeks, (days + 1) % 7]
        case AnswerType.PREDICTIONS:  # the file itself was flattened (``_FLATTEN_PREDICTIONS``)
            return answer
        case AnswerType.STRING_SET | AnswerType.ORDERED_LIST:
            items = list(answer) if isinstance(answer, list) else [answer]
            return [*items, "zz-not-an-answer"]
        case _:
            return f"{answer} (not)"


# Appended to a code answer or to a session: every value a test could read comes out altered.
_PERTURB = """
def _medagentgym_wrong(value):
    import numpy as _np
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return 7.0  # NaN and infinities survive arithmetic
        return value * 1.5 + 7 if value != -14 else 0  # -14 is the fixed point
    if isinstance(value, str):
        return value + " (not)"
    if isinstance(value, (list, tuple)):
        return [*value, "zz-not-an-answer"]
    if isinstance(value, _np.ndarray):  # one more element: NaN or empty arrays change too
        return _np.append(_np.ravel(value), 7.0)
    if hasattr(value, "select_dtypes") or (hasattr(value, "dtype") and hasattr(value, "index")):
        return None
    return "zz-not-an-answer"
"""


# Appended to a prediction task's solution: the file keeps its ids and header, every score
# becomes the same constant, so the metric falls to chance (AUROC 0.5), below every bar.
_FLATTEN_PREDICTIONS = """
import csv as _medagentgym_csv
with open(answer, newline="") as _medagentgym_f:
    _medagentgym_rows = list(_medagentgym_csv.reader(_medagentgym_f))
with open(answer, "w", newline="") as _medagentgym_f:
    _medagentgym_w = _medagentgym_csv.writer(_medagentgym_f)
    _medagentgym_w.writerow(_medagentgym_rows[0])
    for _medagentgym_row in _medagentgym_rows[1:]:
        _medagentgym_w.writerow([_medagentgym_row[0], *["0.5"] * (len(_medagentgym_row) - 1)])
"""


def wrong_source(source: Any, entry: str, method: bool) -> Any:
    """A code answer that loads and defines ``entry`` but returns altered values and never
    raises (a method, or anything that is not a string, becomes code that does not parse)."""
    if not isinstance(source, str) or method or not entry:
        return f"{source} (not"
    return (
        f"{source.rstrip()}\n{_PERTURB}\n_medagentgym_right = {entry}\n\n"
        f"def {entry}(*args, **kwargs):\n"
        "    try:\n"
        "        return _medagentgym_wrong(_medagentgym_right(*args, **kwargs))\n"
        "    except Exception:  # a case expecting an error gets a value instead\n"
        "        return 'zz-not-an-answer'\n"
    )


class WrongAnswerPolicy(OraclePolicy):
    """Does the oracle's work, then submits a wrong answer: the graders must give 0.

    On an ``actions`` solution it also leaves out every ``fhir_post``: a write task then misses
    its orders (the answer of a write-only task is not graded, so the writes must be wrong).
    A code answer is submitted wrapped so that the function returns altered values; a task
    graded from the session's variables gets each asked variable altered before submitting; a
    prediction task's file gets a constant score in every row."""

    name = "wrong-answer"

    def transform_source(self, source: Any, sample: Sample, question: int) -> Any:
        tests = sample.questions[question].target.tests
        assert tests is not None
        return wrong_source(source, tests.entry, tests.method)

    def transform_code(self, code: str, sample: Sample, question: int) -> str:
        target = sample.questions[question].target
        if target.predictions is not None:
            return code.rstrip() + "\n" + _FLATTEN_PREDICTIONS
        tests = target.tests
        if tests is None or tests.mode != "namespace":
            return code
        lines = [code.rstrip(), _PERTURB]
        for name in tests.variables:
            lines.append(f"if {name!r} in globals():\n    {name} = _medagentgym_wrong({name})")
        return "\n".join(lines) + "\n"

    def transform_answer(self, answer: Any, sample: Sample, answer_type: AnswerType) -> Any:
        return wrong_answer(answer, answer_type)

    def transform_actions(self, actions: list[dict[str, Any]], sample: Sample) -> list[dict[str, Any]]:
        kept = [dict(a) for a in actions if a.get("action") != "fhir_post"]
        if kept and kept[-1].get("action") == "submit" and sample.target.answer_graded:
            kept[-1]["answer"] = wrong_answer(kept[-1].get("answer"), sample.target.answer_type)
        return kept
