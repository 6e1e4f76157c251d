"""Data the letter needs and the register lacks: asked on the request form, kept on the request as "dari pemohon,
belum dicek", checked by staff before the letter goes to the signer.

Rules:
- A value is asked only when the letter of the service prints it (``letter_needs``) and the subject's register
  entry has none. What the register holds is never asked again and never overwritten from a request.
- The applicant's value is stored on the request (``DeclaredValue``), never in the register. Staff confirm or
  correct each value (``confirm``) while the request is with them; forwarding to the signer is refused while one
  is unchecked (``review.act``), and a numbered letter is never made from an unchecked value (letter_context).
- Staff may also write a checked value into the register entry's field, and only into an empty one: the register
  is the kelurahan's copy of the Dukcapil data (an import may fill it later), so a request never overwrites it.
  A kelurahan expects the next letter not to ask again what staff already checked, so the form offers it ticked;
  every such write is audited ("resident.update_from_request") with the request's number.
- The letter prints the checked value (it was checked for this letter); the signer's page shows which data came
  from the applicant and who checked it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from sempelmas.domain.dates import parse_date
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.letter_format import GENDERS, long_date
from sempelmas.domain.text import clean_text
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.declared import DeclaredStatus, DeclaredValue
from sempelmas.models.requests import LetterRequest
from sempelmas.models.residents import Resident, ResidentSource
from sempelmas.services.accountability import audit
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import letter_needs
from sempelmas.services.requests import lifecycle
from sempelmas.services.requests.lifecycle import RequestError

#: the form fields' prefix (the service's own fields use "f_")
PREFIX = "data_"
RELIGIONS = ("Islam", "Kristen", "Katolik", "Hindu", "Buddha", "Khonghucu", "Kepercayaan terhadap Tuhan YME")
MARITAL = ("Belum kawin", "Kawin", "Cerai hidup", "Cerai mati")


@dataclass(frozen=True)
class Question:
    """One value the form asks because the register lacks it."""

    field: str
    label: str
    kind: str  # "text", "choice" or "date"
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 80
    help_text: str = ""

    @property
    def name(self) -> str:
        return PREFIX + self.field


def _questions() -> dict[str, Question]:
    """In the order letters print them (translated when asked, not at import)."""
    return {q.field: q for q in (
        Question("birth_place", str(_("Tempat lahir")), "text", help_text=str(_("Seperti tertulis di KTP/KK."))),
        Question("birth_date", str(_("Tanggal lahir")), "date"),
        Question("gender", str(_("Jenis kelamin")), "choice",
                 (("L", str(_("Laki-laki"))), ("P", str(_("Perempuan"))))),
        Question("religion", str(_("Agama")), "choice", tuple((r, r) for r in RELIGIONS)),
        Question("marital_status", str(_("Status perkawinan")), "choice", tuple((m, m) for m in MARITAL)),
        Question("occupation", str(_("Pekerjaan")), "text",
                 help_text=str(_("Seperti tertulis di KTP/KK, contoh: Karyawan swasta, Pelajar/Mahasiswa."))),
        Question("address", str(_("Alamat (jalan, nomor rumah)")), "text", max_length=255),
    )}


def every_question() -> list[Question]:
    return list(_questions().values())


def by_field() -> dict[str, Question]:
    return _questions()


def may_check(request: LetterRequest) -> bool:
    """Whether staff may confirm or correct the applicant's data now: while the request waits for them."""
    return lifecycle.waits_for(request.status) == lifecycle.STAFF


def labels() -> dict[str, str]:
    return {f: q.label for f, q in _questions().items()}


def origin_of(resident: Resident) -> str:
    """Where a register entry's values came from, said to the resident on the request form."""
    if resident.source == ResidentSource.IMPORT:
        return str(_("dari data kependudukan kelurahan"))
    if resident.source == ResidentSource.VERIFIED:
        return str(_("dari pendaftaran akun Anda, diperiksa petugas atau Ketua RT saat verifikasi"))
    return str(_("dari pendaftaran akun Anda, belum diperiksa petugas"))


def missing_in_register(subject: Resident) -> list[str]:
    """The askable attributes the subject's register entry lacks, in letter order."""
    return [f for f in _questions() if getattr(subject, f, None) in (None, "")]


def questions_for(snapshot: dict, subject: Resident, answers: dict | None = None) -> list[Question]:
    """What the request form asks about ``subject``: what the service's letter prints and the register lacks.
    Nothing (and no rendering) when the register entry is complete."""
    missing = missing_in_register(subject)
    if not missing:
        return []
    needed = letter_needs.person_fields_needed(snapshot, answers, profile_service.profile_row())
    if needed is None:  # the template does not render now: asking is better than a "-" later
        needed = letter_needs.ALL_SOURCES
    every = _questions()
    return [every[f] for f in missing if f in needed]


def _date(value: str) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


def posted(form, questions: list[Question]) -> dict[str, str]:
    return {q.field: form.get(q.name, "") for q in questions}


