"""Classify pytest's phase reports into one :class:`~swarmconf.reports.verdicts.TestRecord` per test.

The rule that separates an infrastructure error from a contract failure:

* an exception that declares what it is decides, in any phase: walking it and its ``__cause__``/
  ``__context__`` chain, the first one that is a :class:`~swarmconf.contract.ContractBreach` (the platform
  broke that clause: two UserSwarms for one workspace, a workspace that never verifies, a bystander's
  message that fails, a cleanup that leaves the platform's objects behind) makes a contract failure, and
  the first one with a true ``infrastructure`` attribute (the fixtures layer sets that on its own error
  types: a port-forward that never opened, a fault that could not be injected) an infrastructure error;
* otherwise a failure in **setup** or **teardown** (a fixture: cluster, build, platform install) is an
  infrastructure error, and a failure in the **call** (the test body, which only talks to the platform) is
  a contract failure;
* an expected failure (``xfail``) is a failure of the clause: it is known, not met;
* a skip whose reason starts with ``not enforceable`` (any case; see :func:`not_enforceable`) means the
  cluster cannot enforce the clause (for example no NetworkPolicy-enforcing CNI): never a pass.

The classification is made where the exception is at hand (``pytest_runtest_makereport``) and stored in the
report's ``user_properties``, so it survives pytest-xdist's report serialisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NoReturn

import pytest

from swarmconf.contract import ContractBreach
from swarmconf.reports.verdicts import TestRecord, TestStatus

#: ``user_properties`` keys this plugin writes on items and reports.
CLAUSE_PROPERTY = "clause"
FAILURE_PROPERTY = "swarmconf.failure"
#: The clause a contract failure is blamed on, and the clauses whose checks finished (see :mod:`.attribution`).
BLAMED_PROPERTY = "swarmconf.blamed"
CHECKED_PROPERTY = "swarmconf.checked"

#: Values of :data:`FAILURE_PROPERTY` (also the Allure label that drives the categories).
INFRASTRUCTURE = "infrastructure"
CONTRACT = "contract"
STRICT_GAP = "strict-gap"

NOT_ENFORCEABLE_PREFIX = "not enforceable"


def not_enforceable(reason: str) -> NoReturn:
    """Skip the current test because this cluster cannot enforce the clause; reported as not-enforceable."""
    pytest.skip(f"{NOT_ENFORCEABLE_PREFIX}: {reason}")


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and those it was raised from or during, innermost last, each once."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__


def _deciding(exc: BaseException | None) -> BaseException | None:
    """The first link of the chain that declares what the failure is (a breach, or infrastructure)."""
    for link in _chain(exc):
        if isinstance(link, ContractBreach) or getattr(link, "infrastructure", False) is True:
            return link
    return None


def declared_kind(exc: BaseException | None) -> str | None:
    """``contract`` or ``infrastructure`` when the exception (or its chain) declares it, else None."""
    link = _deciding(exc)
    if link is None:
        return None
    return CONTRACT if isinstance(link, ContractBreach) else INFRASTRUCTURE


def breach_of(exc: BaseException | None) -> ContractBreach | None:
    """The :class:`~swarmconf.contract.ContractBreach` that decides this failure, if one does."""
    link = _deciding(exc)
    return link if isinstance(link, ContractBreach) else None
    return None


def is_infrastructure(exc: BaseException | None) -> bool:
    """True when the exception or one it was raised from declares itself an infrastructure error."""
    return declared_kind(exc) == INFRASTRUCTURE


def failure_kind(when: str, exc: BaseException | None) -> str:
    """Classify a failed phase: what the exception declares, else ``infrastructure`` for fixtures and
    ``contract`` for the test body."""
    return declared_kind(exc) or (CONTRACT if when == "call" else INFRASTRUCTURE)


def clauses_of(user_properties: Iterable[tuple[str, Any]]) -> tuple[str, ...]:
    """The clause IDs stored on an item or report."""
    return tuple(dict.fromkeys(str(v) for k, v in user_properties if k == CLAUSE_PROPERTY))


def record(reports: Sequence[pytest.TestReport]) -> TestRecord:
    """Fold a test's setup/call/teardown reports into one classified record."""
    first = reports[0]
    status, phase, message = TestStatus.PASSED, "call", ""
    for rep in reports:
        new = _phase_status(rep)
        if new is None:
            continue
        if status is TestStatus.PASSED or rep.when != "teardown":
            status, phase, message = new, rep.when, failure_message(rep)
    props = [p for rep in reports for p in rep.user_properties]
    duration = sum(rep.duration for rep in reports)
    blamed = _values(props, BLAMED_PROPERTY) if status is TestStatus.FAILED else ()
    return TestRecord(
        first.nodeid,
        tuple(dict.fromkeys((*clauses_of(props), *blamed))),  # a breach of a clause the test does not name
        status,
        phase=phase,
        message=message,
        duration=duration,
        blamed=blamed,
        checked=_values(props, CHECKED_PROPERTY),
    )


def _values(props: Iterable[tuple[str, Any]], key: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v) for k, v in props if k == key))


def _phase_status(rep: pytest.TestReport) -> TestStatus | None:
    if rep.passed:
        return None
    if rep.skipped:
        if hasattr(rep, "wasxfail"):
            return TestStatus.FAILED
        return _skip_status(failure_message(rep))
    kind = dict(rep.user_properties).get(FAILURE_PROPERTY)
    if kind is None:
        kind = INFRASTRUCTURE if rep.when != "call" else CONTRACT
    return TestStatus.INFRA if kind == INFRASTRUCTURE else TestStatus.FAILED


def _skip_status(reason: str) -> TestStatus:
    if reason.lower().startswith(NOT_ENFORCEABLE_PREFIX):
        return TestStatus.NOT_ENFORCEABLE
    return TestStatus.SKIPPED


def failure_message(rep: pytest.TestReport) -> str:
    """A one-line reason: the skip reason, the xfail reason, or the exception line."""
    if hasattr(rep, "wasxfail") and rep.skipped:
        return f"xfail: {rep.wasxfail}".rstrip(": ")
    longrepr = rep.longrepr
    if isinstance(longrepr, tuple):
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:500] if crash.message else ""
    lines = str(longrepr or "").strip().splitlines()
    return lines[-1][:500] if lines else ""
