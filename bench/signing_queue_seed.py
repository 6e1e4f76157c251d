"""The data the signing benchmarks start from (bench_batch_sign.py, bench_memory.py): the app as deployed
(batch_app.build) migrated, the demo seeded, and ``count`` domisili requests endorsed, claimed and forwarded to the
signing queue. Runs in a child process, so the benchmark's own process keeps no database handle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

SCRIPT = """
import sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
from flask_migrate import upgrade
from batch_app import build
from sempelmas.extensions import db
app = build()
with app.app_context():
    upgrade(directory={migrations!r})
    from sempelmas.services.kelurahan import demo
    from sempelmas.services.requests import lifecycle
    from sempelmas.services.requests import submission as requests
    from sempelmas.models.accounts import User
    from sempelmas.models.residents import Resident
    from sqlalchemy import select
    demo.seed(); db.session.commit()
    resident = db.session.scalar(select(Resident).where(Resident.nik == demo.DEMO_RESIDENT_NIK))
    applicant = db.session.scalar(select(User).where(User.resident_id == resident.id))
    staff = db.session.scalar(select(User).where(User.username == "petugas"))
    rt = db.session.scalar(select(User).where(User.username == "rt01"))
    waiting = []
    for i in range({count}):
        r = requests.submit("domisili", applicant, resident, {{"keperluan": "Membuka rekening bank"}},
                            idempotency_key=None)
        if lifecycle.target(r, "endorse") is not None:
            lifecycle.transition(r, "endorse", actor=rt, note="Benar warga kami.")
        lifecycle.transition(r, "claim", actor=staff)
        lifecycle.transition(r, "forward_to_signing", actor=staff)
        waiting.append(r.tracking_number)
    db.session.commit()
    print(demo.DEMO_LETTER_CODES[0], *waiting)
"""


def seed_signing_queue(env: dict, count: int, python: str = sys.executable) -> tuple[str, list[str]]:
    """A demo letter's verification code, and the tracking numbers of the ``count`` requests waiting to be signed."""
    script = SCRIPT.format(root=str(ROOT), bench=str(BENCH), migrations=str(ROOT / "migrations"), count=count)
    done = subprocess.run([python, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"preparing the data failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    code, *waiting = done.stdout.strip().splitlines()[-1].split()
    return code, waiting
