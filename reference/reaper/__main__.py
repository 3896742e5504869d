"""``python -m swarmconf.reference.reaper [--dry-run]``: one sweep, then a JSON summary on stdout.

Exit status: 0 after a sweep (even if some items were skipped: see ``skipped`` in the summary), 1 if the
UserSwarms could not be listed at all (nothing was deleted then).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

import httpx
from kubernetes import client

from swarmconf.reference.common import logs
from swarmconf.reference.common.defects import Switches, read_switches
from swarmconf.reference.common.kube import load_api_client
from swarmconf.reference.common.settings import ReaperSettings, from_environ
from swarmconf.reference.reaper.clients import KubeCatalog, OrchestratorDirectory
from swarmconf.reference.reaper.sweep import sweep

log = logging.getLogger("swarmconf.reference.reaper")


def _switches(api: client.ApiClient, settings: ReaperSettings) -> Switches:
    try:
        return read_switches(
            client.CoreV1Api(api), namespace=settings.platform_namespace, name=settings.defects_configmap
        )
    except Exception as exc:
        logs.event(log, "defects-read-failed", error=repr(exc))
        return Switches()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swarmconf.reference.reaper")
    parser.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    args = parser.parse_args(argv)
    logs.configure()
    settings = from_environ(ReaperSettings, os.environ)
    api = load_api_client()
    switches = _switches(api, settings)
    with httpx.Client(trust_env=False, timeout=settings.request_timeout_seconds) as http:
        directory = OrchestratorDirectory(
            http, base_url=settings.orchestrator_url, service_token=settings.service_token.get_secret_value()
        )
        try:
            summary = sweep(
                KubeCatalog(api, platform_namespace=settings.platform_namespace),
                directory,
                dry_run=args.dry_run,
                switches=switches,
            )
        except Exception as exc:
            logs.event(log, "reaper-failed", error=repr(exc))
            return 1
    print(json.dumps({**summary.as_json(), "defect": switches.as_json()["defect"]}, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
