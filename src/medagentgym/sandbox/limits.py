"""Per-session resource limits.

Serialized (they travel from the client to the fork-server in every session request), so pydantic.
The defaults fit one agent episode: a few GiB of address space for pandas work, a generous CPU
budget for the whole episode, and small output so a runaway ``print`` cannot flood a prompt.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

GIB = 1024**3
MIB = 1024**2


class SandboxLimits(BaseModel):
    """Limits of one session (one episode).

    - ``timeout_s``: wall-clock limit of one step; the soft limit raises inside the snippet and
      keeps the session, the hard limit (``timeout_s + hard_grace_s``) kills and restarts it.
    - ``memory_bytes``: RLIMIT_AS of the session process (address space, not RSS: pandas and
      numpy map ~300 MiB before any data is loaded).
    - ``cpu_s``: RLIMIT_CPU, cumulative over the whole session, not per step.
    - ``file_size_bytes``: RLIMIT_FSIZE (largest file the session may write, output capture
      included).
    - ``open_files``: RLIMIT_NOFILE.
    - ``output_bytes``: how much of stdout and of stderr (each) one step returns.
    - ``scratch_bytes``: the session's disk quota for its scratch dir (all files together). A
      tmpfs of this size where the server may mount one (its pages are RAM: the worst case is
      ``scratch_bytes`` x concurrent sessions), else checked by the client after every step.
      The capture files beside it share the same tmpfs, with :func:`io_bytes` more room.
    - ``max_tasks``: threads (and processes) the session may hold at once, by a pids cgroup
      where the machine offers one: enough for BLAS pools and thread executors, far below
      ``pid_max``.

    Where the machine offers a memory cgroup, ``memory_bytes`` also bounds the memory the session
    *holds* by any route (anonymous, memfd, page cache of its tmpfs), not only its address space.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=30.0, gt=0)
    memory_bytes: int = Field(default=4 * GIB, ge=512 * MIB)
    cpu_s: int = Field(default=600, ge=1)
    file_size_bytes: int = Field(default=256 * MIB, ge=1 * MIB)
    open_files: int = Field(default=256, ge=32)
    output_bytes: int = Field(default=16384, ge=256)
    hard_grace_s: float = Field(default=2.0, gt=0)
    scratch_bytes: int = Field(default=256 * MIB, ge=1 * MIB)
    max_tasks: int = Field(default=256, ge=16)


def io_bytes(limits: SandboxLimits) -> int:
    """Room for a session's stdout/stderr capture files on top of its scratch quota.

    Python-level writes are capped at ``output_bytes`` per step; raw descriptor writes are not,
    so the capture files get a bounded allowance of their own (beyond it a write fails ENOSPC).
    """
    return max(4 * MIB, 4 * limits.output_bytes)
