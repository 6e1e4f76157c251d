"""Benchmark: complaint pages with many complaints, in-process (Flask test client, no HTTP server).

Seeds a fresh SQLite database (``flask db upgrade``, then a bulk insert of N complaints spread over the
three statuses, with one event each) and times, as medians over ``--rounds`` requests:
the staff queue (new complaints, oldest first: the (status, created_at) index), the staff queue of all
complaints, the staff detail page, the public tracking page by code, a public filing without a photo,
and a public filing with a 12-megapixel camera photo (re-encoded). No targets are set by the issue; the
figures show the pages stay flat as complaints pile up.

    .venv/bin/python bench/bench_complaints.py [--complaints 50000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--complaints", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="complaints-bench-"))
    os.environ.update({"DATABASE_URL": f"sqlite:///{work / 'bench.db'}", "SECRET_KEY": "bench",
                       "SEMPELMAS_ENV": "development"})
    from flask_migrate import upgrade
    from PIL import Image
    from sqlalchemy import insert, select

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
    from sempelmas.models.complaints import Complaint, ComplaintEvent
    from sempelmas.services.accountability import complaints
    from sempelmas.services.kelurahan.demo import seed_profile
    from sempelmas.services.people.passwords import hash_password

    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"], "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "COMPLAINT_RATE_LIMIT": "100000 per hour",
                      "UPLOAD_DIR": str(work / "uploads"), "INSTANCE_PATH": str(work)})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_profile()
        staff = User(username="petugas", full_name="Petugas", status=AccountStatus.VERIFIED,
                     password_hash=hash_password("petugas-bench"))
        staff.roles.append(RoleGrant(role=Role.STAFF))
        db.session.add(staff)
        db.session.commit()
        rng = random.Random(6)
        start = datetime(2025, 1, 1)
        t0 = time.perf_counter()
        rows = []
        for i in range(args.complaints):
            at = start + timedelta(minutes=15 * i)
            rows.append({"code": complaints.new_code(), "name": f"Pengadu {i}", "phone": "+6281234567890",
                         "category": rng.choice(list(complaints.COMPLAINT_CATEGORIES)),
                         "subject": f"Keluhan {i}", "body": "Isi pengaduan untuk uji kinerja.",
                         "status": rng.choice(["baru", "diproses", "selesai", "selesai"]),
                         "created_at": at, "updated_at": at})
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(Complaint), rows[chunk:chunk + 5000])
        ids = db.session.scalars(select(Complaint.id)).all()
        for chunk in range(0, len(ids), 5000):
            db.session.execute(insert(ComplaintEvent), [{"complaint_id": i, "action": "file", "to_status": "baru",
                                                         "at": start} for i in ids[chunk:chunk + 5000]])
        db.session.commit()
        print(f"seeded {args.complaints:,} complaints in {time.perf_counter() - t0:.1f} s")
        sample = db.session.execute(select(Complaint.id, Complaint.code).order_by(Complaint.id)
                                    .limit(2000)).all()
        db.session.remove()

    buf = io.BytesIO()
    Image.effect_noise((4000, 3000), 40).convert("RGB").save(buf, "JPEG", quality=90)
    camera = buf.getvalue()
    form = {"name": "Budi Santoso", "phone": "081234567890", "category": "pelayanan",
            "subject": "Antrean terlalu lama", "body": "Saya menunggu dua jam di loket."}

    def timed(fn) -> float:
        out = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            resp = fn()
            out.append((time.perf_counter() - t) * 1000)
            assert resp.status_code in (200, 303), resp.status_code
            resp.close()
        return statistics.median(out)

    client = app.test_client()
    client.post("/login", data={"identifier": "petugas", "password": "petugas-bench"})
    anon = app.test_client()
    pick = random.Random(1)
    counter = iter(range(10**9))
    results = {
        "GET /petugas/pengaduan (baru)": timed(lambda: client.get("/petugas/pengaduan?status=baru")),
        "GET /petugas/pengaduan (semua)": timed(lambda: client.get("/petugas/pengaduan?status=")),
        "GET /petugas/pengaduan/<id>": timed(lambda: client.get(f"/petugas/pengaduan/{pick.choice(sample)[0]}")),
        "GET /pengaduan/<code>": timed(lambda: anon.get(f"/pengaduan/{pick.choice(sample)[1]}")),
        "POST /pengaduan (no photo)": timed(lambda: anon.post("/pengaduan", data={
            **form, "kunci": f"k{next(counter)}"})),
        "POST /pengaduan (12 MP photo)": timed(lambda: anon.post("/pengaduan", data={
            **form, "kunci": f"k{next(counter)}", "photo": (io.BytesIO(camera), "kamera.jpg")},
            content_type="multipart/form-data")),
    }
    print(f"{args.complaints:,} complaints, median of {args.rounds} requests each (in-process):")
    for name, ms in results.items():
        print(f"  {name:<34} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
