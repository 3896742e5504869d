ARG BASE
FROM ${BASE}
COPY bin/coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
