"""0037: letters.signing_backend and letters.issuer_cn (test_letters too); up, down and up again, existing letters
"local", the models matching the migrations."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_letter_signing_backend_up_down_up_and_existing_letters_stay_local(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0036_signer_backends")
        with mig.engine.begin() as conn:
            user = insert(conn, "users", username="ttd")
            resident = insert(conn, "residents", nik="3576031004000001")
            service = insert(conn, "services", code="domisili")
            version = insert(conn, "service_versions", service_id=service)
            request = insert(conn, "letter_requests", service_version_id=version, applicant_user_id=user,
                             subject_resident_id=resident, tracking_number="SPM-1")
            insert(conn, "letters", request_id=request, signer_user_id=user, number="470/001/2026",
                   verify_code="CODE1", stored_name="a.pdf")
            insert(conn, "test_letters", signer_user_id=user, number="UJI/001/2026", verify_code="UJI1",
                   pdf=b"%PDF-")
        mig.flask("db", "upgrade", "0037_letter_signing_backend")
        for table in ("letters", "test_letters"):
            assert {"signing_backend", "issuer_cn"} <= {c["name"] for c in inspect(mig.engine).get_columns(table)}
            with mig.engine.connect() as conn:
                query = text(f"SELECT signing_backend, issuer_cn FROM {table}")  # noqa: S608 - a fixed table name
                assert conn.execute(query).one() == ("local", None)
        mig.flask("db", "downgrade", "0036_signer_backends")
        for table in ("letters", "test_letters"):
            assert "signing_backend" not in {c["name"] for c in inspect(mig.engine).get_columns(table)}
        mig.flask("db", "upgrade", "head")
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT signing_backend FROM letters")).scalar_one() == "local"
        done = mig.flask("db", "check", check=False)  # the models declare what the migrations made
        assert done.returncode == 0, done.stdout + done.stderr
