"""0029: when a question's photo was deleted under the retention policy; up, down and up again."""

from sqlalchemy import inspect

from tests.migration_db import migration_db


def _columns(mig) -> set[str]:
    return {c["name"] for c in inspect(mig.engine).get_columns("request_messages")}


def test_question_photo_purge_column_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0028_notice_keys")
        assert "photo_purged_at" not in _columns(mig)
        mig.flask("db", "upgrade", "0029_question_photo_retention")
        assert "photo_purged_at" in _columns(mig)
        mig.flask("db", "downgrade", "0028_notice_keys")
        assert "photo_purged_at" not in _columns(mig) and "photo" in _columns(mig)
        mig.flask("db", "upgrade", "head")
        done = mig.flask("db", "check", check=False)  # the models declare what the migrations made
        assert done.returncode == 0, done.stdout + done.stderr
