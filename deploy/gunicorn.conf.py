"""gunicorn settings of a SemPelMas deployment (``gunicorn -c deploy/gunicorn.conf.py app:app``; the Makefile's
`serve` and deploy/sempelmas-web.service use it). Memory per deployment: issue 17, bench/bench_memory.py.

- ``preload_app``: the app is imported once, in the master, and the workers are forked from it, so they share its
  code and data pages instead of each importing its own copy (measured: 3 sync workers idle ~88 → ~40 MB PSS
  each). Safe because ``create_app`` opens no database connection and starts no thread (the limiter's
  ``memory://`` store arms its timer only after a hit, never in the master); ``post_fork`` still sets aside any
  pool a worker inherits, so a future change that connects at start cannot share a connection between processes.
  The price: ``kill -HUP`` (systemctl reload) restarts the workers from the master's already imported code, so an
  upgrade needs ``systemctl restart``, not reload.
- ``gc.freeze()`` once the app is loaded: the objects made at import are moved out of the collector's sight, so a
  collection in a worker does not write to (and so copy) every shared page it would otherwise visit.
- ``SEMPELMAS_PRELOAD_PDF=1``: the PDF, QR and signing libraries (xhtml2pdf, reportlab, pyHanko, qrcode) are
  imported in the master too, so the workers share them instead of each loading them at its first letter.
"""

from __future__ import annotations

import gc
import os

preload_app = True
PDF_LIBRARIES = ("xhtml2pdf.pisa", "xhtml2pdf.default", "reportlab.pdfbase.ttfonts", "qrcode", "pyhanko.sign.signers",
                 "pyhanko.sign.fields", "pyhanko.pdf_utils.incremental_writer", "pyhanko.sign.validation",
                 "pyhanko_certvalidator")


def when_ready(server) -> None:
    if os.environ.get("SEMPELMAS_PRELOAD_PDF", "").lower() in {"1", "true", "yes"}:
        import importlib

        for name in PDF_LIBRARIES:  # what services/letters/pdf.py and signing.py import when they first run
            importlib.import_module(name)
    gc.freeze()


def post_fork(server, worker) -> None:
    from sempelmas.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # an inherited pool is the master's: the worker opens its own connections
