"""Which clause a failing test failed, and when a clause a test names counts as proven.

Many tests prove one clause and, on the way, check others (a deletion test also checks that the bystander
workspace is untouched: DEL-5). Without more, a failure of such a test would count against every clause it
names, and a release manager could not tell which promise broke. Inside a test, a block that checks one
secondary clause is written::

    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)

It is an Allure step titled with the clause ID. When the block finishes without a failure, its clause is
recorded as *checked* (information for the reader, never a verdict by itself).

**Blame** — the clause a contract failure counts against, first match wins:

1. the innermost ``checks()`` block the failure left (in the test body: the test says what it proves there);
2. the clause of a :class:`~swarmconf.contract.ContractBreach` in the exception's chain: always in a
   fixture's setup or teardown (two UserSwarms for one workspace, a workspace that never verifies, a
   bystander's message that fails, a cleanup that leaves objects behind), whether the test names that
   clause or not; in the body, only when the test names it;
3. the test's first (primary) clause: code outside every block proves the primary clause.

**The rule for a clause a test names** (the static declaration is the test's ``@pytest.mark.clause``
marker: ``checks()`` blocks are only met at run time, so which blocks were *expected* is unknowable once
the test stopped; the marker is what the test promised to check):

* the test passed (setup, body and teardown): the clause passes;
* the test failed and the failure is blamed on this clause: the clause fails;
* the test failed in its teardown, blamed on another clause, after the whole body ran and passed: the clause
  passes (all of its checks ran);
* the test failed anywhere else, blamed on another clause: the clause is *not reached* (not-run), even when a
  ``checks()`` block of it had finished, because another of its blocks, or the rest of the body, never ran
  (a failure between DEL-3's two blocks leaves DEL-3 not reached, never *pass*);
* the test errored (infrastructure), was skipped, or never reported (an xdist worker that crashed before the
  setup report; the clauses come from the collected marker then, not from the lost report): the clause has
  no verdict from it.

A clause's verdict is then the worst over every test that names it (:mod:`swarmconf.reports.verdicts`), so
a clause reads *pass* only when every test that names it ran to its end and passed.

The blame travels on the exception (an attribute), the checked clauses on the item's ``user_properties`` so
that both survive pytest-xdist's report serialisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

import allure

from swarmconf.contract import clause
from swarmconf.reports.outcomes import breach_of

__all__ = ["BLAME_ATTRIBUTE", "blamed_clause", "checks", "collecting_checks"]

#: Attribute set on the exception that leaves a :func:`checks` block: the clause ID to blame.
BLAME_ATTRIBUTE = "swarmconf_blamed_clause"

_checked: ContextVar[list[str] | None] = ContextVar("swarmconf_checked", default=None)


@contextlib.contextmanager
def checks(clause_id: str, title: str) -> Iterator[None]:
    """An Allure step that checks ``clause_id``: a failure inside it is blamed on that clause only."""
    clause(clause_id)  # an unknown ID is a bug in the test: fail loudly, at once
    with allure.step(f"{clause_id}: {title}"):
        try:
            yield
        except BaseException as exc:
            if getattr(exc, BLAME_ATTRIBUTE, None) is None:  # the innermost block has the last word
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(exc, BLAME_ATTRIBUTE, clause_id)
            raise
    recorded = _checked.get()
    if recorded is not None:
        recorded.append(clause_id)


@contextlib.contextmanager
def collecting_checks() -> Iterator[list[str]]:
    """Collect the clause IDs of the :func:`checks` blocks that finish while this context is open."""
    recorded: list[str] = []
    token = _checked.set(recorded)
    try:
        yield recorded
    finally:
        _checked.reset(token)


def blamed_clause(exc: BaseException | None, named: tuple[str, ...], *, phase: str = "call") -> str | None:
    """The clause a test's contract failure counts against (see the module docstring); None when none."""
    blamed = getattr(exc, BLAME_ATTRIBUTE, None) if exc is not None else None
    if isinstance(blamed, str) and blamed in named:
        return blamed
    breach = breach_of(exc)
    if breach is not None and (phase != "call" or breach.clause in named):
        return breach.clause
    return named[0] if named else None
