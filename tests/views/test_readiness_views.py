"""The "Siap melayani" page: admins only, CSRF on every confirmation, each confirmation audited; the banner and
the home card follow admins in production until every step is done, never in development (the demo)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.notifications import OutboxMessage
from sempelmas.services.kelurahan import readiness
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.operations import backup_create
from tests.conftest import csrf_from, jpeg_bytes
from tests.request_factory import make_profile
from tests.signing_setup import configure

PAGE = "/admin/siap"


@pytest.fixture
def admin_client(app, factory, login_as):
    admin = factory.staff(Role.ADMIN, "adm")
    return login_as(admin)


def actions_of(name: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == name)))


@pytest.mark.parametrize("role", [Role.STAFF, Role.SIGNER, Role.RT_HEAD, Role.RESIDENT])
def test_only_admins_open_the_checklist(app, factory, login_as, role):
    client = login_as(factory.user_for_role(role))
    assert client.get(PAGE).status_code in (403, 404)
    assert client.post("/admin/siap/katalog").status_code in (400, 403, 404)


def test_the_page_lists_every_step_with_its_state_and_works_without_js(app, admin_client, tmp_path):
    configure(app, tmp_path)
    make_profile()
    db.session.commit()
    html = admin_client.get(PAGE).get_data(as_text=True)
    assert "Siap melayani" in html and "0 dari 10 langkah selesai" in html
    for s in readiness.all_steps():
        assert s.title in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'name="viewport"' in html


def test_a_kop_preview_shows_the_profile_and_logo(app, admin_client):
    from sempelmas.services.kelurahan import profile as profile_service

    prof = make_profile()
    profile_service.update_profile(prof, {}, (jpeg_bytes(), "image/jpeg"), actor=None)
    db.session.commit()
    html = admin_client.get(PAGE).get_data(as_text=True)
    assert "KELURAHAN JAGALAN" in html and "PEMERINTAH KOTA MOJOKERTO" in html
    assert 'src="data:image/jpeg;base64,' in html


@pytest.mark.parametrize("url", ["/admin/siap/katalog", "/admin/siap/cadangan-ca", "/admin/siap/pesan-uji",
                                 "/admin/siap/periksa-alamat"])
def test_every_confirmation_needs_its_csrf_token(make_app, url):
    from tests.conftest import PASSWORD, Factory

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        Factory().staff(Role.ADMIN, "adm")
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        resp = client.post("/login", data={"identifier": "adm", "password": PASSWORD, "csrf_token": token})
        assert resp.status_code == 302
        assert client.post(url).status_code == 400
        assert not actions_of(readiness.CATALOGUE_REVIEWED) and not actions_of(readiness.TEST_MESSAGE_QUEUED)


def test_catalogue_review_is_audited(app, admin_client):
    token = csrf_from(admin_client.get(PAGE).get_data(as_text=True))
    resp = admin_client.post("/admin/siap/katalog", data={"csrf_token": token})
    assert resp.status_code == 303
    (entry,) = actions_of(readiness.CATALOGUE_REVIEWED)
    assert entry.actor_id is not None


def test_ca_backup_download_then_confirmation_by_upload(app, admin_client, tmp_path):
    import io

    configure(app, tmp_path)
    make_profile()
    letter_ca.init_ca()
    db.session.commit()
    resp = admin_client.get("/admin/siap/cadangan-ca")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    backup_file = resp.data
    assert len(actions_of(readiness.CA_BACKUP_DOWNLOADED)) == 1
    token = csrf_from(admin_client.get(PAGE).get_data(as_text=True))
    wrong = admin_client.post("/admin/siap/cadangan-ca", data={
        "csrf_token": token, "berkas": (io.BytesIO(b"bukan kunci"), "x.pem")}, follow_redirects=True)
    assert "bukan cadangan kunci CA" in wrong.get_data(as_text=True)
    assert not actions_of(readiness.CA_BACKUP_CONFIRMED)
    admin_client.post("/admin/siap/cadangan-ca", data={
        "csrf_token": token, "berkas": (io.BytesIO(backup_file), "cadangan.pem")})
    assert len(actions_of(readiness.CA_BACKUP_CONFIRMED)) == 1
    assert readiness.ca_step().done


def test_test_message_is_queued_on_the_configured_channel_and_audited(app, admin_client):
    app.config.update(MAIL_SERVER="127.0.0.1", NOTIFY_GATEWAY_URL=None)
    token = csrf_from(admin_client.get(PAGE).get_data(as_text=True))
    admin_client.post("/admin/siap/pesan-uji", data={"csrf_token": token, "email": "lurah@jagalan.test"})
    db.session.expire_all()
    (msg,) = db.session.scalars(select(OutboxMessage)).all()
    assert msg.channel == "email" and msg.recipient == "lurah@jagalan.test" and msg.status == "antri"
    (entry,) = actions_of(readiness.TEST_MESSAGE_QUEUED)
    assert entry.details["uids"] == [msg.uid]


def test_healthz_answers_with_this_installs_token(app, client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and readiness.health_token() in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"


def test_production_admins_get_the_card_and_banner_until_done_development_never(app, admin_client, monkeypatch):
    home = admin_client.get("/admin/").get_data(as_text=True)
    assert "Buka daftar Siap melayani" not in home  # development: the demo is not nagged
    assert "belum siap melayani" not in admin_client.get("/admin/profil").get_data(as_text=True)
    app.config["ENV"] = "production"
    home = admin_client.get("/admin/").get_data(as_text=True)
    assert home.index("Buka daftar Siap melayani") < home.index("Administrasi")  # the first card
    assert "belum siap melayani" in admin_client.get("/admin/profil").get_data(as_text=True)
    done = readiness.Step("x", "x", True, "", "admin.home")
    monkeypatch.setattr(readiness, "all_steps", lambda probe=True: [done])
    assert "Buka daftar Siap melayani" not in admin_client.get("/admin/").get_data(as_text=True)
    assert "belum siap melayani" not in admin_client.get("/admin/profil").get_data(as_text=True)
    assert not actions_of(readiness.COMPLETED)
    admin_client.get(PAGE)  # the checklist page finds every step done: recorded once
    admin_client.get(PAGE)
    assert len(actions_of(readiness.COMPLETED)) == 1
    monkeypatch.undo()  # a step regresses later (a backup ages): the page says so, the banner no longer nags
    assert "belum siap melayani" not in admin_client.get("/admin/profil").get_data(as_text=True)
    assert "Belum" in admin_client.get(PAGE).get_data(as_text=True)


def test_the_banner_never_fetches_the_public_address(app, admin_client, monkeypatch):
    app.config.update(ENV="production", PUBLIC_URL="https://layanan.jagalan.go.id")
    readiness.forget_probe()

    def no_network(*_a, **_k):
        raise AssertionError("the banner fetched the address")

    monkeypatch.setattr(readiness.urllib.request, "urlopen", no_network)
    assert "belum siap melayani" in admin_client.get("/admin/profil").get_data(as_text=True)
    step = readiness.public_url_step(probe=False)
    assert not step.done and "belum diperiksa" in step.reason


def test_production_banner_is_for_admins_only(app, factory, login_as):
    app.config["ENV"] = "production"
    client = login_as(factory.staff(Role.STAFF, "ptg"))
    assert "belum siap melayani" not in client.get("/petugas/").get_data(as_text=True)


def test_cli_dry_run_restore_changes_nothing_and_is_recorded(app, factory, runner, tmp_path):
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=14, BACKUP_COPY_TARGET=None,
                      BACKUP_COPY_KEEP=None)
    factory.resident()
    made = backup_create.create_backup()
    db.session.commit()
    result = runner.invoke(args=["backup", "restore", str(made.path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Uji pemulihan berhasil" in result.output
    assert len(actions_of(readiness.RESTORE_DRY_RUN)) == 1
    assert not actions_of("backup.restore")
