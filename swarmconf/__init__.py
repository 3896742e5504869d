"""swarm-conformance."""
