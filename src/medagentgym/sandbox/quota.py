"""A per-session disk quota for the scratch dir, and the fallback measurement where none can be set.

RLIMIT_FSIZE bounds each file, not how many files a session writes. Where the session process is
privileged before the capabilities layer drops everything (the server runs as root, or inside
bubblewrap with ``CAP_SYS_ADMIN`` in its own user namespace), the session gets a private mount
namespace and a size-limited tmpfs on its scratch dir: writes past ``scratch_bytes`` fail with
``ENOSPC`` at once, and the number of inodes is bounded too (empty files cost kernel memory).
The tmpfs vanishes with the session's mount namespace; the directory underneath stays empty and
is removed by the server and client as before. Other sessions, in the server's mount namespace,
see only that empty directory.

Memory: tmpfs pages are RAM (there is no swap on the reference machines), so the worst case is
``scratch_bytes`` times the number of concurrent sessions, on top of their address-space limits.

Where mounting is impossible (a non-root server without user namespaces) the layer is skipped and
the client measures the scratch dir after every step (:func:`scratch_usage`); over quota, the
step is reported as an error and the session is killed and restarted. That fallback can
overshoot within one step (a step may write up to its time limit's worth of data before the
check; RLIMIT_FSIZE still bounds each file).
"""

from __future__ import annotations

import ctypes
import os
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


def mount_scratch(scratch_dir: Path, io_dir: Path, size: int, private_root: Path | None = None) -> None:
    """In the session process: a private mount namespace, a tmpfs of ``size`` bytes on scratch.

    With ``private_root`` (the server's dir holding every session's files), that whole tree is
    made read-only in this namespace except the session's own capture dir: where no Landlock
    confines writes (inside bubblewrap all sessions share a uid), a session could otherwise write
    next to its scratch without quota, or into another session's capture files.

    Must run before capabilities are dropped and before Landlock: Landlock rules bind to the
    inode a path names when the rule is added, so the ruleset must be created after the mount,
    or the rule would grant the hidden directory underneath instead of the tmpfs.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    # Nothing mounted here may propagate back to the server's namespace (or the host's).
    _mount(libc, b"none", "/", None, _MS_REC | _MS_PRIVATE, None)
    hardened = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if private_root is not None:
        _mount(libc, os.fsencode(private_root), private_root, None, _MS_BIND | _MS_REC, None)
        _mount(libc, b"none", private_root, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | hardened, None)
        _mount(libc, os.fsencode(io_dir), io_dir, None, _MS_BIND, None)  # inherits read-only: make it writable
        _mount(libc, b"none", io_dir, None, _MS_REMOUNT | _MS_BIND | hardened, None)
    options = f"size={size},nr_inodes={inode_limit(size)},mode=0700".encode()
    _mount(libc, b"tmpfs", scratch_dir, b"tmpfs", hardened, options)


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
