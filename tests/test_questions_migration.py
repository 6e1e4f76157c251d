"""0026: the questions on a request and the office's WhatsApp number; up, down and up again, data kept."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_questions_table_and_whatsapp_column_go_up_down_and_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0025_declared_data")
        with mig.engine.begin() as conn:
            insert(conn, "kelurahan_profile", village_name="Jagalan", phone="(0321) 495123")
        mig.flask("db", "upgrade", "0026_request_questions")
        inspector = inspect(mig.engine)
        assert "whatsapp" in {c["name"] for c in inspector.get_columns("kelurahan_profile")}
        assert {i["name"] for i in inspector.get_indexes("request_messages")} >= {
            "ix_request_messages_request_id", "ix_request_messages_unread"}
        with mig.engine.begin() as conn:
            user = insert(conn, "users", full_name="Siti", password_hash="x")
            service = insert(conn, "services", code="domisili", name="Domisili")
            version = insert(conn, "service_versions", service_id=service, version=1, snapshot={"name": "Domisili"})
            resident = insert(conn, "residents", nik="3576034101900001", kk_number="3576030101000001",
                              full_name="SITI")
            req = insert(conn, "letter_requests", tracking_number="JGL-2026-000001", service_version_id=version,
                         applicant_user_id=user, subject_resident_id=resident, status="diajukan")
            insert(conn, "request_messages", request_id=req, side="warga", author_id=user, text="Tanya",
                   idempotency_key="k1")
            conn.execute(text("UPDATE kelurahan_profile SET whatsapp = '+6281234500000'"))
        mig.flask("db", "downgrade", "0025_declared_data")
        inspector = inspect(mig.engine)
        assert "request_messages" not in inspector.get_table_names()
        assert "whatsapp" not in {c["name"] for c in inspector.get_columns("kelurahan_profile")}
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT phone FROM kelurahan_profile")).scalar() == "(0321) 495123"
        mig.flask("db", "upgrade", "0026_request_questions")
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM request_messages")).scalar() == 0
            assert conn.execute(text("SELECT whatsapp FROM kelurahan_profile")).scalar() is None
