"""Letters as HTML and PDF: the templates (file or admin-edited), their data, and the PDF conversion.

A letter template is Jinja HTML under ``templates/letters/<name>.html``; an admin's edit is stored in
a ``LetterTemplate`` row with that name and wins over the file. Templates run in Jinja's sandbox
with undefined names as errors, so a typo fails the whole render instead of printing an empty
line: a rendering error never produces half a letter. The PDF is made by xhtml2pdf with DejaVu
Serif embedded (subset), on A4 or F4 as the profile says.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from flask import current_app
from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select

from sempelmas.domain import dates
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.letter_format import GENDERS, long_date, nip_grouped, place_name, rt_rw_label
from sempelmas.extensions import db
from sempelmas.models.letters import LetterTemplate
from sempelmas.models.profile import KelurahanProfile, Official

ROOT = Path(__file__).resolve().parents[3]
LETTER_DIR = ROOT / "templates" / "letters"
FONT_DIR = ROOT / "static" / "fonts"
FONT_FAMILY = "DejaVuSerif"
FONT_FILES = {(0, 0): "DejaVuSerif.ttf", (1, 0): "DejaVuSerif-Bold.ttf", (0, 1): "DejaVuSerif-Italic.ttf",
              (1, 1): "DejaVuSerif-BoldItalic.ttf"}
#: names a template may have: the service's letter_template, or a shared part starting with "_"
NAME_RE = re.compile(r"^_?[a-z][a-z0-9_]{1,39}$")
PAPER = {"A4": "a4 portrait", "F4": "215mm 330mm"}
PAPER_MM = {"A4": (210, 297), "F4": (215, 330)}
#: the logo is printed about 2 cm tall: a few hundred pixels are plenty and keep the PDF small
LOGO_MAX_PX = 240
CAPACITIES = ("", "a.n.", "Plh.", "Plt.")

log = logging.getLogger(__name__)


class LetterRenderError(Exception):
    """A letter could not be made; ``message`` is for staff or the admin (with the line when known)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


#: what a letter template may use, shown on the admin's editor page
TEMPLATE_VARIABLES = [
    ("title", "nama layanan dalam huruf kapital (judul bawaan)"),
    ("number", "nomor surat; kosong pada pratinjau"),
    ("preview", "benar pada pratinjau (surat belum bernomor/ditandatangani)"),
    ("kop.government / kop.district / kop.village / kop.address / kop.contact / kop.regency",
     "baris kop surat dari profil"),
    ("profile.village_name, profile.district_name, …", "isian profil kelurahan"),
    ("logo", "logo daerah (data URI) atau kosong"),
    ("person.name / nik / kk / birth / gender / religion / occupation / marital_status / citizenship / "
     "address / street / rt / rw", "data penduduk yang diterangkan, dari data penduduk kelurahan"),
    ("answers.<nama isian>", "jawaban formulir apa adanya (kosong = None)"),
    ("a.<nama isian>", "jawaban siap cetak: tanggal ditulis lengkap, jam dengan zona waktu, kosong = \"-\""),
    ("answer_rows", "daftar (label, jawaban) semua isian"),
    ("purpose", "isian keperluan, bila ada"),
    ("endorsement", "kalimat rujukan pengantar RT/RW yang berlaku (nomor dan tanggal), atau pengantar tertulis"),
    ("valid_until", "tanggal akhir masa berlaku, bila layanan punya masa berlaku"),
    ("place_date", "tempat dan tanggal surat, contoh \"Mojokerto, 27 November 2026\""),
    ("village / office_phrase", "\"Kelurahan Jagalan\" / \"Lurah Jagalan Kecamatan Kranggan Kota Mojokerto\""),
    ("signature.office_lines / name / rank / nip", "blok tanda tangan (a.n., Plh., Plt. sudah diterapkan)"),
    ("qr / verify_url", "kode QR dan alamat verifikasi, hanya pada surat yang ditandatangani"),
    ("filter |tanggal, |nip, |tempat", "tanggal panjang, NIP 8-6-1-3, nama tempat huruf awal kapital"),
]


