"""Metacontroller for the harness's clusters.

Two ways to get one, behind the same CRDs, namespace and workload name (StatefulSet
``metacontroller/metacontroller``):

* **online** — upstream's production manifests and image ``ghcr.io/metacontroller/metacontroller:v4.17.2``;
* **offline** — :mod:`.controller`, our Metacontroller-compatible CompositeController written in Python,
  run from the project's app image.

:func:`.install.install_metacontroller` picks one; :mod:`.testhook` is a programmable hook server for tests.
"""
