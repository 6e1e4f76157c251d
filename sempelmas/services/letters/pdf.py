"""Letters as PDF: the embedded serif family, the HTML → PDF conversion (xhtml2pdf), and the QR code.

DejaVu Serif is registered once per process and embedded (subset) in every document; A4 or F4 as
the profile says (``PAPER``).
"""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.i18n import ngettext

ROOT = Path(__file__).resolve().parents[3]
FONT_DIR = ROOT / "static" / "fonts"
FONT_FAMILY = "DejaVuSerif"
FONT_FILES = {(0, 0): "DejaVuSerif.ttf", (1, 0): "DejaVuSerif-Bold.ttf", (0, 1): "DejaVuSerif-Italic.ttf",
              (1, 1): "DejaVuSerif-BoldItalic.ttf"}
PAPER = {"A4": "a4 portrait", "F4": "215mm 330mm"}
PAPER_MM = {"A4": (210, 297), "F4": (215, 330)}


class LetterRenderError(Exception):
    """A letter could not be made; ``message`` is for staff or the admin (with the line when known)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


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
        _fonts_ready = True


def warm_up() -> None:
    """Pay a process's one-time letter costs now (xhtml2pdf import ~0.5 s, fonts, first document).

    For a web worker after it starts (e.g. a gunicorn ``post_fork`` hook) so the first letter
    signed after a restart is as fast as the others. Needs no app context and no database.
    """
    register_fonts()
    html_to_pdf("<html><body><p>Surat</p></body></html>")
    qr_png("https://contoh.desa.id/v/x")


# ------------------------------------------------------------------ conversion

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
        raise LetterRenderError(ngettext("Surat tidak dapat diubah menjadi PDF (%(num)d kesalahan tata letak).",
                                         "Surat tidak dapat diubah menjadi PDF (%(num)d kesalahan tata letak).",
                                         result.err))
    data = out.getvalue()
    if not data.startswith(b"%PDF"):
        raise LetterRenderError(str(_("Surat tidak dapat diubah menjadi PDF.")))
    return data


# ------------------------------------------------------------------ QR code

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


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


# ------------------------------------------------------------------ watermark

def watermark(data: bytes, big: str, line: str) -> bytes:
    """Stamp every page with ``big`` (large, diagonal, light red) and ``line`` (at the top and the bottom of the
    page), drawn over the content in the embedded serif: a template edit cannot leave it out (test letters)."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    register_fonts()
    writer = PdfWriter(clone_from=io.BytesIO(data))
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=(width, height))
        c.setFillColor(Color(0.75, 0, 0, alpha=0.18))
        c.saveState()
        c.translate(width / 2, height * 0.36)  # below the signature block: the QR code stays clear
        c.rotate(35)
        c.setFont(FONT_FAMILY + "-Bold", 150)
        c.drawCentredString(0, -50, big)
        c.restoreState()
        c.setFillColor(Color(0.7, 0, 0, alpha=0.9))
        c.setFont(FONT_FAMILY + "-Bold", 11)
        c.drawCentredString(width / 2, height - 16, line)
        c.drawCentredString(width / 2, 10, line)
        c.save()
        page.merge_page(PdfReader(io.BytesIO(buf.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
