"""``swarmconf cluster up | down | status``: a kind cluster built offline, managed by hand."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from swarmconf.clusters.engine.daemon import DockerEngine, DockerUnavailable, daemon_answers, recorded_pid, stop_engine
from swarmconf.clusters.kind import lifecycle
from swarmconf.clusters.kind.config import PortInUse
from swarmconf.clusters.kind.state import ClusterState, is_ours, recorded_clusters
from swarmconf.clusters.offline.build import BuildError, Plan, ensure_offline_build
from swarmconf.clusters.offline.cache import cache_root
from swarmconf.clusters.proc import CommandError
from swarmconf.clusters.provider import acquire_cluster, sweep

from . import EXIT_INFRA, EXIT_USAGE, add_metacontroller_source

INFRA_ERRORS = (BuildError, DockerUnavailable, CommandError, PortInUse, lifecycle.ClusterNotReady)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cluster`` and its three actions."""
    parser = subparsers.add_parser("cluster", help="create, delete or inspect kind clusters")
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="create a ready kind cluster (kept until `cluster down`)")
    add_metacontroller_source(up)
    up.add_argument("--image-source", choices=("auto", "offline", "online"), default="auto")
    up.add_argument("--run-id", help="run id for the cluster name (default: random)")
    up.add_argument("--reuse", action="store_true", help="reuse a healthy kept cluster instead of creating one")
    up.add_argument("--api-server-port", type=int, default=0, help="API server port on 127.0.0.1 (0: any free)")
    up.set_defaults(handler=handle_up)
    down = actions.add_parser("down", help="delete kind clusters of ours")
    down.add_argument("name", nargs="?", help="cluster to delete (default: leftovers of dead runs)")
    down.add_argument("--all", action="store_true", help="delete every swarmconf cluster, kept ones included")
    down.set_defaults(handler=handle_down)
    status = actions.add_parser("status", help="list our clusters and their health")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=handle_status)


def handle_up(args: argparse.Namespace) -> int:
    """Create (or reuse) a cluster and print how to use it."""
    console = Console(stderr=True)
    try:
        handle = acquire_cluster(
            provider="kind",
            run_id=args.run_id,
            image_source=args.image_source,
            reuse=args.reuse,
            keep=True,
            api_server_port=args.api_server_port,
            console=console,
        )
    except INFRA_ERRORS as exc:
        console.print(f"[red]swarmconf cluster up: {exc}[/]")
        return EXIT_INFRA
    console.print(f"cluster {handle.name} is ready: Kubernetes {handle.manifest.get('kubernetes')}")
    print(f"export KUBECONFIG={handle.kubeconfig}")
    return 0


def _kind_binary() -> Path:
    """The kind binary: the cached one when it was built, else the offline build's (listing or deleting
    clusters needs only kind, so a warm cache never runs the whole build for it)."""
    cached = Plan(cache_root()).bins["kind"]
    if cached.is_file():
        return cached
    return ensure_offline_build(console=Console(stderr=True, quiet=True)).kind


def handle_down(args: argparse.Namespace) -> int:
    """Delete one cluster, all of ours, or the leftovers of dead runs."""
    console = Console(stderr=True)
    if not daemon_answers():
        console.print("no Docker daemon answers: there are no kind clusters to delete")
        return 0
    try:
        return _down(args, _kind_binary(), console)
    except INFRA_ERRORS as exc:
        console.print(f"[red]swarmconf cluster down: {exc}[/]")
        return EXIT_INFRA


def _down(args: argparse.Namespace, kind: Path, console: Console) -> int:
    if args.name:
        if not is_ours(args.name):
            console.print(f"[red]{args.name} is not a swarmconf cluster; refusing to delete it[/]")
            return EXIT_USAGE
        if args.name not in lifecycle.kind_clusters(kind):
            console.print(f"[yellow]no kind cluster named {args.name}[/]")
            return 0
        cluster = lifecycle.OfflineKindCluster(args.name, image="", kind_path=kind, kubectl_path=kind)
        lifecycle.delete(cluster)
        deleted = [args.name]
    else:
        deleted = sweep(kind, everything=args.all, console=console)
    console.print(f"deleted {len(deleted)} cluster(s): {', '.join(deleted) or '-'}")
    if (pid := recorded_pid()) and not lifecycle.kind_clusters(kind):
        stop_engine(DockerEngine(started=True, pid=pid))
        console.print(f"stopped the Docker daemon swarmconf had started (pid {pid})")
    return 0


def cluster_status(kind: Path) -> list[dict[str, Any]]:
    """Status rows for every swarmconf cluster on this machine."""
    rows = []
    for name in filter(is_ours, lifecycle.kind_clusters(kind)):
        state = ClusterState.load(name)
        cluster = lifecycle.OfflineKindCluster(name, image="", kind_path=kind, kubectl_path=kind)
        rows.append(
            {
                "name": name,
                "run_id": state.run_id if state else None,
                "kept": state.keep if state else None,
                "owner_alive": state.owner_alive() if state else False,
                "node_image": state.node_image if state else None,
                "healthy": lifecycle.healthy(cluster),
                "kubeconfig": str(cluster.kubeconfig_path),
            }
        )
    return rows


def handle_status(args: argparse.Namespace) -> int:
    """Print our clusters (a table, or JSON).

    ``recorded`` lists the clusters with a state file: with no Docker daemon running, ``clusters`` is empty
    but those clusters still exist and come back with the daemon.
    """
    console = Console()
    docker = daemon_answers()
    try:
        rows: list[dict[str, Any]] = cluster_status(_kind_binary()) if docker else []
    except INFRA_ERRORS as exc:
        Console(stderr=True).print(f"[red]swarmconf cluster status: {exc}[/]")
        return EXIT_INFRA
    if args.json:
        print(json.dumps({"docker": docker, "clusters": rows, "recorded": recorded_clusters()}, indent=2))
        return 0
    if not docker:
        console.print("no Docker daemon answers")
    if not rows:
        console.print("no swarmconf clusters")
    for row in rows:
        health = "[green]healthy[/]" if row["healthy"] else "[red]unhealthy[/]"
        console.print(
            f"{row['name']}  {health}  kept={row['kept']}  owner_alive={row['owner_alive']}  "
            f"kubeconfig={row['kubeconfig']}"
        )
    return 0
