"""The real app as `make run` builds it (configuration from the environment), with its instance folder (letters,
uploads, CA) in the benchmark's temporary directory instead of the project's ``instance/``: served by
``bench_batch_sign.py``. BENCH_INSTANCE names that folder. Nothing of the app is changed."""

from __future__ import annotations

import os

from sempelmas import create_app
from sempelmas.config import _env_overrides


def build():
    return create_app({**_env_overrides(), "INSTANCE_PATH": os.environ["BENCH_INSTANCE"]})


app = build()
