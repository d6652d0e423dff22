"""The client side: start the fork-server, open sessions, run steps, enforce the hard limits.

Everything a session process sends back is untrusted (agent code runs in it): replies are read
with a size limit and a deadline, validated, and any deviation kills that session and starts a
fresh one with the same resources, so the caller always gets an :class:`ExecResult`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from medagentgym.catalog.sample import Resource
from medagentgym.sandbox import bwrap as bubblewrap
from medagentgym.sandbox.hardening import (
    BWRAP_ENV,
    BWRAP_LAYERS,
    INSECURE_LEVELS,
    STRONG_LEVELS,
    SYSTEM_READ_ONLY,
    python_roots,
)
from medagentgym.sandbox.landlock import abi_version
from medagentgym.sandbox.cgroups import CgroupPlan, remove_group, remove_tree
from medagentgym.sandbox.limits import SandboxLimits, io_bytes
from medagentgym.sandbox.pool import WarmPool
from medagentgym.sandbox.quota import scratch_usage, unmount, unmount_all_under
from medagentgym.sandbox.protocol import FrameTimeout, PeerClosed, ProtocolError, read_frame, write_frame
from medagentgym.sandbox.results import ExecResult
from medagentgym.untrusted import clean_text
from medagentgym.sandbox.runtime import truncation_marker

_READY_MAX_BYTES = 64 * 1024
_MAX_SCRATCH_ENTRIES = 100_000  # fallback quota: more files than this is over quota too
_MARKER_ROOM = 128  # characters a truncation marker may add to a capped field
# Opt-in for the weak levels (rlimits only): development on machines without seccomp.
ALLOW_INSECURE_ENV = "MEDAGENTGYM_SANDBOX_ALLOW_INSECURE"


_UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


def _peer_pid(sock: socket.socket, flags: int = 0) -> int | None:
    """The sender's pid, translated by the kernel into our PID namespace (needs SO_PASSCRED).

    Under bubblewrap the server and sessions live in their own PID namespace, so the pids they
    report about themselves mean nothing here; the kernel-attached credentials do. With
    ``MSG_PEEK`` the data stays in the socket for the frame reader.
    """
    try:
        _, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(_UCRED.size), flags)
    except (OSError, AttributeError):
        return None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == getattr(socket, "SCM_CREDENTIALS", -1):
            return int(_UCRED.unpack(data[: _UCRED.size])[0])
    return None


def _pass_credentials(sock: socket.socket) -> None:
    if hasattr(socket, "SO_PASSCRED"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)


class SandboxError(RuntimeError):
    """The sandbox infrastructure failed (server not running, session could not start)."""


class SessionClosedError(SandboxError):
    """A step was requested on a session that was closed."""


class _StepReply(BaseModel):
    """A session's reply, validated strictly: it comes from a process running agent code."""

    model_config = ConfigDict(strict=True, extra="forbid")

    seq: int
    status: Literal["ok", "error", "timeout", "infra_error"]
    stdout: str = ""
    stderr: str = ""
    value_repr: str | None = None
    error: str | None = None
    timed_out: bool = False
    truncated: bool = False


@dataclass
class _Child:
    """One session process as the client sees it."""

    sock: socket.socket
    pid: int  # in the client's PID namespace
    pidfd: int | None
    token: str
    sandbox_pid: int  # as agent code sees it (differs under bubblewrap's PID namespace)
    session_dir: Path
    scratch_dir: Path
    io_dir: Path
    groups: tuple[Path, ...] = ()  # cgroups the client placed it in (level ii)
    discarded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def exited(self, wait_s: float = 0.0) -> bool:
        if self.pidfd is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            return False
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        return bool(poller.poll(int(wait_s * 1000)))

    def kill(self) -> None:
        """SIGKILL, then wait until it can never run agent code again (every thread exiting).

        Not until it has fully exited: tearing down the address space of a fork of the
        scientific stack takes milliseconds (~10 ms measured) that the caller need not wait for.
        Every thread of a process that took SIGKILL has ``PF_EXITING`` set before its exit work
        and never returns to user space.
        """
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.pidfd is None:
            self.exited(wait_s=5.0)
            return
        deadline = time.monotonic() + 5.0
        pause = 0.0001
        while not self.exited():
            # Read first, then check it still had not exited: the pid was ours while we read.
            if _all_threads_exiting(self.pid) and not self.exited():
                return
            if time.monotonic() > deadline:
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.005)

    def usable(self) -> bool:
        """Ready to be handed out: alive, never discarded, nothing unread on its connection."""
        if self.discarded or self.exited():
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable  # a fresh session says nothing until asked: EOF or noise means broken


