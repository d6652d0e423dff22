"""Hardening of a session process, as an ordered list of named layers.

Each layer is prepared once in the fork-server (where expensive work such as building a seccomp
filter or a Landlock ruleset belongs) and applied in every session process right after ``fork``,
before the process reports ready and long before any agent code runs. The names of the layers
that were applied are recorded, so every trajectory can say how isolated it was; a layer whose
``prepare`` raises :class:`LayerUnavailable` is left out, loudly, instead of failing start-up.

The default list asks for everything; what the kernel does not offer is skipped at start-up and
the level actually reached (:func:`isolation_level`) is what gets recorded and checked. Order in
the session: descriptors and environment first, rlimits while the process may still set them,
the session's own cgroups (so all it allocates is charged to it), the scratch quota's private
mount view and the session's own root (``fs_jail``) while it may still mount, then capabilities
are dropped, no-new-privs is set (required for unprivileged Landlock and seccomp), Landlock
restricts the file system, TCP and signals (created after the mounts: its rules bind to
inodes), the pid-scope filter, and seccomp is loaded last (it refuses ``execve`` and friends,
which nothing before it needs, and stays in force for good).
"""

from __future__ import annotations

import ctypes
import errno
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
    read_only_paths: tuple[Path, ...] = ()  # the session's resources (databases, data files)
    private_root: Path | None = None  # the server's dir holding every session's scratch and io
    session_dir: Path | None = None  # holds scratch and io (one quota tmpfs where mounted)
    cgroups: tuple[Path, ...] = ()  # the session's own groups (memory, pids), made by the server
    jailed: bool = False  # the session gets its own root (fs_jail): host paths are out of reach
    memory_bounded: bool = False  # a memory cgroup counts memfd/shm pages (else memfd is refused)


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
                # no shared-memory semaphores in a session: joblib (scikit-learn) runs serially,
                # and says nothing instead of warning on every import
                "JOBLIB_MULTIPROCESSING": "0",
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


_PR_CAPBSET_DROP = 24
_PR_SET_SECUREBITS = 28
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_PR_GET_SECCOMP = 21
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# NOROOT, NO_SETUID_FIXUP, KEEP_CAPS (off) and NO_CAP_AMBIENT_RAISE, each with its lock: uid 0
# never regains capabilities, not through execve, setuid or the ambient set.
_SECUREBITS_LOCKED = 0b11101111


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _linux_libc(what: str) -> ctypes.CDLL:
    if not sys.platform.startswith("linux"):
        raise LayerUnavailable(f"{what} is Linux-only")
    return ctypes.CDLL(None, use_errno=True)


class CapabilitiesLayer:
    """Drop every capability: bounding set, ambient set, then effective/permitted/inheritable.

    The server runs as root on the reference machines; without this a uid-0 session could bypass
    permission checks, raise its own rlimits, chroot, kill or ptrace anything. Securebits are
    locked so uid 0 cannot get capabilities back through execve or setuid.
    """

    name = "caps"

    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None
        self._last_cap = 40

    def prepare(self) -> None:
        self._libc = _linux_libc("capset")
        try:
            self._last_cap = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        except (OSError, ValueError):
            self._last_cap = 63

    def apply(self, ctx: ChildContext) -> None:
        libc = self._libc
        assert libc is not None
        privileged = os.geteuid() == 0 or _has_cap_setpcap()
        if privileged:
            libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS_LOCKED, 0, 0, 0)  # best effort
            for cap in range(self._last_cap + 1):
                if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
                    raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap}) failed")
        libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on old kernels
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        if libc.capset(ctypes.byref(header), data) != 0:
            raise OSError(ctypes.get_errno(), "capset failed")


def _has_cap_setpcap() -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 8))
    except (OSError, ValueError):
        pass
    return False


class NoNewPrivsLayer:
    """PR_SET_NO_NEW_PRIVS: execve can never grant privileges (setuid bits, file capabilities).

    Also what lets an unprivileged process install Landlock and seccomp restrictions.
    """

    name = "no_new_privs"

    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None

    def prepare(self) -> None:
        self._libc = _linux_libc("PR_SET_NO_NEW_PRIVS")

    def apply(self, ctx: ChildContext) -> None:
        assert self._libc is not None
        if self._libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


