"""The bare baseline for bench_verify.py: one Flask route doing one primary-key lookup in the ``letters``
table of the same database the real app serves (SQLite file or PostgreSQL, ``BASELINE_DATABASE_URL``),
rendering a tiny cached template. No extensions, no session, no CSRF, no i18n.

    BASELINE_DATABASE_URL=sqlite:////tmp/v.db gunicorn -w 2 -k sync --chdir bench verify_baseline_app:app
"""

from __future__ import annotations

import os

from flask import Flask, abort, render_template
from jinja2 import DictLoader
from sqlalchemy import create_engine, text

PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>{{ l.number }}</title></head>
<body><h1>{{ l.status }}</h1><p>{{ l.title }}</p><p>{{ l.number }}</p></body></html>
"""

app = Flask(__name__)
app.jinja_loader = DictLoader({"letter.html": PAGE})
engine = create_engine(os.environ.get("BASELINE_DATABASE_URL", "sqlite://"))
QUERY = text("SELECT id, number, title, status FROM letters WHERE id = :pk")


@app.get("/b/<int:pk>")
def letter(pk: int):
    with engine.connect() as conn:
        row = conn.execute(QUERY, {"pk": pk}).mappings().first()
    if row is None:
        abort(404)
    return render_template("letter.html", l=row)
