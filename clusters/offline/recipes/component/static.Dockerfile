# A control-plane or add-on binary on the hand-made static base (stands in for distroless-static).
ARG BASE
FROM ${BASE}
COPY bin/ /usr/local/bin/
ENV PATH=/usr/local/bin:/usr/bin:/bin
