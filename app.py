"""WSGI entry point: ``gunicorn app:app`` and ``flask --app app …``."""

import sys

from sempelmas import create_app
from sempelmas.config import ConfigError

try:
    app = create_app()
except ConfigError as e:
    # the operator's mistake, said plainly (a traceback would bury it): every process refuses the same way
    sys.exit(f"SemPelMas tidak dijalankan / not started:\n{e}")
