"""Hidden tests, the pure parts: the encoder, the comparison, the splicing and the verdict."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from medagentgym.catalog.sample import PLACEHOLDER, AnswerType, CodeTests, Target, TestCase
from medagentgym.codetests.probe import MAX_DEPTH, ProbeError, encode, encode_json
from medagentgym.codetests.reference import ReferenceSolutionError, compute_expected
from medagentgym.scoring import AnswerParseError, score_answer
from medagentgym.scoring.code_tests import CaseResult, judge, splice_submission, submission_source, values_match


def test_encode_plain_values() -> None:
    assert encode(None) is None and encode(True) is True and encode("x") == "x"
    assert encode(3) == 3 and encode(2.5) == 2.5
    assert encode(float("nan")) == {"float": "nan"} and encode(float("-inf")) == {"float": "-inf"}
    assert encode((1, [2, "a"])) == [1, [2, "a"]]
    assert encode({3, 1, 2}) == {"set": [1, 2, 3]}
    assert encode({"b": 1, "a": 2}) == {"dict": [["a", 2], ["b", 1]]}
    assert encode(b"\x00\xff") == {"bytes": "00ff"}
    assert encode(dt.date(2024, 2, 29)) == {"date": "2024-02-29"}


def test_encode_numpy_and_pandas() -> None:
    assert encode(np.int64(6)) == 6 and type(encode(np.int64(6))) is int
    assert encode(np.float32(0.5)) == 0.5 and encode(np.bool_(True)) is True
    array = encode(np.array([[1.0, np.nan], [3.0, 4.0]]))
    assert array == {"ndarray": {"dtype": "f", "shape": [2, 2], "data": [[1.0, {"float": "nan"}], [3.0, 4.0]]}}
    series = encode(pd.Series([1, None], index=["a", "b"], name="n", dtype="Int64"))
    assert series["series"]["values"] == [1, {"float": "nan"}] and series["series"]["index"] == ["a", "b"]
    frame = encode(pd.DataFrame({"g": ["x", "y"], "v": [1.5, 2.5]}))
    assert frame["dataframe"]["columns"] == ["g", "v"] and frame["dataframe"]["data"] == [["x", 1.5], ["y", 2.5]]


def test_encode_never_trusts_subclasses_or_objects() -> None:
    class AlwaysEqual(float):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = float.__hash__

    class Liar:
        def __repr__(self) -> str:
            return "42"

    assert encode(AlwaysEqual(1.0)) == {"object": f"{__name__}.test_encode_never_trusts_subclasses_or_objects.<locals>.AlwaysEqual"}
    assert list(encode(Liar())) == ["object"]
    assert encode([Liar()])[0]["object"].endswith("Liar")


def test_encode_limits() -> None:
    deep: list = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ProbeError):
        encode(deep)
    with pytest.raises(ProbeError):
        encode(list(range(300_000)))
    assert encode_json([1.0, float("nan")]) == '[1.0,{"float":"nan"}]'


def test_values_match_rules() -> None:
    assert values_match(1, 1.0000001) and not values_match(1, 1.1)
    assert values_match({"float": "nan"}, {"float": "nan"})
    assert not values_match(True, 1) and not values_match(1, True)
    assert not values_match("1", 1) and not values_match(None, 0)
    assert values_match([1, "a"], [1.0, "a"]) and not values_match([1], [1, 2])
    arr = encode(np.array([1, 2, 3]))
    assert values_match(encode(np.array([1.0, 2.0, 3.0])), arr)
    assert not values_match(encode([1, 2, 3]), arr)  # a list is not an array
    assert not values_match(encode(np.array([1, 2])), arr)
    assert not values_match(encode(pd.Series([1, 2, 3])), arr)
    assert not values_match({"object": "x.Y"}, arr)
    assert values_match(encode({"a": 1.0}), encode({"a": 1})) and not values_match(encode({"a": 1}), encode({"b": 1}))


def test_submission_source_cleans_and_rejects() -> None:
    assert submission_source("```python\n  def f():\n      return 1\n```") == "def f():\n    return 1\n"
    assert submission_source({"code": "def f(): pass"}) == "def f(): pass\n"
    for bad in (None, 3, ["def f(): pass"], {"code": 1}, "", "   \n", "x" * 100_001, "def f():\x00 pass"):
        with pytest.raises(AnswerParseError):
            submission_source(bad)


def _tests(context: str = "", entry: str = "f") -> CodeTests:
    return CodeTests(mode="function", entry=entry, context=context, cases=(TestCase(name="c", expr="f()"),))


def test_splice_indents_methods_into_their_class() -> None:
    context = f"class Box:\n    size = 3\n    {PLACEHOLDER}\nprint('after')\n"
    submitted = "@property\ndef area(self):\n    return self.size ** 2\n"
    module = splice_submission(submitted, _tests(context, entry="area"))
    namespace: dict = {}
    exec(compile(module, "<t>", "exec"), namespace)  # our own test code, not an agent's
    assert namespace["Box"]().area == 9
    assert "    def area(self):" in module and "print('after')" in module


def test_splice_rejects_code_without_the_entry_or_that_does_not_parse() -> None:
    with pytest.raises(AnswerParseError, match="does not define 'f'"):
        splice_submission("def g():\n    return 1\n", _tests())
    with pytest.raises(AnswerParseError, match="does not parse"):
        splice_submission("def f(:\n", _tests())
    with pytest.raises(AnswerParseError, match="does not parse"):
        splice_submission("(" * 300 + ")" * 300, _tests())
    assert splice_submission("f = lambda: 1\n", _tests()) == "f = lambda: 1\n"


def test_judge_counts_and_never_shows_expected_values() -> None:
    cases = (TestCase(name="a", expr="x", expected="SECRET-1"), TestCase(name="b", expr="y", expected=2))
    tests = CodeTests(mode="namespace", variables=("x", "y"), cases=cases)
    verdict = judge(tests, [CaseResult(name="a", ok=True, value="nope"), CaseResult(name="b", ok=True, value=2.0)])
    assert (verdict.passed, verdict.total, verdict.correct) == (1, 2, False)
    target = Target(answer_type=AnswerType.CODE_TESTS, value=None, tests=tests)
    score = score_answer("done", target, observations=[CaseResult(name="a", ok=False, error="NameError: x")])
    assert score.value == 0.0 and "SECRET" not in score.explanation and "b: not run" in score.explanation
    half = score_answer("done", target, observations=[CaseResult(name="b", ok=True, value=2)])
    assert half.value == 0.5 and not half.correct and "1/2 hidden tests passed" in half.explanation
    assert score_answer("done", target).explanation.startswith("the hidden tests were not run")


def test_printed_output_cases_ignore_trailing_space_only() -> None:
    case = TestCase(name="main", setup="main()", expected="1 2\n3\n")
    tests = CodeTests(mode="function", entry="f", cases=(case,))
    assert judge(tests, [CaseResult(name="main", ok=True, value="1 2  \n3\n\n")]).correct
    assert not judge(tests, [CaseResult(name="main", ok=True, value="1 2\n3.0\n")]).correct


def test_target_needs_tests_exactly_for_code_tests() -> None:
    with pytest.raises(ValueError):
        Target(answer_type=AnswerType.CODE_TESTS, value=None)
    with pytest.raises(ValueError):
        Target(answer_type=AnswerType.NUMBER, value=1.0, tests=_tests())


def test_compute_expected_runs_the_reference_with_a_private_workdir() -> None:
    reference = "import os\ndef count_lines(path):\n    with open(path) as f:\n        return sum(1 for _ in f)\n"
    case = TestCase(
        name="three lines",
        setup="p = os.path.join(workdir, 'x.txt')\nopen(p, 'w').write('a\\nb\\nc\\n')",
        expr="count_lines(p)",
    )
    printed = TestCase(name="printed", setup="print(count_lines(p) * 2)")
    done = compute_expected(reference, [case, printed])
    assert done[0].expected == 3 and done[1].expected == "6\n"
    with pytest.raises(ReferenceSolutionError, match="three lines"):
        compute_expected("def count_lines(path):\n    return 1 / 0\n", [case])
    assert math.isfinite(done[0].rel_tol)
