"""WSGI entry point: ``gunicorn app:app`` and ``flask --app app …``."""

import sys

from sempelmas import create_app
from sempelmas.config import ConfigError

try:
    app = create_app()
except ConfigError as e:
    # the operator's mistake, said plainly (a traceback would bury it): every process refuses the same way
    if "doctor" in sys.argv and "--json" in sys.argv:  # a monitor reading `doctor --json` still gets JSON
        import json

        print(json.dumps({"ok": False, "worst": "FAULT", "findings": [
            {"check": "settings", "level": "FAULT", "message": str(e), "fix": ""}]}, ensure_ascii=False))
        sys.exit(1)
    sys.exit(f"SemPelMas tidak dijalankan / not started:\n{e}")
