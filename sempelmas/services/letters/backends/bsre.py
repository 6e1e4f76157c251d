"""The BSrE backend: letters signed by the BSrE Esign Client Service (BSSN) the kelurahan runs on its network,
through ``esign_client.EsignClient`` (v1 or v2, ESIGN_API_VERSION).

The official's key lives at BSrE; BSrE signs whole documents (pyHanko's interrupted signing does not fit it). The
passphrase (or, with v2, a TOTP) is given for one request: it lives in this object and in the one call to the
gateway, never stored, logged or audited. Before a number is taken ``unlock`` checks what can be checked (the
gateway answers, the certificate of the official's NIK is active); after signing ``check_signed`` refuses a PDF
that does not validate against the BSrE roots (ESIGN_TRUST_ROOTS) or whose signature does not cover the very PDF
that was sent, so nothing is recorded for it (issuing._issue rolls back). Signing happens inside the signing
transaction (the number is printed in the PDF): other signers wait for the gateway, at most ESIGN_READ_TIMEOUT.
"""

from __future__ import annotations

from flask import current_app

from sempelmas.domain.i18n import lazy as _
from sempelmas.services.letters import esign_roots
from sempelmas.services.letters.backends.base import BSRE, FOOTERS, Capabilities, SigningRefused
from sempelmas.services.letters.ca import WrongPassphrase
from sempelmas.services.letters.certificates import check_not_throttled


class WrongSecret(SigningRefused, WrongPassphrase):
    """The gateway refused the passphrase or the TOTP (the signing forms put it on the passphrase field)."""


def capabilities() -> Capabilities:
    # batch: a passphrase per request, never held for a batch process; the timestamp and validation data are the
    # gateway's business (not claimed); TOTP only through the v2 API
    return Capabilities(batch=False, visible_appearance=True, tsa=False, ltv=False,
                        totp=str(current_app.config.get("ESIGN_API_VERSION") or "v2").lower() == "v2")


def configured() -> bool:
    """ESIGN_URL is set: the admin may choose BSrE for an official."""
    return bool(str(current_app.config.get("ESIGN_URL") or "").strip())


#: a status call (the admin's "cek status", the doctor) waits this long at most for the answer
STATUS_READ_TIMEOUT = 10.0


def client(*, read_timeout: float | None = None):
    """An EsignClient for the configured gateway (``read_timeout``: a shorter wait than ESIGN_READ_TIMEOUT, for
    a status call); SigningRefused when ESIGN_URL is not set."""
    import dataclasses

    from sempelmas.services.letters import esign_client

    config = esign_client.EsignConfig.from_app(current_app)
    if config is None:
        raise SigningRefused(_("Layanan BSrE belum dikonfigurasi (ESIGN_URL kosong); minta admin mengaturnya atau "
                               "memakai CA kelurahan untuk pejabat ini."), "not_configured")
    if read_timeout is not None:
        config = dataclasses.replace(config, read_timeout=min(config.read_timeout, read_timeout),
                                     connect_timeout=min(config.connect_timeout, read_timeout))
    return esign_client.EsignClient(config)


def nik_of(official, user=None) -> str | None:
    """The NIK BSrE knows the official by: the one the admin entered, else the linked account's."""
    nik = (getattr(official, "bsre_nik", None) or "").strip()
    if nik:
        return nik
    if user is None and getattr(official, "user_id", None):
        from sempelmas.extensions import db
        from sempelmas.models.accounts import User

        user = db.session.get(User, official.user_id)
    if user is None:
        return None
    return (getattr(user, "nik", None) or "").strip() or None


def refusal(e) -> SigningRefused:
    """An esign_client.EsignError as the flow's refusal, with the gateway's specific message."""
    # the client's messages mostly say already that the letter was not signed: add only what the flow knows
    message = _("%(reason)s Nomor surat tidak terpakai.", reason=str(e).rstrip(".") + ".")
    if e.kind in ("passphrase", "totp"):
        return WrongSecret(message, e.kind, field="passphrase")
    return SigningRefused(message, e.kind)