# ------------------------------------------------------------------ fonts

_font_lock = threading.Lock()
_fonts_ready = False


def register_fonts() -> None:
    """Register the serif family with ReportLab once per process (reading the TTFs costs ~30 ms).

    xhtml2pdf's @font-face would re-read the files on every letter; registered once, every
    document embeds a subset of just the glyphs it uses. CSS "serif" maps to it too, so an admin's
    template cannot fall back to an unembedded base-14 font by accident.
    """
    global _fonts_ready
    if _fonts_ready:
        return
    with _font_lock:
        if _fonts_ready:
            return
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from xhtml2pdf import default

        names = {}
        for (bold, italic), filename in FONT_FILES.items():
            name = FONT_FAMILY + {(0, 0): "", (1, 0): "-Bold", (0, 1): "-Italic", (1, 1): "-BoldItalic"}[(bold, italic)]
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
            names[(bold, italic)] = name
        for (bold, italic), name in names.items():
            addMapping(FONT_FAMILY, bold, italic, name)
        # binary streams as they are: ASCII85 makes every font, image and page a quarter bigger and is
        # the single slowest pure-Python step of a save (reportlab's C accelerator is not installed)
        from reportlab import rl_config

        rl_config.useA85 = 0
        for alias in ("dejavuserif", "dejavu serif", "serif", "times", "times new roman", "times-roman"):
            default.DEFAULT_FONT[alias] = FONT_FAMILY
        _cache_plain_css()
        _fonts_ready = True


def _cache_plain_css() -> None:
    """Parse each plain style sheet once per process instead of once per letter (~15 % of a render).

    xhtml2pdf parses the user-agent sheet and every <style> block again for each document. A block
    of plain rule sets parses to the same immutable rules every time, so its result is reused; a
    block with at-rules (@page, @font-face: they act on the document being built) or custom
    properties is always parsed afresh. The letter keeps its @page rule in a <style> of its own.
    """
    from xhtml2pdf.context import pisaContext

    if getattr(pisaContext._parseCSSSource, "_letter_cache", False):
        return
    original = pisaContext._parseCSSSource
    cache: dict[str, object] = {}

    def parse(self, text, source_name):
        if "@" in text or "--" in text:
            return original(self, text, source_name)
        hit = cache.get(text)
        if hit is None:
            hit = original(self, text, source_name)
            if len(cache) < 64:  # admins' edits make new sheets: bounded
                cache[text] = hit
        return hit

    parse._letter_cache = True
    pisaContext._parseCSSSource = parse


def warm_up() -> None:
    """Pay a process's one-time letter costs now (xhtml2pdf import ~0.5 s, fonts, first document).

    For a web worker after it starts (e.g. a gunicorn ``post_fork`` hook) so the first letter
    signed after a restart is as fast as the others. Needs no app context and no database.
    """
    register_fonts()
    html_to_pdf("<html><body><p>Surat</p></body></html>")
    qr_png("https://contoh.desa.id/v/x")


# ------------------------------------------------------------------ templates

def _row(name: str):
    return db.session.execute(select(LetterTemplate.source, LetterTemplate.updated_at)
                              .where(LetterTemplate.name == name)).first()


class LetterLoader(BaseLoader):
    """letters/<name>.html: the admin's edit when there is one, else the file.

    Compiled templates are cached; each use re-checks (one small query) that no edit appeared,
    changed or was removed since, so every worker sees an admin's change at once.
    """

    def get_source(self, environment, template):
        name = _name_of(template)
        row = _row(name)
        if row is not None:
            stamp = row.updated_at

            def uptodate() -> bool:
                now = _row(name)
                return now is not None and now.updated_at == stamp

            return row.source, None, uptodate
        path = LETTER_DIR / f"{name}.html"
        if not path.is_file():
            raise TemplateNotFound(template)
        mtime = path.stat().st_mtime

        def file_uptodate() -> bool:
            try:
                return path.stat().st_mtime == mtime and _row(name) is None
            except OSError:
                return False

        return path.read_text(encoding="utf-8"), str(path), file_uptodate


