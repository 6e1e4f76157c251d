"""What the kelurahan CA publishes (issue 18): its certificate revocation list, and the CA certificate as Adobe's
certificate-exchange FDF.

The CRL is served at ``<PUBLIC_URL>/pki/kelurahan.crl`` (DER) and kept in ``<PKI_DIR>/kelurahan.crl``. It lists
every revoked signing certificate with its revocation time, is valid ``CRL_VALID_DAYS`` and is re-made, lazily,
whenever it is older than ``CRL_REFRESH_HOURS`` or the database knows a revoked certificate it does not list (so a
revocation shows in it as soon as it is committed, without a hook in the transaction that may still roll back).
Certificates carry the URL as their CRL distribution point; letters embed the CRL (services/letters/ltv.py).

No OCSP responder: certomancer and pyHanko have OCSP *responders* for tests, but serving signed OCSP answers from
Flask (request parsing, nonces, response signing, caching) would be hand work for no gain here: the CRL of a CA
with a few dozen certificates is small, and the letters embed it anyway.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.services.letters.ca import ca_certificate, ca_private_key, pki_dir

log = logging.getLogger(__name__)

CRL_PATH = "/pki/kelurahan.crl"
CRL_VALID_DAYS = 7
CRL_REFRESH_HOURS = 24
#: reason stored by certificates.REASON_REPLACED (a new certificate superseded it)
_REASON_SUPERSEDED = "diganti"

# ---------------------------------------------------------------------------------------------- CRL


def crl_url() -> str:
    """The CRL's public address, printed in every certificate the CA issues."""
    from sempelmas import links

    return links.absolute_url(CRL_PATH)


def _crl_file() -> Path:
    return pki_dir() / "kelurahan.crl"


def _revoked() -> dict[int, tuple[datetime, str]]:
    """Serial → (revocation time UTC, reason) of every revoked signing certificate."""
    from sempelmas.models.letters import SigningCertificate

    rows = db.session.execute(select(SigningCertificate.serial, SigningCertificate.revoked_at,
                                     SigningCertificate.revocation_reason)
                              .where(SigningCertificate.revoked_at.is_not(None))).all()
    return {int(serial, 16): (at.replace(tzinfo=UTC), reason or "") for serial, at, reason in rows}


_CRL_CACHE: dict[str, tuple[float, x509.CertificateRevocationList]] = {}


def load_crl() -> x509.CertificateRevocationList | None:
    path = _crl_file()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    hit = _CRL_CACHE.get(str(path))
    if hit is None or hit[0] != mtime:
        hit = (mtime, x509.load_der_x509_crl(path.read_bytes()))
        _CRL_CACHE[str(path)] = hit
    return hit[1]


def publish_crl(now: datetime | None = None) -> x509.CertificateRevocationList:
    """Make and write a new CRL signed by the CA (needs the CA key: PKI_CA_PASSPHRASE)."""
    ca = ca_certificate()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca.subject).last_update(now).next_update(now + timedelta(days=CRL_VALID_DAYS))
               .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False))
    for serial, (at, reason) in sorted(_revoked().items()):
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at.replace(microsecond=0))
        if reason == _REASON_SUPERSEDED:
            entry = entry.add_extension(x509.CRLReason(x509.ReasonFlags.superseded), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(ca_private_key(), hashes.SHA256())
    path = _crl_file()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".crl-")
    with os.fdopen(fd, "wb") as f:
        f.write(crl.public_bytes(serialization.Encoding.DER))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    _CRL_CACHE.pop(str(path), None)
    log.info("CRL published: %d revoked, next update %s", len(crl), crl.next_update_utc)
    return crl


def crl_is_current(crl: x509.CertificateRevocationList | None, now: datetime | None = None) -> bool:
    """Recent enough (CRL_REFRESH_HOURS) and listing every certificate the database knows as revoked."""
    if crl is None:
        return False
    now = now or datetime.now(UTC)
    if now - crl.last_update_utc > timedelta(hours=CRL_REFRESH_HOURS) or crl.next_update_utc <= now:
        return False
    return {r.serial_number for r in crl} >= set(_revoked())


def current_crl(now: datetime | None = None) -> x509.CertificateRevocationList:
    """The CA's CRL, re-made when stale (see the module's docstring); PkiError without a CA."""
    crl = load_crl()
    if not crl_is_current(crl, now):
        crl = publish_crl(now)
    return crl


def crl_der(now: datetime | None = None) -> bytes:
    return current_crl(now).public_bytes(serialization.Encoding.DER)


def crl_distribution_point() -> x509.CRLDistributionPoints:
    """The extension the CA puts in the certificates it issues."""
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(crl_url())], relative_name=None, reasons=None, crl_issuer=None)])


# ------------------------------------------------------------------------------ trusting the CA (Adobe)


def _pdf_string(text: str) -> bytes:
    """A PDF literal string (UTF-16BE with BOM when not plain ASCII)."""
    raw = text.encode() if text.isascii() else b"\xfe\xff" + text.encode("utf-16-be")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


#: the trust asked for (Acrobat's bits: 1 signatures and as a trusted root, 2 certified documents). Acrobat honours a
#: trust level only from a *signed* FDF; this one is unsigned (a signature by the CA itself proves nothing), so Reader
#: asks, and the steps on /ca-kelurahan tell the reader what to tick.
ADOBE_TRUST_SIGNATURES_AND_CERTIFIED = 1 | 2


def ca_fdf() -> bytes:
    """The CA certificate as an FDF data-exchange file, the way Acrobat exchanges trusted identities: opening it in
    Reader offers "Set Contact Trust" for the CA (Acrobat security user guide, "Importing a trust anchor and
    setting trust"). Written from that guide's description; not checked against Acrobat on this machine."""
    from sempelmas.services.letters.ca import ca_der

    der = ca_der()
    name = ca_certificate().subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    objects = [
        b"<</FDF<</Contacts[<</Type/Contact/Name " + _pdf_string(name) + b"/Certs[0]"
        + b"/TrustFlags " + str(ADOBE_TRUST_SIGNATURES_AND_CERTIFIED).encode() + b">>]"
        + b"/Certs[2 0 R]/Target(ImportTrustedIdentity)>>/Type/Catalog>>",
        b"<</Length " + str(len(der)).encode() + b">>stream\n" + der + b"\nendstream",
    ]
    out = bytearray(b"%FDF-1.2\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<</Root 1 0 R/Size {len(objects) + 1}>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
