"""The local backend: today's signer (the kelurahan CA, services/letters/signing.py) behind the SignerBackend
interface. ``KelurahanCASigner`` keeps doing the work (unlock, PAdES signing in ``signing._sign_pdf``, the held key
of a batch); this class only adds what the interface asks."""

from __future__ import annotations

from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters.backends.base import FOOTERS, LOCAL, Capabilities

CAPABILITIES = Capabilities(batch=True, visible_appearance=False, tsa=True, ltv=True, totp=False)


class LocalBackend(letter_signing.KelurahanCASigner):
    name = LOCAL
    capabilities = CAPABILITIES

    @classmethod
    def for_user(cls, user) -> LocalBackend:
        """The backend of the user's active certificate; CertificateUnusable when there is none."""
        from sempelmas.services.letters.certificates import active_certificate

        return cls(letter_signing._check_usable(active_certificate(user)))  # noqa: SLF001 - signing's own rule

    def unlock(self, passphrase: str | None = None, *, totp: str | None = None):
        # a TOTP means nothing to the kelurahan CA: only the passphrase unlocks the key
        return super().unlock(passphrase or "")

    def sign(self, pdf: bytes, *, passphrase: str | None = None, reason: str, location: str) -> bytes:
        # the passphrase given to ``unlock`` serves when none is given here (the interface's shape)
        if passphrase is None and self._unlocked is not None:
            passphrase = self._unlocked[0]
        return super().sign(pdf, passphrase=passphrase or "", reason=reason, location=location)

    def check_signed(self, sent: bytes, signed: bytes) -> None:
        """Nothing to check: pyHanko signed with our own key in this process (an unchanged flow)."""

    def footer_text(self) -> str:
        return FOOTERS[LOCAL]

    def trust_roots_der(self) -> list[bytes]:
        return letter_signing.trust_roots_der()
