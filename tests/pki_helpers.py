"""Test helpers for the kelurahan CA: a CA per test, a signing official with a certificate, a one-page PDF,
and poppler's pdfsig (with an NSS database that trusts the CA)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.profile import KelurahanProfile, Official
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from tests.request_factory import make_profile

PASSPHRASE = "passphrase-ttd-uji"


def use_pki_dir(app, tmp_path: Path) -> Path:
    """A fresh PKI_DIR for this test (the app's config is restored afterwards by make_app), cheap key KDF."""
    path = tmp_path / "pki"
    app.config["PKI_DIR"] = str(path)
    app.config["PKI_CA_PASSPHRASE"] = None
    app.config["PKI_KEY_SCRYPT_LOG_N"] = 10
    return path


def make_ca(app, tmp_path: Path) -> Path:
    path = use_pki_dir(app, tmp_path)
    if db.session.query(KelurahanProfile).first() is None:
        make_profile()
    created, _msg = letter_ca.init_ca()
    assert created
    db.session.commit()
    return path


def make_signer(factory, *, username=None, name="Budi Santoso, S.Sos", nip="197001011990031001",
                passphrase: str | None = PASSPHRASE):
    """A signer account linked to an official; with a certificate unless passphrase is None."""
    user = factory.staff(Role.SIGNER, username)
    official = Official(name=name, position="lurah", position_title="Lurah Jagalan", nip=nip, user_id=user.id)
    db.session.add(official)
    db.session.commit()
    if passphrase is not None:
        letter_certs.issue_certificate(user, official, passphrase)
        db.session.commit()
    return user, official


def one_page_pdf(text: str = "Surat Keterangan Domisili") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)  # plain text: a test flips a byte in it
    c.setFont("Helvetica", 12)
    c.drawString(72, 770, text)
    c.drawString(72, 750, "Nomor: 470/001/417.604.3/2026")
    c.save()
    return buf.getvalue()


def flip_byte_in_signed_range(pdf: bytes) -> bytes:
    """Change one byte of page content (inside the first signed range, before /Contents)."""
    idx = pdf.index(b"Surat Keterangan")
    data = bytearray(pdf)
    data[idx] = ord("Z")
    return bytes(data)


def require_pdfsig() -> str:
    exe = shutil.which("pdfsig")
    if exe is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    return exe


def pdfsig(pdf: bytes, tmp_path: Path, *, trust_ca: Path | None = None) -> str:
    """pdfsig's report; with trust_ca, an NSS database that trusts that CA certificate."""
    exe = require_pdfsig()
    f = tmp_path / "signed.pdf"
    f.write_bytes(pdf)
    cmd = [exe]
    if trust_ca is not None:
        certutil = shutil.which("certutil")
        if certutil is None:
            pytest.skip("certutil (libnss3-tools) is not installed")
        nss = tmp_path / "nss"
        if not nss.exists():
            nss.mkdir()
            subprocess.run([certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True,
                           capture_output=True)
            subprocess.run([certutil, "-A", "-n", "ca", "-t", "CT,C,C", "-d", f"sql:{nss}", "-i", str(trust_ca)],
                           check=True, capture_output=True)
        cmd += ["-nssdir", f"sql:{nss}"]
    out = subprocess.run([*cmd, str(f)], capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr
