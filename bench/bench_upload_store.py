"""Benchmark: what keeping uploads with their records costs (issue 13, uploads).

In a temporary instance (SQLite), measured in-process:

* ``store``    - one ~200 KB document stored and its row committed, ``--stores`` times: ``baseline`` writes the
                 file with ``Path.write_bytes`` (as before: no fsync, not tied to the transaction), ``store_file``
                 with an fsync of the file and of its folder and the transaction's bookkeeping (median per upload);
* ``sweep``    - ``upload_store.sweep`` over ``--files`` documents named by rows plus 1 % orphans (older than the
                 grace period, deleted and audited), against a ``baseline`` of one folder listing with a stat per
                 file and one SELECT of the names (the least a comparison of files and rows can do).

    .venv/bin/python bench/bench_upload_store.py [--stores 200] [--files 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stores", type=int, default=200)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from sqlalchemy import insert, select, text

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.accounts import AccountStatus, User
    from sempelmas.models.requests import RequestAttachment
    from sempelmas.services.files import upload_store, uploads

    work = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        instance = work / "instance"
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.db'}",
                          "INSTANCE_PATH": str(instance), "UPLOAD_DIR": str(instance / "uploads")})
        with app.app_context():
            db.create_all()
            owner = User(full_name="Bench", status=AccountStatus.VERIFIED)
            db.session.add(owner)
            db.session.commit()
            docs = uploads.upload_dir(uploads.DOCUMENTS)
            payload = os.urandom(200 * 1024)

            def row(name: str) -> dict:
                return {"draft_key": "bench-drafts", "owner_user_id": owner.id, "uploaded_by_id": owner.id,
                        "requirement_code": "kk", "stored_name": name, "mime": "image/jpeg", "size": len(payload)}

            def store(how) -> float:
                times = []
                for _ in range(args.stores):
                    name = secrets.token_urlsafe(24) + ".jpg"
                    t = time.perf_counter()
                    how(name)
                    db.session.execute(insert(RequestAttachment), [row(name)])
                    db.session.commit()
                    times.append(time.perf_counter() - t)
                return statistics.median(times)

            result = {"store baseline": [], "store_file": [], "sweep baseline": [], "sweep": []}
            for _ in range(args.runs):
                result["store baseline"].append(store(lambda name: (docs / name).write_bytes(payload)))
                result["store_file"].append(store(lambda name: uploads.store_file(uploads.DOCUMENTS, name, payload)))

            # the sweep's folder: --files named documents (small: the sweep reads names and stats, not contents)
            db.session.execute(text("DELETE FROM request_attachments"))
            db.session.commit()
            shutil.rmtree(docs)
            docs.mkdir()
            names = [f"bench{i:06d}" + secrets.token_urlsafe(12) + ".jpg" for i in range(args.files)]
            for name in names:
                (docs / name).write_bytes(b"x")
            for start in range(0, len(names), 5000):
                db.session.execute(insert(RequestAttachment), [row(n) for n in names[start:start + 5000]])
            db.session.commit()
            old = time.time() - 2 * app.config["UPLOAD_ORPHAN_GRACE_SECONDS"]

            def baseline_sweep() -> float:
                t = time.perf_counter()
                listed = {e.name: e.stat().st_mtime for e in os.scandir(docs)}
                held = set(db.session.scalars(select(RequestAttachment.stored_name)))
                db.session.rollback()
                _unnamed = listed.keys() - held
                return time.perf_counter() - t

            for _ in range(args.runs):
                for i in range(args.files // 100):
                    orphan = docs / (f"orph{i:05d}" + secrets.token_urlsafe(12) + ".jpg")
                    orphan.write_bytes(b"x")
                    os.utime(orphan, (old, old))
                result["sweep baseline"].append(baseline_sweep())
                t = time.perf_counter()
                swept = upload_store.sweep()
                result["sweep"].append(time.perf_counter() - t)
                assert swept.removed == {uploads.DOCUMENTS: args.files // 100} and not swept.missing

            med = {k: statistics.median(v) for k, v in result.items()}
            print(f"store: one {len(payload) // 1024} KB document and its row committed, median of {args.stores}, "
                  f"{args.runs} runs")
            print(f"  baseline (write_bytes)   {med['store baseline'] * 1000:7.2f} ms   runs "
                  + " ".join(f"{x * 1000:.2f}" for x in result["store baseline"]))
            print(f"  store_file (fsync, tied) {med['store_file'] * 1000:7.2f} ms   runs "
                  + " ".join(f"{x * 1000:.2f}" for x in result["store_file"])
                  + f"   (+{(med['store_file'] - med['store baseline']) * 1000:.2f} ms)")
            print(f"sweep: {args.files} named documents + {args.files // 100} orphans deleted and audited")
            print(f"  baseline (list + SELECT) {med['sweep baseline'] * 1000:7.1f} ms   runs "
                  + " ".join(f"{x * 1000:.1f}" for x in result["sweep baseline"]))
            print(f"  upload_store.sweep       {med['sweep'] * 1000:7.1f} ms   runs "
                  + " ".join(f"{x * 1000:.1f}" for x in result["sweep"])
                  + f"   ({med['sweep'] / med['sweep baseline']:.2f} × baseline)")
            return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
