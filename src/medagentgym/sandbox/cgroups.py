"""Per-session control groups: a memory limit that counts every route, and a cap on tasks.

RLIMIT_AS bounds address space, not memory: pages of a ``memfd`` written with ``write()``, SysV
shared memory and the page cache of a tmpfs are held without being mapped, and RLIMIT_NPROC is
ignored for uid 0. A memory cgroup charges all of them to the session; a pids cgroup caps its
threads. Each session gets one child group per controller, created (with its limits) by the
server before fork, joined by the session process itself as its first privileged act, and
removed after the session is reaped.

Both hierarchies are supported: cgroup v2 (one tree, ``memory.max`` / ``pids.max``, where the
server's group may have controlled children) and the v1 ``memory`` and ``pids`` hierarchies
(``memory.limit_in_bytes`` / ``pids.max``). Where neither is writable (no root, no delegation)
the layer is skipped and the sandbox falls back to syscall denial (``memfd_create`` refused) and
RLIMIT_NPROC under a per-session uid.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")
_SERVER_PREFIX = "medagentgym-"


@dataclass(frozen=True)
class _Hierarchy:
    """Where one controller's groups for this server live, and how its limits are spelled."""

    controller: str  # "memory", "pids", or "memory+pids" for v2 (one tree holds both)
    base: Path  # the server's parent group: <mount>/<own group>/medagentgym-<server pid>
    version: int


def _own_groups() -> dict[str, str]:
    """``controller -> group path`` of this process (``""`` key: the v2 unified group)."""
    groups: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for name in controllers.split(",") if controllers else [""]:
            groups[name] = path
    return groups


def _cgroup_mounts() -> list[tuple[Path, str, list[str]]]:
    """``(mount point, fstype, super options)`` of every cgroup and cgroup2 mount."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    found: list[tuple[Path, str, list[str]]] = []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) > 4 and len(extra) >= 3 and extra[0] in ("cgroup", "cgroup2"):
            found.append((Path(fields[4]), extra[0], extra[2].split(",")))
    return found


def _v1_mount(controller: str) -> Path | None:
    return next((p for p, kind, opts in _cgroup_mounts() if kind == "cgroup" and controller in opts), None)


def _v2_mount() -> Path | None:
    return next((p for p, kind, _ in _cgroup_mounts() if kind == "cgroup2"), None)


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


class CgroupPlan:
    """The per-session groups of one server; built in the server, used around each fork."""

    def __init__(self, hierarchies: tuple[_Hierarchy, ...]) -> None:
        self.hierarchies = hierarchies

    @property
    def controllers(self) -> tuple[str, ...]:
        names: list[str] = []
        for h in self.hierarchies:
            names += h.controller.split("+")
        return tuple(names)

    @property
    def bases(self) -> tuple[Path, ...]:
        return tuple(h.base for h in self.hierarchies)

    @classmethod
    def detect(cls, server_pid: int) -> tuple[CgroupPlan | None, str]:
        """The groups this process may create, or None and why none."""
        own = _own_groups()
        name = f"{_SERVER_PREFIX}{server_pid}"
        reasons: list[str] = []
        v2 = _v2_mount()
        if v2 is not None and "" in own:
            parent = v2 / own[""].lstrip("/")
            try:
                enabled = set((parent / "cgroup.subtree_control").read_text().split())
                available = set((parent / "cgroup.controllers").read_text().split())
            except OSError:
                enabled, available = set(), set()
            if set(CONTROLLERS) <= enabled and _writable_dir(parent):
                return cls((_Hierarchy("memory+pids", parent / name, 2),)), ""
            missing = sorted(set(CONTROLLERS) - available)
            reasons.append(
                f"cgroup v2 at {parent}: "
                + (f"controllers {missing} not available" if missing else "memory/pids not delegated to children")
            )
        found: list[_Hierarchy] = []
        for controller in CONTROLLERS:
            mount = _v1_mount(controller)
            if mount is None or controller not in own:
                reasons.append(f"no cgroup v1 {controller} hierarchy")
                continue
            parent = mount / own[controller].lstrip("/")
            if not _writable_dir(parent):
                reasons.append(f"cgroup v1 {controller} group {parent} is not writable")
                continue
            found.append(_Hierarchy(controller, parent / name, 1))
        if len(found) == len(CONTROLLERS):
            return cls(tuple(found)), ""
        return None, "; ".join(reasons) or "no cgroup hierarchy found"

    # -- in the server -------------------------------------------------------------------

    def setup(self) -> None:
        """Create the server's parent groups (v2: with memory and pids enabled for children)."""
        for h in self.hierarchies:
            h.base.mkdir(mode=0o755, exist_ok=True)
            if h.version == 2:
                (h.base / "cgroup.subtree_control").write_text("+memory +pids")

    def create(self, token: str, memory_bytes: int, max_tasks: int) -> tuple[Path, ...]:
        """One group per hierarchy for a session, limits written; returns their dirs."""
        made: list[Path] = []
        try:
            for h in self.hierarchies:
                group = h.base / token
                group.mkdir(mode=0o755)
                made.append(group)
                if h.version == 2:
                    (group / "memory.max").write_text(str(memory_bytes))
                    with contextlib.suppress(OSError):  # absent without swap accounting
                        (group / "memory.swap.max").write_text("0")
                    (group / "pids.max").write_text(str(max_tasks))
                elif h.controller == "memory":
                    (group / "memory.limit_in_bytes").write_text(str(memory_bytes))
                else:
                    (group / "pids.max").write_text(str(max_tasks))
        except OSError:
            for group in made:
                remove_group(group)
            raise
        return tuple(made)

    def teardown(self) -> None:
        """Kill whatever is left in the server's groups and remove them (shutdown)."""
        for base in self.bases:
            remove_tree(base)


def join(groups: tuple[Path, ...]) -> None:
    """In the session process: move itself (and so all it will create) into its groups."""
    for group in groups:
        (group / "cgroup.procs").write_text("0")


def _pids(group: Path) -> list[int]:
    try:
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def remove_group(group: Path, wait_s: float = 2.0) -> None:
    """SIGKILL every task of a leaf group, then remove it. Best effort; never raises."""
    deadline = time.monotonic() + wait_s
    while True:
        with contextlib.suppress(OSError):
            (group / "cgroup.kill").write_text("1")  # v2, >= 5.14
        for pid in _pids(group):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                return
        time.sleep(0.005)  # killed tasks are still exiting


def remove_tree(base: Path) -> None:
    """Remove a server's parent group and every session group under it. Best effort."""
    if not base.is_dir():
        return
    with contextlib.suppress(OSError):
        for child in base.iterdir():
            if child.is_dir():
                remove_group(child)
    remove_group(base)


def leftover_tasks(bases: tuple[Path, ...]) -> list[int]:
    """Pids still in a server's groups (what a killed server left running)."""
    found: list[int] = []
    for base in bases:
        if not base.is_dir():
            continue
        found += _pids(base)
        with contextlib.suppress(OSError):
            for child in base.iterdir():
                if child.is_dir():
                    found += _pids(child)
    return found
