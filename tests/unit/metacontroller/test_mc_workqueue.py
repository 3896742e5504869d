"""The work queue and its rate limiter (METACONTROLLER.md §2 "Errors, timeouts and retries"; item 11).

Coverage matrix:

==================  =========================================================================
area                cases
==================  =========================================================================
per-item backoff    5 ms doubling per failure; capped at 1000 s; independent per item; forget
                    resets; no overflow after very many failures
token bucket        burst of 100 free, then 10 qps spacing
rate limiter        max of the two
queue               FIFO; duplicate adds coalesce; an item being processed is never handed out
                    twice and is requeued on done() if re-added; add_after fires after the delay
                    and the earlier of two delays wins; add_rate_limited uses the backoff;
                    shutdown wakes get()
==================  =========================================================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from swarmconf.clusters.metacontroller.controller.workqueue import (
    ItemExponentialBackoff,
    RateLimiter,
    TokenBucket,
    WorkQueue,
)


def test_backoff_doubles_from_5ms_to_1000s() -> None:
    backoff = ItemExponentialBackoff()
    delays = [backoff.when("a") for _ in range(20)]
    assert delays[:4] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert delays[17] == pytest.approx(655.36)
    assert delays[18] == 1000.0 and delays[19] == 1000.0
    assert backoff.when("b") == pytest.approx(0.005)  # per item
    backoff.forget("a")
    assert backoff.when("a") == pytest.approx(0.005)


def test_backoff_survives_long_outages() -> None:
    backoff = ItemExponentialBackoff()
    for _ in range(2000):
        delay = backoff.when("x")
    assert delay == 1000.0


def test_token_bucket_burst_then_10qps() -> None:
    now = [0.0]
    bucket = TokenBucket(qps=10, burst=100, clock=lambda: now[0])
    assert all(bucket.reserve() == 0.0 for _ in range(100))
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)
    now[0] = 10.0  # refilled
    assert bucket.reserve() == 0.0


def test_rate_limiter_takes_the_max() -> None:
    now = [0.0]
    limiter = RateLimiter(ItemExponentialBackoff(), TokenBucket(qps=1, burst=1, clock=lambda: now[0]))
    assert limiter.when("a") == pytest.approx(0.005)
    assert limiter.when("b") == pytest.approx(1.0)


@pytest.fixture
def queue() -> Iterator[WorkQueue]:
    q = WorkQueue()
    yield q
    q.shutdown()


def test_fifo_and_coalescing(queue: WorkQueue) -> None:
    for item in ("a", "b", "a"):
        queue.add(item)
    assert len(queue) == 2
    assert [queue.get(0.1), queue.get(0.1)] == ["a", "b"]


def test_item_in_flight_is_not_handed_out_twice(queue: WorkQueue) -> None:
    queue.add("a")
    assert queue.get(0.1) == "a"
    queue.add("a")  # an event arrives while a worker syncs "a"
    assert queue.get(0.05) is None
    queue.done("a")
    assert queue.get(0.1) == "a"


def test_add_after_fires_later_and_earliest_wins(queue: WorkQueue) -> None:
    start = time.monotonic()
    queue.add_after("a", 5.0)
    queue.add_after("a", 0.1)
    assert queue.get(2.0) == "a"
    elapsed = time.monotonic() - start
    assert 0.09 <= elapsed < 1.0


def test_add_rate_limited_backs_off(queue: WorkQueue) -> None:
    for _ in range(6):  # 5, 10, 20, 40, 80 ms: the sixth retry waits 160 ms
        queue.rate_limiter.when("a")
    start = time.monotonic()
    queue.add_rate_limited("a")
    assert queue.get(2.0) == "a"
    assert time.monotonic() - start >= 0.15
    queue.forget("a")
    assert queue.rate_limiter.backoff.failures("a") == 0


def test_shutdown_wakes_getters() -> None:
    q = WorkQueue()
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(q.get()))
    thread.start()
    q.shutdown()
    thread.join(2.0)
    assert results == [None]
