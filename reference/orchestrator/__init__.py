"""The orchestrator: the only way in. Authenticates users, owns workspaces, proxies messages to verified swarms."""