def clean(question: Question, raw) -> tuple[str | None, str | None]:
    """(the stored value, an error message) of one answer."""
    value = clean_text(str(raw or "")).strip()
    if not value:
        return None, str(_("Wajib diisi: surat ini memerlukannya dan data kependudukan belum memuatnya."))
    if question.kind == "choice":
        codes = {code for code, _label in question.choices}
        return (value, None) if value in codes else (None, str(_("Pilih salah satu.")))
    if question.kind == "date":
        day = _date(value)
        if day is None or day > utcnow().date():
            return None, str(_("Tanggal tidak valid."))
        return day.isoformat(), None
    if len(value) > question.max_length:
        return None, str(_("Paling banyak %(n)d karakter.", n=question.max_length))
    return value, None


def check(questions: list[Question], answers: dict) -> tuple[dict[str, str], dict[str, str]]:
    """(clean values by attribute, messages by form field name) for the answers to ``questions``."""
    values, errors = {}, {}
    for q in questions:
        value, error = clean(q, answers.get(q.field))
        if error:
            errors[q.name] = error
        else:
            values[q.field] = value
    return values, errors


def record(request: LetterRequest, values: dict[str, str], actor: User) -> list[DeclaredValue]:
    """Keep the applicant's values on the new request, unchecked. Flushes."""
    rows = [DeclaredValue(request_id=request.id, field=f, value=v, declared_value=v, declared_by_id=actor.id,
                          status=DeclaredStatus.UNCHECKED) for f, v in values.items()]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def of_request(request: LetterRequest) -> list[DeclaredValue]:
    order = list(_questions())
    rows = db.session.scalars(select(DeclaredValue).where(DeclaredValue.request_id == request.id)).all()
    return sorted(rows, key=lambda d: order.index(d.field) if d.field in order else len(order))


def unchecked(request: LetterRequest) -> list[DeclaredValue]:
    return [d for d in of_request(request) if not d.is_checked]


def shown(field_name: str, value: str | None) -> str:
    """A stored value as people read it: the gender spelled out, a date written long."""
    if not value:
        return "-"
    if field_name == "gender":
        return GENDERS.get(value, value)
    if field_name == "birth_date":
        day = _date(value)
        return long_date(day) if day else value
    return value


def forward_blocker(request: LetterRequest) -> str | None:
    """Why the request may not go to the signer yet (unchecked values), or None."""
    waiting = unchecked(request)
    if not waiting:
        return None
    names = ", ".join(labels().get(d.field, d.field) for d in waiting)
    return str(_("Data dari pemohon belum dicek: %(names)s. Konfirmasi atau koreksi dulu (bagian \u201cData dari "
                 "pemohon\u201d), lalu teruskan ke penandatangan.", names=names))


class DeclaredError(RequestError):
    """A staff check refused; ``errors`` maps a form field to its message."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class CheckResult:
    confirmed: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    register: list[str] = field(default_factory=list)


def confirm(request: LetterRequest, actor: User, values: dict[str, str], *, update_register: bool,
            expected_version: int | None = None) -> CheckResult:
    """Staff check every value the applicant gave: the same (confirmed) or another (corrected; the applicant's
    stays in ``declared_value``). Only while the request waits for staff, and only by staff (NotPermittedError,
    TransitionError); every value must be valid (DeclaredError). With ``update_register`` the checked values
    also fill the register entry's empty fields (never one that holds something). Audited
    ("request.declared_check", and "resident.update_from_request" for the register); flushes."""
    if expected_version is not None and expected_version != request.version:
        raise lifecycle.ConcurrentUpdateError()
    if not actor.has_role("petugas"):
        raise lifecycle.NotPermittedError(str(_("Hanya petugas yang dapat memeriksa data dari pemohon.")))
    if not may_check(request):
        raise lifecycle.TransitionError(str(_("Data dari pemohon hanya dapat diperiksa selama permohonan ada di "
                                              "petugas.")))
    rows = of_request(request)
    every = _questions()
    errors, result, now = {}, CheckResult(), utcnow()
    checked: dict[DeclaredValue, str] = {}
    for row in rows:
        value, error = clean(every[row.field], values.get(row.field))
        if error:
            errors[PREFIX + row.field] = error
        else:
            checked[row] = value
    if errors:
        raise DeclaredError(str(_("Periksa kembali data yang ditandai.")), errors)
    for row, value in checked.items():
        status = DeclaredStatus.CONFIRMED if value == row.declared_value else DeclaredStatus.CORRECTED
        (result.confirmed if status == DeclaredStatus.CONFIRMED else result.corrected).append(row.field)
        row.value, row.status, row.checked_by_id, row.checked_at = value, status, actor.id, now
    if update_register:
        result.register = _fill_register(request, checked, actor)
    audit.record("request.declared_check", request, actor=actor, tracking_number=request.tracking_number,
                 confirmed=result.confirmed, corrected=result.corrected, register=result.register)
    db.session.flush()
    return result


def _fill_register(request: LetterRequest, checked: dict[DeclaredValue, str], actor: User) -> list[str]:
    """Write checked values into the subject's empty register fields; returns the attributes written."""
    subject = request.subject
    written = []
    for row, value in checked.items():
        if getattr(subject, row.field, None) not in (None, ""):
            continue
        setattr(subject, row.field, _date(value) if row.field == "birth_date" else value)
        row.register_updated = True
        written.append(row.field)
    if written:
        audit.record("resident.update_from_request", subject, actor=actor, tracking_number=request.tracking_number,
                     fields=written)
    return written