class _CandidateLoader(LetterLoader):
    """The loader used to check an edit: ``name`` answers with the candidate source, nothing cached."""

    def __init__(self, name: str, source: str):
        self.name, self.source = name, source

    def get_source(self, environment, template):
        if _name_of(template) == self.name:
            return self.source, None, lambda: False
        return super().get_source(environment, template)


def _name_of(template: str) -> str:
    name = template.removeprefix("letters/").removesuffix(".html")
    if not NAME_RE.match(name):
        raise TemplateNotFound(template)
    return name


def _new_env(loader: BaseLoader, *, cache: bool = True) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(loader=loader, autoescape=True, undefined=StrictUndefined,
                                        trim_blocks=True, lstrip_blocks=True, cache_size=400 if cache else 0,
                                        auto_reload=True)
    env.filters["tanggal"] = long_date
    env.filters["nip"] = nip_grouped
    env.filters["tempat"] = place_name
    return env


def _env():
    app = current_app._get_current_object()
    env = app.extensions.get("letter_env")
    if env is None:
        env = app.extensions["letter_env"] = _new_env(LetterLoader())
    return env


def template_names() -> list[dict]:
    """Every letter template: its name, whether the admin edited it, and when."""
    files = {p.stem for p in LETTER_DIR.glob("*.html")}
    rows = {r.name: r for r in db.session.scalars(select(LetterTemplate))}
    out = []
    for name in sorted(files | set(rows), key=lambda n: (not n.startswith("_"), n)):
        row = rows.get(name)
        out.append({"name": name, "has_file": name in files, "edited": row is not None,
                    "updated_at": row.updated_at if row else None,
                    "updated_by_id": row.updated_by_id if row else None})
    return out


def template_source(name: str) -> tuple[str, bool] | None:
    """(source, edited?) of a letter template, or None when there is no such template."""
    if not NAME_RE.match(name):
        return None
    row = _row(name)
    if row is not None:
        return row.source, True
    source = default_source(name)
    return (source, False) if source is not None else None


def default_source(name: str) -> str | None:
    """The file's source of a letter template (what "Kembalikan ke bawaan" goes back to)."""
    if not NAME_RE.match(name):
        return None
    path = LETTER_DIR / f"{name}.html"
    return path.read_text(encoding="utf-8") if path.is_file() else None


# ------------------------------------------------------------------ images

_logo_cache: dict[tuple, str] = {}


def _logo_uri(profile) -> str | None:
    """The profile's logo, downscaled and as a data URI (cached per logo)."""
    from sempelmas.services.kelurahan import profile as profile_service

    found = getattr(profile, "_demo_logo", None)
    if found is None and isinstance(profile, KelurahanProfile):
        found = profile_service.logo()
    if not found:
        return None
    data, _mime = found
    key = (len(data), hash(data))
    uri = _logo_cache.get(key)
    if uri is None:
        from PIL import Image

        img = Image.open(io.BytesIO(data))
        img = img.convert("RGB")
        img.thumbnail((LOGO_MAX_PX, LOGO_MAX_PX))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85, optimize=True)
        uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        if len(_logo_cache) > 8:
            _logo_cache.clear()
        _logo_cache[key] = uri
    return uri


def qr_png(data: str) -> bytes:
    """A QR code (medium error correction) as a small black-and-white PNG."""
    import qrcode
    from qrcode.image.pil import PilImage

    # a fixed mask: choosing the "best" of the eight costs ~10 ms in pure Python; any mask scans (tested)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=2, mask_pattern=2)
    qr.add_data(data)
    qr.make(fit=True)
    img = qr.make_image(image_factory=PilImage)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


# ------------------------------------------------------------------ the letter's data

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


