"""A Metacontroller-compatible CompositeController, in Python (METACONTROLLER.md §6 is its checklist).

It speaks upstream's ``metacontroller.k8s.io/v1alpha1`` CompositeController API and hook protocol v1/v2, so
the same CompositeController object drives either it or the real Metacontroller. Layers, bottom up:

* :mod:`.errors` (exception tree), :mod:`.kube` (API access), :mod:`.workqueue`, :mod:`.informers`;
* protocol pieces, each pure where possible: :mod:`.hookapi`, :mod:`.webhook`, :mod:`.selector`,
  :mod:`.claim`, :mod:`.apply`, :mod:`.children`, :mod:`.finalizer`, :mod:`.status`, :mod:`.events`;
* :mod:`.reconcile` — the reconcile loop, in one place;
* :mod:`.composite` (one running CompositeController), :mod:`.metacontroller` (all of them),
  :mod:`.health`, :mod:`.config`, :mod:`.__main__`.

It imports nothing from ``swarmconf`` outside this package: it runs alone in the app image.
"""
