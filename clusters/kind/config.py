"""Rendering the kind config kept in ``clusters/kind/kind-config.yaml`` for one cluster."""

from __future__ import annotations

import socket
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).with_name("kind-config.yaml")


class PortInUse(RuntimeError):
    """The API server port asked for is already taken on 127.0.0.1."""


def check_port_free(port: int) -> None:
    """Raise :class:`PortInUse` if ``port`` cannot be bound on 127.0.0.1 (0 always passes)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUse(
                f"port {port} on 127.0.0.1 is in use, so the API server cannot listen there; "
                "pick another --api-server-port or leave it at 0 (a free port is chosen)"
            ) from exc


def render(*, cluster_name: str, run_id: str, api_server_port: int = 0) -> str:
    """The kind config text for one cluster."""
    check_port_free(api_server_port)
    return Template(TEMPLATE.read_text()).substitute(
        CLUSTER_NAME=cluster_name, RUN_ID=run_id, API_SERVER_PORT=api_server_port
    )
