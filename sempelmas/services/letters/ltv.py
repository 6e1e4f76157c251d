"""Long-term validation of the letters signed with the kelurahan CA (issue 18): the CA's CRL, PAdES B-LT / B-LTA
signing options, and the refresh of archived letters' document timestamps (``flask --app app ltv run``).

- **CRL.** The CA publishes one CRL at ``<PUBLIC_URL>/pki/kelurahan.crl`` (DER), kept in ``<PKI_DIR>/kelurahan.crl``.
  It lists every revoked signing certificate with its revocation time, is valid ``CRL_VALID_DAYS`` and is
  re-made, lazily, whenever it is older than ``CRL_REFRESH_HOURS`` or the database knows a revoked certificate it
  does not list (so a revocation shows in it as soon as it is committed, without a hook in the transaction that
  may still roll back). Certificates carry the URL as their CRL distribution point.
- **Signing.** A letter embeds what a validator needs years later (PAdES B-LT: the CA certificate and the CRL in
  the document security store). The CRL is handed to pyHanko from here, never fetched from our own public URL
  (the server may not reach itself). With a timestamp authority (``PKI_TSA_URL``): a signature timestamp and a
  document timestamp, B-LTA; the TSA's own chain is checked against ``PKI_TSA_TRUST_ROOTS`` and its revocation
  info fetched from the TSA's URLs with ``PKI_TSA_TIMEOUT``.
- **Refresh.** A document timestamp proves the file existed while its TSA certificate was valid; before that
  certificate expires, ``refresh_letters`` adds a fresh document timestamp (and the DSS entries for the previous
  one). An incremental update: the earlier file is a prefix of the new one, so a reader's earlier download still
  checks out (``is_earlier_revision``).

No OCSP responder: certomancer and pyHanko have OCSP *responders* for tests, but serving signed OCSP answers from
Flask (request parsing, nonce, response signing, caching) would be hand work for no gain here: the CRL of a CA
with a few dozen certificates is small, and the letters embed it anyway.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from flask import current_app
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.services.letters.ca import PkiError, ca_certificate, ca_private_key, pki_dir

log = logging.getLogger(__name__)


class _NoFetchingNotice(logging.Filter):
    """pyHanko warns on every signature that embeds validation info without fetching: here that is the design
    (our CRL is handed over; see validation_context), so the warning would only fill the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_NoFetchingNotice())

CRL_PATH = "/pki/kelurahan.crl"
CRL_VALID_DAYS = 7
CRL_REFRESH_HOURS = 24
#: reason stored by certificates.REASON_REPLACED (a new certificate superseded it)
_REASON_SUPERSEDED = "diganti"


class TimestampFailed(PkiError):
    """The timestamp authority did not answer or answered wrong: nothing was signed."""


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


def _load_crl() -> x509.CertificateRevocationList | None:
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
    crl = _load_crl()
    if not crl_is_current(crl, now):
        crl = publish_crl(now)
    return crl


def crl_der(now: datetime | None = None) -> bytes:
    return current_crl(now).public_bytes(serialization.Encoding.DER)


def crl_distribution_point() -> x509.CRLDistributionPoints:
    """The extension the CA puts in the certificates it issues."""
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(crl_url())], relative_name=None, reasons=None, crl_issuer=None)])


# ------------------------------------------------------------------------------------------- signing


def tsa_configured() -> bool:
    return bool(current_app.config.get("PKI_TSA_URL"))


_STAMPERS: dict[tuple, object] = {}


def timestamper():
    """pyHanko's RFC 3161 client for PKI_TSA_URL (kept per process: it caches the TSA's sample answer that sizes
    the document timestamp), or None."""
    cfg = current_app.config
    url = cfg.get("PKI_TSA_URL")
    if not url:
        return None
    auth = (cfg["PKI_TSA_USERNAME"], cfg.get("PKI_TSA_PASSWORD") or "") if cfg.get("PKI_TSA_USERNAME") else None
    key = (url, auth, float(cfg["PKI_TSA_TIMEOUT"]))
    stamper = _STAMPERS.get(key)
    if stamper is None:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        stamper = HTTPTimeStamper(url, timeout=float(cfg["PKI_TSA_TIMEOUT"]), auth=auth)
        _STAMPERS.clear()
        _STAMPERS[key] = stamper
    return stamper


