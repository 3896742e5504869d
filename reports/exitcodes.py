"""The exit codes of a conformance run: the one place that says what each number means.

A release is gated on these. ``swarmconf run`` returns them and a plain ``pytest --reports`` run sets them
as the session's exit status.

====  =================  =====================================================================================
code  name               meaning
====  =================  =====================================================================================
0     GATE_PASSED        every gating clause passed (baseline; baseline and strict with ``--level strict``),
                         in a run of the whole suite: only a complete run can open the gate.
1     CONTRACT_FAILED    at least one gating clause failed: a test's body proved the platform breaks it.
                         Wins over every other verdict: a proven breach is a proven breach.
2     INTERRUPTED        pytest's own code, kept: the run was interrupted (Ctrl-C, SIGTERM, ``-x``).
3     INFRA_ERROR        no contract failure, but the harness could not reach a verdict for some gating clause:
                         a fixture failed (cluster did not come up, build failed, platform install failed), a
                         teardown failed, or the suites did not collect. Every sub-command uses the same
                         number for such failures (:data:`swarmconf.cli.EXIT_INFRA` is this one).
4     USAGE_ERROR        pytest's own code, kept: bad command-line options.
5     NO_TESTS           pytest's own code, kept: nothing was selected, so nothing can be gated.
6     INCOMPLETE         nothing failed, but a gating clause was not run (no test names it, its tests were
                         skipped or never reached) or is not enforceable on this cluster.
7     PARTIAL            the run was narrowed on purpose (``-k``, ``-m``, ``--deselect``, ``--clause``, test paths
                         or node IDs) and every clause it judged passed: a quick answer for a developer, never
                         a release verdict. The verdict line says how many gating clauses were judged.
====  =================  =====================================================================================

Precedence, first match wins: 1, 3, 6, 7, 0 (and pytest's 2, 4, 5 are kept as they are). A narrowed run that
proves a breach still exits 1, and its verdict line says it was partial.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of a conformance run (see the module docstring for the table)."""

    GATE_PASSED = 0
    CONTRACT_FAILED = 1
    INTERRUPTED = 2
    INFRA_ERROR = 3
    USAGE_ERROR = 4
    NO_TESTS = 5
    INCOMPLETE = 6
    PARTIAL = 7


#: pytest exit statuses the reports never override: they say something the verdict cannot.
KEPT_PYTEST_CODES = frozenset({ExitCode.INTERRUPTED, ExitCode.USAGE_ERROR, ExitCode.NO_TESTS})


def describe(code: int) -> str:
    """One line for a person: what this exit code means for the release."""
    try:
        return _DESCRIPTIONS[ExitCode(code)]
    except ValueError:
        return f"exit code {code} (pytest internal error or unknown)"


_DESCRIPTIONS = {
    ExitCode.GATE_PASSED: "PASSED: every gating clause passed",
    ExitCode.CONTRACT_FAILED: "FAILED: the platform breaks at least one gating clause",
    ExitCode.INTERRUPTED: "INTERRUPTED: the run did not finish; no verdict",
    ExitCode.INFRA_ERROR: "INFRASTRUCTURE ERROR: the harness could not reach a verdict (not a contract failure)",
    ExitCode.USAGE_ERROR: "USAGE ERROR: pytest rejected the command line",
    ExitCode.NO_TESTS: "NO TESTS: nothing was selected; no verdict",
    ExitCode.INCOMPLETE: "INCOMPLETE: a gating clause was not run or is not enforceable here",
    ExitCode.PARTIAL: "PARTIAL: the run was narrowed on purpose; not a release verdict",
}
