"""A session's mount view costs the same with 0 or 512 live siblings, and still contains them.

Every live session leaves one tmpfs mount (its scratch quota) in the server's mount namespace.
Here 512 such mounts are made directly (what 512 live siblings leave there, without 512
processes); the structural property is that a new session's view has the same mounts either
way: none of theirs, only its own. The open-run-close time at both counts is printed.
"""

from __future__ import annotations

import ctypes
import errno
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.sandbox import SandboxLimits, SandboxServer
from medagentgym.sandbox.hardening import DEFAULT_LAYERS
from medagentgym.sandbox.quota import mount_unavailable, mounts_under, unmount

LINUX = sys.platform.startswith("linux")
CAN_MOUNT = LINUX and mount_unavailable() is None
pytestmark = pytest.mark.skipif(not CAN_MOUNT, reason=f"cannot mount a per-session tmpfs here: {mount_unavailable()}")

SIBLINGS = 512
LIMITS = SandboxLimits(timeout_s=10.0, hard_grace_s=1.0)
NO_JAIL = tuple(name for name in DEFAULT_LAYERS if name != "fs_jail")  # the view is the whole namespace


def _mount_tmpfs(path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", ctypes.c_ulong(0), b"size=64k,mode=0700") != 0:
        raise OSError(ctypes.get_errno(), f"mount {path}")


class _Siblings:
    """Scratch mounts in the server's namespace, as live sessions leave them."""

    def __init__(self, server: SandboxServer) -> None:
        assert server._handle is not None
        self.root = server._handle.root
        self.points: list[Path] = []

    def add(self, n: int) -> None:
        for i in range(len(self.points), len(self.points) + n):
            point = self.root / "sessions" / f"sibling{i:04d}"
            point.mkdir(mode=0o700)
            _mount_tmpfs(point)
            (point / "work").mkdir()
            (point / "work" / "diary.txt").write_text("another episode's notes")
            self.points.append(point)

    def remove(self) -> None:
        for point in self.points:
            unmount(point)
            point.rmdir()
        self.points.clear()


@pytest.fixture(scope="module", params=[NO_JAIL, None], ids=["no_jail", "default"])
def server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(LIMITS, layers=request.param) as srv:
        if "bwrap" in srv.layers or "scratch_quota" not in srv.layers:
            pytest.skip(f"level {srv.level}: the server's mounts are not the host's")
        yield srv


def _view(pid: int) -> list[str]:
    """The session's mount points as its root shows them (its mountinfo, read from outside)."""
    return [line.split(" ")[4] for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]


def _cycle_ms(server: SandboxServer, n: int = 8) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        with server.open_session() as s:
            s.run_python("1")
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def test_the_session_view_does_not_grow_with_siblings(server: SandboxServer) -> None:
    siblings = _Siblings(server)
    try:
        with server.open_session() as alone:
            before = _view(alone.pid)
            own = str(alone.scratch_dir.parent)
        alone_ms = _cycle_ms(server)
        siblings.add(SIBLINGS)
        assert server.wait_teardown()
        host_mounts = len(mounts_under(siblings.root))
        with server.open_session() as crowded:
            after = _view(crowded.pid)
            mine = str(crowded.scratch_dir.parent)
            assert len(after) == len(before), (len(before), len(after))  # O(1): none of theirs
            assert not [p for p in after if "/sibling" in p]
            assert [p for p in after if p.startswith(str(siblings.root))] == [
                p.replace(own, mine) for p in before if p.startswith(str(siblings.root))
            ]
        crowded_ms = _cycle_ms(server)
        print(
            f"\nopen-run-close median at {server.level} ({'+'.join(server.layers)}): "
            f"{alone_ms:.1f} ms with 0 siblings, {crowded_ms:.1f} ms with {SIBLINGS} (ratio {crowded_ms / alone_ms:.2f})"
        )
        assert server.wait_teardown()
        assert len(mounts_under(siblings.root)) == host_mounts  # nothing propagated back
    finally:
        siblings.remove()


ATTEMPTS = (
    "import os, errno\n"
    "def attempt(fn, *a):\n"
    "    try:\n"
    "        fn(*a)\n"
    "        return 'ok'\n"
    "    except OSError as e:\n"
    "        return errno.errorcode[e.errno]\n"
)


def test_siblings_are_neither_visible_nor_writable_and_the_rest_is_read_only(server: SandboxServer) -> None:
    siblings = _Siblings(server)
    try:
        siblings.add(4)
        with server.open_session() as s, server.open_session() as live:
            live.run_python("open('mine.txt', 'w').write('live sibling')")
            diary = siblings.points[0] / "work" / "diary.txt"
            code = ATTEMPTS + (
                f"(attempt(open, {str(diary)!r}), attempt(open, {str(live.scratch_dir / 'mine.txt')!r}),\n"
                f" attempt(lambda p: open(p, 'w'), {str(live.scratch_dir / 'planted')!r}),\n"
                f" attempt(lambda p: open(p, 'w'), {str(siblings.root / 'planted')!r}),\n"
                f" attempt(lambda p: open(p, 'w'), {str(siblings.points[1] / 'planted')!r}),\n"
                " attempt(lambda p: open(p, 'w').write('x'), 'own.txt'))"
            )
            result = s.run_python(code)
            assert result.status == "ok", result.error
            read_fake, read_live, write_live, write_root, write_fake, write_own = eval(result.value_repr or "")  # noqa: S307
            assert read_fake in ("ENOENT", "EACCES") and read_live in ("ENOENT", "EACCES")
            assert write_live in ("ENOENT", "EACCES", "EROFS")
            assert write_root in ("EROFS", "EACCES", "ENOENT") and write_fake in ("EROFS", "EACCES", "ENOENT")
            assert write_own == "ok"
            assert (s.scratch_dir / "own.txt").read_text() == "x"  # the host sees the same tmpfs
            assert not (live.scratch_dir / "planted").exists() and not (siblings.root / "planted").exists()
            masked = s.run_python(
                "import importlib\ntry:\n    importlib.import_module('medagentgym.catalog.registry')\n"
                "except ImportError as e:\n    found = type(e).__name__\nfound"
            )
            assert masked.value_repr == "'ModuleNotFoundError'"  # the project's code stays out of reach
        with server.open_session() as after:  # the next session is unaffected
            listing = after.run_python("import os\nsorted(os.listdir('.'))")
            assert listing.value_repr == "[]"
    finally:
        siblings.remove()


def test_the_quota_still_binds_with_siblings(server: SandboxServer) -> None:
    siblings = _Siblings(server)
    try:
        siblings.add(8)
        limits = SandboxLimits(timeout_s=10.0, scratch_bytes=4 * 1024**2, file_size_bytes=32 * 1024**2)
        with server.open_session(limits=limits) as s:
            code = ATTEMPTS + "attempt(lambda: open('big.bin', 'wb').write(b'0' * 16 * 1024**2))"
            assert s.run_python(code).value_repr == repr(errno.errorcode[errno.ENOSPC])
    finally:
        siblings.remove()
