"""Building a Kubernetes API client: in-cluster when running in a pod, else the local kubeconfig."""

from __future__ import annotations

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

__all__ = ["load_api_client"]


def load_api_client() -> client.ApiClient:
    """An ApiClient for the current environment."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except ConfigException:
        config.load_kube_config(client_configuration=configuration)
    return client.ApiClient(configuration)
