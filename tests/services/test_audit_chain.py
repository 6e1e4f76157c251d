"""The hash-chained audit log: appends chain in order (also from two connections at once), and
`audit-verify` names the first entry altered, inserted or deleted."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from sempelmas.domain import audit_chain
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import HEAD_MISSING, AuditChainHead, AuditEntry
from sempelmas.services.accountability import audit


def chain() -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def make_log(n: int, actor=None) -> list[AuditEntry]:
    for i in range(n):
        audit.record(f"test.step{i}", actor=actor, object_type="uji", object_id=i, n=i, label=f"Entri ke-{i}")
        if i % 2:
            db.session.flush()  # some entries flushed one by one, some two at once
    db.session.commit()
    return chain()


def verify(runner):
    return runner.invoke(args=["audit-verify", "--quiet"])


def test_entries_are_chained_in_the_order_they_were_recorded(app, factory):
    admin = factory.staff(Role.ADMIN, "penguji")
    entries = make_log(5, actor=admin)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert [e.action for e in entries] == [f"test.step{i}" for i in range(5)]
    assert entries[0].prev_hash == audit_chain.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    for e in entries:
        assert e.entry_hash == audit_chain.entry_hash(e.chain_fields())
    head = db.session.get(AuditChainHead, 1)
    assert (head.seq, head.last_hash) == (5, entries[-1].entry_hash)
    assert entries[2].details == {"n": 2, "label": "Entri ke-2"}


def test_a_rolled_back_entry_leaves_no_hole(app):
    make_log(2)
    audit.record("test.batal")
    db.session.flush()
    db.session.rollback()
    audit.record("test.lanjut")
    db.session.commit()
    assert [(e.seq, e.action) for e in chain()][-1] == (3, "test.lanjut")
    assert audit.verify_chain().intact


def test_details_are_hashed_as_the_database_gives_them_back(app):
    audit.record("test.kunci", **{"angka": (1, 2), "nested": {"b": 1, "a": None}})
    db.session.commit()
    db.session.expire_all()
    entry = db.session.scalars(select(AuditEntry)).one()
    assert entry.details == {"angka": [1, 2], "nested": {"b": 1, "a": None}}
    assert audit.verify_chain().intact


def test_intact_log_verifies_with_exit_zero_and_a_summary(app, runner):
    make_log(7)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "Log audit utuh: 7 entri diperiksa" in result.output
    assert chain()[-1].entry_hash in result.output


def test_an_empty_log_is_intact(app, runner):
    result = verify(runner)
    assert result.exit_code == 0 and "0 entri" in result.output


def test_a_field_altered_with_raw_sql_is_found_and_named(app, runner):
    entries = make_log(6)
    victim = entries[3]
    db.session.execute(text("UPDATE audit_log SET ip = '10.9.9.9' WHERE id = :id"), {"id": victim.id})
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"id {victim.id}" in result.output and "urutan 4" in result.output
    assert "telah diubah" in result.output and "3 entri sebelumnya utuh" in result.output
    report = audit.verify_chain()
    assert (report.problem.kind, report.problem.entry_id) == ("altered", victim.id)


@pytest.mark.parametrize("column, value", [("details", '{"n": 99}'), ("action", "test.lain"),
                                           ("created_at", "2020-01-01 00:00:00.000000"), ("actor_id", None)])
def test_any_stored_field_altered_is_found(app, factory, column, value):
    entries = make_log(3, actor=factory.staff(Role.ADMIN, "pelaku"))
    db.session.execute(text(f"UPDATE audit_log SET {column} = :v WHERE id = :id"),  # noqa: S608
                       {"v": value, "id": entries[1].id})
    db.session.commit()
    problem = audit.verify_chain().problem
    assert (problem.kind, problem.entry_id) == ("altered", entries[1].id)


def test_a_deleted_middle_entry_is_found_and_named(app, runner):
    entries = make_log(6)
    db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entries[2].id})
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert "hilang (dihapus)" in result.output and f"entri #{entries[3].id}" in result.output
    assert "urutan 3–3" in result.output
    assert audit.verify_chain().problem.kind == "deleted"


def test_deleting_the_last_entries_is_found_through_the_chain_head(app, runner):
    entries = make_log(6)
    db.session.execute(text("DELETE FROM audit_log WHERE id >= :id"), {"id": entries[4].id})
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert "Entri terakhir hilang" in result.output and "entri 5–6 dihapus" in result.output


def test_a_forged_entry_with_a_well_formed_chain_is_found(app, runner):
    """Someone who knows the algorithm appends a row by SQL, hashes and all: the head gives it away."""
    entries = make_log(4)
    last = entries[-1]
    forged = {"seq": last.seq + 1, "prev_hash": last.entry_hash, "created_at": last.created_at,
              "actor_id": None, "on_behalf_of_id": None, "ip": "127.0.0.1", "action": "letter.revoke",
              "object_type": "letters", "object_id": "1", "details": {"reason": "palsu"}}
    forged_hash = audit_chain.entry_hash(forged)
    db.session.execute(AuditEntry.__table__.insert().values(**forged, entry_hash=forged_hash))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert "urutan 5–5 disisipkan" in result.output
    assert audit.verify_chain().problem.kind == "inserted"


def test_a_forged_entry_in_the_middle_is_found(app, runner):
    """A row slipped between two others (a free id below the newest): its place in the chain is taken."""
    entries = make_log(4)
    db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entries[1].id})
    copy = entries[1].chain_fields() | {"ip": "198.51.100.1"}
    db.session.execute(AuditEntry.__table__.insert().values(
        id=entries[1].id, **copy, entry_hash=audit_chain.entry_hash(copy)))
    db.session.commit()
    problem = audit.verify_chain().problem
    assert (problem.kind, problem.entry_id) == ("inserted", entries[2].id)
    assert "tidak tersambung" in problem.message


def test_a_replaced_last_entry_is_found(app):
    entries = make_log(3)
    last = entries[-1]
    fields = last.chain_fields() | {"action": "test.ganti"}
    db.session.execute(text("UPDATE audit_log SET action = 'test.ganti', entry_hash = :h WHERE id = :id"),
                       {"h": audit_chain.entry_hash(fields), "id": last.id})
    db.session.commit()
    problem = audit.verify_chain().problem
    assert problem.kind == "altered" and "kepala rantai" in problem.message


def _append_from_thread(app, name: str, count: int, start: threading.Barrier, errors: list) -> None:
    try:
        with app.app_context():
            start.wait()
            for i in range(count):
                audit.record(f"test.{name}", n=i)
                db.session.flush()
                time.sleep(0.002)  # hold the transaction open so the other connection must wait
                audit.record(f"test.{name}", n=i, second=True)
                db.session.commit()
            db.session.remove()
    except Exception as e:  # pragma: no cover - reported by the assertion below
        errors.append(e)


def test_two_connections_appending_at_once_do_not_fork_the_chain(app):
    """Two workers (threads, each with its own connection and transactions) append at the same time."""
    make_log(1)
    start, errors = threading.Barrier(2), []
    threads = [threading.Thread(target=_append_from_thread, args=(app, name, 25, start, errors))
               for name in ("kiri", "kanan")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    entries = chain()
    assert len(entries) == 101
    assert [e.seq for e in entries] == list(range(1, 102))
    assert len({e.prev_hash for e in entries}) == 101  # no two entries claim the same predecessor
    actions = [e.action for e in entries[1:]]
    assert actions.count("test.kiri") == actions.count("test.kanan") == 50
    assert audit.verify_chain().intact
    assert db.session.scalar(select(func.count()).select_from(AuditChainHead)) == 1


def test_a_deleted_chain_head_is_recorded_in_the_chain_when_appends_go_on(app, runner):
    entries = make_log(3)
    db.session.execute(text("DELETE FROM audit_chain_head"))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and "Kepala rantai audit hilang" in result.output
    audit.record("test.lanjut")
    db.session.commit()
    after = chain()
    assert [(e.seq, e.action) for e in after[3:]] == [(4, HEAD_MISSING), (5, "test.lanjut")]
    assert after[3].details == {"found_entry_id": entries[-1].id, "found_seq": 3,
                                "found_hash": entries[-1].entry_hash}
    assert after[3].prev_hash == entries[-1].entry_hash and after[4].prev_hash == after[3].entry_hash
    head = db.session.get(AuditChainHead, 1)
    assert (head.seq, head.last_hash) == (5, after[4].entry_hash)
    report = audit.verify_chain()
    assert report.problem is None and not report.intact  # the chain links up, and says it was broken
    assert [(b.kind, b.entry_id, b.seq) for b in report.breaks] == [("head", after[3].id, 4)]


def test_deleting_the_newest_entries_with_the_head_is_reported_by_every_later_verify(app, runner):
    """The attack the head was meant to stop: delete the last entries and the head row, then let the app go on.
    Before, the next append re-created the head from the newest survivor and the log read as intact."""
    anchor = f"6:{make_log(6)[-1].entry_hash}"
    db.session.execute(text("DELETE FROM audit_log WHERE seq >= 5"))
    db.session.execute(text("DELETE FROM audit_chain_head"))
    db.session.commit()
    for i in range(3):
        audit.record("test.sesudah", n=i)
        db.session.commit()
    for _ in range(2):  # not once: every run, however many entries came after
        result = verify(runner)
        assert result.exit_code == 1, result.output
        assert "Log audit utuh" not in result.output
        mark = db.session.scalar(select(AuditEntry).where(AuditEntry.action == HEAD_MISSING))
        assert mark.seq == 5
        assert f"Kepala rantai audit pernah hilang: entri #{mark.id} (urutan 5)" in result.output
        assert "saat itu log berakhir di urutan 4" in result.output
        audit.record("test.lagi")
        db.session.commit()
    # and the anchor kept from before the deletion no longer matches the entry now at its place
    kept = runner.invoke(args=["audit-verify", "--quiet", "--anchor", anchor])
    assert kept.exit_code == 1 and "tidak sama dengan jangkar yang disimpan" in kept.output


def test_two_appends_finding_the_head_missing_record_one_break(app):
    make_log(2)
    db.session.execute(text("DELETE FROM audit_chain_head"))
    db.session.commit()
    start, errors = threading.Barrier(2), []
    threads = [threading.Thread(target=_append_from_thread, args=(app, name, 5, start, errors))
               for name in ("kiri", "kanan")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    entries = chain()
    assert [e.seq for e in entries] == list(range(1, 2 + 1 + 20 + 1))
    assert [e.action for e in entries].count(HEAD_MISSING) == 1 and entries[2].action == HEAD_MISSING
    report = audit.verify_chain()
    assert report.problem is None and len(report.breaks) == 1


# ------------------------------------------------------------------ anchors kept elsewhere

def _anchor_from(output: str) -> str:
    line = next(x for x in output.splitlines() if x.startswith("Jangkar"))
    return line.rsplit(" ", 1)[1]


def _rewrite(seq_from: int) -> None:
    """What someone with database access and this code can do: change entries from ``seq_from`` on and
    re-hash them and every later one, head included, so the chain links up again."""
    entries = chain()
    prev = entries[seq_from - 2].entry_hash if seq_from > 1 else audit_chain.GENESIS
    for e in entries[seq_from - 1:]:
        fields = e.chain_fields() | {"prev_hash": prev}
        if e.seq == seq_from:
            fields["details"] = {**fields["details"], "alasan": "ditulis ulang"}
        prev = audit_chain.entry_hash(fields)
        db.session.execute(AuditEntry.__table__.update().where(AuditEntry.id == e.id).values(
            details=fields["details"], prev_hash=fields["prev_hash"], entry_hash=prev))
    db.session.execute(text("UPDATE audit_chain_head SET last_hash = :h"), {"h": prev})
    db.session.commit()


def test_verify_prints_the_anchor_to_keep(app, runner):
    entries = make_log(4)
    result = verify(runner)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == (
        f"Jangkar (simpan di luar server, periksa nanti dengan --anchor): 4:{entries[-1].entry_hash}")


def test_an_anchor_finds_a_tail_rewritten_hashes_and_all(app, runner):
    make_log(5)
    early = _anchor_from(verify(runner).output)  # 5:…, kept elsewhere
    middle = f"2:{chain()[1].entry_hash}"
    make_log(2)
    _rewrite(4)
    plain = verify(runner)
    assert plain.exit_code == 0 and "Log audit utuh: 7 entri" in plain.output  # the chain alone cannot tell
    result = runner.invoke(args=["audit-verify", "--quiet", "--anchor", early])
    assert result.exit_code == 1
    assert "urutan 5" in result.output and "tidak sama dengan jangkar yang disimpan" in result.output
    assert "Jangkar (simpan" not in result.output  # no new anchor from a log that failed its old one
    assert audit.verify_chain(anchors=(audit.parse_anchor(early),)).problem.kind == "anchor"
    ok = runner.invoke(args=["audit-verify", "--quiet", "--anchor", middle])
    assert ok.exit_code == 0 and "Cocok dengan 1 jangkar" in ok.output


def test_an_anchor_finds_the_newest_entries_deleted_with_the_head_rewritten(app, runner):
    make_log(5)
    anchor = _anchor_from(verify(runner).output)
    last = chain()[2]
    db.session.execute(text("DELETE FROM audit_log WHERE seq > 3"))
    db.session.execute(text("UPDATE audit_chain_head SET seq = 3, last_hash = :h"), {"h": last.entry_hash})
    db.session.commit()
    assert verify(runner).exit_code == 0  # consistent again, as far as the database can tell
    result = runner.invoke(args=["audit-verify", "--quiet", "--anchor", anchor])
    assert result.exit_code == 1
    assert "urutan 5 dari jangkar yang disimpan tidak ada lagi: log kini berakhir di urutan 3" in result.output


def test_the_whole_log_deleted_with_its_head_is_found_by_an_anchor(app, runner):
    make_log(3)
    anchor = _anchor_from(verify(runner).output)
    db.session.execute(text("DELETE FROM audit_log"))
    db.session.execute(text("DELETE FROM audit_chain_head"))
    db.session.commit()
    audit.record("test.baru")
    db.session.commit()
    assert verify(runner).exit_code == 0  # a fresh log, as far as the database can tell
    result = runner.invoke(args=["audit-verify", "--quiet", "--anchor", anchor])
    assert result.exit_code == 1 and "urutan 3 dari jangkar yang disimpan tidak ada lagi" in result.output


@pytest.mark.parametrize("value", ["12", "abc:def", "0:" + "a" * 64, "3:" + "g" * 64, "3:" + "a" * 63])
def test_a_malformed_anchor_is_refused_with_a_clear_message(app, runner, value):
    result = runner.invoke(args=["audit-verify", "--anchor", value])
    assert result.exit_code == 2 and "bukan jangkar" in result.output


def test_flask_doctor_looks_at_the_chain_head(app, runner):
    make_log(3)
    assert runner.invoke(args=["doctor", "--only", "audit"]).exit_code == 0
    db.session.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    db.session.commit()
    stale = runner.invoke(args=["doctor", "--only", "audit"])
    assert stale.exit_code == 1 and "Kepala rantai mencatat urutan 3, tetapi entri terakhir berurutan 2" in stale.output
    db.session.execute(text("DELETE FROM audit_chain_head"))
    db.session.commit()
    gone = runner.invoke(args=["doctor", "--only", "audit"])
    assert gone.exit_code == 1 and "Kepala rantai hilang" in gone.output


# ------------------------------------------------------------------ page views: written at once, chained in batches

def _view(app, user, obj_id: int) -> None:
    with app.test_request_context("/"):
        from flask import g

        g._login_user = user  # what Flask-Login's current_user reads: the signed-in viewer
        audit.record_view("request.view", _Obj(obj_id), tracking_number=f"JGL-2026-{obj_id:06d}")
    db.session.commit()


class _Obj:
    __tablename__ = "letter_requests"

    def __init__(self, id_: int):
        self.id = id_


def test_a_page_view_is_kept_at_once_and_chained_by_the_next_append(app, factory):
    from sempelmas.models.audit import PendingView

    staff = factory.staff(Role.STAFF, "petugas9")
    make_log(2)
    head_before = db.session.get(AuditChainHead, 1).seq
    _view(app, staff, 7)
    assert [e.action for e in chain()] == ["test.step0", "test.step1"]  # the chain's head was not touched
    assert db.session.get(AuditChainHead, 1).seq == head_before
    (pending,) = db.session.scalars(select(PendingView)).all()
    assert (pending.actor_id, pending.object_type, pending.object_id) == (staff.id, "letter_requests", "7")
    viewed_at = pending.created_at
    audit.record("test.after", object_type="uji", object_id=1)  # any chained append takes the views along
    db.session.commit()
    entries = chain()
    assert [(e.action, e.seq) for e in entries[2:]] == [("test.after", 3), ("request.view", 4)]
    view = entries[3]
    assert (view.actor_id, view.object_id, view.details) == (staff.id, "7", {"tracking_number": "JGL-2026-000007"})
    assert view.created_at == viewed_at
    assert db.session.scalars(select(PendingView)).all() == []
    assert audit.verify_chain().intact


def test_chain_views_moves_every_waiting_view_in_batches(app, factory, monkeypatch):
    from sempelmas.models import audit as audit_model
    from sempelmas.models.audit import PendingView

    monkeypatch.setattr(audit_model, "VIEW_BATCH", 2)
    monkeypatch.setattr(audit, "VIEW_BATCH", 2)
    staff = factory.staff(Role.STAFF, "petugas9")
    assert audit.chain_views() == 0
    for i in range(5):
        _view(app, staff, i)
    assert audit.chain_views() == 5
    assert [(e.object_id, e.seq) for e in chain()] == [(str(i), i + 1) for i in range(5)]
    assert db.session.scalar(select(func.count()).select_from(PendingView)) == 0
    assert audit.verify_chain().intact


def test_audit_verify_chains_the_waiting_views_first(app, factory, runner):
    staff = factory.staff(Role.STAFF, "petugas9")
    make_log(1)
    _view(app, staff, 3)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert [e.action for e in chain()] == ["test.step0", "request.view"]