class BsreBackend:
    name = BSRE
    certificate = None  # the certificate lives at BSrE

    def __init__(self, official, nik: str, esign, user=None):
        self.official = official
        self.nik = nik
        self.user = user
        self._client = esign
        self._passphrase: str | None = None
        self._totp: str | None = None

    @property
    def capabilities(self) -> Capabilities:
        return capabilities()

    @classmethod
    def for_official(cls, official, user=None) -> BsreBackend:
        nik = nik_of(official, user)
        if not nik:
            raise SigningRefused(_("NIK pejabat untuk BSrE belum diisi; minta admin mengisinya di halaman Pejabat."),
                                 "no_nik")
        return cls(official, nik, client(), user)

    def unlock(self, passphrase: str | None = None, *, totp: str | None = None) -> BsreBackend:
        """Keep the secret for this request's signing, after checking the roots are configured and the
        gateway says the official's certificate is active (the passphrase itself only signing can check)."""
        from sempelmas.services.letters import esign_client

        passphrase = passphrase or None
        totp = (totp or "").strip() or None
        if totp and not self.capabilities.totp:
            totp = None
        if not passphrase and not totp:
            raise WrongSecret(_("Isi passphrase BSrE Anda (atau kode TOTP)."), "passphrase", field="passphrase")
        if self.user is not None:
            # wrong BSrE passphrases count like local ones (issuing._issue records them): guessing through a stolen
            # session stops here, before BSrE locks the official's certificate
            check_not_throttled(self.user)
        if not self.trust_roots_der():
            raise SigningRefused(_("Akar sertifikat BSrE (ESIGN_TRUST_ROOTS) belum diatur atau tidak terbaca: surat "
                                   "yang ditandatangani BSrE tidak dapat diperiksa. Minta admin menjalankan "
                                   "'flask doctor'."), "no_roots")
        try:
            status = self._client.user_status(self.nik)
        except esign_client.EsignError as e:
            raise refusal(e) from None
        if not status.active:
            raise SigningRefused(_("Sertifikat elektronik BSrE untuk NIK pejabat ini tidak aktif (%(m)s). Surat belum "
                                   "ditandatangani.", m=status.message or "-"), "not_active")
        self._passphrase, self._totp = passphrase, totp
        return self

    def sign(self, pdf: bytes, *, passphrase: str | None = None, reason: str, location: str) -> bytes:
        from sempelmas.services.letters import esign_client

        secret = passphrase or self._passphrase
        totp = self._totp
        if totp:
            secret = None  # one or the other, as the official chose
        if not secret and not totp:
            raise WrongSecret(_("Isi passphrase BSrE Anda (atau kode TOTP)."), "passphrase", field="passphrase")
        try:
            return self._client.sign_pdf(pdf, nik=self.nik, passphrase=secret, totp=totp, reason=reason,
                                         location=location)
        except esign_client.EsignError as e:
            raise refusal(e) from None
        finally:
            self._totp = None  # a one-time code signs once

    def check_signed(self, sent: bytes, signed: bytes) -> None:
        from sempelmas.services.letters import signing as letter_signing

        if not signed.startswith(b"%PDF-") or not signed.startswith(sent):
            # the gateway signs as an incremental update: the signed revision IS our PDF; anything else (another
            # document, a rewritten file) is not the letter that was numbered
            raise SigningRefused(_("PDF yang dikembalikan BSrE bukan surat yang dikirim (isinya berubah). Surat belum "
                                   "ditandatangani; nomor surat tidak terpakai."), "invalid_signature")
        facts = letter_signing.signature_facts(signed, self.trust_roots_der())
        ok = (facts["verdict"] == "checked" and facts["intact"] and facts["valid"] and facts["trusted"]
              and facts["whole"])
        if not ok:
            current_app.logger.warning("BSrE returned a PDF that does not validate: %s",
                                       {k: v for k, v in facts.items() if k != "signer_name"})
            raise SigningRefused(_("Tanda tangan pada PDF dari BSrE tidak sah atau tidak dipercaya (akar BSrE). Surat "
                                   "belum ditandatangani; nomor surat tidak terpakai."), "invalid_signature")

    def footer_text(self) -> str:
        return FOOTERS[BSRE]

    def trust_roots_der(self) -> list[bytes]:
        return esign_roots.roots_der()

    def user_status(self):
        """The gateway's status of the official's certificate (the admin's "cek status")."""
        return self._client.user_status(self.nik)


def status_of(official) -> tuple[bool, str]:
    """The gateway's word on the official's BSrE certificate (the admin's "cek status"): (active, message).
    Never raises for the gateway's failures: the message says what went wrong."""
    from sempelmas.services.letters import esign_client

    nik = nik_of(official)
    if not nik:
        return False, str(_("NIK pemegang sertifikat BSrE belum diisi (atau akun pejabat tidak memiliki NIK)."))
    try:
        status = client(read_timeout=STATUS_READ_TIMEOUT).user_status(nik)
    except SigningRefused as e:
        return False, e.message
    except esign_client.EsignError as e:
        return False, str(e)
    if status.active:
        return True, str(_("Sertifikat BSrE aktif: %(m)s", m=status.message or "-"))
    return False, str(_("Sertifikat BSrE tidak aktif: %(m)s", m=status.message or "-"))
