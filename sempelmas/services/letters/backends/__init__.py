"""Signer backends: who puts the signature on a letter, behind one small interface the signing flow calls.

- ``local`` (backends/local.py): the kelurahan's own CA; the official's key, encrypted under their passphrase, is
  unlocked in the request (services/letters/signing.py signs with pyHanko). Valid but uncertified.
- ``bsre`` (backends/bsre.py): the BSrE Esign Client Service (BSSN) the kelurahan installs on its network; the
  official's key lives at BSrE and the passphrase (or TOTP) goes to the gateway in that one request. Certified
  (a registered PSrE's certificate, UU ITE / PP 71/2019).

The admin chooses per official (``Official.signing_backend``). The flow (issuing.py) asks ``backend_for`` for the
official's backend, ``unlock``s it before a number is taken (what the backend can check then), ``sign``s the
rendered letter, and ``check_signed`` the result before anything is recorded. Capabilities tell the pages what to
offer (no batch signing for BSrE, a TOTP field for BSrE v2).
"""

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
    BSRE: "Surat ini ditandatangani secara elektronik dengan sertifikat elektronik yang diterbitkan Balai "
          "Sertifikasi Elektronik (BSrE), Badan Siber dan Sandi Negara. Sesuai Pasal 5 ayat (1) UU Nomor 11 "
          "Tahun 2008 tentang Informasi dan Transaksi Elektronik beserta perubahannya, dokumen elektronik ini "
          "dan hasil cetaknya adalah alat bukti hukum yang sah.",
}


def backend_name(official) -> str:
    """The official's backend ("local" without an official or for an unknown value)."""
    name = getattr(official, "signing_backend", None) or LOCAL
    return name if name in NAMES else LOCAL


def footer_text(official) -> str:
    return FOOTERS[backend_name(official)]


def capabilities_of(official) -> Capabilities:
    """What the official's backend offers (the signer's pages show only that), without building it."""
    if backend_name(official) == BSRE:
        from sempelmas.services.letters.backends import bsre

        return bsre.capabilities()
    from sempelmas.services.letters.backends import local

    return local.CAPABILITIES


def backend_for(user, official=None) -> SignerBackend:
    """The backend that signs for ``user`` as ``official`` (default: the official linked to the account or its
    certificate). Raises CertificateUnusable (local: no usable certificate) or SigningRefused (BSrE: not
    configured, no NIK)."""
    from sempelmas.services.letters import certificates as letter_certs

    if official is None:
        official = letter_certs.official_for(user)
    if backend_name(official) == BSRE:
        from sempelmas.services.letters.backends import bsre

        return bsre.BsreBackend.for_official(official, user)
    from sempelmas.services.letters.backends import local

    return local.LocalBackend.for_user(user)


def all_trust_roots_der() -> list[bytes]:
    """Every root a letter of this kelurahan may validate against: the kelurahan CA and the configured BSrE
    roots (the verification page and the upload check accept both)."""
    from sempelmas.services.letters import esign_roots
    from sempelmas.services.letters.signing import trust_roots_der

    return trust_roots_der() + [der for der in esign_roots.roots_der() if der not in trust_roots_der()]
