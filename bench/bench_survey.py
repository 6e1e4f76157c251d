"""The IKM report with many responses: the report page in-process, the XLSX and the PDF export.

    .venv/bin/python bench/bench_survey.py [RESPONSES] [COMMENT_SHARE]

Builds a throwaway SQLite database (create_all, like the tests) with RESPONSES finished requests of one
resident, each with a survey response in the current year; COMMENT_SHARE of them carry a comment. Prints
the median of 5 runs of each step.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sempelmas import create_app  # noqa: E402
from sempelmas.extensions import db  # noqa: E402
from sempelmas.models.accounts import Role, RoleGrant, User  # noqa: E402
from sempelmas.models.base import utcnow  # noqa: E402
from sempelmas.models.requests import LetterRequest, RequestStatus  # noqa: E402
from sempelmas.models.survey import SurveyResponse  # noqa: E402
from sempelmas.services.accountability import survey  # noqa: E402
from sempelmas.services.kelurahan import demo  # noqa: E402


def timed(fn, runs: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    share = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    tmp = Path(tempfile.mkdtemp(prefix="survey-bench-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.db",
                      "INSTANCE_PATH": str(tmp), "WTF_CSRF_ENABLED": False, "PROFILE_CACHE_SECONDS": 0})
    rng = random.Random(6)
    with app.app_context():
        db.create_all()
        demo.seed_profile()
        from tests.request_factory import make_service, submit  # a service and one real request to copy

        make_service(needs_rt=False)
        from tests.conftest import Factory

        applicant = Factory().warga()
        first = submit(applicant)
        staff = User(username="petugas", full_name="Petugas", password_hash="x")
        staff.roles.append(RoleGrant(role=Role.STAFF))
        db.session.add(staff)
        db.session.commit()
        now = utcnow()
        year_start = now.replace(month=1, day=1, hour=1)
        span = max((now - year_start).total_seconds(), 1)
        db.session.execute(insert(LetterRequest), [
            {"tracking_number": f"B-{i:07d}", "service_version_id": first.service_version_id,
             "applicant_user_id": applicant.id, "subject_resident_id": first.subject_resident_id,
             "answers": {}, "status": RequestStatus.DONE, "submitted_at": now, "updated_at": now, "version": 1}
            for i in range(n)])
        ids = [r for (r,) in db.session.execute(db.select(LetterRequest.id).where(
            LetterRequest.tracking_number.like("B-%")))]
        db.session.execute(insert(SurveyResponse), [
            {"request_id": rid, "answered_at": year_start + timedelta(seconds=rng.random() * span),
             "comment": f"Saran nomor {rid}: antrean sebaiknya lebih cepat dan petugas tetap ramah."
             if rng.random() < share else None,
             **{f"u{k}": rng.choice((2, 3, 3, 4, 4)) for k in range(1, 10)}} for rid in ids])
        db.session.commit()
        period = survey.Period(year_start.date(), survey.local_today())
        ms, rep = timed(lambda: survey.report(period))
        print(f"responses {n}, comments {len(rep.comments)}")
        print(f"report query + computation: {ms:.0f} ms (IKM {rep.result.converted} {rep.result.category})")
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"] = staff.get_id()
            s["_fresh"] = True
        ms, resp = timed(lambda: client.get("/petugas/ikm"))
        print(f"report page (GET /petugas/ikm): {ms:.0f} ms, {len(resp.data) // 1024} KB, HTTP {resp.status_code}")
        ms, resp = timed(lambda: client.get("/petugas/ikm/unduh.xlsx"), runs=3)
        print(f"XLSX export: {ms:.0f} ms, {len(resp.data) // 1024} KB")
        ms, resp = timed(lambda: client.get("/petugas/ikm/unduh.pdf"), runs=1)
        print(f"PDF export: {ms:.0f} ms, {len(resp.data) // 1024} KB")


if __name__ == "__main__":
    main()
