"""What runs inside a session process: the step loop, output capture, Python and SQL execution.

One namespace per session, so an agent can build on earlier steps like in a notebook. stdout and
stderr are captured at the file-descriptor level (files in the session's io dir) so output of C
extensions and ``os.write(1, ...)`` is kept too; Python-level writes are capped while they are
written, so printing 100 MB costs nothing but the counting.
"""

from __future__ import annotations

import ast
import builtins
import ctypes
import faulthandler
import io
import linecache
import os
import signal
import socket
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from medagentgym.sandbox.protocol import PeerClosed, read_frame, write_frame
from medagentgym.textfmt import format_table

MAX_REQUEST_BYTES = 64 * 1024 * 1024  # agent code plus framing; the client is trusted
_CHUNK_CHARS = 1 << 20
_THIS_FILE = __file__
_TRACEBACK_FRAMES = 60  # innermost frames shown of an error's traceback
_CELL_PREFIX = "<step "


class StepTimeout(BaseException):
    """Raised inside agent code when its step runs out of time (the soft timeout).

    A BaseException so that ``except Exception`` in agent code does not swallow it; shown to the
    agent as a plain ``StepTimeout``.
    """


StepTimeout.__module__ = "builtins"


def _utf8_len(text: str, start: int = 0) -> int:
    """Encoded size of ``text[start:]`` without materialising a copy of a huge string."""
    if start >= len(text):
        return 0
    if text.isascii():
        return len(text) - start
    return sum(
        len(text[i : i + _CHUNK_CHARS].encode("utf-8", "backslashreplace"))
        for i in range(start, len(text), _CHUNK_CHARS)
    )


def truncation_marker(hidden: int) -> str:
    return f"\n...[output truncated: {hidden} more bytes]"


class _CappedFd:
    """Writes bytes to a descriptor until ``cap`` bytes were written, then only counts."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.written = 0
        self.dropped = 0

    def reset(self) -> None:
        self.written = 0
        self.dropped = 0

    def write_bytes(self, data: bytes | bytearray | memoryview, total: int | None = None) -> None:
        """Write ``data`` (at most the room left); ``total`` is the full size it stands for."""
        view = memoryview(data).cast("B")
        room = max(self.cap - self.written, 0)
        part = view[:room]
        while len(part):
            try:
                n = os.write(self.fd, part)
            except OSError:  # e.g. EFBIG past RLIMIT_FSIZE, or agent closed the fd
                break
            self.written += n
            part = part[n:]
        full = len(view) if total is None else total
        self.dropped += full - min(room, len(view)) + len(part)


class CappedBinaryStream(io.RawIOBase):
    """``sys.stdout.buffer`` for libraries that write bytes."""

    def __init__(self, sink: _CappedFd) -> None:
        super().__init__()
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data)
        self._sink.write_bytes(view)
        return view.nbytes

    def fileno(self) -> int:
        return self._sink.fd


class CappedTextStream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` of agent code: unbuffered, capped, writes to the fd."""

    def __init__(self, sink: _CappedFd, name: str) -> None:
        super().__init__()
        self._sink = sink
        self._name = name
        self.buffer = CappedBinaryStream(sink)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "backslashreplace"

    @property
    def name(self) -> str:
        return self._name

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._sink.fd

    def write(self, text: str) -> int:  # type: ignore[override]
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self._sink.cap - self._sink.written
        if room <= 0:
            self._sink.dropped += _utf8_len(text)
            return len(text)
        head = text[:room].encode("utf-8", "backslashreplace")  # >= room bytes when longer
        rest = _utf8_len(text, room)
        self._sink.write_bytes(head, total=len(head) + rest)
        return len(text)

    def flush(self) -> None:
        pass


class _Capture:
    """One capture file per stream, truncated at the start of each step and read back after it."""

    def __init__(self, fd: int, path: Path, cap: int, name: str) -> None:
        self.fd = fd
        self.path = path
        self.cap = cap
        self.sink = _CappedFd(fd, cap)
        self.stream = CappedTextStream(self.sink, name)
        self._reader = -1
        self._identity: tuple[int, int] | None = None

    def _ours(self) -> bool:
        """Is ``_reader`` still our file? Agent code may close it and reuse the number."""
        try:
            st = os.fstat(self._reader)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._identity

    def begin(self) -> None:
        if self._ours():
            os.ftruncate(self._reader, 0)
        else:  # first step, or agent code closed our descriptor
            flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
            self._reader = os.open(self.path, flags, 0o600)
            st = os.fstat(self._reader)
            self._identity = (st.st_dev, st.st_ino)
        os.dup2(self._reader, self.fd)
        self.sink.fd = self.fd
        self.sink.reset()

    def collect(self) -> tuple[str, bool]:
        try:
            if not self._ours():
                raise OSError("capture file descriptor was replaced")
            size = os.fstat(self._reader).st_size
            data = os.pread(self._reader, min(size, self.cap), 0)
        except OSError:
            size, data = 0, b""
        hidden = size - len(data) + self.sink.dropped
        text = data.decode("utf-8", "replace")
        if hidden > 0:
            return text + truncation_marker(hidden), True
        return text, False


