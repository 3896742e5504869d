"""Admin CLI, run inside the orchestrator pod (``kubectl exec deploy/orchestrator -- python3 -m ...``).

``forget-workspace <id>``  delete the workspace row WITHOUT deleting its UserSwarm (simulates "the orchestrator
                           died between deleting the workspace and deleting the UserSwarm"); prints
                           ``{"forgotten": id, "existed": bool, "swarm": name|null}``; exit 0 either way.
``audit [--since N]``      print audit records after sequence number N, one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from swarmconf.reference.orchestrator.store import Store

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m swarmconf.reference.orchestrator.admin")
    parser.add_argument(
        "--database",
        default=os.environ.get("DATABASE_PATH", "/data/orchestrator.db"),
        help="SQLite file (default: $DATABASE_PATH or /data/orchestrator.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    forget = commands.add_parser("forget-workspace", help="delete the row but not the UserSwarm")
    forget.add_argument("workspace_id")
    audit = commands.add_parser("audit", help="print audit records")
    audit.add_argument("--since", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    store = Store(args.database)
    if args.command == "forget-workspace":
        removed = store.delete_workspace(args.workspace_id, how="admin-forget")
        print(
            json.dumps(
                {
                    "forgotten": args.workspace_id,
                    "existed": removed is not None,
                    "swarm": removed.swarm_name if removed else None,
                }
            )
        )
        return 0
    for record in store.audit_since(args.since, limit=1_000_000):
        print(json.dumps(record, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
