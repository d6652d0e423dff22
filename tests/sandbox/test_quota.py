"""Filling the disk: the per-session scratch quota (tmpfs), and the client-side fallback."""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medagentgym.sandbox import SandboxLimits, SandboxServer
from medagentgym.sandbox import bwrap as bubblewrap
from medagentgym.sandbox.hardening import BWRAP_LAYERS, DEFAULT_LAYERS
from medagentgym.sandbox.limits import io_bytes
from medagentgym.sandbox.quota import inode_limit, mount_unavailable, scratch_usage

MIB = 1024**2
QUOTA = 16 * MIB
LIMITS = SandboxLimits(timeout_s=20.0, memory_bytes=1024**3, file_size_bytes=8 * MIB, scratch_bytes=QUOTA)
LINUX = sys.platform.startswith("linux")
CAN_MOUNT = LINUX and mount_unavailable() is None

# Writes 1 MiB files until a write fails; at most 64 (64 MiB), so a missing quota cannot fill the disk.
FILL = (
    "written, failed = 0, None\n"
    "for n in range(64):\n"
    "    try:\n"
    "        with open(f'fill{n}.bin', 'wb') as f:\n"
    "            written += f.write(b'0' * 1024**2)\n"
    "    except OSError as e:\n"
    "        failed = e.errno\n"
    "        break\n"
    "(written, failed)"
)


def _levels() -> list[tuple[str, tuple[str, ...] | None]]:
    levels: list[tuple[str, tuple[str, ...] | None]] = [("default", None)]
    if LINUX and bubblewrap.find()[0] is not None:
        levels.append(("bwrap", BWRAP_LAYERS))
    return levels


@pytest.fixture(scope="module", params=_levels(), ids=lambda level: level[0])
def server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(LIMITS, layers=request.param[1]) as srv:
        yield srv


@pytest.mark.skipif(not CAN_MOUNT, reason=f"cannot mount a per-session tmpfs here: {mount_unavailable()}")
def test_filling_the_disk_stops_at_the_quota(server: SandboxServer) -> None:
    assert server.scratch_quota_enforced
    with server.open_session() as s:
        result = s.run_python(FILL)
        assert result.status == "ok", result.error
        written, failed = eval(result.value_repr or "")  # noqa: S307
        assert failed == errno.ENOSPC
        room = QUOTA + io_bytes(LIMITS)  # scratch and the capture files share one tmpfs
        assert QUOTA - 2 * MIB <= written <= room
        assert s.run_python("import os\nlen(os.listdir('.'))").status == "ok"  # still usable
        session_dir = s.scratch_dir.parent
    assert server.wait_teardown()
    assert not session_dir.exists()  # unmounted and removed when the session ends
    with server.open_session() as fresh:  # the next session starts with an empty quota
        again = fresh.run_python(FILL)
        assert eval(again.value_repr or "")[1] == errno.ENOSPC  # noqa: S307
        assert fresh.run_python("import pandas as pd\nint(pd.Series([1, 2]).sum())").value_repr == "3"


@pytest.mark.skipif(not CAN_MOUNT, reason=f"cannot mount a per-session tmpfs here: {mount_unavailable()}")
def test_many_empty_files_hit_the_inode_limit(server: SandboxServer) -> None:
    code = (
        "import os\nmade, failed = 0, None\n"
        "for n in range(5000):\n"
        "    try:\n"
        "        open(f'e{n}', 'w').close(); made += 1\n"
        "    except OSError as e:\n"
        "        failed = e.errno\n"
        "        break\n"
        "(made, failed)"
    )
    with server.open_session() as s:
        made, failed = eval(s.run_python(code).value_repr or "")  # noqa: S307
        assert failed == errno.ENOSPC and made < inode_limit(QUOTA + io_bytes(LIMITS))


@pytest.mark.skipif(not CAN_MOUNT, reason=f"cannot mount a per-session tmpfs here: {mount_unavailable()}")
def test_the_rest_of_the_private_dir_is_read_only(server: SandboxServer) -> None:
    with server.open_session() as s:
        targets = [s.scratch_dir.parents[2] / "root.bin"]
        code = (
            "def attempt(p):\n    try:\n        open(p, 'wb').write(b'x')\n    except OSError as e:\n        return e.errno\n"
            f"[attempt(p) for p in {[str(t) for t in targets]!r}]"
        )
        values = eval(s.run_python(code).value_repr or "")  # noqa: S307
        assert values and all(v in (errno.EROFS, errno.EACCES) for v in values), values
        assert not any(t.exists() for t in targets)
        assert s.run_python("print('captured')").stdout == "captured\n"  # io dir still writable


def test_fallback_measures_scratch_after_each_step() -> None:
    if not LINUX:
        pytest.skip("the hardened server is Linux-only")
    layers = tuple(name for name in DEFAULT_LAYERS if name != "scratch_quota")
    with SandboxServer(LIMITS, layers=layers) as srv:
        assert not srv.scratch_quota_enforced
        with srv.open_session() as s:
            small = s.run_python("open('a.bin', 'wb').write(b'0' * 1024**2)")
            assert small.status == "ok" and small.value_repr == str(MIB)
            big = s.run_python(FILL.replace("range(64)", "range(20)"))  # 20 MiB > 16 MiB quota
            assert big.status == "error"
            assert big.error is not None and "scratch quota exceeded" in big.error
            assert big.session_restarted
            assert s.run_python("import os\nos.listdir('.')").value_repr == "[]"  # a fresh, empty scratch
            assert s.run_python("1 + 1").value_repr == "2"


def test_scratch_usage_counts_allocated_bytes(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f").write_bytes(b"x" * 100_000)
    with open(tmp_path / "sparse", "wb") as f:
        f.truncate(50 * MIB)  # apparent size 50 MiB, nothing allocated
    used, entries = scratch_usage(tmp_path)
    assert entries == 3
    assert 100_000 <= used < 1 * MIB
    assert scratch_usage(tmp_path, max_entries=1)[1] == 2  # stops early, over the limit
