"""The adapters' shared episode: start from an id, act, reward, cleanup of abandoned episodes."""

from __future__ import annotations

import gc
import json

import pytest

from medagentgym.catalog.selection import find_sample
from medagentgym.env.env import EnvConfig
from medagentgym.integrations.common import Episode, IntegrationError, resolve_sample

TRAIN_ID = "medcalcbench/bmi/train/0/0"
TEST_ID = "medcalcbench/bmi/test/0/0"


def test_episode_plays_to_a_reward_and_ignores_acts_after_the_end() -> None:
    sample = find_sample(TRAIN_ID)
    with Episode(TRAIN_ID, split="train") as episode:
        assert [m["role"] for m in episode.messages] == ["system", "user"]
        assert episode.tools is None and episode.reward() == 0.0
        turn = episode.act('{"action": "execute_python", "code": "v = 41 + 1\\nprint(v)"}')
        assert "42" in turn.observation and not turn.done
        turn = episode.tool_call("submit", {"answer": sample.target.value})
        assert turn.done and turn.reward == 1.0 and episode.reward() == 1.0
        again = episode.act({"action": "submit", "answer": -1})
        assert again.done and again.reward == 0.0 and episode.reward() == 1.0  # the score stands


def test_turn_limit_and_parse_errors_give_zero_not_none() -> None:
    with Episode(TRAIN_ID, config=EnvConfig(max_turns=2)) as episode:
        assert not episode.act("I think the answer is 3").done
        turn = episode.act("still no JSON")
        assert turn.done and episode.status == "parse_error" and episode.reward() == 0.0
        assert 0.0 <= episode.shaped() < 0.2


def test_split_and_unknown_ids_are_refused() -> None:
    with pytest.raises(IntegrationError, match="'test' split"):
        Episode(TEST_ID, split="train")
    with pytest.raises(IntegrationError, match="unknown sample"):
        resolve_sample("medcalcbench/nope/train/0/0")
    with pytest.raises(IntegrationError, match="sample_id"):
        resolve_sample(None)
    with pytest.raises(IntegrationError, match="not among"):
        resolve_sample(TRAIN_ID, {})


def test_an_abandoned_episode_closes_its_session() -> None:
    episode = Episode(TRAIN_ID)
    episode.act({"action": "execute_python", "code": "x = 1"})
    session = episode.env._session
    assert session is not None and session.alive
    del episode
    gc.collect()
    assert not session.alive


def test_the_target_is_not_in_what_an_episode_hands_out() -> None:
    sample = find_sample("medcalcbench/creatinine-clearance/train/0/3")
    assert sample.target.value == pytest.approx(85.222) and sample.solution is not None
    with Episode(sample) as episode:
        shown = json.dumps([episode.messages, episode.tools, episode.info], default=str)
        assert "85.22" not in shown and "Values as stated in the source" not in shown
