"""0036: officials.signing_backend and officials.bsre_nik; up, down and up again, the models matching the migrations."""

from sqlalchemy import inspect, text

from tests.migration_db import migration_db


def test_signer_backend_columns_up_down_up_and_existing_officials_stay_local(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0035_test_letters")
        with mig.engine.begin() as conn:
            conn.execute(text("INSERT INTO officials (name, position, position_title, active, sort_order) "
                              "VALUES ('Lurah', 'lurah', 'Lurah Jagalan', true, 1)"))
        mig.flask("db", "upgrade", "0036_signer_backends")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("officials")}
        assert {"signing_backend", "bsre_nik"} <= columns
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT signing_backend, bsre_nik FROM officials")).one() == ("local", None)
        mig.flask("db", "downgrade", "0035_test_letters")
        assert "signing_backend" not in {c["name"] for c in inspect(mig.engine).get_columns("officials")}
        mig.flask("db", "upgrade", "head")
        done = mig.flask("db", "check", check=False)  # the models declare what the migrations made
        assert done.returncode == 0, done.stdout + done.stderr
