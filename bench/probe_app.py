"""The real app with two probe pages, to show the floor a page of this app stands on.

Served by ``bench_http.py --floor`` next to the real app (same database, same secret key):

* ``/_probe/plain``: returns a string (the app's request hooks, session, extensions: nothing else);
* ``/_probe/empty``: an empty page on ``base.html`` (header, navigation, language switch, footer),
  the layout every real page carries before it shows anything.

The probes exist only in this process; the app's code is not changed.
"""

from __future__ import annotations

from flask import render_template
from jinja2 import ChoiceLoader, DictLoader

from sempelmas import create_app

app = create_app()
app.jinja_env.loader = ChoiceLoader([
    DictLoader({"_probe/empty.html": '{% extends "base.html" %}{% block content %}{% endblock %}'}),
    app.jinja_env.loader,
])


@app.get("/_probe/plain")
def probe_plain():
    return "ok"


@app.get("/_probe/empty")
def probe_empty():
    return render_template("_probe/empty.html")
