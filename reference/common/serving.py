"""How every reference service serves HTTP: one ``uvicorn.run`` with the same settings.

The server keeps an idle connection open longer than its clients do. httpx, like most clients, reuses a pooled
connection for up to 5 s of idleness (``keepalive_expiry``); uvicorn closes one after 5 s (``timeout_keep_alive``).
With both at 5 s a request sent on a connection idle for exactly that long can cross the server's close and
fail ("Server disconnected without sending a response"): a stability report (2026-12-07) lost a bystander's
message that way, 5.0 s after the one before. Closing idle connections is then always the client's move.
"""

from __future__ import annotations

from typing import Any

#: Seconds an idle connection stays open on the server: longer than any client's keep-alive expiry.
KEEP_ALIVE_SECONDS = 65


def options(port: int, host: str = "0.0.0.0") -> dict[str, Any]:
    """The ``uvicorn.run`` settings every reference service is served with."""
    return {
        "host": host,
        "port": port,
        "proxy_headers": False,  # the caller is the TCP peer, whatever headers it sends
        "server_header": False,
        "access_log": False,  # uvicorn's own logging off: the services log through reference.common.logs
        "log_config": None,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def serve(app: Any, port: int) -> None:
    """Serve ``app`` on every address at ``port`` until stopped."""
    import uvicorn

    uvicorn.run(app, **options(port))
