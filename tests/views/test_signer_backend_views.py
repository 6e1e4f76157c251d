"""The admin chooses each official's signer backend (BSrE offered only with a configured gateway) and checks
their BSrE status; the signer's pages offer what the backend supports (TOTP for BSrE v2, no batch, no key page)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter
from sempelmas.models.profile import Official
from tests import esign_fake
from tests.bsre_setup import configure_bsre, use_bsre
from tests.conftest import PASSWORD, csrf_from
from tests.signing_setup import Desk, configure


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    return Desk(factory)


def _official_form(o: Official, **changes) -> dict:
    data = {"name": o.name, "position": o.position, "position_title": o.position_title, "rank": o.rank or "",
            "nip": o.nip or "", "user_id": str(o.user_id or 0), "sort_order": str(o.sort_order), "active": "y",
            "signing_backend": o.signing_backend, "bsre_nik": o.bsre_nik or ""}
    return {**data, **changes}


def test_bsre_is_offered_only_when_the_gateway_is_configured(app, client, desk, factory, login_as, tmp_path,
                                                             esign_gateway):
    login_as(factory.staff(Role.ADMIN, "adm"))
    url = f"/admin/pejabat/{desk.lurah_official.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="bsre"' not in page and "ESIGN_URL" in page
    refused = client.post(url, data=_official_form(desk.lurah_official, signing_backend="bsre"))
    assert refused.status_code == 422  # not a choice without a gateway
    configure_bsre(app, tmp_path, esign_gateway)
    assert 'value="bsre"' in client.get(url).get_data(as_text=True)
    bad = client.post(url, data=_official_form(desk.lurah_official, signing_backend="bsre", bsre_nik="1234"))
    assert bad.status_code == 422 and "NIK 16 digit" in bad.get_data(as_text=True)
    ok = client.post(url, data=_official_form(desk.lurah_official, signing_backend="bsre", bsre_nik=esign_fake.NIK))
    assert ok.status_code == 303
    db.session.expire_all()
    official = db.session.get(Official, desk.lurah_official.id)
    assert (official.signing_backend, official.bsre_nik) == ("bsre", esign_fake.NIK)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "official.update")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.details["changes"]["signing_backend"] == ["local", "bsre"]
    assert esign_fake.NIK not in str(entry.details)  # the NIK masked in the audit log
    assert entry.details["changes"]["bsre_nik"][1].startswith(esign_fake.NIK[:4])


def test_the_admin_checks_an_officials_bsre_status_audited(app, client, desk, factory, login_as, tmp_path,
                                                          esign_gateway):
    configure_bsre(app, tmp_path, esign_gateway)
    use_bsre(desk.lurah_official)
    login_as(factory.staff(Role.ADMIN, "adm"))
    resp = client.post(f"/admin/pejabat/{desk.lurah_official.id}/cek-bsre")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="bsre-status"' in page and "aktif" in page
    esign_gateway.users[esign_fake.NIK].status = "EXPIRED"
    page = client.post(f"/admin/pejabat/{desk.lurah_official.id}/cek-bsre").get_data(as_text=True)
    assert "tidak aktif" in page
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "official.bsre_status")
                               .order_by(AuditEntry.id)).all()
    assert [e.details["active"] for e in entries] == [True, False]


@pytest.mark.parametrize("role", [Role.SIGNER, Role.STAFF])
def test_only_the_admin_may_check_a_bsre_status(client, desk, factory, login_as, role):
    user = desk.lurah if role == Role.SIGNER else desk.staff
    login_as(user)
    resp = client.post(f"/admin/pejabat/{desk.lurah_official.id}/cek-bsre")
    assert resp.status_code in (302, 403)
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action == "official.bsre_status")).all()


def test_the_status_check_and_the_backend_choice_need_csrf(make_app, factory, tmp_path, esign_gateway):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        configure(app, tmp_path)
        configure_bsre(app, tmp_path, esign_gateway)
        desk = Desk(factory)
        admin = factory.staff(Role.ADMIN, "adm-csrf")
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"identifier": admin.username, "password": PASSWORD, "csrf_token": token})
        url = f"/admin/pejabat/{desk.lurah_official.id}"
        assert client.post(f"{url}/cek-bsre").status_code == 400
        refused = client.post(url, data=_official_form(desk.lurah_official, signing_backend="bsre",
                                                       bsre_nik=esign_fake.NIK))
        assert refused.status_code in (400, 422)
        db.session.expire_all()
        assert db.session.get(Official, desk.lurah_official.id).signing_backend == "local"
        token = csrf_from(client.get(url).get_data(as_text=True))
        ok = client.post(url, data=_official_form(desk.lurah_official, signing_backend="bsre",
                                                  bsre_nik=esign_fake.NIK, csrf_token=token))
        assert ok.status_code == 303
        assert client.post(f"{url}/cek-bsre", data={"csrf_token": token}).status_code == 200


def test_the_signer_pages_offer_what_bsre_supports(app, client, desk, login_as, tmp_path, esign_gateway):
    configure_bsre(app, tmp_path, esign_gateway)
    (request,) = desk.awaiting(1)
    login_as(desk.lurah)
    local_queue = client.get("/penandatangan/").get_data(as_text=True)
    assert 'name="selected"' in local_queue and 'id="no-batch"' not in local_queue
    assert 'name="totp"' not in client.get(f"/penandatangan/permohonan/{request.tracking_number}").get_data(
        as_text=True)
    use_bsre(desk.lurah_official)
    queue = client.get("/penandatangan/").get_data(as_text=True)
    assert 'id="no-batch"' in queue and 'name="selected"' not in queue and "BSrE" in queue
    detail = client.get(f"/penandatangan/permohonan/{request.tracking_number}").get_data(as_text=True)
    assert 'name="totp"' in detail and 'name="passphrase"' in detail
    key = client.get("/penandatangan/kunci").get_data(as_text=True)
    assert 'id="bsre-key"' in key and 'name="new_passphrase"' not in key and 'name="passphrase2"' not in key
    assert client.post("/penandatangan/kunci", data={}).status_code == 303
    app.config["ESIGN_API_VERSION"] = "v1"  # v1 knows no TOTP
    detail = client.get(f"/penandatangan/permohonan/{request.tracking_number}").get_data(as_text=True)
    assert 'name="totp"' not in detail


def test_a_bsre_official_signs_with_a_totp_from_the_letter_page(app, client, desk, login_as, tmp_path,
                                                                esign_gateway):
    configure_bsre(app, tmp_path, esign_gateway)
    use_bsre(desk.lurah_official)
    (request,) = desk.awaiting(1)
    login_as(desk.lurah)
    url = f"/penandatangan/permohonan/{request.tracking_number}/tanda-tangan"
    wrong = client.post(url, data={"version": request.version, "passphrase": "salah-sekali"})
    assert wrong.status_code == 422 and "salah" in wrong.get_data(as_text=True).lower()
    empty = client.post(url, data={"version": request.version})
    assert empty.status_code == 422 and db.session.scalar(select(Letter)) is None
    esign_gateway.stop()
    down = client.post(url, data={"version": request.version, "passphrase": esign_fake.PASSPHRASE})
    assert down.status_code == 503 and db.session.scalar(select(Letter)) is None
    esign_gateway.start()
    ok = client.post(url, data={"version": request.version, "totp": esign_gateway.totp_now()})
    assert ok.status_code == 303
    letter = db.session.scalar(select(Letter))
    assert letter is not None and letter.sequence == 1
    sent = [r for r in esign_gateway.requests if r.path.endswith("/sign/pdf")][-1]
    assert sent.fields.get("totp") and not sent.fields.get("passphrase")


def test_batch_signing_by_a_bsre_official_is_refused_with_the_reason(app, client, desk, login_as, tmp_path,
                                                                     esign_gateway):
    configure_bsre(app, tmp_path, esign_gateway)
    use_bsre(desk.lurah_official)
    requests = desk.awaiting(2)
    login_as(desk.lurah)
    resp = client.post("/penandatangan/tanda-tangan", data={"selected": [r.tracking_number for r in requests],
                                                            "passphrase": esign_fake.PASSPHRASE})
    assert resp.status_code == 409 and "BSrE" in resp.get_data(as_text=True)
    assert db.session.scalar(select(Letter)) is None


def test_the_verification_page_checks_a_bsre_letter_against_the_bsre_root(app, client, desk, tmp_path,
                                                                          esign_gateway):
    import io

    from sempelmas.services.letters import issuing
    from sempelmas.services.letters import store as letter_store

    configure_bsre(app, tmp_path, esign_gateway)
    use_bsre(desk.lurah_official)
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, esign_fake.PASSPHRASE)
    data = letter_store.read_pdf(letter)

    def check(pdf: bytes) -> str:
        resp = client.post(f"/v/{letter.verify_code}", data={"berkas": (io.BytesIO(pdf), "surat.pdf")},
                           content_type="multipart/form-data")
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    assert client.get(f"/v/{letter.verify_code}").status_code == 200
    html = check(data)
    assert "sama persis" in html and "Tanda tangan elektronik sah." in html
    tampered = esign_fake.flip_signed_byte(data)
    assert "Tanda tangan elektronik tidak sah." in check(tampered)
    app.config["ESIGN_TRUST_ROOTS"] = ""  # without the BSrE root the kelurahan CA alone does not vouch for it
    assert "Tanda tangan elektronik sah." not in check(data)


def test_a_bsre_official_is_offered_the_replacement_form(app, client, desk, login_as, tmp_path, esign_gateway):
    """A BSrE official has no kelurahan-CA certificate, yet signs: the replacement form is theirs too."""
    from sempelmas.services.letters import certificates as letter_certs
    from sempelmas.services.letters import issuing

    configure_bsre(app, tmp_path, esign_gateway)
    # moved to BSrE, their kelurahan-CA certificate revoked (or never made): BSrE holds their key
    letter_certs.revoke_certificate(letter_certs.active_certificate(desk.lurah), desk.lurah, "Pindah ke BSrE")
    use_bsre(desk.lurah_official)
    (request,) = desk.awaiting(1)
    old = issuing.issue_letter(request, desk.lurah, esign_fake.PASSPHRASE)
    db.session.commit()
    login_as(desk.lurah)
    url = f"/penandatangan/permohonan/{request.tracking_number}"
    page = client.get(url).get_data(as_text=True)
    assert f'action="{url}/ganti"' in page and 'name="totp"' in page
    resp = client.post(f"{url}/ganti", data={"reason": "Alamat keliru", "totp": esign_gateway.totp_now()})
    assert resp.status_code == 303
    db.session.expire_all()
    letters = db.session.scalars(select(Letter).order_by(Letter.id)).all()
    assert [letter.status for letter in letters] == ["diganti", "sah"] and letters[0].id == old.id
    assert letters[1].signing_backend == "bsre"
