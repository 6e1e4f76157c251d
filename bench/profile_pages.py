"""Where a page's time goes: per-request cost of the app's layers, in-process, without HTTP.

Companion to bench_http.py. Builds the same throw-away instance (temp SQLite, ``db upgrade``,
``seed-demo``), then times N requests through the Flask test client for:

* the bare baseline (bench/baseline_app.py);
* probe routes added to the *real* app object in this process only (the app code is untouched):
  ``plain`` returns a string (the cost of the app's request hooks and extensions), ``pk`` does what
  the baseline does (one primary-key lookup + the same tiny cached template), ``user`` also loads
  the logged-in user, ``layout`` renders an empty page extending ``base.html``;
* the real pages: GET /login (anonymous) and GET /warga/ (demo resident).

Optionally (``--profile PATH``) runs cProfile over N requests of one of them.

    .venv/bin/python bench/profile_pages.py [-n 500] [--profile /warga/] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
USER_AGENT = "sempelmas-bench/1.0"
DEMO_NIK = "3576034101900001"
DEMO_PASSWORD = "warga-demo"


def prepare(workdir: Path) -> None:
    os.environ.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=f"sqlite:///{workdir / 'app.db'}",
                      SEMPELMAS_ENV="development", BASELINE_DB=str(workdir / "baseline.db"))
    for argv in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([PYTHON, "-m", "flask", "--app", "app", *argv], cwd=ROOT, check=True,
                       capture_output=True, timeout=120)
    subprocess.run([PYTHON, str(BENCH / "baseline_app.py"), "init", os.environ["BASELINE_DB"]], check=True,
                   timeout=60)


def add_probes(app) -> None:
    from baseline_app import PAGE
    from flask import render_template
    from flask_login import current_user
    from jinja2 import ChoiceLoader, DictLoader

    from sempelmas.extensions import db
    from sempelmas.models.residents import Resident

    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"_bench/person.html": PAGE,
                    "_bench/layout.html": '{% extends "base.html" %}{% block content %}{% endblock %}'}),
        app.jinja_env.loader,
    ])

    def plain():
        return "ok"

    def pk():
        r = db.session.get(Resident, 1)
        return render_template("_bench/person.html", person={"name": r.full_name, "rt": r.rt, "rw": r.rw})

    def user():
        assert current_user.is_authenticated
        return pk()

    def layout():
        return render_template("_bench/layout.html")

    for name, view in (("plain", plain), ("pk", pk), ("user", user), ("layout", layout)):
        app.add_url_rule(f"/_bench/{name}", f"_bench_{name}", view)


def login(client) -> None:
    html = client.get("/login", headers={"User-Agent": USER_AGENT}).get_data(as_text=True)
    token = next(re.search(r'value="([^"]+)"', tag).group(1) for tag in re.findall(r"<input[^>]*>", html)
                 if 'name="csrf_token"' in tag)
    resp = client.post("/login", headers={"User-Agent": USER_AGENT},
                       data={"identifier": DEMO_NIK, "password": DEMO_PASSWORD, "csrf_token": token})
    assert resp.status_code in (302, 303) and "/warga" in resp.headers["Location"], resp.status_code


def cpu_ms(client, path: str, n: int) -> float:
    """CPU milliseconds per request over n requests (process time: on a shared machine wall time
    mostly measures the neighbours)."""
    start = time.process_time()
    for _ in range(n):
        resp = client.get(path, headers={"User-Agent": USER_AGENT})
    if resp.status_code != 200:
        raise SystemExit(f"{path} answered {resp.status_code}")
    return (time.process_time() - start) / n * 1000


def measure_in_turns(cases: list[tuple], n: int, rounds: int, app=None) -> list[float]:
    """cases: (client, path[, patch]); every round measures each case once; the best round counts."""
    best = [float("inf")] * len(cases)
    for case in cases:  # warm-up: templates compiled, pools filled
        cpu_ms(case[0], case[1], 20)
    for _ in range(rounds):
        for i, (client, path, *patch) in enumerate(cases):
            undo = patch[0](app) if patch and patch[0] else None
            try:
                cpu_ms(client, path, 10)
                best[i] = min(best[i], cpu_ms(client, path, n))
            finally:
                if undo:
                    undo()
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=100, help="requests per timing")
    ap.add_argument("--rounds", type=int, default=7, help="measure every case this many times, in turns")
    ap.add_argument("--what-if", action="store_true",
                    help="also price suggested changes: cached kelurahan profile, one-query user loader, "
                         "and the cost of an uploaded 200 KB logo")
    ap.add_argument("--profile", help="cProfile this path (e.g. /warga/, /login, /_bench/layout)")
    ap.add_argument("--as", dest="who", choices=["anonymous", "resident"],
                    help="client for --profile (default: anonymous for /login, else the demo resident)")
    ap.add_argument("--only-profile", action="store_true", help="skip the timing table")
    ap.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    ap.add_argument("--lines", type=int, default=40)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="sempelmas-profile-pages-") as tmp:
        prepare(Path(tmp))
        sys.path[:0] = [str(ROOT), str(BENCH)]
        import baseline_app

        from sempelmas import create_app

        app = create_app()
        add_probes(app)
        anon = app.test_client()
        resident = app.test_client()
        login(resident)
        base = baseline_app.app.test_client()

        rows = [
            ("baseline (bare Flask, pk + tiny template)", base, "/orang/1"),
            ("app: plain string, anonymous", anon, "/_bench/plain"),
            ("app: plain string, logged in", resident, "/_bench/plain"),
            ("app: pk + tiny template, anonymous", anon, "/_bench/pk"),
            ("app: pk + tiny template + current_user", resident, "/_bench/user"),
            ("app: empty page on base.html, anonymous", anon, "/_bench/layout"),
            ("app: empty page on base.html, logged in", resident, "/_bench/layout"),
            ("GET /login (anonymous)", anon, "/login"),
            ("GET /warga/ (demo resident)", resident, "/warga/"),
        ]
        base_ms = None
        if not args.only_profile:
            times = measure_in_turns([(c, p) for _l, c, p in rows], args.n, args.rounds)
            base_ms = times[0]
            print(f"{'request (Flask test client, in-process)':<50} {'CPU ms':>7} {'x base':>7}")
            for (label, _c, _p), ms in zip(rows, times, strict=True):
                print(f"{label:<50} {ms:>7.3f} {ms / base_ms:>7.2f}")
            print(f"(CPU time per request, best of {args.rounds} rounds x {args.n} requests, measured in turns; "
                  "the test client's own cost is in every row)")

        if args.what_if:
            from whatif import combined, with_cached_profile, with_logo, with_one_query_user

            configs = [
                ("as is", None),
                ("with a 200 KB logo uploaded", with_logo),
                ("profile cached per process (logo deferred)", with_cached_profile),
                ("user + roles + resident in one query", with_one_query_user),
                ("both", combined(with_cached_profile, with_one_query_user)),
            ]
            cases = [(base, "/orang/1", None)]
            for _label, patch in configs:
                cases += [(anon, "/login", patch), (resident, "/warga/", patch)]
            times = measure_in_turns(cases, args.n, args.rounds, app)
            base_ms = times[0]
            print("\nWhat if (patched in this process only; the app code is unchanged), CPU ms per request:")
            print(f"{'':<46} {'/login':>7} {'/warga/':>8}   x base: /login /warga/")
            for i, (label, _patch) in enumerate(configs):
                a, b = times[1 + 2 * i], times[2 + 2 * i]
                print(f"{label:<46} {a:>7.3f} {b:>8.3f}   {a / base_ms:>13.2f} {b / base_ms:>7.2f}")
            print(f"(baseline {base_ms:.3f} ms)")

        if args.profile:
            who = args.who or ("anonymous" if args.profile.startswith("/login") else "resident")
            client = anon if who == "anonymous" else resident
            cpu_ms(client, args.profile, 50)
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.n):
                client.get(args.profile, headers={"User-Agent": USER_AGENT})
            prof.disable()
            print(f"\ncProfile of {args.n} x GET {args.profile} ({who})")
            pstats.Stats(prof).sort_stats(args.sort).print_stats(args.lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
