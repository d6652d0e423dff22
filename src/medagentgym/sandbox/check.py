"""What ``medagentgym sandbox check`` and ``medagentgym sandbox exec`` do, as functions.

``sandbox_check`` says which hardening layers this kernel offers, which level a server reaches,
and proves it with a short self-test of attacks that the level must contain (each one run in a
real session). ``exec_snippet`` runs one snippet in a fresh session at the chosen level.
"""

from __future__ import annotations

import platform
import secrets
import socket
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel

from medagentgym.sandbox import bwrap as bubblewrap
from medagentgym.sandbox.client import SandboxError, SandboxServer
from medagentgym.sandbox.hardening import DEFAULT_LAYERS, STRONG_LEVELS, prepare_layers
from medagentgym.sandbox.landlock import abi_version
from medagentgym.sandbox.limits import SandboxLimits
from medagentgym.sandbox.results import ExecResult


class LayerStatus(BaseModel):
    name: str
    available: bool
    applied: bool
    reason: str = ""  # why it is unavailable


class Protection(BaseModel):
    """One guarantee of the sandbox, which layer gives it here, or why it is missing."""

    name: str
    applied: bool
    by: str  # the layer(s) that give it on this machine
    reason: str = ""  # why it is missing, or what stands in for it


class SelfTest(BaseModel):
    name: str
    passed: bool
    detail: str


class CheckReport(BaseModel):
    platform: str
    landlock_abi: int
    bwrap_available: bool = False  # a bubblewrap that can create the level-(ii) namespaces here
    bwrap_detail: str = ""  # its path and version, or why none works
    layers: list[LayerStatus]
    protections: list[Protection] = []
    level: str
    strong: bool  # landlock+seccomp or seccomp+bwrap
    server_error: str | None = None
    self_tests: list[SelfTest]
    ok: bool  # a strong level and every self-test contained

    def render(self) -> str:
        lines = [f"platform: {self.platform}", f"landlock ABI: {self.landlock_abi or 'none'}"]
        lines.append(f"bubblewrap: {'available' if self.bwrap_available else 'UNAVAILABLE'} ({self.bwrap_detail})")
        lines.append("layers:")
        for layer in self.layers:
            state = "applied" if layer.applied else "available" if layer.available else "UNAVAILABLE"
            lines.append(f"  {layer.name:<13} {state}{f' ({layer.reason})' if layer.reason else ''}")
        lines.append("protections:")
        for item in self.protections:
            state = f"applied by {item.by}" if item.applied else "SKIPPED"
            lines.append(f"  {item.name:<28} {state}{f' ({item.reason})' if item.reason else ''}")
        lines.append(f"level: {self.level}{'' if self.strong else '  <-- DEGRADED'}")
        if self.server_error:
            lines.append(f"server: {self.server_error}")
        lines.append("self-test:")
        for test in self.self_tests:
            lines.append(f"  [{'ok' if test.passed else 'FAIL'}] {test.name}: {test.detail}")
        lines.append("result: " + ("OK" if self.ok else "NOT OK"))
        return "\n".join(lines)


# name -> (snippet whose last expression is True when the attack was contained)
_SELF_TESTS: dict[str, str] = {
    "python runs": "sum(range(10)) == 45",
    "threads work": (
        "import threading\nbox = []\nt = threading.Thread(target=box.append, args=(1,))\n"
        "t.start(); t.join()\nbox == [1]"
    ),
    "no network socket": (
        "import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    ok = False\n"
        "except OSError:\n    ok = True\nok"
    ),
    "no new process": (
        "import os\ntry:\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n"
        "    ok = False\nexcept OSError:\n    ok = True\nok"
    ),
    "no write outside scratch": (
        "try:\n    open({path!r}, 'w').close()\n    ok = False\nexcept OSError:\n    ok = True\nok"
    ),
    "no signal to the server": (
        "import os\ntry:\n    os.kill({server_pid}, 0)\n    ok = False\nexcept OSError:\n    ok = True\nok"
    ),
    "no privilege change": (
        "import os\ntry:\n    os.setuid(12345)\n    ok = False\nexcept OSError:\n    ok = True\nok"
    ),
    "no metadata change outside scratch": (
        "import os, sys\ntry:\n    os.utime(sys.executable, (0, 0))\n    ok = False\nexcept OSError:\n    ok = True\nok"
    ),
    "no SysV IPC": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.msgget(0x4D414743, 0o1600) == -1 and libc.shmget(0x4D414743, 4096, 0o1600) == -1"
    ),
    "no inotify": "import ctypes\nctypes.CDLL(None).inotify_init1(0) == -1",
    "no host /proc": (
        "import os\nok = True\nfor p in ('/proc/self/mountinfo', '/proc/net/tcp'):\n    try:\n"
        "        ok = ok and {server_root!r} not in open(p).read() and ':{port:04X} ' not in open(p).read()\n"
        "    except OSError:\n        pass\nok"
    ),
    "no surviving the server": "import ctypes\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0) == -1",
    "catalog unreachable": (
        "try:\n    import medagentgym.catalog.registry\n    ok = False\nexcept ImportError:\n    ok = True\nok"
    ),
}


def _layer_statuses(applied: tuple[str, ...]) -> tuple[list[LayerStatus], dict[str, str]]:
    prepared = prepare_layers(DEFAULT_LAYERS)  # in this process: what the kernel offers here
    statuses = [
        LayerStatus(
            name=name,
            available=name not in prepared.skipped,
            applied=name in applied,
            reason=prepared.skipped.get(name, ""),
        )
        for name in DEFAULT_LAYERS
    ]
    return statuses, prepared.skipped


