"""``python -m swarmconf.reference.webhook``: serve the Metacontroller hooks on port 8080."""

from __future__ import annotations

import os

import httpx
from kubernetes import client

from swarmconf.reference.common import logs
from swarmconf.reference.common.defects import ConfigMapSwitches
from swarmconf.reference.common.kube import load_api_client
from swarmconf.reference.common.serving import serve
from swarmconf.reference.common.settings import WebhookSettings, from_environ
from swarmconf.reference.webhook.app import create_app
from swarmconf.reference.webhook.hooks import Hooks
from swarmconf.reference.webhook.kube import KubeActions
from swarmconf.reference.webhook.verify import ChallengeVerifier


def main() -> None:
    logs.configure()
    settings = from_environ(WebhookSettings, os.environ)
    api = load_api_client()
    switches = ConfigMapSwitches(
        client.CoreV1Api(api), namespace=settings.platform_namespace, name=settings.defects_configmap
    )
    http = httpx.AsyncClient(trust_env=False)
    verifier = ChallengeVerifier(
        http, root_key=settings.identity_root_key.get_secret_value().encode(), timeout=settings.verify_timeout_seconds
    )
    hooks = Hooks(settings=settings, switches=switches, verifier=verifier, cluster=KubeActions(api))
    serve(create_app(hooks), settings.port)


if __name__ == "__main__":
    main()
