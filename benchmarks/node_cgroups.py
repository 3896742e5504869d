"""CPU and memory of one container, read from its cgroup on the kind node that runs it.

Read from the node (``docker exec`` on the node container), not from inside the container, so it works for any
image: upstream Metacontroller's has no shell. cgroup v1 and v2 both: ``cpu_s`` (CPU seconds so far), ``usage``,
``working_set`` (usage less inactive file cache) and ``max_usage`` in bytes.
"""

from __future__ import annotations

import subprocess

from swarmconf.kube import Kube

FILES = "cpuacct.usage cpu.stat memory.usage_in_bytes memory.max_usage_in_bytes memory.current memory.peak"
SCRIPT = (
    'for d in $(find /sys/fs/cgroup -type d -name "*{cid}*" 2>/dev/null); do '
    f"for f in {FILES}; do "
    '[ -r "$d/$f" ] && echo "$d/$f $(head -c 2000 "$d/$f" | tr "\\n" " ")"; done; '
    "grep -HE '^(total_inactive_file|inactive_file) ' \"$d/memory.stat\" 2>/dev/null; done; true"
)


class NotOnThisMachine(RuntimeError):
    """The pod's node is not a kind node container here (or its container has not started)."""


def sample_container(kube: Kube, pod: str, namespace: str, container: str | None = None) -> dict[str, float]:
    """One reading of a running container's cgroup (see the module docstring)."""
    obj = kube.core.read_namespaced_pod(pod, namespace)
    statuses = (obj.status and obj.status.container_statuses) or []
    status = next((s for s in statuses if container in (None, s.name)), None)
    if status is None or not status.container_id or not obj.spec or not obj.spec.node_name:
        raise NotOnThisMachine(f"pod {namespace}/{pod} has no running container {container or ''}")
    cid = status.container_id.split("://")[-1]
    done = subprocess.run(
        ["docker", "exec", obj.spec.node_name, "sh", "-c", SCRIPT.format(cid=cid)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise NotOnThisMachine(f"no cgroup of container {cid[:12]} on node {obj.spec.node_name}: {done.stderr}")
    return parse_cgroup(done.stdout)


def parse_cgroup(text: str) -> dict[str, float]:
    """cgroup v1 or v2 files, as the script prints them, into cpu_s / usage / working_set / max_usage."""
    raw: dict[str, str] = {}
    inactive = 0.0
    for line in text.splitlines():
        path, _, value = line.partition(" ")
        if ".stat:" in path:  # grep -H over memory.stat: "<file>:<key> <value>"
            key = path.rsplit(":", 1)[-1]
            if key == "total_inactive_file" or (key == "inactive_file" and not inactive):
                inactive = float(value)
            continue
        raw.setdefault(path.rsplit("/", 1)[-1], value.strip())
    out: dict[str, float] = {}
    if "cpuacct.usage" in raw:
        out["cpu_s"] = int(raw["cpuacct.usage"]) / 1e9
    elif "cpu.stat" in raw:
        fields = raw["cpu.stat"].split()
        out["cpu_s"] = int(fields[fields.index("usage_usec") + 1]) / 1e6
    usage = raw.get("memory.usage_in_bytes") or raw.get("memory.current")
    if usage:
        out["usage"] = float(usage)
        out["working_set"] = max(0.0, float(usage) - inactive)
    peak = raw.get("memory.max_usage_in_bytes") or raw.get("memory.peak")
    if peak:
        out["max_usage"] = float(peak)
    return out
