"""RPR — recovery after a half-failed cleanup (CONTRACT.md RPR-1..RPR-5).

Every scenario has the same shape: inject a fault into the deletion flow; prove the system is stuck or
partial *because of it* (over a period, not in one look); remove the fault; assert full convergence — no
UserSwarm, no children, no PVC for that workspace — and that a bystander workspace of another user is
exactly as it was and still answers messages (DEL-5).

Scenarios (fault → proof that it held):

* RPR-1 orchestrator dies mid-deletion (the profile's crash means) → the workspace answers 404 while its
  UserSwarm stays, not even terminating;
* RPR-2 Metacontroller down (its StatefulSet at 0) → terminating, finalizer kept, every child in place;
* RPR-3 finalize hook failing / slow / unreachable, after a partial teardown → the same, for the children
  left, plus the bad hook's own call log;
* RPR-4 finalizer force-removed while Metacontroller is down → the UserSwarm gone, its children dangling;
* RPR-5 reaper with the orchestrator down / with one deletion refused / on its schedule → live swarms kept,
  the refused one kept until the refusal is lifted.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import allure
import pytest

from swarmconf.fixtures import deletion, faults
from swarmconf.fixtures.cleanup import HARNESS_NAMESPACE, run_labels
from swarmconf.fixtures.deletion import Prepared
from swarmconf.fixtures.marks import checks, proves
from swarmconf.fixtures.platform import Platform
from swarmconf.fixtures.plugin import MetacontrollerDown
from swarmconf.fixtures.profiles import CrashSpec, Profile
from swarmconf.kube import Kube
from swarmconf.waits import consistently, wait_for

#: Under pytest-xdist these tests run while no other test runs: they take Metacontroller, the webhook or the
#: orchestrator down and run the reaper.
pytestmark = pytest.mark.alone

#: How long a recovery test holds its fault while proving it took effect (times the negative-check budget).
HOLD = 2.0


def _kept(platform: Platform, snap: deletion.SwarmSnapshot) -> bool:
    seen = deletion.observe(platform, snap)
    return seen.swarm is not None and not seen.terminating


def _run_reaper(kube: Kube, profile: Profile, run_id: str) -> faults.ReaperRun:
    return faults.run_reaper(kube, profile.components.reaper, labels=run_labels(run_id), timeout=profile.budgets.reaper)


# --- RPR-1 ------------------------------------------------------------------------------------------


@pytest.fixture
def orchestrator_crash(profile: Profile) -> CrashSpec:
    """The profile's means to crash the orchestrator mid-deletion; without one, RPR-1 is not run (with the
    reason), before any workspace is made: only the platform can stop between its two deletion steps."""
    if profile.orchestrator_crash is None:
        pytest.skip(
            f"profile {profile.name} gives no orchestrator_crash (a command run in the orchestrator container that "
            "leaves what the orchestrator leaves if it dies between deleting a workspace and deleting its "
            "UserSwarm): RPR-1 cannot be driven from outside"
        )
    return profile.orchestrator_crash


@proves("RPR-1", "DEL-4", "DEL-5")
def test_orchestrator_dies_between_workspace_and_userswarm_deletion(
    orchestrator_crash: CrashSpec,
    kube: Kube,
    platform: Platform,
    profile: Profile,
    run_id: str,
    target: Prepared,
    bystander: Prepared,
) -> None:
    """RPR-1 (and DEL-4, DEL-5): layer 1 fails half-way; the orphaned UserSwarm is caught by the reaper."""
    crash = orchestrator_crash
    with faults.cronjob_suspended(kube, profile.components.reaper):
        with allure.step("the orchestrator dies after deleting the workspace, before deleting its UserSwarm"):
            faults.orchestrator_crash(
                kube,
                workload=profile.components.orchestrator,
                command=crash.command(target.workspace.id),
                container=profile.components.orchestrator.container,
            )
        with allure.step("the workspace is gone, and an orphaned UserSwarm stays behind"):
            consistently(
                lambda: (target.tenant.get_workspace(target.workspace.id).status_code, _kept(platform, target.snap)),
                holds=lambda seen: seen == (404, True),
                description="the workspace answers 404 while its UserSwarm stays (not even terminating)",
                duration=profile.budgets.negative * HOLD,
            )
        with allure.step("the reaper, run now, deletes the orphan"):
            run = _run_reaper(kube, profile, run_id)
            assert run.succeeded, f"reaper Job {run.job} failed:\n{run.logs}"
    with allure.step("the children go through layer 2 and nothing of the workspace is left"):
        deletion.wait_converged(platform, target.snap, timeout=profile.budgets.delete)
    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)


# --- RPR-2 ------------------------------------------------------------------------------------------


@pytest.mark.cluster_wide  # it holds Metacontroller down
@proves("RPR-2", "DEL-5")
def test_metacontroller_down_during_deletion(
    kube: Kube,
    platform: Platform,
    profile: Profile,
    target: Prepared,
    bystander: Prepared,
    metacontroller_down: MetacontrollerDown,
) -> None:
    """RPR-2 (and DEL-5): with Metacontroller down the UserSwarm stays terminating with its finalizer and
    children; when it returns, the cleanup completes. Another user's workspace is untouched and answers while
    the cleanup is stuck, and after."""
    with metacontroller_down():
        with allure.step("1. the user deletes the workspace through the API"):
            deletion.delete_through_api(target)
        with allure.step("2. the UserSwarm is deleted, and stays: nothing runs the finalize hook"):
            deletion.wait_terminating(platform, target.snap)
            deletion.prove_stuck(
                platform, target.snap, duration=profile.budgets.negative * HOLD, because="Metacontroller is down"
            )
        with checks("DEL-5", "while the cleanup is stuck, the bystander is untouched and still answers"):
            bystander.check_untouched(platform)
    with allure.step("3-4. Metacontroller is back: the teardown completes and nothing is left"):
        deletion.wait_converged(platform, target.snap, timeout=profile.budgets.delete)
    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)


# --- RPR-3 ------------------------------------------------------------------------------------------

HOOK_FAULTS = ("failing", "slow", "unreachable")


@contextlib.contextmanager
def broken_finalize_hook(
    mode: str, *, kube: Kube, platform: Platform, run_id: str, controller: str
) -> Iterator[faults.BrokenHook | None]:
    """The finalize hook of CompositeController ``controller`` answering 500 (``failing``), hanging past its
    timeout (``slow``), or with no server behind it (``unreachable``: the webhook scaled to zero)."""
    profile = platform.profile
    if mode == "unreachable":
        with faults.webhook_down(kube, profile.components.webhook):
            yield None
        return
    assert platform.app_image, "no app image to run the bad hook from"
    with faults.hook_broken(
        kube,
        controller=controller,
        mode={"failing": "fail", "slow": "hang"}[mode],
        namespace=HARNESS_NAMESPACE,
        image=platform.app_image,
        labels=run_labels(run_id),
        timeout=profile.budgets.verify,
    ) as hook:
        yield hook


@pytest.mark.parametrize("mode", HOOK_FAULTS)
@proves("RPR-3", "DEL-6", "DEL-5")
def test_finalize_hook_fails_after_a_partial_teardown(
    kube: Kube, platform: Platform, profile: Profile, run_id: str, target: Prepared, bystander: Prepared, mode: str
) -> None:
    """RPR-3 (and DEL-6, DEL-5): the finalize hook fails (errors, times out, or is unreachable) after part
    of the teardown is done; when it recovers, the rest is torn down and nothing is recreated. Another user's
    workspace is untouched and answers while the cleanup is stuck, and after."""
    partial = target.snap.of_kind("StatefulSet", "ConfigMap")
    rest = [c for c in target.snap.children if c not in partial]
    broken = broken_finalize_hook(mode, kube=kube, platform=platform, run_id=run_id, controller=target.snap.controller)
    with broken as hook:
        with allure.step(f"1-2. the workspace and its UserSwarm are deleted while the finalize hook is {mode}"):
            deletion.delete_through_api(target)
            deletion.wait_terminating(platform, target.snap)
            if (broken_hook := hook) is not None:
                # Metacontroller finalizing through the broken hook: its cache has seen the deletion, so no sync
                # of the parent (through the real sync hook, on a stale view) can bring back what is deleted next.
                wait_for(
                    lambda: [c for c in broken_hook.calls(target.snap.name) if c["finalizing"]],
                    until=bool,
                    description=f"Metacontroller calls the {mode} finalize hook for {target.snap.name}",
                    timeout=profile.budgets.delete,
                    interval=1.0,
                )
        with allure.step("part of the teardown is done (the StatefulSet and the ConfigMap are gone)"):
            faults.delete_children(kube, partial)
        with allure.step(f"3. the teardown is stuck because the hook is {mode}"):
            deletion.prove_stuck(
                platform,
                target.snap,
                duration=profile.budgets.negative * HOLD,
                because=f"the finalize hook is {mode}",
                expect_left=rest,
            )
            if hook is not None:
                calls = [c for c in hook.calls(target.snap.name) if c["finalizing"]]
                assert calls, f"Metacontroller never called the {mode} finalize hook for {target.snap.name}"
        with checks("DEL-5", "while the cleanup is stuck, the bystander is untouched and still answers"):
            bystander.check_untouched(platform)
    with allure.step("3-4. the hook recovers: the rest is torn down, nothing recreated, nothing left"):
        deletion.wait_converged(platform, target.snap, timeout=profile.budgets.delete * 2)
    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)


# --- RPR-4 ------------------------------------------------------------------------------------------


@pytest.mark.cluster_wide  # it holds Metacontroller down
@proves("RPR-4", "DEL-5")
def test_finalizer_force_removed_leaves_nothing_behind(
    kube: Kube,
    platform: Platform,
    profile: Profile,
    target: Prepared,
    bystander: Prepared,
    metacontroller_down: MetacontrollerDown,
) -> None:
    """RPR-4 (and DEL-5): the finalizer is stripped while children are left (dangling ownerReferences);
    the garbage collector collects them and nothing of the workspace remains.

    One child is held by a harness finalizer so that the collector's delete can be seen on it (it turns
    terminating) rather than raced against.
    """
    crd = profile.crd
    held_ref = next(iter(target.snap.of_kind("ConfigMap", "ServiceAccount", "Secret")))
    with metacontroller_down():
        with allure.step("1-2. the workspace and its UserSwarm are deleted (Metacontroller is down)"):
            deletion.delete_through_api(target)
            deletion.wait_terminating(platform, target.snap)
        held_obj = kube.get(held_ref.api_version, held_ref.kind, held_ref.name, held_ref.namespace)
        assert held_obj is not None, f"{held_ref} vanished while Metacontroller was down"
        with faults.finalizer_held(kube, held_obj) as held:
            with allure.step("the UserSwarm's finalizer is force-removed: it goes, its children dangle"):
                faults.strip_finalizer(kube, crd.api_version, crd.kind, target.snap.name, target.snap.finalizer)
                seen = wait_for(
                    lambda: deletion.observe(platform, target.snap),
                    until=lambda s: s.swarm is None,
                    description=f"the UserSwarm {target.snap.name} is gone once its finalizer is stripped",
                    timeout=profile.budgets.delete,
                )
                assert held in seen.left, f"the held child {held} is gone: nothing was left dangling"
            with allure.step("the garbage collector collects every child (the held one turns terminating)"):
                wait_for(
                    lambda: deletion.observe(platform, target.snap),
                    until=lambda s: s.left == [held] and not s.others and _terminating(kube, held),
                    description="every child but the held one is gone, and the held one is being deleted",
                    timeout=profile.budgets.delete,
                    interval=1.0,
                )
    with allure.step("nothing of the workspace is left"):
        deletion.wait_converged(platform, target.snap, timeout=profile.budgets.delete)
    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)


def _terminating(kube: Kube, ref: faults.ObjectRef) -> bool:
    obj = kube.get(ref.api_version, ref.kind, ref.name, ref.namespace)
    return bool(obj and obj["metadata"]["uid"] == ref.uid and obj["metadata"].get("deletionTimestamp"))


# --- RPR-5 ------------------------------------------------------------------------------------------


@proves("RPR-5", "DEL-4", "DEL-5")
def test_reaper_spares_live_owners_even_when_it_cannot_ask(
    kube: Kube, platform: Platform, profile: Profile, run_id: str, bystander: Prepared
) -> None:
    """RPR-5 (and DEL-4, DEL-5): with the orchestrator unreachable the reaper cannot tell who owns what, and
    deletes nothing, not even a real orphan; with it back, a sweep reaps the orphan and still keeps every
    swarm whose owner exists (so the first sweep's restraint was caution, not a reaper that does nothing)."""
    body = deletion.orphan_for(platform, bystander.workspace.id, run_labels(run_id))
    with faults.cronjob_suspended(kube, profile.components.reaper), faults.orphaned_swarm(kube, body) as created:
        orphan = deletion.wait_provisioned(platform, created["metadata"]["name"])
        with faults.scaled_to_zero(kube, profile.components.orchestrator, timeout=profile.budgets.install):
            with allure.step("the reaper runs to its end while the orchestrator cannot answer"):
                run = _run_reaper(kube, profile, run_id)
                allure.attach(run.logs, name=f"reaper {run.job}", attachment_type=allure.attachment_type.TEXT)
            consistently(
                lambda: {"bystander kept": _kept(platform, bystander.snap), "orphan kept": _kept(platform, orphan)},
                holds=lambda kept: all(kept.values()),
                description="the reaper that could not ask deleted nothing: the live owner's and the orphan's "
                "UserSwarms are both kept",
                duration=profile.budgets.negative,
            )
        with checks("DEL-4", "the reaper runs again with the orchestrator back, and reaps the orphan"):
            run = _run_reaper(kube, profile, run_id)
            allure.attach(run.logs, name=f"reaper {run.job}", attachment_type=allure.attachment_type.TEXT)
            assert run.succeeded, f"reaper Job {run.job} failed:\n{run.logs}"
            deletion.wait_converged(platform, orphan, timeout=profile.budgets.delete)
    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)


