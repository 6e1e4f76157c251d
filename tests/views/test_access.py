"""Every protected URL × every role: allowed → 200, other role → 403, anonymous → login. Every resident URL
that names something of a family × every kind of outsider who typed the family's numbers: 404."""

import json
import secrets
from datetime import date

import pytest

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role
from sempelmas.models.profile import Official
from sempelmas.models.questions import MessageSide
from sempelmas.services.accountability import complaints, data_corrections, data_rights
from sempelmas.services.files.uploads import save_image
from sempelmas.services.integration import clients as api_clients
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.kelurahan.demo import make_nik
from sempelmas.services.operations import jobs
from sempelmas.services.operations import webhooks as webhook_service
from sempelmas.services.people import account_registration, account_verification
from sempelmas.services.requests import attachments, catalogue, lifecycle, questions
from sempelmas.services.requests import submission as requests
from tests.conftest import PASSWORD, jpeg_bytes
from tests.letter_fixtures import make_letter
from tests.request_factory import make_service, submit

ALL_ROLES = [Role.RESIDENT, Role.RT_HEAD, Role.RW_HEAD, Role.ASSISTANT, Role.STAFF, Role.SIGNER, Role.ADMIN]
ANY = set(ALL_ROLES)

# (url template, roles allowed). {pending} is a waiting resident of RT 001 RW 001, {resident} a register entry.
PAGES = [
    ("/warga/", {Role.RESIDENT, Role.ASSISTANT}),
    ("/warga/ktp", {Role.RESIDENT}),
    ("/warga/pendamping", {Role.ASSISTANT}),
    ("/warga/pendamping/baru", {Role.ASSISTANT}),
    ("/warga/layanan", {Role.RESIDENT, Role.ASSISTANT}),
    ("/warga/permohonan", {Role.RESIDENT, Role.ASSISTANT}),
    ("/warga/ajukan/{service}", {Role.RESIDENT}),  # a pendamping only while acting for a resident
    ("/rt/", {Role.RT_HEAD, Role.RW_HEAD}),
    ("/rt/akun", {Role.RT_HEAD, Role.RW_HEAD}),
    ("/rt/akun/{pending}", {Role.RT_HEAD}),  # an RW head may open the RT pages, not verify: 404
    ("/rt/akun/{pending}/ktp", {Role.RT_HEAD}),
    ("/rt/permohonan", {Role.RT_HEAD, Role.RW_HEAD}),
    ("/rt/permohonan/{rt_request}", {Role.RT_HEAD, Role.RW_HEAD}),
    ("/petugas/", {Role.STAFF}),
    ("/petugas/akun", {Role.STAFF, Role.ADMIN}),
    ("/petugas/akun/{pending}", {Role.STAFF, Role.ADMIN}),
    ("/petugas/akun/{pending}/ktp", {Role.STAFF, Role.ADMIN}),
    ("/petugas/penduduk", {Role.STAFF, Role.ADMIN}),
    ("/petugas/penduduk/{resident}", {Role.STAFF, Role.ADMIN}),
    ("/petugas/permohonan", {Role.STAFF}),
    ("/petugas/permohonan?status=semua&q=budi&overdue=1", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/pratinjau", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/pratinjau?format=html", {Role.STAFF}),
    # questions on a request: the office's side is the staff's alone (RT/RW heads and signers take no part)
    ("/petugas/permohonan/{tracking}/tanya", {Role.STAFF}),
    ("/petugas/permohonan/{asked}/tanya/{question}/foto", {Role.STAFF}),
    ("/petugas/permohonan/{asked}/tanya/{question}/perbaikan", {Role.STAFF}),
    ("/petugas/pertanyaan", {Role.STAFF}),
    ("/petugas/pertanyaan/jumlah", {Role.STAFF}),
    ("/penandatangan/", {Role.SIGNER}),
    ("/penandatangan/permohonan/{to_sign}", {Role.SIGNER}),
    ("/penandatangan/permohonan/{to_sign}/pratinjau.pdf", {Role.SIGNER}),
    ("/penandatangan/kunci", {Role.SIGNER}),
    ("/admin/", {Role.ADMIN}),
    ("/admin/siap", {Role.ADMIN}),
    ("/admin/profil", {Role.ADMIN}),
    ("/admin/pejabat", {Role.ADMIN}),
    ("/admin/pejabat/{official}", {Role.ADMIN}),
    ("/admin/akun", {Role.ADMIN}),
    ("/admin/akun/{pending}", {Role.ADMIN}),
    ("/admin/impor", {Role.ADMIN}),
    ("/admin/impor/{job}", {Role.ADMIN}),
    ("/admin/audit", {Role.ADMIN}),
    ("/admin/kotak-keluar", {Role.ADMIN}),
    ("/admin/opendk", {Role.ADMIN}),
    ("/admin/layanan", {Role.ADMIN}),
    ("/admin/layanan/baru", {Role.ADMIN}),
    ("/admin/layanan/{service}", {Role.ADMIN}),
    ("/admin/libur", {Role.ADMIN}),
    ("/admin/libur?tahun=2027", {Role.ADMIN}),
    ("/admin/sertifikat", {Role.ADMIN}),
    ("/admin/surat-uji", {Role.ADMIN, Role.SIGNER}),
    ("/admin/api-klien", {Role.ADMIN}),
    ("/admin/api-klien/{api_client}", {Role.ADMIN}),
    ("/admin/webhook", {Role.ADMIN}),
    ("/admin/webhook/{webhook}", {Role.ADMIN}),
    ("/admin/webhook/{webhook}/ubah", {Role.ADMIN}),
    ("/admin/templat-surat", {Role.ADMIN}),
    ("/admin/templat-surat/domisili", {Role.ADMIN}),
    ("/akun/sandi", ANY),
    ("/notifikasi/", ANY),
    ("/notifikasi/jumlah", ANY),
    ("/petugas/surat", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/petugas/surat?tahun=2026&bulan=3&layanan=domisili&status=sah&q=budi", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/petugas/surat/{letter}", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/petugas/surat/{letter}/unduh", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/petugas/ikm", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/ikm?dari=2026-01-01&sampai=2026-12-31", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/ikm/unduh.xlsx", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/ikm/unduh.pdf", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/warga/pengaduan", {Role.RESIDENT, Role.ASSISTANT}),
    ("/warga/pengaduan/baru", {Role.RESIDENT, Role.ASSISTANT}),
    ("/petugas/pengaduan", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/petugas/pengaduan?status=selesai", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/petugas/pengaduan/{complaint}", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/petugas/pengaduan/{complaint}/foto", {Role.STAFF, Role.ADMIN, Role.SIGNER}),
    ("/warga/data-saya/", {Role.RESIDENT}),
    ("/warga/data-saya/unduh.json", {Role.RESIDENT}),
    ("/warga/data-saya/unduh.pdf", {Role.RESIDENT}),
    ("/warga/data-saya/koreksi", {Role.RESIDENT}),
    ("/warga/data-saya/hapus", {Role.RESIDENT}),
    ("/petugas/permintaan-data/", {Role.STAFF, Role.ADMIN}),
    ("/petugas/permintaan-data/?status=semua", {Role.STAFF, Role.ADMIN}),
    ("/petugas/dasbor", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/dasbor?periode=kustom&dari=2026-01-01&sampai=2026-03-31", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/laporan", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/laporan/rekap.xlsx", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/laporan/rekap.csv", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/laporan/register.xlsx", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
    ("/petugas/laporan/register.csv", {Role.STAFF, Role.SIGNER, Role.ADMIN}),
]
# open to everyone, signed in or not (the installable app's files)
PUBLIC = ["/privasi", "/manifest.webmanifest", "/sw.js", "/offline", "/pwa/icon-192.png", "/pwa/icon-512.png",
          "/pwa/icon-maskable-512.png", "/pengaduan", "/pengaduan/lacak", "/transparansi", "/bantuan"]
POSTS = [
    ("/admin/kotak-keluar/999999/kirim-ulang", {Role.ADMIN}),  # unknown message → 404 for the admin
    ("/rt/akun/{pending}/verifikasi", {Role.RT_HEAD}),
    ("/rt/akun/{pending}/tolak", {Role.RT_HEAD}),
    ("/rt/permohonan/{rt_request}/pengantar", {Role.RT_HEAD, Role.RW_HEAD}),
    ("/rt/permohonan/{rt_request}/kembalikan", {Role.RT_HEAD, Role.RW_HEAD}),
    ("/petugas/akun/{pending}/verifikasi", {Role.STAFF, Role.ADMIN}),
    ("/petugas/akun/{pending}/tolak", {Role.STAFF, Role.ADMIN}),
    ("/petugas/akun/{pending}/kode-pemulihan", {Role.STAFF, Role.ADMIN}),
    ("/petugas/penduduk/{resident}", {Role.STAFF, Role.ADMIN}),
    ("/petugas/permohonan/{tracking}/tangani", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/perbaikan", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/tolak", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/teruskan", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/catatan", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/data-pemohon", {Role.STAFF}),
    ("/petugas/permohonan/{tracking}/tanya", {Role.STAFF}),
    ("/petugas/permohonan/{asked}/tanya/{question}/perbaikan", {Role.STAFF}),
    # the family only; anyone else who is a resident gets 404 (FAMILY_URLS below)
    ("/warga/permohonan/{tracking}/tanya", {Role.RESIDENT, Role.ASSISTANT}),
    ("/warga/pendamping/baru", {Role.ASSISTANT}),
    ("/warga/pendamping/selesai", {Role.ASSISTANT}),
    ("/admin/profil", {Role.ADMIN}),
    ("/admin/pejabat", {Role.ADMIN}),
    ("/admin/akun", {Role.ADMIN}),
    ("/admin/impor", {Role.ADMIN}),
    ("/admin/impor/{job}/terapkan", {Role.ADMIN}),
    ("/admin/akun/{pending}", {Role.ADMIN}),
    ("/admin/pejabat/{official}", {Role.ADMIN}),
    ("/admin/layanan/baru", {Role.ADMIN}),
    ("/admin/layanan/{service}", {Role.ADMIN}),
    ("/admin/libur", {Role.ADMIN}),
    ("/admin/libur/{holiday}/hapus", {Role.ADMIN}),
    ("/admin/sertifikat/999999/cabut", {Role.ADMIN}),  # unknown certificate → 404 for the admin
    ("/admin/surat-uji", {Role.SIGNER}),  # signing a test letter: the official's own key
    ("/admin/api-klien", {Role.ADMIN}),
    ("/admin/api-klien/{api_client}", {Role.ADMIN}),
    ("/admin/api-klien/{api_client}/ganti-kunci", {Role.ADMIN}),
    ("/admin/api-klien/{api_client}/cabut", {Role.ADMIN}),
    ("/admin/webhook", {Role.ADMIN}),
    ("/admin/webhook/{webhook}/jeda", {Role.ADMIN}),
    ("/admin/webhook/{webhook}/lanjutkan", {Role.ADMIN}),
    ("/admin/webhook/{webhook}/rahasia-baru", {Role.ADMIN}),
    ("/admin/webhook/{webhook}/ubah", {Role.ADMIN}),
    ("/admin/webhook/{webhook}/hapus", {Role.ADMIN}),
    ("/admin/webhook/999999/kirim-ulang/999999", {Role.ADMIN}),  # unknown delivery → 404 for the admin
    ("/admin/audit/periksa", {Role.ADMIN}),
    ("/penandatangan/kunci", {Role.SIGNER}),
    ("/admin/templat-surat/domisili", {Role.ADMIN}),
    ("/warga/pendamping/{pending}/bertindak", {Role.ASSISTANT}),
    ("/notifikasi/baca-semua", ANY),
    ("/notifikasi/999999/baca", ANY),  # any signed-in user; another's or unknown → 404 (test_notification_views)
    # push on this phone: residents and pendamping; another's device → 404 (tests/views/test_push_views.py)
    ("/notifikasi/hp/langganan", {Role.RESIDENT, Role.ASSISTANT}),
    ("/notifikasi/hp/berhenti", {Role.RESIDENT, Role.ASSISTANT}),
    ("/warga/ajukan/{service}", {Role.RESIDENT}),
    ("/penandatangan/tanda-tangan", {Role.SIGNER}),
    ("/penandatangan/permohonan/{to_sign}/tanda-tangan", {Role.SIGNER}),
    ("/penandatangan/permohonan/{to_sign}/kembalikan", {Role.SIGNER}),
    ("/penandatangan/permohonan/{to_sign}/ganti", {Role.SIGNER}),
    ("/penandatangan/surat/{letter}/cabut", {Role.SIGNER, Role.ADMIN}),
    # the applicant only; another resident gets 404 (tests/views/test_survey_views.py)
    ("/warga/permohonan/{tracking}/survei", {Role.RESIDENT, Role.ASSISTANT}),
    ("/petugas/pengaduan/{complaint}/jawab", {Role.STAFF, Role.ADMIN}),
    ("/warga/pengaduan/baru", {Role.RESIDENT, Role.ASSISTANT}),
    ("/warga/data-saya/koreksi", {Role.RESIDENT}),
    ("/warga/data-saya/hapus", {Role.RESIDENT}),
    ("/petugas/permintaan-data/999999/koreksi", {Role.STAFF, Role.ADMIN}),  # unknown task → 404 for staff
    ("/petugas/permintaan-data/999999/kabulkan", {Role.STAFF, Role.ADMIN}),
    ("/petugas/permintaan-data/999999/tolak", {Role.STAFF, Role.ADMIN}),
]


@pytest.fixture
def objects(factory):
    pending = factory.warga(status=AccountStatus.PENDING, rt="001", rw="001", ktp=True)
    official = Official(name="X", position="lurah", position_title="Lurah")
    db.session.add(official)
    job = jobs.enqueue("register_preview", {"path": "/nonexistent.csv", "filename": "w.csv"})
    service = catalogue.save_service(None, {"code": "domisili", "name": "Domisili", "classification_code": "470",
                                            "letter_template": "domisili"}, [], [])
    holiday = profile_service.add_holiday(date(2026, 8, 17), "Hari Kemerdekaan")
    make_service("pengantar_uji", paper_when_no_rt=False)  # waits for the RT of 001/001 (no head account yet)
    rt_request = submit(factory.warga(rt="001", rw="001"), service="pengantar_uji")
    applicant = factory.warga()
    letter = requests.submit(service.code, applicant, applicant.resident, {}, idempotency_key=None)
    to_sign = requests.submit(service.code, applicant, applicant.resident, {}, idempotency_key=None)
    forwarder = factory.staff(Role.STAFF)
    for action in ("claim", "forward_to_signing"):
        lifecycle.transition(to_sign, action, actor=forwarder)
    db.session.commit()
    letter_id = make_letter(letter, applicant, pdf=b"%PDF-1.4 uji").id
    complaint, _new = complaints.file_complaint(
        complaints.Filing(name="Umum", phone="+6281234567890", category="lainnya", subject="Uji akses",
                          body="Pengaduan untuk uji akses."),
        idempotency_key=None, photo=save_image(complaints.UPLOAD_KIND, jpeg_bytes()))
    asked = requests.submit(service.code, applicant, applicant.resident, {}, idempotency_key=None)
    db.session.flush()
    question, _new = questions.post(asked, applicant, "Pertanyaan untuk uji akses", side=MessageSide.RESIDENT,
                                    photo=save_image(questions.UPLOAD_KIND, jpeg_bytes()))
    webhook = webhook_service.create_endpoint("https://data.example.org/hook", ["complaint.created"], forwarder)[0]
    api_client = api_clients.create_client(api_clients.Settings("Portal data", ["catalogue:read"], []),
                                           actor=forwarder)[0]
    db.session.commit()
    return {"letter": letter_id, "webhook": webhook.id, "api_client": api_client.id,
            "complaint": complaint.id, "asked": asked.tracking_number, "question": question.id,
            "pending": pending.id, "resident": factory.resident(name="DATA PENDUDUK").id, "official": official.id,
            "job": job.id,
            "service": service.code, "holiday": holiday.id, "rt_request": rt_request.tracking_number,
            "tracking": letter.tracking_number, "to_sign": to_sign.tracking_number}


def _cases(table):
    return [(url, role, role in allowed) for url, allowed in table for role in ALL_ROLES]


@pytest.mark.parametrize(("url", "role", "allowed"), _cases(PAGES))
def test_page_access_by_role(client, factory, login_as, objects, url, role, allowed):
    login_as(factory.user_for_role(role), PASSWORD)
    resp = client.get(url.format(**objects))
    resp.close()
    expected = 200 if allowed else 403
    if url.startswith("/rt/akun/") and role == Role.RW_HEAD:
        expected = 404  # right blueprint, but verifying is for the resident's own RT head
    assert resp.status_code == expected, resp.get_data(as_text=True)[:300]


@pytest.mark.parametrize(("url", "role", "allowed"), [c for c in _cases(POSTS) if not c[2]])
def test_state_changes_are_refused_to_other_roles(client, factory, login_as, objects, url, role, allowed):
    login_as(factory.user_for_role(role), PASSWORD)
    expected = 404 if url.startswith("/rt/akun/") and role == Role.RW_HEAD else 403
    assert client.post(url.format(**objects), data={}).status_code == expected


@pytest.mark.parametrize("url", [u for u, _r in PAGES] + [u for u, _r in POSTS])
def test_anonymous_visitors_are_sent_to_login(client, objects, url):
    target = url.format(**objects)
    only_post = url in {u for u, _r in POSTS} - {u for u, _r in PAGES}
    resp = client.post(target) if only_post else client.get(target)
    assert resp.status_code == 302
    assert resp.location.startswith("/login?next=")


@pytest.mark.parametrize("role", [None, *ALL_ROLES])
def test_public_pages_open_for_everyone(client, factory, login_as, role):
    if role is not None:
        login_as(factory.user_for_role(role), PASSWORD)
    for url in PUBLIC:
        resp = client.get(url)
        resp.close()
        assert resp.status_code == 200, (url, role)


def test_htmx_requests_get_401_with_a_redirect_header(client):
    resp = client.get("/admin/", headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"].startswith("/login?next=")


def test_rt_head_of_another_rt_gets_404_for_a_resident_not_his(client, factory, login_as):
    other = factory.warga(status=AccountStatus.PENDING, rt="002", rw="001")
    login_as(factory.staff(Role.RT_HEAD, "rt01x", rt="001", rw="001"))
    assert client.get(f"/rt/akun/{other.id}").status_code == 404
    assert client.get(f"/rt/akun/{other.id}/ktp").status_code == 404
    assert client.post(f"/rt/akun/{other.id}/verifikasi", data={}).status_code == 404


def test_pendamping_cannot_act_for_a_resident_he_did_not_register(client, factory, login_as):
    stranger = factory.warga()
    login_as(factory.staff(Role.ASSISTANT, "pdp"))
    assert client.post(f"/warga/pendamping/{stranger.id}/bertindak").status_code == 404


def test_unknown_objects_are_404_not_errors(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN, "adm404"))
    for url in ["/petugas/akun/999999", "/petugas/penduduk/999999", "/admin/akun/999999", "/admin/impor/999999",
                "/admin/pejabat/999999", "/petugas/akun/999999/ktp"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/libur/999999/hapus").status_code == 404


def test_only_verified_residents_pass_the_request_gate(make_app, factory):
    from flask import Flask

    from sempelmas.web.access import verified_resident_required

    app: Flask = make_app(fresh=True)

    @app.get("/_ajukan")
    @verified_resident_required
    def submit():
        return "boleh"

    with app.app_context():
        anon = app.test_client()
        assert anon.get("/_ajukan").status_code == 302
        waiting, verified, staff = app.test_client(), app.test_client(), app.test_client()
        w = factory.warga(status=AccountStatus.PENDING)
        waiting.post("/login", data={"identifier": w.nik, "password": PASSWORD})
        resp = waiting.get("/_ajukan")
        assert resp.status_code == 303 and resp.location == "/warga/"
        assert "belum terverifikasi" in waiting.get("/warga/").get_data(as_text=True)
        v = factory.warga()
        verified.post("/login", data={"identifier": v.resident.nik, "password": PASSWORD})
        assert verified.get("/_ajukan").get_data(as_text=True) == "boleh"
        s = factory.staff(Role.STAFF, "loket2")
        staff.post("/login", data={"identifier": s.username, "password": PASSWORD})
        assert staff.get("/_ajukan").status_code == 403


def test_resident_letter_download_is_for_the_family_only(client, factory, login_as, objects):
    """/warga/permohonan/<n>/surat: anonymous → login; other roles → 403; a resident not of that family → 404
    (the owner's 200 is in tests/views/test_verify.py)."""
    url = f"/warga/permohonan/{objects['tracking']}/surat"
    resp = client.get(url)
    assert resp.status_code == 302 and resp.location.startswith("/login?next=")
    for role in ALL_ROLES:
        login_as(factory.user_for_role(role), PASSWORD)
        expected = 404 if role in (Role.RESIDENT, Role.ASSISTANT) else 403
        assert client.get(url).status_code == expected, role
        client.post("/logout")


# ----------------------------------------------------------------- outsiders who typed a family's numbers

FAMILY_KK = "3576031201150007"
LETTER_PDF = b"%PDF-1.4 surat keluarga"
COMPLAINT_FORM = {"name": "Siapa Saja", "phone": "081234567890", "category": "lainnya", "subject": "Uji akses",
                  "body": "Pengaduan tentang permohonan keluarga."}
# every resident URL that names a thing of the family: a request (own, and one about the member whose NIK the
# squatter typed), its documents, its letter, its survey, a complaint and a personal-data request with photos
FAMILY_URLS = [
    ("GET", "/warga/permohonan/{tracking}"),
    ("GET", "/warga/permohonan/{tracking}/status"),
    ("GET", "/warga/permohonan/{tracking}/perbaikan"),
    ("POST", "/warga/permohonan/{tracking}/perbaikan"),
    ("POST", "/warga/permohonan/{tracking}/batal"),
    ("GET", "/warga/permohonan/{tracking}/batal"),
    ("GET", "/warga/permohonan/{tracking}/surat"),
    ("GET", "/warga/permohonan/{tracking}/survei"),
    ("POST", "/warga/permohonan/{tracking}/survei"),
    ("GET", "/warga/permohonan/{about_member}"),
    ("GET", "/warga/permohonan/{about_member}/status"),
    ("GET", "/warga/permohonan/{about_member}/surat"),
    ("GET", "/berkas/{attachment}"),
    ("GET", "/warga/pengaduan/baru?permohonan={tracking}"),
    ("POST", "/warga/pengaduan/baru"),  # with the family's request named in the form
    ("GET", "/warga/pengaduan/{complaint}"),
    ("GET", "/warga/pengaduan/{complaint}/foto"),
    ("GET", "/warga/data-saya/permintaan/{data_request}"),
    ("GET", "/warga/data-saya/permintaan/{data_request}/foto"),
    ("GET", "/warga/permohonan/{tracking}/tanya"),
    ("POST", "/warga/permohonan/{tracking}/tanya"),
    ("GET", "/warga/permohonan/{tracking}/tanya/{question}/foto"),
    ("GET", "/warga/permohonan/{about_member}/tanya"),
]
# pages every resident opens: 200, but nothing of the family on them
OWN_PAGES = ["/warga/", "/warga/permohonan", "/warga/pengaduan", "/warga/pengaduan/baru", "/warga/data-saya/",
             "/warga/data-saya/unduh.json", "/notifikasi/"]
OUTSIDERS = [
    "unverified_with_members_nik",  # typed a family member's NIK from the register, waiting for verification
    "kk_claimer",  # typed the family's KK with a NIK of their own, waiting
    "rejected_kk_claimer",  # the same, after staff turned it down
    "pendamping_for_kk_claimer",  # a pendamping who registered a KK claimer and acts for them
]


def _declared(nik: str, kk: str, name: str, phone: str) -> account_registration.RegistrationData:
    return account_registration.RegistrationData(
        nik=nik, kk_number=kk, full_name=name, birth_place="Mojokerto", birth_date=date(1995, 6, 7), gender="L",
        address="Jl. Entah 9", rt="001", rw="001", phone=phone, email=None, password=PASSWORD, consent=True)


@pytest.fixture
def family(factory):
    """A verified resident and a register member on one KK, with everything a resident URL can name."""
    make_service("keluarga_uji", needs_rt=False)
    budi = factory.warga(kk=FAMILY_KK, name="BUDI KELUARGA", ktp=True)
    member = factory.resident(kk=FAMILY_KK, name="SRI KELUARGA", female=True, birth=date(1992, 3, 4))
    own = requests.submit("keluarga_uji", budi, budi.resident, {"keperluan": "Uji"}, idempotency_key=None)
    about_member = requests.submit("keluarga_uji", budi, member, {"keperluan": "Uji"}, idempotency_key=None)
    document = attachments.store(jpeg_bytes(), requirement_code="kk", owner=budi, request=own)
    db.session.commit()
    make_letter(own, budi, pdf=LETTER_PDF)
    make_letter(about_member, budi, pdf=LETTER_PDF)
    complaint, _new = complaints.file_complaint(
        complaints.Filing(name="Budi", phone="+6281234567890", category="lainnya", subject="Tentang surat",
                          body="Pengaduan keluarga tentang suratnya."),
        idempotency_key=None, photo=save_image(complaints.UPLOAD_KIND, jpeg_bytes()), user=budi, about=own)
    data_request = data_corrections.request_correction(budi, "full_name", "BUDI KELUARGA BARU", None,
                                                  evidence_photo=save_image(data_rights.EVIDENCE_KIND, jpeg_bytes()))
    question, _new = questions.post(own, budi, "Pertanyaan keluarga tentang suratnya", side=MessageSide.RESIDENT,
                                    photo=save_image(questions.UPLOAD_KIND, jpeg_bytes()))
    # an answer not read yet: the family's home lists it, an outsider's must not
    questions.post(own, factory.staff(Role.STAFF, "loket-keluarga"), "Jawaban petugas", side=MessageSide.STAFF)
    db.session.commit()
    return {"budi": budi, "member": member, "tracking": own.tracking_number, "question": question.id,
            "about_member": about_member.tracking_number, "attachment": document.stored_name,
            "complaint": complaint.code, "data_request": data_request.id}


@pytest.fixture
def outsider(request, client, factory, login_as, family):
    """A client signed in as one kind of outsider (the parametrized ``request.param``)."""
    kind = request.param
    pendamping = factory.staff(Role.ASSISTANT, "pendamping-luar") if kind.startswith("pendamping") else None
    if kind == "unverified_with_members_nik":
        user = account_registration.register_resident(_declared(family["member"].nik, "3576030101990001", "Bukan Sri",
                                                                "+6281200000001"))
    else:
        user = account_registration.register_resident(
            _declared(make_nik(date(1995, 6, 7), False, 901), FAMILY_KK, "Orang Asing", "+6281200000002"),
            assisted_by=pendamping)
    if kind == "rejected_kk_claimer":
        account_verification.reject_account(factory.staff(Role.STAFF), user, "Bukan anggota keluarga ini")
    db.session.commit()
    if pendamping is not None:
        login_as(pendamping)
        assert client.post(f"/warga/pendamping/{user.id}/bertindak").status_code == 303
    else:
        login_as(user)
    return client


def _family_secrets(family, outsider_kind: str) -> list[str]:
    """The family's names, NIKs and tracking numbers; the NIK the squatter typed is on their own pages."""
    typed = family["member"].nik if outsider_kind == "unverified_with_members_nik" else None
    return [s for s in ["BUDI KELUARGA", "Budi Keluarga", "SRI KELUARGA", "Sri Keluarga", family["tracking"],
                        family["about_member"], family["member"].nik, family["budi"].resident.nik] if s != typed]


def _resident_only(url: str) -> bool:
    """The personal-data pages belong to a resident's own account: a pendamping gets 403 there."""
    return url.startswith("/warga/data-saya")


def _open(client, method: str, url: str, family):
    target = url.format(**family)
    # a key of the shape the forms make (secrets.token_urlsafe(24)), so only access decides the answer
    key = secrets.token_urlsafe(24)
    data = ({**COMPLAINT_FORM, "request": family["tracking"], "kunci": key} if url == "/warga/pengaduan/baru"
            else {"kunci": key, "text": "Pertanyaan dari luar"} if url.endswith("/tanya") else {"kunci": key})
    resp = client.post(target, data=data) if method == "POST" else client.get(target)
    resp.close()
    return resp


@pytest.mark.parametrize("outsider", OUTSIDERS, indirect=True)
@pytest.mark.parametrize(("method", "url"), FAMILY_URLS)
def test_outsiders_who_typed_the_familys_numbers_get_404_for_its_things(request, outsider, family, method, url):
    kind = request.node.callspec.params["outsider"]
    expected = 403 if kind.startswith("pendamping") and _resident_only(url) else 404
    assert _open(outsider, method, url, family).status_code == expected


@pytest.mark.parametrize(("method", "url"), FAMILY_URLS)
def test_the_family_itself_opens_each_of_those_urls(client, login_as, family, method, url):
    """The other side of the matrix: the same URLs are real, and the family gets them."""
    login_as(family["budi"])
    assert _open(client, method, url, family).status_code in (200, 303), (method, url)


@pytest.mark.parametrize("outsider", OUTSIDERS, indirect=True)
@pytest.mark.parametrize("url", OWN_PAGES)
def test_outsiders_own_pages_show_nothing_of_the_family(request, outsider, family, url):
    kind = request.node.callspec.params["outsider"]
    resp = outsider.get(url)
    if kind.startswith("pendamping") and _resident_only(url):
        assert resp.status_code == 403
        return
    assert resp.status_code == 200, url
    body = resp.get_data(as_text=True)
    if url.endswith(".json"):
        data = json.loads(body)
        assert data["data_penduduk"] is None and data["keluarga_dalam_kk"] == [] and data["permohonan"] == []
    leaked = [s for s in _family_secrets(family, kind) if s in body]
    assert not leaked, leaked
