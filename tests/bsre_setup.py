"""Pointing a test app at the fake BSrE gateway (tests/esign_fake.py) and moving an official to BSrE."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sempelmas.extensions import db
from tests import esign_fake


def configure_bsre(app, tmp_path: Path, gateway, *, version: str = "v2", read_timeout: float = 10.0) -> Path:
    """ESIGN_* on the fake gateway, ESIGN_TRUST_ROOTS a PEM file with its root; returns that file."""
    roots = tmp_path / "bsre-roots.pem"
    roots.write_bytes(x509.load_der_x509_certificate(gateway.root_der).public_bytes(serialization.Encoding.PEM))
    app.config.update(ESIGN_URL=gateway.url, ESIGN_USERNAME=esign_fake.USERNAME, ESIGN_PASSWORD=esign_fake.PASSWORD,
                      ESIGN_API_VERSION=version, ESIGN_CONNECT_TIMEOUT=2.0, ESIGN_READ_TIMEOUT=read_timeout,
                      ESIGN_TRUST_ROOTS=str(roots))
    return roots


def use_bsre(official, nik: str = esign_fake.NIK) -> None:
    official.signing_backend = "bsre"
    official.bsre_nik = nik
    db.session.commit()
