"""Making many envs in one process: one sandbox server per env versus the shared server.

    python benchmarks/bench_env_shared_server.py [--envs N]

A library user who builds N envs (a vector env, a trainer's environment_factory, the HTTP
server's episodes) used to start N fork-servers. Prints, for both designs, the wall time to make
N envs and play one short episode in each (reset, one execute_python, submit), the processes the
servers add, and the ratio (per-env servers / shared).
"""

from __future__ import annotations

import argparse
import json
import time

from medagentgym.catalog.selection import find_sample
from medagentgym.env.env import MedAgentEnv
from medagentgym.sandbox import SandboxServer, close_shared_server

SAMPLE_ID = "medcalcbench/bmi/train/0/0"


def _episode(env: MedAgentEnv, answer: object) -> None:
    env.reset(options={"sample_id": SAMPLE_ID})
    env.step({"action": "execute_python", "code": "x = 6 * 7"})
    _, reward, *_ = env.step(json.dumps({"action": "submit", "answer": answer}))
    if reward != 1.0:
        raise RuntimeError("benchmark episode did not score 1")


def own_servers(n: int, answer: object) -> float:
    started = time.perf_counter()
    servers = [SandboxServer() for _ in range(n)]
    envs = [MedAgentEnv(sandbox=server) for server in servers]
    try:
        for env in envs:
            _episode(env, answer)
    finally:
        for env, server in zip(envs, servers, strict=True):
            env.close()
            server.close()
    return time.perf_counter() - started


def shared(n: int, answer: object) -> float:
    close_shared_server()  # the shared server's own start-up is counted
    started = time.perf_counter()
    envs = [MedAgentEnv() for _ in range(n)]
    try:
        for env in envs:
            _episode(env, answer)
    finally:
        for env in envs:
            env.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=16)
    args = parser.parse_args()
    answer = find_sample(SAMPLE_ID).target.value
    base = own_servers(args.envs, answer)
    candidate = shared(args.envs, answer)
    print(f"{args.envs} envs, one short episode each")
    print(f"  one server per env : {base:7.2f} s  ({args.envs} server processes)")
    print(f"  shared server      : {candidate:7.2f} s  (1 server process)")
    print(f"  ratio (per-env / shared): {base / candidate:.1f}x")


if __name__ == "__main__":
    main()
