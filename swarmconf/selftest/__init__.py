"""The harness's proof of itself: the defect matrix (``swarmconf selftest``) and repeated runs (``swarmconf
stability``).

Modules, one job each: :mod:`.expectations` (what each defect must break), :mod:`.runner` (one inner pytest
run of the suites, in a child process), :mod:`.target` (one cluster and one installed platform for every inner
run), :mod:`.leftovers` (what a defect leaves behind by design, removed after its run), :mod:`.driver` (the
matrix: baseline, then each defect, always switched back off) and :mod:`.stability` (N full runs). Judging and
report files live in :mod:`swarmconf.reports.matrix`, :mod:`swarmconf.reports.matrix_report` and
:mod:`swarmconf.reports.stability`.
"""
