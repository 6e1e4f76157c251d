"""Writing to the audit log and checking its hash chain (the chaining itself happens at flush time,
see ``sempelmas.models.audit``).

Who acted, and from which address, is the caller's to say: ``record(..., actor=…, source_ip=…)``. What a caller
leaves out comes from the origin its layer installed (``install_origin``): the web layer installs the signed-in
user and the client's address of the request being served (``sempelmas.web.audit_origin``); CLI commands and
workers install none and pass their own actor (None: the system). This module reads no request itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import String, bindparam, insert, select, type_coerce

from sempelmas.domain import audit_chain
from sempelmas.extensions import db
from sempelmas.models.audit import (
    HEAD_ID,
    HEAD_MISSING,
    VIEW_BATCH,
    AuditChainHead,
    AuditEntry,
    PendingView,
    chain_entries,
)
from sempelmas.models.base import utcnow


def _nobody():
    return None


@dataclass(frozen=True)
class Origin:
    """Where actions come from when a caller does not say: ``actor()`` the acting user (or None), ``ip()`` the
    client's address (or None). Two functions, asked only when needed (asking for the user may load it)."""

    actor: Callable[[], object] = _nobody
    ip: Callable[[], str | None] = _nobody
    #: the system acting through the integration API, or None: ``{"api_client": name, "api_client_id": id}``,
    #: merged into the entry's details (the audit browser shows "API: <name>")
    via: Callable[[], dict | None] = _nobody


NOBODY = Origin()
#: the installed origin (see the module's docstring)
_origin: Origin = NOBODY


def install_origin(origin: Origin | None) -> None:
    """Set where actions come from when a caller does not say (None: nobody, the CLI's and workers' default)."""
    global _origin
    _origin = origin or NOBODY


def client_ip() -> str | None:
    """The client's address in the installed origin (the web layer's: the request's; ProxyFix has already put the
    real one in remote_addr)."""
    return _origin.ip()


def record(
    action: str,
    obj=None,
    *,
    actor=None,
    on_behalf_of=None,
    source_ip: str | None = None,
    object_type: str | None = None,
    object_id=None,
    **details,
) -> AuditEntry:
    """Append an entry. ``actor`` and ``source_ip``: as the caller says, else the installed origin's."""
    if actor is None:
        actor = _origin.actor()
    if source_ip is None:
        source_ip = _origin.ip()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else obj.id
    details = _with_via(details)
    entry = AuditEntry(
        action=action,
        actor_id=getattr(actor, "id", actor),
        on_behalf_of_id=getattr(on_behalf_of, "id", on_behalf_of),
        ip=source_ip,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        details=details,
    )
    db.session.add(entry)
    return entry


def record_view(action: str, obj, *, actor=None, **details) -> None:
    """Record that ``actor`` (else the installed origin's user) viewed ``obj`` (e.g. "request.view"): one plain
    INSERT into the pending views (``models.audit.PendingView``: no lock on the chain's head per page view),
    committed with the caller's transaction and chained into the log in batches (``chain_views``)."""
    if actor is None:
        actor = _origin.actor()
    db.session.execute(insert(PendingView).values(
        created_at=utcnow(), actor_id=getattr(actor, "id", actor), ip=client_ip(), action=action,
        object_type=obj.__tablename__, object_id=str(obj.id), details=_with_via(details)))


def _with_via(details: dict) -> dict:
    """``details`` with the installed origin's API client (if any) added, the caller's own keys kept."""
    via = _origin.via()
    return {**via, **details} if via else details


def chain_views() -> int:
    """Move the pending views into the chained log now, in one append (one lock of the head for the batch), and
    commit; returns how many. Cheap when there are none: one read, no write. Called by the worker's rounds and
    before the log is read (the admin's browser, ``verify_chain``); any chained append takes them along too."""
    if db.session.scalar(select(PendingView.id).limit(1)) is None:
        return 0
    moved = 0
    while True:
        n = chain_entries(db.session, [])
        db.session.commit()
        moved += n
        if n < VIEW_BATCH:
            return moved


# ------------------------------------------------------------------ verifying the chain

@dataclass
class ChainProblem:
    """The first place where the stored log departs from an untouched chain."""

    kind: str  #: "altered", "deleted", "inserted", "head", "anchor"
    entry_id: int | None
    seq: int | None
    created_at: datetime | None
    message: str


@dataclass
class ChainReport:
    checked: int = 0
    last_seq: int = 0
    last_hash: str = audit_chain.GENESIS
    first_at: datetime | None = None
    last_at: datetime | None = None
    problem: ChainProblem | None = None
    #: breaks the chain itself records (``audit.head_missing``): reported on every run, whatever came after
    breaks: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.problem is None and not self.breaks

    @property
    def anchor(self) -> str | None:
        """``<seq>:<hash>`` of the last entry checked, to keep elsewhere for ``audit-verify --anchor``; only
        when the walk reached the end without an unrecorded problem."""
        if self.problem is not None or self.last_seq == 0:
            return None
        return format_anchor(self.last_seq, self.last_hash)


