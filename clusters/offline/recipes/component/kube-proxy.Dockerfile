# kube-proxy needs iptables (both backends), nftables and conntrack, on a Debian base.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables nftables conntrack kmod \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY bin/kube-proxy /usr/local/bin/kube-proxy
COPY iptables-wrapper /usr/sbin/iptables-wrapper
# every iptables entry point goes through the wrapper, which selects the backend the node uses
RUN chmod 0755 /usr/sbin/iptables-wrapper \
    && for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
         ln -sf /usr/sbin/iptables-wrapper /usr/sbin/$n; done
ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