def sandbox_check(limits: SandboxLimits | None = None) -> CheckReport:
    """Detect the layers, start a server at the strongest level, run the self-test in it.

    A weak level is still started (and reported as such) so the report can say what is missing;
    ``ok`` is true only for a strong level whose self-test contained everything.
    """
    level, applied, server_error = "none", (), None
    results: list[SelfTest] = []
    probe = Path(tempfile.gettempdir()) / f"medagentgym-check-{secrets.token_hex(6)}"
    try:
        with SandboxServer(limits, allow_insecure=True) as server:
            level, applied = server.level, server.layers
            root = str(server._handle.root) if server._handle else "/nonexistent"
            for name, template in _SELF_TESTS.items():
                with socket.socket() as listener:  # a host listener no session may see
                    listener.bind(("127.0.0.1", 0))
                    listener.listen(1)
                    code = template.format(
                        path=str(probe), server_pid=server.sandbox_pid, server_root=root, port=listener.getsockname()[1]
                    )
                    with server.open_session() as session:
                        result = session.run_python(code)
                passed = result.status == "ok" and result.value_repr == "True"
                detail = "as expected" if passed else (result.error or result.value_repr or result.status)
                results.append(SelfTest(name=name, passed=passed, detail=detail.strip().splitlines()[-1]))
            results.append(
                SelfTest(
                    name="server survived",
                    passed=server.running,
                    detail="running" if server.running else "the server died",
                )
            )
    except SandboxError as exc:
        server_error = str(exc)
    finally:
        if probe.exists():
            probe.unlink()
            results.append(SelfTest(name="probe file absent", passed=False, detail=f"{probe} was written"))
    layers, _ = _layer_statuses(tuple(applied))
    strong = level in STRONG_LEVELS
    found, why = bubblewrap.find()
    bwrap_detail = f"{found.path}, {found.version}, from {found.source}" if found else why
    if "bwrap" in applied:  # level (ii): the server ran inside bubblewrap instead of Landlock
        layers.append(LayerStatus(name="bwrap", available=True, applied=True))
    return CheckReport(
        protections=_protections(tuple(applied), skipped_here(layers)),
        platform=f"{platform.system()} {platform.release()} {platform.machine()} (Python {sys.version.split()[0]})",
        landlock_abi=abi_version(),
        bwrap_available=found is not None,
        bwrap_detail=bwrap_detail,
        layers=layers,
        level=level,
        strong=strong,
        server_error=server_error,
        self_tests=results,
        ok=strong and server_error is None and bool(results) and all(t.passed for t in results),
    )


def skipped_here(layers: list[LayerStatus]) -> dict[str, str]:
    return {layer.name: layer.reason for layer in layers if not layer.applied}


def _protections(applied: tuple[str, ...], skipped: dict[str, str]) -> list[Protection]:
    """The round-2 guarantees, each with the layer that gives it here or what stands in."""
    has = set(applied)
    jail, cgroups, bwrap = "fs_jail" in has, "cgroups" in has, "bwrap" in has
    confined_fs = "landlock" in has or bwrap
    why_cgroups = skipped.get("cgroups", "not applied")
    return [
        Protection(name="memory cgroup (memfd, shm, tmpfs)", applied=cgroups, by="cgroups",
                   reason="" if cgroups else f"{why_cgroups}; memfd_create refused by seccomp instead"),
        Protection(name="pids cgroup (thread cap)", applied=cgroups, by="cgroups",
                   reason="" if cgroups else f"{why_cgroups}; threads bounded only by the address space"),
        Protection(name="IPC isolation", applied="seccomp" in has, by="seccomp",
                   reason="SysV IPC and POSIX message queues refused"),
        Protection(name="metadata denial", applied="seccomp" in has or jail,
                   by="fs_jail (read-only mounts)" if jail else "bwrap (read-only mounts) + seccomp" if bwrap else "seccomp",
                   reason="" if jail else "chmod/chown/utime/xattr refused everywhere, scratch included"),
        Protection(name="/proc confinement", applied=confined_fs,
                   by="fs_jail (hidepid) + landlock" if jail else "bwrap (own PID ns)" if bwrap else "landlock",
                   reason="" if jail or bwrap else "own /proc entries only; other pids can still be stat'ed"),
        Protection(name="stat outside the allow-list", applied=jail or bwrap, by="fs_jail" if jail else "bwrap",
                   reason="" if jail or bwrap else skipped.get("fs_jail", "no private root")),
        Protection(name="inotify confinement", applied="seccomp" in has, by="seccomp", reason="inotify/fanotify refused"),
        Protection(name="dies with the server", applied="pdeathsig" in has and "seccomp" in has,
                   by="pdeathsig + seccomp", reason="PR_SET_PDEATHSIG cannot be cleared"),
        Protection(name="catalog unreachable", applied=confined_fs,
                   by="landlock + fs_jail mask" if jail else "bwrap + mask" if bwrap else "landlock",
                   reason="the project's package is outside the allow-list and not in sys.modules"),
    ]


def exec_snippet(
    code: str, limits: SandboxLimits | None = None, *, allow_insecure: bool | None = None
) -> ExecResult:
    """Run ``code`` in a fresh session of a fresh server at the strongest level available.

    Infrastructure failures (no server, refused weak level) come back as ``infra_error``.
    """
    try:
        with SandboxServer(limits, allow_insecure=allow_insecure) as server, server.open_session() as session:
            return session.run_python(code)
    except SandboxError as exc:
        return ExecResult(status="infra_error", error=str(exc))
