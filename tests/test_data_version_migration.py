"""0021 drops the whole-page cache's data_version table (issue 14); the downgrade brings it back as 0015 made
it, one row with a number, so a downgraded install runs the code of before."""

from sqlalchemy import inspect, text

from tests.migration_db import migration_db


def test_the_data_version_table_is_dropped_and_comes_back_on_downgrade(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0020_import_files")
        assert "data_version" in inspect(mig.engine).get_table_names()
        mig.flask("db", "upgrade")
        assert "data_version" not in inspect(mig.engine).get_table_names()
        mig.flask("db", "downgrade", "0020_import_files")
        with mig.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, version FROM data_version")).all()
        assert len(rows) == 1 and rows[0][0] == 1 and rows[0][1] >= 0
        mig.flask("db", "upgrade")
        assert "data_version" not in inspect(mig.engine).get_table_names()
