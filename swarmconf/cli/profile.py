"""``swarmconf profile check FILE`` and ``swarmconf profile schema``: for a team writing a profile of its platform.

``check`` validates the file (every error with the field it is in) and, unless ``--static``, preflights it
against a cluster with the harness's own fixtures (``swarmconf/preflight/``): the platform installs or is
found ready, its entry answers, a token of the profile's scheme is accepted, a workspace can be created,
verified, messaged and deleted. Each step that fails says what to fix. ``schema`` prints the profile's JSON
Schema, for an editor that validates YAML as it is typed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from swarmconf.cli import EXIT_INFRA, EXIT_OK, EXIT_USAGE, add_metacontroller_source

if TYPE_CHECKING:
    from swarmconf.fixtures.profiles import Profile

PREFLIGHT = Path(__file__).resolve().parents[1] / "preflight" / "test_preflight.py"
EXIT_PREFLIGHT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    profile = subparsers.add_parser("profile", help="check a platform profile; print its schema")
    verbs = profile.add_subparsers(dest="verb", required=True)

    check = verbs.add_parser(
        "check",
        help="validate a profile and preflight it against a cluster",
        description="Validate a profile; then, unless --static, install (or find) its platform on a cluster and "
        "check that the harness can drive it: entry, token, a workspace created, verified, messaged and deleted.",
    )
    check.add_argument("profile", help="a profile file (or a bundled profile's name)")
    check.add_argument("--static", action="store_true", help="only validate the file; touch no cluster")
    check.add_argument("--cluster", help="cluster provider: kind (default: a new kind cluster) or existing")
    check.add_argument("--kubeconfig", help="kubeconfig for --cluster existing")
    check.add_argument("--context", help="kubeconfig context for --cluster existing")
    check.add_argument("--keep-cluster", action="store_true", help="keep the cluster and the install afterwards")
    add_metacontroller_source(check)
    check.set_defaults(handler=check_command)

    schema = verbs.add_parser("schema", help="print the profile's JSON Schema")
    schema.set_defaults(handler=schema_command)


def check_command(args: argparse.Namespace) -> int:
    from swarmconf.fixtures.profiles import ProfileError, load_profile

    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        print(f"swarmconf profile check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"✓ {profile.source}: a valid profile of platform {profile.name!r}")
    for line in unjudged(profile):
        print(f"  note: {line}")
    if args.static:
        return EXIT_OK
    return _preflight(args, Path(str(profile.source)))


def unjudged(profile: Profile) -> list[str]:
    """What the suites cannot judge on a platform described by this profile (optional parts left out)."""
    notes = []
    runtime = profile.runtime
    if profile.orchestrator_crash is None:
        notes.append("no `orchestrator_crash`: RPR-1 (the orchestrator forgot a workspace) will not be run")
    if runtime.failing_verify_mode is None:
        notes.append("no `runtime.failing_verify_mode`: MSG-5's test on a Ready-but-unverified runtime will not be run")
    if not runtime.model_provider and not runtime.reply_verifier:
        notes.append(
            "neither `runtime.model_provider: stub` nor `runtime.reply_verifier`: where MSG-4's replies came "
            "from is not enforceable"
        )
    if profile.entry is None:
        notes.append("no `entry`: the harness port-forwards to one orchestrator pod; your Service is not on the path")
    if profile.defects is None:
        notes.append("no `defects`: `swarmconf selftest` (the defect matrix) cannot run on this platform")
    return notes


def _preflight(args: argparse.Namespace, profile_path: Path) -> int:
    from swarmconf.cli.run import run_pytest

    with tempfile.TemporaryDirectory(prefix="swarmconf-preflight-") as tmp:
        junit = Path(tmp) / "preflight.xml"
        cmd = [sys.executable, "-m", "pytest", str(PREFLIGHT), "-p", "no:cacheprovider", "-p", "no:randomly"]
        cmd += ["--profile", str(profile_path), f"--junitxml={junit}", "-q", "--no-header", "-rN"]
        for flag in ("cluster", "kubeconfig", "context"):
            if getattr(args, flag, None):
                cmd += [f"--{flag}", str(getattr(args, flag))]
        if args.keep_cluster:
            cmd.append("--keep-cluster")
        print("swarmconf profile check:", " ".join(cmd), flush=True)
        try:
            code = run_pytest(cmd)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"swarmconf profile check: could not start pytest: {exc}", file=sys.stderr)
            return EXIT_INFRA
        steps = read_steps(junit) if junit.is_file() else []
    if not steps:
        print(f"swarmconf profile check: the preflight ran no step (pytest exited {code}; see its output above)")
        return EXIT_INFRA
    print("\npreflight:")
    for name, problem in steps:
        print(f"  {'✗' if problem else '✓'} {name.replace('_', ' ')}")
        if problem:
            print("      " + problem.strip().replace("\n", "\n      "))
    failed = sum(1 for _, problem in steps if problem)
    print(f"\n{len(steps) - failed} of {len(steps)} steps passed")
    return EXIT_OK if failed == 0 and code == 0 else EXIT_PREFLIGHT_FAILED


def read_steps(junit: Path) -> list[tuple[str, str]]:
    """``(step, problem)`` per test case of a JUnit XML file, in file order (problem empty when it passed)."""
    steps = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "?").removeprefix("test_")
        problem = ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                problem = f"{tag}: {node.get('message') or (node.text or '')[:800]}"
                break
        steps.append((name, problem))
    return steps


def schema_command(args: argparse.Namespace) -> int:
    from swarmconf.fixtures.profiles import Profile

    print(json.dumps(Profile.model_json_schema(), indent=2))
    return EXIT_OK
