"""What grading code answers by hidden tests costs, per submission.

    python benchmarks/bench_code_tests.py [--repeats N]

Prints the median and 95th percentile of the ``submit`` step, in one run on the same sandbox server:

* baseline: a value answer (a number compared with a tolerance: no code runs at submission);
* function mode: a 6-case function (a fresh hardened session loads the submission, then one step
  per case and its read-back);
* namespace mode: 3 variables checked in the episode's own session;
* the original system's way, for scale: the whole program run by a fresh ``python`` process
  (what it did for BioCoder, unsandboxed), importing numpy, pandas and scipy.stats as its programs
  do, with the same 6 calls printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from medagentgym.catalog.sample import AnswerType, CodeTests, Sample, Solution, Target, TestCase
from medagentgym.codetests.reference import compute_expected
from medagentgym.env import MedAgentEnv

REFERENCE = (
    "def reverse_complement(seq):\n"
    "    pairs = {'A': 'T', 'C': 'G', 'G': 'C', 'T': 'A', 'N': 'N'}\n"
    "    return ''.join(pairs[b] for b in reversed(seq.upper()))\n"
)
INPUTS = ("ACGT", "", "aacgN", "GGGTTTAAAC" * 20, "N", "TTTT")
# The official BioCoder programs open with ~25 imports (numpy, pandas, scipy, scikit-image, pysam...);
# three of the usual ones, so the original's per-submission process pays what it paid.
ORIGINAL_HEADER = "import numpy as np\nimport pandas as pd\nfrom scipy import stats\n"
NAMESPACE_CODE = (
    "import numpy as np\nvalues = np.arange(100) / 3\nmean_value = float(values.mean())\n"
    "top = sorted(values.tolist())[-5:]\nanswer = 'done'\n"
)


def samples() -> tuple[Sample, Sample, Sample]:
    cases = compute_expected(REFERENCE, [TestCase(name=s, expr=f"reverse_complement({s!r})") for s in INPUTS])
    function = Target(
        answer_type=AnswerType.CODE_TESTS,
        value=None,
        tests=CodeTests(mode="function", entry="reverse_complement", cases=cases),
    )
    ns_cases = compute_expected(
        NAMESPACE_CODE,
        [TestCase(name="mean_value", expr="mean_value"), TestCase(name="top", expr="top"), TestCase(name="values", expr="values")],
    )
    namespace = Target(
        answer_type=AnswerType.CODE_TESTS,
        value=None,
        tests=CodeTests(mode="namespace", variables=("mean_value", "top", "values"), cases=ns_cases),
    )
    value = Target(answer_type=AnswerType.NUMBER, value=16.5, rel_tol=1e-6)

    def make(name: str, target: Target) -> Sample:
        return Sample(
            id=f"bench/{name}/test/0/0", dataset="bench", category=name, split="test", index=0, seed=0,
            prompt="benchmark", target=target, solution=Solution(code="answer = None"),
        )

    return make("value", value), make("function", function), make("namespace", namespace)


def submit_ms(env: MedAgentEnv, sample: Sample, answer: object, setup: str | None) -> float:
    env.reset(options={"sample": sample})
    if setup is not None:
        env.step(json.dumps({"action": "execute_python", "code": setup}))
    start = time.perf_counter()
    _, reward, *_ = env.step(json.dumps({"action": "submit", "answer": answer}))
    elapsed = (time.perf_counter() - start) * 1000
    assert reward == 1.0, (sample.id, reward)
    return elapsed


def original_way_ms() -> float:
    program = ORIGINAL_HEADER + REFERENCE + "".join(f"print(reverse_complement({s!r}))\n" for s in INPUTS)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", program], check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def report(label: str, values: list[float], baseline: float | None) -> float:
    ordered = sorted(values)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    ratio = f"   {median / baseline:6.1f}x the value answer" if baseline else ""
    print(f"  {label:<44} median {median:8.2f} ms   p95 {p95:8.2f} ms{ratio}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    value, function, namespace = samples()
    env = MedAgentEnv()
    try:
        setup = "x = 1"  # every episode opens its session first, so only grading is timed
        submit_ms(env, function, REFERENCE, setup)  # warm the sandbox server
        runs = {
            "value answer (baseline)": [submit_ms(env, value, 16.5, setup) for _ in range(args.repeats)],
            "function mode, 6 cases (fresh session)": [
                submit_ms(env, function, REFERENCE, setup) for _ in range(args.repeats)
            ],
            "namespace mode, 3 variables (own session)": [
                submit_ms(env, namespace, "done", NAMESPACE_CODE) for _ in range(args.repeats)
            ],
            "original: fresh python + imports, 6 calls": [original_way_ms() for _ in range(args.repeats)],
        }
    finally:
        env.close()
    print(f"Grading one submission ({args.repeats} repeats each):")
    baseline = None
    for label, values in runs.items():
        median = report(label, values, baseline)
        baseline = baseline or median


if __name__ == "__main__":
    main()
