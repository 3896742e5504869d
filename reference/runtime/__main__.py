"""``python -m swarmconf.reference.runtime``: serve one workspace's runtime on port 42617."""

from __future__ import annotations

import os

from swarmconf.reference.common import logs
from swarmconf.reference.common.serving import serve
from swarmconf.reference.common.settings import RuntimeSettings, from_environ
from swarmconf.reference.runtime.app import create_app


def main() -> None:
    logs.configure()
    settings = from_environ(RuntimeSettings, os.environ)
    serve(create_app(settings), settings.port)


if __name__ == "__main__":
    main()