def _kop(profile) -> SimpleNamespace:
    kind = "KOTA" if (profile.regency_kind or "kota") == "kota" else "KABUPATEN"
    village_kind = "KELURAHAN" if (profile.village_kind or "kelurahan") == "kelurahan" else "DESA"
    contact = []
    if profile.phone:
        contact.append(f"Telp. {profile.phone}")
    if profile.email:
        contact.append(f"E-mail: {profile.email}")
    if profile.website:
        contact.append(f"Laman: {profile.website}")
    address = profile.address or ""
    if profile.postcode:
        address = f"{address} Kode Pos {profile.postcode}".strip()
    return SimpleNamespace(
        government=f"PEMERINTAH {kind} {profile.regency_name}".upper(),
        district=f"KECAMATAN {profile.district_name}".upper(),
        village=f"{village_kind} {profile.village_name}".upper(),
        address=address, contact="  ·  ".join(contact),
        regency=f"{kind.capitalize()} {place_name(profile.regency_name)}",
    )


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
    kop = _kop(profile)
    village = f"{'Kelurahan' if (profile.village_kind or 'kelurahan') == 'kelurahan' else 'Desa'} " \
              f"{place_name(profile.village_name)}"
    return {
        "profile": profile, "kop": kop, "logo": _logo_uri(profile),
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
        "qr": _data_uri(qr_png(verify_url)) if verify_url and not (preview and number is None) else None,
        "verify_url": verify_url,
        "paper": PAPER.get(getattr(profile, "paper_size", None) or "A4", PAPER["A4"]),
        "font": FONT_FAMILY,
    }


def request_context(request, *, number: str | None, signed_at: datetime | None, official: Official | None,
                    capacity: str = "", verify_url: str | None) -> dict:
    """The context of a real request's letter (preview when ``number`` is None: no QR then)."""
    from sempelmas.services.kelurahan import profile as profile_service
    from sempelmas.services.requests import lifecycle

    profile = profile_service.profile_row() or _placeholder_profile()
    officials = profile_service.officials()
    if official is None and number is None:
        official = next((o for o in officials if o.position == "lurah"), officials[0] if officials else None)
    return build_context(
        profile=profile, resident=request.subject, snapshot=request.service_snapshot, answers=request.answers or {},
        endorsements=lifecycle.current_endorsements(request), paper_pengantar=request.needs_paper_pengantar,
        number=number, signed_at=signed_at, official=official, capacity=capacity,
        verify_url=verify_url if number is not None else None, officials=officials,
        tracking_number=request.tracking_number)


def kop_context(profile=None) -> dict:
    """The kop surat of other printed documents (reports): ``kop``, ``logo``, ``profile``, ``font``, ``paper``."""
    profile = profile or _placeholder_profile()
    paper = getattr(profile, "paper_size", None) if getattr(profile, "paper_size", None) in PAPER else "A4"
    return {"kop": _kop(profile), "logo": _logo_uri(profile), "profile": profile, "font": FONT_FAMILY,
            "paper": PAPER[paper], "paper_name": paper}


def _placeholder_profile() -> KelurahanProfile:
    return KelurahanProfile(village_kind="kelurahan", province_name="", regency_kind="kota", regency_name="-",
                            district_name="-", village_name="-", region_code="", address="", timezone="WIB",
                            paper_size="A4")


# ------------------------------------------------------------------ rendering

