"""Metacontroller for the harness's clusters: upstream v4.17.2, always.

:mod:`.install` applies upstream's own deploy files (``manifests/production/`` of the pinned source) and names the
controller that runs; the image is pulled where a registry answers, else built here from the same source
(:mod:`swarmconf.clusters.offline`). :mod:`.testhook` is a programmable hook server for tests and benchmarks.
"""
