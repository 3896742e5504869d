# The project's single app image: the swarmconf packages on the Python runtime. Entrypoints are chosen
# per workload: `python -m swarmconf.reference.orchestrator`, `... .webhook`, `... .reaper`, `... .runtime`,
# `python -m swarmconf.clusters.metacontroller.controller`, ...
ARG BASE
FROM ${BASE}
COPY app/ /app/
ENV PYTHONPATH=/app
USER 65532:65532
WORKDIR /app
