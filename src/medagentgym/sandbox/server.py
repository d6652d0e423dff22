"""The warm fork-server: imports the scientific stack once and forks one process per session.

Started by :class:`medagentgym.sandbox.client.SandboxServer` as
``python -I -m medagentgym.sandbox.server --control-fd N --root DIR`` with an almost empty
environment (no API keys can leak through ``/proc/self/environ``). It talks to its client over one
``SOCK_SEQPACKET`` control channel inherited as a descriptor, never over a named socket, so no other
process (a session included) can connect to it. A session request carries the client's end of a
fresh socket pair as ancillary data; the forked session process answers on it directly, so steps
never pass through the server.

The server exits, killing its sessions and removing their files, when the control channel closes
(the client closed it or died). Sessions die with the server (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Pin math libraries to one thread before they load: a single-threaded server forks safely.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from medagentgym.sandbox.hardening import (  # noqa: E402
    ChildContext,
    PreparedLayers,
    apply_layers,
    prepare_layers,
)
from medagentgym.sandbox.cgroups import CgroupPlan, remove_group  # noqa: E402
from medagentgym.sandbox.limits import SandboxLimits, io_bytes  # noqa: E402
from medagentgym.sandbox.protocol import write_frame  # noqa: E402
from medagentgym.sandbox.quota import mount_scratch, unmount, unmount_all_under  # noqa: E402
from medagentgym.sandbox.runtime import SessionRuntime, serve  # noqa: E402

PRELOAD = (
    "numpy",
    "pandas",
    "scipy",
    "scipy.stats",
    "sqlite3",
    "json",
    "math",
    "statistics",
    "datetime",
    "re",
    "collections",
)
# Names every session namespace starts with (alias -> module).
SEEDED = {"pd": "pandas", "np": "numpy", "sqlite3": "sqlite3", "json": "json", "math": "math"}
MAX_CONTROL_MESSAGE = 1 << 20
_MAX_PENDING_CLEANUP = 64  # past this many, one is removed per request even while busy


@dataclass
class _SessionRecord:
    token: str
    pid: int
    session_dir: Path
    groups: tuple[Path, ...] = ()
    released: bool = False
    exited: bool = False


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"killed by {name} ({number})"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended with wait status {status}"


class ForkServer:
    def __init__(self, control: socket.socket, root: Path, layers: PreparedLayers) -> None:
        self.control = control
        self.root = root
        self.sessions_root = root / "sessions"
        self.status_root = root / "status"
        self.layers = layers
        self.quota = "scratch_quota" in layers.names  # a tmpfs per session's scratch
        # Descriptors a session needs until its layers ran (the mount view template's namespace).
        self.layer_fds = frozenset(
            fd for layer in layers.layers if (fd := getattr(layer, "template_fd", -1)) >= 0
        )
        self.cgroups = _cgroup_plan(layers)  # a memory and a pids group per session
        self.jailed = "fs_jail" in layers.names  # each session builds its own root
        self.by_pid: dict[int, _SessionRecord] = {}
        self.by_token: dict[str, _SessionRecord] = {}
        self.preloaded = {alias: importlib.import_module(name) for alias, name in SEEDED.items()}
        self.base_path = os.environ.get("PATH", os.defpath)
        self.server_pid = os.getpid()
        self._status_fd = -1
        self._wake_r = self._wake_w = -1
        # Dirs and groups of reaped sessions, removed when no request waits (unmounting a tmpfs
        # waits for an RCU grace period: a session open should not wait behind it).
        self._cleanup: deque[tuple[Path, tuple[Path, ...]]] = deque()

    # -- lifecycle -------------------------------------------------------------------------

    def run(self) -> int:
        _become_subreaper()
        self.sessions_root.mkdir(mode=0o700, exist_ok=True)
        self.status_root.mkdir(mode=0o700, exist_ok=True)
        if self.jailed:
            (self.root / "jail").mkdir(mode=0o755, exist_ok=True)  # each session mounts its root here
        self._status_fd = os.open(self.status_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Sessions drop the project's modules from sys.modules (below); held here, they are not
        # freed in every session (freeing touches, so copies, pages: ~0.4 MiB per session).
        self._held_modules = tuple(sys.modules[name] for name in _project_module_names())
        gc.collect()
        gc.freeze()  # forked sessions then do not touch (and copy) the server's objects
        self.control.send(
            json.dumps(
                {
                    "op": "ready",
                    "pid": os.getpid(),
                    "level": self.layers.level,
                    "layers": list(self.layers.names),
                    "skipped": self.layers.skipped,
                    "cgroups": [str(base) for base in self.cgroups.bases] if self.cgroups else [],
                }
            ).encode()
        )
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _loop(self) -> None:
        while True:
            idle_s = 0.0 if self._cleanup else None
            readable, _, _ = select.select([self.control, self._wake_r], [], [], idle_s)
            if self._cleanup and (not readable or len(self._cleanup) > _MAX_PENDING_CLEANUP):
                self._remove_session_dir(*self._cleanup.popleft())
            if self._wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_r, 512):
                        pass
                self._reap()
            if self.control in readable:
                message, fds, flags, _ = socket.recv_fds(self.control, MAX_CONTROL_MESSAGE, 4)
                if not message and not fds:
                    return  # the client closed the channel or died
                if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                    for fd in fds:
                        os.close(fd)
                    continue
                self._handle(message, fds)

    def _shutdown(self) -> None:
        for record in list(self.by_pid.values()):
            _kill_group(record.pid)
        while True:  # sessions, and anything they left behind that was reparented to us
            for pid in _own_children():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
        # The whole private dir: the client removes it too, unless it died (then only we can).
        if self.cgroups is not None:
            self.cgroups.teardown()
        unmount_all_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- requests --------------------------------------------------------------------------

    def _handle(self, message: bytes, fds: list[int]) -> None:
        try:
            request = json.loads(message)
            op = request["op"]
        except (ValueError, KeyError, TypeError):
            op = None
        if op == "open" and len(fds) == 1:
            self._open(request, fds[0])
            return
        for fd in fds:
            os.close(fd)
        if op == "release":
            record = self.by_token.get(str(request.get("token")))
            if record is not None:
                record.released = True
                if record.exited:
                    self._forget(record)
                else:  # not reaped yet, so the group id cannot have been reused
                    _kill_group(record.pid)

    def _open(self, request: dict[str, Any], conn_fd: int) -> None:
        conn = socket.socket(fileno=conn_fd)
        try:
            limits = SandboxLimits.model_validate(request.get("limits") or {})
            resources = [
                {"kind": str(r["kind"]), "name": str(r["name"]), "path": str(r["path"])}
                for r in request.get("resources", [])
            ]
            token = secrets.token_hex(8)
            session_dir = self.sessions_root / token
            session_dir.mkdir(mode=0o700)
            groups: tuple[Path, ...] = ()
            try:
                if self.quota:  # before fork: the session's Landlock rules must name the tmpfs
                    mount_scratch(session_dir, limits.scratch_bytes + io_bytes(limits))
                (session_dir / "work").mkdir(mode=0o700)
                (session_dir / "io").mkdir(mode=0o700)
                if self.cgroups is not None:
                    groups = self.cgroups.create(token, limits.memory_bytes, limits.max_tasks)
                pid = os.fork()
            except OSError:
                self._remove_session_dir(session_dir, groups)
                raise
        except Exception as exc:  # noqa: BLE001 - report any failure to the client, keep serving
            with contextlib.suppress(OSError):
                write_frame(conn, {"op": "failed", "error": f"{type(exc).__name__}: {exc}"})
            conn.close()
            return
        if pid == 0:
            code = 1
            try:
                self._child(conn, token, session_dir, resources, limits, groups)
                code = 0
            except BaseException as exc:  # noqa: BLE001 - never return into the server loop
                with contextlib.suppress(BaseException):
                    write_frame(conn, {"op": "failed", "error": f"{type(exc).__name__}: {exc}"})
            finally:
                os._exit(code)
        conn.close()
        with contextlib.suppress(OSError):  # also done in the child; whichever runs first wins
            os.setpgid(pid, pid)
        record = _SessionRecord(token, pid, session_dir, groups)
        self.by_pid[pid] = record
        self.by_token[token] = record

    def _child(
        self,
        conn: socket.socket,
        token: str,
        session_dir: Path,
        resources: list[dict[str, str]],
        limits: SandboxLimits,
        groups: tuple[Path, ...],
    ) -> None:
        os.setpgid(0, 0)  # its own process group, so whatever it spawns is killed with it
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ctx = ChildContext(
            scratch_dir=session_dir / "work",
            io_dir=session_dir / "io",
            keep_fds=frozenset({conn.fileno(), *self.layer_fds}),
            limits=limits,
            server_pid=self.server_pid,
            base_path=self.base_path,
            read_only_paths=tuple(Path(r["path"]) for r in resources if r["path"]),
            private_root=self.root,
            session_dir=session_dir,
            cgroups=groups,
            jailed=self.jailed,
            memory_bounded=self.cgroups is not None and "memory" in self.cgroups.controllers,
        )
        apply_layers(self.layers.layers, ctx)
        _forget_project_modules()
        runtime = SessionRuntime(resources, ctx.io_dir, limits.output_bytes, dict(self.preloaded))
        write_frame(
            conn,
            {
                "op": "ready",
                "pid": os.getpid(),
                "token": token,
                "session_dir": str(session_dir),
                "scratch_dir": str(ctx.scratch_dir),
                "io_dir": str(ctx.io_dir),
            },
        )
        serve(conn, runtime)

    # -- children --------------------------------------------------------------------------

    def _reap(self) -> None:
        while True:
            try:  # peek first: while the session is a zombie its group id is still ours
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            if info.si_pid in self.by_pid:
                _kill_group(info.si_pid)
            try:
                pid, status = os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                continue
            record = self.by_pid.get(pid)
            if record is None:
                continue
            record.exited = True
            if record.released:
                self._forget(record)
            else:
                self._write_status(record.token, _describe_status(status))

    def _write_status(self, token: str, text: str) -> None:
        """Tell the client why a session ended; O_EXCL|O_NOFOLLOW so no planted link is followed."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(token, flags, 0o600, dir_fd=self._status_fd)
        except OSError:
            return
        with contextlib.suppress(OSError):
            os.write(fd, text.encode())
        os.close(fd)

    def _forget(self, record: _SessionRecord) -> None:
        self.by_pid.pop(record.pid, None)
        self.by_token.pop(record.token, None)
        self._cleanup.append((record.session_dir, record.groups))
        with contextlib.suppress(OSError):
            os.unlink(record.token, dir_fd=self._status_fd)

    def _remove_session_dir(self, session_dir: Path, groups: tuple[Path, ...] = ()) -> None:
        for group in groups:
            remove_group(group)
        if self.quota:
            unmount(session_dir)
        shutil.rmtree(session_dir, ignore_errors=True)


