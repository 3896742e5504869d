"""A rate-limited, delaying work queue with client-go's semantics.

* An item is never processed by two workers at once: adding an item that is being processed marks it dirty,
  and it is queued again when the worker calls :meth:`WorkQueue.done`.
* Adding an item that is already queued is a no-op (events coalesce into one sync).
* :meth:`WorkQueue.add_after` schedules a one-shot delayed add (``resyncAfterSeconds``, 429 Retry-After);
  when an item is already waiting, the earlier time wins.
* :meth:`WorkQueue.add_rate_limited` backs off per item with client-go's ``DefaultControllerRateLimiter``:
  the larger of an exponential per-item delay (5 ms · 2^failures, capped at 1000 s) and an overall token bucket
  (10 qps, burst 100). :meth:`WorkQueue.forget` resets an item's failures after a successful sync.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class ItemExponentialBackoff:
    """Per-item exponential backoff: ``base * 2**failures``, capped at ``cap`` (client-go: 5 ms → 1000 s)."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def when(self, item: Hashable) -> float:
        """Record one more failure of ``item`` and return how long to wait before retrying it."""
        with self._lock:
            failures = self._failures.get(item, 0)
            self._failures[item] = failures + 1
        if failures > 60:  # 2**60 * base is far beyond any cap; avoid float overflow on long outages
            return self.cap
        return min(self.base * (2**failures), self.cap)

    def failures(self, item: Hashable) -> int:
        """How many times in a row ``item`` has failed."""
        with self._lock:
            return self._failures.get(item, 0)

    def forget(self, item: Hashable) -> None:
        """``item`` succeeded: start again from ``base`` next time."""
        with self._lock:
            self._failures.pop(item, None)


class TokenBucket:
    """Overall retry rate limit (client-go: 10 qps, burst 100): the delay a reservation must wait."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Callable[[], float] = time.monotonic) -> None:
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token (possibly in the future) and return how long until it is available."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps


class RateLimiter:
    """client-go's ``DefaultControllerRateLimiter``: the max of per-item backoff and the token bucket."""

    def __init__(self, backoff: ItemExponentialBackoff | None = None, bucket: TokenBucket | None = None) -> None:
        self.backoff = backoff or ItemExponentialBackoff()
        self.bucket = bucket or TokenBucket()

    def when(self, item: Hashable) -> float:
        """Delay before retrying ``item``."""
        return max(self.backoff.when(item), self.bucket.reserve())

    def forget(self, item: Hashable) -> None:
        """Reset ``item``'s backoff."""
        self.backoff.forget(item)


class WorkQueue:
    """See the module docstring. Thread-safe; one background thread drives delayed adds."""

    def __init__(self, rate_limiter: RateLimiter | None = None, name: str = "queue") -> None:
        self.rate_limiter = rate_limiter or RateLimiter()
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._waiting: list[tuple[float, int, Hashable]] = []
        self._ready_at: dict[Hashable, float] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._shutdown = False
        self._delayer = threading.Thread(target=self._run_delayed, name=f"{name}-delay", daemon=True)
        self._delayer.start()

    def add(self, item: Hashable) -> None:
        """Queue ``item`` now (coalesced with a pending add; deferred while it is being processed)."""
        with self._cond:
            if self._shutdown or item in self._dirty:
                return
            self._dirty.add(item)
            if item not in self._processing:
                self._queue.append(item)
                self._cond.notify_all()

    def add_after(self, item: Hashable, delay: float) -> None:
        """Queue ``item`` after ``delay`` seconds (immediately when ``delay <= 0``)."""
        if delay <= 0:
            self.add(item)
            return
        with self._cond:
            if self._shutdown:
                return
            ready = time.monotonic() + delay
            if item in self._ready_at and self._ready_at[item] <= ready:
                return
            self._ready_at[item] = ready
            heapq.heappush(self._waiting, (ready, next(self._seq), item))
            self._cond.notify_all()

    def add_rate_limited(self, item: Hashable) -> None:
        """Queue ``item`` after its backoff delay."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: Hashable) -> None:
        """Reset ``item``'s backoff after a successful sync."""
        self.rate_limiter.forget(item)

    def get(self, timeout: float | None = None) -> Hashable | None:
        """Block until an item is ready; ``None`` on shutdown (or when ``timeout`` passes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._queue and not self._shutdown:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if not self._queue:
                return None
            item = self._queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            return item

    def done(self, item: Hashable) -> None:
        """The worker finished ``item``; requeue it if it was added meanwhile."""
        with self._cond:
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
                self._cond.notify_all()

    def shutdown(self) -> None:
        """Wake every waiter; :meth:`get` returns ``None`` from now on."""
        with self._cond:
            self._shutdown = True
            self._queue.clear()
            self._cond.notify_all()
        self._delayer.join(timeout=5)

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def _run_delayed(self) -> None:
        """Move delayed items into the queue when their time comes."""
        with self._cond:
            while not self._shutdown:
                now = time.monotonic()
                while self._waiting and self._waiting[0][0] <= now:
                    ready, _, item = heapq.heappop(self._waiting)
                    if self._ready_at.get(item) == ready:
                        del self._ready_at[item]
                        self._add_locked(item)
                timeout = self._waiting[0][0] - now if self._waiting else None
                self._cond.wait(timeout)

    def _add_locked(self, item: Hashable) -> None:
        if item in self._dirty:
            return
        self._dirty.add(item)
        if item not in self._processing:
            self._queue.append(item)
            self._cond.notify_all()
