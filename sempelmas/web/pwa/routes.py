"""The installable app: ``/manifest.webmanifest``, ``/sw.js``, the icons under ``/pwa/`` and ``/offline``.

All four are public and cookie-free, rendered straight from the Jinja environment (no context
processors: they would ask Flask-Login for the user and put a CSRF token, hence a session, in the page),
so nothing in them depends on who asks. The service worker caches only what is listed here (the app
shell: stylesheet, scripts, icons and the offline page); pages and files with personal data are never
stored on the phone, so a shared phone keeps nothing of its users after they log out.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, abort, current_app, has_request_context, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sempelmas.services.kelurahan import app_icons
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.web.i18n import current_lang

bp = Blueprint("pwa", __name__)

#: the shell's static files, precached by the service worker (the same URLs every page links)
SHELL_STATIC = ("css/app.css", "vendor/htmx-2.0.11.min.js", "js/app.js", "js/pwa.js", "js/outbox.js")
ICON_CACHE = "public, max-age=31536000, immutable"  # the URL carries the icon version


def icon_url(size: int, maskable: bool = False) -> str:
    version = app_icons.version(profile_service.current_profile())
    endpoint = "pwa.maskable_icon" if maskable else "pwa.icon"
    return url_for(endpoint, size=size, v=version)


@bp.app_template_global()
def pwa_head() -> dict:
    """What every page's <head> links: the manifest, the icons and the theme colour. The same URLs for every
    request with the same icon version and script root, so each worker builds them once per version."""
    # measured by bench/bench_verify.py: building them (six url_for) was a sixth of the verification page
    profile = profile_service.current_profile()
    key = (app_icons.version(profile), request.script_root if has_request_context() else None)
    heads = current_app.extensions.setdefault("sempelmas.pwa_head", {})
    head = heads.get(key)
    if head is None:
        theme, _background = app_icons.colours(profile)
        head = {"manifest": url_for("pwa.manifest"), "icon": icon_url(192), "apple_icon": icon_url(180),
                "theme_color": theme, "script": url_for("static", filename="js/pwa.js"),
                "worker": url_for("pwa.service_worker"), "scope": url_for("public.index")}
        if len(heads) >= 8:  # an old version's: profiles change seldom
            heads.clear()
        if not current_app.debug:  # debug: a changed pwa.js gets its new ?v= at once (static_versions.py)
            heads[key] = head
    return head


@bp.get("/manifest.webmanifest")
def manifest():
    resp = make_response(json.dumps(_manifest(), ensure_ascii=False, indent=1))
    resp.headers["Content-Type"] = "application/manifest+json; charset=utf-8"
    resp.headers["Cache-Control"] = "no-cache"  # a new name or colour shows at the next visit
    return _conditional(resp)


def _manifest() -> dict:
    """The web app manifest: the kelurahan's name and colours, its icons and shortcuts."""
    profile = profile_service.current_profile()
    theme, background = app_icons.colours(profile)
    place = profile.village_title if profile else ""
    small = [{"src": icon_url(96), "sizes": "96x96", "type": "image/png"},
             {"src": icon_url(192), "sizes": "192x192", "type": "image/png"}]
    return {
        "id": url_for("public.index"),
        "name": f"SemPelMas {place}".strip(),
        "short_name": "SemPelMas",
        "description": (_("Layanan surat online %(place)s: ajukan surat dari ponsel dan pantau prosesnya.",
                          place=place) if place else
                        _("Layanan surat online kelurahan: ajukan surat dari ponsel dan pantau prosesnya.")),
        "lang": current_lang(),
        "dir": "ltr",
        # the app opens on the signed-in person's home (sempelmas/web/auth/routes.py start); "id" stays "/"
        # so phones that installed the app before keep it as the same app
        "start_url": url_for("auth.start"),
        "scope": url_for("public.index"),
        "display": "standalone",
        "theme_color": theme,
        "background_color": background,
        "icons": [
            {"src": icon_url(192), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": icon_url(512), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": icon_url(192, maskable=True), "sizes": "192x192", "type": "image/png", "purpose": "maskable"},
            {"src": icon_url(512, maskable=True), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
        "screenshots": screenshots(),
        "shortcuts": [
            {"name": _("Ajukan surat"), "url": url_for("resident.services"), "icons": small},
            {"name": _("Status permohonan"), "url": url_for("resident.request_list"), "icons": small},
        ],
    }


#: Android's richer install sheet: phone-sized pictures of demo pages without personal data, made by
#: bench/pwa_screenshots.py (file name, label); 720x1440 PNGs under static/pwa/
SCREENSHOTS = (("pwa/screenshot-services.png", _l("Daftar layanan surat dan persyaratannya")),
               ("pwa/screenshot-service.png", _l("Persyaratan satu layanan, sebelum mengajukan")),
               ("pwa/screenshot-offline.png", _l("Tanpa sinyal: permohonan menunggu di ponsel")))
SCREENSHOT_SIZE = "720x1440"


def screenshots() -> list[dict]:
    return [{"src": url_for("static", filename=name), "sizes": SCREENSHOT_SIZE, "type": "image/png",
             "form_factor": "narrow", "label": str(label)} for name, label in SCREENSHOTS]


def _icon_response(size: int, maskable: bool):
    if size not in (app_icons.MASKABLE_SIZES if maskable else app_icons.SIZES):
        abort(404)
    profile = profile_service.current_profile()
    png = app_icons.icon_png(size, maskable, profile, _stored_logo)
    resp = make_response(png)
    resp.headers["Content-Type"] = "image/png"
    current = request.args.get("v") == app_icons.version(profile)
    resp.headers["Cache-Control"] = ICON_CACHE if current else "public, max-age=3600"
    return _conditional(resp)


def _conditional(resp):
    """An ETag of the body, and 304 when the browser has it already: the service worker revalidates
    the shell when it installs, which then costs a few headers for what the page just loaded."""
    resp.add_etag()
    return resp.make_conditional(request)


def _stored_logo() -> bytes | None:
    stored = profile_service.logo()
    return stored[0] if stored else None


@bp.get("/pwa/icon-<int:size>.png")
def icon(size: int):
    return _icon_response(size, maskable=False)


@bp.get("/pwa/icon-maskable-<int:size>.png")
def maskable_icon(size: int):
    return _icon_response(size, maskable=True)


def _offline_html() -> str:
    profile = profile_service.current_profile()
    template = current_app.jinja_env.get_template("pwa/offline.html")
    return template.render(lang=current_lang(), place=profile.village_title if profile else "",
                           css=url_for("static", filename="css/app.css"), home=url_for("public.index"),
                           services=url_for("public.services"))


@bp.get("/offline")
def offline():
    """What the service worker shows for a page it cannot fetch. Anonymous by construction: it is
    cached on the phone and shown to whoever uses it next."""
    resp = make_response(_offline_html())
    resp.headers["Cache-Control"] = "no-cache"
    return _conditional(resp)


def shell_urls() -> list[str]:
    """Everything the service worker keeps: the shell's static files, the icons, the offline page."""
    urls = [url_for("static", filename=name) for name in SHELL_STATIC]
    # the icon the pages link; not the 512 px ones, which only the browser uses when it installs the app (and
    # fetches then): kept here they were 16 KB of a resident's first visit (bench/bench_pwa.py)
    urls.append(icon_url(192))
    urls.append(url_for("pwa.offline"))
    return urls


def shell_version(urls: list[str]) -> str:
    """A hash of what the shell holds: a deploy that changes a file (or the profile's name, icons,
    colours) gives a new cache name, and the old cache is dropped when the new worker takes over."""
    digest = hashlib.sha256()
    folder = Path(current_app.static_folder)
    for name in SHELL_STATIC:
        digest.update((folder / name).read_bytes())
    digest.update(_offline_html().encode())
    digest.update("\n".join(urls).encode())
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
def service_worker():
    urls = shell_urls()
    template = current_app.jinja_env.get_template("pwa/sw.js")
    body = template.render(version=shell_version(urls), shell=urls, offline_url=url_for("pwa.offline"),
                           push_icon=icon_url(192),
                           public_pages=[url_for("public.services")],
                           form_prefix=url_for("resident.new_request", code="-")[:-1],
                           session_url=url_for("resident.outbox_session"),
                           outbox_script=url_for("static", filename="js/outbox.js"),
                           static_prefix=url_for("static", filename=""))
    resp = make_response(body)
    resp.headers["Content-Type"] = "application/javascript; charset=utf-8"
    resp.headers["Cache-Control"] = "no-cache"  # the browser asks again on each update check
    return _conditional(resp)