@proves("RPR-5", "DEL-4", "DEL-5")
def test_reaper_survives_one_failing_item(
    kube: Kube, platform: Platform, profile: Profile, run_id: str, bystander: Prepared
) -> None:
    """RPR-5 (and DEL-4, DEL-5): an orphan whose deletion is refused (by an admission policy) does not stop the
    sweep: the other orphan is reaped; once the refusal is lifted, the next sweep reaps them all. Whatever order
    the reaper sweeps in (by name or by age, either way round), a refused orphan comes before the other one: the
    refused ones are the first and the last by both name and creation."""
    crd = profile.crd
    labels = run_labels(run_id)
    bodies = sorted(
        (deletion.orphan_for(platform, bystander.workspace.id, labels) for _ in range(3)),
        key=lambda body: body["metadata"]["name"],
    )  # created in name order: the first and the last are refused, by name and by age alike
    with contextlib.ExitStack() as stack:
        stack.enter_context(faults.cronjob_suspended(kube, profile.components.reaper))
        orphans = [stack.enter_context(faults.orphaned_swarm(kube, body)) for body in bodies]
        first, other, last = (deletion.wait_provisioned(platform, o["metadata"]["name"]) for o in orphans)
        refused = (first, last)
        with contextlib.ExitStack() as denials:
            for snap in refused:
                denials.enter_context(
                    faults.deletion_denied(
                        kube,
                        group=crd.group,
                        resource=crd.plural,
                        target=snap.name,
                        labels=labels,
                        probe=functools.partial(faults.delete_refused, kube, crd.api_version, crd.kind, snap.name),
                        timeout=profile.budgets.verify,
                    )
                )
            with allure.step(f"the reaper sweeps while deleting {first.name} and {last.name} is refused"):
                run = _run_reaper(kube, profile, run_id)
                allure.attach(run.logs, name=f"reaper {run.job}", attachment_type=allure.attachment_type.TEXT)
                # What this sweep did to the other orphan is judged below, once reaping as such (DEL-4) is
                # known to work: a reaper that reaps no orphan at all is a DEL-4 breach, not an RPR-5 one.
                after_first_sweep = deletion.observe(platform, other)
                for snap in refused:
                    assert _kept(platform, snap), f"{snap.name} went although its deletion was refused"
        with checks("DEL-4", "with the refusals lifted, the next sweep reaps every orphan"):
            run = _run_reaper(kube, profile, run_id)
            assert run.succeeded, f"reaper Job {run.job} failed:\n{run.logs}"
            for snap in (first, other, last):
                deletion.wait_converged(platform, snap, timeout=profile.budgets.delete)
    with allure.step("the sweep with the failing items had still deleted the other orphan"):
        assert after_first_sweep.swarm is None or after_first_sweep.terminating, (
            f"the sweep that could not delete {first.name} and {last.name} left the orphan {other.name} alone: "
            f"{after_first_sweep.summary()}"
        )
    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)


