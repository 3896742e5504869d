"""The offline toolchain: kind, Kubernetes and every image, built on this machine with no registry.

``build.py`` is the entry point (:func:`ensure_offline_build`); it runs the steps defined in
``gobuild.py`` (Go binaries from the module proxy), ``rootfs.py`` (debootstrapped and hand-made root
filesystems), ``components.py`` (the images kubeadm and the storage add-on expect, under their exact names)
and ``nodeimage.py`` (the kind node image with those images preloaded). ``cache.py`` knows where results
live and how their content keys are made; ``recipes/`` holds the files the images are built from.
"""
