"""Long-term validation of the letters signed with the kelurahan CA (issue 18): the PAdES B-LT / B-LTA signing
options, and what a letter's file says about its timestamps.

- **Signing.** A letter embeds what a validator needs years later (PAdES B-LT: the CA certificate and the CRL of
  services/letters/ca_public.py in the document security store). The CRL is handed to pyHanko from here, never
  fetched from our own public URL (the server may not reach itself). With a timestamp authority (``PKI_TSA_URL``):
  a signature timestamp and a document timestamp, B-LTA; the TSA's own chain is checked against
  ``PKI_TSA_TRUST_ROOTS`` and its revocation info fetched from the TSA's URLs within ``PKI_TSA_TIMEOUT``.
- **Refresh** (services/letters/ltv_refresh.py, ``flask --app app ltv run``): a document timestamp proves the file
  existed while its TSA certificate was valid; before that certificate expires a fresh one is added. An
  incremental update: the earlier file is a prefix of the new one, so a reader's earlier download still checks out
  (``is_earlier_revision``).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app

from sempelmas.domain.i18n import lazy as _
from sempelmas.services.letters import ca_public
from sempelmas.services.letters.ca import PkiError


class _NoFetchingNotice(logging.Filter):
    """pyHanko warns on every signature that embeds validation info without fetching: here that is the design
    (our CRL is handed over; see validation_context), so the warning would only fill the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_NoFetchingNotice())

class TimestampFailed(PkiError):
    """The timestamp authority did not answer or answered wrong: nothing was signed."""


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

    crl = ca_public.crl_der()
    roots = [asn1_x509.Certificate.load(ca_der()), *tsa_trust_roots()]
    kwargs: dict = {"allow_fetching": False}
    if tsa_configured():
        timeout = float(current_app.config["PKI_TSA_TIMEOUT"])
        kwargs = {"allow_fetching": True, "fetcher_backend": _local_crl_fetchers({ca_public.crl_url(): crl}, timeout)}
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
