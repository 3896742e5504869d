# local-path-provisioner's helper: only needs sh, mkdir and rm (Debian's static busybox).
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/bin