@proves("RPR-5", "DEL-4")
def test_reaper_runs_on_schedule(
    kube: Kube, platform: Platform, profile: Profile, run_id: str, bystander: Prepared
) -> None:
    """RPR-5 (and DEL-4): without being triggered, the reaper's CronJob sweeps on its schedule and the
    orphan goes, while a Job the CronJob scheduled is running (so the schedule, not something else, did it)."""
    reaper = profile.components.reaper
    with contextlib.ExitStack() as stack:
        orphan, snap, since = _orphan_before_a_sweep(stack, kube, platform, profile, bystander, run_id)
        with allure.step("the CronJob is scheduled, untriggered"):
            wait_for(
                lambda: _last_schedule(kube, reaper),
                until=lambda last: last is not None and last >= since.replace(microsecond=0),
                description=f"the CronJob {reaper.name} is scheduled after the orphan appeared",
                timeout=profile.budgets.reaper,
                interval=2.0,
            )
        with checks("DEL-4", "the scheduled sweep reaps the orphan"):
            deleted_at = _deletion_time(kube, platform, orphan["metadata"]["name"], timeout=profile.budgets.reaper)
            deletion.wait_converged(platform, snap, timeout=profile.budgets.reaper + profile.budgets.delete)
        with checks("RPR-5", "a Job the CronJob scheduled (not one made by hand) was running when the orphan went"):
            jobs = _scheduled_jobs(kube, reaper, since=since)
            allure.attach(str(jobs), name="scheduled reaper Jobs", attachment_type=allure.attachment_type.TEXT)
            assert any(start - CLOCK_SLACK <= deleted_at <= end + CLOCK_SLACK for _, start, end in jobs), (
                f"the orphan was deleted at {deleted_at:%H:%M:%S}, while no scheduled Job of {reaper.name} ran: {jobs}"
            )
    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)


