"""The environment server: native API, sessions (cap, idle expiry, shutdown), auth, AgentGym and
OpenEnv shapes, all in process through FastAPI's test client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

fastapi_testclient = pytest.importorskip("fastapi.testclient")

from medagentgym.catalog.selection import find_sample
from medagentgym.integrations.server import (
    ServeError,
    ServeSettings,
    check_bind,
    create_app,
)

BMI = "medcalcbench/bmi/train/0/0"
BMI2 = "medcalcbench/bmi/train/0/1"
TOKEN = "s3cret-token-for-tests-0123456789"


def python(code: str) -> dict[str, Any]:
    return {"action": "execute_python", "code": code}


def submit(answer: Any) -> dict[str, Any]:
    return {"action": "submit", "answer": answer}


def answer_of(sample_id: str) -> float:
    return float(find_sample(sample_id).target.value)


@pytest.fixture
def client_factory(sandbox_server: Any) -> Iterator[Any]:
    opened: list[Any] = []

    def make(samples: Any = None, **settings: Any) -> Any:
        app = create_app(ServeSettings(**settings), samples=samples, sandbox=sandbox_server)
        client = fastapi_testclient.TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: Any) -> Any:
    return client_factory()


def create(client: Any, sample_id: str = BMI, **extra: Any) -> dict[str, Any]:
    reply = client.post("/v1/episodes", json={"sample_id": sample_id, **extra})
    assert reply.status_code == 201, reply.text
    return reply.json()


def step(client: Any, episode_id: str, action: Any) -> Any:
    return client.post(f"/v1/episodes/{episode_id}/step", json={"action": action})


def assert_no_secrets(sample_id: str, texts: list[str]) -> None:
    sample = find_sample(sample_id)
    for text in texts:
        assert sample.solution.code not in text
        assert f"{sample.target.value}" not in text
        assert '"target"' not in text and '"solution"' not in text


def test_episode_lifecycle_matches_the_env_contract(client: Any) -> None:
    opened = create(client)
    episode_id = opened["episode_id"]
    assert len(episode_id) >= 32
    info = opened["info"]
    assert [m["role"] for m in info["messages"]] == ["system", "user"]
    assert info["messages"][1]["content"] == opened["observation"]
    assert info["sample_id"] == BMI and info["turn"] == 0 and "tools" not in info

    ran = step(client, episode_id, python("print(6 * 7)"))
    assert ran.status_code == 200
    body = ran.json()
    assert "42" in body["observation"] and body["reward"] == 0.0
    assert (body["terminated"], body["truncated"]) == (False, False)
    assert body["info"]["execution"]["status"] == "ok" and "score" not in body["info"]
    assert_no_secrets(BMI, [json.dumps(opened), ran.text])

    done = step(client, episode_id, json.dumps(submit(answer_of(BMI)))).json()
    assert done["reward"] == 1.0 and done["terminated"] is True
    assert done["info"]["status"] == "ok" and done["info"]["score"]["correct"] is True

    again = step(client, episode_id, submit(1))
    assert again.status_code == 409 and "over" in again.json()["detail"]
    assert client.delete(f"/v1/episodes/{episode_id}").json() == {"episode_id": episode_id, "closed": True}
    gone = step(client, episode_id, python("1"))
    assert gone.status_code == 404 and "closed" in gone.json()["detail"]
    assert client.delete(f"/v1/episodes/{episode_id}").status_code == 404


def test_tools_format_and_selection_by_parts(client: Any) -> None:
    opened = client.post(
        "/v1/episodes",
        json={"dataset": "medcalcbench", "category": "bmi", "split": "train", "seed": 0, "index": 1, "action_format": "tools"},
    ).json()
    assert opened["info"]["sample_id"] == BMI2
    names = {t["function"]["name"] for t in opened["info"]["tools"]}
    assert {"execute_python", "submit"} <= names and "debug_hint" not in names
    call = {"id": "c1", "type": "function", "function": {"name": "submit", "arguments": json.dumps({"answer": answer_of(BMI2)})}}
    assert step(client, opened["episode_id"], call).json()["reward"] == 1.0


def test_reset_moves_an_episode_to_another_sample(client: Any) -> None:
    episode_id = create(client, max_turns=3)["episode_id"]
    step(client, episode_id, python("x = 1"))
    reset = client.post(f"/v1/episodes/{episode_id}/reset", json={"sample_id": BMI2})
    assert reset.status_code == 200
    body = reset.json()
    assert body["episode_id"] == episode_id and body["info"]["sample_id"] == BMI2 and body["info"]["turn"] == 0
    assert body["info"]["max_turns"] == 3  # settings stay with the episode
    assert step(client, episode_id, submit(answer_of(BMI2))).json()["reward"] == 1.0
    # a finished episode can be reset too
    assert client.post(f"/v1/episodes/{episode_id}/reset", json={"sample_id": BMI}).status_code == 200


def test_listing_and_one_episode(client: Any) -> None:
    first = create(client)["episode_id"]
    second = create(client, BMI2)["episode_id"]
    step(client, first, python("1"))
    listed = client.get("/v1/episodes").json()
    rows = {row["episode_id"]: row for row in listed["episodes"]}
    assert set(rows) == {first, second} and listed["max_episodes"] == 256
    assert rows[first]["turn"] == 1 and rows[second]["sample_id"] == BMI2
    assert rows[first]["idle_s"] >= 0 and rows[first]["busy"] is False
    assert client.get(f"/v1/episodes/{second}").json()["turn"] == 0
    assert "target" not in json.dumps(listed)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"sample_id": "nope/x/train/0/0"}, 400, "unknown dataset"),
        ({"sample_id": "medcalcbench/nope/train/0/0"}, 400, "unknown category"),
        ({"sample_id": "medcalcbench/bmi/valid/0/0"}, 400, "split"),
        ({"dataset": "medcalcbench", "category": "bmi", "split": "dev"}, 400, "split"),
        ({"dataset": "medcalcbench"}, 400, "both dataset and category"),
        ({"sample_id": BMI, "dataset": "medcalcbench"}, 400, "either"),
        ({"sample_id": "medcalcbench/bmi/train/0/99999999"}, 400, "cap"),
        ({"sample_id": BMI, "max_turns": 1000}, 400, "cap"),
        ({"sample_id": BMI, "step_timeout_s": 10_000}, 400, "cap"),
        ({}, 400, "name a sample"),
        ({"sample_id": BMI, "surprise": 1}, 422, ""),
        ({"sample_id": 7}, 422, ""),
    ],
)
def test_bad_requests_get_a_clear_4xx(client: Any, body: dict[str, Any], status: int, words: str) -> None:
    reply = client.post("/v1/episodes", json=body)
    assert reply.status_code == status, reply.text
    if words:
        detail = reply.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail and words in detail
    assert client.get("/v1/episodes").json()["episodes"] == []  # nothing half-created


def test_split_restriction(client_factory: Any) -> None:
    client = client_factory(splits=("train",))
    reply = client.post("/v1/episodes", json={"sample_id": "medcalcbench/bmi/test/0/0"})
    assert reply.status_code == 400 and "serves train" in reply.json()["detail"]


def test_cap_on_live_episodes_is_503_and_frees_on_close(client_factory: Any) -> None:
    client = client_factory(max_episodes=2)
    first = create(client)["episode_id"]
    create(client, BMI2)
    full = client.post("/v1/episodes", json={"sample_id": BMI})
    assert full.status_code == 503 and full.headers["retry-after"] == "1"
    assert "maximum of 2" in full.json()["detail"]
    assert len(client.get("/v1/episodes").json()["episodes"]) == 2
    client.delete(f"/v1/episodes/{first}")
    create(client)


def wait_for(predicate: Any, what: str, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_idle_episodes_expire_and_free_their_sandbox_session(client_factory: Any) -> None:
    client = client_factory(idle_timeout_s=1.0, sweep_interval_s=0.05)
    hub = client.app.state.hub
    episode_id = create(client)["episode_id"]
    env = hub.slots[episode_id].env
    assert step(client, episode_id, python("x = 41")).status_code == 200
    session = env._session
    assert session is not None and session.alive
    wait_for(lambda: not client.get("/v1/episodes").json()["episodes"], "the sweeper")
    # the listing empties first; the env is closed in the worker pool right after
    wait_for(lambda: env._session is None and not session.alive, "the sandbox session to close")
    reply = step(client, episode_id, python("x"))
    assert reply.status_code == 404 and "expired" in reply.json()["detail"]
    # the next episode works normally
    fresh = create(client)["episode_id"]
    assert step(client, fresh, submit(answer_of(BMI))).json()["reward"] == 1.0


def test_a_second_concurrent_step_gets_409_and_close_waits_for_the_step(client: Any) -> None:
    episode_id = create(client)["episode_id"]
    results: dict[str, Any] = {}

    def slow() -> None:
        results["slow"] = step(client, episode_id, python("import time\ntime.sleep(1.5)\nprint('slept')"))

    worker = threading.Thread(target=slow)
    worker.start()
    wait_for(lambda: client.get(f"/v1/episodes/{episode_id}").json()["busy"], "the step to start")
    second = step(client, episode_id, python("print(2)"))
    assert second.status_code == 409 and "one at a time" in second.json()["detail"]
    assert client.post(f"/v1/episodes/{episode_id}/reset", json={"sample_id": BMI2}).status_code == 409
    hub = client.app.state.hub
    env = hub.slots[episode_id].env
    assert client.delete(f"/v1/episodes/{episode_id}").status_code == 200  # while the step runs
    worker.join()
    assert results["slow"].status_code == 200 and "slept" in results["slow"].json()["observation"]
    assert env._session is None  # the step closed it when it returned


def test_shutdown_closes_every_episode(sandbox_server: Any) -> None:
    app = create_app(ServeSettings(), sandbox=sandbox_server)
    with fastapi_testclient.TestClient(app) as client:
        ids = [create(client)["episode_id"] for _ in range(3)]
        step(client, ids[0], python("1"))
        envs = [app.state.hub.slots[i].env for i in ids]
    assert app.state.hub.slots == {}
    assert all(env._session is None for env in envs)


def test_bearer_token_guards_everything_but_health(client_factory: Any) -> None:
    client = client_factory(token=TOKEN)
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/openenv/health").status_code == 200
    for method, path in [("GET", "/v1/episodes"), ("POST", "/v1/episodes"), ("GET", "/openapi.json"), ("GET", "/docs"),
                         ("POST", "/agentgym/create")]:
        assert client.request(method, path).status_code == 401
        wrong = client.request(method, path, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/openapi.json", headers=auth).status_code == 200
    created = client.post("/v1/episodes", json={"sample_id": BMI}, headers=auth)
    assert created.status_code == 201
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/openenv/ws") as ws:  # refused before it opens
        ws.receive_text()


def test_bind_rules() -> None:
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    check_bind("::1", None)
    for host in ("0.0.0.0", "::", "10.1.2.3", "example.org"):
        with pytest.raises(ServeError, match="without a token"):
            check_bind(host, None)
        check_bind(host, TOKEN)
    with pytest.raises(ServeError, match="too short"):
        ServeSettings(token="short")


def test_serve_command_refuses_a_public_address_without_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from medagentgym.integrations.serve_command import TOKEN_ENV, serve_command

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    app = typer.Typer()
    app.command()(serve_command)
    result = CliRunner().invoke(app, ["--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: refusing to listen on 0.0.0.0")
    assert len(result.output.strip().splitlines()) == 1


def test_openapi_schema_and_docs(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"/v1/episodes", "/v1/episodes/{episode_id}/step", "/agentgym/step", "/openenv/reset"} <= set(paths)
    assert client.get("/docs").status_code == 200


# -- AgentGym ----------------------------------------------------------------------------------

SELECTION = [BMI, BMI2, "medcalcbench/bmi/train/0/2"]


@pytest.fixture
def agentgym(client_factory: Any) -> Any:
    return client_factory(samples=[find_sample(s) for s in SELECTION])


def test_agentgym_id_style_client(agentgym: Any) -> None:
    """What BabyAI/TextCraft clients send: ``/create`` -> ``ok["id"]``, then ``{"id": ..}`` bodies."""
    created = agentgym.post("/agentgym/create", json={"commands": None, "goal": None})
    assert created.status_code == 200
    env_id = created.json()["id"]
    assert created.json()["done"] is False and created.json()["info"]["sample_id"] == BMI
    assert created.json()["system_prompt"]
    reset = agentgym.post("/agentgym/reset", json={"id": env_id, "data_idx": 1}).json()
    assert reset["info"]["sample_id"] == BMI2 and reset["done"] is False
    assert agentgym.get(f"/agentgym/observation?id={env_id}").json() == reset["observation"]
    model_text = 'Thought: compute it.\nAction: {"action": "execute_python", "code": "print(3 * 3)"}'
    stepped = agentgym.post("/agentgym/step", json={"id": env_id, "action": model_text}).json()
    assert "9" in stepped["observation"] and stepped["state"] == stepped["observation"] and stepped["done"] is False
    assert agentgym.get(f"/agentgym/observation?id={env_id}").json() == stepped["observation"]
    final = agentgym.post(
        "/agentgym/step", json={"id": env_id, "action": json.dumps(submit(answer_of(BMI2)))}
    ).json()
    assert final["done"] is True and final["reward"] == 1.0 and final["score"] == 1.0
    assert agentgym.post("/agentgym/close", json={"id": env_id}).json()["closed"] is True
    assert agentgym.post("/agentgym/step", json={"id": env_id, "action": "x"}).status_code == 404


def test_agentgym_env_idx_style_client(agentgym: Any) -> None:
    """What SQLGym/WebShop clients send: the whole ``/create`` reply as ``env_idx``, ``item_id`` on reset."""
    env_idx = agentgym.post("/agentgym/create").json()
    reset = agentgym.post("/agentgym/reset", json={"env_idx": env_idx, "item_id": 2}).json()
    assert reset["info"]["sample_id"] == SELECTION[2]
    stepped = agentgym.post("/agentgym/step", json={"env_idx": env_idx, "action": "no json here"}).json()
    assert stepped["done"] is False and stepped["state"].startswith("Error")
    assert agentgym.get(f"/agentgym/observation?env_idx={env_idx['id']}").status_code == 200
    assert agentgym.post("/agentgym/reset", json={"env_idx": env_idx, "data_idx": 3}).status_code == 400


def test_agentgym_without_a_selection_is_a_clear_400(client: Any) -> None:
    reply = client.post("/agentgym/create")
    assert reply.status_code == 400 and "no selection" in reply.json()["detail"]


# -- OpenEnv -----------------------------------------------------------------------------------


def test_openenv_websocket_session(agentgym: Any) -> None:
    """The messages OpenEnv's ``EnvClient`` sends over ``/ws``: reset, step, state, close."""
    hub = agentgym.app.state.hub
    with agentgym.websocket_connect("/openenv/ws") as ws:
        ws.send_text(json.dumps({"type": "step", "data": python("1")}))
        assert json.loads(ws.receive_text())["type"] == "error"
        ws.send_text(json.dumps({"type": "reset", "data": {"sample_id": BMI2, "episode_id": "mine"}}))
        reset = json.loads(ws.receive_text())
        assert reset["type"] == "observation" and reset["data"]["done"] is False and reset["data"]["reward"] is None
        observation = reset["data"]["observation"]
        assert observation["sample_id"] == BMI2 and observation["messages"][0]["role"] == "system"
        ws.send_text(json.dumps({"type": "step", "data": python("print(5 + 5)")}))
        ran = json.loads(ws.receive_text())["data"]
        assert "10" in ran["observation"]["text"] and ran["done"] is False and ran["reward"] == 0.0
        ws.send_text(json.dumps({"type": "state"}))
        state = json.loads(ws.receive_text())
        assert state["type"] == "state" and state["data"]["step_count"] == 1
        ws.send_text("{not json")
        assert json.loads(ws.receive_text())["data"]["code"] == "INVALID_JSON"
        ws.send_text(json.dumps({"type": "teleport"}))
        assert json.loads(ws.receive_text())["data"]["code"] == "UNKNOWN_TYPE"
        ws.send_text(json.dumps({"type": "step", "data": submit(answer_of(BMI2))}))
        done = json.loads(ws.receive_text())["data"]
        assert done["done"] is True and done["reward"] == 1.0 and done["observation"]["score"]["correct"]
        ws.send_text(json.dumps({"type": "reset", "data": {"seed": 3}}))  # a draw from the selection
        assert json.loads(ws.receive_text())["data"]["observation"]["sample_id"] in SELECTION
        assert len(hub.slots) == 1
        ws.send_text(json.dumps({"type": "close"}))
    wait_for(lambda: not hub.slots, "the WebSocket's episode to close")


def test_openenv_http_routes(agentgym: Any) -> None:
    reset = agentgym.post("/openenv/reset", json={"sample_id": BMI}).json()
    episode_id = reset["observation"]["episode_id"]
    assert reset["done"] is False
    stepped = agentgym.post("/openenv/step", json={"action": python("print(1)"), "episode_id": episode_id}).json()
    assert stepped["observation"]["turn"] == 1 and stepped["done"] is False
    assert agentgym.get("/openenv/state", params={"episode_id": episode_id}).json()["step_count"] == 1
    again = agentgym.post("/openenv/reset", json={"episode_id": episode_id, "sample_id": BMI2}).json()
    assert again["observation"]["episode_id"] == episode_id and again["observation"]["sample_id"] == BMI2
    assert agentgym.post("/openenv/step", json={"action": python("1")}).status_code == 400
    assert agentgym.post("/openenv/reset", json={"episode_id": "x" * 40}).status_code == 404
