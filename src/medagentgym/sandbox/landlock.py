"""A small ctypes layer over the Linux Landlock system calls (no maintained binding covers TCP
rules and scoping).

Landlock lets an unprivileged process restrict itself: file-system access is limited to an
allow-list of paths (read-only for system dirs, the Python prefix and the session's databases,
read-write for its scratch dir), TCP bind/connect are refused (ABI >= 4), and signals and
abstract UNIX sockets are scoped to the process's own domain (ABI >= 6), so a session cannot
signal the server or another session even when it runs as the same uid. Rules are inode-based
and inherited by every thread; they cannot be lifted afterwards.

Why the ruleset is *planned* once in the server but *created* in each session: a ruleset is one
kernel object shared by every descriptor that refers to it, so per-session rules (the session's
own scratch dir) added in a forked child would leak into the server's ruleset and into every
later session. The server therefore computes the access masks and the resolved allow-list once
(:class:`LandlockPlan`); a session only issues the cheap create / add_rule / restrict_self calls.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# System call numbers are the same on every architecture (unified syscall table).
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446

_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1

# Access rights for files and directories, with the ABI that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

_FS_ABI1 = (1 << 13) - 1
# Rights that only make sense on directories; a rule on a regular file may not carry them.
_DIR_ONLY = (
    FS_READ_DIR
    | FS_REMOVE_DIR
    | FS_REMOVE_FILE
    | FS_MAKE_CHAR
    | FS_MAKE_DIR
    | FS_MAKE_REG
    | FS_MAKE_SOCK
    | FS_MAKE_FIFO
    | FS_MAKE_BLOCK
    | FS_MAKE_SYM
    | FS_REFER
)

READ_ONLY = FS_READ_FILE | FS_READ_DIR
# Scratch: create, read, write, rename and delete ordinary files and dirs; no devices, sockets,
# fifos, and no execute (nothing may be executed at all).
READ_WRITE = (
    READ_ONLY
    | FS_WRITE_FILE
    | FS_REMOVE_DIR
    | FS_REMOVE_FILE
    | FS_MAKE_DIR
    | FS_MAKE_REG
    | FS_MAKE_SYM
    | FS_REFER
    | FS_TRUNCATE
)
# /dev/null and friends: read, write and the device ioctls Python's I/O layer may issue.
DEVICE = FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi_version() -> int:
    """The Landlock ABI the running kernel offers; 0 when it offers none (or not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        result = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0
    return max(int(result), 0)


def handled_fs(abi: int) -> int:
    mask = _FS_ABI1
    if abi >= 2:
        mask |= FS_REFER
    if abi >= 3:
        mask |= FS_TRUNCATE
    if abi >= 5:
        mask |= FS_IOCTL_DEV
    return mask


def handled_net(abi: int) -> int:
    return NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0


def scopes(abi: int) -> int:
    return SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0


# What a session may read of its own /proc/<pid>: its status, memory map, limits, descriptors.
# Not ``net`` (the host's sockets), ``mountinfo``/``mounts``/``mountstats`` (the host's mounts),
# ``task`` (which holds both again per thread), ``ns``, ``root``, ``cwd``, ``exe`` or ``mem``.
SELF_PROC_ENTRIES: tuple[str, ...] = (
    "stat",
    "statm",
    "status",
    "maps",
    "smaps",
    "smaps_rollup",
    "limits",
    "fd",
    "fdinfo",
    "environ",
    "cmdline",
    "comm",
    "io",
    "auxv",
)


@dataclass(frozen=True)
class PathRule:
    path: str
    access: int  # before masking with what the kernel handles and what the inode allows


@dataclass(frozen=True)
class LandlockPlan:
    """Everything a session needs to restrict itself, computed once in the server."""

    abi: int
    handled_access_fs: int
    handled_access_net: int
    scoped: int
    rules: tuple[PathRule, ...]

    @classmethod
    def build(cls, abi: int, read_only: Iterable[str], devices: Iterable[str] = ()) -> LandlockPlan:
        """Only paths that exist are kept; nested duplicates are harmless, so not pruned."""
        if abi < 1:
            raise ValueError("Landlock is not available")
        rules: list[PathRule] = []
        seen: set[str] = set()
        for paths, access in ((read_only, READ_ONLY), (devices, DEVICE)):
            for path in paths:
                if path in seen or not os.path.exists(path):
                    continue
                seen.add(path)
                rules.append(PathRule(path, access))
        return cls(abi, handled_fs(abi), handled_net(abi), scopes(abi), tuple(rules))

    def restrict(
        self, read_only: Sequence[str] = (), read_write: Sequence[str] = (), self_proc: bool = True
    ) -> None:
        """Create the ruleset, add the planned and the per-session rules, restrict this process.

        Must run after ``PR_SET_NO_NEW_PRIVS`` (or with CAP_SYS_ADMIN). ``self_proc`` grants
        read access to the harmless entries of this process's own ``/proc/<pid>``
        (:data:`SELF_PROC_ENTRIES`, resolved here, after fork).
        """
        libc = _libc()
        attr = _RulesetAttr(self.handled_access_fs, self.handled_access_net, self.scoped)
        size = 8 if self.abi < 4 else 16 if self.abi < 6 else 24
        ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if ruleset < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
        try:
            extra = [PathRule(p, READ_ONLY) for p in read_only] + [PathRule(p, READ_WRITE) for p in read_write]
            if self_proc:
                extra += [PathRule(f"/proc/self/{name}", READ_ONLY) for name in SELF_PROC_ENTRIES]
            for rule in (*self.rules, *extra):
                self._add(libc, int(ruleset), rule)
            if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), 0) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")
        finally:
            os.close(int(ruleset))

    def _add(self, libc: ctypes.CDLL, ruleset: int, rule: PathRule) -> None:
        try:
            fd = os.open(rule.path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            return  # a planned path vanished; nothing to allow
        try:
            access = rule.access & self.handled_access_fs
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                access &= ~_DIR_ONLY
            if not access:
                return
            beneath = _PathBeneathAttr(access, fd)
            if libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), _RULE_PATH_BENEATH, ctypes.byref(beneath), 0):
                err = ctypes.get_errno()
                raise OSError(err, f"landlock_add_rule({rule.path}): {os.strerror(err)}")
        finally:
            os.close(fd)
