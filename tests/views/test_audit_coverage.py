"""Every sensitive event the issue lists leaves an audit entry: drive each action the way its user does and
find its entry (who, on which object), with the chain still intact afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.letters import Letter, SigningCertificate
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.services.accountability import audit
from sempelmas.services.letters import templates as letter_templates
from sempelmas.services.requests import attachments
from tests.conftest import PASSWORD, jpeg_bytes, login
from tests.signing_setup import LURAH_PASS, Desk, configure
from tests.views.test_admin_views import PROFILE
from tests.views.test_catalogue_views import _form


class World:
    def __init__(self, client, factory, desk: Desk):
        self.client, self.factory, self.desk = client, factory, desk
        self.admin = factory.staff(Role.ADMIN, "adminaudit")
        self.rt = factory.staff(Role.RT_HEAD, "rtaudit", rt="001", rw="001")

    def as_(self, user):
        self.client.post("/logout")
        assert login(self.client, user.username or user.resident.nik).status_code == 302
        return self.client

    def request(self):
        (r,) = self.desk.awaiting(1)
        return r

    def signed_letter(self) -> Letter:
        r = self.request()
        self.as_(self.desk.lurah).post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                                       data={"version": r.version, "passphrase": LURAH_PASS})
        return db.session.scalar(select(Letter).where(Letter.request_id == r.id))


@pytest.fixture
def world(app, client, factory, tmp_path):
    configure(app, tmp_path)
    return World(client, factory, Desk(factory))


# Each driver does the action and returns (actor, object_type, object_id) the entry must name.

def login_ok(w):
    w.client.post("/logout")
    login(w.client, "petugas")
    return w.desk.staff, "users", w.desk.staff.id


def login_failed(w):
    w.client.post("/logout")
    login(w.client, "petugas", "salah-sandi-1")
    return None, None, None


def logout(w):
    w.as_(w.desk.staff).post("/logout")
    return w.desk.staff, "users", w.desk.staff.id


def role_change(w):
    w.as_(w.admin).post(f"/admin/akun/{w.desk.staff.id}", data={"roles": ["petugas", "pendamping"], "active": "y"})
    return w.admin, "users", w.desk.staff.id


def account_disable(w):
    w.as_(w.admin).post(f"/admin/akun/{w.desk.staff.id}", data={"roles": ["petugas"]})
    return w.admin, "users", w.desk.staff.id


def password_change(w):
    w.as_(w.desk.staff).post("/akun/sandi", data={"current_password": PASSWORD, "password": "sandi-baru-123",
                                                   "password2": "sandi-baru-123"})
    return w.desk.staff, "users", w.desk.staff.id


def account_verification(w):
    pending = w.factory.warga(status=AccountStatus.PENDING, ktp=True)
    w.as_(w.desk.staff).post(f"/petugas/akun/{pending.id}/verifikasi", data={"note": "Cocok dengan KTP"})
    return w.desk.staff, "users", pending.id


def account_review_view(w):
    pending = w.factory.warga(status=AccountStatus.PENDING, ktp=True)
    w.as_(w.desk.staff).get(f"/petugas/akun/{pending.id}")
    return w.desk.staff, "users", pending.id


def ktp_view(w):
    pending = w.factory.warga(status=AccountStatus.PENDING, ktp=True)
    w.as_(w.desk.staff).get(f"/petugas/akun/{pending.id}/ktp").close()
    return w.desk.staff, "users", pending.id


def request_submit(w):
    r = w.request()  # submitted by the service, as the resident's form does
    return w.desk.warga, "letter_requests", r.id


def request_transition(w):
    r = w.request()
    w.as_(w.desk.lurah).post(f"/penandatangan/permohonan/{r.tracking_number}/kembalikan",
                             data={"version": r.version, "reason": "Periksa ulang alamat", "note": "Periksa ulang"})
    return w.desk.lurah, "letter_requests", r.id


def staff_views_request(w):
    r = w.request()
    w.as_(w.desk.staff).get(f"/petugas/permohonan/{r.tracking_number}")
    return w.desk.staff, "letter_requests", r.id


def rt_views_request(w):
    r = w.request()
    w.as_(w.rt).get(f"/rt/permohonan/{r.tracking_number}")
    return w.rt, "letter_requests", r.id


def signer_views_request(w):
    r = w.request()
    w.as_(w.desk.lurah).get(f"/penandatangan/permohonan/{r.tracking_number}")
    return w.desk.lurah, "letter_requests", r.id


def signer_preview(w):
    r = w.request()
    w.as_(w.desk.lurah).get(f"/penandatangan/permohonan/{r.tracking_number}/pratinjau.pdf")
    return w.desk.lurah, "letter_requests", r.id


def attachment_view(w):
    r = w.request()
    photo = attachments.store(jpeg_bytes(), requirement_code="kk", owner=w.desk.warga, request=r)
    db.session.commit()
    w.as_(w.desk.staff).get(f"/berkas/{photo.stored_name}").close()
    return w.desk.staff, "letter_requests", r.id


def letter_signing(w):
    letter = w.signed_letter()
    return w.desk.lurah, "letters", letter.id


def letter_revocation(w):
    letter = w.signed_letter()
    w.as_(w.desk.lurah).post(f"/penandatangan/surat/{letter.id}/cabut", data={"alasan": "Salah nama ayah"})
    return w.desk.lurah, "letters", letter.id


def staff_views_letter(w):
    letter = w.signed_letter()
    w.as_(w.desk.staff).get(f"/petugas/surat/{letter.id}")
    return w.desk.staff, "letters", letter.id


def staff_downloads_letter(w):
    letter = w.signed_letter()
    w.as_(w.desk.staff).get(f"/petugas/surat/{letter.id}/unduh")
    return w.desk.staff, "letters", letter.id


def resident_register_view(w):
    w.as_(w.desk.staff).get(f"/petugas/penduduk/{w.desk.warga.resident_id}")
    return w.desk.staff, "residents", w.desk.warga.resident_id


def catalogue_change(w):
    from sempelmas.services.requests import catalogue

    service = catalogue.get_service("domisili")
    resp = w.as_(w.admin).post("/admin/layanan/domisili", data=_form(
        service, name="Surat Keterangan Domisili Baru", description="Keterangan tempat tinggal"))
    assert resp.status_code == 303
    return w.admin, "services", service.id


def template_change(w):
    source = letter_templates.default_source("domisili")
    w.as_(w.admin).post("/admin/templat-surat/domisili", data={"source": source + "\n<!-- ubah -->"})
    return w.admin, "letter_templates", None


def holiday_change(w):
    w.as_(w.admin).post("/admin/libur", data={"date": "2026-08-17", "name": "Hari Kemerdekaan RI"})
    return w.admin, "holidays", None


def official_change(w):
    kasi = w.factory.staff(Role.SIGNER, "kasiaudit")
    w.as_(w.admin).post("/admin/pejabat", data={
        "name": "Drs. X", "position": "kasi", "position_title": "Kasi Pemerintahan", "rank": "Penata (III/c)",
        "nip": "197501012000031009", "user_id": str(kasi.id), "sort_order": "3", "active": "y"})
    return w.admin, "officials", None


def profile_change(w):
    w.as_(w.admin).post("/admin/profil", data=PROFILE, content_type="multipart/form-data")
    return w.admin, "kelurahan_profile", None


def pki_revocation(w):
    cert = db.session.scalar(select(SigningCertificate).where(SigningCertificate.user_id == w.desk.sekretaris.id))
    w.as_(w.admin).post(f"/admin/sertifikat/{cert.id}/cabut", data={"reason": "Pindah tugas"})
    return w.admin, "signing_certificates", cert.id


def pki_passphrase(w):
    w.as_(w.desk.lurah).post("/penandatangan/kunci", data={
        "old_passphrase": LURAH_PASS, "new_passphrase": "passphrase-baru-12345",
        "new_passphrase2": "passphrase-baru-12345"})
    return w.desk.lurah, "signing_certificates", None


def notifier_resend(w):
    m = OutboxMessage(channel="gateway", recipient="+6281234500001", body="Permohonan …",
                      status=OutboxStatus.FAILED, attempts=8, last_error="HTTP 503",
                      next_attempt_at=utcnow() - timedelta(days=1))
    db.session.add(m)
    db.session.commit()
    w.as_(w.admin).post(f"/admin/kotak-keluar/{m.id}/kirim-ulang")
    return w.admin, "outbox_messages", m.id


CASES = [
    (login_ok, "auth.login"), (login_failed, "auth.login_failed"), (logout, "auth.logout"),
    (role_change, "account.role_grant"), (account_disable, "account.disable"),
    (password_change, "account.password_change"), (account_verification, "account.verify"),
    (account_review_view, "account.view"), (ktp_view, "document.view"),
    (request_submit, "request.submit"), (request_transition, "request.send_back"),
    (staff_views_request, "request.view"), (rt_views_request, "request.view"),
    (signer_views_request, "request.view"), (signer_preview, "letter.preview"),
    (attachment_view, "attachment.view"), (letter_signing, "letter.issue"), (letter_revocation, "letter.revoke"),
    (staff_views_letter, "letter.view"), (staff_downloads_letter, "letter.download"),
    (resident_register_view, "register.view"),
    (catalogue_change, "catalogue.update"), (template_change, "letter_template.save"),
    (holiday_change, "holiday.add"), (official_change, "official.create"), (profile_change, "profile.update"),
    (pki_revocation, "pki.certificate_revoked"), (pki_passphrase, "pki.passphrase_changed"),
    (notifier_resend, "outbox.resend"),
]


@pytest.mark.parametrize("drive, action", CASES, ids=[c[0].__name__ for c in CASES])
def test_each_sensitive_action_is_in_the_audit_log(world, drive, action):
    before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0
    actor, object_type, object_id = drive(world)
    audit.chain_views()  # page views wait to be chained in batches (the worker's round does this)
    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.id > before, AuditEntry.action == action)
                                 .order_by(AuditEntry.id)).all()
    assert entries, f"no {action} entry; got {[e.action for e in db.session.scalars(select(AuditEntry))]}"
    entry = entries[-1]
    if actor is not None:
        assert entry.actor_id == actor.id
    if object_type is not None:
        assert entry.object_type == object_type
    if object_id is not None:
        assert entry.object_id == str(object_id)
    assert audit.verify_chain().intact