def _trim_traceback(exc: BaseException) -> str:
    """The traceback without the sandbox's own frames (the agent did not write them).

    Every frame before the first one of a step cell belongs to the sandbox (the step loop,
    ``ast.parse``); a syntax error has no cell frame at all and keeps only its own report.
    """
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(_CELL_PREFIX):
        tb = tb.tb_next
    depth = sum(1 for _ in traceback.walk_tb(tb))
    # A deep recursion has ~10^5 frames: formatting them all would outlast the hard-kill grace
    # period (a soft timeout turned into a lost session). Keep the innermost frames.
    summary = traceback.TracebackException(type(exc), exc, tb, limit=-_TRACEBACK_FRAMES)
    while summary.stack and summary.stack[-1].filename == _THIS_FILE:
        summary.stack.pop()  # the alarm handler that raised StepTimeout
    text = "".join(summary.format())
    if depth > _TRACEBACK_FRAMES:
        head = "Traceback (most recent call last):\n"
        note = f"  [{depth - _TRACEBACK_FRAMES} outer frames omitted]\n"
        text = text.replace(head, head + note, 1) if text.startswith(head) else note + text
    return text


def _tail(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    return f"...[{len(text) - cap} earlier characters cut]\n" + text[-cap:]


def _sqlite_temp_files_in(directory: str) -> None:
    """Point SQLite's temporary files (spilled sorts, large IN lists, temp tables) at scratch.

    The library picked its temp dir candidates (``/var/tmp``, ``/tmp``) in the server, where
    they look writable; in a session they are refused, and every spilling query failed with
    "unable to open database file". The pragma sets the process-wide directory, so connections
    that agent code opens itself use it too; the files then count against the scratch quota.
    """
    quoted = directory.replace("'", "''")
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute(f"PRAGMA temp_store_directory = '{quoted}'")
    except sqlite3.Error:
        pass  # built without deprecated pragmas: leave SQLite's own choice
    finally:
        connection.close()


class SessionRuntime:
    """The state of one session: namespace, open databases, capture files, step counter."""

    def __init__(
        self, resources: list[dict[str, str]], io_dir: Path, output_bytes: int, preloaded: dict[str, Any]
    ) -> None:
        self.output_bytes = output_bytes
        self.databases = {r["name"]: r["path"] for r in resources if r.get("kind") == "sqlite"}
        self.namespace: dict[str, Any] = {
            "__name__": "__main__",
            "__builtins__": builtins,
            **preloaded,
            "DATABASES": dict(self.databases),
            "RESOURCES": {r["name"]: r["path"] for r in resources},
        }
        self._connections: dict[str, sqlite3.Connection] = {}
        self._step = 0
        self._armed = False
        self._timeout_s = 0.0
        self.stdout = _Capture(1, io_dir / "stdout", output_bytes, "<stdout>")
        self.stderr = _Capture(2, io_dir / "stderr", output_bytes, "<stderr>")
        self._fflush: Callable[[Any], int] | None
        try:
            self._fflush = ctypes.CDLL(None).fflush
        except (OSError, AttributeError):
            self._fflush = None
        signal.signal(signal.SIGALRM, self._on_alarm)
        _sqlite_temp_files_in(os.environ.get("TMPDIR") or os.getcwd())
        self._begin()
        faulthandler.enable(file=2)  # a segfault leaves its Python traceback in the stderr file

    # -- capture ---------------------------------------------------------------------------

    def _begin(self) -> None:
        self.stdout.begin()
        self.stderr.begin()
        sys.stdout = sys.__stdout__ = self.stdout.stream  # type: ignore[misc,assignment]
        sys.stderr = sys.__stderr__ = self.stderr.stream  # type: ignore[misc,assignment]

    def _finish(
        self, status: str, value_repr: str | None = None, error: str | None = None, timed_out: bool = False
    ) -> dict[str, Any]:
        if self._fflush is not None:
            self._fflush(None)  # C stdio buffers of extensions
        out, out_cut = self.stdout.collect()
        err, err_cut = self.stderr.collect()
        return {
            "status": status,
            "stdout": out,
            "stderr": err,
            "value_repr": value_repr,
            "error": error,
            "timed_out": timed_out,
            "truncated": out_cut or err_cut,
        }

    # -- soft timeout ----------------------------------------------------------------------

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self._armed:
            self._armed = False
            raise StepTimeout(
                f"step exceeded its time limit of {self._timeout_s:g} s and was interrupted; "
                "variables assigned before this point are kept"
            )

    @contextmanager
    def _alarm(self, timeout_s: float) -> Iterator[None]:
        self._timeout_s = timeout_s
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, max(timeout_s, 0.001))
        try:
            yield
        finally:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    # -- Python ----------------------------------------------------------------------------

    def _repr(self, value: Any) -> str:
        text = repr(value)
        cap = self.output_bytes
        if len(text) > cap:
            text = text[:cap] + truncation_marker(len(text) - cap)
        return text

    def run_python(self, code: str, timeout_s: float) -> dict[str, Any]:
        self._step += 1
        filename = f"{_CELL_PREFIX}{self._step}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        self._begin()
        value_repr: str | None = None
        try:
            with self._alarm(timeout_s):
                tree = ast.parse(code, filename)
                last: ast.expr | None = None
                if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
                    last = tree.body.pop().value  # type: ignore[attr-defined]
                if tree.body:
                    exec(compile(tree, filename, "exec", dont_inherit=True), self.namespace)
                if last is not None:
                    expression = ast.Expression(body=last)
                    value = eval(compile(expression, filename, "eval", dont_inherit=True), self.namespace)
                    if value is not None:
                        self.namespace["_"] = value
                        value_repr = self._repr(value)
        except StepTimeout as exc:
            text = _trim_traceback(exc)
            self.stderr.stream.write(text)
            return self._finish("timeout", error=_tail(text, self.output_bytes), timed_out=True)
        except BaseException as exc:  # noqa: BLE001 - agent code may raise anything, SystemExit too
            text = _trim_traceback(exc)
            self.stderr.stream.write(text)
            return self._finish("error", error=_tail(text, self.output_bytes))
        return self._finish("ok", value_repr=value_repr)

    # -- SQL -------------------------------------------------------------------------------

    def _connection(self, database: str | None) -> tuple[str, sqlite3.Connection]:
        if not self.databases:
            raise LookupError("this session has no SQLite database")
        name = database if database is not None else next(iter(self.databases))
        if name not in self.databases:
            known = ", ".join(self.databases)
            raise LookupError(f"unknown database {name!r} (known: {known})")
        if name not in self._connections:
            uri = Path(self.databases[name]).as_uri() + "?mode=ro"
            self._connections[name] = sqlite3.connect(uri, uri=True)
        return name, self._connections[name]

    def run_sql(self, query: str, database: str | None, timeout_s: float, max_rows: int) -> dict[str, Any]:
        self._begin()
        try:
            _, connection = self._connection(database)
        except (LookupError, sqlite3.Error) as exc:
            message = f"{type(exc).__name__}: {exc}"
            self.stderr.stream.write(message + "\n")
            return self._finish("error", error=message)
        deadline = time.monotonic() + timeout_s
        connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        try:
            cursor = connection.execute(query)
            if cursor.description is None:
                self.stdout.stream.write("(statement executed; no result set)\n")
            else:
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchmany(max_rows)
                total = len(rows)
                while batch := cursor.fetchmany(1000):
                    total += len(batch)
                self.stdout.stream.write(format_table(columns, rows, total) + "\n")
        except sqlite3.Error as exc:
            if time.monotonic() > deadline and "interrupt" in str(exc).lower():
                message = f"query exceeded its time limit of {timeout_s:g} s and was interrupted"
                self.stderr.stream.write(message + "\n")
                return self._finish("timeout", error=message, timed_out=True)
            message = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
            self.stderr.stream.write(message + "\n")
            return self._finish("error", error=message)
        finally:
            connection.set_progress_handler(None, 0)
            connection.rollback()
        return self._finish("ok")


def serve(sock: socket.socket, runtime: SessionRuntime) -> None:
    """The session's loop: one request, one reply, until the client goes away."""
    while True:
        try:
            request = read_frame(sock, MAX_REQUEST_BYTES)
        except PeerClosed:
            return
        seq = request.get("seq")
        op = request.get("op")
        try:
            if op == "python":
                reply = runtime.run_python(str(request["code"]), float(request["timeout_s"]))
            elif op == "sql":
                reply = runtime.run_sql(
                    str(request["query"]),
                    request.get("database"),
                    float(request["timeout_s"]),
                    int(request["max_rows"]),
                )
            elif op == "ping":
                reply = {"status": "ok"}
            else:
                reply = {"status": "infra_error", "error": f"unknown op {op!r}"}
        except (KeyError, TypeError, ValueError) as exc:
            reply = {"status": "infra_error", "error": f"bad request: {exc}"}
        reply["seq"] = seq
        try:
            write_frame(sock, reply)
        except OSError:
            return
