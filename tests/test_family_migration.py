"""0017 repairs data made under the old registration rules: waiting and rejected accounts lose the register
entry they claimed, typed entries nothing needs are removed, typed entries a verified account holds become
trusted ("verifikasi"). Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL."""

from datetime import datetime

from sqlalchemy import text

from tests.migration_db import insert, migration_db

FAMILY_KK = "3576031201150007"


def test_family_trust_migration_frees_claimed_niks_and_removes_typed_entries(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0015_data_version")
        with mig.engine.begin() as conn:
            def resident(nik, source, kk=FAMILY_KK):
                return insert(conn, "residents", nik=nik, kk_number=kk, full_name=f"WARGA {nik[-4:]}",
                              source=source)

            def account(name, status, resident_id, verified_at=None):
                return insert(conn, "users", full_name=name, status=status, resident_id=resident_id,
                              verified_at=verified_at)

            def decision(user_id, action, seq):
                insert(conn, "audit_log", created_at=datetime(2026, 3, 4, 5, 6, seq), seq=seq,
                       action=action, object_type="users", object_id=str(user_id), details={})

            when = datetime(2026, 3, 4)
            sri = resident("3576034403920001", "impor")
            budi = account("Budi", "terverifikasi", resident("3576031705900002", "impor"), when)
            squatter = account("Bukan Sri", "menunggu_verifikasi", sri)
            claimed = resident("3576031111950003", "registrasi")
            insert(conn, "kk_history", resident_id=claimed, old_kk_number="3576030101990001",
                   new_kk_number=FAMILY_KK, source="petugas")
            claimer = account("Pengaku KK", "menunggu_verifikasi", claimed)
            rejected = account("Ditolak", "ditolak", resident("3576031111950004", "registrasi"), when)
            verified = account("Terverifikasi", "terverifikasi", resident("3576031111950005", "registrasi"), when)
            kept_off = account("Dinonaktifkan", "nonaktif", resident("3576031111950006", "registrasi"), when)
            decision(kept_off, "account.verify", 1)
            turned_down = account("Ditolak lalu nonaktif", "nonaktif", resident("3576031111950007", "registrasi"),
                                  when)
            decision(turned_down, "account.verify", 2)
            decision(turned_down, "account.reject", 3)
            abandoned = account("Tidak pernah diperiksa", "nonaktif", resident("3576031111950008", "registrasi"))
            named = resident("3576031111950009", "registrasi")
            waiting_named = account("Menunggu, dimohonkan", "menunggu_verifikasi", named)
            service = insert(conn, "services", code="domisili", name="Domisili")
            version = insert(conn, "service_versions", service_id=service)
            insert(conn, "letter_requests", tracking_number="JGL-2026-000001", service_version_id=version,
                   applicant_user_id=budi, subject_resident_id=named)
        mig.flask("db", "upgrade")
        with mig.engine.connect() as conn:
            links = dict(conn.execute(text("SELECT id, resident_id FROM users")).all())
            sources = dict(conn.execute(text("SELECT nik, source FROM residents")).all())
            history = conn.execute(text("SELECT COUNT(*) FROM kk_history")).scalar()
        assert links[squatter] is None and links[claimer] is None and links[rejected] is None
        assert links[turned_down] is None and links[abandoned] is None and links[waiting_named] is None
        assert links[budi] is not None and links[verified] is not None and links[kept_off] is not None
        assert sources == {
            "3576034403920001": "impor",  # the register entry the squatter claimed: untouched, free again
            "3576031705900002": "impor",
            "3576031111950005": "verifikasi", "3576031111950006": "verifikasi",  # held, checked at verification
            "3576031111950009": "registrasi",  # a request names it: kept, but nobody's family
        }
        assert history == 0

        mig.flask("db", "downgrade", "0015_data_version")
        with mig.engine.connect() as conn:
            after = dict(conn.execute(text("SELECT nik, source FROM residents")).all())
        assert after["3576031111950005"] == after["3576031111950006"] == "registrasi"
