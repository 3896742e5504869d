"""Calling a hook: where it is (``url``, or ``service`` + ``path``), how long to wait, how to read the answer.

Upstream (``pkg/hooks/webhook.go``): ``url`` wins; otherwise ``<protocol>://<name>.<namespace>:<port><path>``
with port 80 and protocol http by default. ``timeout`` is a Go duration, default 10 s, and a value ≤ 0 also
falls back to 10 s. The request is a JSON POST; only HTTP 200 succeeds; 429 carries ``Retry-After`` (seconds
or an HTTP date). Responses are decoded loosely for hook version v1 and strictly for v2 unless
``responseUnMarshallMode`` says otherwise.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from dataclasses import dataclass

import httpx

from .errors import ConfigError, HookError, HookStatusError, HookTimeout, HookTooManyRequests
from .hookapi import SyncResponse, parse_response
from .kube import Obj

DEFAULT_TIMEOUT = 10.0

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Parse a Go ``time.Duration`` string (``"1m30s"``, ``"500ms"``, ``"-1s"``, ``"0"``) into seconds."""
    value = text.strip()
    sign = -1.0 if value.startswith("-") else 1.0
    value = value.lstrip("+-")
    if value == "0":
        return 0.0
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ConfigError(f"invalid duration {text!r}")
    return sign * sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


@dataclass(frozen=True)
class HookTarget:
    """One resolved hook: where to POST, how long to wait, and how to decode."""

    url: str
    timeout: float
    version: str
    strict: bool

    @classmethod
    def from_spec(cls, hook: Obj) -> HookTarget:
        """Resolve a ``hooks.sync``/``hooks.finalize`` entry of a CompositeController."""
        webhook = hook.get("webhook")
        if not isinstance(webhook, dict):
            raise ConfigError("hook has no webhook")
        version = str(hook.get("version") or "v1")
        mode = webhook.get("responseUnMarshallMode")
        strict = mode == "strict" if mode else version == "v2"
        return cls(url=_url(webhook), timeout=_timeout(webhook), version=version, strict=strict)


def _url(webhook: Obj) -> str:
    if webhook.get("url"):
        return str(webhook["url"])
    service, path = webhook.get("service"), webhook.get("path")
    if not isinstance(service, dict) or path is None:
        raise ConfigError("invalid webhook config: must specify either full 'url', or both 'service' and 'path'")
    if not service.get("name") or not service.get("namespace"):
        raise ConfigError("invalid client config: must specify service 'name' and 'namespace'")
    port = service.get("port") or 80
    protocol = service.get("protocol") or "http"
    return f"{protocol}://{service['name']}.{service['namespace']}:{port}{path}"


def _timeout(webhook: Obj) -> float:
    raw = webhook.get("timeout")
    if raw in (None, ""):
        return DEFAULT_TIMEOUT
    seconds = parse_go_duration(str(raw))
    return seconds if seconds > 0 else DEFAULT_TIMEOUT


class HookClient:
    """POSTs hook requests. One pooled ``httpx.Client`` serves every hook and worker thread."""

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        # trust_env=False: hook traffic goes straight to the hook, never through a proxy from the environment.
        self._client = httpx.Client(transport=transport, trust_env=False, follow_redirects=False)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def call(self, target: HookTarget, request: Obj) -> SyncResponse:
        """POST ``request`` to ``target`` and decode the answer; every failure is a :class:`HookError`."""
        body = json.dumps(request, separators=(",", ":"))
        try:
            response = self._client.post(
                target.url,
                content=body.encode(),
                headers={"Content-Type": "application/json"},
                timeout=target.timeout,
            )
        except httpx.TimeoutException as exc:
            raise HookTimeout(f"http error: timeout after {target.timeout}s calling {target.url}") from exc
        except httpx.HTTPError as exc:
            raise HookError(f"http error: {type(exc).__name__}: {exc} ({target.url})") from exc
        if response.status_code == 429:
            raise HookTooManyRequests(retry_after_seconds(response.headers.get("Retry-After", "")))
        if response.status_code != 200:
            raise HookStatusError(response.status_code, response.text)
        return parse_response(response.content, strict=target.strict)


def retry_after_seconds(value: str, now: float | None = None) -> float:
    """``Retry-After`` as seconds: an integer, or an HTTP date (rounded up); unparseable → 0, as upstream."""
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    delta = when.timestamp() - (time.time() if now is None else now)
    return float(max(0, math.ceil(delta)))
