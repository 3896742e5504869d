"""Which clause a failing test failed: per-clause checks inside a test that names several clauses.

Many tests prove one clause and, on the way, check others (a deletion test also checks that the bystander
workspace is untouched: DEL-5). Without more, a failure of such a test would count against every clause it
names, and a release manager could not tell which promise broke. Inside a test, a block that checks one
secondary clause is written::

    with checks("DEL-5", "the bystander is untouched and still answers"):
        bystander.check_untouched(platform)

It is an Allure step titled with the clause ID. A failure raised inside it is *blamed* on that clause; a
failure outside every such block is blamed on the test's first (primary) clause. When the block finishes
without a failure, its clause is recorded as *checked*. For a failed test, each clause it names is then:
failed if blamed; passed if a check of it had finished before the failure; not reached otherwise (the test
never got to check it). A test that passes passes every clause it names, as before.

The blame travels on the exception (an attribute), the checked clauses on the item's ``user_properties`` so
that both survive pytest-xdist's report serialisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

import allure

from swarmconf.contract import clause

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


def blamed_clause(exc: BaseException | None, named: tuple[str, ...]) -> str | None:
    """The clause a test's failure counts against: the one its :func:`checks` block named, else the primary
    (first) clause the test names; None when the test names none."""
    blamed = getattr(exc, BLAME_ATTRIBUTE, None) if exc is not None else None
    if isinstance(blamed, str) and blamed in named:
        return blamed
    return named[0] if named else None
