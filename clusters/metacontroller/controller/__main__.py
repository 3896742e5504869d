"""``python -m swarmconf.clusters.metacontroller.controller [upstream flags]``: run the controller.

Reads the environment here and nowhere else (``KUBECONFIG``, in-cluster service account), builds every
object explicitly, serves the health probes, and stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from .config import Settings
from .health import HealthServer
from .kube import KubeApi
from .metacontroller import Metacontroller
from .webhook import HookClient

log = logging.getLogger("metacontroller")


def api_client(kubeconfig: str) -> k8s_client.ApiClient:
    """An ApiClient from a kubeconfig path, else $KUBECONFIG, else the in-cluster service account."""
    configuration = k8s_client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG", "")
    if path:
        k8s_config.load_kube_config(config_file=path, client_configuration=configuration)
    else:
        k8s_config.load_incluster_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = 64  # workers + one long-lived connection per watch
    return k8s_client.ApiClient(configuration)


def main(argv: list[str] | None = None) -> int:
    """Run until signalled; return the process exit code."""
    settings = Settings.from_args(argv)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` dumps every thread's stack to stderr
    logging.basicConfig(
        level=logging.DEBUG if settings.log_level >= 4 else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("urllib3", "httpx", "httpcore", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    api = KubeApi(api_client(settings.kubeconfig))
    hooks = HookClient()
    controller = Metacontroller(
        api,
        hooks,
        workers=settings.workers,
        discovery_interval=settings.discovery_interval,
        cache_flush_interval=settings.cache_flush_interval,
    )
    health = HealthServer(settings.health_address, ready=controller.ready)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    health.start()
    controller.start()
    log.info("metacontroller (compatible) started; probes on %s", settings.health_address)
    stop.wait()
    log.info("shutting down")
    controller.stop()
    health.stop()
    hooks.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