def _cgroup_plan(layers: PreparedLayers) -> CgroupPlan | None:
    for layer in layers.layers:
        if layer.name == "cgroups":
            plan = getattr(layer, "plan", None)
            return plan if isinstance(plan, CgroupPlan) else None
    return None


# Modules a session keeps: its own runtime. Everything else of the project (catalog, registry,
# client) is dropped from sys.modules so that agent code cannot reach it by name; its files are
# out of the session's file system, so it cannot be imported again either.
_SESSION_MODULES = ("medagentgym.sandbox.runtime", "medagentgym.sandbox.protocol", "medagentgym.textfmt")


def _project_module_names() -> list[str]:
    return [
        m for m in sys.modules if (m == "medagentgym" or m.startswith("medagentgym.")) and m not in _SESSION_MODULES
    ]


def _forget_project_modules() -> None:
    for name in _project_module_names():
        del sys.modules[name]


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _become_subreaper() -> None:
    """Orphans of sessions are reparented to the server, which kills them at shutdown."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _own_children() -> list[int]:
    pid = os.getpid()
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _set_up_cgroups(layers: PreparedLayers) -> PreparedLayers:
    """Create the server's parent groups; if that fails, run without the layer and say why."""
    plan = _cgroup_plan(layers)
    if plan is None:
        return layers
    try:
        plan.setup()
    except OSError as exc:
        plan.teardown()
        kept = tuple(layer for layer in layers.layers if layer.name != "cgroups")
        return PreparedLayers(kept, {**layers.skipped, "cgroups": f"creating {plan.bases[0]} failed: {exc}"})
    return layers


