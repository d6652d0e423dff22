"""Warm sessions, and teardown work off the caller's path: one daemon thread per sandbox server.

Opening a session costs a fork and every hardening layer (mount view, cgroups, jail, Landlock,
seccomp): milliseconds that an episode's reset waits for. A :class:`WarmPool` keeps up to
``size`` ready items (hardened session processes that never ran a step) per key (resources and
limits), hands one out at open, and refills in the background. An item is handed out at most
once: nothing returns to the pool, so no state can pass from one episode to the next. Items that
died while waiting are discarded, never handed out.

Keys are bounded (least recently used evicted, its items discarded). A key seen once is kept at
one ready item; from its second use on, at ``size``: a caller whose resources differ every
episode wastes at most one spawn per key, not ``size``.

The same thread runs deferred jobs (the parts of a teardown that need not delay the caller).
The pool knows nothing of sessions: the server passes ``spawn``, ``discard`` and ``usable``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
MAX_KEYS = 8


@dataclass
class _Stock(Generic[T]):
    spec: Any  # what ``spawn`` needs to make one more item for this key
    target: int
    ready: deque[T] = field(default_factory=deque)
    pending: int = 0  # being spawned by the thread
    failed: bool = False  # the last spawn failed: wait for the next take before trying again

    def deficit(self) -> bool:
        return not self.failed and len(self.ready) + self.pending < self.target


class WarmPool(Generic[T]):
    """Ready items per key, refilled by one daemon thread that also runs deferred jobs."""

    def __init__(
        self,
        size: int,
        spawn: Callable[[Any], T],
        discard: Callable[[T], None],
        usable: Callable[[T], bool],
        *,
        max_keys: int = MAX_KEYS,
        name: str = "medagentgym-sandbox-pool",
    ) -> None:
        if size < 0:
            raise ValueError("warm_sessions must be >= 0")
        self.size = size
        self._spawn = spawn
        self._discard = discard
        self._usable = usable
        self._max_keys = max(1, max_keys)
        self._name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stocks: OrderedDict[Hashable, _Stock[T]] = OrderedDict()
        self._jobs: deque[Callable[[], None]] = deque()
        self._running = 0  # jobs and spawns in progress on the thread
        self._closed = False
        self._thread: threading.Thread | None = None
        self.spawned = 0  # items the thread made (for tests and benchmarks)
        self.discarded = 0  # items that died waiting, were evicted or outlived the pool

    # -- callers ---------------------------------------------------------------------------

    def take(self, key: Hashable, spec: Any) -> T | None:
        """A ready item for ``key``, or None (the caller makes one); asks for a refill either way."""
        stale: list[T] = []
        found: T | None = None
        with self._lock:
            if self._closed:
                return None
            stock = self._stocks.get(key)
            if stock is None:
                if self.size == 0:
                    return None  # pool off: nothing recorded, nothing started
                self._stocks[key] = _Stock(spec, target=1)
                self._evict_locked()
            else:
                self._stocks.move_to_end(key)
                stock.target = max(stock.target, self.size)
                stock.failed = False
                while stock.ready:
                    item = stock.ready.popleft()
                    if self._usable(item):
                        found = item
                        break
                    stale.append(item)
            for item in stale:
                self._defer_locked(self._discard, item)
                self.discarded += 1
            self._start_locked()
            self._wake.notify_all()
        return found

    def prewarm(self, key: Hashable, spec: Any, n: int) -> int:
        """Keep ``n`` ready for ``key`` from now on and make them now, in the caller. Returns how many are ready."""
        with self._lock:
            if self._closed:
                return 0
            stock = self._stocks.get(key)
            if stock is None:
                stock = self._stocks[key] = _Stock(spec, target=n)
                self._evict_locked()
            else:
                self._stocks.move_to_end(key)
                stock.target = max(stock.target, n)
            stock.failed = False
        while True:
            with self._lock:
                if self._closed or self._stocks.get(key) is not stock or len(stock.ready) >= n:
                    break
                if len(stock.ready) + stock.pending >= n:  # the thread is making the rest
                    self._wake.wait(1.0)
                    continue
                stock.pending += 1
            item: T | None = None
            try:
                item = self._spawn(spec)
            finally:
                self._settle(key, stock, item)
        with self._lock:
            self._start_locked()
            return len(stock.ready)

    def defer(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the pool's thread (inline once the pool is closed)."""
        with self._lock:
            if not self._closed:
                self._jobs.append(job)
                self._start_locked()
                self._wake.notify_all()
                return
        _quietly(job)

    def ready(self, key: Hashable) -> int:
        with self._lock:
            stock = self._stocks.get(key)
            return 0 if stock is None else len(stock.ready)

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until no job is queued or running; True if that happened in time."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._jobs or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(left)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, discard every ready item and run the queued jobs. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            items = [item for stock in self._stocks.values() for item in stock.ready]
            self._stocks.clear()
            self._wake.notify_all()
            thread = self._thread
        for item in items:
            self.discarded += 1
            _quietly(self._discard, item)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)  # a spawn in flight finishes (or fails) and discards itself
        while True:
            with self._lock:
                if not self._jobs:
                    break
                job = self._jobs.popleft()
            _quietly(job)

    # -- the thread ------------------------------------------------------------------------

    def _start_locked(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _defer_locked(self, fn: Callable[[T], None], item: T) -> None:
        self._jobs.append(lambda: fn(item))

    def _evict_locked(self) -> None:
        while len(self._stocks) > self._max_keys:
            _, old = self._stocks.popitem(last=False)
            for item in old.ready:
                self._defer_locked(self._discard, item)
                self.discarded += 1
            old.ready.clear()

    def _next_locked(self) -> tuple[Callable[[], None] | None, Hashable, _Stock[T] | None]:
        if self._jobs:
            return self._jobs.popleft(), None, None
        for key, stock in reversed(self._stocks.items()):  # most recently used first
            if stock.deficit():
                stock.pending += 1
                return None, key, stock
        return None, None, None

    def _run(self) -> None:
        while True:
            with self._lock:
                job, key, stock = self._next_locked()
                while job is None and stock is None and not self._closed:
                    self._wake.notify_all()  # drain() waiters
                    self._wake.wait()
                    job, key, stock = self._next_locked()
                if self._closed and job is None:
                    if stock is not None:
                        stock.pending -= 1
                    self._wake.notify_all()
                    return
                self._running += 1
            try:
                if job is not None:
                    _quietly(job)
                elif stock is not None:
                    item: T | None = None
                    try:
                        item = self._spawn(stock.spec)
                    except Exception:  # noqa: BLE001 - server gone or resources refused: stop this key
                        stock.failed = True
                    self._settle(key, stock, item)
            finally:
                with self._lock:
                    self._running -= 1
                    self._wake.notify_all()

    def _settle(self, key: Hashable, stock: _Stock[T], item: T | None) -> None:
        """A spawn finished: stock the item, or discard it if the pool closed or the key was evicted."""
        with self._lock:
            stock.pending -= 1
            keep = item is not None and not self._closed and self._stocks.get(key) is stock
            if keep:
                stock.ready.append(item)  # type: ignore[arg-type]
                self.spawned += 1
            self._wake.notify_all()
        if item is not None and not keep:
            self.discarded += 1
            _quietly(self._discard, item)


def _quietly(fn: Callable[..., None], *args: Any) -> None:
    """Background work never raises into the pool's thread (teardown is best effort)."""
    with contextlib.suppress(Exception):
        fn(*args)