def _line_of(exc: BaseException, filename: str | None) -> int | None:
    """The template line a rendering error happened on (Jinja rewrites tracebacks to template lines)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == (filename or "<template>") or (
                filename is None and tb.tb_frame.f_globals.get("__jinja_template__") is not None
                and code.co_filename == "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return exc.message or str(exc)
    return f"{type(exc).__name__}: {exc}"


def render_template_html(name: str, context: dict, *, env=None) -> str:
    """Render letters/<name>.html; any error → LetterRenderError (nothing half-rendered leaves here)."""
    env = env or _env()
    try:
        template = env.get_template(f"letters/{name}.html")
        return template.render(context)
    except TemplateNotFound as e:
        raise LetterRenderError(str(_("Templat surat \"%(name)s\" tidak ditemukan.", name=e.name))) from e
    except TemplateSyntaxError as e:
        raise LetterRenderError(str(_("Templat surat \"%(name)s\" rusak pada baris %(line)d: %(error)s",
                                      name=e.name or name, line=e.lineno, error=_error_message(e))), e.lineno) from e
    except Exception as e:  # noqa: BLE001 - any error inside a template must refuse the whole letter
        line = _line_of(e, None)
        where = str(_(" pada baris %(line)d", line=line)) if line else ""
        raise LetterRenderError(str(_("Surat tidak dapat dibuat: templat \"%(name)s\" gagal%(where)s: %(error)s",
                                      name=name, where=where, error=_error_message(e))), line) from e


_DEFAULT_CSS: str | None = None


def _default_css() -> str:
    """xhtml2pdf's user-agent sheet with the serif family in place of Helvetica (never embedded)."""
    global _DEFAULT_CSS
    if _DEFAULT_CSS is None:
        from xhtml2pdf.default import DEFAULT_CSS

        _DEFAULT_CSS = DEFAULT_CSS.replace("font-family: Helvetica;", f"font-family: {FONT_FAMILY};")
    return _DEFAULT_CSS


def html_to_pdf(html: str) -> bytes:
    """xhtml2pdf with the embedded serif family; a conversion error raises LetterRenderError."""
    from xhtml2pdf import pisa

    register_fonts()
    out = io.BytesIO()
    # xhtml2pdf logs every unknown CSS property; the letter's own CSS is known-good
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", default_css=_default_css())
    if result.err:
        raise LetterRenderError(str(_("Surat tidak dapat diubah menjadi PDF (%(n)d kesalahan tata letak).",
                                      n=result.err)))
    data = out.getvalue()
    if not data.startswith(b"%PDF"):
        raise LetterRenderError(str(_("Surat tidak dapat diubah menjadi PDF.")))
    return data


def render_html(request, *, number: str | None, signed_at: datetime | None, official: Official | None,
                capacity: str = "", verify_url: str | None) -> str:
    """The letter of ``request`` as HTML (number None → a preview marked PRATINJAU, without QR)."""
    context = request_context(request, number=number, signed_at=signed_at, official=official, capacity=capacity,
                              verify_url=verify_url)
    return render_template_html(request.service_snapshot["letter_template"], context)


def render_pdf(request, *, number: str | None, signed_at: datetime | None, official: Official | None,
               capacity: str = "", verify_url: str | None) -> bytes:
    """The letter of ``request`` as an unsigned PDF, ready for signing (number None → preview, no QR).

    The QR code (``verify_url``) is drawn only on a numbered letter. Raises LetterRenderError
    with a message for staff when the template or the conversion fails.
    """
    return html_to_pdf(render_html(request, number=number, signed_at=signed_at, official=official,
                                   capacity=capacity, verify_url=verify_url))


# ------------------------------------------------------------------ demo data and template checks

