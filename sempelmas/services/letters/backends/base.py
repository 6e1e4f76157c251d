"""The signer backends' shared vocabulary: names, capabilities, the interface, the refusal, the footers (the
implementations, backends/local.py and backends/bsre.py, import it; backends/__init__.py chooses between them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sempelmas.domain.i18n import lazy as _
from sempelmas.services.letters.ca import PkiError

LOCAL = "local"
BSRE = "bsre"
NAMES = (LOCAL, BSRE)


def backend_labels() -> dict[str, str]:
    return {LOCAL: str(_("CA kelurahan (tidak tersertifikasi)")),
            BSRE: str(_("BSrE – BSSN (tersertifikasi)"))}


@dataclass(frozen=True)
class Capabilities:
    #: many letters with one passphrase entry (the key held in a batch process)
    batch: bool
    #: a visible signature appearance drawn by the backend (image or QR at a place on the page)
    visible_appearance: bool
    #: an RFC 3161 timestamp in the signature
    tsa: bool
    #: validation information embedded (PAdES B-LT)
    ltv: bool
    #: a one-time code instead of the passphrase
    totp: bool


class SigningRefused(PkiError):
    """The backend refused or failed to sign; ``kind`` says why (esign_client.EsignError's kinds, or
    "invalid_signature" when the returned PDF does not validate)."""

    def __init__(self, message, kind: str, field: str | None = None):
        super().__init__(message, field)
        self.kind = kind


class SignerBackend(Protocol):
    """What the signing flow needs of a backend. The passphrase or TOTP given to ``unlock`` lives in the object,
    i.e. in this request only: never stored, logged nor audited."""

    name: str
    capabilities: Capabilities
    #: the local CA's certificate row (None for a backend whose certificate lives elsewhere)
    certificate: object | None

    def unlock(self, passphrase: str | None = None, *, totp: str | None = None) -> object:
        """Check, before a letter number is taken, what can be checked: the passphrase (local), the gateway and
        the official's certificate status (BSrE). Raises PkiError with the reason."""

    def sign(self, pdf: bytes, *, passphrase: str | None = None, reason: str, location: str) -> bytes:
        """The signed PDF; PkiError (SigningRefused for a gateway) when it cannot be signed."""

    def check_signed(self, sent: bytes, signed: bytes) -> None:
        """Refuse (SigningRefused) a signed PDF that must not be recorded: one that does not validate against
        ``trust_roots_der`` or whose signature does not cover the PDF that was sent."""

    def trust_roots_der(self) -> list[bytes]:
        """The roots its letters validate against."""

    def footer_text(self) -> str:
        """The letter's footer statement for this backend (``FOOTERS``); the letter renders it from the official
        (``footer_text(official)`` below) before any backend exists, e.g. in a preview."""


#: the letter's footer per backend (tata naskah dinas; letters are printed in Indonesian whatever the reader's
#: language). The local wording is the one letters carried before backends existed.
FOOTERS = {
    LOCAL: "Surat ini ditandatangani secara elektronik memakai sertifikat elektronik. Sesuai Pasal 5 ayat (1) "
           "Undang-Undang Nomor 11 Tahun 2008 tentang Informasi dan Transaksi Elektronik beserta perubahannya, "
           "dokumen elektronik ini dan hasil cetaknya adalah alat bukti hukum yang sah.",
    # shorter than the local one by "UU" for "Undang-Undang": the footer frame holds four lines
    BSRE: "Surat ini ditandatangani secara elektronik dengan sertifikat elektronik yang diterbitkan BSrE-BSSN "
          "(Balai Sertifikasi Elektronik, Badan Siber dan Sandi Negara). Sesuai Pasal 5 ayat (1) UU Nomor 11 "
          "Tahun 2008 tentang Informasi dan Transaksi Elektronik beserta perubahannya, dokumen elektronik ini "
          "dan hasil cetaknya adalah alat bukti hukum yang sah.",
}


def issuer_cn(signed: bytes) -> str | None:
    """The issuer CN of the certificate that signed ``signed`` (its last signature), as the letter records it
    (Letter.issuer_cn, shown on the verification page); None when it cannot be read. Read from the PDF, not from
    the backend: the certificate a gateway used is only known from what it returned."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        sigs = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures
        name = sigs[-1].signer_cert.issuer.native.get("common_name") if sigs else None
    except Exception:  # noqa: BLE001 - a record for the reader, never a reason to refuse a validated letter
        return None
    return str(name)[:120] if name else None


def _issuer_cn_of_pem(cert_pem: str) -> str | None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        names = x509.load_pem_x509_certificate(cert_pem.encode()).issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return None
    return str(names[0].value)[:120] if names else None


def provenance(signer, signed: bytes) -> dict:
    """How a letter was signed, as Letter columns: the backend's name ("local" for a batch's held kelurahan-CA
    key, which has none) and the signer certificate's issuer CN: from the certificate row that signed when there is
    one (the local CA: ~0.1 ms), else read from the PDF (~6 ms, bench/bench_issuer_cn.py), under the write lock."""
    name = getattr(signer, "name", None)
    pem = getattr(getattr(signer, "certificate", None), "cert_pem", None)
    issuer = _issuer_cn_of_pem(pem) if isinstance(pem, str) else None
    return {"signing_backend": name if name in NAMES else LOCAL, "issuer_cn": issuer or issuer_cn(signed)}
