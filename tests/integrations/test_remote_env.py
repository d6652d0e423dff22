"""RemoteEnv against a live server on loopback (real uvicorn, real sockets): the same episode as
the in-process env; AgentGym's client calls made with ``requests``; the load benchmark at N=8."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from medagentgym.catalog.selection import find_sample
from medagentgym.env.env import EnvConfig, MedAgentEnv
from medagentgym.integrations.common import IntegrationError
from medagentgym.integrations.remote import RemoteEnv, RemoteEnvError
from medagentgym.http_thread import serve_in_thread
from medagentgym.integrations.server import ServeSettings, create_app

BMI = "medcalcbench/bmi/train/0/0"
BMI2 = "medcalcbench/bmi/train/0/1"
TOKEN = "remote-env-test-token-0123456789"
REPO = Path(__file__).resolve().parents[2]
_TIMING = re.compile(r"^\[(\w+); [0-9.]+ ms\]", re.MULTILINE)


@pytest.fixture(scope="module")
def server(sandbox_server: Any) -> Iterator[str]:
    samples = [find_sample(s) for s in (BMI, BMI2)]
    app = create_app(ServeSettings(token=TOKEN), samples=samples, sandbox=sandbox_server)
    with serve_in_thread(app) as base:
        yield base


def normal(value: Any) -> Any:
    """Drop what timing changes: the execution header's milliseconds and ``duration_s``."""
    if isinstance(value, str):
        return _TIMING.sub(r"[\1; <t> ms]", value)
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if k != "duration_s"}
    if isinstance(value, (list, tuple)):
        return [normal(v) for v in value]
    return value


ACTIONS: list[Any] = [
    {"action": "execute_python", "code": "x = 6 * 7\nprint(x)"},
    '{"action": "execute_python", "code": "1 / 0"}',
    "no action in this text",
    {"action": "execute_python", "code": "x + 1"},
    {"action": "submit", "answer": find_sample(BMI).target.value},
]


@pytest.mark.parametrize("action_format", ["json", "tools"])
def test_remote_episode_equals_the_in_process_one(server: str, sandbox_server: Any, action_format: str) -> None:
    local = MedAgentEnv(config=EnvConfig(action_format=action_format), sandbox=sandbox_server)
    remote = RemoteEnv(server, token=TOKEN, action_format=action_format)
    try:
        sample = find_sample(BMI)
        expected = local.reset(options={"sample": sample})
        got = remote.reset(options={"sample_id": BMI})
        assert json.loads(json.dumps(normal(expected))) == normal(got)
        assert remote.observation_space == local.observation_space or type(remote.observation_space) is type(
            local.observation_space
        )
        for action in ACTIONS:
            expected_step = local.step(action)
            got_step = remote.step(action)
            assert json.loads(json.dumps(normal(expected_step))) == normal(list(got_step)), action
        assert got_step[1] == 1.0 and got_step[2] is True and remote.done
        with pytest.raises(RemoteEnvError) as refused:
            remote.step(ACTIONS[0])
        assert refused.value.status == 409 and isinstance(refused.value, RuntimeError)
        # the same RemoteEnv plays the next episode on the same server episode
        observation, info = remote.reset(options={"sample": find_sample(BMI2)})
        assert info["sample_id"] == BMI2 and info["turn"] == 0 and observation
    finally:
        local.close()
        remote.close()
        remote.close()  # idempotent


def test_remote_errors_keep_the_in_process_types(server: str) -> None:
    with pytest.raises(IntegrationError, match="unknown dataset"):
        RemoteEnv(server, token=TOKEN).reset(options={"sample_id": "nope/x/train/0/0"})
    with pytest.raises(RemoteEnvError) as unauthorized:
        RemoteEnv(server, token="wrong-token-wrong-token").reset(options={"sample_id": BMI})
    assert unauthorized.value.status == 401
    with pytest.raises(TypeError, match="unknown settings"):
        RemoteEnv(server, token=TOKEN, max_turn=3)
    env = RemoteEnv(server, token=TOKEN, max_turns=2, sample_id=BMI)
    try:
        _, info = env.reset()
        assert info["max_turns"] == 2 and info["sample_id"] == BMI
        env.step("nothing")
        _, _, terminated, truncated, info = env.step("nothing again")
        assert truncated and not terminated and info["status"] == "parse_error"
        _, info = env.reset(seed=5, options={})  # the default sample again
        assert info["sample_id"] == BMI
    finally:
        env.close()


