"""Benchmark: `backup create`, the checksum check and `backup restore` on a kelurahan-sized data set.

The demo data, plus N uploaded documents (~200 KB of incompressible bytes each, like camera JPEGs) and M signed
letters (~56 KB, like the real PDFs), in a temporary instance (SQLite). Measured in-process, each step
``--runs`` times (median):

* ``baseline``  - the floor in the same run: SQLite's online backup of the same database plus GNU ``tar -czf``
                  (gzip -6) of the three folders;
* ``create``    - ``backup_create.create_backup()`` (DB copy, manifest hashes, tar.gz with every file re-hashed);
* ``verify``    - ``backup.verify()`` (every checksum, nothing written);
* ``restore``   - ``backup_restore.restore()`` (verify, extract with checks, DB restore, folders swapped).

Acceptance: create ≤ 2.0 × baseline (the price of hashing every file twice for a consistent manifest) and
restore ≤ 3.0 × baseline; archive mode 0600.

    .venv/bin/python bench/bench_backup.py [--files 500] [--letters 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import sqlite3
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--letters", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from sqlalchemy import insert, select

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.accounts import User
    from sempelmas.models.letters import Letter
    from sempelmas.models.requests import RequestAttachment
    from sempelmas.services.kelurahan import demo
    from sempelmas.services.operations import backup, backup_create, backup_restore

    work = Path(tempfile.mkdtemp(prefix="backup-bench-"))
    try:
        instance = work / "instance"
        cfg = {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.db'}",
               "INSTANCE_PATH": str(instance), "UPLOAD_DIR": str(instance / "uploads"),
               "LETTER_DIR": str(instance / "letters"), "PKI_DIR": str(instance / "pki"),
               "BACKUP_DIR": str(work / "backups"), "BACKUP_KEEP": 0, "ARGON2_TIME_COST": 1,
               "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1, "PKI_CA_PASSPHRASE": "bench-ca-passphrase-0123",
               "PKI_KEY_SCRYPT_LOG_N": 10}
        app = create_app(cfg)
        with app.app_context():
            db.create_all()
            demo.seed()
            db.session.commit()
            docs = Path(cfg["UPLOAD_DIR"]) / "dokumen"
            docs.mkdir(parents=True, exist_ok=True)
            # each document with its row (a draft of a demo resident): the backup takes the uploads its database
            # copy names, and the sweep deletes an old file no row names
            owner = db.session.scalar(select(User.id).limit(1))
            uploads = []
            for i in range(args.files):
                name = f"bench{i:05d}" + secrets.token_urlsafe(12) + ".jpg"
                (docs / name).write_bytes(os.urandom(200 * 1024))
                uploads.append({"draft_key": "bench-backup-drafts", "owner_user_id": owner, "uploaded_by_id": owner,
                                "requirement_code": "kk", "stored_name": name, "mime": "image/jpeg",
                                "size": 200 * 1024})
            if uploads:
                db.session.execute(insert(RequestAttachment), uploads)
                db.session.commit()
            letters = Path(cfg["LETTER_DIR"])
            letters.mkdir(parents=True, exist_ok=True)
            # each file with its Letter row: the backup takes the letters of its database copy, and its sweep
            # deletes a file no row names (an orphan of a crash while signing)
            demo_letter = db.session.scalar(select(Letter).limit(1))
            rows = []
            for i in range(args.letters):
                data = os.urandom(56 * 1024)
                (letters / f"bench-{i:05d}.pdf").write_bytes(data)
                rows.append({"request_id": demo_letter.request_id, "number": f"BENCH/{i:05d}", "scope": "bench",
                             "year": 2026, "sequence": i + 1, "verify_code": f"bench{i:015d}",
                             "service_code": demo_letter.service_code, "title": demo_letter.title,
                             "signer_user_id": demo_letter.signer_user_id, "stored_name": f"bench-{i:05d}.pdf",
                             "pdf_sha256": hashlib.sha256(data).hexdigest(), "pdf_size": len(data),
                             "status": "sah"})
            if rows:
                db.session.execute(insert(Letter), rows)
                db.session.commit()
            total = sum(p.stat().st_size for p in instance.rglob("*") if p.is_file())
            total += (work / "bench.db").stat().st_size
            print(f"data: {args.files} documents, {args.letters} letters + demo; {total / 1e6:.0f} MB on disk")

            def baseline() -> float:
                t = time.perf_counter()
                src, dst = sqlite3.connect(work / "bench.db"), sqlite3.connect(work / "copy.db")
                src.backup(dst)
                src.close()
                dst.close()
                subprocess.run(["tar", "-I", "gzip -1", "-cf", str(work / "base.tar.gz"), "-C", str(instance),
                                "uploads", "letters", "pki", "-C", str(work), "copy.db"], check=True, timeout=600)
                took = time.perf_counter() - t
                (work / "base.tar.gz").unlink()
                (work / "copy.db").unlink()
                return took

            def timed(fn):
                t = time.perf_counter()
                out = fn()
                return time.perf_counter() - t, out

            rows = {"baseline": [], "create": [], "verify": [], "restore": []}
            size = 0
            for _ in range(args.runs):
                rows["baseline"].append(baseline())
                took, made = timed(backup_create.create_backup)
                rows["create"].append(took)
                size = made.size
                assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
                rows["verify"].append(timed(lambda p=made.path: backup.verify(p))[0])
                rows["restore"].append(timed(lambda p=made.path: backup_restore.restore(p))[0])
                made.path.unlink()
            med = {k: statistics.median(v) for k, v in rows.items()}
            for k, v in med.items():
                ratio = f"  ({v / med['baseline']:.2f} × baseline)" if k != "baseline" else ""
                print(f"{k:9s} median {v:6.2f} s  runs {' '.join(f'{x:.2f}' for x in rows[k])}{ratio}")
            print(f"archive: {size / 1e6:.0f} MB, mode 0600")
            ok = med["create"] <= 2.0 * med["baseline"] and med["restore"] <= 3.0 * med["baseline"]
            print(f"create ≤ 2.0 × baseline and restore ≤ 3.0 × baseline: RESULT: {'PASS' if ok else 'FAIL'}")
            return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
