"""The test hook server, the health probes and the command line (support code of the compatible controller).

Coverage matrix:

==================  ==============================================================================
area                cases
==================  ==============================================================================
testhook            records every call in order; programmed response, per-parent override; fail → 500;
                    status → given code; hang delays the answer; requests filtered by kind/after and
                    summarised; forget clears
health              /healthz always 200; /readyz 503 until ready then 200; unknown path 404
config              upstream StatefulSet args parse; Go durations; zap levels; SSA and leader election
                    refused; unknown flags refused
==================  ==============================================================================
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from swarmconf.clusters.metacontroller.controller.config import Settings
from swarmconf.clusters.metacontroller.controller.health import HealthServer, parse_bind_address
from swarmconf.clusters.metacontroller.testhook import TestHookServer


class AsgiClient:
    """A tiny synchronous client over httpx's ASGI transport (starlette's TestClient is deprecated)."""

    def __init__(self) -> None:
        self.app = TestHookServer().app()

    def _request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testhook") as client:
                return await client.request(method, url, **kwargs)  # type: ignore[arg-type]

        return asyncio.run(go())

    def get(self, url: str, **kwargs: object) -> httpx.Response:
        return self._request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: object) -> httpx.Response:
        return self._request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: object) -> httpx.Response:
        return self._request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: object) -> httpx.Response:
        return self._request("DELETE", url, **kwargs)


@pytest.fixture
def hook() -> AsgiClient:
    return AsgiClient()


def _call(hook: AsgiClient, parent: str = "p1", kind: str = "sync") -> httpx.Response:
    body = {"parent": {"metadata": {"name": parent, "uid": "u"}}, "children": {"ConfigMap.v1": {"b": {}, "a": {}}}}
    return hook.post(f"/hooks/t1/{kind}", json={**body, "finalizing": kind == "finalize"})


def test_records_and_programmed_responses(hook: AsgiClient) -> None:
    assert _call(hook).json() == {}
    hook.put("/control/t1/sync", json={"response": {"status": {"x": 1}}, "perParent": {"p2": {"children": []}}})
    assert _call(hook).json() == {"status": {"x": 1}}
    assert _call(hook, "p2").json() == {"children": []}
    _call(hook, kind="finalize")
    records = hook.get("/control/t1/requests").json()
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    assert [r["kind"] for r in records] == ["sync", "sync", "sync", "finalize"]
    assert records[0]["body"]["parent"]["metadata"]["name"] == "p1"
    summary = hook.get("/control/t1/requests", params={"kind": "finalize", "summary": "1"}).json()
    assert summary == [
        {
            "seq": records[3]["seq"],
            "receivedAt": records[3]["receivedAt"],
            "kind": "finalize",
            "parent": "p1",
            "parentUid": "u",
            "parentResourceVersion": None,
            "finalizing": True,
            "children": {"ConfigMap.v1": ["a", "b"]},
        }
    ]
    later = hook.get("/control/t1/requests", params={"after": records[1]["seq"]}).json()
    assert [r["seq"] for r in later] == [records[2]["seq"], records[3]["seq"]]
    hook.delete("/control/t1")
    assert hook.get("/control/t1/requests").json() == []


def test_failure_modes(hook: AsgiClient) -> None:
    hook.put("/control/t1/sync", json={"mode": "fail"})
    assert _call(hook).status_code == 500
    hook.put("/control/t1/sync", json={"mode": "status", "statusCode": 404})
    assert _call(hook).status_code == 404
    hook.put("/control/t1/sync", json={"mode": "hang", "hangSeconds": 0.2, "response": {"ok": 1}})
    start = time.monotonic()
    assert _call(hook).json() == {"ok": 1}
    assert time.monotonic() - start >= 0.2
    assert len(hook.get("/control/t1/requests").json()) == 3


def test_health_probes() -> None:
    ready = {"value": False}
    server = HealthServer("127.0.0.1:0", ready=lambda: ready["value"])
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(trust_env=False) as http:
            assert http.get(base + "/healthz").status_code == 200
            assert http.get(base + "/readyz").status_code == 503
            ready["value"] = True
            assert http.get(base + "/readyz").status_code == 200
            assert http.get(base + "/metrics").status_code == 404
    finally:
        server.stop()


def test_bind_address() -> None:
    assert parse_bind_address(":8081") == ("0.0.0.0", 8081)
    assert parse_bind_address("127.0.0.1:9") == ("127.0.0.1", 9)


def test_upstream_statefulset_args() -> None:
    settings = Settings.from_args(["--zap-log-level=4", "--discovery-interval=20s", "--metrics-address=:9999"])
    assert settings.log_level == 4
    assert settings.discovery_interval == 20.0
    assert settings.cache_flush_interval == 1800.0
    assert settings.workers == 5
    assert settings.health_address == ":8081"
    assert Settings.from_args(["--zap-log-level=debug"]).log_level == 1


@pytest.mark.parametrize("argv", [["--apply-strategy=server-side-apply"], ["--leader-election"], ["--no-such-flag"]])
def test_unsupported_settings_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        Settings.from_args(argv)
    assert "error" in capsys.readouterr().err