def test_seeded_draw_from_the_server_selection(server: str) -> None:
    env = RemoteEnv(server, token=TOKEN)
    try:
        drawn = {env.reset(seed=seed)[1]["sample_id"] for seed in range(6)}
        assert drawn <= {BMI, BMI2}
        assert env.reset(seed=1)[1]["sample_id"] == env.reset(seed=1)[1]["sample_id"]
    finally:
        env.close()


def test_agentgym_client_calls_with_requests(sandbox_server: Any) -> None:
    """The HTTP calls AgentGym's ``BabyAIEnvClient`` makes, made the same way (``requests``)."""
    requests = pytest.importorskip("requests")
    samples = [find_sample(s) for s in (BMI, BMI2)]
    with serve_in_thread(create_app(ServeSettings(), samples=samples, sandbox=sandbox_server)) as base:
        ok = requests.post(f"{base}/agentgym/create", timeout=30)
        assert ok.status_code == 200
        env_id = ok.json()["id"]

        def post(path: str, data: dict[str, Any]) -> dict[str, Any]:
            data["id"] = env_id
            res = requests.post(f"{base}/agentgym/{path}", json=data, timeout=30)
            assert res.status_code == 200, res.text
            return res.json()

        reset = post("reset", {"data_idx": 1})
        assert reset["info"]["sample_id"] == BMI2
        observed = requests.get(f"{base}/agentgym/observation?id={env_id}", timeout=30).json()
        assert observed == reset["observation"]
        step = post("step", {"action": 'Action: {"action": "execute_python", "code": "print(7)"}'})
        assert "7" in step["observation"] and step["done"] is False
        answer = find_sample(BMI2).target.value
        final = post("step", {"action": json.dumps({"action": "submit", "answer": answer})})
        assert final["done"] is True and final["score"] == 1.0
        assert post("close", {})["closed"] is True


def test_serve_command_process_refuses_public_bind_without_token() -> None:
    env = {"PATH": "/usr/bin:/bin", "MEDAGENTGYM_CACHE": "/nonexistent"}
    done = subprocess.run(
        [sys.executable, "-m", "medagentgym.integrations.serve_command", "--host", "0.0.0.0"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("error: refusing to listen on 0.0.0.0 without a token")


def test_medagentgym_serve_from_the_command_line_drives_a_remote_episode() -> None:
    """The real ``medagentgym serve`` process with a token on a free loopback port."""
    import os
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MEDAGENTGYM_SERVE_TOKEN": TOKEN}
    command = [sys.executable, "-c", "from medagentgym.cli import app; app()", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        assert httpx.get(f"{base}/v1/episodes", timeout=5).status_code == 401  # no token, no entry
        remote = RemoteEnv(base, token=TOKEN)
        try:
            _, info = remote.reset(options={"sample_id": BMI})
            assert [m["role"] for m in info["messages"]] == ["system", "user"]
            _, reward, terminated, _, info = remote.step({"action": "submit", "answer": find_sample(BMI).target.value})
            assert (reward, terminated, info["status"]) == (1.0, True, "ok")
        finally:
            remote.close()
    finally:
        process.terminate()
        assert process.wait(timeout=60) is not None


@pytest.mark.slow
def test_load_benchmark_runs_small() -> None:
    spec = importlib.util.spec_from_file_location("bench_serve_load", REPO / "benchmarks" / "bench_serve_load.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up while being made
    try:
        spec.loader.exec_module(bench)
        result = bench.main(["--episodes", "8", "--workers", "8"])
    finally:
        sys.modules.pop(spec.name, None)
    for path in ("server", "in_process"):
        assert result[path]["errors"] == 0 and result[path]["lost"] == 0
    assert result["server"]["left_on_server"] == 0
