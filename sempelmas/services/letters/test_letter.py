"""The test letter ("Surat uji") signed while a kelurahan goes live: a real signature with the official's own key,
the real QR code and public address, and nothing else of a letter.

Rules:
- its number comes from its own series, the counter scope ``uji`` (services.sequences, the one counter rule), and is
  printed ``UJI/<urut>/<unit>/<tahun>``: the real series never gives a number away to it, so going live leaves no
  hole in the real numbering;
- it is a ``TestLetter`` row, never a ``Letter`` (models/test_letters.py): the register and its exports, the API,
  statistics, the dashboard and transparency page, webhooks (no ``letter.signed`` event) and the OpenDK connector
  (``issuing.letter_issued`` is not sent) read letters only;
- the PDF carries "SURAT UJI — TIDAK BERLAKU" in its text and a diagonal "UJI" stamped on every page after
  rendering (``pdf.watermark``), so an edited layout cannot drop it; then it is signed (PAdES) like a letter;
- /v/<code> answers "UJI" for it (web/letters/verify.py), and records the first opening and the first opening from
  a phone with the browser's User-Agent (``record_view``): the going-live checklist asks ``test_letter_verified``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import select, update

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.letters import Letter, LetterCounter
from sempelmas.models.profile import Official
from sempelmas.models.test_letters import TestLetter
from sempelmas.services import sequences
from sempelmas.services.accountability import audit
from sempelmas.services.letters import backends, issuing
from sempelmas.services.letters import pdf as letter_pdf
from sempelmas.services.letters.ca import WrongPassphrase
from sempelmas.services.letters.letter_context import build_context
from sempelmas.services.letters.templates import ROOT, CandidateLoader, new_env, render_template_html

#: the counter of test letters in letter_counters (a real scope is "semua", "klasifikasi:…", "layanan:…" or
#: "pengantar:…": never this one)
SCOPE = "uji"
TEMPLATE_NAME = "surat_uji"
TEMPLATE_FILE = ROOT / "templates" / "test_letter" / "surat_uji.html"
WATERMARK = "UJI"
WATERMARK_LINE = "SURAT UJI — TIDAK BERLAKU"
#: browsers of phones and tablets say so in their User-Agent ("Mobi" is the advice of MDN and the browsers)
_PHONE = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Windows Phone|KAIOS", re.IGNORECASE)
AGENT_MAX = 300


def is_phone_agent(agent: str | None) -> bool:
    """True for a phone's (or tablet's) browser, by its User-Agent."""
    return bool(agent and _PHONE.search(agent))


def format_test_number(seq: int, unit: str | None, year: int) -> str:
    """"UJI/001/417.604.3/2026" ("UJI/001/2026" without a unit code): never the shape of a real number."""
    return "/".join(p for p in (WATERMARK, f"{seq:03d}", (unit or "").strip(), str(year)) if p)


def _render(profile, official, capacity: str, number: str, signed_at: datetime, verify_url: str) -> bytes:
    from sempelmas.services.kelurahan import profile as profile_service

    nobody = SimpleNamespace(full_name="-", nik="-", kk_number="-", birth_place="", birth_date=None, gender="",
                             religion="", occupation="", marital_status="", citizenship="-", address="", rt="",
                             rw="")
    context = build_context(profile=profile, resident=nobody, snapshot={"name": "Surat Uji", "fields": []},
                            answers={}, endorsements=[], paper_pengantar=False, number=number, signed_at=signed_at,
                            official=official, capacity=capacity, verify_url=verify_url,
                            officials=profile_service.officials(), preview=False)
    env = new_env(CandidateLoader(TEMPLATE_NAME, TEMPLATE_FILE.read_text(encoding="utf-8")), cache=False)
    html = render_template_html(TEMPLATE_NAME, context, env=env)
    return letter_pdf.watermark(letter_pdf.html_to_pdf(html), WATERMARK, WATERMARK_LINE)


def issue_test_letter(signer_user: User, passphrase: str, *, now: datetime | None = None,
                      totp: str | None = None) -> TestLetter:
    """Number (series ``uji``), render, watermark and sign a test letter with ``signer_user``'s own key; commits.

    Refuses (IssueError) an account that is not a signing official or a kelurahan without a profile; a wrong
    passphrase raises like signing a letter (counted by the PKI throttle; ``totp``: a BSrE v2 official's one-time
    code instead of the passphrase, as for a letter). On any error nothing is kept and the
    test number is given back. Audited as ``letter.test_issue``; no notification, webhook or OpenDK message."""
    from sempelmas.services.kelurahan import profile as profile_service

    if not signer_user.has_role(Role.SIGNER):
        raise issuing.IssueError(_("Hanya pejabat penandatangan yang dapat menandatangani surat uji."))
    if profile_service.profile_row() is None:
        raise issuing.IssueError(_("Isi profil kelurahan lebih dahulu: surat uji memakai kop surat dari profil."))
    signer = issuing.prepare_signer(signer_user, passphrase, totp=totp)
    certificate = getattr(signer, "certificate", None)
    official = issuing.official_of(signer_user, certificate)
    capacity = issuing.capacity_of(official)
    user_id, official_id = signer_user.id, (official.id if official is not None else None)
    now = now or datetime.now(UTC)
    signed_at = now.astimezone(UTC).replace(tzinfo=None)

    from sempelmas.domain import dates
    from sempelmas.services.letters import store as letter_store

    db.session.commit()
    issuing.begin_signing_transaction()
    try:
        profile = profile_service.profile_row()
        local = dates.to_local(now, dates.tz_name_of(profile))
        seq = sequences.take(LetterCounter.scope, SCOPE, local.year)
        number = format_test_number(seq, profile.letter_unit_code, local.year)
        code = letter_store.new_verify_code()
        while db.session.scalar(select(Letter.id).where(Letter.verify_code == code)) is not None:  # pragma: no cover
            code = letter_store.new_verify_code()
        official = db.session.get(Official, official_id) if official_id is not None else None
        signer_user = db.session.get(User, user_id)
        unsigned = _render(profile, official, capacity, number, signed_at, issuing.verify_url(code))
        signed = signer.sign(unsigned, passphrase=passphrase, reason=f"Surat uji {number}",
                             location=issuing._location())
        signer.check_signed(unsigned, signed)  # a gateway's answer must validate, as for a letter
        printed = {"signer_name": (official.name if official is not None else signer_user.full_name or "")[:120],
                   "signer_position": (official.position_title if official is not None else "")[:120]}
        letter = TestLetter(number=number, year=local.year, sequence=seq, verify_code=code, signed_at=signed_at,
                            signer_user_id=user_id, official_id=official_id,
                            certificate_id=getattr(certificate, "id", None), capacity=capacity, pdf=signed,
                            pdf_sha256=hashlib.sha256(signed).hexdigest(), pdf_size=len(signed), **printed,
                            **backends.provenance(signer, signed))
        db.session.add(letter)
        db.session.flush()
        audit.record("letter.test_issue", letter, actor=signer_user, number=number, sha256=letter.pdf_sha256)
        db.session.commit()
    except BaseException as e:
        db.session.rollback()
        if isinstance(e, WrongPassphrase):  # a gateway refused it (BSrE): counted like a letter's (issuing._issue)
            from sempelmas.services.letters import certificates as letter_certs

            letter_certs.record_failure(db.session.get(User, user_id), kind="bsre")
            db.session.commit()
        raise
    return letter


# ----------------------------------------------------------------------------------- reading

def by_code(code: str) -> TestLetter | None:
    if not code or len(code) > 40:
        return None
    return db.session.scalar(select(TestLetter).where(TestLetter.verify_code == code))


def test_letters(limit: int = 20) -> list[TestLetter]:
    """The newest test letters first."""
    return list(db.session.scalars(select(TestLetter).order_by(TestLetter.id.desc()).limit(limit)))


def latest() -> TestLetter | None:
    """The newest test letter, if any (the going-live checklist's step)."""
    return db.session.scalar(select(TestLetter).order_by(TestLetter.id.desc()).limit(1))


def test_letter_verified(letter: TestLetter | None) -> bool:
    """True once the test letter's verification page /v/<code> was opened from a phone (its QR scanned and the
    public address answering from outside). The going-live checklist's computed check."""
    return letter is not None and letter.phone_viewed_at is not None


def test_letter_opened(letter: TestLetter | None) -> bool:
    """True once its verification page was opened at all (any browser)."""
    return letter is not None and letter.first_viewed_at is not None


def any_test_letter_verified() -> bool:
    """Some test letter's page was opened from a phone (one query)."""
    return db.session.scalar(select(TestLetter.id).where(TestLetter.phone_viewed_at.is_not(None)).limit(1)) \
        is not None


def record_view(letter: TestLetter, agent: str | None) -> bool:
    """The public page of a test letter was opened: keep the first opening and the first from a phone, with the
    User-Agent; later openings write nothing. True when something was recorded (then committed)."""
    agent = (agent or "")[:AGENT_MAX]
    phone = is_phone_agent(agent)
    if letter.first_viewed_at is not None and (letter.phone_viewed_at is not None or not phone):
        return False
    now = utcnow()
    T = TestLetter
    db.session.execute(update(T).where(T.id == letter.id, T.first_viewed_at.is_(None))
                       .values(first_viewed_at=now, first_view_agent=agent))
    if phone:
        db.session.execute(update(T).where(T.id == letter.id, T.phone_viewed_at.is_(None))
                           .values(phone_viewed_at=now, phone_view_agent=agent))
    db.session.commit()
    return True
