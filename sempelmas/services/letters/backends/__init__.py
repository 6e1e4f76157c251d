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

from sempelmas.services.letters.backends import bsre, local
from sempelmas.services.letters.backends.base import (
    BSRE,
    FOOTERS,
    LOCAL,
    NAMES,
    Capabilities,
    SignerBackend,
    SigningRefused,
    backend_labels,
    issuer_cn,
    provenance,
)

__all__ = ["BSRE", "FOOTERS", "LOCAL", "NAMES", "Capabilities", "SignerBackend", "SigningRefused",
           "all_trust_roots_der", "backend_for", "backend_labels", "backend_name", "capabilities_of", "footer_text",
           "issuer_cn", "provenance"]


def backend_name(official) -> str:
    """The official's backend ("local" without an official or for an unknown value)."""
    name = getattr(official, "signing_backend", None) or LOCAL
    return name if name in NAMES else LOCAL


def footer_text(official) -> str:
    return FOOTERS[backend_name(official)]


def capabilities_of(official) -> Capabilities:
    """What the official's backend offers (the signer's pages show only that), without building it."""
    if backend_name(official) == BSRE:
        return bsre.capabilities()
    return local.CAPABILITIES


def backend_for(user, official=None) -> SignerBackend:
    """The backend that signs for ``user`` as ``official`` (default: the official linked to the account or its
    certificate). Raises CertificateUnusable (local: no usable certificate) or SigningRefused (BSrE: not
    configured, no NIK)."""
    from sempelmas.services.letters import certificates as letter_certs

    if official is None:
        official = letter_certs.official_for(user)
    if backend_name(official) == BSRE:
        return bsre.BsreBackend.for_official(official, user)
    return local.LocalBackend.for_user(user)


def all_trust_roots_der() -> list[bytes]:
    """Every root a letter of this kelurahan may validate against: the kelurahan CA and the configured BSrE
    roots (the verification page and the upload check accept both)."""
    from sempelmas.services.letters import esign_roots
    from sempelmas.services.letters.signing import trust_roots_der

    local = trust_roots_der()
    return local + [der for der in esign_roots.roots_der() if der not in local]
