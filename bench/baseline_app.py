"""The bare baseline for bench_http.py: one Flask route, one SQLite primary-key lookup, a tiny template.

No extensions, no session, no CSRF, no i18n: what any Flask page costs at the least on this machine
under the same gunicorn settings.

Two variants of the same page:

* ``/orang/<pk>`` renders the template by name (``render_template``): Jinja compiles it once per
  worker and caches it, as it does for every template of the real app. This is the baseline.
* ``/rts/orang/<pk>`` uses ``render_template_string``, which compiles the template source again on
  every request (~1.8 ms on these machines, more than the rest of the request): shown for
  reference only, it would make the baseline about twice as slow as a real bare page.
 The database is the file named by ``BASELINE_DB`` (create it
with ``python bench/baseline_app.py init PATH``); the lookup goes through a SQLAlchemy Core engine
(pooled connection, like the real app) unless ``BASELINE_DRIVER=sqlite3`` (one plain connection per
worker process).

    BASELINE_DB=/tmp/b.db gunicorn -w 2 -k sync -b 127.0.0.1:8001 --chdir bench baseline_app:app
"""

from __future__ import annotations

import os
import random
import sqlite3
import sys

from flask import Flask, abort, render_template, render_template_string
from jinja2 import DictLoader

ROWS = 100
PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>{{ person.name }}</title></head>
<body><h1>{{ person.name }}</h1><p>RT {{ person.rt }} / RW {{ person.rw }}</p></body></html>
"""

app = Flask(__name__)
app.jinja_loader = DictLoader({"person.html": PAGE})  # the template "file", kept in this module
DB_PATH = os.environ.get("BASELINE_DB", "")
DRIVER = os.environ.get("BASELINE_DRIVER", "sqlalchemy")

if DRIVER == "sqlite3":
    _conn: sqlite3.Connection | None = None

    def lookup(pk: int):
        global _conn
        if _conn is None:  # opened in the worker after gunicorn forks
            _conn = sqlite3.connect(DB_PATH, check_same_thread=False)
            _conn.row_factory = sqlite3.Row
        return _conn.execute("SELECT id, name, rt, rw FROM people WHERE id = ?", (pk,)).fetchone()

else:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{DB_PATH}")
    QUERY = text("SELECT id, name, rt, rw FROM people WHERE id = :pk")

    def lookup(pk: int):
        with engine.connect() as conn:
            return conn.execute(QUERY, {"pk": pk}).mappings().first()


@app.get("/")
@app.get("/orang/<int:pk>")
def person(pk: int = 1):
    row = lookup(pk)
    if row is None:
        abort(404)
    return render_template("person.html", person=row)


@app.get("/rts/orang/<int:pk>")
def person_rts(pk: int):
    row = lookup(pk)
    if row is None:
        abort(404)
    return render_template_string(PAGE, person=row)


def init_db(path: str) -> None:
    """A small table: ROWS people with an integer primary key."""
    rng = random.Random(1)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE IF EXISTS people")
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, rt TEXT, rw TEXT)")
        conn.executemany(
            "INSERT INTO people (id, name, rt, rw) VALUES (?, ?, ?, ?)",
            [(i, f"WARGA {i:03d}", f"{rng.randint(1, 12):03d}", f"{rng.randint(1, 4):03d}")
             for i in range(1, ROWS + 1)],
        )
    conn.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "init":
        init_db(sys.argv[2])
    else:
        sys.exit("usage: python bench/baseline_app.py init PATH")
