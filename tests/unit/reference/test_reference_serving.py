"""How the reference services serve HTTP (``reference.common.serving``), on a real uvicorn server on loopback.

An idle connection outlives a client's keep-alive expiry (httpx: 5 s): a request sent on a pooled connection
6 s after the one before is still answered on that connection. With uvicorn's default (5 s) it is not; that
race lost a bystander's message in a stability report (2026-12-07). The harness's model-provider stub keeps
connections as long.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from swarmconf.fixtures import model_provider
from swarmconf.reference.common import serving

CLIENT_EXPIRY = httpx.Limits().keepalive_expiry or 5.0


def _app() -> Starlette:
    async def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", ok)])


@pytest.fixture
def server() -> Iterator[int]:
    """The reference's settings, served on a free loopback port; its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(_app(), **{**serving.options(port, host="127.0.0.1"), "log_level": "error"})
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    srv.should_exit = True
    thread.join(timeout=10)


def _ask(conn: socket.socket) -> int:
    """One request on ``conn``; the status of its whole response, read to its end (a bare ``recv`` may return
    part of it, and the rest would then be taken for the next response)."""
    conn.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    resp = http.client.HTTPResponse(conn)
    try:
        resp.begin()
    except (http.client.RemoteDisconnected, ConnectionError) as exc:
        pytest.fail(f"the server closed the idle connection before the client would: {exc!r}")
    assert resp.read() == b"ok"
    return resp.status


def test_an_idle_connection_outlives_the_clients_keep_alive(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=5) as conn:
        assert _ask(conn) == 200
        time.sleep(CLIENT_EXPIRY + 1)
        assert _ask(conn) == 200


def test_the_model_provider_stub_keeps_connections_as_long(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    model_provider.main(["--port", "8080"])
    assert seen["timeout_keep_alive"] > CLIENT_EXPIRY
    assert serving.KEEP_ALIVE_SECONDS > CLIENT_EXPIRY
