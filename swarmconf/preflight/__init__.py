"""Preflight of a profile against a cluster (``swarmconf profile check``): can the harness drive this platform?

The checks are pytest tests (``test_preflight.py``) run on the harness's own fixtures, so a preflight installs,
reaches and tears down the platform exactly as a conformance run does. None names a contract clause: a
preflight is no verdict on the platform, only on whether its profile lets the harness judge it.
"""