#: ``<seq>:<entry_hash>`` as audit-verify prints it
_ANCHOR = re.compile(r"^([1-9][0-9]{0,17}):([0-9a-f]{64})$")


def format_anchor(seq: int, entry_hash: str) -> str:
    return f"{seq}:{entry_hash}"


def parse_anchor(text: str) -> tuple[int, str]:
    """``(seq, hash)`` from ``<seq>:<hash>``; ValueError for anything else."""
    m = _ANCHOR.match((text or "").strip().lower())
    if m is None:
        raise ValueError(text)
    return int(m.group(1)), m.group(2)


#: the stored values as the driver gives them: the timestamp and the JSON as text where the database keeps text
#: (SQLite), so no per-row type conversion runs before the hash (``audit_chain.canonical`` takes either form)
_COLUMNS = (AuditEntry.id, type_coerce(AuditEntry.created_at, String).label("created_at"), AuditEntry.actor_id,
            AuditEntry.on_behalf_of_id, AuditEntry.ip, AuditEntry.action, AuditEntry.object_type,
            AuditEntry.object_id, type_coerce(AuditEntry.details, String).label("details"), AuditEntry.seq,
            AuditEntry.prev_hash, AuditEntry.entry_hash)
_NAMES = [c.key if hasattr(c, "key") else c.name for c in _COLUMNS]


def _rows_after(last_id: int, batch: int):
    """Entries in id order after ``last_id``, as plain tuples, fetched in keyset batches (memory bounded by
    ``batch``). Read through the driver's cursor: SQLAlchemy's row objects cost more than hashing on a
    million rows; the statement is still built and compiled by SQLAlchemy for the dialect."""
    conn = db.session.connection()
    compiled = (select(*_COLUMNS).where(AuditEntry.id > bindparam("after")).order_by(AuditEntry.id)
                .limit(batch).compile(dialect=conn.dialect))
    sql = str(compiled)
    cursor = conn.connection.driver_connection.cursor()
    try:
        while True:
            params = compiled.construct_params({"after": last_id})
            if compiled.positional:
                params = tuple(params[name] for name in compiled.positiontup)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            last_id = rows[-1][0]
    finally:
        cursor.close()


def _as_time(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def verify_chain(batch: int = 20_000, progress=None, anchors: tuple[tuple[int, str], ...] = ()) -> ChainReport:
    """Walk the whole log in id order and report the first entry altered, inserted or deleted.

    Rules: ``seq`` runs 1, 2, 3… in id order; each ``prev_hash`` is the previous ``entry_hash``; each
    ``entry_hash`` is the hash of the stored fields; the chain head names the last ``seq`` and hash (so deleting the
    newest entries shows too). Entries appended while the walk runs are followed up before judging the head.
    Every ``audit.head_missing`` entry is a break on record (``report.breaks``): the head was deleted, and what
    followed it may have gone with it. ``anchors``: ``(seq, hash)`` pairs kept elsewhere from earlier runs; the
    entry at each seq must still be there with that hash, so a tail rewritten hashes and all (or deleted with the
    head) shows too."""
    report = _walk(batch, progress)
    if report.problem is None:
        report.problem = _check_anchors(anchors, report)
    report.breaks = _recorded_breaks()
    return report


def _walk(batch: int, progress) -> ChainReport:
    report = ChainReport()
    last_id, last_seq, last_hash, checked = 0, 0, audit_chain.GENESIS, 0
    first_at = last_at = None
    hash_of = audit_chain.values_hash
    while True:
        for row in _rows_after(last_id, batch):
            # row: id, created_at, actor_id, on_behalf_of_id, ip, action, object_type, object_id, details, seq,
            # prev_hash, entry_hash (``_COLUMNS``)
            seq, prev_hash, stored = row[9], row[10], row[11]
            if seq != last_seq + 1 or prev_hash != last_hash or stored != hash_of(
                    seq, prev_hash, row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8]):
                report.checked, report.last_seq, report.last_hash = checked, last_seq, last_hash
                report.first_at, report.last_at = _as_time(first_at), _as_time(last_at)
                report.problem = _check_row(dict(zip(_NAMES, row, strict=True)), report)
                return report
            last_id, last_seq, last_hash = row[0], seq, stored
            checked += 1
            if first_at is None:
                first_at = row[1]
            last_at = row[1]
            if progress and checked % batch == 0:
                progress(checked)
        report.checked, report.last_seq, report.last_hash = checked, last_seq, last_hash
        report.first_at, report.last_at = _as_time(first_at), _as_time(last_at)
        head = db.session.execute(select(AuditChainHead.seq, AuditChainHead.last_hash)
                                  .where(AuditChainHead.id == HEAD_ID)).first()
        if head is not None and head.seq > last_seq and db.session.scalar(
                select(AuditEntry.id).where(AuditEntry.id > last_id).limit(1)) is not None:
            continue  # appended during the walk: check those too
        report.problem = _check_head(head, report)
        return report


