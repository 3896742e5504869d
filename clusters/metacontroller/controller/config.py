"""Command-line settings, parsed once at the edge (``__main__``) into a typed object.

The flags are upstream's (``pkg/cmd/metacontroller/main.go`` plus the controller-runtime ``--zap-*`` and
``--kubeconfig`` flags), so the same StatefulSet arguments work for both images. Flags for features the
compatible controller does not implement are accepted and ignored, except the two that would change
behaviour silently (server-side apply, leader election): those are refused.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .webhook import parse_go_duration


@dataclass(frozen=True)
class Settings:
    """What the controller process needs to start."""

    kubeconfig: str
    """Path to a kubeconfig; empty means in-cluster config (or $KUBECONFIG, resolved by ``__main__``)."""
    log_level: int
    """zap verbosity: 0 info, higher is chattier (upstream manifests use 4); ≥ 4 logs our debug lines."""
    discovery_interval: float
    """Seconds between discovery refreshes (also caps the CompositeController start-retry backoff)."""
    cache_flush_interval: float
    """Seconds between full resyncs of every parent when a controller has no ``resyncPeriodSeconds``."""
    workers: int
    """Worker threads per CompositeController."""
    health_address: str
    """Where ``/healthz`` and ``/readyz`` listen."""

    @classmethod
    def from_args(cls, argv: list[str] | None = None) -> Settings:
        """Parse ``argv`` (upstream flag names); raise SystemExit on unsupported settings."""
        parser = _parser()
        args = parser.parse_args(argv)
        if args.apply_strategy != "dynamic-apply":
            parser.error(f"--apply-strategy={args.apply_strategy} is not supported by the compatible controller")
        if args.leader_election:
            parser.error("--leader-election is not supported by the compatible controller (run one replica)")
        return cls(
            kubeconfig=args.kubeconfig,
            log_level=_zap_level(args.zap_log_level, args.zap_devel),
            discovery_interval=parse_go_duration(args.discovery_interval),
            cache_flush_interval=parse_go_duration(args.cache_flush_interval),
            workers=max(1, args.workers),
            health_address=args.health_probe_bind_address,
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metacontroller", description="Metacontroller-compatible controller")
    add = parser.add_argument
    add("--kubeconfig", default="")
    add("--zap-log-level", default="info")
    add("--zap-devel", action="store_true")
    add("--discovery-interval", default="30s")
    add("--cache-flush-interval", default="30m")
    add("--workers", type=int, default=5)
    add("--health-probe-bind-address", default=":8081")
    add("--apply-strategy", default="dynamic-apply")
    add("--leader-election", type=_bool, nargs="?", const=True, default=False)
    for ignored in (
        "--zap-encoder",
        "--zap-stacktrace-level",
        "--metrics-address",
        "--client-go-qps",
        "--client-go-burst",
        "--events-qps",
        "--events-burst",
        "--pprof-address",
        "--leader-election-resource-lock",
        "--leader-election-namespace",
        "--leader-election-id",
        "--target-label-selector",
        "--apply-strategy-ssa-field-manager",
    ):
        add(ignored, default=None)
    return parser


def _bool(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def _zap_level(value: str, devel: bool) -> int:
    named = {"debug": 1, "info": 0, "warn": -1, "error": -2, "panic": -4}
    level = named[value] if value in named else int(value)
    return max(level, 1) if devel else level