#: Timestamps of the API server are whole seconds: a Job that started in the same second as a deletion counts.
CLOCK_SLACK = timedelta(seconds=1)


def _orphan_before_a_sweep(
    stack: contextlib.ExitStack, kube: Kube, platform: Platform, profile: Profile, bystander: Prepared, run_id: str
) -> tuple[dict[str, Any], deletion.SwarmSnapshot, datetime]:
    """An orphan UserSwarm with its children, pinned before any sweep touched it, and when it appeared.

    A sweep the CronJob had just started (or starts in the seconds the children take) can reap the orphan
    before its children are seen: the reaper does its job, too early for anything to be checked against it (1
    run in 20 of a stability report, 2026-12-07). When a scheduled Job that was running then explains it, a
    second orphan is made once, after that Job ended: the next sweep is a period away. An orphan that goes
    with no scheduled Job running, or twice, fails the test.
    """
    reaper, crd = profile.components.reaper, profile.crd
    for attempt in (1, 2):
        made = datetime.now(UTC)
        body = deletion.orphan_for(platform, bystander.workspace.id, run_labels(run_id))
        orphan = stack.enter_context(faults.orphaned_swarm(kube, body))
        since = datetime.now(UTC)
        name = orphan["metadata"]["name"]
        try:
            snap = deletion.wait_provisioned(platform, name)
            current = kube.get(crd.api_version, crd.kind, name)
            if current is None or current["metadata"].get("deletionTimestamp"):
                raise deletion.SwarmGone(f"the UserSwarm {name} was deleted as soon as it had its children")
            return orphan, snap, since
        except deletion.SwarmGone as gone:
            window = made - timedelta(seconds=profile.budgets.reaper)
            racing = [job for job in _scheduled_jobs(kube, reaper, since=window) if job[2] >= made - CLOCK_SLACK]
            if attempt == 2 or not racing:
                raise
            allure.attach(
                f"{gone}; a scheduled Job was running: {racing}",
                name="a sweep already running reaped the first orphan: a second one is made",
                attachment_type=allure.attachment_type.TEXT,
            )
            wait_for(
                lambda: (kube.get("batch/v1", "CronJob", reaper.name, reaper.namespace) or {}).get("status") or {},
                until=lambda status: not status.get("active"),
                description=f"the running Job of {reaper.name} has ended",
                timeout=profile.budgets.reaper,
                interval=1.0,
            )
    raise AssertionError("unreachable: the second attempt returns or raises")


