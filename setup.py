"""Packaging: one distribution, ``swarm-conformance``, with one import package, ``swarmconf``.

The folders the design names at the top level (``clusters/``, ``fixtures/``, ``reports/``,
``reference/``) are sub-packages of ``swarmconf`` through symlinks in ``swarmconf/`` (``swarmconf/clusters
-> ../clusters`` …): no folder name can clash with an installed distribution (there is a PyPI package
called ``fixtures``), and every tool -- Python, mypy, the packaging -- sees the same module names.
``suites/`` and ``tests/`` stay test folders that pytest collects from the repository root.
"""

from setuptools import find_packages, setup

setup(
    packages=["swarmconf", *(f"swarmconf.{p}" for p in find_packages("swarmconf"))],
    # The contract the harness checks travels with it: swarmconf.contract reads it, the reports copy it.
    package_data={"swarmconf": ["CONTRACT.md"]},
)