# Read-only system paths a session may need; only the ones that exist are kept. Not the whole
# of /etc (shadow, ssh keys) and not /root or /home: only the Python installation is allowed there.
SYSTEM_READ_ONLY: tuple[str, ...] = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/mime.types",
    "/etc/os-release",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/sys/devices/system/cpu",
)
DEVICES: tuple[str, ...] = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def python_roots() -> tuple[str, ...]:
    """The interpreter's prefixes and every import directory (stdlib, site-packages, src)."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    paths += [os.path.dirname(os.path.realpath(sys.executable))]
    paths += [entry for entry in sys.path if entry and os.path.isdir(entry)]
    return tuple(dict.fromkeys(os.path.realpath(p) for p in paths))


def hidden_package_paths() -> tuple[str, ...]:
    """This project's own code: it generates targets and reference solutions, so no session may
    read or import it (the session runtime itself is already loaded in the forked server)."""
    import medagentgym

    return (os.path.realpath(os.path.dirname(medagentgym.__file__)),)


def _allow_except(root: str, hidden: Sequence[str]) -> list[str]:
    """``root`` as allow-list entries that leave out ``hidden`` (siblings on the way down)."""
    inside = [h for h in hidden if h == root or h.startswith(root.rstrip("/") + "/")]
    if not inside:
        return [root]
    if root in inside or not os.path.isdir(root):
        return []
    kept: list[str] = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    for name in names:
        kept += _allow_except(os.path.join(root, name), inside)
    return kept


def python_read_only_paths() -> tuple[str, ...]:
    """What sessions may read of the Python installation: :func:`python_roots` without the
    project's package (a folder holding it is replaced by its other entries)."""
    hidden = hidden_package_paths()
    paths: list[str] = []
    for root in python_roots():
        paths += _allow_except(root, hidden)
    return tuple(dict.fromkeys(paths))


class LandlockLayer:
    """File-system allow-list, no TCP bind/connect, signals and abstract sockets scoped.

    Read-only: system libraries, the Python installation, the session's resources; read-write:
    its scratch dir and capture dir; nothing may be executed. See :mod:`.landlock`.
    """

    name = "landlock"

    def __init__(self) -> None:
        self.plan: object | None = None

    def prepare(self) -> None:
        from medagentgym.sandbox import landlock

        abi = landlock.abi_version()
        if abi < 1:
            raise LayerUnavailable("the kernel offers no Landlock (not built in, or disabled)")
        self.plan = landlock.LandlockPlan.build(abi, (*SYSTEM_READ_ONLY, *python_read_only_paths()), DEVICES)

    @property
    def abi(self) -> int:
        return getattr(self.plan, "abi", 0)

    def apply(self, ctx: ChildContext) -> None:
        from medagentgym.sandbox.landlock import LandlockPlan

        assert isinstance(self.plan, LandlockPlan)
        self.plan.restrict(
            read_only=[str(p) for p in ctx.read_only_paths],
            read_write=[str(ctx.scratch_dir), str(ctx.io_dir)],
        )


class CgroupLayer:
    """Join the session's own memory and pids groups (see :mod:`.cgroups`).

    First among the privileged steps, so that everything the session allocates afterwards is
    charged to it. The server creates the groups with their limits before fork and removes them
    after the session is reaped; without a writable hierarchy the layer is skipped, memfd is
    refused by seccomp instead, and threads are bounded only by the address-space limit.
    """

    name = "cgroups"

    def __init__(self) -> None:
        self.plan: object | None = None

    def prepare(self) -> None:
        if not sys.platform.startswith("linux"):
            raise LayerUnavailable("cgroups are Linux-only")
        from medagentgym.sandbox.bwrap import inside_user_namespace
        from medagentgym.sandbox.cgroups import CgroupPlan

        if inside_user_namespace():
            raise LayerUnavailable("inside bubblewrap's user namespace the cgroup tree is read-only")
        plan, why = CgroupPlan.detect(os.getpid())
        if plan is None:
            raise LayerUnavailable(why)
        self.plan = plan

    def apply(self, ctx: ChildContext) -> None:
        from medagentgym.sandbox.cgroups import join

        join(ctx.cgroups)


