"""0035: the test_letters table ("Surat uji"); up, down and up again, the models matching the migrations."""

from sqlalchemy import inspect

from tests.migration_db import migration_db


def test_test_letters_table_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0033_api_letter_index")
        assert "test_letters" not in inspect(mig.engine).get_table_names()
        mig.flask("db", "upgrade", "0035_test_letters")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("test_letters")}
        assert {"number", "verify_code", "pdf", "first_view_agent", "phone_viewed_at"} <= columns
        mig.flask("db", "downgrade", "0033_api_letter_index")
        assert "test_letters" not in inspect(mig.engine).get_table_names()
        mig.flask("db", "upgrade", "head")
        done = mig.flask("db", "check", check=False)  # the models declare what the migrations made
        assert done.returncode == 0, done.stdout + done.stderr