def tsa_trust_roots() -> list:
    """The TSA's root certificates (PEM file PKI_TSA_TRUST_ROOTS), as asn1crypto certificates."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    path = current_app.config.get("PKI_TSA_TRUST_ROOTS")
    if not path:
        return []
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise PkiError(_("Berkas akar tepercaya TSA (PKI_TSA_TRUST_ROOTS) tidak dapat dibaca.")) from e
    if not pem.detect(data):
        return [asn1_x509.Certificate.load(data)]
    return [asn1_x509.Certificate.load(der) for _t, _h, der in pem.unarmor(data, multiple=True)]


def _local_crl_fetchers(local: dict[str, bytes], timeout: float):
    """pyHanko's HTTP fetchers, except that our own CRL URL is answered from ``local`` (never over the network:
    the server may not reach its own public address)."""
    from asn1crypto import crl as asn1_crl
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
    from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import RequestsCRLFetcher

    class LocalFirstCRLFetcher(RequestsCRLFetcher):
        async def _fetch_single(self, url):
            if url in local:
                async def task():
                    return asn1_crl.CertificateList.load(local[url])

                return await self._perform_fetch(url, task)
            return await super()._fetch_single(url)

    class Backend(RequestsFetcherBackend):
        def get_fetchers(self):
            fetchers = super().get_fetchers()
            return dataclasses.replace(fetchers, crl_fetcher=LocalFirstCRLFetcher(
                per_request_timeout=self.per_request_timeout))

    return Backend(per_request_timeout=timeout)


def validation_context(*, moment: datetime | None = None):
    """What signing and the refresh validate against: the kelurahan CA (and the TSA's roots) as trust roots, our
    CRL given directly. Fetching (the TSA chain's own revocation info) only when a TSA is configured."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    from sempelmas.services.letters.ca import ca_der

    crl = crl_der()
    roots = [asn1_x509.Certificate.load(ca_der()), *tsa_trust_roots()]
    kwargs: dict = {"allow_fetching": False}
    if tsa_configured():
        timeout = float(current_app.config["PKI_TSA_TIMEOUT"])
        kwargs = {"allow_fetching": True, "fetcher_backend": _local_crl_fetchers({crl_url(): crl}, timeout)}
    return ValidationContext(trust_roots=roots, crls=[crl], moment=moment, revocation_mode="soft-fail", **kwargs)


def signature_options() -> dict:
    """The extra PdfSignatureMetadata fields of a B-LT (B-LTA with a TSA) signature."""
    return {"embed_validation_info": True, "validation_context": validation_context(),
            "use_pades_lta": tsa_configured()}


def timestamp_failure(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is the timestamp authority's failure."""
    import requests
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    while error is not None:
        if isinstance(error, TimestampRequestError | requests.RequestException):
            return True
        error = error.__cause__ or error.__context__
    return False


def tsa_failed_message() -> str:
    return str(_("Layanan cap waktu (TSA) tidak dapat dihubungi; surat belum ditandatangani. Coba lagi nanti."))


# ------------------------------------------------------------------------------- timestamps of a file


@dataclass(frozen=True)
class TimestampState:
    """The last timestamp of a letter's PDF (a document timestamp, else the signature's)."""
    kind: str  #: "document", "signature" or "none"
    tsa_not_after: datetime | None = None


def last_timestamp(pdf: bytes) -> TimestampState:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    docs = reader.embedded_timestamp_signatures
    if docs:
        return TimestampState("document", _signer_not_after(docs[-1].signed_data))
    regular = reader.embedded_regular_signatures
    if regular:
        for attr in regular[-1].signer_info["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                return TimestampState("signature", _signer_not_after(attr["values"][0]["content"]))
    return TimestampState("none")


def _signer_not_after(signed_data) -> datetime | None:
    sid = signed_data["signer_infos"][0]["sid"]
    for choice in signed_data["certificates"] or []:
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.issuer == ias["issuer"] and cert.serial_number == ias["serial_number"].native:
                return cert.not_valid_after
        elif cert.key_identifier == sid.chosen.native:
            return cert.not_valid_after
    return None


def is_earlier_revision(data: bytes, stored: bytes) -> bool:
    """``data`` is an earlier revision of the stored letter as issued: the stored file is ``data`` plus
    incremental updates (a refresh only appends), cut at the end of a revision that holds the official's
    signature (an unsigned draft, a prefix too, is not the letter)."""
    import re

    if not (0 < len(data) < len(stored) and data.rstrip().endswith(b"%%EOF") and stored[:len(data)] == data):
        return False
    first = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", stored)
    return first is not None and len(data) >= int(first[3]) + int(first[4])


# ------------------------------------------------------------------------------------------- refresh


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  #: (letter number, why)
    checked: int = 0


def add_document_timestamp(pdf: bytes) -> bytes:
    """A fresh document timestamp on ``pdf`` with the DSS updated for the previous one (pyHanko's
    ``update_archival_timestamp_chain``); for a letter without a document timestamp yet, the signature's
    validation info and a first one."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import add_validation_info

    from sempelmas.services.letters.signing import outside_event_loop

    stamper = timestamper()
    if stamper is None:
        raise TimestampFailed(_("Layanan cap waktu (TSA) belum diatur (PKI_TSA_URL)."))
    vc = validation_context()
    pdf_timestamper = signers.PdfTimeStamper(stamper)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    try:
        if reader.embedded_timestamp_signatures:
            out = outside_event_loop(pdf_timestamper.update_archival_timestamp_chain, reader, vc, in_place=False)
        else:
            sig = reader.embedded_regular_signatures[-1]
            buf = outside_event_loop(add_validation_info, sig, vc, in_place=False)
            buf.seek(0)
            writer = IncrementalPdfFileWriter(buf, strict=False)
            out = outside_event_loop(pdf_timestamper.timestamp_pdf, writer, "sha256", vc, in_place=False)
    except Exception as e:
        if timestamp_failure(e):
            raise TimestampFailed(_("Layanan cap waktu (TSA) tidak menjawab; cap waktu belum diperbarui.")) from e
        raise
    return out.getvalue()


def refresh_letters(*, now: datetime | None = None, days: int | None = None) -> RefreshReport:
    """Add a fresh document timestamp to every valid letter whose last timestamp's TSA certificate expires within
    ``days`` (LTV_REFRESH_DAYS), or that has none yet while a TSA is configured. One commit per letter; a letter
    that fails is logged, audited (``letter.ltv_refresh_failed``) and listed, the others go on."""
    from sempelmas.models.letters import Letter, LetterStatus
    from sempelmas.services.accountability import audit
    from sempelmas.services.letters import store as letter_store

    now = now or datetime.now(UTC)
    days = int(current_app.config["LTV_REFRESH_DAYS"] if days is None else days)
    horizon = now + timedelta(days=days)
    report = RefreshReport()
    current_crl(now)  # fresh before anything embeds it
    ids = db.session.scalars(select(Letter.id).where(Letter.status == LetterStatus.VALID).order_by(Letter.id)).all()
    for letter_id in ids:
        letter = db.session.get(Letter, letter_id)
        try:
            pdf = letter_store.read_pdf(letter)
        except (OSError, LookupError) as e:
            _refresh_failed(report, letter, f"berkas tidak terbaca ({type(e).__name__})")
            continue
        report.checked += 1
        state = last_timestamp(pdf)
        due = (state.kind == "none" and tsa_configured()) or (
            state.tsa_not_after is not None and state.tsa_not_after <= horizon)
        if not due:
            continue
        try:
            new = add_document_timestamp(pdf)
        except Exception as e:  # noqa: BLE001 - one letter's failure is reported, the others go on
            db.session.rollback()
            why = e.message if isinstance(e, PkiError) else f"{type(e).__name__}: {e}"
            log.warning("LTV refresh of letter %s failed: %s", letter.number, why)
            _refresh_failed(report, letter, why)
            continue
        old_sha = letter.pdf_sha256
        path = letter_store.path_of(letter)
        _write_atomically(path, new)
        try:
            letter.pdf_sha256 = hashlib.sha256(new).hexdigest()
            letter.pdf_size = len(new)
            audit.record("letter.ltv_refresh", letter, actor=None, number=letter.number, old_sha256=old_sha,
                         sha256=letter.pdf_sha256, size=letter.pdf_size)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            _write_atomically(path, pdf)  # the earlier file back: the row still names its hash
            raise
        report.refreshed.append(letter.number)
    _write_status(report, now)
    return report


def _status_file() -> Path:
    return pki_dir() / "ltv-status.json"


def _write_status(report: RefreshReport, now: datetime) -> None:
    """What the last run did, for ``flask doctor`` (services/operations/doctor.py's ``ltv`` check)."""
    import json

    path = _status_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"at": now.isoformat(), "checked": report.checked, "refreshed": report.refreshed,
            "failed": [{"number": n, "why": w} for n, w in report.failed]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ltv-status-")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def last_run() -> dict | None:
    import json

    try:
        return json.loads(_status_file().read_text())
    except (OSError, ValueError):
        return None


def tsa_reachable(timeout: float | None = None) -> bool:
    """A TCP connection to the TSA's host and port (a timestamp request may be paid per stamp: none is made)."""
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(current_app.config["PKI_TSA_URL"])
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port),
                                      timeout=timeout or float(current_app.config["PKI_TSA_TIMEOUT"])):
            return True
    except OSError:
        return False


def _refresh_failed(report: RefreshReport, letter, why: str) -> None:
    from sempelmas.services.accountability import audit

    report.failed.append((letter.number, why))
    audit.record("letter.ltv_refresh_failed", letter, actor=None, number=letter.number, reason=why[:300])
    db.session.commit()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ltv-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ trusting the CA (Adobe)


def _pdf_string(text: str) -> bytes:
    """A PDF literal string (UTF-16BE with BOM when not plain ASCII)."""
    raw = text.encode() if text.isascii() else b"\xfe\xff" + text.encode("utf-16-be")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


#: Acrobat's trust flags of an imported certificate: 1 signatures and as a trusted root, 2 certified documents
#: (its bit values in the Acrobat SDK's security documentation: 1 = signatures, 2 = certified documents,
#: 4 = dynamic content, 8 = privileged JavaScript, 16 = privileged system operations)
ADOBE_TRUST_SIGNATURES_AND_CERTIFIED = 1 | 2


def ca_fdf() -> bytes:
    """The CA certificate as Adobe's certificate-exchange FDF (what Acrobat's "Export" of a trusted identity
    writes): Reader's "Import" of it offers the CA with trust for signatures and certified documents ticked."""
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
