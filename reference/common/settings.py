"""Typed settings for each reference service, built once from the environment at the entrypoint.

Each field's environment variable is its name in upper case (``token_key`` ← ``TOKEN_KEY``). Only
``__main__`` modules call :func:`from_environ`; everything else receives a settings object explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["OrchestratorSettings", "ReaperSettings", "RuntimeSettings", "WebhookSettings", "from_environ"]

RUNTIME_PORT = 42617
_S = TypeVar("_S", bound=BaseModel)


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrchestratorSettings(_Settings):
    """The orchestrator's configuration."""

    token_key: SecretStr = Field(description="HMAC key for user bearer tokens (its UTF-8 bytes are the key).")
    auth_mode: Literal["hmac", "jwt"] = Field(
        default="hmac", description="'hmac': the reference's own tokens (token_key); 'jwt': JWTs of a trusted issuer."
    )
    jwt_jwks_url: str = Field(default="", description="JWT mode: where the issuer's JWKS is fetched from.")
    jwt_issuer: str = Field(default="", description="JWT mode: the required 'iss'.")
    jwt_audience: str = Field(default="", description="JWT mode: the required 'aud'.")
    service_token: SecretStr = Field(description="Credential the reaper and admins present to /internal routes.")
    database_path: str = Field(default="/data/orchestrator.db", description="SQLite file (own PVC).")
    platform_namespace: str = Field(default="swarm-system", description="This install's namespace.")
    runtime_namespace: str = Field(default="userswarms", description="Written into each new UserSwarm's spec.")
    hashed_names: bool = Field(default=False, description="Name UserSwarms by a hash of the workspace ID.")
    defects_configmap: str = Field(default="reference-defects", description="ConfigMap holding the active defect.")
    runtime_port: int = Field(default=RUNTIME_PORT, description="Runtime port when status.servicePort is absent.")
    max_body_bytes: int = Field(default=65536, description="Request bodies above this size get 413.")
    runtime_timeout_seconds: float = Field(default=10.0, description="Timeout for one proxied runtime request.")
    model_provider_url: str = Field(
        default="", description="The model provider's base URL (…/v1); used only by a defect's model gateway."
    )
    port: int = Field(default=8080, description="HTTP listen port.")

    @model_validator(mode="after")
    def _jwt_needs_its_issuer(self) -> OrchestratorSettings:
        if self.auth_mode == "jwt":
            missing = [n.upper() for n in ("jwt_jwks_url", "jwt_issuer", "jwt_audience") if not getattr(self, n)]
            if missing:
                raise ValueError(f"AUTH_MODE=jwt needs {', '.join(missing)}")
        return self


class WebhookSettings(_Settings):
    """The Metacontroller hook server's configuration."""

    identity_root_key: SecretStr = Field(description="Root of every workspace identity key.")
    runtime_image: str = Field(description="Image for runtime pods when spec.runtime.image is empty.")
    runtime_namespace: str = Field(default="userswarms", description="Default and only allowed runtime namespace.")
    platform_namespace: str = Field(default="swarm-system", description="Where the defects ConfigMap lives.")
    defects_configmap: str = Field(default="reference-defects", description="ConfigMap holding the active defect.")
    hashed_names: bool = Field(default=False, description="Name children by a hash of the workspace ID.")
    runtime_debug_endpoints: bool = Field(default=True, description="Runtimes serve GET /debug/requests.")
    runtime_reply_signatures: bool = Field(default=True, description="Runtimes sign their replies.")
    node_ip: str = Field(default="", description="This pod's node IP (downward API); used only by a defect.")
    verify_timeout_seconds: float = Field(default=2.0, description="Timeout of one identity challenge.")
    verified_resync_seconds: float = Field(default=30.0, description="Re-check period once verified.")
    pending_resync_seconds: float = Field(default=1.0, description="Re-check period until verified.")
    stale_deletion_seconds: float = Field(default=10.0, description="Age after which a deletion counts as stale.")
    model_provider_url: str = Field(
        default="", description="OpenAI-style base URL (…/v1) given to every runtime; empty: runtimes echo."
    )
    port: int = Field(default=8080, description="HTTP listen port.")


class ReaperSettings(_Settings):
    """The reaper's configuration."""

    orchestrator_url: str = Field(description="Base URL of the orchestrator, e.g. http://orchestrator.ns.svc:8080.")
    service_token: SecretStr = Field(description="Credential for the orchestrator's /internal routes.")
    platform_namespace: str = Field(default="swarm-system", description="Only UserSwarms labelled with it are swept.")
    defects_configmap: str = Field(default="reference-defects", description="ConfigMap holding the active defect.")
    request_timeout_seconds: float = Field(default=5.0, description="Timeout of one ownership check.")


class RuntimeSettings(_Settings):
    """One runtime pod's configuration (written by the webhook into its ConfigMap and Secret)."""

    workspace_id: str = Field(description="The workspace this runtime serves.")
    swarm_name: str = Field(description="Its UserSwarm's name.")
    identity_key: SecretStr = Field(description="The workspace key, hex.")
    runtime_mode: str = Field(default="normal", description="'normal', or 'wrong-identity' (fails the challenge).")
    data_dir: str = Field(default="/data", description="Where conversation history lives (the swarm's PVC).")
    port: int = Field(default=RUNTIME_PORT, description="HTTP listen port.")
    request_log_size: int = Field(default=5000, description="How many requests GET /debug/requests keeps.")
    model_provider_url: str = Field(
        default="",
        description="OpenAI-style base URL (…/v1): when set, a reply's text is the model's answer to the message.",
    )
    model_timeout_seconds: float = Field(default=8.0, description="Timeout of one model call.")
    debug_endpoints: bool = Field(default=True, description="Serve GET /debug/requests (off: 404, as if absent).")
    sign_replies: bool = Field(default=True, description="Add a signature to each reply (off: no signature).")


def from_environ(cls: type[_S], environ: Mapping[str, str]) -> _S:
    """Build ``cls`` from the variables in ``environ`` named after its fields."""
    values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
    return cls.model_validate(values)
