"""``/healthz`` and ``/readyz`` on the health probe address (upstream ``--health-probe-bind-address``, :8081).

``/healthz`` answers 200 while the process serves HTTP; ``/readyz`` answers 200 once the CompositeController
cache has synced, 503 before. A stdlib threading server: no event loop to share with the controller threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_bind_address(address: str) -> tuple[str, int]:
    """``":8081"`` → ``("0.0.0.0", 8081)``; ``"127.0.0.1:9000"`` → ``("127.0.0.1", 9000)``."""
    host, _, port = address.rpartition(":")
    return host or "0.0.0.0", int(port)


class HealthServer:
    """Serves the two probes until :meth:`stop`."""

    def __init__(self, address: str, ready: Callable[[], bool]) -> None:
        probes = {"/healthz": lambda: True, "/readyz": ready}

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                probe = probes.get(self.path.split("?")[0])
                if probe is None:
                    self._answer(404, b"not found\n")
                elif probe():
                    self._answer(200, b"ok\n")
                else:
                    self._answer(503, b"not ready\n")

            def _answer(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # kubelet probes every few seconds: keep them out of the controller log

        self._server = ThreadingHTTPServer(parse_bind_address(address), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0 in tests)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
