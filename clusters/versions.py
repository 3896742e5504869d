"""Every version the offline toolchain builds, pinned in one place.

Changing a value here changes the build's content key, so the next ``swarmconf build`` rebuilds what
depends on it and nothing else. Kubernetes stays on 1.34: 1.35's kubelet refuses cgroup v1 hosts by
default (KEP-5573), and the machines this runs on have a cgroup v1 (hybrid) hierarchy.
"""

from __future__ import annotations

KUBERNETES = "1.34.4"
"""Kubernetes release (k8s.io/kubernetes module); staging modules are pinned to ``0.<minor>.<patch>``."""

KIND = "v0.30.0"
"""kind release (sigs.k8s.io/kind); its base-image files come from the same module."""

ETCD = "3.6.5"
"""etcd server (go.etcd.io/etcd/server/v3); kubeadm 1.34.4 asks for ``registry.k8s.io/etcd:3.6.5-0``."""

COREDNS = "1.12.1"
"""CoreDNS (github.com/coredns/coredns), as kubeadm 1.34 asks for."""

PAUSE = "3.10.1"
"""Tag of the pause image kubeadm 1.34 and containerd's ``sandbox_image`` use (catatonit in pause mode)."""

LOCAL_PATH_PROVISIONER = "v0.0.30"
"""rancher/local-path-provisioner: the dynamic PVC provisioner behind the default StorageClass."""

DEBIAN_SUITE = "bookworm"
"""Debian release of every root filesystem: systemd 252 still boots on cgroup v1 (trixie's 257 does not)."""

DEBIAN_MIRROR = "http://deb.debian.org/debian"
"""Where debootstrap fetches the base root filesystem."""

METACONTROLLER = "v4.17.2"
"""Upstream Metacontroller release (github.com/metacontroller/metacontroller, tag ``v4.17.2``)."""

METACONTROLLER_COMMIT = "76b818bdc67ba56570abe5f69f714d56c0ff5c52"
"""The commit that tag names; stamped into the binary as upstream's release build does."""

METACONTROLLER_SOURCE_SHA256 = "71242194978649546c50f6970bc117b883699a46c66f4eb16298bcdbb8b722a3"
"""sha256 of ``git archive --prefix=metacontroller-4.17.2/ v4.17.2`` (gzip), the source the build accepts."""

METACONTROLLER_IMAGE = f"ghcr.io/metacontroller/metacontroller:{METACONTROLLER}"
"""Upstream's image name; the offline build tags its own build of the same source with it."""

KUBE_NETWORK_POLICIES = "v0.8.0"
"""sigs.k8s.io/kube-network-policies: NetworkPolicy enforcement (nftables and nfqueue) for the static ptp CNI,
as kind's own kindnet bundles it; without it no NetworkPolicy is enforced and ISO-6 cannot be judged."""

KUBE_NETWORK_POLICIES_IMAGE = f"swarmconf.local/kube-network-policies:{KUBE_NETWORK_POLICIES}-xtqueue"
"""Our own name: the build patches the module (nfqueue through the xtables target, for kernels without
``CONFIG_NFT_QUEUE``), so it is not upstream's image."""

KIND_NODE_IMAGE_ONLINE = "kindest/node:v1.34.0"
"""The official node image ``--image-source online|auto`` uses when it is present or can be pulled."""


def kube_images() -> dict[str, str]:
    """Image names kubeadm 1.34 expects for the control plane, exactly as ``kubeadm config images list``."""
    tag = f"v{KUBERNETES}"
    return {
        "kube-apiserver": f"registry.k8s.io/kube-apiserver:{tag}",
        "kube-controller-manager": f"registry.k8s.io/kube-controller-manager:{tag}",
        "kube-scheduler": f"registry.k8s.io/kube-scheduler:{tag}",
        "kube-proxy": f"registry.k8s.io/kube-proxy:{tag}",
        "coredns": f"registry.k8s.io/coredns/coredns:v{COREDNS}",
        "pause": f"registry.k8s.io/pause:{PAUSE}",
        "etcd": f"registry.k8s.io/etcd:{ETCD}-0",
    }


def storage_images() -> dict[str, str]:
    """Images of the default StorageClass's provisioner (our own tags; never ``:latest``)."""
    return {
        "local-path-provisioner": f"swarmconf.local/local-path-provisioner:{LOCAL_PATH_PROVISIONER}",
        "local-path-helper": f"swarmconf.local/local-path-helper:{LOCAL_PATH_PROVISIONER}",
    }


def as_dict() -> dict[str, str]:
    """All pins, for cache keys and the run manifest."""
    return {
        "kubernetes": KUBERNETES,
        "kind": KIND,
        "etcd": ETCD,
        "coredns": COREDNS,
        "pause": PAUSE,
        "local-path-provisioner": LOCAL_PATH_PROVISIONER,
        "debian": DEBIAN_SUITE,
        "metacontroller": METACONTROLLER,
        "kube-network-policies": KUBE_NETWORK_POLICIES,
    }
