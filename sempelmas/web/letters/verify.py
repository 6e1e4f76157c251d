"""Public verification of a letter by its QR code: ``/v/<code>`` (no login).

Built to be cheap and cookie-free: one query (``letters.public_facts``), a lean template that does not
extend the site layout (the layout asks for a CSRF token, which would put a session cookie on every
anonymous scanner), the scan counted in memory (``letters.count_scan``), and no caching of the status.

The upload form is protected by a stateless token instead of Flask-WTF's session token: an HMAC-SHA256
(the app's secret key) of the letter's code with a time stamp, valid ``VERIFY_FORM_MAX_AGE``, plus an
Origin check. The form changes nothing on the server; what it protects against is another site posting
into it. (Checked only when ``WTF_CSRF_ENABLED``, like every other form.)
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Blueprint, abort, current_app, make_response, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from sempelmas.domain import digits as digit_rules
from sempelmas.domain.dates import clock, tz_name_of
from sempelmas.extensions import csrf, db, limiter, verify_limit
from sempelmas.models.letters import LetterStatus
from sempelmas.services.accountability import audit
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import store as letter_store
from sempelmas.services.letters import test_letter, upload_check
from sempelmas.web.i18n import current_lang, set_language_cookie
from sempelmas.web.letters import verify_texts

bp = Blueprint("verify", __name__)


# One limit shared by every route of the blueprint, per client address (walking codes counts too). It is
# counted with Flask-Limiter's own strategy and store (so a shared redis:// store covers every worker),
# but asked directly (public API: request_filter, Limiter.limiter): the page needs one counter, not
# Flask-Limiter's per-request resolution of decorators, defaults and headers.
# Measured by bench/bench_verify.py (the resolution cost more than the rest of this page).
@limiter.request_filter
def _not_through_flask_limiter() -> bool:
    return request.blueprint == "verify"


@functools.cache  # kept per process, as the other caches below: measured by bench/bench_verify.py
def _parsed_limit(spec: str):
    return parse_limit(spec)


@bp.before_request
def _throttle():
    if not limiter.enabled:
        return None
    item = _parsed_limit(verify_limit())
    client = get_remote_address()
    if limiter.limiter.hit(item, "verify", client):
        return None
    reset_at = limiter.limiter.get_window_stats(item, "verify", client).reset_time
    raise TooManyRequests(retry_after=max(1, int(reset_at - time.time())))


def _form_token(code: str, at: int | None = None) -> str:
    """``<unix time>.<HMAC-SHA256(secret, code + time)>``: binds the form to this letter and an age."""
    at = int(time.time()) if at is None else at
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"verify-upload|{code}|{at}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{at}.{mac}"


def _token_ok(code: str) -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        return False
    raw = request.form.get("token", "")
    at, _dot, _mac = raw.partition(".")
    issued = digit_rules.to_int(at) if at.isascii() else None  # the token is ours: ASCII digits only
    if issued is None or time.time() - issued > current_app.config["VERIFY_FORM_MAX_AGE"]:
        return False
    return hmac.compare_digest(raw, _form_token(code, issued))


def _facts_or_404(code: str) -> letters.PublicFacts:
    facts = letters.public_facts(code)
    if facts is None:
        abort(404)  # the same page as any unknown address: no hint whether the code exists
    return facts


@functools.cache
def _months(lang: str) -> dict[int, str]:
    return dict(Locale.parse(lang).months["format"]["wide"])


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_time(value: datetime, lang: str) -> str:
    """``d MMMM yyyy HH.mm WIB`` in the profile's time zone (as the ``datetime_local`` filter, cheaper)."""
    profile = profile_service.current_profile()
    local = value.replace(tzinfo=UTC).astimezone(_zone(tz_name_of(profile)))
    label = profile.timezone if profile else "WIB"
    return f"{local.day} {_months(lang)[local.month]} {local.year} {clock(local, lang)} {label}"


@functools.cache
def _css_url(script_root: str) -> str:
    return url_for("static", filename="css/app.css")