def _check_row(row: dict, report: ChainReport) -> ChainProblem:
    """Say what is wrong with the first entry that broke the chain."""
    expected = report.last_seq + 1

    def problem(kind: str, message: str) -> ChainProblem:
        return ChainProblem(kind, row["id"], row["seq"], _as_time(row["created_at"]), message)

    if row["seq"] is None or not row["entry_hash"] or not row["prev_hash"]:
        return problem("inserted", _("Entri #%(id)d disisipkan tanpa tempat di rantai (urutan/hash kosong).",
                                     id=row["id"]))
    if audit_chain.entry_hash(row) != row["entry_hash"]:
        return problem("altered", _("Entri #%(id)d (urutan %(seq)d) telah diubah: isinya tidak cocok dengan "
                                    "hash yang tersimpan.", id=row["id"], seq=row["seq"]))
    if row["seq"] > expected:
        return problem("deleted", _("Entri urutan %(first)d–%(last)d hilang (dihapus) tepat sebelum entri #%(id)d.",
                                    first=expected, last=row["seq"] - 1, id=row["id"]))
    if row["seq"] < expected:
        return problem("inserted", _("Entri #%(id)d disisipkan: urutannya %(seq)d, seharusnya %(expected)d.",
                                     id=row["id"], seq=row["seq"], expected=expected))
    return problem("inserted", _("Entri #%(id)d (urutan %(seq)d) tidak tersambung ke entri sebelumnya: "
                                 "entri ini disisipkan atau entri sebelumnya diganti.", id=row["id"], seq=row["seq"]))


def _check_anchors(anchors, report: ChainReport) -> ChainProblem | None:
    """The first kept anchor the (otherwise intact) chain no longer matches."""
    for seq, kept in anchors:
        if seq > report.last_seq:
            return ChainProblem("deleted", None, seq, report.last_at, _(
                "Entri urutan %(seq)d dari jangkar yang disimpan tidak ada lagi: log kini berakhir di urutan "
                "%(last)d. Entri sesudahnya telah dihapus.", seq=seq, last=report.last_seq))
        row = db.session.execute(select(AuditEntry.id, AuditEntry.created_at, AuditEntry.entry_hash)
                                 .where(AuditEntry.seq == seq)).first()
        if row is None or row.entry_hash != kept:
            return ChainProblem("anchor", row.id if row else None, seq, row.created_at if row else None, _(
                "Entri urutan %(seq)d tidak sama dengan jangkar yang disimpan (hash %(kept)s…, kini %(now)s…): "
                "rantai sampai urutan itu telah ditulis ulang sejak jangkar dicatat.",
                seq=seq, kept=kept[:12], now=(row.entry_hash if row else "-")[:12]))
    return None


def _recorded_breaks() -> list[ChainProblem]:
    """The ``audit.head_missing`` entries, oldest first (the action is indexed: no cost to the walk)."""
    rows = db.session.execute(select(AuditEntry.id, AuditEntry.seq, AuditEntry.created_at, AuditEntry.details)
                              .where(AuditEntry.action == HEAD_MISSING).order_by(AuditEntry.seq)).all()
    out = []
    for row in rows:
        details = row.details if isinstance(row.details, dict) else {}
        found = details.get("found_seq")
        out.append(ChainProblem("head", row.id, row.seq, _as_time(row.created_at), _(
            "Kepala rantai audit pernah hilang: entri #%(id)d (urutan %(seq)d) mencatat bahwa baris "
            "audit_chain_head terhapus; saat itu log berakhir di urutan %(found)s. Entri yang dulu ada sesudah "
            "urutan itu mungkin ikut dihapus: periksa dengan jangkar yang disimpan (--anchor).",
            id=row.id, seq=row.seq, found=found if found is not None else "?")))
    return out


def _check_head(head, report: ChainReport) -> ChainProblem | None:
    if head is None:
        if report.checked == 0:
            return None
        return ChainProblem("head", None, None, None, _("Kepala rantai audit hilang (baris audit_chain_head dihapus)."))
    if head.seq > report.last_seq:
        return ChainProblem("deleted", None, report.last_seq + 1, report.last_at, _(
            "Entri terakhir hilang: kepala rantai mencatat urutan %(head)d, log berakhir di urutan %(last)d "
            "(entri %(first)d–%(head)d dihapus).", head=head.seq, last=report.last_seq, first=report.last_seq + 1))
    if head.seq < report.last_seq:
        return ChainProblem("inserted", None, head.seq + 1, report.last_at, _(
            "Entri urutan %(first)d–%(last)d disisipkan di luar aplikasi: kepala rantai berhenti di urutan "
            "%(head)d.", first=head.seq + 1, last=report.last_seq, head=head.seq))
    if head.last_hash != report.last_hash:
        return ChainProblem("altered", None, head.seq, report.last_at, _(
            "Entri terakhir (urutan %(seq)d) diganti: hash-nya tidak sama dengan yang dicatat kepala rantai.",
            seq=head.seq))
    return None
