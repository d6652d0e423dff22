"""Hardening of a session process, as an ordered list of named layers.

Each layer is prepared once in the fork-server (where expensive work such as building a seccomp
filter or a Landlock ruleset belongs) and applied in every session process right after ``fork``,
before the process reports ready and long before any agent code runs. The names of the layers
that were applied are recorded, so every trajectory can say how isolated it was; a layer whose
``prepare`` raises :class:`LayerUnavailable` is left out, loudly, instead of failing start-up.

Adding isolation (no-new-privs, dropping capabilities, Landlock, seccomp) means adding a layer
class and a name to :data:`DEFAULT_LAYERS`; nothing else changes.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from medagentgym.sandbox.limits import SandboxLimits

_PR_SET_PDEATHSIG = 1


class LayerUnavailable(RuntimeError):
    """This kernel or platform does not offer the layer; the server runs without it."""


@dataclass(frozen=True)
class ChildContext:
    """What a layer needs to know about the session it hardens."""

    scratch_dir: Path  # the only place the agent is meant to write
    io_dir: Path  # where the session's stdout/stderr are captured
    keep_fds: frozenset[int]  # descriptors that must survive (the session's connection)
    limits: SandboxLimits
    server_pid: int
    base_path: str  # PATH given to agent code


@runtime_checkable
class HardeningLayer(Protocol):
    name: str

    def prepare(self) -> None:
        """Once, in the server before any fork; raise LayerUnavailable to be left out."""

    def apply(self, ctx: ChildContext) -> None:
        """In the session process after fork; raising aborts the session (never runs code)."""


class ParentDeathLayer:
    """SIGKILL the session when the server dies, so a crashed server leaves no orphans."""

    name = "pdeathsig"

    def __init__(self) -> None:
        self._prctl: ctypes._CFuncPtr | None = None  # type: ignore[name-defined]

    def prepare(self) -> None:
        if not sys.platform.startswith("linux"):
            raise LayerUnavailable("prctl(PR_SET_PDEATHSIG) is Linux-only")
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl

    def apply(self, ctx: ChildContext) -> None:
        assert self._prctl is not None
        if self._prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != ctx.server_pid:  # the server died between fork and prctl
            os._exit(1)


class StdinLayer:
    """Agent code must never block reading the server's stdin."""

    name = "stdin_null"

    def prepare(self) -> None:
        pass

    def apply(self, ctx: ChildContext) -> None:
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 0:
            os.dup2(fd, 0)
            os.close(fd)


class CloseFdsLayer:
    """Close every descriptor inherited from the server (its control channel, other sessions')."""

    name = "close_fds"

    def prepare(self) -> None:
        pass

    def apply(self, ctx: ChildContext) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):  # the capture files replace these before any step
            os.dup2(null, fd)
        start = 3
        for keep in sorted(ctx.keep_fds):
            if keep >= start:
                os.closerange(start, keep)
                start = keep + 1
        os.closerange(start, 1 << 20)
        signal.set_wakeup_fd(-1)  # the server's wakeup pipe is gone


class EnvironmentLayer:
    """A scrubbed environment, HOME and TMPDIR in the scratch dir, working dir there too.

    Clearing ``os.environ`` does not hide ``/proc/self/environ``; that is why the server itself
    is started with an almost empty environment.
    """

    name = "scrub_env"

    def prepare(self) -> None:
        pass

    def apply(self, ctx: ChildContext) -> None:
        scratch = str(ctx.scratch_dir)
        os.environ.clear()
        os.environ.update(
            {
                "PATH": ctx.base_path,
                "LANG": "C.UTF-8",
                "HOME": scratch,
                "TMPDIR": scratch,
                "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
            }
        )
        tempfile.tempdir = scratch  # the server may have cached its own temp dir
        os.umask(0o077)
        os.chdir(scratch)


class RlimitLayer:
    """Address space, CPU seconds, file size, open files; no core dumps.

    Note: a process running as uid 0 with its capabilities can raise its own hard limits; the
    capability-drop layer (next level) closes that.
    """

    name = "rlimits"

    def prepare(self) -> None:
        pass

    def apply(self, ctx: ChildContext) -> None:
        limits = ctx.limits
        settings = [
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
            (resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + 1),
            (resource.RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes),
            (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        ]
        for which, soft, hard in settings:
            _, current_hard = resource.getrlimit(which)
            if current_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, current_hard), min(hard, current_hard)
            resource.setrlimit(which, (soft, hard))
        # Writing past RLIMIT_FSIZE then fails with EFBIG instead of killing the session.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


LAYER_TYPES: dict[str, type[HardeningLayer]] = {
    layer.name: layer  # type: ignore[misc]
    for layer in (ParentDeathLayer, StdinLayer, CloseFdsLayer, EnvironmentLayer, RlimitLayer)
}
DEFAULT_LAYERS: tuple[str, ...] = ("pdeathsig", "stdin_null", "close_fds", "scrub_env", "rlimits")


@dataclass(frozen=True)
class PreparedLayers:
    layers: tuple[HardeningLayer, ...]
    skipped: dict[str, str]  # layer name -> why it is unavailable

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @property
    def level(self) -> str:
        return isolation_level(self.names)


def prepare_layers(names: Sequence[str] = DEFAULT_LAYERS) -> PreparedLayers:
    """Instantiate and prepare the named layers, in order; unknown names are an error."""
    unknown = [name for name in names if name not in LAYER_TYPES]
    if unknown:
        raise ValueError(f"unknown hardening layers: {unknown} (known: {sorted(LAYER_TYPES)})")
    ready: list[HardeningLayer] = []
    skipped: dict[str, str] = {}
    for name in names:
        layer = LAYER_TYPES[name]()
        try:
            layer.prepare()
        except LayerUnavailable as exc:
            skipped[name] = str(exc)
            continue
        ready.append(layer)
    return PreparedLayers(tuple(ready), skipped)


def apply_layers(layers: Sequence[HardeningLayer], ctx: ChildContext) -> None:
    for layer in layers:
        layer.apply(ctx)


def isolation_level(names: Sequence[str]) -> str:
    """A one-word summary of the applied layers, strongest first, recorded in trajectories.

    Levels from SANDBOX.md: ``landlock+seccomp`` > ``seccomp+bwrap`` > ``rlimits+seccomp`` >
    ``rlimits`` > ``none``. Only the last two exist so far.
    """
    present = set(names)
    if {"landlock", "seccomp"} <= present:
        return "landlock+seccomp"
    if {"seccomp", "bwrap"} <= present:
        return "seccomp+bwrap"
    if {"rlimits", "seccomp"} <= present:
        return "rlimits+seccomp"
    if "rlimits" in present:
        return "rlimits"
    return "none"
