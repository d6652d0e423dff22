"""A per-session root file system: the session sees its allow-list and nothing else.

Landlock decides what may be *opened*; it has no say over ``stat``, ``chmod``, ``utime``,
extended attributes, or ``inotify`` on paths outside its rules, and a uid-0 session owns every
root-owned file. So, where the server may mount (level i as root), each session builds its own
root in a private mount namespace before dropping its capabilities:

- a small tmpfs as the new ``/``, holding only the mount points it needs;
- read-only bind mounts of the allow-list at their own paths (system libraries, the Python
  installation, the session's resources), so every path an agent could touch outside its
  session dir is on a read-only mount: metadata changes fail with ``EROFS``;
- the project's own code masked by an empty read-only tmpfs (targets and reference solutions
  are computed by it; a session must not import it);
- its own session dir (scratch + capture files, one quota tmpfs) read-write;
- a fresh procfs with ``hidepid=invisible``: processes it cannot ptrace (the server, other
  sessions, the host's) do not appear;
- then ``chroot``; the capabilities layer that follows makes it final (no CAP_SYS_CHROOT, and
  seccomp refuses ``chroot``, ``mount`` and ``pivot_root``).

Paths keep their names inside, so nothing else (Landlock rules, resource paths, HOME) changes.
Measured cost per session open: see docs/security.md.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

_CLONE_NEWNS = 0x00020000
_MS_RDONLY = 0x1
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_NOEXEC = 0x8
_MS_REMOUNT = 0x20
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(libc: ctypes.CDLL, source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = (lambda s: None if s is None else os.fsencode(s))
    if libc.mount(encode(source), os.fsencode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount({source} -> {target}): {os.strerror(err)}")


def _covered(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


@dataclass(frozen=True)
class JailPlan:
    """What every session binds (computed once in the server); sessions add their own paths."""

    read_only: tuple[str, ...]  # existing paths, outermost first, none inside another
    links: tuple[tuple[str, str], ...]  # top-level symlinks such as /lib -> usr/lib
    devices: tuple[str, ...]
    masks: tuple[str, ...]  # directories hidden under an empty read-only tmpfs

    @classmethod
    def build(cls, read_only: Iterable[str], devices: Iterable[str], masks: Iterable[str]) -> JailPlan:
        paths: list[str] = []
        links: list[tuple[str, str]] = []
        for path in dict.fromkeys(read_only):
            if not os.path.lexists(path):
                continue
            if os.path.islink(path) and os.path.dirname(path) == "/":
                links.append((path, os.readlink(path)))
                continue
            paths.append(os.path.realpath(path))
        ordered = sorted(dict.fromkeys(paths), key=lambda p: (p.count("/"), p))
        kept: list[str] = []
        for path in ordered:
            if not _covered(path, kept):
                kept.append(path)
        return cls(
            read_only=tuple(kept),
            links=tuple(links),
            devices=tuple(d for d in devices if os.path.exists(d)),
            masks=tuple(os.path.realpath(m) for m in masks if os.path.isdir(m)),
        )

    def enter(self, jail_dir: Path, session_dir: Path, resources: Sequence[str], cwd: str) -> None:
        """In the session process (root, before capabilities are dropped): build, then chroot."""
        libc = _libc()
        if libc.unshare(_CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
        _mount(libc, "none", "/", None, _MS_REC | _MS_PRIVATE)
        root = str(jail_dir)
        _mount(libc, "tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
        for link, target in self.links:
            os.symlink(target, root + link)
        bound: list[str] = []
        extra = [os.path.realpath(p) for p in resources if p and os.path.exists(p)]
        for path in (*self.read_only, *extra):
            if _covered(path, bound):
                continue
            self._bind(libc, root, path, read_only=True, devices=False)
            bound.append(path)
        for device in self.devices:
            self._bind(libc, root, device, read_only=True, devices=True)
        for mask in self.masks:
            target = root + mask
            if os.path.isdir(target):
                _mount(libc, "tmpfs", target, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "size=4k,mode=0555")
        own = os.path.realpath(session_dir)
        self._bind(libc, root, own, read_only=False, devices=False, noexec=True)
        os.makedirs(root + "/proc", exist_ok=True)
        _mount(libc, "proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "hidepid=invisible")
        _mount(libc, "none", root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
        os.chdir(root)
        if libc.chroot(b".") != 0:
            raise OSError(ctypes.get_errno(), "chroot failed")
        os.chdir(cwd)

    @staticmethod
    def _bind(
        libc: ctypes.CDLL, root: str, path: str, *, read_only: bool, devices: bool, noexec: bool = False
    ) -> None:
        target = root + path
        if stat.S_ISDIR(os.stat(path).st_mode):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.lexists(target):
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
        _mount(libc, path, target, None, _MS_BIND | _MS_REC)
        flags = _MS_REMOUNT | _MS_BIND | _MS_NOSUID | (_MS_RDONLY if read_only else 0)
        flags |= (0 if devices else _MS_NODEV) | (_MS_NOEXEC if noexec else 0)
        _mount(libc, "none", target, None, flags)
