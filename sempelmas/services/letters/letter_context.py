"""The data of a letter: the resident, the answers, the endorsements, the signature block, the kop.

``build_context`` is everything a letter template may use (templates.TEMPLATE_VARIABLES documents it);
``request_context`` builds it for a real request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from sempelmas.domain import dates
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.letter_format import GENDERS, long_date, nip_grouped, place_name, rt_rw_label
from sempelmas.extensions import db
from sempelmas.models.declared import DeclaredValue
from sempelmas.models.profile import Official
from sempelmas.services.letters import backends, pdf
from sempelmas.services.letters import kop as kop_surat
from sempelmas.services.letters.pdf import FONT_FAMILY, PAPER

CAPACITIES = ("", "a.n.", "Plh.", "Plt.")


@dataclass
class Signature:
    """The signature block: the office lines, the name, rank and NIP."""

    office_lines: list[str]
    name: str
    rank: str
    nip: str


def head_office(profile, officials: list | None = None) -> str:
    """"LURAH JAGALAN" (the head's printed title, else from the village name)."""
    for official in officials or []:
        if official.position == "lurah" and official.position_title:
            return official.position_title.upper()
    kind = "LURAH" if (profile.village_kind or "kelurahan") == "kelurahan" else "KEPALA DESA"
    return f"{kind} {profile.village_name}".upper()


def signature_block(profile, official, capacity: str, officials: list | None = None) -> Signature:
    """The office as tata naskah dinas prints it: "LURAH JAGALAN", "a.n. LURAH JAGALAN / Sekretaris
    Kelurahan", "Plh. LURAH JAGALAN", "Plt. LURAH JAGALAN"; then name, rank and NIP 8-6-1-3."""
    head = head_office(profile, officials)
    capacity = capacity if capacity in CAPACITIES else ""
    if capacity == "a.n.":
        lines = [f"a.n. {head}", official.position_title if official is not None else ""]
    elif capacity in ("Plh.", "Plt."):
        lines = [f"{capacity} {head}"]
    else:
        own = official.position_title.upper() if official is not None and official.position_title else head
        lines = [own]
    if official is None:
        return Signature([line for line in lines if line], "( ................................ )", "", "")
    return Signature([line for line in lines if line], official.name, official.rank or "",
                     f"NIP. {nip_grouped(official.nip)}" if official.nip else "")


def _person(resident, profile) -> dict:
    rt_rw = rt_rw_label(resident.rt, resident.rw)
    kind = "Kelurahan" if (profile.village_kind or "kelurahan") == "kelurahan" else "Desa"
    regency = ("Kota " if (profile.regency_kind or "kota") == "kota" else "Kabupaten ") + place_name(
        profile.regency_name)
    address = ", ".join(p for p in (resident.address, rt_rw, f"{kind} {place_name(profile.village_name)}",
                                    f"Kecamatan {place_name(profile.district_name)}", regency) if p)
    birth = ", ".join(p for p in (place_name(resident.birth_place), long_date(resident.birth_date)) if p)
    return {
        "name": resident.full_name, "nik": resident.nik, "kk": resident.kk_number, "birth": birth or "-",
        "birth_place": place_name(resident.birth_place), "birth_date": long_date(resident.birth_date),
        "gender": GENDERS.get(resident.gender or "", resident.gender or "-"),
        "religion": (resident.religion or "-").title() if resident.religion else "-",
        "occupation": (resident.occupation or "-").title() if resident.occupation else "-",
        "marital_status": (resident.marital_status or "-").title() if resident.marital_status else "-",
        "citizenship": resident.citizenship or "WNI", "address": address, "street": resident.address or "",
        "rt": resident.rt or "-", "rw": resident.rw or "-", "rt_rw": rt_rw,
    }


def _answers(snapshot: dict, answers: dict, tz_label: str) -> tuple[dict, dict, list]:
    """Raw answers (every field present, missing ones None), the printed form, and (label, text) rows."""
    raw, shown, rows = {}, {}, []
    for f in snapshot.get("fields", []):
        name, value = f["name"], (answers or {}).get(f["name"])
        raw[name] = value
        if value in (None, ""):
            text = "-"
        elif f["kind"] == "date":
            try:
                text = long_date(date.fromisoformat(str(value)))
            except ValueError:
                text = str(value)
        elif f["kind"] == "time":
            text = f"{str(value).replace(':', '.')} {tz_label}"
        else:
            text = str(value)
        shown[name] = text
        rows.append((f["label"], text))
    return raw, shown, rows


def _endorsement_text(endorsements: list, paper: bool) -> str:
    parts = []
    for e in endorsements:
        who = f"Ketua RT {e.rt}/RW {e.rw}" if e.level == "rt" else f"Ketua RW {e.rw}"
        at = e.at.date() if isinstance(e.at, datetime) else e.at
        parts.append(f"Surat Pengantar {who} Nomor {e.number} tanggal {long_date(at)}")
    if not parts and paper:
        return "Surat Pengantar RT/RW tertulis yang dilampirkan pemohon"
    return " dan ".join(parts)


def _local(moment: datetime, profile) -> datetime:
    return dates.to_local(moment, dates.tz_name_of(profile))


def build_context(*, profile, resident, snapshot: dict, answers: dict, endorsements: list, paper_pengantar: bool,
                  number: str | None, signed_at: datetime | None, official, capacity: str, verify_url: str | None,
                  officials: list | None = None, preview: bool | None = None, tracking_number: str = "") -> dict:
    """Everything a letter template may use (documented on the admin's template page)."""
    preview = number is None if preview is None else preview
    moment = _local(signed_at or datetime.now(UTC), profile)
    tz_label = getattr(profile, "timezone", None) or "WIB"
    raw, shown, rows = _answers(snapshot, answers, tz_label)
    validity = snapshot.get("validity_days")
    kop = kop_surat.kop(profile)
    village = f"{'Kelurahan' if (profile.village_kind or 'kelurahan') == 'kelurahan' else 'Desa'} " \
              f"{place_name(profile.village_name)}"
    return {
        "profile": profile, "kop": kop, "logo": kop_surat.logo_uri(profile),
        "service": snapshot, "title": (snapshot.get("name") or "").upper(), "number": number,
        "preview": preview, "tracking_number": tracking_number,
        "person": _person(resident, profile), "answers": raw, "a": shown, "answer_rows": rows,
        "purpose": shown.get("keperluan"),
        "endorsement": _endorsement_text(endorsements, paper_pengantar), "paper_pengantar": paper_pengantar,
        "endorsements": endorsements,
        "valid_until": long_date(moment.date() + timedelta(days=validity)) if validity else None,
        "date": long_date(moment.date()), "place": place_name(profile.regency_name),
        "place_date": f"{place_name(profile.regency_name)}, {long_date(moment.date())}",
        "village": village,
        "office_phrase": f"{head_office(profile, officials).title()} Kecamatan {place_name(profile.district_name)} "
                         f"{kop.regency}",
        "signature": signature_block(profile, official, capacity, officials), "capacity": capacity,
        # what the official's signer backend implies (the BSrE wording names BSrE-BSSN's certificate)
        "esign_footer": backends.footer_text(official), "signing_backend": backends.backend_name(official),
        "qr": pdf.data_uri(pdf.qr_png(verify_url)) if verify_url and not (preview and number is None) else None,
        "verify_url": verify_url,
        "paper": PAPER.get(getattr(profile, "paper_size", None) or "A4", PAPER["A4"]),
        "font": FONT_FAMILY,
    }


class _WithDeclared:
    """The subject's register entry with the values the applicant gave on the request (checked by staff) where the
    register lacked them (services/requests/declared_data.py)."""

    def __init__(self, resident, values: dict):
        self._resident, self._values = resident, values

    def __getattr__(self, name):
        values = self.__dict__["_values"]
        return values[name] if name in values else getattr(self.__dict__["_resident"], name)


def _subject(request, *, numbered: bool):
    """The subject as the letter prints it. A numbered letter is refused while a value the applicant gave is
    unchecked; a preview shows such a value as given."""
    rows = db.session.scalars(select(DeclaredValue).where(DeclaredValue.request_id == request.id)).all()
    if not rows:
        return request.subject
    if numbered and any(not d.is_checked for d in rows):
        raise pdf.LetterRenderError(str(_("Data dari pemohon belum dicek petugas: surat belum dapat dibuat.")))
    return _WithDeclared(request.subject, {d.field: d.typed_value for d in rows})


def request_context(request, *, number: str | None, signed_at: datetime | None, official: Official | None,
                    capacity: str = "", verify_url: str | None) -> dict:
    """The context of a real request's letter (preview when ``number`` is None: no QR then)."""
    from sempelmas.services.kelurahan import profile as profile_service
    from sempelmas.services.requests import lifecycle

    profile = profile_service.profile_row() or kop_surat.placeholder_profile()
    officials = profile_service.officials()
    if official is None and number is None:
        official = next((o for o in officials if o.position == "lurah"), officials[0] if officials else None)
    return build_context(
        profile=profile, resident=_subject(request, numbered=number is not None), snapshot=request.service_snapshot,
        answers=request.answers or {},
        endorsements=lifecycle.current_endorsements(request), paper_pengantar=request.needs_paper_pengantar,
        number=number, signed_at=signed_at, official=official, capacity=capacity,
        verify_url=verify_url if number is not None else None, officials=officials,
        tracking_number=request.tracking_number)
