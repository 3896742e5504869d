"""Label selectors, and the parent-selector rules of a CompositeController (METACONTROLLER.md §1 (b), (c)).

* With ``generateSelector: true`` the selector is ``controller-uid=<parent UID>`` (any ``spec.selector`` on the
  parent is ignored) and that label is added to every desired child that lacks it.
* Otherwise the parent's ``spec.selector`` must have ``matchLabels`` and/or ``matchExpressions``: an empty
  selector would select everything, so upstream refuses it.
* Every desired child's labels must match the selector, or the whole sync fails (children that would be
  orphaned immediately are a hook bug).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import SyncError
from .kube import Obj

CONTROLLER_UID_LABEL = "controller-uid"

_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


@dataclass(frozen=True)
class Requirement:
    """One ``key operator values`` term."""

    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: dict[str, str]) -> bool:
        """Kubernetes semantics: ``NotIn`` and ``DoesNotExist`` match when the key is absent."""
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values


@dataclass(frozen=True)
class LabelSelector:
    """A parsed ``metav1.LabelSelector``: all requirements must match."""

    requirements: tuple[Requirement, ...]

    @property
    def empty(self) -> bool:
        """An empty selector matches everything."""
        return not self.requirements

    def matches(self, labels: dict[str, str] | None) -> bool:
        """Whether ``labels`` satisfy every requirement."""
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @classmethod
    def parse(cls, spec: Any) -> LabelSelector:
        """Parse ``{matchLabels, matchExpressions}``; ``None`` is the empty selector. Invalid → SyncError."""
        if spec is None:
            return cls(())
        if not isinstance(spec, dict):
            raise SyncError(f"invalid label selector {spec!r}")
        terms = [
            Requirement(str(k), "In", frozenset({str(v)})) for k, v in sorted((spec.get("matchLabels") or {}).items())
        ]
        terms += [_expression(e) for e in spec.get("matchExpressions") or []]
        return cls(tuple(terms))

    @classmethod
    def of_labels(cls, labels: dict[str, str]) -> LabelSelector:
        """A selector requiring exactly these label values."""
        return cls.parse({"matchLabels": labels})


def _expression(expr: Any) -> Requirement:
    if not isinstance(expr, dict) or expr.get("operator") not in _OPERATORS or not expr.get("key"):
        raise SyncError(f"invalid label selector expression {expr!r}")
    values = frozenset(str(v) for v in expr.get("values") or [])
    if expr["operator"] in ("In", "NotIn") and not values:
        raise SyncError(f"values must be non-empty for operator {expr['operator']} in {expr!r}")
    if expr["operator"] in ("Exists", "DoesNotExist") and values:
        raise SyncError(f"values must be empty for operator {expr['operator']} in {expr!r}")
    return Requirement(str(expr["key"]), str(expr["operator"]), values)


def parent_selector(parent: Obj, *, generate: bool) -> LabelSelector:
    """The selector that decides which children belong to ``parent`` (upstream ``makeSelector``)."""
    if generate:
        return LabelSelector.of_labels({CONTROLLER_UID_LABEL: str(parent["metadata"]["uid"])})
    spec = (parent.get("spec") or {}).get("selector")
    if not isinstance(spec, dict) or not (spec.get("matchLabels") or spec.get("matchExpressions")):
        raise SyncError(".spec.selector must have either matchLabels, matchExpressions, or both")
    return LabelSelector.parse(spec)


def prepare_desired_children(children: list[Obj], parent: Obj, selector: LabelSelector, *, generate: bool) -> None:
    """Add ``controller-uid`` where generated selectors need it, then refuse children the selector misses."""
    for child in children:
        meta = child.setdefault("metadata", {})
        labels = meta.get("labels")
        if labels is not None and not isinstance(labels, dict):
            raise SyncError(f"invalid labels on desired child {_describe(child)}")
        if generate:
            if labels is None:
                labels = meta["labels"] = {}
            labels.setdefault(CONTROLLER_UID_LABEL, str(parent["metadata"]["uid"]))
        if not selector.matches(labels):
            raise SyncError(f"labels on desired child {_describe(child)} don't match parent selector")


def _describe(child: Obj) -> str:
    meta = child.get("metadata") or {}
    return f"{child.get('kind')} {meta.get('namespace', '')}/{meta.get('name')}"
