"""``swarmconf build``: build (or confirm cached) kind, Kubernetes and every image, offline."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from swarmconf.clusters.engine.daemon import DockerUnavailable
from swarmconf.clusters.offline.build import BuildError, cache_usage, ensure_offline_build

from . import EXIT_INFRA, add_metacontroller_source


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``build`` sub-command."""
    parser = subparsers.add_parser("build", help="build the offline toolchain and images (cached)")
    add_metacontroller_source(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the offline build and print where its results are."""
    console = Console(stderr=True)
    try:
        result = ensure_offline_build(console=console)
    except (BuildError, DockerUnavailable) as exc:
        console.print(f"[red]swarmconf build: {exc}[/]")
        return EXIT_INFRA
    console.print(f"node image: {result.node_image} ({result.node_image_id})")
    console.print(f"kind: {result.kind}\nkubectl: {result.kubectl}")
    console.print(f"cache: {result.cache} ({cache_usage(result.cache) / 2**20:.0f} MiB)")
    print(result.node_image, file=sys.stdout)
    return 0
