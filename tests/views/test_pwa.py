"""The installable app: manifest and icons from the profile, the service worker's shell, the offline page."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from PIL import Image
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.kelurahan.demo import seed_profile
from tests.conftest import jpeg_bytes
from tests.views.test_admin_views import PROFILE

PERSONAL_PREFIXES = ("/warga", "/rt", "/petugas", "/penandatangan", "/admin", "/berkas", "/v/", "/notifikasi",
                     "/akun")


@pytest.fixture
def profile(app):
    prof = seed_profile()
    db.session.commit()
    return prof


def manifest_of(client) -> dict:
    resp = client.get("/manifest.webmanifest")
    assert resp.status_code == 200
    assert resp.mimetype == "application/manifest+json"
    return json.loads(resp.get_data(as_text=True))


def png(client, url: str) -> Image.Image:
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    image = Image.open(io.BytesIO(resp.data))
    assert image.format == "PNG"
    return image


def assert_inside_safe_zone(box) -> None:
    """The mark's bounding box lies within the maskable safe zone: the circle of 80 % of 512 px."""
    assert box is not None
    left, top, right, bottom = box
    for x, y in ((left, top), (right, top), (left, bottom), (right, bottom)):
        assert (x - 256) ** 2 + (y - 256) ** 2 <= (0.4 * 512) ** 2, box


def shell_of(client) -> tuple[str, list[str], str]:
    """(cache version, precached URLs, the whole script) of /sw.js."""
    body = client.get("/sw.js").get_data(as_text=True)
    version = re.search(r'var VERSION = "(\w+)";', body).group(1)
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", body).group(1))
    return version, shell, body


def test_manifest_describes_the_kelurahan_app(client, profile):
    m = manifest_of(client)
    assert m["name"] == "SemPelMas Kelurahan Jagalan"
    assert m["short_name"] == "SemPelMas" and len(m["short_name"]) <= 12
    assert "Kelurahan Jagalan" in m["description"]
    assert (m["lang"], m["start_url"], m["scope"], m["display"]) == ("id", "/mulai", "/", "standalone")
    assert m["id"] == "/"  # phones that installed the app with start_url "/" keep it as the same app
    assert (m["theme_color"], m["background_color"]) == ("#0b5d3b", "#ffffff")
    by_purpose = {(i["purpose"], i["sizes"]) for i in m["icons"]}
    assert {("any", "192x192"), ("any", "512x512"), ("maskable", "512x512")} <= by_purpose
    shortcuts = {s["name"]: s for s in m["shortcuts"]}
    assert shortcuts["Ajukan surat"]["url"] == "/warga/layanan"
    assert shortcuts["Status permohonan"]["url"] == "/warga/permohonan"
    for shortcut in shortcuts.values():
        assert {i["sizes"] for i in shortcut["icons"]} == {"96x96", "192x192"}