def _page(facts: letters.PublicFacts, status: int = 200, **extra):
    lang = current_lang()
    profile = profile_service.current_profile()
    revoked_note = None
    if facts.status == LetterStatus.REVOKED:
        revoked_note = _("Surat ini telah dicabut pada %(date)s dan tidak berlaku lagi.",
                         date=_local_time(facts.revoked_at, lang) if facts.revoked_at else "-")
    texts = verify_texts.texts(lang)
    if facts.signing_backend == "bsre":
        signature_kind = texts["kind_bsre"]
    else:  # the issuer as recorded, else the kelurahan CA's name as services/letters/ca.py makes it
        issuer = facts.issuer_cn or f"CA {profile.village_title if profile else 'Kelurahan'}"
        signature_kind = texts["kind_local"] % {"issuer": issuer}
    # the template straight from the environment: no context processors (they would load the profile
    # again, ask Flask-Login for the user and touch the session) and no signals
    template = current_app.jinja_env.get_template("verify/letter.html")
    resp = make_response(template.render(
        f=facts, T=texts, lang=lang, token=_form_token(facts.code), signature_kind=signature_kind,
        css=_css_url(request.script_root), place=profile.village_title if profile else "",
        offers_pdf=bool(profile and profile.verify_offers_pdf and facts.status == LetterStatus.VALID),
        signed_on=_local_time(facts.signed_at, lang),
        revoked_note=revoked_note, self_url=request.script_root + request.path,  # only /v/<code> renders this page
        newer_url=url_for("verify.letter", code=facts.replaced_by_code) if facts.replaced_by_code else None,
        **extra), status)
    resp.headers["Cache-Control"] = "no-store"  # a revocation shows at once, also behind a proxy
    resp.headers["Referrer-Policy"] = "no-referrer"  # the code is the key to the page
    resp.headers["X-Robots-Tag"] = "noindex"
    resp.headers["Vary"] = "Accept-Language, Cookie"  # the language follows the browser unless one was chosen
    return resp


def _test_letter_page(code: str):
    """A test letter's page ("UJI", never "SAH"), or the 404 of an unknown code. Its first opening, and the first
    from a phone, are recorded with the User-Agent (services/letters/test_letter.py)."""
    found = test_letter.by_code(code)
    if found is None:
        abort(404)
    test_letter.record_view(found, request.headers.get("User-Agent"))
    lang = current_lang()
    profile = profile_service.current_profile()
    template = current_app.jinja_env.get_template("verify/test_letter.html")
    resp = make_response(template.render(
        t=found, T=verify_texts.texts(lang), lang=lang, css=_css_url(request.script_root),
        place=profile.village_title if profile else "", signed_on=_local_time(found.signed_at, lang)))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex"
    resp.headers["Vary"] = "Accept-Language, Cookie"
    return resp


@bp.get("/v/<code>")
def letter(code: str):
    facts = letters.public_facts(code)
    if facts is None:
        return _test_letter_page(code)  # a test letter's, or 404
    letters.count_scan(facts.id)
    return _page(facts)


@bp.post("/v/<code>")
@csrf.exempt
def check(code: str):
    """The PDF a verifier was handed: exactly the issued file? A valid signature?"""
    facts = _facts_or_404(code)
    limit = current_app.config["VERIFY_UPLOAD_MAX_BYTES"]
    request.max_content_length = limit + 256 * 1024  # the multipart envelope around the file
    try:
        upload = request.files.get("berkas")
        token_ok = _token_ok(code)
    except RequestEntityTooLarge:
        return _page(facts, 413, error=_("Berkas terlalu besar: paling banyak %(mb)d MB.",
                                          mb=limit // (1024 * 1024)))
    if not token_ok:
        return _page(facts, 400, error=_("Formulir ini sudah kedaluwarsa. Muat ulang halaman lalu unggah lagi."))
    data = upload.stream.read(limit + 1) if upload else b""
    try:
        result = upload_check.check_upload(facts, data)
    except upload_check.UploadRefused as e:
        return _page(facts, e.status, error=e.message)
    return _page(facts, 200 if result.signature_checked else 422, result=result)


@bp.post("/v/<code>/bahasa")
@csrf.exempt
def set_language(code: str):
    """The language switch of this cookie-free page: the other pages' switch needs a session for its CSRF token,
    this one is bound to the letter by the page's own stateless token."""
    facts = _facts_or_404(code)
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"] or not _token_ok(code):
        abort(400)
    return set_language_cookie(redirect(url_for("verify.letter", code=facts.code), code=303), lang)


@bp.get("/v/<code>/unduh")
def download(code: str):
    """The original signed PDF of a valid letter, only when the profile offers it (it carries the full NIK)."""
    profile = profile_service.profile_row()  # the switch read fresh: turning it off works at once
    if profile is None or not profile.verify_offers_pdf:
        abort(404)
    letter = letters.by_code(code)
    if letter is None or letter.status != LetterStatus.VALID:  # a revoked or replaced letter is not handed out
        abort(404)
    path = letter_store.path_of(letter)
    if not path.exists():
        abort(404)
    audit.record("letter.public_download", letter, number=letter.number)
    db.session.commit()
    resp = send_file(io.BytesIO(path.read_bytes()), mimetype="application/pdf", as_attachment=True,
                     download_name=f"surat-{letter.verify_code}.pdf", max_age=0)
    resp.headers["Cache-Control"] = "no-store"
    return resp
