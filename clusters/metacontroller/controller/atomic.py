"""Read-modify-write with optimistic concurrency, as upstream's ``AtomicUpdate``/``AtomicStatusUpdate``.

Each attempt GETs the live object (never the cache), checks that its UID is still the one we acted on (a
replaced object counts as NotFound), lets ``mutate`` change it and PUTs it. A 409 retries with client-go's
``retry.DefaultBackoff`` (4 attempts, 10 ms × 5ⁿ); ``mutate`` returning False means "nothing to write".
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import Conflict, NotFound
from .kube import Api, Obj, ResourceInfo

#: Sleeps between attempts (client-go retry.DefaultBackoff: 10 ms, factor 5, 4 steps).
RETRY_DELAYS = (0.01, 0.05, 0.25)


def atomic_update(
    api: Api,
    res: ResourceInfo,
    orig: Obj,
    mutate: Callable[[Obj], bool],
    *,
    status: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Obj:
    """Apply ``mutate`` to the live object and write it (to ``/status`` when ``status`` and it exists)."""
    meta = orig["metadata"]
    namespace, name, uid = meta.get("namespace") or "", meta["name"], meta.get("uid")
    write = api.replace_status if status and "status" in res.subresources else api.replace
    for delay in (*RETRY_DELAYS, None):
        current = api.get(res, namespace, name)
        if uid and current["metadata"].get("uid") != uid:
            raise NotFound(404, "NotFound", f"{res.kind} {namespace}/{name} was replaced (uid {uid} is gone)")
        if not mutate(current):
            return current
        try:
            return write(res, current)
        except Conflict:
            if delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")
