"""The kind cluster provider: config rendering, lifecycle through pytest-kind's KindCluster, run state."""
