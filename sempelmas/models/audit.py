"""The audit log: who did what, for whom, from where, on which object; hash-chained so quiet edits show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from sempelmas.domain import audit_chain
from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    # the admin browser filters by object ("letter_requests" 42)
    __table_args__ = (Index("ix_audit_log_object_type", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: the resident a pendamping (or family member) acted for
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ip: Mapped[str | None] = mapped_column(String(45))
    #: dotted code, e.g. "auth.login", "account.verify", "profile.update"
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    #: position in the chain: 1, 2, 3… without gaps (set at flush time, see ``_chain_new_entries``)
    seq: Mapped[int] = mapped_column(unique=True)
    #: ``entry_hash`` of the entry with ``seq - 1`` (``audit_chain.GENESIS`` for the first)
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of ``audit_chain.canonical(...)`` of this entry's stored fields, ``prev_hash`` included
    entry_hash: Mapped[str] = mapped_column(String(64))

    def chain_fields(self) -> dict:
        return {name: getattr(self, name) for name in audit_chain.HASHED_FIELDS}


class PendingView(db.Model):
    """A page view (``request.view``) written at once, waiting for its place in the chain.

    Viewing a request's detail is part of the data-protection record (who looked at whose data), so every view
    is kept; but chaining it on every GET would make each page view a write of the one head row that every
    audited action locks (on PostgreSQL a row lock shared by the whole city). A view is therefore one plain
    INSERT here, which locks nothing shared, and is moved into the chain in batches: by the next chained append
    (``chain_entries``), by the worker's rounds, and before the log is read
    (``services.accountability.audit.chain_views``). Its ``created_at`` is the moment of the view; its place in
    the chain is when it was chained."""

    __tablename__ = "audit_views_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditChainHead(db.Model):
    """One row: the last ``seq`` and hash. Appends update it in their own transaction, which serialises
    them (SQLite's write lock, a PostgreSQL row lock) and lets the verifier notice missing last entries."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=audit_chain.GENESIS)


HEAD_ID = 1
#: the entry an append writes when it finds the chain head missing: the break stays in the chain itself
HEAD_MISSING = "audit.head_missing"
_TAKE = text("UPDATE audit_chain_head SET seq = seq + :n WHERE id = :id RETURNING seq, last_hash")
_PUT = text("UPDATE audit_chain_head SET last_hash = :h WHERE id = :id")
_LAST = text("SELECT id, seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")


def _recreate_head(connection):
    """Put the head row back at the newest entry; returns that entry (id, seq, entry_hash) when this call
    re-created the head of a log that has entries, None for a fresh log or when another append was first."""
    last = connection.execute(_LAST).first()
    dialect_insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[connection.dialect.name]
    inserted = connection.execute(dialect_insert(AuditChainHead).values(
        id=HEAD_ID, seq=last.seq if last else 0, last_hash=last.entry_hash if last else audit_chain.GENESIS,
    ).on_conflict_do_nothing().returning(AuditChainHead.id)).first()
    return last if last is not None and inserted is not None else None


def _record_head_missing(connection, found) -> None:
    """Chain the ``audit.head_missing`` entry right after ``found`` (inserted now, so its id comes before the
    flush's entries as its place in the chain does)."""
    fields = {"seq": found.seq + 1, "prev_hash": found.entry_hash, "created_at": utcnow(), "actor_id": None,
              "on_behalf_of_id": None, "ip": None, "action": HEAD_MISSING, "object_type": "audit_chain_head",
              "object_id": str(HEAD_ID), "details": audit_chain.normalise_details(
                  {"found_entry_id": found.id, "found_seq": found.seq, "found_hash": found.entry_hash})}
    digest = audit_chain.entry_hash(fields)
    connection.execute(AuditEntry.__table__.insert().values(**fields, entry_hash=digest))
    connection.execute(text("UPDATE audit_chain_head SET seq = :s, last_hash = :h WHERE id = :id"),
                       {"s": fields["seq"], "h": digest, "id": HEAD_ID})


#: the most pending views one append moves into the chain
VIEW_BATCH = 1000


def _claim_views(connection) -> list:
    """Take the oldest pending views out of their table (the caller holds the head's lock, so no other append
    claims them too) and return them, oldest first."""
    pending = PendingView.__table__
    rows = connection.execute(select(pending).order_by(pending.c.id).limit(VIEW_BATCH)).all()
    if rows:
        connection.execute(pending.delete().where(pending.c.id.in_([r.id for r in rows])))
    return rows


def chain_entries(session: Session, new: list[AuditEntry]) -> int:
    """Give ``new`` (possibly none) in the order they were added, then the pending views (oldest first), their
    places in the chain and their hashes; the views' entries are added to the session. Returns how many views
    were chained.

    The UPDATE of the head comes first so its lock is held before the head is read (a read-then-write would let
    two appends fork the chain). A missing head row is put back at the newest surviving entry — a fresh database
    has none (the migration creates it; tests empty every table) — but never silently when entries exist:
    deleting the newest entries together with the head would then read as intact. An ``audit.head_missing``
    entry, chained before the new ones, records what was found, and ``audit-verify`` reports it from then on."""
    connection = session.connection()
    row = connection.execute(_TAKE, {"n": len(new), "id": HEAD_ID}).first()
    if row is None:
        found = _recreate_head(connection)
        if found is not None:
            _record_head_missing(connection, found)
        row = connection.execute(_TAKE, {"n": len(new), "id": HEAD_ID}).first()
    last_seq, prev = row[0], row[1]
    views = _claim_views(connection)
    if views:
        last_seq = connection.execute(_TAKE, {"n": len(views), "id": HEAD_ID}).first()[0]
        chained = [AuditEntry(created_at=v.created_at, actor_id=v.actor_id, on_behalf_of_id=v.on_behalf_of_id,
                              ip=v.ip, action=v.action, object_type=v.object_type, object_id=v.object_id,
                              details=v.details or {}) for v in views]
        session.add_all(chained)  # inserted after ``new`` (the flush keeps the order of adding): seq follows id
        new = new + chained
    seq = last_seq - len(new)
    for entry in new:
        seq += 1
        if entry.created_at is None:
            entry.created_at = utcnow()
        entry.details = audit_chain.normalise_details(entry.details)
        entry.seq = seq
        entry.prev_hash = prev
        entry.entry_hash = prev = audit_chain.entry_hash(entry.chain_fields())
    connection.execute(_PUT, {"h": prev, "id": HEAD_ID})
    return len(views)


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, flush_context, instances) -> None:
    """Give each new entry its place in the chain and its hashes (``chain_entries``), with any pending views before
    them. Entries chained already (``chain_views``) keep theirs."""
    new = [obj for obj in session.new if isinstance(obj, AuditEntry) and obj.seq is None]
    if new:
        chain_entries(session, new)