DEMO_ANSWERS = {
    "keperluan": "Persyaratan melamar pekerjaan", "jenis_keterangan": "Tidak mampu (SKTM)",
    "pernyataan": "Yang bersangkutan benar berasal dari keluarga kurang mampu dan memerlukan keringanan biaya "
                  "pendidikan anaknya.",
    "nama_anak": "ANISA PUTRI RAHAYU", "jenis_kelamin_anak": "Perempuan",
    "tempat_lahir": "RSUD Dr. Wahidin Sudiro Husodo, Kota Mojokerto", "tanggal_lahir": "2026-01-14",
    "jam_lahir": "08:35", "anak_ke": 2, "nama_ayah": "BUDI SANTOSO", "nik_ayah": "3576031705900001",
    "nama_ibu": "SITI AMINAH", "nik_ibu": "3576035208920002",
    "nama_usaha": "Warung Makan Bu Siti", "alamat_usaha": "Jl. Pemuda No. 12, RT 002/RW 001, Jagalan",
    "bidang_usaha": "Warung makan", "npwp": "12.345.678.9-602.000",
    "nama_almarhum": "SUPARMAN", "nik_almarhum": "3576030101450003", "tanggal_meninggal": "2026-11-20",
    "jam_meninggal": "04:10", "tempat_meninggal": "Rumah, Jl. Pemuda No. 12 Mojokerto",
    "sebab_meninggal": "Sakit", "nama_pelapor": "BUDI SANTOSO", "nik_pelapor": "3576031705900001",
    "hubungan_pelapor": "Anak kandung",
    "alamat_tujuan": "Jl. Diponegoro No. 5, RT 004/RW 002", "kelurahan_tujuan": "Sawahan",
    "kecamatan_tujuan": "Sawahan", "kota_tujuan": "Kota Surabaya", "provinsi_tujuan": "Jawa Timur",
    "alasan_pindah": "Pekerjaan", "anggota_pindah": "SITI AMINAH 3576035208920002\nANISA PUTRI RAHAYU "
                                                   "3576035401260004",
    "status_perkawinan": "Jejaka", "nama_calon": "DEWI LESTARI", "nik_calon": "3576035005950005",
    "alamat_calon": "Jl. Gajah Mada No. 8, Mojokerto", "tanggal_nikah": "2026-12-20",
    "tempat_nikah": "KUA Kecamatan Kranggan",
}
DEMO_BY_KIND = {"text": "Contoh isian", "long_text": "Contoh isian panjang.", "date": "2026-11-27", "time": "09:00",
                "number": 1, "choice": None, "nik": "3576031705900001"}


def _demo_snapshot(name: str) -> dict:
    """The service whose letter uses template ``name`` (the catalogue's, else the standard one), as a snapshot."""
    from sempelmas.models.catalogue import Service
    from sempelmas.services.requests import catalogue
    from sempelmas.services.requests.catalogue_standard import STANDARD

    service = db.session.scalar(select(Service).where(Service.letter_template == name).limit(1))
    if service is not None:
        return catalogue.snapshot(service)
    spec = next((s for s in STANDARD if s["letter_template"] == name), None)
    if spec is None:
        spec = STANDARD[0]
    fields, _errors = catalogue.parse_field_lines(spec["fields"])
    return {"code": spec["code"], "name": spec["name"], "classification_code": spec["classification_code"],
            "letter_template": name, "validity_days": 30, "fields": fields}


def demo_context(name: str, *, paper_size: str | None = None) -> dict:
    """Sample data for template ``name``: the real profile and officials, a made-up resident and answers."""
    from sempelmas.services.kelurahan import profile as profile_service

    profile = profile_service.profile_row() or _demo_profile()
    snapshot = _demo_snapshot(name)
    answers = {}
    for f in snapshot.get("fields", []):
        value = DEMO_ANSWERS.get(f["name"], DEMO_BY_KIND.get(f["kind"]))
        if f["kind"] == "choice" and value not in (f.get("choices") or []):
            value = (f.get("choices") or [None])[0]
        answers[f["name"]] = value
    officials = profile_service.officials()
    official = next((o for o in officials if o.position == "lurah"), officials[0] if officials else None) \
        or _demo_official()
    resident = SimpleNamespace(full_name="BUDI SANTOSO", nik="3576031705900001", kk_number="3576031201150007",
                               birth_place="MOJOKERTO", birth_date=date(1990, 5, 17), gender="L",
                               religion="ISLAM", occupation="KARYAWAN SWASTA", marital_status="KAWIN",
                               citizenship="WNI", address="Jl. Pemuda No. 12", rt="002", rw="001")
    endorsement = SimpleNamespace(level="rt", rt="002", rw="001", number="007/RT.002/RW.001/XI/2026",
                                  at=datetime(2026, 11, 26, 2, 0))
    unit = getattr(profile, "letter_unit_code", None) or "417.604.3"
    context = build_context(
        profile=profile, resident=resident, snapshot=snapshot, answers=answers, endorsements=[endorsement],
        paper_pengantar=False, number=f"{snapshot.get('classification_code') or '470'}/007/{unit}/2026",
        signed_at=datetime(2026, 11, 27, 3, 0), official=official, capacity="",
        verify_url="https://contoh.desa.id/v/CONTOHKODEQR", officials=officials, preview=True,
        tracking_number="SPM-2026-000007")
    if paper_size:
        context["paper"] = PAPER.get(paper_size, PAPER["A4"])
    return context


