"""Metrics: exact pass@k, Wilson bounds, majority-vote best@k, and the RunMetrics of synthetic runs."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest

from medagentgym.catalog.sample import AnswerType
from medagentgym.scoring.metrics import (
    MajorityVote,
    RunMetrics,
    best_at_k,
    compute_metrics,
    episode_cost,
    pass_at_k,
    pass_at_k_over_tasks,
    wilson_interval,
)

# ------------------------------------------------------------------------------------------------
# pass@k


def test_pass_at_k_matches_hand_computed_fractions() -> None:
    # n=5, c=2: 1 - C(3,k)/C(5,k) = 1 - 3/5, 1 - 3/10, 1 - 1/10, 1 - 0/5, 1 - 0/1
    expected = [Fraction(2, 5), Fraction(7, 10), Fraction(9, 10), Fraction(1), Fraction(1)]
    assert [pass_at_k(5, 2, k) for k in range(1, 6)] == expected


def test_pass_at_1_is_the_success_fraction() -> None:
    assert pass_at_k(7, 3, 1) == Fraction(3, 7)


def test_pass_at_k_edges() -> None:
    assert all(pass_at_k(4, 0, k) == 0 for k in range(1, 5))
    assert all(pass_at_k(4, 4, k) == 1 for k in range(1, 5))
    with pytest.raises(ValueError, match="undefined"):
        pass_at_k(3, 1, 4)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 0)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(0, 0, 1)


def test_pass_at_k_over_tasks_is_the_mean_of_tasks() -> None:
    # tasks (5,2) and (5,0) at k=2: (7/10 + 0) / 2
    assert pass_at_k_over_tasks([(5, 2), (5, 0)], 2) == pytest.approx(0.35)
    assert pass_at_k_over_tasks([], 1) == 0.0


# ------------------------------------------------------------------------------------------------
# Wilson


def test_wilson_interval_at_zero_and_n() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.2 < high < 0.35  # 0/10 still leaves room above
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and 0.65 < low < 0.8
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_wilson_interval_known_value() -> None:
    low, high = wilson_interval(5, 10)
    assert math.isclose(low, 0.2366, abs_tol=1e-4) and math.isclose(high, 0.7634, abs_tol=1e-4)


# ------------------------------------------------------------------------------------------------
# Majority vote and best@k


def test_majority_vote_picks_the_most_common_answer(make_trajectory) -> None:
    candidates = [
        make_trajectory(epoch=0, answer=1.0, correct=False),
        make_trajectory(epoch=1, answer=2.0, correct=True),
        make_trajectory(epoch=2, answer="2", correct=True),  # same number once parsed
    ]
    assert MajorityVote().select(candidates) == 1


def test_majority_vote_tie_goes_to_the_earliest_sample(make_trajectory) -> None:
    candidates = [
        make_trajectory(epoch=0, answer=3.0, correct=False),
        make_trajectory(epoch=1, answer=4.0, correct=True),
        make_trajectory(epoch=2, answer=4.0, correct=True),
        make_trajectory(epoch=3, answer=3.0, correct=False),
    ]
    assert MajorityVote().select(candidates) == 0


def test_majority_vote_groups_unparseable_answers_by_their_json_text(make_trajectory) -> None:
    candidates = [
        make_trajectory(epoch=0, answer=5.0, correct=True),
        make_trajectory(epoch=1, answer="about five", correct=False),
        make_trajectory(epoch=2, answer="about five", correct=False),
        make_trajectory(epoch=3, answer={"x": [1]}, correct=False),
    ]
    assert MajorityVote().select(candidates) == 1


def test_majority_vote_ignores_samples_without_a_submission(make_trajectory) -> None:
    candidates = [
        make_trajectory(epoch=0, status="max_turns"),
        make_trajectory(epoch=1, status="max_turns"),
        make_trajectory(epoch=2, answer=7.0, correct=True),
    ]
    assert MajorityVote().select(candidates) == 2
    nobody = [make_trajectory(epoch=e, status="timeout") for e in range(2)]
    assert MajorityVote().select(nobody) == 0
    with pytest.raises(ValueError):
        MajorityVote().select([])


def test_majority_vote_uses_the_typed_parser_for_sets(make_trajectory) -> None:
    candidates = [
        make_trajectory(epoch=0, answer=["b", "a"], answer_type=AnswerType.STRING_SET, correct=True),
        make_trajectory(epoch=1, answer=["c"], answer_type=AnswerType.STRING_SET, correct=False),
        make_trajectory(epoch=2, answer='["A", "B"]', answer_type=AnswerType.STRING_SET, correct=True),
    ]
    assert MajorityVote().select(candidates) == 0


def test_best_at_k_averages_the_picks_over_tasks(make_trajectory) -> None:
    task_a = [  # first sample wrong, then two right with the same answer
        make_trajectory("a", epoch=0, answer=1.0, correct=False),
        make_trajectory("a", epoch=1, answer=2.0, correct=True),
        make_trajectory("a", epoch=2, answer=2.0, correct=True),
    ]
    task_b = [make_trajectory("b", epoch=e, answer=9.0, correct=False) for e in range(3)]
    vote = MajorityVote()
    assert best_at_k([task_a, task_b], 1, vote) == 0.0  # a's first pick is wrong
    assert best_at_k([task_a, task_b], 2, vote) == 0.0  # tie 1.0 vs 2.0: earliest (wrong)
    assert best_at_k([task_a, task_b], 3, vote) == 0.5  # 2.0 wins in a
    with pytest.raises(ValueError):
        best_at_k([task_a], 4, vote)


def test_a_selector_is_a_protocol(make_trajectory) -> None:
    class LastOne:
        name = "last"

        def select(self, candidates):
            return len(candidates) - 1

    task = [make_trajectory("a", epoch=0, correct=False, answer=1.0), make_trajectory("a", epoch=1, answer=2.0)]
    assert best_at_k([task], 2, LastOne()) == 1.0
    metrics = compute_metrics(task, selector=LastOne())
    assert metrics.selector == "last" and metrics.overall.best_at_k == {1: 0.0, 2: 1.0}


# ------------------------------------------------------------------------------------------------
# RunMetrics


@pytest.fixture
def mixed(make_trajectory):
    """Two datasets; every failure kind; tokens with prices."""
    prices = {"prompt": 2.0, "completion": 10.0}
    ts = [
        # toy/bmi: 2 tasks x 3 epochs; task 0 right 2 of 3, task 1 right 0 of 3 (one max_turns)
        make_trajectory("toy/bmi/0", epoch=0, correct=True, usage=(1000, 100), prices=prices),
        make_trajectory("toy/bmi/0", epoch=1, correct=False, answer=3.0, usage=(1000, 100), prices=prices),
        make_trajectory("toy/bmi/0", epoch=2, correct=True, usage=(1000, 100), prices=prices, api_retries={"rate_limit": 2}),
        make_trajectory("toy/bmi/1", epoch=0, status="max_turns", steps=5, parse_errors=5, prices=prices),
        make_trajectory("toy/bmi/1", epoch=1, correct=False, answer=3.0, prices=prices, parse_errors=1),
        make_trajectory("toy/bmi/1", epoch=2, correct=False, answer=3.0, prices=prices, exec_timed_out=True),
        # other/sql: 1 task, 3 scored epochs + one infra failure (not scored) + a timeout
        make_trajectory("other/sql/0", dataset="other", category="sql", epoch=0, prices=prices),
        make_trajectory("other/sql/0", dataset="other", category="sql", epoch=1, status="timeout", failure="episode_timeout", prices=prices),
        make_trajectory("other/sql/0", dataset="other", category="sql", epoch=2, status="parse_error", parse_errors=2, prices=prices),
        make_trajectory(
            "other/sql/0", dataset="other", category="sql", epoch=3, status="infra_error", failure="server_error",
            steps=0, prices=prices, api_retries={"server_error": 3},
        ),
    ]  # fmt: skip
    return ts


def test_run_metrics_success_and_pass_at_k(mixed) -> None:
    m = compute_metrics(mixed)
    assert m.episodes == 10 and m.tasks == 3
    assert m.overall.scored == 9 and m.overall.successes == 3  # infra not scored
    assert m.overall.success_rate == pytest.approx(3 / 9)
    assert (m.overall.ci_low, m.overall.ci_high) == wilson_interval(3, 9)
    assert m.samples_per_task == 3 and m.max_samples_per_task == 3
    # per task (n=3): bmi/0 c=2, bmi/1 c=0, sql/0 c=1
    expected = {k: float((pass_at_k(3, 2, k) + pass_at_k(3, 0, k) + pass_at_k(3, 1, k)) / 3) for k in (1, 2, 3)}
    assert m.overall.pass_at_k == pytest.approx(expected)
    # best@k by majority vote: bmi/0 answers 1,3,1 -> k=3 picks a right one; bmi/1 never; sql/0 only
    # epoch 0 submitted -> its pick is right for every k
    assert m.overall.best_at_k == pytest.approx({1: 2 / 3, 2: 2 / 3, 3: 2 / 3})
    toy = m.dataset("toy")
    assert toy is not None and toy.scored == 6 and toy.successes == 2 and toy.tasks == 2
    assert [g.name for g in m.categories] == ["other/sql", "toy/bmi"]
    other = m.dataset("other")
    assert other is not None and other.episodes == 4 and other.scored == 3 and other.infra_by_kind == {"server_error": 1}


def test_run_metrics_failures_tokens_and_cost(mixed) -> None:
    m = compute_metrics(mixed)
    f = m.failures
    assert f.episodes == 10
    assert f.steps == 2 * 8 + 5  # eight 2-step episodes, one 5-step, one 0-step
    assert f.parse_error_steps == 5 + 1 + 2 and f.parse_error_step_rate == pytest.approx(8 / 21)
    assert f.parse_error_episodes == 1 and f.timeout_episodes == 1 and f.max_turns_episodes == 1
    assert f.infra_episodes == 1 and f.infra_by_kind == {"server_error": 1} and f.infra_rate == 0.1
    assert f.api_retries_by_kind == {"rate_limit": 2, "server_error": 3} and f.api_retries == 5
    assert f.episodes_with_retries == 2 and f.exec_timeout_steps == 2
    assert f.not_submitted == 4
    t = m.tokens
    assert t.prompt_tokens == 3000 and t.completion_tokens == 300
    assert t.mean_total_tokens == pytest.approx(330.0)
    assert t.cost_usd == pytest.approx((3000 * 2.0 + 300 * 10.0) / 1e6)
    assert episode_cost(mixed[0]) == pytest.approx((1000 * 2 + 100 * 10) / 1e6)


def test_unpriced_runs_have_no_cost(make_trajectory) -> None:
    m = compute_metrics([make_trajectory(usage=(10, 10))])
    assert m.tokens.cost_usd is None and episode_cost(make_trajectory()) is None


def test_infra_failures_can_count_as_failures(mixed) -> None:
    m = compute_metrics(mixed, count_infra_as_failure=True)
    assert m.overall.scored == 10 and m.overall.success_rate == pytest.approx(0.3)
    assert m.max_samples_per_task == 4 and m.samples_per_task == 3


def test_k_stops_at_the_smallest_task(make_trajectory) -> None:
    ts = [make_trajectory("a", epoch=e) for e in range(4)] + [make_trajectory("b", epoch=e) for e in range(2)]
    m = compute_metrics(ts)
    assert m.samples_per_task == 2 and sorted(m.overall.pass_at_k) == [1, 2]


def test_run_metrics_round_trip_through_json(mixed) -> None:
    m = compute_metrics(mixed, run_id="r", label="policy:model")
    data = json.loads(m.model_dump_json())
    assert data["overall"]["pass_at_k"]["1"] == pytest.approx(m.overall.pass_at_k[1])
    again = RunMetrics.model_validate_json(m.model_dump_json())
    assert again == m


def test_empty_run_has_zero_metrics() -> None:
    m = compute_metrics([])
    assert m.episodes == 0 and m.samples_per_task == 0 and m.overall.pass_at_k == {}
