"""``python -m swarmconf.reference.runtime``: serve one workspace's runtime on port 42617."""

from __future__ import annotations

import os

import uvicorn

from swarmconf.reference.common import logs
from swarmconf.reference.common.settings import RuntimeSettings, from_environ
from swarmconf.reference.runtime.app import create_app


def main() -> None:
    logs.configure()
    settings = from_environ(RuntimeSettings, os.environ)
    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",
        port=settings.port,
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,
    )


if __name__ == "__main__":
    main()
