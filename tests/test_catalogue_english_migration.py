"""0023 on an install with a catalogue: the services, requirements and fields get empty English texts (shown in
Indonesian), nothing else changes; the downgrade drops them and keeps the rows; up again works."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db

BEFORE = "0022_views_pending_user_status"
MINE = "0023_catalogue_english"


def _columns(engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns(table)}


def test_catalogue_english_migration_up_down_up_on_an_install_with_a_catalogue(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", BEFORE)
        with mig.engine.begin() as conn:
            service = insert(conn, "services", code="domisili", name="Surat Keterangan Domisili",
                             description="Menerangkan domisili.", classification_code="470",
                             letter_template="domisili", version=1)
            insert(conn, "service_requirements", service_id=service, code="kk", label="Fotokopi KK")
            insert(conn, "service_fields", service_id=service, name="keperluan", label="Keperluan", kind="text",
                   help_text="Untuk apa")
            insert(conn, "service_versions", service_id=service, version=1,
                   snapshot={"code": "domisili", "name": "Surat Keterangan Domisili"})
        mig.flask("db", "upgrade", MINE)
        assert {"name_en", "description_en"} <= _columns(mig.engine, "services")
        assert "label_en" in _columns(mig.engine, "service_requirements")
        assert {"label_en", "help_text_en", "choices_en"} <= _columns(mig.engine, "service_fields")
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT name, name_en, description_en FROM services")).one() == (
                "Surat Keterangan Domisili", "", "")
            assert conn.execute(text("SELECT label, label_en FROM service_requirements")).one() == ("Fotokopi KK", None)
            assert conn.execute(text("SELECT label, label_en, help_text_en FROM service_fields")).one() == (
                "Keperluan", None, None)
        # a service added after the upgrade without English texts gets the empty default
        with mig.engine.begin() as conn:
            conn.execute(text("INSERT INTO services (code, name, description, who_may_request, needs_rt_endorsement, "
                              "paper_pengantar_when_no_rt_account, service_time_value, service_time_unit, "
                              "classification_code, letter_template, enabled, version, sort_order, updated_at) "
                              "VALUES ('usaha', 'Usaha', '', 'warga', true, true, 1, 'jam', '470', 'usaha', true, "
                              "1, 2, '2026-12-07 10:00:00')"))
            assert conn.execute(text("SELECT name_en FROM services WHERE code = 'usaha'")).scalar() == ""
        mig.flask("db", "downgrade", BEFORE)
        assert not {"name_en", "description_en"} & _columns(mig.engine, "services")
        assert "label_en" not in _columns(mig.engine, "service_requirements")
        assert not {"label_en", "help_text_en", "choices_en"} & _columns(mig.engine, "service_fields")
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM services")).scalar() == 2
            assert conn.execute(text("SELECT label FROM service_fields")).scalar() == "Keperluan"
        mig.flask("db", "upgrade", MINE)
        assert "help_text_en" in _columns(mig.engine, "service_fields")
