"""A per-session disk quota for the scratch dir, and the fallback measurement where none can be set.

RLIMIT_FSIZE bounds each file, not how many files a session writes. Where the server may mount
(it runs as root, or inside bubblewrap with ``CAP_SYS_ADMIN`` in its own user namespace), it
mounts a size-limited tmpfs on each session's scratch dir before forking it: writes past
``scratch_bytes`` fail with ``ENOSPC`` at once, and the number of inodes is bounded too (empty
files cost kernel memory). The session then enters a private copy of a small mount namespace
the server built once at start (:func:`build_view_template`: the server's dir read-only, the
project's code masked) and moves its own tmpfs in (:func:`enter_session_view`), before the
capabilities layer drops everything. Other sessions' scratch was never in that namespace, so a
session's setup costs the same with 0 or 1,000 live siblings (the first design copied the
server's namespace, with every sibling's mount, and detached them one by one). The server
unmounts the tmpfs when the session ends and removes the directory as before; the client
detaches leftovers if the server died.

Memory: tmpfs pages are RAM (there is no swap on the reference machines), so the worst case is
``scratch_bytes`` times the number of concurrent sessions, on top of their address-space limits.

Where mounting is impossible (a non-root server without user namespaces) the layer is skipped and
the client measures the scratch dir after every step (:func:`scratch_usage`); over quota, the
step is reported as an error and the session is killed and restarted. That fallback can
overshoot within one step (a step may write up to its time limit's worth of data before the
check; RLIMIT_FSIZE still bounds each file).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path


_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_NOEXEC = 0x8
_MS_RDONLY = 0x1
_MS_REMOUNT = 0x20
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MNT_DETACH = 2
_MS_PRIVATE = 1 << 18
_CAP_SYS_ADMIN = 21
# One inode per 16 KiB of quota, at least 1024: enough for ordinary work, bounded kernel memory.
_BYTES_PER_INODE = 16 * 1024
_MIN_INODES = 1024
# The fallback walk gives up (and reports over quota) beyond this many entries.
MAX_WALK_ENTRIES = 100_000


def _effective_caps() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def inode_limit(scratch_bytes: int) -> int:
    return max(_MIN_INODES, scratch_bytes // _BYTES_PER_INODE)


def mount_unavailable() -> str | None:
    """None when this process may mount the per-session tmpfs, else why not."""
    if not sys.platform.startswith("linux"):
        return "mount namespaces are Linux-only"
    if not _effective_caps() & (1 << _CAP_SYS_ADMIN):
        return "no CAP_SYS_ADMIN to mount a per-session tmpfs; the client measures scratch after each step"
    return None


def _mount(libc: ctypes.CDLL, source: bytes, target: str | Path, fstype: bytes | None, flags: int, data: bytes | None) -> None:
    if libc.mount(source, os.fsencode(target), fstype, ctypes.c_ulong(flags), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount({target}): {os.strerror(err)}")


_HARDENED = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC


def mount_scratch(scratch_dir: Path, size: int) -> None:
    """In the server, before fork: a tmpfs of ``size`` bytes (and bounded inodes) on the session dir.

    One tmpfs holds the scratch dir and the capture files beside it, so everything a session
    can write is inside its quota (``scratch_bytes`` plus the capture allowance).

    Mounted in the server's mount namespace (the host's at level i), so the caller still sees
    the session's files at ``Session.scratch_dir``; the server unmounts it when the session ends.
    Mounted before the session builds its Landlock ruleset: Landlock rules bind to the inode a
    path names when the rule is added, so the rule must name the tmpfs, not the dir underneath.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={size},nr_inodes={inode_limit(size)},mode=0700".encode()
    _mount(libc, b"tmpfs", scratch_dir, b"tmpfs", _HARDENED, options)


def unmount(path: Path) -> None:
    """Detach a scratch tmpfs (lazily: a dying session may still hold it). Best effort."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2(os.fsencode(path), _MNT_DETACH)


def mounts_under(root: Path, pid: int | str = "self") -> list[Path]:
    """Mount points strictly below ``root`` in a process's mount namespace, deepest first.

    As that process's root shows them (a chrooted session: inside its jail).
    """
    prefix = os.path.realpath(root).rstrip("/") + "/"
    found: list[Path] = []
    try:
        lines = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split(" ")
        if len(fields) < 5:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        if point.startswith(prefix):
            found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def unmount_all_under(root: Path) -> None:
    """Detach every mount below ``root`` (scratch tmpfs left by a server that died). Best effort."""
    for point in mounts_under(root):
        unmount(point)


def own_mount_namespace() -> None:
    """A mount namespace owned by this process's user namespace (inside bubblewrap the one bwrap
    set up may belong to the initial one, where our namespaced CAP_SYS_ADMIN cannot mount)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    _mount(libc, b"none", "/", None, _MS_REC | _MS_PRIVATE, None)


