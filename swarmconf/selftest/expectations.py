"""What each defect of the platform under test must break, from its profile and its defect documentation.

The profile's ``defects.names`` maps each defect to the clause it breaks; when it is empty (the bundled
reference profile), the setter's module supplies ``CLAUSES`` (``Defect`` → clause ID), as
``swarmconf.reference.common.defects`` does. On top of that, the couplings ``reference/DEFECTS.md`` documents:
:data:`COUPLED` (the defect must also break these) and :data:`MAY_BREAK` (it may, depending on what the suite
probes).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping

from swarmconf.fixtures.profiles import Profile
from swarmconf.reports.matrix import Expectation, expectations_from

COUPLED: Mapping[str, tuple[str, ...]] = {
    "msg2-route-by-user": ("MSG-4",),  # DEFECTS.md: "MSG-2 (and so MSG-4)": the reply is from the wrong swarm
}
#: Rows narrowed to the test that sees the defect: every DEL-5 test (most of the deletion and recovery suites,
#: each run alone) would take 13 minutes to show what the first one shows; the six DEL-4 tests each wait out a
#: reaper budget (1170 s, the slowest row of 2026-12-05) where the one whose orphan the harness made is the
#: test written to see a reaper that only knows its own creations.
KEYWORDS: Mapping[str, str] = {
    "del4-reaper-only-orchestrator-swarms": "test_reaper_removes_a_userswarm_without_owner",
    # a DEL-1 or DEL-3 defect makes each failing test wait out its deletion budget (about 200 s); one shows it
    "del1-readable-while-terminating": "test_deletion_runs_its_four_steps_in_order",
    "del3-finalize-orphans-pvc": "test_finalize_after_a_partial_teardown_completes_it",
    "del5-teardown-deletes-all-configmaps": "test_deletion_runs_its_four_steps_in_order",
    "del6-redelete-fails-while-terminating": "test_deleting_twice_is_harmless",
    "msg5-one-gate-for-all": "test_nothing_flows_until_verified",
}
MAY_BREAK: Mapping[str, tuple[str, ...]] = {
    "iso1-nodeport-service": ("ISO-2",),  # DEFECTS.md: "may also fail ISO-2 if the suite probes node ports"
}


class NoDefects(ValueError):
    """The profile has no defect switch, or names a defect it does not know."""


def defect_clauses(profile: Profile) -> dict[str, str]:
    """``defect name → clause ID`` for every defect the profile's switch knows, in its declared order."""
    spec = profile.defects
    if spec is None:
        raise NoDefects(f"profile {profile.name} has no defect switch: a self-test needs one")
    if spec.names:
        return dict(spec.names)
    module = importlib.import_module(spec.setter.partition(":")[0])
    clauses = getattr(module, "CLAUSES", None)
    if not isinstance(clauses, Mapping) or not clauses:
        raise NoDefects(f"profile {profile.name}: give defects.names (the setter's module has no CLAUSES)")
    return {str(getattr(k, "value", k)): str(v) for k, v in clauses.items()}


def expectations(profile: Profile, *, only: Iterable[str] = ()) -> list[Expectation]:
    """The expectations of every defect (or of ``only`` these, in the order given)."""
    known = defect_clauses(profile)
    wanted = list(dict.fromkeys(only)) or list(known)
    unknown = [d for d in wanted if d not in known]
    if unknown:
        raise NoDefects(f"unknown defect(s) {', '.join(unknown)}; the profile knows: {', '.join(known)}")
    return expectations_from({d: known[d] for d in wanted}, coupled=COUPLED, may=MAY_BREAK, keywords=KEYWORDS)
