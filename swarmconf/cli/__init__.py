"""The ``swarmconf`` command line.

Each sub-command lives in its own module of this package and registers itself through a
``register(subparsers)`` function listed in :data:`COMMAND_MODULES`; ``main`` only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from swarmconf.reports.exitcodes import ExitCode

#: Modules that contribute sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "swarmconf.cli.build",
    "swarmconf.cli.cluster",
    "swarmconf.cli.run",
    "swarmconf.cli.selftest",
    "swarmconf.cli.stability",
    "swarmconf.cli.profile",
)

#: Exit codes shared by every sub-command (``swarmconf.reports.exitcodes`` documents the conformance ones and
#: owns the infrastructure-error number, so that the layers below the CLI need not import it).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INFRA = int(ExitCode.INFRA_ERROR)


def add_metacontroller_source(parser: argparse.ArgumentParser) -> None:
    """``--metacontroller-source PATH``, for every command that may build (see ``clusters/offline/sources.py``)."""
    parser.add_argument(
        "--metacontroller-source",
        metavar="PATH",
        help="upstream Metacontroller's source archive (or a folder holding it), for the offline build; "
        "default $SWARMCONF_METACONTROLLER_SOURCE, else the cached copy, else GitHub",
    )


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(prog="swarmconf", description="UserSwarm conformance harness")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a sub-command not written yet
        module.register(subparsers)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``swarmconf`` console script."""
    args = build_parser().parse_args(argv)
    if not _use_metacontroller_source(args):
        return EXIT_INFRA
    # SIGTERM (CI cancelling a job, `kill`) is handled like Ctrl-C: the same cleanup paths run. SIGINT too, even
    # when started ignoring it (a background job of a non-interactive shell inherits SIGINT ignored, and Python
    # then leaves it so): `kill -INT` must stop a run wherever it was started.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("swarmconf: interrupted; what this run started has been cleaned up", file=sys.stderr)
        return 130


def _use_metacontroller_source(args: argparse.Namespace) -> bool:
    """Hand ``--metacontroller-source`` to the build (here and in the processes this command starts)."""
    from swarmconf.clusters.offline.sources import SourceError, use_metacontroller_source

    try:
        use_metacontroller_source(getattr(args, "metacontroller_source", None))
    except SourceError as exc:
        print(f"swarmconf: {exc}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
