"""A per-session disk quota for the scratch dir, and the fallback measurement where none can be set.

RLIMIT_FSIZE bounds each file, not how many files a session writes. Where the server may mount
(it runs as root, or inside bubblewrap with ``CAP_SYS_ADMIN`` in its own user namespace), it
mounts a size-limited tmpfs on each session's scratch dir before forking it: writes past
``scratch_bytes`` fail with ``ENOSPC`` at once, and the number of inodes is bounded too (empty
files cost kernel memory). The session then takes a private mount namespace in which other
sessions' scratch is detached and the rest of the server's dir is read-only (before the
capabilities layer drops everything). The server unmounts the tmpfs when the session ends and
removes the directory as before; the client detaches leftovers if the server died.

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
import stat
import sys
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


def mounts_under(root: Path) -> list[Path]:
    """Mount points strictly below ``root`` in this process's mount namespace, deepest first."""
    prefix = os.path.realpath(root).rstrip("/") + "/"
    found: list[Path] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
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


def private_view(session_dir: Path, private_root: Path, masks: tuple[str, ...] = ()) -> None:
    """In the session process: its own mount namespace in which only its session dir is writable.

    Other sessions' scratch tmpfs are detached from this view (where no Landlock confines the
    file system, e.g. inside bubblewrap, all sessions share a uid), and the server's private
    dir is read-only, so nothing can be written beside scratch (outside the quota) or into
    another session's capture files.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    # Nothing mounted here may propagate back to the server's namespace (or the host's).
    _mount(libc, b"none", "/", None, _MS_REC | _MS_PRIVATE, None)
    own = os.path.realpath(session_dir)
    # Sessions start concurrently: a mount made while we unshared may appear stacked, twice, or
    # already gone when we get to it. Detach until none is left (or give up: never start).
    for _ in range(8):
        foreign = [p for p in mounts_under(private_root) if str(p) != own]
        if not foreign:
            break
        for point in foreign:
            libc.umount2(os.fsencode(point), _MNT_DETACH)
    else:
        raise OSError(errno.EBUSY, f"could not detach other sessions' scratch: {foreign[:3]}")
    # The project's own code (it computes targets) under an empty read-only tmpfs: the server
    # has imported what the session runtime needs; nothing more may be read or imported.
    for hidden in masks:
        if os.path.isdir(hidden):
            _mount(libc, b"tmpfs", hidden, b"tmpfs", _MS_RDONLY | _HARDENED, b"size=4k,mode=0555")
    # The session's own tmpfs (scratch and io) is a submount: it stays writable.
    cwd = os.getcwd()
    _mount(libc, os.fsencode(private_root), private_root, None, _MS_BIND | _MS_REC, None)
    _mount(libc, b"none", private_root, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _HARDENED, None)
    with contextlib.suppress(OSError):
        os.chdir(cwd)  # taken before the bind: name the scratch of this view instead


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