def _set_up_view_template(layers: PreparedLayers, root: Path) -> PreparedLayers:
    """Build the scratch quota's mount view template; if that fails, run without the layer and say why."""
    for layer in layers.layers:
        if layer.name == "scratch_quota" and hasattr(layer, "build_template"):
            try:
                layer.build_template(root)
            except OSError as exc:
                kept = tuple(other for other in layers.layers if other is not layer)
                return PreparedLayers(kept, {**layers.skipped, "scratch_quota": f"no private mount view: {exc}"})
    return layers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--layers", default=None, help="comma-separated hardening layer names")
    args = parser.parse_args(argv)
    control = socket.socket(fileno=args.control_fd)
    os.set_inheritable(control.fileno(), False)
    for name in PRELOAD:
        importlib.import_module(name)
    if args.layers is None:
        layers = prepare_layers()
    else:
        layers = prepare_layers([name for name in args.layers.split(",") if name])
    layers = _set_up_cgroups(layers)
    if "bwrap" in layers.names and sys.platform.startswith("linux"):
        # All sessions share our uid inside bubblewrap: keep them out of /proc/<our pid>/mem.
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
        if "scratch_quota" in layers.names:
            from medagentgym.sandbox.quota import own_mount_namespace

            own_mount_namespace()
    layers = _set_up_view_template(layers, args.root)
    return ForkServer(control, args.root, layers).run()


if __name__ == "__main__":
    sys.exit(main())