_PF_EXITING = 0x4


def _all_threads_exiting(pid: int) -> bool:
    """Every thread of ``pid`` is in ``do_exit`` (flags field of /proc/<pid>/task/<tid>/stat)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
        for tid in tids:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                text = f.read()
            fields = text[text.rindex(b")") + 2 :].split()
            if not int(fields[6]) & _PF_EXITING:
                return False
    except (OSError, ValueError, IndexError):
        return False  # gone meanwhile, or unreadable: the caller waits for the exit instead
    return bool(tids)


def _read_capped(path: Path, cap: int) -> tuple[str, bool]:
    """Read at most ``cap`` bytes of a file the session could have tampered with."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return "", False
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, min(size, cap))
    except OSError:
        return "", False
    finally:
        os.close(fd)
    text = data.decode("utf-8", "replace")
    if size > len(data):
        return text + truncation_marker(size - len(data)), True
    return text, False


def _clip(text: str | None, cap: int) -> tuple[str | None, bool]:
    if text is None:
        return None, False
    text = clean_text(text)  # lone surrogates (``raise ValueError('\\udcff')``) cannot be written as UTF-8
    if len(text) <= cap + _MARKER_ROOM:
        return text, False
    return text[:cap] + truncation_marker(len(text) - cap), True


def _minimal_env() -> dict[str, str]:
    bin_dir = os.path.dirname(sys.executable)
    return {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass
class _ServerHandle:
    """What must be cleaned up when the server goes away (also from a finalizer)."""

    proc: subprocess.Popen[bytes]
    control: socket.socket
    root: Path
    cgroups: tuple[Path, ...] = ()  # the server's parent groups (set once it is ready)

    def shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.control.close()  # the server sees EOF, kills its sessions and exits
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for base in self.cgroups:  # a server that was killed cannot remove its groups (or their tasks)
            remove_tree(base)
        unmount_all_under(self.root)  # scratch tmpfs of a server that died (level i: host mounts)
        shutil.rmtree(self.root, ignore_errors=True)


class SandboxServer:
    """A warm fork-server; a context manager. ``open_session`` is safe to call from any thread.

    With ``warm_sessions=N`` it keeps up to N pre-forked, fully hardened sessions ready per
    (resources, limits) it has seen (one daemon thread refills them); ``open_session`` takes one
    when there is one, else starts one as without the pool. A session is handed out once and
    never returned to the pool (see :mod:`.pool`); :meth:`prewarm` fills a key ahead of time.

    ``level`` and ``layers`` name the isolation actually applied to sessions; record them with
    every trajectory. The strongest level the kernel offers is chosen at start-up; a level without
    seccomp (``rlimits``) is refused unless ``allow_insecure`` (or the environment variable
    ``MEDAGENTGYM_SANDBOX_ALLOW_INSECURE=1``) opts in, and ``rlimits+seccomp`` warns loudly.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        layers: Sequence[str] | None = None,
        start_timeout_s: float = 120.0,
        allow_insecure: bool | None = None,
        read_only_paths: Sequence[str | Path] = (),
        warm_sessions: int = 0,
    ) -> None:
        self.limits = limits or SandboxLimits()
        # Up to this many hardened sessions kept ready per (resources, limits) seen; see .pool.
        # Weakly: the pool's thread must not keep a dropped server alive (its finalizer cleans up).
        self._pool: WarmPool[_Child] = WarmPool(
            warm_sessions, _weakly(self._spawn_spec), _weakly(self._discard), _Child.usable
        )
        weakref.finalize(self, self._pool.close)
        self.warm_sessions = warm_sessions
        if allow_insecure is None:
            allow_insecure = os.environ.get(ALLOW_INSECURE_ENV, "").lower() in {"1", "true", "yes"}
        self.allow_insecure = allow_insecure
        self._layer_request = None if layers is None else tuple(layers)
        self._start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._control_lock = threading.Lock()
        self._handle: _ServerHandle | None = None
        self._finalizer: weakref.finalize | None = None
        self._closed = False
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        self._level = "none"
        self._layers: tuple[str, ...] = ()
        self._skipped: dict[str, str] = {}
        self._extra_read_only = tuple(Path(p) for p in read_only_paths)
        self._visible_roots: tuple[Path, ...] | None = None  # None: the whole file system
        self.bwrap: bubblewrap.Bubblewrap | None = None
        self._client_cgroups: CgroupPlan | None = None  # level ii: groups placed by the client
        self.pid: int | None = None  # in this process's PID namespace
        self.sandbox_pid: int | None = None  # as sessions see it

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        with self._lock:
            if self._closed:
                raise SandboxError("sandbox server was closed")
            if self._handle is not None:
                return
            self._handle = self._launch()
            self._finalizer = weakref.finalize(self, self._handle.shutdown)

    def _launch(self) -> _ServerHandle:
        remove_stale_servers()
        root = Path(tempfile.mkdtemp(prefix=_ROOT_PREFIX))  # 0700
        client_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [
            sys.executable,
            "-I",
            "-m",
            "medagentgym.sandbox.server",
            "--control-fd",
            str(server_end.fileno()),
            "--root",
            str(root),
        ]
        layer_request = self._layer_request
        if layer_request is None and abi_version() < 1:
            layer_request = BWRAP_LAYERS  # no Landlock here: level (ii) if bubblewrap works
        if layer_request is not None:
            command += ["--layers", ",".join(layer_request)]
        env = _minimal_env()
        if layer_request is not None and "bwrap" in layer_request:
            found, why = bubblewrap.find()
            if found is None:
                env[BWRAP_ENV] = f"bubblewrap does not work here: {why}"
            else:
                env[BWRAP_ENV] = bubblewrap.STATUS_ACTIVE
                read_only = self._read_only_roots()
                command = bubblewrap.command(
                    found,
                    command,
                    system_paths=SYSTEM_READ_ONLY,
                    python_paths=python_roots(),  # the server imports the project; sessions get it masked
                    read_only=read_only,
                    writable=root,
                )
                self.bwrap = found
                self._visible_roots = bubblewrap.visible_roots([*read_only, *python_roots()])
        log_path = root / "server.log"
        _pass_credentials(client_end)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                command,
                env=env,
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                pass_fds=[server_end.fileno()],
                start_new_session=True,  # a terminal's Ctrl-C goes to the client only
            )
        server_end.close()
        handle = _ServerHandle(proc, client_end, root)
        client_end.settimeout(self._start_timeout_s)
        host_pid = None
        try:
            host_pid = _peer_pid(client_end, socket.MSG_PEEK)
            message = client_end.recv(_READY_MAX_BYTES)
            ready = json.loads(message) if message else {}
        except (OSError, ValueError) as exc:
            message, ready = b"", {"error": str(exc)}
        if ready.get("op") != "ready":
            log_tail = log_path.read_bytes()[-4000:].decode("utf-8", "replace")
            handle.shutdown()
            raise SandboxError(f"sandbox server failed to start: {ready.get('error', '')}\n{log_tail}")
        client_end.settimeout(None)
        level = str(ready["level"])
        skipped = {str(k): str(v) for k, v in dict(ready.get("skipped", {})).items()}
        if level in INSECURE_LEVELS and not self.allow_insecure:
            handle.shutdown()
            reasons = "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "none skipped"
            raise SandboxError(
                f"refusing to run agent code at isolation level {level!r} (no seccomp); layers "
                f"unavailable: {reasons}. For development only, pass allow_insecure=True or set "
                f"{ALLOW_INSECURE_ENV}=1."
            )
        if level not in STRONG_LEVELS:
            warnings.warn(
                f"SANDBOX DEGRADED: agent code runs at isolation level {level!r}, without Landlock "
                f"or bubblewrap; the file system and signals are NOT confined. Skipped: {skipped}",
                RuntimeWarning,
                stacklevel=3,
            )
        self._level = level
        handle.cgroups = tuple(Path(str(p)) for p in ready.get("cgroups", []))
        self._layers = tuple(str(name) for name in ready["layers"])
        self._skipped = {str(k): str(v) for k, v in dict(ready.get("skipped", {})).items()}
        if "bwrap" in self._layers and "cgroups" in self._skipped:
            self._place_from_outside(handle, host_pid or int(ready["pid"]))
        if "bwrap" not in self._layers:
            self.bwrap, self._visible_roots = None, None
        self.sandbox_pid = int(ready["pid"])
        self.pid = host_pid if host_pid is not None else self.sandbox_pid
        _write_owner(root, self.pid, handle.cgroups)
        return handle

    def _place_from_outside(self, handle: _ServerHandle, server_pid: int) -> None:
        """Level (ii): the server cannot see a cgroup tree inside bubblewrap, but this process may
        be able to write one: then the client puts each session in its groups right after it
        reports ready (before any agent code runs)."""
        plan, why = CgroupPlan.detect(server_pid)
        if plan is None:
            self._skipped["cgroups"] = why
            return
        try:
            plan.setup()
        except OSError as exc:
            plan.teardown()
            self._skipped["cgroups"] = f"creating {plan.bases[0]} failed: {exc}"
            return
        handle.cgroups = (*handle.cgroups, *plan.bases)
        self._client_cgroups = plan
        self._skipped.pop("cgroups", None)
        at = self._layers.index("scratch_quota") if "scratch_quota" in self._layers else len(self._layers)
        self._layers = (*self._layers[:at], "cgroups", *self._layers[at:])

    def _read_only_roots(self) -> list[Path]:
        """What sessions may read besides the system and Python: the data cache, the caller's paths."""
        from medagentgym.paths import cache_dir

        return [cache_dir(), *self._extra_read_only]

    def close(self) -> None:
        """Close all sessions (warm ones too), stop the server, remove its files."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sessions = list(self._sessions)
        self._pool.close()  # discards ready sessions; deferred teardowns run now
        for session in sessions:
            session.close()
        if self._finalizer is not None:
            self._finalizer()  # runs _ServerHandle.shutdown once

    def prewarm(
        self, resources: Sequence[Resource] = (), limits: SandboxLimits | None = None, n: int | None = None
    ) -> int:
        """Start ``n`` (default ``warm_sessions``) ready sessions for these resources and limits now,
        and keep that many ready from then on. Blocks until they are ready; returns how many are."""
        count = self.warm_sessions if n is None else n
        if count < 0:
            raise ValueError("n must be >= 0")
        self.start()
        key, spec = _pool_key(resources, limits or self.limits)
        self._check_visible(spec[0])
        return self._pool.prewarm(key, spec, count) if count else self._pool.ready(key)

    def wait_teardown(self, timeout_s: float = 10.0) -> bool:
        """Wait until deferred teardown work (see ``Session.close``) has run; True if it did in time."""
        return self._pool.drain(timeout_s)

    @property
    def level(self) -> str:
        """Isolation level of this server's sessions (e.g. ``landlock+seccomp``); starts the server."""
        if not self._closed:
            self.start()
        return self._level

    @property
    def layers(self) -> tuple[str, ...]:
        """Names of the hardening layers applied to every session, in order; starts the server."""
        if not self._closed:
            self.start()
        return self._layers

    @property
    def skipped_layers(self) -> dict[str, str]:
        """Requested layers this kernel does not offer, with the reason."""
        return dict(self._skipped)

    @property
    def scratch_quota_enforced(self) -> bool:
        """True when a tmpfs bounds each session's scratch; else the client checks after each step."""
        return "scratch_quota" in self.layers

    @property
    def running(self) -> bool:
        return self._handle is not None and not self._closed and self._handle.proc.poll() is None

    @property
    def started(self) -> bool:
        """True once the server process was launched (it may have died since: see ``running``)."""
        return self._handle is not None

    @property
    def closed(self) -> bool:
        return self._closed

    # -- sessions --------------------------------------------------------------------------

    def open_session(
        self, resources: Sequence[Resource] = (), limits: SandboxLimits | None = None
    ) -> Session:
        self.start()
        session = Session(self, tuple(resources), limits or self.limits)
        with self._lock:
            if self._closed:
                session.close()
                raise SandboxError("sandbox server was closed")
            self._sessions.add(session)
        return session

    def _acquire(self, resources: Sequence[Resource], limits: SandboxLimits) -> _Child:
        """A warm session for these resources and limits if one is ready, else a fresh one."""
        key, spec = _pool_key(resources, limits)
        child = self._pool.take(key, spec)
        return child if child is not None else self._spawn(resources, limits)

    def _spawn_spec(self, spec: tuple[tuple[Resource, ...], SandboxLimits]) -> _Child:
        return self._spawn(*spec)

    def _spawn(self, resources: Sequence[Resource], limits: SandboxLimits) -> _Child:
        handle = self._handle
        if handle is None or self._closed:
            raise SandboxError("sandbox server is not running")
        self._check_visible(resources)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        _pass_credentials(mine)
        request = {
            "op": "open",
            "resources": [r.model_dump(mode="json", include={"kind", "name", "path"}) for r in resources],
            "limits": limits.model_dump(mode="json"),
        }
        try:
            with self._control_lock:
                socket.send_fds(handle.control, [json.dumps(request).encode()], [theirs.fileno()])
        except OSError as exc:
            mine.close()
            raise SandboxError(f"sandbox server is not reachable: {exc}") from exc
        finally:
            theirs.close()
        try:
            mine.settimeout(60.0)
            host_pid = _peer_pid(mine, socket.MSG_PEEK)  # whoever wrote first: the session
            ready = read_frame(mine, _READY_MAX_BYTES, deadline=time.monotonic() + 60.0)
            if ready.get("op") != "ready":
                raise SandboxError(f"session failed to start: {ready.get('error')}")
            sandbox_pid = int(ready["pid"])
            pid = host_pid if host_pid is not None else sandbox_pid
            pidfd = _pidfd(pid)
            child = _Child(
                sock=mine,
                pid=pid,
                pidfd=pidfd,
                token=str(ready["token"]),
                sandbox_pid=sandbox_pid,
                session_dir=Path(ready["session_dir"]),
                scratch_dir=Path(ready["scratch_dir"]),
                io_dir=Path(ready["io_dir"]),
            )
            if pidfd is not None:  # closed with the object, so kill() never hits a reused number
                weakref.finalize(child, os.close, pidfd)
        except (ProtocolError, OSError, KeyError, ValueError, TypeError) as exc:
            mine.close()
            raise SandboxError(f"session failed to start: {exc}") from exc
        mine.settimeout(None)
        plan = self._client_cgroups
        if plan is not None:  # level ii: before the session runs any agent code
            try:
                child.groups = plan.create(child.token, limits.memory_bytes, limits.max_tasks)
                for group in child.groups:
                    (group / "cgroup.procs").write_text(str(child.pid))
            except OSError as exc:
                self._discard(child)  # kills it, tells the server, removes its groups and files
                raise SandboxError(f"session failed to start: placing it in its cgroups: {exc}") from exc
        return child

    def _check_visible(self, resources: Sequence[Resource]) -> None:
        """Under bubblewrap only the roots bound at start are visible: say so instead of failing later."""
        roots = self._visible_roots
        if roots is None:
            return
        for resource in resources:
            if not resource.path:
                continue
            path = Path(os.path.realpath(resource.path))
            if not any(path == root or root in path.parents for root in roots):
                raise SandboxError(
                    f"resource {resource.name!r} ({resource.path}) is not visible at level seccomp+bwrap: "
                    f"only {', '.join(map(str, roots))} are mounted; pass its folder in "
                    "SandboxServer(read_only_paths=...)"
                )

    def _discard(self, child: _Child) -> None:
        """Kill a session process and tell the server; its files and groups go in the background.

        Idempotent. When this returns the process can never run agent code again (see
        ``_Child.kill``); its scratch is removed moments later (the server also removes it once it
        has reaped the process), everything by the time ``close()`` of the server returns.
        """
        with child.lock:
            if child.discarded:
                return
            child.discarded = True
        child.kill()
        with contextlib.suppress(OSError):
            child.sock.close()
        handle = self._handle
        if handle is not None:
            with contextlib.suppress(OSError), self._control_lock:
                handle.control.send(json.dumps({"op": "release", "token": child.token}).encode())
        self._pool.defer(lambda: self._remove_files(child))

    def _remove_files(self, child: _Child) -> None:
        """The slow part of a teardown: cgroups placed by the client (they empty only once the
        process has exited), the scratch tmpfs (unmounting waits for an RCU grace period), its dir."""
        for group in child.groups:
            remove_group(group)
        if "scratch_quota" in self._layers:  # the server's tmpfs, visible here at level (i)
            unmount(child.session_dir)
        shutil.rmtree(child.session_dir, ignore_errors=True)

    def _exit_reason(self, child: _Child, wait_s: float = 1.0) -> str:
        """Why a session process ended, as the server saw it (it reaps and records)."""
        handle = self._handle
        if handle is None:
            return "unknown cause"
        path = handle.root / "status" / child.token
        deadline = time.monotonic() + wait_s
        while True:
            text, _ = _read_capped(path, 200)
            if text or time.monotonic() > deadline:
                return text or "unknown cause"
            time.sleep(0.005)


_ROOT_PREFIX = "medagentgym-sandbox-"
_OWNER_FILE = "owner.json"


def _write_owner(root: Path, server_pid: int, cgroups: Sequence[Path]) -> None:
    """Who owns a server dir, so that a later client can clean up after a client and server that
    were both killed (their scratch tmpfs stay mounted on the host, their cgroups stay behind)."""
    with contextlib.suppress(OSError):
        (root / _OWNER_FILE).write_text(json.dumps({"pid": server_pid, "cgroups": [str(g) for g in cgroups]}))


def _is_server(pid: int) -> bool:
    try:
        return b"medagentgym.sandbox.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def remove_stale_servers() -> None:
    """Unmount and remove the dirs (and cgroups) of servers that died with their client."""
    for root in Path(tempfile.gettempdir()).glob(_ROOT_PREFIX + "*"):
        try:
            owner = json.loads((root / _OWNER_FILE).read_text())
            pid = int(owner["pid"])
            groups = [Path(str(g)) for g in owner.get("cgroups", [])]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # starting up, or not ours: leave it
        if _is_server(pid):
            continue
        for group in groups:
            if group.name.startswith("medagentgym-"):
                remove_tree(group)
        unmount_all_under(root)
        shutil.rmtree(root, ignore_errors=True)


def _weakly(method: Any) -> Any:
    """``method`` of an object the caller must not keep alive; raises once the object is gone."""
    ref = weakref.WeakMethod(method)

    def call(*args: Any) -> Any:
        target = ref()
        if target is None:
            raise SandboxError("sandbox server was garbage-collected")
        return target(*args)

    return call


def _pool_key(
    resources: Sequence[Resource], limits: SandboxLimits
) -> tuple[tuple[object, ...], tuple[tuple[Resource, ...], SandboxLimits]]:
    """What makes two sessions interchangeable before their first step: what the server got."""
    resources = tuple(resources)
    key = (tuple((r.kind, r.name, r.path) for r in resources), limits.model_dump_json())
    return key, (resources, limits)


def _pidfd(pid: int) -> int | None:
    """A descriptor for the session process, immune to pid reuse (Linux >= 5.3)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


class Session:
    """One episode's sandbox: a persistent namespace in a hardened process. A context manager.

    One thread at a time per session (steps are serialized); different sessions may be used
    from different threads at once.
    """

    def __init__(self, server: SandboxServer, resources: tuple[Resource, ...], limits: SandboxLimits) -> None:
        self._server = server
        self.resources = resources
        self.limits = limits
        self._lock = threading.Lock()
        self._closed = False
        self._seq = 0
        cap = limits.output_bytes + _MARKER_ROOM
        # ASCII-escaped JSON: at most 12 bytes per character (surrogate pairs), 4 capped fields.
        self._max_reply = 4 * 12 * cap + 64 * 1024
        self._child: _Child | None = server._acquire(resources, limits)
        self._finalizer = weakref.finalize(self, _discard_later, server, [self._child])
        self.restarts = 0

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- properties ------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        child = self._child
        return not self._closed and child is not None and not child.exited()

    @property
    def pid(self) -> int:
        """The session process in this process's PID namespace."""
        return self._require_child().pid

    @property
    def sandbox_pid(self) -> int:
        """The session process as agent code sees it (its own PID namespace under bubblewrap)."""
        return self._require_child().sandbox_pid

    @property
    def scratch_dir(self) -> Path:
        return self._require_child().scratch_dir

    def _require_child(self) -> _Child:
        child = self._child
        if child is None:
            raise SessionClosedError("session has no running process")
        return child

    # -- steps -----------------------------------------------------------------------------

    def run_python(self, code: str, timeout_s: float | None = None) -> ExecResult:
        """Run a snippet in the session's namespace; a final expression is echoed."""
        timeout = self.limits.timeout_s if timeout_s is None else timeout_s
        return self._step({"op": "python", "code": code, "timeout_s": timeout}, timeout)

    def run_sql(
        self, query: str, database: str | None = None, timeout_s: float | None = None, max_rows: int = 50
    ) -> ExecResult:
        """Run one statement on a session database (read-only); the table is in ``stdout``."""
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        timeout = self.limits.timeout_s if timeout_s is None else timeout_s
        request = {
            "op": "sql",
            "query": query,
            "database": database,
            "timeout_s": timeout,
            "max_rows": max_rows,
        }
        return self._step(request, timeout)

    def _step(self, request: dict[str, Any], timeout_s: float) -> ExecResult:
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        with self._lock:
            if self._closed:
                raise SessionClosedError("session is closed")
            started = time.monotonic()
            child = self._child
            if child is None:  # an earlier restart failed; try again
                try:
                    child = self._child = self._server._acquire(self.resources, self.limits)
                    self._finalizer.detach()
                    self._finalizer = weakref.finalize(self, _discard_later, self._server, [child])
                except SandboxError as exc:
                    return ExecResult(
                        status="infra_error", error=str(exc), duration_s=time.monotonic() - started
                    )
            self._seq += 1
            request["seq"] = self._seq
            deadline = started + timeout_s + self.limits.hard_grace_s
            try:
                child.sock.settimeout(max(deadline - time.monotonic(), 0.001))
                write_frame(child.sock, request)
                raw = read_frame(child.sock, self._max_reply, deadline)
            except (FrameTimeout, TimeoutError):
                return self._abandon(child, "timeout", started, timeout_s)
            except (PeerClosed, OSError):
                return self._abandon(child, "died", started, timeout_s)
            except ProtocolError as exc:
                return self._abandon(child, f"malformed reply ({exc})", started, timeout_s)
            try:
                reply = _StepReply.model_validate(raw)
            except ValidationError as exc:
                return self._abandon(
                    child, f"malformed reply ({exc.error_count()} invalid fields)", started, timeout_s
                )
            except (RecursionError, ValueError, TypeError, OverflowError) as exc:  # agent-made, never ours
                return self._abandon(child, f"malformed reply ({type(exc).__name__})", started, timeout_s)
            if reply.seq != self._seq:
                return self._abandon(child, "malformed reply (out of sequence)", started, timeout_s)
            result = self._result(reply, time.monotonic() - started)
            if not self._server.scratch_quota_enforced:
                over = self._scratch_over_quota(child)
                if over is not None:
                    return self._abandon(child, over, started, timeout_s, previous=result)
            return result

    def _scratch_over_quota(self, child: _Child) -> str | None:
        """Fallback quota (no tmpfs could be mounted): measure scratch after the step."""
        quota = self.limits.scratch_bytes + io_bytes(self.limits)  # scratch and capture files
        used, entries = scratch_usage(child.session_dir)
        if used <= quota and entries <= _MAX_SCRATCH_ENTRIES:
            return None
        return (
            f"scratch quota exceeded: the session used {used} bytes in {entries} entries "
            f"(quota {quota} bytes, at most {_MAX_SCRATCH_ENTRIES} entries)"
        )

    def _result(self, reply: _StepReply, duration: float) -> ExecResult:
        cap = self.limits.output_bytes
        stdout, cut_out = _clip(reply.stdout, cap)
        stderr, cut_err = _clip(reply.stderr, cap)
        value_repr, cut_value = _clip(reply.value_repr, cap)
        error, _ = _clip(reply.error, cap)
        return ExecResult(
            status=reply.status,
            stdout=stdout or "",
            stderr=stderr or "",
            value_repr=value_repr,
            error=error,
            duration_s=duration,
            timed_out=reply.timed_out,
            truncated=reply.truncated or cut_out or cut_err or cut_value,
        )

    def _abandon(
        self, child: _Child, why: str, started: float, timeout_s: float, previous: ExecResult | None = None
    ) -> ExecResult:
        """Kill a session that overran, died or misbehaved; start a fresh one in its place."""
        child.kill()
        if self._closed:
            self._server._discard(child)
            self._child = None
            return ExecResult(
                status="infra_error",
                error="session was closed during the step",
                duration_s=time.monotonic() - started,
            )
        cap = self.limits.output_bytes
        stdout, cut_out = _read_capped(child.io_dir / "stdout", cap)
        stderr, cut_err = _read_capped(child.io_dir / "stderr", cap)
        if previous is not None:  # the step finished, but the session broke a limit meanwhile
            stdout, cut_out = previous.stdout, previous.truncated
            stderr, cut_err = previous.stderr, previous.truncated
        if why == "timeout":
            status: Literal["timeout", "crashed", "error"] = "timeout"
            message = (
                f"step exceeded its time limit of {timeout_s:g} s and did not stop; the session " "was killed"
            )
        elif why.startswith("scratch quota"):
            status = "error"
            message = f"{why}; the session was killed"
        else:
            status = "crashed"
            reason = self._server._exit_reason(child) if why == "died" else why
            message = f"session process ended: {reason}"
        self._server._discard(child)
        self._child = None
        restarted = False
        try:
            self._child = self._server._acquire(self.resources, self.limits)
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _discard_later, self._server, [self._child])
            restarted = True
            self.restarts += 1
            message += "; a fresh session was started and earlier variables are gone"
        except SandboxError as exc:
            message += f"; starting a fresh session failed: {exc}"
        return ExecResult(
            status=status,
            stdout=stdout,
            stderr=stderr,
            error=message,
            duration_s=time.monotonic() - started,
            timed_out=status == "timeout",
            truncated=cut_out or cut_err,
            session_restarted=restarted,
        )

    def close(self) -> None:
        """Kill the session process and remove its scratch dir. Idempotent.

        On return the process can never run agent code again; its files, groups and memory are
        released moments later, off the caller's path (``SandboxServer.wait_teardown`` waits).
        """
        self._closed = True
        child = self._child
        if child is not None:
            self._server._discard(child)
        self._finalizer.detach()


def _discard_later(server: SandboxServer, holder: list[_Child]) -> None:
    """Finalizer of a session dropped without ``close()``."""
    for child in holder:
        server._discard(child)
