"""The one counter mechanism (services.sequences) on both counter tables; concurrency is tested through its users
(test_numbering: fifty letters from five processes; test_requests: concurrent submitters; test_endorsements)."""

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.letters import LetterCounter
from sempelmas.models.requests import TrackingCounter
from sempelmas.services import sequences


def test_each_key_and_year_counts_on_its_own_in_either_table(app):
    sequences.begin_immediate()
    assert [sequences.take(TrackingCounter.prefix, "JGL", 2026) for _ in range(2)] == [1, 2]
    assert sequences.take(TrackingCounter.prefix, "JGL", 2027) == 1
    assert sequences.take(LetterCounter.scope, "JGL", 2026) == 1  # another table, another counter
    db.session.commit()
    assert db.session.scalar(select(TrackingCounter.last).where(TrackingCounter.prefix == "JGL",
                                                                TrackingCounter.year == 2026)) == 2


def test_a_new_counter_starts_after_the_numbers_already_used_and_only_then(app):
    assert sequences.take(LetterCounter.scope, "pengantar:rt:001/001", 2026, already_used=41) == 42
    # once the row exists it alone counts
    assert sequences.take(LetterCounter.scope, "pengantar:rt:001/001", 2026, already_used=99) == 43
    db.session.rollback()
    assert db.session.scalar(select(LetterCounter).where(LetterCounter.scope.like("pengantar:%"))) is None
