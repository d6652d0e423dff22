"""What keeps hundreds of episodes' model calls cheap and correct: the policy's pools leased by
load, its connection cap, and the mock's shared port (issue 15, item 4)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from medagentgym.mock_llm import create_app, serve_mock
from medagentgym.policies.openai_chat import KEEPALIVE_S, OpenAIChatPolicy

MESSAGES: list[dict[str, Any]] = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}]


def _policy(base_url: str, **options: Any) -> OpenAIChatPolicy:
    return OpenAIChatPolicy("mock", base_url=base_url, api_key_env=None, max_retries=0, timeout_s=30, **options)


async def _calls(policy: OpenAIChatPolicy, n: int) -> list[Any]:
    return await asyncio.gather(
        *(policy.start_episode(None, seed=i).aact(MESSAGES, None) for i in range(n)),  # type: ignore[arg-type]
        return_exceptions=True,
    )


def test_many_concurrent_calls_spread_over_pools_and_a_lone_caller_reuses_one() -> None:
    app = create_app(latency_s=0.3, record=False)
    with serve_mock(app) as base_url:
        policy = _policy(base_url, calls_per_pool=4)

        async def go() -> tuple[int, int]:
            replies = await _calls(policy, 256)
            assert [r for r in replies if isinstance(r, BaseException)] == []
            assert all(r.content for r in replies)
            after_burst = policy._clients.pool_count()
            for i in range(5):  # one at a time: the most recently freed pool every time
                await policy.start_episode(None, seed=i).aact(MESSAGES, None)  # type: ignore[arg-type]
            assert policy._clients.pool_count() == after_burst
            await policy.aclose()
            return after_burst, app.state.mock.peak_in_flight

        pools, peak = asyncio.run(go())
    assert app.state.mock.served == 261
    assert peak > 4  # no hidden cap below the load
    assert pools <= 256 // 4  # never more pools than the load needs


def test_max_connections_caps_requests_in_flight_and_every_call_is_served() -> None:
    app = create_app(latency_s=0.05, record=False)
    with serve_mock(app) as base_url:
        policy = _policy(base_url, max_connections=3, calls_per_pool=2)

        async def go() -> list[Any]:
            replies = await _calls(policy, 40)
            assert policy._clients.pool_count() == 1  # 3 // 2 pools of 2
            await policy.aclose()
            return replies

        replies = asyncio.run(go())
    assert not [r for r in replies if isinstance(r, BaseException)]
    assert app.state.mock.served == 40 and app.state.mock.peak_in_flight <= 2


@pytest.mark.parametrize("cap", [None, 1])
def test_a_cancelled_call_gives_its_pool_back(cap: int | None) -> None:
    """A call abandoned mid-flight (an episode's deadline) must not keep its lease: under a cap
    of one connection the next call would otherwise wait for ever."""
    app = create_app(latency_s=1.0, record=False)
    with serve_mock(app) as base_url:
        policy = _policy(base_url, max_connections=cap)

        async def go() -> str | None:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(policy.aact(MESSAGES, None), 0.2)
            reply = await asyncio.wait_for(policy.aact(MESSAGES, None), 20)  # waits out nothing
            await policy.aclose()
            return reply.content

        assert asyncio.run(go())


def test_pool_options_refuse_nonsense_in_one_line() -> None:
    for options, needle in (
        ({"calls_per_pool": 0}, "calls_per_pool must be >= 1"),
        ({"max_connections": 0}, "max_connections must be >= 1"),
        ({"max_connections": -5}, "max_connections must be >= 1"),
    ):
        with pytest.raises(ValueError, match=needle) as info:
            _policy("http://127.0.0.1:9/v1", **options)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="calls_per_pool must be an integer"):
        OpenAIChatPolicy.from_options(model="m", calls_per_pool="many")
    assert OpenAIChatPolicy.from_options(model="m", calls_per_pool="3")._clients.calls_per_pool == 3
    # idle connections are dropped before a uvicorn-based server (vLLM, SGLang) closes them at 5 s
    assert KEEPALIVE_S < 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_mock_processes_share_a_port_and_both_answer() -> None:
    port = _free_port()
    command = [sys.executable, "-m", "medagentgym.mock_llm", "--port", str(port), "--reuse-port"]
    children = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            assert all(c.poll() is None for c in children), "a mock process exited"
            try:  # a fresh connection each time: the kernel picks the process per connection
                pids.add(httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2).json()["pid"])
            except httpx.HTTPError:
                time.sleep(0.1)
        assert pids == {c.pid for c in children}
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={"model": "m", "messages": MESSAGES})
        assert reply.status_code == 200 and reply.json()["choices"]
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


def test_ray_workers_go_to_every_node_with_cpus_in_turn() -> None:
    from medagentgym.rollout.ray_backend import worker_homes

    head = {"NodeID": "head", "Alive": True, "Resources": {"CPU": 1.0}}
    worker = {"NodeID": "worker", "Alive": True, "Resources": {"CPU": 2.0}}
    assert worker_homes([head, worker], 2) == ["head", "worker"]
    assert worker_homes([head, worker], 3) == ["head", "worker", "worker"]
    assert worker_homes([head, worker], 5) == ["head", "worker", "worker", "head", "worker"]
    gone = {"NodeID": "gone", "Alive": False, "Resources": {"CPU": 8.0}}
    cpuless_head = {"NodeID": "head", "Alive": True, "Resources": {}}  # a head kept free of work
    assert worker_homes([gone, cpuless_head, worker], 2) == ["worker", "worker"]
    assert worker_homes([gone, {"Alive": True}], 2) == [None, None]  # Ray decides
