"""The container engine: making sure a Docker daemon answers (``daemon.py``) and image operations (``images.py``)."""