# The new mount API (Linux >= 5.2); numbers from the table all common architectures share since 424.
_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_OPEN_TREE_CLONE = 1
_OPEN_TREE_CLOEXEC = os.O_CLOEXEC
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_AT_FDCWD = -100


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _fork_helper(build: Callable[[], None]) -> int:
    """Run ``build`` in a child that unshares its mount namespace; return an fd holding that namespace.

    A child, because ``setns``/``unshare`` of a mount namespace need a single-threaded caller and
    the server must stay where it is (its mounts are what the client sees). The child opens its
    own namespace and passes the descriptor back (a non-dumpable server could not open the
    child's); the namespace outlives the child as long as the descriptor is open.
    """
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            mine.close()
            build()
            held = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            socket.send_fds(theirs, [b"1"], [held])
            code = 0
        except BaseException as exc:  # noqa: BLE001 - report, never return into the server
            with contextlib.suppress(BaseException):
                theirs.send(f"0{type(exc).__name__}: {exc}".encode()[:500])
        finally:
            os._exit(code)
    theirs.close()
    try:
        answer, fds, _, _ = socket.recv_fds(mine, 512, 1)
        if answer != b"1" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise OSError(errno.EIO, answer[1:].decode("utf-8", "replace") or "the helper died")
        os.set_inheritable(fds[0], False)
        return fds[0]
    finally:
        mine.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def build_view_template(private_root: Path, masks: tuple[str, ...] = ()) -> int:
    """In the server, once: a mount namespace every session's view is copied from.

    Built before any session exists, so it holds no session's scratch tmpfs: the server's
    private dir read-only, the project's own code (it computes targets) under an empty read-only
    tmpfs, every mount private (nothing made in a copy propagates anywhere). A session copies
    this small namespace and moves only its own tmpfs in (:func:`enter_session_view`), so the
    cost of a session does not depend on how many others are live. Returns a descriptor of the
    namespace (inherited by every fork). Raises OSError where this cannot work: no mount API,
    or a server whose root is not its namespace's root (a ``chroot``), where entering the
    namespace would change what ``/`` means.
    """
    root = os.fsencode(os.path.realpath(private_root))

    def build() -> None:
        libc = _libc()
        before = os.stat("/")
        _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        own = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(libc.setns(own, _CLONE_NEWNS), "setns")  # what a session will do
        finally:
            os.close(own)
        after = os.stat("/")
        if (before.st_dev, before.st_ino) != (after.st_dev, after.st_ino):
            raise OSError(errno.EXDEV, "the server's root is not its mount namespace's root (chroot)")
        _mount(libc, b"none", "/", None, _MS_REC | _MS_PRIVATE, None)
        for hidden in masks:
            if os.path.isdir(hidden):
                _mount(libc, b"tmpfs", hidden, b"tmpfs", _MS_RDONLY | _HARDENED, b"size=4k,mode=0555")
        _mount(libc, root, root, None, _MS_BIND, None)
        _mount(libc, b"none", root, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _HARDENED, None)
        probe = _check(
            libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, root, _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC),
            "open_tree (Linux >= 5.2)",
        )
        os.close(probe)

    return _fork_helper(build)


def enter_session_view(template_fd: int, session_dir: Path) -> None:
    """In the session process: a copy of the template with its own tmpfs moved in. O(1) mounts.

    The session's tmpfs (mounted by the server on ``session_dir``, scratch and capture files)
    is cloned as a detached mount before leaving the server's namespace, then attached at the
    same path in the session's private copy of the template, on top of the read-only server dir.
    Other sessions' scratch was never in the template, so nothing has to be detached, and the
    server's many mounts are never copied.
    """
    libc = _libc()
    cwd = os.getcwd()
    tree = _check(
        libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, os.fsencode(session_dir), _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC),
        f"open_tree({session_dir})",
    )
    try:
        _check(libc.setns(template_fd, _CLONE_NEWNS), "setns(view template)")
        os.close(template_fd)
        _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")  # our own copy: the template stays clean
        _check(
            libc.syscall(_SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, os.fsencode(session_dir), _MOVE_MOUNT_F_EMPTY_PATH),
            f"move_mount({session_dir})",
        )
    finally:
        os.close(tree)
    os.chdir(cwd)  # setns moved us to the namespace's root; the path now names our tmpfs


def scratch_usage(path: Path, max_entries: int = MAX_WALK_ENTRIES) -> tuple[int, int]:
    """``(bytes allocated, entries)`` under ``path``, without following links.

    Allocated blocks, not apparent sizes, so sparse files count what they use. Stops counting
    after ``max_entries`` (the caller treats that as over quota: a session must not be able to
    make the check itself slow).
    """
    total = 0
    entries = 0
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                for entry in it:
                    entries += 1
                    if entries > max_entries:
                        return total, entries
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return total, entries
