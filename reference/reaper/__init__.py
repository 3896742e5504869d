"""The reaper: deletes UserSwarms whose workspace the orchestrator does not know (layer 3 of deletion)."""
