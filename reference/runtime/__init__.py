"""The per-user runtime: deterministic, signed replies; history on the swarm's PVC; an inspectable request log."""
