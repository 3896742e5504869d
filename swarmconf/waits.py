"""The one wait helper: bounded, named conditions with a timeout error that shows what was seen.

Every wait in the harness goes through :func:`wait_for` (something must become true) or
:func:`consistently` (something must stay true for a while). Never ``time.sleep`` to synchronise.
A condition is a callable that returns the observed state; ``until`` says when that state is good.
Transient errors named in ``transient`` are retried; others propagate at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

T = TypeVar("T")

#: Multiplies every timeout; set once from ``--timeout-scale`` for slow machines.
TIMEOUT_SCALE: float = 1.0


class WaitTimeout(AssertionError):
    """A condition did not hold in time. Carries the last observed state for the report."""

    def __init__(self, description: str, timeout: float, last: Any, error: BaseException | None = None):
        self.description = description
        self.timeout = timeout
        self.last = last
        self.error = error
        detail = f"last error: {error!r}" if error is not None else f"last observed: {_short(last)}"
        super().__init__(f"timed out after {timeout:.1f}s waiting until {description}; {detail}")


class ConsistencyViolation(AssertionError):
    """A condition that had to hold for a period stopped holding."""

    def __init__(self, description: str, after: float, observed: Any):
        self.description = description
        self.after = after
        self.observed = observed
        super().__init__(f"{description} stopped holding after {after:.1f}s; observed: {_short(observed)}")


def _short(value: Any, limit: int = 2000) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def wait_for(
    observe: Callable[[], T],
    *,
    until: Callable[[T], bool] = bool,
    description: str,
    timeout: float,
    interval: float = 0.5,
    transient: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``observe`` until ``until(result)`` holds; return that result.

    Raises :class:`WaitTimeout` after ``timeout`` seconds (times :data:`TIMEOUT_SCALE`) with the last
    observed state, or the last transient error if no observation ever succeeded.
    """
    budget = timeout * TIMEOUT_SCALE
    seen: dict[str, Any] = {"last": None, "error": None}

    def attempt() -> T:
        try:
            value = observe()
        except transient as exc:
            seen["error"] = exc
            raise
        seen["last"], seen["error"] = value, None
        return value

    retrying = Retrying(
        stop=stop_after_delay(budget),
        wait=wait_fixed(interval),
        retry=retry_if_exception_type(transient) | retry_if_result(lambda v: not until(v)),
        reraise=False,
    )
    try:
        return retrying(attempt)
    except RetryError:
        raise WaitTimeout(description, budget, seen["last"], seen["error"]) from None


def consistently(
    observe: Callable[[], T],
    *,
    holds: Callable[[T], bool] = bool,
    description: str,
    duration: float,
    interval: float = 0.5,
) -> T:
    """Check that ``holds(observe())`` stays true for ``duration`` seconds; return the last observation.

    Used for negative checks ("stays absent", "never reaches the runtime"): a one-shot probe could pass
    by luck, a check over a period cannot. :data:`TIMEOUT_SCALE` lengthens the period on a slow machine but
    never shortens it: a scale below 1 would only make the check prove less.
    """
    start = time.monotonic()
    deadline = start + duration * max(1.0, TIMEOUT_SCALE)
    while True:
        value = observe()
        if not holds(value):
            raise ConsistencyViolation(description, time.monotonic() - start, value)
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)
