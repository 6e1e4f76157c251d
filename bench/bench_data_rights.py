"""Benchmark: a heavy resident's "Data saya" export (JSON and PDF) and the erasure of their account, in-process.

A resident with --requests requests (each with its submission event, two attachment rows and a notification),
--audit audit entries of theirs among 10x as many of other people's. Prints the median of --rounds runs of
``data_export.export`` + JSON encoding, of ``export_pdf``, and one ``grant_deletion``. No target is set by the
issue; the figures show the downloads stay interactive for a resident with years of history.

    .venv/bin/python bench/bench_data_rights.py [--requests 300] [--audit 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--audit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.audit import AuditEntry
    from sempelmas.models.notifications import Notification
    from sempelmas.models.requests import RequestAttachment, RequestStatus
    from sempelmas.services.accountability import data_erasure, data_export
    from tests.conftest import Factory, test_config
    from tests.request_factory import make_profile, make_service, submit

    tmp = Path(tempfile.mkdtemp(prefix="pdp-bench-"))
    app = create_app(test_config(f"sqlite:///{tmp / 'bench.db'}", tmp))
    with app.app_context():
        db.create_all()  # a throw-away benchmark database, not the app's
        make_profile()
        make_service()
        f = Factory()
        budi, other = f.warga(name="BUDI SANTOSO"), f.warga(name="SITI AMINAH")
        staff = f.staff("petugas")
        for i in range(args.requests):
            req = submit(budi, answers={"keperluan": f"Keperluan {i}"})
            db.session.add_all([RequestAttachment(request_id=req.id, owner_user_id=budi.id, requirement_code="kk",
                                                  stored_name=f"b{i}-{j}.jpg", mime="image/jpeg", size=1000)
                                for j in range(2)])
            db.session.add(Notification(user_id=budi.id, kind="x", message=f"Pesan {i}"))
            req.status = RequestStatus.CANCELLED
        for i in range(args.audit * 11):
            who = budi if i % 11 == 0 else other
            db.session.add(AuditEntry(action="auth.login", actor_id=who.id, object_type="users",
                                      object_id=str(who.id), details={"n": i}))
        db.session.commit()

        def timed(fn) -> float:
            start = time.perf_counter()
            fn()
            return (time.perf_counter() - start) * 1000

        size = {}

        def export_json():
            size["json"] = len(json.dumps(data_export.export(budi), ensure_ascii=False, default=str))
            db.session.expire_all()

        def export_pdf():
            with app.test_request_context():
                size["pdf"] = len(data_export.export_pdf(budi, data_export.export(budi)))
            db.session.expire_all()

        json_ms = statistics.median(timed(export_json) for _ in range(args.rounds))
        pdf_ms = statistics.median(timed(export_pdf) for _ in range(args.rounds))
        deletion = data_erasure.request_deletion(budi, None)
        db.session.commit()
        erase_ms = timed(lambda: (data_erasure.grant_deletion(deletion, staff), db.session.commit()))
    print(f"resident with {args.requests} requests, {args.audit} own audit entries among {args.audit * 11}")
    print(f"export JSON: {json_ms:.0f} ms ({size['json'] // 1024} KiB)")
    print(f"export PDF:  {pdf_ms:.0f} ms ({size['pdf'] // 1024} KiB)")
    print(f"erase account: {erase_ms:.0f} ms")


if __name__ == "__main__":
    main()
