"""Unit tests of the offline build's pure parts.

Coverage: content keys (stable, sensitive to pins and recipe bytes), the Kubernetes wrapper module
(every staging module pinned, error on an unexpected go.mod), version ldflags on both packages, kind's
storage manifest extraction (our images in, Go template syntax out), the static base filesystem, and
the build-step error carrying the step name and log tail.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import yaml

from swarmconf.clusters import versions
from swarmconf.clusters.offline import gobuild, nodeimage, rootfs
from swarmconf.clusters.offline.build import BuildError, Plan
from swarmconf.clusters.offline.cache import RECIPES, content_key
from swarmconf.clusters.proc import CommandError, run

UPSTREAM_GOMOD = """module k8s.io/kubernetes

go 1.24.0

require (
\tgithub.com/foo/bar v1.2.3
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
)
"""


def test_content_key_is_stable_and_sensitive(tmp_path: Path) -> None:
    recipe = tmp_path / "Dockerfile"
    recipe.write_text("FROM scratch\n")
    first = content_key("a", "b", files=[recipe])
    assert first == content_key("a", "b", files=[recipe])
    assert first != content_key("a", "c", files=[recipe])
    recipe.write_text("FROM scratch\nCOPY x /x\n")
    assert first != content_key("a", "b", files=[recipe])
    assert len(first) == 16


def test_kube_wrapper_pins_every_staging_module() -> None:
    gomod = gobuild.kube_wrapper_gomod("1.34.4", UPSTREAM_GOMOD)
    assert "require k8s.io/kubernetes v1.34.4" in gomod
    assert "replace k8s.io/api => k8s.io/api v0.34.4" in gomod
    assert "replace k8s.io/client-go => k8s.io/client-go v0.34.4" in gomod
    assert "github.com/foo/bar" not in gomod
    assert "godebug default=go1.24" in gomod


def test_kube_wrapper_refuses_a_gomod_without_staging() -> None:
    with pytest.raises(ValueError, match="staging"):
        gobuild.kube_wrapper_gomod("1.34.4", "module x\n")


def test_ldflags_stamp_both_version_packages() -> None:
    flags = gobuild.kube_ldflags("1.34.4")
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {pkg}.gitVersion=v1.34.4" in flags
        assert f"-X {pkg}.gitMinor=34" in flags


KIND_STORAGE = """\
const storageProvisionerImage = "x"
const defaultStorageManifest = `
apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
spec:
  template:
    spec:
      containers:
        - name: local-path-provisioner
          image: ` + storageProvisionerImage + `
          command: [local-path-provisioner, start, --helper-image, ` + storageHelperImage + `]
          env:
            - {name: POD_NAMESPACE, value: x}
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: local-path-config
data:
  config.json: |-
    {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/var/local-path-provisioner"]}]}
`
"""


def _kind_storage(tmp_path: Path, text: str = KIND_STORAGE) -> Path:
    source = tmp_path / "pkg/build/nodeimage/const_storage.go"
    source.parent.mkdir(parents=True)
    source.write_text(text)
    return tmp_path


def test_storage_manifest_points_at_our_images(tmp_path: Path) -> None:
    text = nodeimage.storage_manifest(_kind_storage(tmp_path), "mine/prov:v1", "mine/helper:v1")
    docs = [d for d in yaml.safe_load_all(text) if d]
    container = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mine/prov:v1" and "mine/helper:v1" in container["command"]
    assert "`" not in text


def test_storage_manifest_switches_the_provisioner_patch_on(tmp_path: Path) -> None:
    text = nodeimage.storage_manifest(_kind_storage(tmp_path), "p", "h")
    pod = [d for d in yaml.safe_load_all(text) if d][1]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["LOCAL_PATH_DIRECT_ROOT"]["value"] == "/host" and env["POD_NAMESPACE"]["value"] == "x"
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert {"name": "node-volumes", "mountPath": "/host/var/local-path-provisioner"} in pod["containers"][0][
        "volumeMounts"
    ]
    assert {
        "name": "node-volumes",
        "hostPath": {"path": "/var/local-path-provisioner", "type": "DirectoryOrCreate"},
    } in (pod["volumes"])
    moved = KIND_STORAGE.replace('"/var/local-path-provisioner"', '"/data"')
    with pytest.raises(ValueError, match="no longer keeps volumes"):
        nodeimage.storage_manifest(_kind_storage(tmp_path / "moved", moved), "p", "h")


def test_storage_manifest_missing_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "pkg/build/nodeimage/const_storage.go"
    source.parent.mkdir(parents=True)
    source.write_text("package nodeimage\n")
    with pytest.raises(ValueError, match="defaultStorageManifest"):
        nodeimage.storage_manifest(tmp_path, "a", "b")


def test_static_base_has_users_tmp_and_ca_bundle() -> None:
    with tarfile.open(fileobj=io.BytesIO(rootfs.static_base_tar())) as tar:
        names = {m.name: m for m in tar.getmembers()}
        assert names["tmp"].mode == 0o1777
        passwd = tar.extractfile("etc/passwd")
        assert passwd is not None and b"nonroot:x:65532" in passwd.read()
        assert "etc/ssl/certs/ca-certificates.crt" in names


def test_plan_tags_images_as_kubeadm_expects(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    tags = {c.name: c.tag for c in plan.component_images()}
    assert tags["kube-apiserver"] == f"registry.k8s.io/kube-apiserver:v{versions.KUBERNETES}"
    assert tags["etcd"] == f"registry.k8s.io/etcd:{versions.ETCD}-0"
    assert tags["pause"] == f"registry.k8s.io/pause:{versions.PAUSE}"
    names = [s.name for s in plan.steps]
    assert names.index("go: kubernetes") < names.index("image: kube-apiserver") < names.index("node: preload images")
    assert len({s.key for s in plan.steps}) == len(plan.steps)


def test_failed_command_names_the_step_and_shows_the_tail(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    with pytest.raises(CommandError) as info:
        run(["sh", "-c", "echo first; echo 'the real cause' >&2; exit 3"], what="compile thing", log=log)
    error = BuildError("go: thing", info.value)
    assert "go: thing" in str(error) and "the real cause" in str(error) and "exited 3" in str(error)


def test_missing_command_is_reported() -> None:
    with pytest.raises(CommandError, match="command not found"):
        run(["definitely-not-a-command-swarmconf"], what="x")


def test_timeout_is_reported() -> None:
    with pytest.raises(CommandError, match="timed out"):
        run(["sleep", "5"], what="slow", timeout=0.2)


def test_the_cni_manifest_runs_the_network_policy_agent_this_build_makes(tmp_path: Path) -> None:
    """The DaemonSet in the node's default CNI manifest must name the image the build preloads, or the
    cluster comes up without NetworkPolicy enforcement (its pod would wait for an image no registry serves)."""
    docs = list(yaml.safe_load_all((RECIPES / "node" / "default-cni.yaml").read_text()))
    (daemonset,) = [d for d in docs if d["kind"] == "DaemonSet"]
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    tags = {c.name: c.tag for c in Plan(tmp_path).component_images()}
    assert container["image"] == tags["kube-network-policies"] == versions.KUBE_NETWORK_POLICIES_IMAGE
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["command"][0] == "/usr/local/bin/netpol"  # static.Dockerfile copies bin/ there
