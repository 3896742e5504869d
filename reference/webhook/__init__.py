"""The Metacontroller hook server: desired children and status for each UserSwarm (sync) and teardown (finalize)."""
