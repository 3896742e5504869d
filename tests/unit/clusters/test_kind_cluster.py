"""Unit tests of the kind provider's pure parts.

Coverage: config rendering (API server on 127.0.0.1, no port mappings, run id label), a port in use
refused up front, CoreDNS made non-forwarding (kubeadm's default Corefile), leftover detection (dead
owner, kept, no state here: another cache's, not ours), the capability shim's spec rewriting, and Docker-missing errors.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import socket
from pathlib import Path

import pytest
import yaml

from swarmconf.clusters.engine import daemon
from swarmconf.clusters.kind import config, lifecycle, state

KUBEADM_COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""


def test_config_listens_on_loopback_and_publishes_nothing() -> None:
    doc = yaml.safe_load(config.render(cluster_name="swarmconf-abc", run_id="abc"))
    assert doc["name"] == "swarmconf-abc"
    assert doc["networking"]["apiServerAddress"] == "127.0.0.1"
    assert all("extraPortMappings" not in node for node in doc["nodes"])
    assert doc["nodes"][0]["labels"]["swarmconf.io/run-id"] == "abc"


def test_port_in_use_is_refused_with_advice() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(config.PortInUse, match=f"port {port} .* in use"):
            config.render(cluster_name="swarmconf-x", run_id="x", api_server_port=port)


def test_coredns_forwards_nothing_outside_the_cluster() -> None:
    isolated = lifecycle.coredns_without_forward(KUBEADM_COREFILE)
    assert "forward" not in isolated and "max_concurrent" not in isolated
    assert "kubernetes cluster.local" in isolated and isolated.count("{") == isolated.count("}")
    assert lifecycle.coredns_without_forward(isolated) == isolated


def test_leftovers_are_dead_and_unkept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARMCONF_CACHE", str(tmp_path))
    alive = state.ClusterState.mine("swarmconf-alive", "alive", keep=False, node_image="n")
    alive.save()
    dead = state.ClusterState("swarmconf-dead", "dead", 2**22 + 1, "0", False, 0.0, "n")
    dead.save()
    kept = state.ClusterState("swarmconf-kept", "kept", 2**22 + 1, "0", True, 0.0, "n")
    kept.save()
    names = ["swarmconf-alive", "swarmconf-dead", "swarmconf-kept", "swarmconf-nostate", "someone-elses"]
    # no state in this cache: another cache root's cluster, maybe of a live run; only --all deletes it
    assert state.kind_clusters_dead(names) == ["swarmconf-dead"]
    assert state.kind_clusters_dead(names, everything=True) == names[:4]


def test_status_lists_recorded_clusters_when_no_daemon_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With Docker stopped, kind sees no cluster, but a kept one still exists: `.ci/run` must not delete it."""
    from swarmconf.cli import cluster as cli

    monkeypatch.setenv("SWARMCONF_CACHE", str(tmp_path))
    monkeypatch.setattr(cli, "daemon_answers", lambda: False)
    state.ClusterState("swarmconf-kept", "kept", 2**22 + 1, "0", True, 0.0, "n").save()
    (tmp_path / "clusters" / "swarmconf-nostate").mkdir()  # a folder without a state file is not a cluster
    assert cli.handle_status(argparse.Namespace(json=True)) == 0
    status = json.loads(capsys.readouterr().out)
    assert status == {"docker": False, "clusters": [], "recorded": ["swarmconf-kept"]}


def _load_capfix():  # the shim is a script, not a module
    loader = importlib.machinery.SourceFileLoader("runc_capfix", str(daemon.CAPFIX_SOURCE))
    spec = importlib.util.spec_from_loader("runc_capfix", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_capfix_strips_missing_caps_from_bundle_and_process(tmp_path: Path) -> None:
    capfix = _load_capfix()
    caps = {k: ["CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"] for k in ("bounding", "effective", "permitted")}
    (tmp_path / "config.json").write_text(json.dumps({"process": {"capabilities": caps}}))
    capfix.strip(str(tmp_path / "config.json"), {"CAP_SYS_RESOURCE"}, process_only=False)
    rewritten = json.loads((tmp_path / "config.json").read_text())["process"]["capabilities"]
    assert all(v == ["CAP_SYS_ADMIN"] for v in rewritten.values())
    (tmp_path / "process.json").write_text(json.dumps({"capabilities": caps}))
    capfix.strip(str(tmp_path / "process.json"), {"CAP_SYS_RESOURCE"}, process_only=True)
    assert json.loads((tmp_path / "process.json").read_text())["capabilities"]["bounding"] == ["CAP_SYS_ADMIN"]


def test_no_docker_and_not_root_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(daemon, "daemon_answers", lambda: False)
    monkeypatch.setattr(daemon.os, "geteuid", lambda: 1000)
    with pytest.raises(daemon.DockerUnavailable, match=r"apt-get install docker\.io"):
        daemon.ensure_docker(tmp_path / "log")


def test_existing_daemon_is_used_untouched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(daemon, "daemon_answers", lambda: True)
    monkeypatch.setattr(daemon, "start_dockerd", lambda log: pytest.fail("must not start a daemon"))
    assert daemon.ensure_docker(tmp_path / "log").started is False


def test_stop_engine_leaves_daemons_it_did_not_start_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemon.os, "kill", lambda *a: pytest.fail("must not signal a daemon we did not start"))
    daemon.stop_engine(daemon.DockerEngine(started=False, pid=1))


def test_missing_host_tools_and_not_root_names_the_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(daemon, "host_packages_missing", lambda: ["debootstrap"])
    monkeypatch.setattr(daemon.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(daemon, "install_host_packages", lambda log: pytest.fail("must not install without root"))
    with pytest.raises(daemon.DockerUnavailable, match="apt-get install debootstrap"):
        daemon.ensure_host_tools(tmp_path / "log")