def _deletion_time(kube: Kube, platform: Platform, name: str, *, timeout: float) -> datetime:
    """When the UserSwarm ``name`` was marked for deletion (its ``deletionTimestamp``; its finalizer holds it
    while the teardown runs, so it is seen), or the time it was seen gone if it went faster than a look."""
    crd = platform.profile.crd
    found = wait_for(
        lambda: kube.get(crd.api_version, crd.kind, name) or {},
        until=lambda obj: not obj or bool(obj["metadata"].get("deletionTimestamp")),
        description=f"the UserSwarm {name} is being deleted",
        timeout=timeout,
        interval=0.5,
    )
    return _time(found["metadata"]["deletionTimestamp"]) if found else datetime.now(UTC)  # type: ignore[return-value]


def _scheduled_jobs(kube: Kube, cronjob: Any, *, since: datetime) -> list[tuple[str, datetime, datetime]]:
    """``(name, started, finished or now)`` of each Job the CronJob created on its schedule since ``since``
    (a Job created by hand from the CronJob carries ``cronjob.kubernetes.io/instantiate: manual``)."""
    found = []
    for job in kube.list("batch/v1", "Job", namespace=cronjob.namespace):
        meta, status = job["metadata"], job.get("status") or {}
        owned = any(
            r.get("kind") == "CronJob" and r.get("name") == cronjob.name for r in meta.get("ownerReferences") or []
        )
        manual = (meta.get("annotations") or {}).get("cronjob.kubernetes.io/instantiate") == "manual"
        started = _time(status.get("startTime"))
        if owned and not manual and started is not None and started >= since.replace(microsecond=0) - CLOCK_SLACK:
            found.append((meta["name"], started, _time(status.get("completionTime")) or datetime.now(UTC)))
    return found


def _last_schedule(kube: Kube, cronjob: Any) -> datetime | None:
    found = kube.get("batch/v1", "CronJob", cronjob.name, cronjob.namespace)
    assert found is not None, f"the CronJob {cronjob.namespace}/{cronjob.name} is gone"
    return _time((found.get("status") or {}).get("lastScheduleTime"))


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
