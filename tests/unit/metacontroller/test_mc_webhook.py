"""Calling hooks (METACONTROLLER.md §1 "Hook", §2 "Errors"; checklist items 1, 3 and 11).

Coverage matrix:

=========================  =================================================================
area                       cases
=========================  =================================================================
Go durations               ``10s``, ``1m30s``, ``500ms``, ``1.5h``, ``0``, ``-1s``; garbage → error
hook target                ``url`` wins over service; service defaults (port 80, http);
                           explicit port/protocol; missing pieces → ConfigError;
                           timeout default 10 s, ≤ 0 → 10 s; v1 loose, v2 strict, explicit mode
HTTP call                  POST JSON with Content-Type; 200 decoded; 500/404/204 → HookStatusError;
                           429 → HookTooManyRequests with Retry-After seconds or HTTP date;
                           timeout → HookTimeout; connection refused → HookError;
                           decode error → HookDecodeError (all are HookError)
=========================  =================================================================
"""

from __future__ import annotations

import json

import httpx
import pytest

from swarmconf.clusters.metacontroller.controller.errors import (
    ConfigError,
    HookDecodeError,
    HookError,
    HookStatusError,
    HookTimeout,
    HookTooManyRequests,
)
from swarmconf.clusters.metacontroller.controller.webhook import (
    HookClient,
    HookTarget,
    parse_go_duration,
    retry_after_seconds,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("1.5h", 5400.0), ("0", 0.0), ("-1s", -1.0), ("2us", 2e-6)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10", "ten seconds", "1x", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_go_duration(text)


def test_url_wins_over_service() -> None:
    hook = {"webhook": {"url": "http://x/y", "service": {"name": "s", "namespace": "n"}, "path": "/p"}}
    assert HookTarget.from_spec(hook).url == "http://x/y"


def test_service_defaults_and_explicit_values() -> None:
    plain = {"webhook": {"service": {"name": "hook", "namespace": "ns"}, "path": "/sync"}}
    assert HookTarget.from_spec(plain).url == "http://hook.ns:80/sync"
    custom = {"webhook": {"service": {"name": "h", "namespace": "n", "port": 8443, "protocol": "https"}, "path": "/"}}
    assert HookTarget.from_spec(custom).url == "https://h.n:8443/"


@pytest.mark.parametrize(
    "webhook",
    [{}, {"service": {"name": "h", "namespace": "n"}}, {"service": {"name": "h"}, "path": "/"}, {"path": "/x"}],
)
def test_incomplete_webhooks_are_refused(webhook: dict) -> None:
    with pytest.raises(ConfigError):
        HookTarget.from_spec({"webhook": webhook})


@pytest.mark.parametrize(("timeout", "seconds"), [(None, 10.0), ("3s", 3.0), ("0s", 10.0), ("-5s", 10.0)])
def test_timeouts(timeout: str | None, seconds: float) -> None:
    webhook = {"url": "http://x", **({"timeout": timeout} if timeout else {})}
    assert HookTarget.from_spec({"webhook": webhook}).timeout == seconds


@pytest.mark.parametrize(
    ("hook", "strict"),
    [
        ({}, False),
        ({"version": "v2"}, True),
        ({"version": "v2", "mode": "loose"}, False),
        ({"version": "v1", "mode": "strict"}, True),
    ],
)
def test_unmarshal_modes(hook: dict, strict: bool) -> None:
    webhook = {"url": "http://x", **({"responseUnMarshallMode": hook["mode"]} if "mode" in hook else {})}
    spec = {"webhook": webhook, **({"version": hook["version"]} if "version" in hook else {})}
    assert HookTarget.from_spec(spec).strict is strict


TARGET = HookTarget(url="http://hook.test/sync", timeout=1.0, version="v1", strict=False)


def _client(handler: object) -> HookClient:
    return HookClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_post_json_and_decode() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": {"ok": True}, "resyncAfterSeconds": 0.5})

    response = _client(handler).call(TARGET, {"parent": {"metadata": {"name": "p"}}})
    assert response.status == {"ok": True}
    assert response.resync_after_seconds == 0.5
    assert seen[0].method == "POST"
    assert seen[0].headers["content-type"] == "application/json"
    assert json.loads(seen[0].content) == {"parent": {"metadata": {"name": "p"}}}


@pytest.mark.parametrize("code", [500, 404, 204, 201, 302])
def test_non_200_fails(code: int) -> None:
    client = _client(lambda request: httpx.Response(code, text="nope"))
    with pytest.raises(HookStatusError, match=str(code)):
        client.call(TARGET, {})


def test_429_carries_retry_after() -> None:
    client = _client(lambda request: httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(HookTooManyRequests) as caught:
        client.call(TARGET, {})
    assert caught.value.retry_after == 7.0


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("garbage") == 0.0


def test_timeout_and_connection_errors() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(HookTimeout):
        _client(timeout).call(TARGET, {})
    with pytest.raises(HookError):
        _client(refused).call(TARGET, {})


def test_decode_error_is_a_hook_error() -> None:
    client = _client(lambda request: httpx.Response(200, text="{not json"))
    with pytest.raises(HookDecodeError):
        client.call(TARGET, {})
    assert issubclass(HookDecodeError, HookError)
