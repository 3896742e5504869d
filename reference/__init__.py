"""The bundled reference platform: a small, conforming UserSwarm platform.

Four services that never import each other (``orchestrator``, ``webhook``, ``reaper``, ``runtime``), the code
they share (``common``), their manifests (``manifests/``) and the installer (``install``). See ``README.md``
for the API and ``DEFECTS.md`` for the switchable contract breaks.
"""
