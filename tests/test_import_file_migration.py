"""0020: import jobs name the register file they read while it is still needed; the others let it go."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db

UPLOADS = "/opt/sempelmas/instance/uploads/imports"


def test_existing_import_jobs_name_their_file_only_while_it_is_needed(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0019_job_leases")
        with mig.engine.begin() as conn:
            def job(kind, status, name=None, **payload):
                path = {"path": name if name.startswith("/") else f"{UPLOADS}/{name}"} if name else {}
                return insert(conn, "jobs", kind=kind, status=status, payload={**path, **payload})

            waiting = job("register_preview", "selesai", "a" * 24 + ".csv", filename="warga.csv")
            applied = job("register_preview", "selesai", "b" * 24 + ".csv")
            applied_run = job("register_apply", "selesai", "b" * 24 + ".csv", preview_job=applied)
            broken = job("register_preview", "gagal", "c" * 24 + ".csv")
            queued_preview = job("register_preview", "selesai", "d" * 24 + ".xlsx")
            queued_apply = job("register_apply", "antri", "d" * 24 + ".xlsx", preview_job=queued_preview)
            own_file = job("register_apply", "antri", "/home/admin/register.csv")
            batch = job("batch_sign", "selesai")
        mig.flask("db", "upgrade", "0020_import_files")
        with mig.engine.connect() as conn:
            named = dict(conn.execute(text("SELECT id, import_file FROM jobs")).all())
        assert named == {waiting: "a" * 24 + ".csv", applied: None, applied_run: None, broken: None,
                         queued_preview: "d" * 24 + ".xlsx", queued_apply: "d" * 24 + ".xlsx", own_file: None,
                         batch: None}
        mig.flask("db", "downgrade", "0019_job_leases")
        assert "import_file" not in {c["name"] for c in inspect(mig.engine).get_columns("jobs")}
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM jobs")).scalar() == 8
