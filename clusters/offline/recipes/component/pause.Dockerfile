# The pause container: Debian's statically linked catatonit in pause mode (blocks, reaps, exits on signal).
FROM scratch
COPY bin/catatonit /catatonit
USER 65535:65535
ENTRYPOINT ["/catatonit", "-P"]
