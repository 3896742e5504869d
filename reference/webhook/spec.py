"""Parsing and validating a UserSwarm's spec; a bad spec becomes :class:`InvalidSpec`, never an exception."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from swarmconf.reference.common.tokens import USER_ID_PATTERN

__all__ = ["InvalidSpec", "RuntimeSpec", "StorageSpec", "SwarmSpec", "parse_spec"]

RUNTIME_MODES = ("normal", "wrong-identity")


class InvalidSpec(ValueError):
    """The spec cannot be turned into children; the message says why."""


class RuntimeSpec(BaseModel):
    """``spec.runtime``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    image: str = ""
    port: int = Field(default=42617, ge=1024, le=65535)
    mode: Literal["normal", "wrong-identity"] = "normal"


class StorageSpec(BaseModel):
    """``spec.storage``."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    size: str = Field(default="1Gi", pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
    storage_class_name: str = Field(default="", alias="storageClassName")


class SwarmSpec(BaseModel):
    """A validated ``spec``."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    workspace_id: str = Field(alias="workspaceId", pattern=r"^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$")
    user_id: str = Field(alias="userId", pattern=USER_ID_PATTERN.pattern)
    runtime_namespace: str = Field(default="", alias="runtimeNamespace")
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    suspend: bool = False


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"spec.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())


def parse_spec(raw: Any, *, allowed_namespace: str) -> SwarmSpec:
    """Validate ``raw`` and default the runtime namespace; raise :class:`InvalidSpec` on any problem."""
    if not isinstance(raw, Mapping):
        raise InvalidSpec("spec is missing or not an object")
    try:
        spec = SwarmSpec.model_validate(raw)
    except ValidationError as exc:
        raise InvalidSpec(_explain(exc)) from None
    namespace = spec.runtime_namespace or allowed_namespace
    if namespace != allowed_namespace:
        raise InvalidSpec(f"spec.runtimeNamespace: only {allowed_namespace!r} is allowed, got {namespace!r}")
    return spec.model_copy(update={"runtime_namespace": namespace})
