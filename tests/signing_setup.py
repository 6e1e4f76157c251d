"""Building a signing desk for tests: a CA, a lurah and a sekretaris with certificates, requests awaiting
signature."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.profile import Official
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.requests import lifecycle
from tests.request_factory import make_profile, make_service, submit

LURAH_PASS = "lurah-ttd-uji-123"
SEKRETARIS_PASS = "sekretaris-ttd-uji-123"
BASE_URL = "https://surat.jagalan.test"


def configure(app, tmp_path: Path, public_url: str | None = BASE_URL) -> None:
    """Per-test PKI folder; a cheap scrypt cost (still scrypt) so tests unlock keys quickly; letters' links on
    ``public_url`` (None: the address the app was created with)."""
    app.config.update(PKI_DIR=str(tmp_path / "pki"), LETTER_DIR=str(tmp_path / "letters"),
                      PKI_CA_PASSPHRASE="ca-passphrase-uji-0123456789", PKI_KEY_SCRYPT_LOG_N=10)
    if public_url is not None:
        app.config["PUBLIC_URL"] = public_url


class Desk:
    def __init__(self, factory):
        self.factory = factory
        profile = make_profile()
        profile.letter_unit_code = "417.604.3"
        make_service("domisili", needs_rt=False)
        letter_ca.init_ca()
        self.lurah = factory.staff(Role.SIGNER, "lurah")
        self.sekretaris = factory.staff(Role.SIGNER, "sekretaris")
        self.staff = factory.staff(Role.STAFF, "petugas")
        self.lurah_official = Official(name="DRS. BAMBANG SUTRISNO", position="lurah", position_title="Lurah Jagalan",
                                       rank="Penata Tingkat I (III/d)", nip="197501012000031001",
                                       user_id=self.lurah.id, sort_order=1)
        self.sekretaris_official = Official(name="ENDAH PRATIWI, S.Sos.", position="sekretaris",
                                            position_title="Sekretaris Kelurahan", nip="198203152006042003",
                                            user_id=self.sekretaris.id, sort_order=2)
        db.session.add_all([self.lurah_official, self.sekretaris_official])
        db.session.flush()
        letter_certs.issue_certificate(self.lurah, self.lurah_official, LURAH_PASS)
        letter_certs.issue_certificate(self.sekretaris, self.sekretaris_official, SEKRETARIS_PASS)
        db.session.commit()
        self.warga = factory.warga()

    def awaiting(self, n: int = 1):
        """``n`` requests waiting for a signature (submitted, claimed and forwarded by staff)."""
        out = []
        for _ in range(n):
            request = submit(self.warga)
            lifecycle.transition(request, "claim", actor=self.staff)
            lifecycle.transition(request, "forward_to_signing", actor=self.staff)
            out.append(request)
        db.session.commit()
        return out


def page_text(pdf: bytes) -> str:
    """The text of every page as poppler reads it, whitespace collapsed (a footer may wrap anywhere)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "letter.pdf"
        src.write_bytes(pdf)
        out = subprocess.run(["pdftotext", "-layout", str(src), "-"], check=True, capture_output=True, text=True,
                             timeout=60).stdout
    return " ".join(out.split())


def qr_payloads(pdf: bytes) -> list[str]:
    """Render page 1 at 150 dpi with poppler and decode every QR code on it."""
    import zxingcpp
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "letter.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(src), str(Path(tmp) / "p")],
                       check=True, capture_output=True, timeout=60)
        image = Image.open(next(Path(tmp).glob("p*.png")))
        return [r.text for r in zxingcpp.read_barcodes(image)]
