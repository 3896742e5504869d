"""One-line JSON logs, so the harness can grep and parse every component's output."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["configure", "event"]


def configure(level: int = logging.INFO) -> None:
    """Send log records to stdout as bare messages (every message is already JSON)."""
    logging.basicConfig(level=level, stream=sys.stdout, format="%(message)s", force=True)


def event(logger: logging.Logger, name: str, /, **fields: Any) -> None:
    """Log ``{"ts", "event", **fields}`` as one JSON line."""
    logger.info(json.dumps({"ts": round(time.time(), 3), "event": name, **fields}, default=str, sort_keys=True))
