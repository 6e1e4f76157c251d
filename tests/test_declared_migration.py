"""0025 adds the applicant's declared data and takes back the due time promised from the submission of requests
still waiting for the RT/RW (the office's clock starts at the endorsement); up, down, up."""

from datetime import datetime

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_declared_values_table_and_waiting_requests_lose_their_early_due_time(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0024_registration_uploads")
        due = datetime(2026, 3, 4, 8, 30)
        with mig.engine.begin() as conn:
            user = insert(conn, "users", full_name="Warga")
            resident = insert(conn, "residents", nik="3576034101900001", kk_number="3576030101000001",
                              full_name="BUDI")
            service = insert(conn, "services", code="domisili", name="Domisili")
            version = insert(conn, "service_versions", service_id=service)
            for n, status in enumerate(("menunggu_pengantar", "dikembalikan", "diperiksa"), 1):
                insert(conn, "letter_requests", tracking_number=f"JGL-2026-00000{n}", service_version_id=version,
                       applicant_user_id=user, subject_resident_id=resident, status=status, due_at=due)
        mig.flask("db", "upgrade")
        assert "request_declared_values" in inspect(mig.engine).get_table_names()
        with mig.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT status, due_at FROM letter_requests")).all())
        assert rows["menunggu_pengantar"] is None and rows["dikembalikan"] is None
        assert str(rows["diperiksa"]).startswith("2026-03-04 08:30")
        mig.flask("db", "downgrade", "0024_registration_uploads")
        assert "request_declared_values" not in inspect(mig.engine).get_table_names()
        mig.flask("db", "upgrade")
        assert "request_declared_values" in inspect(mig.engine).get_table_names()
