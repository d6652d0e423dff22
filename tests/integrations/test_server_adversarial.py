"""Hostile requests to the environment server: each attack gets a clear 4xx (never a 5xx, never a
target), and the next episode after it works normally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

fastapi_testclient = pytest.importorskip("fastapi.testclient")

from medagentgym.catalog.selection import find_sample
from medagentgym.integrations.server import MAX_BODY_BYTES, ServeSettings, create_app

BMI = "medcalcbench/bmi/train/0/0"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(sandbox_server: Any) -> Iterator[Any]:
    app = create_app(ServeSettings(max_episodes=64), sandbox=sandbox_server)
    with fastapi_testclient.TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def live(client: Any) -> str:
    reply = client.post("/v1/episodes", json={"sample_id": BMI})
    assert reply.status_code == 201
    return reply.json()["episode_id"]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def assert_next_episode_works(client: Any) -> None:
    opened = client.post("/v1/episodes", json={"sample_id": BMI}).json()
    episode_id = opened["episode_id"]
    ran = client.post(f"/v1/episodes/{episode_id}/step", json={"action": {"action": "execute_python", "code": "print(2 + 2)"}})
    assert ran.status_code == 200 and "4" in ran.json()["observation"]
    answer = find_sample(BMI).target.value
    done = client.post(f"/v1/episodes/{episode_id}/step", json={"action": {"action": "submit", "answer": answer}}).json()
    assert done["reward"] == 1.0
    client.delete(f"/v1/episodes/{episode_id}")


# (method, path template, raw body or json, expected status, words in detail); {id} is a live episode
ATTACKS: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/v1/episodes", b"x" * (MAX_BODY_BYTES + 1), 413, "larger than"),
    ("POST", "/v1/episodes/{id}/step", json.dumps({"action": "a" * (MAX_BODY_BYTES + 10)}).encode(), 413, "larger than"),
    ("POST", "/v1/episodes", b"[" * 200_000, 400, "nests deeper"),
    ("POST", "/v1/episodes/{id}/step", b'{"action": ' + b'{"a": ' * 70 + b"1" + b"}" * 71, 400, "nests deeper"),
    ("POST", "/v1/episodes/{id}/step", json.dumps({"action": nested(30)}).encode(), 422, "nests deeper than 20"),
    ("POST", "/v1/episodes", b'{"sample_id": "\xff\xfe"}', 400, "not valid UTF-8"),
    ("POST", "/v1/episodes", b"{not json", 422, ""),
    ("POST", "/v1/episodes", b"", 422, ""),
    ("POST", "/v1/episodes", json.dumps({"sample_id": ["a"]}).encode(), 422, ""),
    ("POST", "/v1/episodes", json.dumps({"sample_id": BMI, "max_turns": "many"}).encode(), 422, ""),
    ("POST", "/v1/episodes", json.dumps({"sample_id": BMI, "index": -1}).encode(), 422, ""),
    ("POST", "/v1/episodes/{id}/step", json.dumps({"action": 5}).encode(), 422, ""),
    ("POST", "/v1/episodes/{id}/step", json.dumps({"action": None}).encode(), 422, ""),
    ("POST", "/v1/episodes/{id}/step", json.dumps({"act": "x"}).encode(), 422, ""),
    ("POST", "/v1/episodes", json.dumps({"sample_id": "../../../etc/passwd/0"}).encode(), 400, "must look like"),
    ("POST", "/v1/episodes", json.dumps({"sample_id": "medcalcbench/bmi/train/0/\uff11"}).encode(), 400, "must look like"),
    ("POST", "/v1/episodes", json.dumps({"dataset": "..", "category": "../x"}).encode(), 400, "may hold only"),
    ("POST", "/v1/episodes", json.dumps({"sample_id": "medcalcbench/bmi/train/0/" + "9" * 12}).encode(), 400, "cap"),
    ("POST", "/v1/episodes", json.dumps({"sample_id": "medcalcbench/bmi/train/" + "9" * 12 + "/0"}).encode(), 400, "cap"),
    # the client resolves the dots: this reaches /v1/episodes/step, a GET-only route
    ("POST", "/v1/episodes/../episodes/step", json.dumps({"action": "x"}).encode(), 405, ""),
    ("POST", "/v1/episodes/..%2F..%2Fetc/step", json.dumps({"action": "x"}).encode(), 404, ""),
    ("POST", "/v1/episodes/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00/step",
     json.dumps({"action": "x"}).encode(), 404, "unknown episode"),
    ("POST", "/v1/episodes/" + "A" * 32 + "/step", json.dumps({"action": "x"}).encode(), 404, "unknown episode"),
    ("POST", "/v1/episodes/" + "A" * 5000 + "/step", json.dumps({"action": "x"}).encode(), 404, "unknown episode"),
    ("DELETE", "/v1/episodes/" + "B" * 32, None, 404, "unknown episode"),
    ("GET", "/v1/episodes/" + "C" * 32, None, 404, "unknown episode"),
    ("POST", "/agentgym/step", json.dumps({"id": {"id": {"id": 1}}, "action": "x"}).encode(), 404, ""),
    ("POST", "/agentgym/step", json.dumps({"env_idx": 3, "action": "x"}).encode(), 404, ""),
    ("POST", "/agentgym/reset", json.dumps({"id": "A" * 32, "data_idx": -5}).encode(), 422, ""),
    ("GET", "/agentgym/observation?id=../../etc/passwd", None, 404, ""),
    ("POST", "/openenv/step", json.dumps({"action": "notadict", "episode_id": "x"}).encode(), 422, ""),
    ("GET", "/openenv/state?episode_id=%2e%2e%2f", None, 404, ""),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), ATTACKS)
def test_attack_gets_a_clear_4xx_and_the_next_episode_works(
    client: Any, live: str, method: str, path: str, body: Any, status: int, words: str
) -> None:
    reply = client.request(method, path.replace("{id}", live), content=body, headers=JSON if body is not None else None)
    assert reply.status_code == status, reply.text[:300]
    detail = reply.json()["detail"]
    if words:
        assert isinstance(detail, str) and "\n" not in detail and words in detail
    assert find_sample(BMI).solution.code not in reply.text
    # the live episode is untouched and the next one works
    assert client.get(f"/v1/episodes/{live}").json()["turn"] == 0
    assert_next_episode_works(client)
    client.delete(f"/v1/episodes/{live}")


@pytest.mark.parametrize(
    "action",
    [
        "\ud800 lone surrogate and no json",
        '{"action": "execute_python", "code": "print(\'\\ud83d\')"}',
        [{"function": {"name": "submit", "arguments": "{}"}}, {"function": {"name": "submit", "arguments": "{}"}}],
        {"action": "describe_table", "table": "../../etc/passwd"},
        {"action": "submit", "answer": nested(15)},
        "x" * 150_000,
    ],
)
def test_bad_actions_cost_a_turn_not_the_server(client: Any, live: str, action: Any) -> None:
    # json.dumps escapes lone surrogates as \\ud800, as a hostile client would send them
    reply = client.post(f"/v1/episodes/{live}/step", content=json.dumps({"action": action}), headers=JSON)
    assert reply.status_code == 200
    body = reply.json()
    body["observation"].encode("utf-8")  # valid UTF-8 whatever the agent sent
    assert body["info"]["turn"] == 1
    if not body["terminated"]:
        assert "score" not in body["info"]
    assert_next_episode_works(client)


def test_agent_code_cannot_reach_the_target(client: Any, live: str) -> None:
    """The sandbox session knows nothing of the sample's target: an agent that searches its
    process finds nothing, and the reply carries nothing hidden."""
    code = "import os, sys\nprint(sorted(os.environ)[:50])\nprint([m for m in sys.modules if 'medagentgym' in m][:5])"
    reply = client.post(f"/v1/episodes/{live}/step", json={"action": {"action": "execute_python", "code": code}})
    assert reply.status_code == 200
    sample = find_sample(BMI)
    assert str(sample.target.value) not in reply.text and "MEDAGENTGYM_SERVE_TOKEN" not in reply.text


def test_many_failed_creates_leave_no_live_episode(client: Any) -> None:
    before = len(client.get("/v1/episodes").json()["episodes"])
    for bad in ("nope/x/train/0/0", "medcalcbench/zzz/train/0/0", "medcalcbench/bmi/test/0/99999999"):
        for _ in range(5):
            assert client.post("/v1/episodes", json={"sample_id": bad}).status_code == 400
    assert len(client.get("/v1/episodes").json()["episodes"]) == before
    assert_next_episode_works(client)