class JailLayer:
    """The session's own root file system (see :mod:`.jail`): only its allow-list exists.

    Needs the privilege to mount in a private mount namespace (level i as root); placed after
    ``scratch_quota`` and before ``caps``. Without it, metadata calls are refused by seccomp
    instead and ``stat`` of host paths stays possible (reported by ``sandbox check``).
    """

    name = "fs_jail"

    def __init__(self) -> None:
        self.plan: object | None = None

    def prepare(self) -> None:
        from medagentgym.sandbox.bwrap import inside_user_namespace
        from medagentgym.sandbox.jail import JailPlan
        from medagentgym.sandbox.quota import mount_unavailable

        why = mount_unavailable()
        if why is not None:
            raise LayerUnavailable(why.split(";")[0])
        if inside_user_namespace():
            raise LayerUnavailable("inside bubblewrap the server's own mounts already confine the file system")
        self.plan = JailPlan.build((*SYSTEM_READ_ONLY, *python_roots()), DEVICES, hidden_package_paths())

    def apply(self, ctx: ChildContext) -> None:
        from medagentgym.sandbox.jail import JailPlan

        assert isinstance(self.plan, JailPlan)
        if ctx.private_root is None or ctx.session_dir is None:
            raise RuntimeError("fs_jail needs the server's private root and the session dir")
        self.plan.enter(
            ctx.private_root / "jail",
            ctx.session_dir,
            [str(p) for p in ctx.read_only_paths],
            str(ctx.scratch_dir),
        )


class SeccompLayer:
    """No new processes (threads pass), no sockets, no escape-prone kernel interfaces."""

    name = "seccomp"

    def __init__(self) -> None:
        self.program: object | None = None

    def prepare(self) -> None:
        libc = _linux_libc("seccomp")
        if libc.prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
            raise LayerUnavailable("the kernel was built without seccomp")
        from medagentgym.sandbox.seccomp import build_program

        try:
            self.program = {
                (metadata, memfd): build_program(deny_metadata=metadata, deny_memfd=memfd)
                for metadata in (False, True)
                for memfd in (False, True)
            }
        except ImportError as exc:
            raise LayerUnavailable(f"pyseccomp is not installed ({exc})") from exc
        except (OSError, RuntimeError) as exc:  # pyseccomp raises RuntimeError without libseccomp
            raise LayerUnavailable(f"libseccomp is unusable: {exc}") from exc

    def apply(self, ctx: ChildContext) -> None:
        from medagentgym.sandbox.seccomp import SeccompProgram

        assert isinstance(self.program, dict)
        # Without its own root a uid-0 session owns root's files: refuse metadata changes
        # everywhere. Without a memory cgroup memfd pages escape RLIMIT_AS: refuse memfd.
        program = self.program[(not ctx.jailed, not ctx.memory_bounded)]
        assert isinstance(program, SeccompProgram)
        program.load()


class ScratchQuotaLayer:
    """A per-session disk quota: a size-limited tmpfs on the session dir, and a private mount view.

    The server mounts the tmpfs (scratch and capture files together) before fork when this layer
    is prepared (see :mod:`.quota`), and builds one small mount namespace at start
    (:meth:`build_template`): its dir read-only, the project's code masked. In the session this
    layer enters a private copy of that namespace and moves its own tmpfs in, so other sessions'
    dirs are not there at all and the cost does not grow with their number. Placed before
    ``caps`` (mounting needs CAP_SYS_ADMIN) and before ``landlock`` (its rules must name the
    tmpfs and the new mounts, so the ruleset is created after them). Without the privilege it is
    skipped and the client measures scratch after each step instead.
    """

    name = "scratch_quota"

    def __init__(self) -> None:
        self._masks: tuple[str, ...] = ()
        self.template_fd = -1  # the view template's namespace, held by the server (see build_template)

    def prepare(self) -> None:
        from medagentgym.sandbox.quota import mount_unavailable

        why = mount_unavailable()
        if why is not None:
            raise LayerUnavailable(why)
        self._masks = hidden_package_paths()  # visible to the server under bubblewrap: masked

    def build_template(self, private_root: Path) -> None:
        """In the server, once its private dir exists and before any session; OSError if impossible."""
        from medagentgym.sandbox.quota import build_view_template

        self.template_fd = build_view_template(private_root, self._masks)

    def apply(self, ctx: ChildContext) -> None:
        from medagentgym.sandbox.quota import enter_session_view

        if self.template_fd < 0:
            raise RuntimeError("scratch_quota: the server built no mount view template")
        enter_session_view(self.template_fd, ctx.session_dir or ctx.scratch_dir.parent)