def _demo_profile() -> KelurahanProfile:
    return KelurahanProfile(village_kind="kelurahan", province_name="Jawa Timur", regency_kind="kota",
                            regency_name="Mojokerto", district_name="Kranggan", village_name="Jagalan",
                            region_code="35.76.03.1004", address="Jl. Pemuda No. 2", postcode="61321",
                            phone="(0321) 321000", email="kel.jagalan@mojokertokota.go.id",
                            website="https://jagalan.mojokertokota.go.id", timezone="WIB", paper_size="A4",
                            letter_unit_code="417.604.3")


def _demo_official() -> Official:
    return Official(name="Drs. CONTOH NAMA, M.Si.", position="lurah", position_title="Lurah Jagalan",
                    rank="Penata Tingkat I (III/d)", nip="197501012000031001")


def render_demo(name: str, *, source: str | None = None, as_pdf: bool = True) -> bytes | str:
    """Template ``name`` (or a candidate ``source`` for it) rendered with demo data, as PDF or HTML."""
    env = _new_env(_CandidateLoader(name, source), cache=False) if source is not None else _env()
    target = name if not name.startswith("_") else _child_for(name)
    html = render_template_html(target, demo_context(target), env=env)
    return html_to_pdf(html) if as_pdf else html


def _child_for(name: str) -> str:
    """A shared part (``_base``) is tried out through a letter that uses it."""
    return "domisili" if (LETTER_DIR / "domisili.html").is_file() else next(
        (p.stem for p in sorted(LETTER_DIR.glob("*.html")) if not p.stem.startswith("_")), name)


def check_template(name: str, source: str) -> str | None:
    """None when ``source`` may be saved as template ``name``, else the reason with the line number.

    Refused: a Jinja syntax error, and any error of a trial render with demo data (an unknown
    variable, a failing filter, a broken PDF conversion).
    """
    env = _new_env(_CandidateLoader(name, source), cache=False)
    try:
        env.parse(source)
    except TemplateSyntaxError as e:
        return str(_("Baris %(line)d: %(error)s", line=e.lineno, error=_error_message(e)))
    try:
        render_demo(name, source=source)
    except LetterRenderError as e:
        if e.line:
            return str(_("Baris %(line)d: %(error)s", line=e.line, error=e.message))
        return e.message
    return None


def save_template(name: str, source: str, *, actor=None) -> LetterTemplate:
    """Store the admin's edit of template ``name`` after check_template accepted it (raises otherwise).

    Audited with the name and the size; flushes, never commits.
    """
    from sempelmas.models.base import utcnow
    from sempelmas.services.accountability import audit

    problem = check_template(name, source)
    if problem:
        raise LetterRenderError(problem)
    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.name == name))
    if row is None:
        row = LetterTemplate(name=name, source=source)
        db.session.add(row)
    row.source = source
    row.updated_at = utcnow()
    row.updated_by_id = getattr(actor, "id", actor)
    db.session.flush()
    audit.record("letter_template.save", row, actor=actor, name=name, length=len(source))
    return row


def reset_template(name: str, *, actor=None) -> bool:
    """Delete the admin's edit so the file is used again; audited. False when there was none."""
    from sempelmas.services.accountability import audit

    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.name == name))
    if row is None:
        return False
    audit.record("letter_template.reset", row, actor=actor, name=name)
    db.session.delete(row)
    db.session.flush()
    return True
