# Upstream Metacontroller's image, laid out as its own Dockerfile (v4.17.2) lays it out: the static binary at
# /usr/bin/metacontroller, CA certificates, user nonroot (65532), CMD the binary. The base is the hand-made
# static root filesystem (passwd with nonroot, CA bundle) instead of Alpine, which no registry here serves.
ARG BASE
FROM ${BASE}
COPY bin/metacontroller /usr/bin/metacontroller
USER 65532:65532
CMD ["/usr/bin/metacontroller"]