# A pid no kernel hands out (pid_max is at most 2**22): compiled into the filter once, replaced
# by the session's own pid after fork, so the filter is built once and loaded per session.
_PID_PLACEHOLDER = 0x3FFFFFF3
_PR_SET_DUMPABLE = 4


class PidScopeLayer:
    """Sessions may signal and tune only themselves, and are not dumpable.

    Landlock scopes signals at level (i); without it (bubblewrap, level ii) every session and the
    server share one uid, and same-uid processes may signal each other, change each other's
    rlimits, priorities and CPU affinity, and read each other's memory through ``/proc/<pid>/mem``.
    A second seccomp filter refuses the process-targeting calls unless they name the session
    itself (``kill``/``tgkill``/``rt_*sigqueueinfo`` only for its own pid; ``prlimit64``,
    ``setpriority``, ``sched_set*``, ``ioprio_set``, page migration only for "self" = 0;
    ``tkill``, ``pidfd_send_signal``, ``process_madvise`` never); ``PR_SET_DUMPABLE=0`` makes its
    ``/proc/<pid>`` files unreadable to other sessions. Applied at every level (defence in depth).
    """

    name = "pid_scope"

    def __init__(self) -> None:
        self._bpf: bytes = b""
        self._slots: tuple[int, ...] = ()
        self._libc: ctypes.CDLL | None = None

    def prepare(self) -> None:
        self._libc = _linux_libc("seccomp")
        try:
            import pyseccomp as seccomp
        except ImportError as exc:
            raise LayerUnavailable(f"pyseccomp is not installed ({exc})") from exc
        except (OSError, RuntimeError) as exc:  # pyseccomp raises RuntimeError without libseccomp
            raise LayerUnavailable(f"libseccomp is unusable: {exc}") from exc
        try:
            self._bpf, self._slots = _build_pid_scope(seccomp)
        except (OSError, RuntimeError, ValueError) as exc:
            raise LayerUnavailable(f"libseccomp is unusable: {exc}") from exc

    def apply(self, ctx: ChildContext) -> None:
        from medagentgym.sandbox.seccomp import SeccompProgram

        assert self._libc is not None
        if self._libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")
        program = bytearray(self._bpf)
        pid = os.getpid().to_bytes(4, sys.byteorder)
        for offset in self._slots:  # the 32-bit ``k`` of each instruction holding the placeholder
            program[offset + 4 : offset + 8] = pid
        SeccompProgram(bytes(program), ()).load()


