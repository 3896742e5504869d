"""Print a user token for the reference platform: the operator's "token for user X" command.

``python -m swarmconf.reference.mint USER_ID [--namespace NS] [--ttl SECONDS] [--context NAME]`` reads the
install's signing key from its Secret (``install.SECRET_NAME`` in the platform namespace) with the local
kubeconfig (``$KUBECONFIG``; ``--context``, default ``$SWARMCONF_CONTEXT``, else the current context) and prints
a token for ``USER_ID``, as the platform's own identity provider would. It is what a profile with
``auth.scheme: command`` runs (``fixtures/profiles/reference-command.yaml``): the harness then holds no key.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kubernetes import config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from swarmconf.reference.common.tokens import mint_token
from swarmconf.reference.install import DEFAULTS, SECRET_NAME, read_platform_keys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m swarmconf.reference.mint", description=__doc__.split("\n")[0])
    parser.add_argument("user_id")
    namespace = DEFAULTS["PLATFORM_NAMESPACE"]
    parser.add_argument("--namespace", default=namespace, help=f"the platform namespace (default {namespace})")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid (default 3600)")
    parser.add_argument("--context", default=os.environ.get("SWARMCONF_CONTEXT") or None, help="kubeconfig context")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        api_client = config.new_client_from_config(context=args.context)
        key = read_platform_keys(api_client, namespace=args.namespace).token_key
        print(mint_token(key, args.user_id, args.ttl))
    except ApiException as exc:
        where = f"Secret {SECRET_NAME} in namespace {args.namespace}"
        print(f"mint: reading the {where}: {exc.status} {exc.reason}", file=sys.stderr)
        return 1
    except (ConfigException, KeyError, ValueError) as exc:
        print(f"mint: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
