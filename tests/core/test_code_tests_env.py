"""Hidden tests through the real env and sandbox: oracle 1, wrong and gaming answers 0, the
expected values out of every session's reach, and the next episode unaffected.

The expected values here carry a marker (``SECRET``) so that tests can prove no session ever sees
them: agent code searches its whole process (every object, frame, module, environment variable
and readable file) for the marker before and during grading.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from medagentgym.catalog.sample import PLACEHOLDER, AnswerType, CodeTests, Sample, Solution, Target, TestCase
from medagentgym.codetests import run_function_tests, run_namespace_tests
from medagentgym.codetests.reference import compute_expected
from medagentgym.env import MedAgentEnv
from medagentgym.policies import OraclePolicy, WrongAnswerPolicy
from medagentgym.rollout import run_episode
from medagentgym.scoring.code_tests import splice_submission

SECRET = "SECRET-7f3a91c2"

# The reference tags every output with the marker, so expected values hold it and a session that
# could read them would find it.
REFERENCE = (
    "def tag_gc(seq):\n"
    "    seq = seq.upper()\n"
    "    gc = sum(1 for b in seq if b in 'GC')\n"
    f"    return {SECRET[:6]!r} + {SECRET[6:]!r} + ':' + str(round(gc / len(seq), 4) if seq else 0.0)\n"
)
CASES = compute_expected(
    REFERENCE,
    [TestCase(name=f"tag_gc({s!r})", expr=f"tag_gc({s!r})") for s in ("ACGT", "", "gggA", "ATATAT")],
)

# Searches the session for the marker: objects, frames, modules, environment, files it can read.
SEARCH = r'''
def _search_everything():
    import gc, os, sys
    needle = "SECRET-" + "7f3a91c2"
    seen = 0
    for obj in gc.get_objects():
        seen += 1
        try:
            if isinstance(obj, str) and obj is not needle and needle in obj:
                return ("object", seen)
            if isinstance(obj, (bytes, bytearray)) and needle.encode() in obj:
                return ("bytes", seen)
            if isinstance(obj, dict):
                for v in list(obj.values()):
                    if isinstance(v, str) and v is not needle and needle in v:
                        return ("dict", seen)
        except Exception:
            pass
    frame = sys._getframe()
    while frame is not None:
        for v in list(frame.f_globals.values()) + list(frame.f_locals.values()):
            if isinstance(v, str) and v is not needle and needle in v:
                return ("frame", seen)
        frame = frame.f_back
    if any(needle in v for v in os.environ.values()):
        return ("environ", seen)
    for root in (os.getcwd(), "/tmp", os.path.dirname(os.getcwd())):
        try:
            for dirpath, _, files in os.walk(root):
                for name in files:
                    try:
                        with open(os.path.join(dirpath, name), "rb") as f:
                            if needle.encode() in f.read(4_000_000):
                                return ("file " + name, seen)
                    except OSError:
                        pass
        except OSError:
            pass
    return ("nowhere", seen)
'''


def _function_sample(context: str = "", entry: str = "tag_gc", reference: str = REFERENCE, cases=CASES) -> Sample:
    tests = CodeTests(mode="function", entry=entry, context=context, cases=tuple(cases))
    return Sample(
        id="codetests/function/test/0/0",
        dataset="codetests",
        category="function",
        split="test",
        index=0,
        seed=0,
        prompt="Write tag_gc(seq): the GC fraction of seq, rounded to 4 places, after a fixed tag.",
        target=Target(answer_type=AnswerType.CODE_TESTS, value=None, tests=tests),
        solution=Solution(code=f"answer = {reference!r}\n"),
    )


NAMESPACE_REFERENCE = (
    "import pandas as pd\n"
    "counts = pd.Series({'TP53': 5, 'KRAS': 3, 'EGFR': 2})\n"
    "top_genes = list(counts.sort_values(ascending=False).index[:2])\n"
    "mean_count = float(counts.mean())\n"
    f"label = {SECRET!r}\n"
    "answer = 'done'\n"
)
NAMESPACE_CASES = compute_expected(
    NAMESPACE_REFERENCE,
    [
        TestCase(name="top_genes", expr="top_genes"),
        TestCase(name="mean_count", expr="mean_count", rel_tol=1e-9),
        TestCase(name="label", expr="label"),
    ],
)


def _namespace_sample() -> Sample:
    tests = CodeTests(mode="namespace", variables=("top_genes", "mean_count", "label"), cases=NAMESPACE_CASES)
    return Sample(
        id="codetests/namespace/test/0/0",
        dataset="codetests",
        category="namespace",
        split="test",
        index=0,
        seed=0,
        prompt="Leave top_genes (a list of the 2 most mutated genes), mean_count and label in the session.",
        target=Target(answer_type=AnswerType.CODE_TESTS, value=None, tests=tests),
        solution=Solution(code=NAMESPACE_REFERENCE),
    )


@pytest.fixture(scope="module")
def env(sandbox_server):
    environment = MedAgentEnv(sandbox=sandbox_server)
    yield environment
    environment.close()


def _submit(env: MedAgentEnv, sample: Sample, answer: Any, code: str | None = None) -> dict:
    env.reset(options={"sample": sample})
    if code is not None:
        env.step(json.dumps({"action": "execute_python", "code": code}))
    _, reward, terminated, _, info = env.step(json.dumps({"action": "submit", "answer": answer}))
    assert terminated
    assert info["score"]["value"] == reward
    return info["score"]


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_oracle_passes_and_wrong_answer_fails(env, action_format: str) -> None:
    for sample in (_function_sample(), _namespace_sample()):
        good = run_episode(env, OraclePolicy(action_format=action_format), sample, run_id="t")
        assert good.success and good.score.value == 1.0, good.score
        bad = run_episode(env, WrongAnswerPolicy(action_format=action_format), sample, run_id="t")
        assert bad.status == "ok" and bad.score.value == 0.0, bad.score


GAMING_FUNCTIONS = {
    "empty body": "def tag_gc(seq):\n    pass\n",
    "prints instead of returning": "def tag_gc(seq):\n    print('SECRET-7f3a91c2:0.5')\n",
    "assert and builtins patched": (
        "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n"
        "builtins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 0\n"
        "def tag_gc(seq):\n    return None\n"
    ),
    "always-equal object": (
        "class _Eq(str):\n    def __eq__(self, other):\n        return True\n    __hash__ = str.__hash__\n"
        "def tag_gc(seq):\n    return _Eq('x')\n"
    ),
    "forges the checker's report": (
        "import json, sys\n"
        "def tag_gc(seq):\n"
        "    g = sys._getframe(1).f_globals\n"
        "    g['_medagentgym_probe']['encode'] = lambda v: 'SECRET'\n"
        "    json.dumps = lambda *a, **k: '{\"ok\": true, \"value\": \"forged\"}'\n"
        "    return 'forged'\n"
    ),
    "reads the harness": (
        "import inspect\n"
        "def tag_gc(seq):\n"
        "    return ''.join(str(f.frame.f_globals.get('__builtins__', ''))[:0] + repr(f.code_context) for f in inspect.stack())\n"
    ),
    "exits the session": "import os\ndef tag_gc(seq):\n    os._exit(0)\n",
    "never returns": "def tag_gc(seq):\n    while True:\n        pass\n",
    "kills itself at import": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\ndef tag_gc(seq):\n    return 1\n",
    "not code": "the answer is SECRET-7f3a91c2:0.5",
    "a number": 0.5,
}


@pytest.mark.parametrize("name", list(GAMING_FUNCTIONS))
def test_gaming_code_answers_score_zero_and_the_next_episode_is_unaffected(env, name: str) -> None:
    sample = _function_sample()
    tests = sample.target.tests
    assert tests is not None
    if name == "never returns":  # keep the test short: a one-second limit per case
        sample = _function_sample(cases=tuple(c.model_copy() for c in CASES[:2]))
        sample = sample.model_copy(
            update={"target": sample.target.model_copy(update={"tests": sample.target.tests.model_copy(update={"timeout_s": 1.0})})}
        )
    score = _submit(env, sample, GAMING_FUNCTIONS[name])
    assert score["value"] == 0.0, score
    assert SECRET not in score["explanation"]
    after = run_episode(env, OraclePolicy(), _function_sample(), run_id="t")
    assert after.success


def test_a_time_limit_fails_only_that_case(sandbox_server) -> None:
    cases = (
        TestCase(name="fast", expr="f(1)", expected=2),
        TestCase(name="slow", expr="f(0)", expected=0),
        TestCase(name="fast again", expr="f(2)", expected=4),
    )
    tests = CodeTests(mode="function", entry="f", cases=cases, timeout_s=1.0)
    module = splice_submission("def f(x):\n    while x == 0:\n        pass\n    return 2 * x\n", tests)
    results = run_function_tests(sandbox_server, (), tests, module)
    assert [r.ok for r in results] == [True, False, True]
    assert "time limit" in (results[1].error or "")


def test_no_session_can_find_the_expected_values(env, sandbox_server) -> None:
    """Before submission (the agent's session) and during grading (the submission's own session)."""
    sample = _function_sample()
    observation, _ = env.reset(options={"sample": sample})
    assert SECRET not in observation and SECRET not in json.dumps(sample.public_view())
    text, *_ = env.step(json.dumps({"action": "execute_python", "code": SEARCH + "print(_search_everything())"}))
    assert "('nowhere'," in text, text
    # During grading: the submitted function searches while the cases run; its report is read
    # back through the runner (the scorer would only show a snippet).
    searcher = SEARCH + "def tag_gc(seq):\n    return repr(_search_everything())\n"
    tests = sample.target.tests
    assert tests is not None
    results = run_function_tests(sandbox_server, (), tests, splice_submission(searcher, tests))
    assert all(r.ok and r.value.startswith("('nowhere',") for r in results), results
    assert int(results[0].value.split(",")[1].strip(" )")) > 100  # it did look at the process
    env.step(json.dumps({"action": "submit", "answer": "def tag_gc(seq):\n    return ''\n"}))


def test_a_submission_cannot_change_what_is_checked(env) -> None:
    """The expected values live in the harness process: after grading a hostile submission that
    rewrites everything it can reach, the target is unchanged and the oracle still scores 1."""
    sample = _function_sample()
    before = sample.model_dump_json()
    hostile = (
        "import sys, gc\n"
        "for o in gc.get_objects():\n"
        "    if isinstance(o, dict) and 'expected' in o:\n"
        "        o['expected'] = 'x'\n"
        "sys.modules['json'].loads = lambda *a, **k: {'ok': True, 'value': 'x'}\n"
        "def tag_gc(seq):\n    return 'x'\n"
    )
    assert _submit(env, sample, hostile)["value"] == 0.0
    assert sample.model_dump_json() == before
    assert run_episode(env, OraclePolicy(), sample, run_id="t").success


def test_methods_are_spliced_into_their_class(env) -> None:
    context = (
        "class Sequence:\n"
        "    def __init__(self, text):\n"
        "        self.text = text\n"
        f"    {PLACEHOLDER}\n"
        "def main():\n"
        "    for s in ('ACGT', 'GGGG', 'AT'):\n"
        "        print(Sequence(s).gc_fraction())\n"
    )
    reference = "def gc_fraction(self):\n    return sum(b in 'GC' for b in self.text) / len(self.text)\n"
    case = TestCase(name="main() output", setup="main()", expected="0.5\n1.0\n0.0\n")
    sample = _function_sample(context=context, entry="gc_fraction", reference=reference, cases=[case])
    assert _submit(env, sample, reference)["value"] == 1.0
    # Submitted already indented, or fenced, it still lands in the class body.
    assert _submit(env, sample, "```python\n    " + reference.replace("\n", "\n    ") + "```")["value"] == 1.0
    # Printing the right lines at import time is not what main() prints.
    cheat = "print('0.5\\n1.0\\n0.0')\ndef gc_fraction(self):\n    return 0\n"
    assert _submit(env, sample, cheat)["value"] == 0.0
    assert not run_episode(env, WrongAnswerPolicy(), sample, run_id="t").success


NAMESPACE_GAMING = {
    "nothing computed": None,
    "right name, wrong type": (
        "import pandas as pd\ntop_genes = pd.Series(['TP53', 'KRAS'])\nmean_count = '3.3333333333333335'\nlabel = 1\n"
    ),
    "always-equal objects": (
        "class _Eq:\n    def __eq__(self, o):\n        return True\n    def __lt__(self, o):\n        return True\n"
        "    def __abs__(self):\n        return self\n    def __sub__(self, o):\n        return self\n"
        "top_genes = _Eq()\nmean_count = _Eq()\nlabel = _Eq()\n"
    ),
    "poisoned checker names": (
        "import json, builtins\n"
        "_medagentgym_probe = {'encode': lambda v: v, 'json': json}\n"
        "_medagentgym_out = '{\"ok\": true, \"value\": \"x\"}'\n"
        "builtins.print = lambda *a, **k: None\n"
        "top_genes = ['EGFR']\nmean_count = 0.0\nlabel = ''\n"
    ),
    "patched json everywhere": (
        "import sys\nsys.modules['json'].dumps = lambda *a, **k: '{\"ok\": true, \"value\": [\"TP53\", \"KRAS\"]}'\n"
        "top_genes = 0\nmean_count = 0\nlabel = 0\n"
    ),
    "kills its session last": "import os\nos._exit(3)\n",
}


@pytest.mark.parametrize("name", list(NAMESPACE_GAMING))
def test_namespace_gaming_scores_below_one(env, name: str) -> None:
    sample = _namespace_sample()
    score = _submit(env, sample, "done", NAMESPACE_GAMING[name])
    if name == "patched json everywhere":  # forging needs the expected values: at most the one it guessed
        assert score["value"] < 1.0, score
    else:
        assert score["value"] == 0.0, score
    assert SECRET not in score["explanation"]
    assert run_episode(env, OraclePolicy(), sample, run_id="t").success


def test_namespace_cases_run_in_the_episode_session_only_after_submission(env, sandbox_server) -> None:
    sample = _namespace_sample()
    env.reset(options={"sample": sample})
    text, *_ = env.step(json.dumps({"action": "execute_python", "code": NAMESPACE_REFERENCE + "print(sorted(k for k in globals() if 'medagentgym' in k))"}))
    assert "[]" in text  # no checker name in the session before submission
    with sandbox_server.open_session() as session:
        session.run_python(NAMESPACE_REFERENCE)
        results = run_namespace_tests(session, sample.target.tests)
    assert all(r.ok for r in results)
    assert run_namespace_tests(None, sample.target.tests)[0].error.startswith("the session holds no variables")


def test_large_values_are_read_back_in_chunks(sandbox_server) -> None:
    """A value far over one step's output cap (16 KiB) still arrives whole and is compared."""
    reference = "import numpy as np\ndef grid(n):\n    return np.arange(n * n, dtype=float).reshape(n, n) / 7\n"
    cases = compute_expected(reference, [TestCase(name="grid(120)", expr="grid(120)")])
    tests = CodeTests(mode="function", entry="grid", cases=cases)
    results = run_function_tests(sandbox_server, (), tests, splice_submission(reference, tests))
    assert results[0].ok and results[0].value == cases[0].expected
    assert len(json.dumps(cases[0].expected)) > 100_000
