"""Balanced accuracy over yes/no answers: a constant answer is visibly worth chance, whatever the
class balance, and sub-answers of sequential samples count one by one."""

from __future__ import annotations

from medagentgym.catalog.sample import AnswerType, Target
from medagentgym.scoring import combine_scores, score_answer
from medagentgym.scoring.metrics import compute_metrics


def _boolean(gold: bool) -> Target:
    return Target(answer_type=AnswerType.BOOLEAN, value=gold)


def _episode(make_trajectory, i: int, *scores):
    trajectory = make_trajectory(f"toy/yn/test/0/{i}", category="yn", answer_type=AnswerType.BOOLEAN)
    score = scores[0] if len(scores) == 1 else combine_scores(list(scores), len(scores))
    return trajectory.model_copy(update={"score": score})


def test_a_constant_answer_has_balanced_accuracy_one_half_on_skewed_classes(make_trajectory) -> None:
    golds = [True] * 3 + [False] * 17  # 85% "no": a constant "no" is right 85% of the time
    runs = [_episode(make_trajectory, i, score_answer(False, _boolean(g))) for i, g in enumerate(golds)]
    metrics = compute_metrics(runs)
    group = metrics.categories[0]
    assert group.success_rate == 0.85
    assert group.balanced_accuracy == 0.5 and group.yes_no_answers == 20


def test_sub_answers_of_paired_questions_count_and_a_constant_never_succeeds(make_trajectory) -> None:
    runs = [
        _episode(make_trajectory, i, score_answer("no", _boolean(i % 2 == 0)), score_answer("no", _boolean(i % 2 == 1)))
        for i in range(6)
    ]
    group = compute_metrics(runs).categories[0]
    assert group.success_rate == 0.0
    assert group.balanced_accuracy == 0.5 and group.yes_no_answers == 12
    right = [_episode(make_trajectory, i, score_answer(True, _boolean(True)), score_answer("false", _boolean(False))) for i in range(3)]
    assert compute_metrics(right).categories[0].balanced_accuracy == 1.0


def test_unparsable_answers_count_against_their_class_and_other_types_have_none(make_trajectory) -> None:
    runs = [_episode(make_trajectory, 0, score_answer("maybe", _boolean(True))), _episode(make_trajectory, 1, score_answer("no", _boolean(False)))]
    assert compute_metrics(runs).categories[0].balanced_accuracy == 0.5
    numeric = [make_trajectory("toy/bmi/test/0/0")]
    assert compute_metrics(numeric).overall.balanced_accuracy is None
