"""The session's seccomp filter: built once in the server with ``pyseccomp`` (libseccomp), loaded
as raw BPF in each session.

Why a deny-list on top of a default-allow filter: agent code runs a whole scientific Python stack
whose system calls are not worth enumerating; what must never happen is small and well known:
new processes (threads stay allowed), network sockets, and the kernel interfaces that matter for
escaping a sandbox (ptrace, namespaces, mounts, bpf, perf, keyrings, io_uring, userfaultfd,
modules, kexec, file handles). Compiling the filter costs milliseconds, so the server compiles it
once and exports the BPF program; a session then only needs one ``prctl`` to load it.

Calls from another architecture's table (i386 through ``int 0x80``, x32) kill the process:
libseccomp's architecture check does that for any filter that does not add those tables.
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile
from dataclasses import dataclass

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

CLONE_THREAD = 0x00010000

# socket() is refused for every family: the session's only connection (an AF_UNIX socket pair)
# is open before the filter loads, so agent code needs no new socket of any kind, and refusing
# AF_UNIX too keeps it away from local daemons' sockets (e.g. /run/*.sock) and AF_VSOCK away
# from the hypervisor. socketpair() (AF_UNIX only, nothing to connect to) stays allowed.
DENIED_EPERM: tuple[str, ...] = (
    "socket",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "userfaultfd",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "name_to_handle_at",
    "open_by_handle_at",
    "lookup_dcookie",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "personality",
)
# System V IPC and POSIX message queues outlive the session (and the server) and are shared by
# every process of the IPC namespace: episode 1 could leave a message for episode 2. inotify and
# fanotify watch paths the session cannot otherwise read (names and timing of other episodes).
DENIED_EPERM += (
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "fanotify_init",
    "fanotify_mark",
)
# Where a session has no root of its own (no fs_jail), it runs as the server's uid and owns the
# server's files: Landlock has no right for attribute changes, so these are refused everywhere.
DENIED_METADATA: tuple[str, ...] = (
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "setxattrat",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "removexattrat",
)
# Without a memory cgroup, pages written into a memfd are held outside RLIMIT_AS.
DENIED_MEMFD: tuple[str, ...] = ("memfd_create", "memfd_secret")
# prctl options a session must not change: the parent-death signal (a session that clears it
# outlives a killed server) and dumpability (which keeps other sessions out of its /proc files).
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
DENIED_PRCTL: tuple[int, ...] = (_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE)
# Calls added after 5.1 have one number on every architecture but alpha; an older libseccomp
# does not know these names, but the kernels we run on may have them.
_UNIFIED_NUMBERS: dict[str, int] = {"fchmodat2": 452, "setxattrat": 463, "removexattrat": 466}
# clone3 passes its flags in memory, which seccomp cannot inspect: answer ENOSYS so that glibc
# falls back to clone(2), whose flags are checked (CLONE_THREAD required).
DENIED_ENOSYS: tuple[str, ...] = ("clone3",)


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


@dataclass
class SeccompProgram:
    """A compiled BPF filter ready to load; ``unknown`` lists names libseccomp did not know."""

    bpf: bytes
    rules: tuple[str, ...]
    unknown: tuple[str, ...] = ()

    def load(self) -> None:
        """Install the filter in this process (needs no-new-privs or CAP_SYS_ADMIN); irreversible."""
        count = len(self.bpf) // ctypes.sizeof(_SockFilter)
        instructions = (_SockFilter * count).from_buffer_copy(self.bpf)
        program = _SockFprog(count, ctypes.cast(instructions, ctypes.POINTER(_SockFilter)))
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")


def build_program(*, deny_metadata: bool = False, deny_memfd: bool = False) -> SeccompProgram:
    """Compile the session filter; raises ImportError/OSError where libseccomp is unusable.

    ``deny_metadata`` adds :data:`DENIED_METADATA`, ``deny_memfd`` adds :data:`DENIED_MEMFD`
    (for sessions without their own root, or without a memory cgroup).
    """
    import pyseccomp as seccomp  # ctypes over the system libseccomp; absent off Linux

    filt = seccomp.SyscallFilter(seccomp.ALLOW)
    filt.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    rules: list[str] = []
    unknown: list[str] = []

    def resolve(name: str) -> int | None:
        number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
        if number < 0 and name in _UNIFIED_NUMBERS and os.uname().machine in ("x86_64", "aarch64"):
            return _UNIFIED_NUMBERS[name]  # newer than this libseccomp's tables
        if number < 0:  # not in this libseccomp's tables (too new for it)
            unknown.append(name)
            return None
        return number

    denied = DENIED_EPERM
    denied += DENIED_METADATA if deny_metadata else ()
    denied += DENIED_MEMFD if deny_memfd else ()
    for names, action in (
        (denied, seccomp.ERRNO(errno.EPERM)),
        (DENIED_ENOSYS, seccomp.ERRNO(errno.ENOSYS)),
    ):
        for name in names:
            number = resolve(name)
            if number is not None:
                filt.add_rule(action, number)
                rules.append(name)
    clone = resolve("clone")
    if clone is None:
        raise OSError(errno.ENOSYS, "libseccomp does not know clone(2)")
    # clone(2) without CLONE_THREAD creates a process: refuse it; threads pass.
    filt.add_rule(seccomp.ERRNO(errno.EPERM), clone, seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    rules.append("clone(!CLONE_THREAD)")
    prctl = resolve("prctl")
    if prctl is None:
        raise OSError(errno.ENOSYS, "libseccomp does not know prctl(2)")
    for option in DENIED_PRCTL:
        filt.add_rule(seccomp.ERRNO(errno.EPERM), prctl, seccomp.Arg(0, seccomp.EQ, option))
        rules.append(f"prctl({option})")
    with tempfile.TemporaryFile() as out:
        filt.export_bpf(out)
        out.seek(0)
        bpf = out.read()
    if not bpf or len(bpf) % ctypes.sizeof(_SockFilter):
        raise OSError(errno.EINVAL, "libseccomp exported a malformed BPF program")
    return SeccompProgram(bpf, tuple(rules), tuple(unknown))
