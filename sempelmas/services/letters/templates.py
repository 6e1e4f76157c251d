"""Letter templates: Jinja HTML under ``templates/letters/<name>.html``, or an admin's edit of it.

An admin's edit is stored in a ``LetterTemplate`` row with that name and wins over the file. Templates
run in Jinja's sandbox with undefined names as errors, so a typo fails the whole render instead of
printing an empty line: a rendering error never produces half a letter.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import current_app
from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.letter_format import long_date, nip_grouped, place_name
from sempelmas.extensions import db
from sempelmas.models.letters import LetterTemplate
from sempelmas.services.letters.pdf import LetterRenderError

ROOT = Path(__file__).resolve().parents[3]
LETTER_DIR = ROOT / "templates" / "letters"
#: names a template may have: the service's letter_template, or a shared part starting with "_"
NAME_RE = re.compile(r"^_?[a-z][a-z0-9_]{1,39}$")

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
     "address / street / rt / rw", "data penduduk yang diterangkan, dari data penduduk kelurahan; yang belum ada di "
     "sana ditanyakan pada formulir permohonan (bila templat ini mencetaknya) dan dicek petugas"),
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


class CandidateLoader(LetterLoader):
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


def new_env(loader: BaseLoader, *, cache: bool = True) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(loader=loader, autoescape=True, undefined=StrictUndefined,
                                        trim_blocks=True, lstrip_blocks=True, cache_size=400 if cache else 0,
                                        auto_reload=True)
    env.filters["tanggal"] = long_date
    env.filters["nip"] = nip_grouped
    env.filters["tempat"] = place_name
    return env


def letter_env():
    app = current_app._get_current_object()
    env = app.extensions.get("letter_env")
    if env is None:
        env = app.extensions["letter_env"] = new_env(LetterLoader())
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


def error_message(exc: BaseException) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return exc.message or str(exc)
    return f"{type(exc).__name__}: {exc}"


def render_template_html(name: str, context: dict, *, env=None) -> str:
    """Render letters/<name>.html; any error → LetterRenderError (nothing half-rendered leaves here)."""
    env = env or letter_env()
    try:
        template = env.get_template(f"letters/{name}.html")
        return template.render(context)
    except TemplateNotFound as e:
        raise LetterRenderError(str(_("Templat surat \"%(name)s\" tidak ditemukan.", name=e.name))) from e
    except TemplateSyntaxError as e:
        raise LetterRenderError(str(_("Templat surat \"%(name)s\" rusak pada baris %(line)d: %(error)s",
                                      name=e.name or name, line=e.lineno, error=error_message(e))), e.lineno) from e
    except Exception as e:  # noqa: BLE001 - any error inside a template must refuse the whole letter
        line = _line_of(e, None)
        where = str(_(" pada baris %(line)d", line=line)) if line else ""
        raise LetterRenderError(str(_("Surat tidak dapat dibuat: templat \"%(name)s\" gagal%(where)s: %(error)s",
                                      name=name, where=where, error=error_message(e))), line) from e