def _build_pid_scope(seccomp: object) -> tuple[bytes, tuple[int, ...]]:
    """The pid-scope filter as BPF, and the byte offsets of the placeholder instructions."""
    sc = seccomp  # the pyseccomp module
    filt = sc.SyscallFilter(sc.ALLOW)  # type: ignore[attr-defined]
    deny = sc.ERRNO(errno.EPERM)  # type: ignore[attr-defined]

    def nr(name: str) -> int | None:
        number = sc.resolve_syscall(sc.Arch.NATIVE, name)  # type: ignore[attr-defined]
        return number if number >= 0 else None

    placeholder = _PID_PLACEHOLDER
    for name, arg in (("kill", 0), ("tgkill", 0), ("rt_sigqueueinfo", 0), ("rt_tgsigqueueinfo", 0)):
        if (number := nr(name)) is not None:  # only the session's own pid (unsigned: -1 is huge)
            filt.add_rule(deny, number, sc.Arg(arg, sc.GT, placeholder))  # type: ignore[attr-defined]
            filt.add_rule(deny, number, sc.Arg(arg, sc.LT, placeholder))  # type: ignore[attr-defined]
    self_only = (
        ("prlimit64", 0),
        ("setpriority", 1),
        ("ioprio_set", 1),
        ("sched_setaffinity", 0),
        ("sched_setparam", 0),
        ("sched_setscheduler", 0),
        ("sched_setattr", 0),
        ("migrate_pages", 0),
        ("move_pages", 0),
    )
    for name, arg in self_only:  # 0 means "this process"
        if (number := nr(name)) is not None:
            filt.add_rule(deny, number, sc.Arg(arg, sc.NE, 0))  # type: ignore[attr-defined]
    for name in ("tkill", "pidfd_send_signal", "process_madvise", "process_mrelease"):
        if (number := nr(name)) is not None:
            filt.add_rule(deny, number)
    with tempfile.TemporaryFile() as out:
        filt.export_bpf(out)
        out.seek(0)
        bpf = out.read()
    if not bpf or len(bpf) % 8:
        raise ValueError("libseccomp exported a malformed BPF program")
    slots = tuple(
        offset
        for offset in range(0, len(bpf), 8)
        if int.from_bytes(bpf[offset + 4 : offset + 8], sys.byteorder) == placeholder
    )
    if not slots:
        raise ValueError("the pid placeholder is missing from the compiled filter")
    return bpf, slots


BWRAP_ENV = "MEDAGENTGYM_SANDBOX_BWRAP"


class BwrapLayer:
    """Marks level (ii): the server itself runs inside bubblewrap (see :mod:`.bwrap`).

    Nothing to do per session (the namespaces are inherited from the server); ``prepare``
    verifies that the server really is in a user namespace the client's bwrap made, and
    otherwise reports why it is not (the client's probe result travels in ``BWRAP_ENV``).
    """

    name = "bwrap"

    def prepare(self) -> None:
        from medagentgym.sandbox.bwrap import STATUS_ACTIVE, inside_user_namespace

        status = os.environ.get(BWRAP_ENV, "")
        if status != STATUS_ACTIVE:
            raise LayerUnavailable(status or "the server was not started inside bubblewrap")
        if not inside_user_namespace():
            raise LayerUnavailable("bubblewrap was requested but the server is in the initial user namespace")

    def apply(self, ctx: ChildContext) -> None:
        pass


LAYER_TYPES: dict[str, type[HardeningLayer]] = {
    layer.name: layer  # type: ignore[misc]
    for layer in (
        ParentDeathLayer,
        StdinLayer,
        CloseFdsLayer,
        EnvironmentLayer,
        RlimitLayer,
        CapabilitiesLayer,
        NoNewPrivsLayer,
        LandlockLayer,
        SeccompLayer,
        ScratchQuotaLayer,
        PidScopeLayer,
        BwrapLayer,
        CgroupLayer,
        JailLayer,
    )
}
# Everything, strongest last; unavailable layers are skipped and the level says what was reached.
DEFAULT_LAYERS: tuple[str, ...] = (
    "pdeathsig",
    "stdin_null",
    "close_fds",
    "scrub_env",
    "rlimits",
    "cgroups",
    "scratch_quota",
    "fs_jail",
    "caps",
    "no_new_privs",
    "landlock",
    "pid_scope",
    "seccomp",
)
# Level (ii): the same without Landlock, with the server inside bubblewrap. Chosen automatically
# when the kernel offers no Landlock and bwrap works; pass it as ``layers`` to force it.
BWRAP_LAYERS: tuple[str, ...] = tuple(
    "bwrap" if name == "landlock" else name for name in DEFAULT_LAYERS
)
# Levels from strongest to weakest; the last two are refused unless the user opts in.
LEVELS: tuple[str, ...] = ("landlock+seccomp", "seccomp+bwrap", "rlimits+seccomp", "rlimits", "none")
STRONG_LEVELS: frozenset[str] = frozenset({"landlock+seccomp", "seccomp+bwrap"})
INSECURE_LEVELS: frozenset[str] = frozenset({"rlimits", "none"})


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
    ``rlimits`` > ``none``.
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
