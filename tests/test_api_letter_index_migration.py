"""0033: the letters register's (status|service_code|both, signed_at, id) indexes; up, down and up again."""

from sqlalchemy import inspect

from tests.migration_db import migration_db

NAMES = {"ix_letters_status_signed_at", "ix_letters_service_code_signed_at", "ix_letters_status_service_signed_at"}


def _indexes(mig) -> set[str]:
    return {i["name"] for i in inspect(mig.engine).get_indexes("letters")}


def test_letter_register_indexes_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0032_opendk")
        assert not NAMES & _indexes(mig)
        mig.flask("db", "upgrade", "0033_api_letter_index")
        assert _indexes(mig) >= NAMES
        mig.flask("db", "downgrade", "0032_opendk")
        assert not NAMES & _indexes(mig) and "ix_letters_signed_at" in _indexes(mig)
        mig.flask("db", "upgrade", "head")
        done = mig.flask("db", "check", check=False)  # the models declare what the migrations made
        assert done.returncode == 0, done.stdout + done.stderr
