"""The harness's proof of itself: the defect matrix (``swarmconf selftest``) and repeated runs (``swarmconf
stability``).

Modules, one job each: :mod:`.expectations` (what each defect must break), :mod:`.runner` (one inner pytest
run of the suites, in a child process), :mod:`.target` (one cluster and the installed platform(s) for every
inner run), :mod:`.exclusive` (which clauses' tests take
down shared components), :mod:`.leftovers` (what a defect leaves behind by design, removed after its run) and
:mod:`.driver` (the matrix: baseline, then each defect, on one or more lanes, always switched back off). The
CLI commands are :mod:`swarmconf.cli.selftest` and :mod:`swarmconf.cli.stability`; judging and report files
live in :mod:`swarmconf.reports.matrix`, :mod:`swarmconf.reports.matrix_report` and
:mod:`swarmconf.reports.stability`.
"""