def test_every_icon_the_manifest_names_is_a_png_of_its_size(client, profile):
    m = manifest_of(client)
    icons = m["icons"] + [i for s in m["shortcuts"] for i in s["icons"]]
    for icon in icons:
        side = int(icon["sizes"].split("x")[0])
        assert png(client, icon["src"]).size == (side, side), icon
        resp = client.get(icon["src"])
        assert "immutable" in resp.headers["Cache-Control"]  # the URL changes with the icon
        assert client.get(icon["src"], headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304
    assert "immutable" not in client.get("/pwa/icon-192.png").headers["Cache-Control"]
    assert client.get("/pwa/icon-100.png").status_code == 404
    assert client.get("/pwa/icon-maskable-96.png").status_code == 404


def test_default_icon_is_the_theme_colour_and_the_maskable_one_keeps_its_mark_in_the_safe_zone(client, profile):
    plain = png(client, "/pwa/icon-512.png").convert("RGB")
    maskable = png(client, "/pwa/icon-maskable-512.png").convert("RGB")
    green = (11, 93, 59)
    assert plain.getpixel((5, 5)) == green and maskable.getpixel((5, 5)) == green
    # the letters: something not green, and in the maskable icon only within the 80 % circle
    assert_inside_safe_zone(maskable.point(lambda v: 255 if v > 150 else 0).getbbox())


def test_manifest_and_icons_follow_the_profile_after_the_admin_changes_it(client, factory, login_as, profile):
    before_icon = manifest_of(client)["icons"][0]["src"]
    login_as(factory.staff(Role.ADMIN, "adm"))
    data = {**PROFILE, "theme_color": "#1A5FB4", "background_color": "#FAFAF0",
            "logo": (io.BytesIO(jpeg_bytes(size=(300, 200), color=(200, 30, 30))), "logo.jpg")}
    resp = client.post("/admin/profil", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    prof = db.session.scalar(select(KelurahanProfile))
    assert (prof.theme_color, prof.background_color) == ("#1a5fb4", "#fafaf0")

    m = manifest_of(client)
    assert m["name"] == "SemPelMas Kelurahan Miji"
    assert (m["theme_color"], m["background_color"]) == ("#1a5fb4", "#fafaf0")
    assert m["icons"][0]["src"] != before_icon  # a new URL: no phone keeps the old icon
    assert '<meta name="theme-color" content="#1a5fb4">' in client.get("/").get_data(as_text=True)
    # the icons now carry the logo (red) on the background colour
    icon = png(client, m["icons"][1]["src"]).convert("RGB")
    assert icon.getpixel((256, 256))[0] > 150 and icon.getpixel((256, 256))[1] < 80
    assert icon.getpixel((3, 3)) == (250, 250, 240)
    maskable = png(client, "/pwa/icon-maskable-512.png").convert("RGB")
    assert maskable.getpixel((256, 256))[0] > 150
    assert maskable.getpixel((3, 3)) == (250, 250, 240)
    assert_inside_safe_zone(maskable.convert("L").point(lambda v: 255 if v < 200 else 0).getbbox())
    # the ordinary icon uses more of its square than the safe zone allows
    width = icon.convert("L").point(lambda v: 255 if v < 200 else 0).getbbox()
    assert width[2] - width[0] > 0.8 * 512


def test_admin_colours_must_be_hex_and_keep_their_value_when_left_out(client, factory, login_as, profile):
    login_as(factory.staff(Role.ADMIN, "adm"))
    resp = client.post("/admin/profil", data={**PROFILE, "theme_color": "hijau", "background_color": "#fff"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert html.count("Tulis warna sebagai # diikuti 6 angka heksadesimal") == 2
    # what was typed comes back in a text box (a colour picker cannot show it)
    assert re.search(r'<input[^>]*id="theme_color"[^>]*type="text"[^>]*value="hijau"', html)
    picker = client.get("/admin/profil").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="theme_color"[^>]*type="color"[^>]*value="#0b5d3b"', picker)
    db.session.expire_all()
    assert db.session.scalar(select(KelurahanProfile)).theme_color == "#0b5d3b"
    # an older form without the colours: the colours stay
    assert client.post("/admin/profil", data=PROFILE).status_code == 303
    prof = db.session.scalar(select(KelurahanProfile))
    assert (prof.village_name, prof.theme_color, prof.background_color) == ("Miji", "#0b5d3b", "#ffffff")


def test_pages_link_the_manifest_and_icons(client, profile):
    for url in ("/", "/login", "/offline"):
        html = client.get(url).get_data(as_text=True)
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html, url
        assert re.search(r'<link rel="icon" href="/pwa/icon-192\.png\?v=\w+"', html), url
        assert re.search(r'<link rel="apple-touch-icon" href="/pwa/icon-180\.png\?v=\w+"', html), url
    assert re.search(r'src="/static/js/pwa\.js\?v=\w+" data-sw="/sw.js" data-scope="/" defer',
                     client.get("/").get_data(as_text=True))


def test_service_worker_is_served_from_the_root_uncached(client, profile):
    resp = client.get("/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "application/javascript"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert "Set-Cookie" not in resp.headers
    # its scope is where it is served from: the root, so it needs no Service-Worker-Allowed header
    assert "Service-Worker-Allowed" not in resp.headers


def test_service_worker_precaches_the_shell_and_no_personal_page(client, profile):
    version, shell, body = shell_of(client)
    assert {"/static/css/app.css", "/static/vendor/htmx-2.0.11.min.js", "/static/js/app.js", "/static/js/pwa.js",
            "/offline"} <= {url.split("?")[0] for url in shell}  # static URLs carry their content's version
    icons = {(i["purpose"], i["sizes"]): i["src"] for i in manifest_of(client)["icons"]}
    assert icons["any", "192x192"] in shell  # the one the pages link
    # the install-time icons are the browser's business, not the offline app's: not downloaded on a first visit
    assert icons["any", "512x512"] not in shell and icons["maskable", "512x512"] not in shell
    assert [url for url in shell if url.startswith(PERSONAL_PREFIXES) or ".pdf" in url] == []
    for url in shell:
        resp = client.get(url)
        assert resp.status_code == 200, url
        resp.close()
    assert 'var CACHE = "sempelmas-shell-" + VERSION;' in body
    # beyond the precached list, one thing is added to a cache: the anonymous copy of a public page
    assert body.count("cache.put(") == 1 and body.count("caches.open(") == 3
    assert re.search(r'caches\.open\(PUBLIC_CACHE\)\.then\(function \(cache\) \{\s*return cache\.match\(url\)', body)
    assert 'fetch(url, { credentials: "omit"' in body  # never the signed-in person's page
    public = json.loads(re.search(r"var PUBLIC_PAGES = (\[.*?\]);", body).group(1))
    assert public == ["/layanan"]
    assert not [p for p in public if p.startswith(PERSONAL_PREFIXES)]
    # the pages kept are only the list and one level below it, without a query
    assert "if (url.search) return false;" in body and 'rest.indexOf("/") < 0' in body
    assert 'var FORM_PREFIX = "/warga/ajukan/";' in body and 'var SESSION_URL = "/warga/sinyal";' in body
    assert re.search(r'importScripts\("/static/js/outbox\.js\?v=\w+"\);', body)


def test_the_public_pages_kept_offline_are_the_service_list_and_each_services_requirements(client, profile):
    """The same rule as sw.js's isPublicPage, applied to the app's URLs: which pages may have an offline copy."""
    _version, _shell, body = shell_of(client)
    bases = json.loads(re.search(r"var PUBLIC_PAGES = (\[.*?\]);", body).group(1))

    def kept(path: str, search: str = "") -> bool:
        if search:
            return False
        return any(path == b or (path.startswith(b + "/") and path[len(b) + 1:] and "/" not in path[len(b) + 1:])
                   for b in bases)

    assert kept("/layanan") and kept("/layanan/domisili")
    for path in ("/", "/login", "/warga/layanan", "/warga/", "/layanan/domisili/x", "/berkas/a.jpg", "/v/abc",
                 "/warga/permohonan/SPM-2026-000001", "/offline", "/sw.js"):
        assert not kept(path), path
    assert not kept("/layanan", "?q=x")


def test_cache_version_changes_when_a_shell_file_changes(client, app, profile, tmp_path, monkeypatch):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    monkeypatch.setattr(app, "static_folder", str(static))
    first, _shell, _body = shell_of(client)
    assert shell_of(client)[0] == first  # stable between requests
    with open(static / "css" / "app.css", "a") as css:
        css.write("\n.new-rule { color: red; }\n")
    assert shell_of(client)[0] != first


def test_cache_version_changes_when_the_profile_changes(client, profile):
    first = shell_of(client)[0]
    profile_service.update_profile(profile, {"village_name": "Miji"}, None)
    db.session.commit()
    assert shell_of(client)[0] != first  # the cached offline page carries the name


def test_offline_page_renders_without_a_session(client, profile):
    resp = client.get("/offline")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
    assert "<h1>Anda sedang offline</h1>" in html
    assert 'href="" id="retry">Coba lagi' in html
    assert "Kelurahan Jagalan" in html and re.search(r'href="/static/css/app\.css\?v=\w+"', html)
    assert "csrf" not in html.lower()


def test_offline_page_carries_nothing_of_a_logged_in_user(client, factory, login_as, profile):
    user = factory.warga(name="SITI AMINAH", female=True)
    login_as(user)
    html = client.get("/offline").get_data(as_text=True)
    assert "SITI" not in html.upper().replace("SITUS", "") and user.resident.nik not in html
    assert "Keluar" not in html and "csrf" not in html.lower()
    assert html == client.application.test_client().get("/offline").get_data(as_text=True)


def test_offline_page_lists_the_forms_waiting_for_a_signal_and_the_kept_public_pages(client, profile):
    html = client.get("/offline").get_data(as_text=True)
    assert 'id="outbox" hidden' in html and 'data-session="/warga/sinyal"' in html
    assert re.search(r'src="/static/js/outbox\.js\?v=\w+" defer', html)
    assert '<a href="/layanan">Daftar layanan dan persyaratannya</a>' in html


def test_the_installed_app_starts_on_the_signed_in_persons_home(client, factory, login_as, profile):
    resp = client.get("/mulai")
    assert resp.status_code == 302 and resp.location == "/" and resp.headers["Cache-Control"] == "no-store"
    login_as(factory.warga())
    assert client.get("/mulai").location == "/warga/"
    client.post("/logout")
    login_as(factory.staff(Role.STAFF, "loket"))
    assert client.get("/mulai").location == "/petugas/"


def test_manifest_screenshots_are_small_phone_pngs_of_their_stated_size(client, profile):
    shots = manifest_of(client)["screenshots"]
    assert len(shots) >= 1
    for shot in shots:
        assert shot["form_factor"] == "narrow" and shot["type"] == "image/png" and shot["label"]
        assert re.fullmatch(r"/static/pwa/screenshot-[a-z]+\.png\?v=\w+", shot["src"]), shot["src"]
        resp = client.get(shot["src"])
        assert resp.status_code == 200 and len(resp.data) < 80 * 1024
        image = Image.open(io.BytesIO(resp.data))
        width, height = image.size
        assert image.format == "PNG" and shot["sizes"] == f"{width}x{height}"
        assert 320 <= width < height <= 3840 and height / width <= 2.3  # Chrome's rules for the install sheet
        resp.close()
    assert len({s["sizes"] for s in shots}) == 1  # one aspect ratio, as Chrome wants


def test_install_offer_is_on_resident_pages_only(client, factory, login_as, profile):
    assert 'id="install-prompt"' not in client.get("/").get_data(as_text=True)
    login_as(factory.staff(Role.STAFF, "loket"))
    assert 'id="install-prompt"' not in client.get("/petugas/").get_data(as_text=True)
    client.post("/logout")
    login_as(factory.warga())
    html = client.get("/warga/").get_data(as_text=True)
    assert '<div class="install-prompt" id="install-prompt" hidden>' in html
    assert "Pasang aplikasi" in html


def test_without_a_profile_the_app_still_has_a_manifest_and_icons(client):
    m = manifest_of(client)
    assert m["name"] == "SemPelMas" and m["theme_color"] == "#0b5d3b"
    assert png(client, m["icons"][0]["src"]).size == (192, 192)
    assert client.get("/sw.js").status_code == 200 and client.get("/offline").status_code == 200
