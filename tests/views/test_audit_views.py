"""The admin's audit log browser: newest first, filters, keyset pages, htmx partials, the chain check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.services.accountability import audit, audit_browse
from tests.request_factory import make_profile

HX = {"HX-Request": "true"}


def entry(action, *, actor=None, on_behalf_of=None, at=None, ip=None, object_type=None, object_id=None, **details):
    e = audit.record(action, actor=actor, on_behalf_of=on_behalf_of, object_type=object_type,
                     object_id=object_id, **details)
    if at:
        e.created_at = at
    if ip:
        e.ip = ip
    db.session.flush()
    return e


def setup_log(factory):
    make_profile()
    admin = factory.staff(Role.ADMIN, "kepala")
    staff = factory.staff(Role.STAFF, "petugas1")
    warga = factory.warga(name="SITI AMINAH")
    entry("auth.login", actor=staff, at=datetime(2026, 3, 4, 1, 0), ip="192.0.2.10", object_type="users",
          object_id=staff.id)
    entry("letter.revoke", actor=staff, on_behalf_of=None, at=datetime(2026, 3, 5, 23, 30), ip="192.0.2.11",
          object_type="letters", object_id=7, number="470/001/2026", reason="Salah nama")
    entry("request.view", actor=staff, at=datetime(2026, 3, 6, 2, 0), ip="192.0.2.10",
          object_type="letter_requests", object_id=3, tracking_number="JGL-2026-000003")
    entry("request.submit", actor=warga, on_behalf_of=warga, at=datetime(2026, 3, 7, 2, 0), ip="198.51.100.5",
          object_type="letter_requests", object_id=3)
    db.session.commit()
    return admin, staff, warga


def rows(html: str) -> list[str]:
    return [a for a in ("auth.login", "letter.revoke", "request.view", "request.submit") if f"<code>{a}</code>" in html]


def test_admin_sees_who_what_when_where_newest_first_with_labels(client, factory, login_as):
    admin, staff, warga = setup_log(factory)
    login_as(admin)
    resp = client.get("/admin/audit")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "private, no-store"
    # newest first (the admin's own login is the newest of all)
    assert html.index("<code>auth.login</code>") < html.index("<code>request.submit</code>") \
        < html.index("<code>request.view</code>") < html.index("<code>letter.revoke</code>")
    assert "Surat dicabut" in html and "Permohonan diajukan" in html and "Permohonan dilihat" in html
    assert "Pengguna petugas1" in html and "(petugas1)" in html
    assert "Siti Aminah" in html and warga.resident.nik in html  # for whom, in the admin's page
    assert "192.0.2.11" in html and "Salah nama" in html and "470/001/2026" in html
    # 23:30 UTC on the 5th is 06:30 WIB on the 6th, in the profile's time zone
    assert "6 Maret 2026 06.30 WIB" in html
    assert 'action="/admin/audit/periksa"' in html


def test_filters_by_action_prefix_actor_object_ip_and_dates(client, factory, login_as):
    admin, staff, warga = setup_log(factory)
    login_as(admin)
    assert rows(client.get("/admin/audit?aksi=request.").get_data(as_text=True)) == ["request.view", "request.submit"]
    assert rows(client.get("/admin/audit?aksi=letter").get_data(as_text=True)) == ["letter.revoke"]
    assert rows(client.get("/admin/audit?jenis=letter_requests&objek=3").get_data(as_text=True)) == [
        "request.view", "request.submit"]
    assert rows(client.get("/admin/audit?ip=192.0.2.10").get_data(as_text=True)) == ["auth.login", "request.view"]
    # dates are the profile's local days: the 23:30 UTC entry belongs to 6 March WIB
    assert rows(client.get("/admin/audit?dari=2026-03-06&sampai=2026-03-06").get_data(as_text=True)) == [
        "letter.revoke", "request.view"]
    by_name = client.get("/admin/audit?pelaku=PETUGAS1")
    assert by_name.status_code == 303 and by_name.location == f"/admin/audit?pelaku_id={staff.id}"
    html = client.get(by_name.location).get_data(as_text=True)
    assert rows(html) == ["auth.login", "letter.revoke", "request.view"] and 'value="petugas1"' in html


def test_an_actor_given_by_nik_leaves_the_address_bar_as_an_account_id(client, factory, login_as):
    admin, staff, warga = setup_log(factory)
    login_as(admin)
    resp = client.get(f"/admin/audit?pelaku={warga.resident.nik}&aksi=request")
    assert resp.status_code == 303 and warga.resident.nik not in resp.location
    assert f"pelaku_id={warga.id}" in resp.location and "aksi=request" in resp.location
    assert rows(client.get(resp.location).get_data(as_text=True)) == ["request.submit"]
    # htmx: the fragment at once, and the cleaned address for the history
    frag = client.get(f"/admin/audit?pelaku={warga.resident.nik}", headers=HX)
    assert frag.status_code == 200 and "<html" not in frag.get_data(as_text=True)
    pushed = frag.headers["HX-Push-Url"]
    assert warga.resident.nik not in pushed and f"pelaku_id={warga.id}" in pushed


def test_bad_filters_get_a_clear_message(client, factory, login_as):
    admin, *_ = setup_log(factory)
    login_as(admin)
    resp = client.get("/admin/audit?pelaku=tidakada&dari=kemarin")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Tidak ada akun dengan nama pengguna atau NIK itu." in html
    assert "Tanggal tidak valid" in html and "Tidak ada entri yang cocok." in html
    later = client.get("/admin/audit?dari=2026-03-07&sampai=2026-03-01").get_data(as_text=True)
    assert "Tanggal akhir sebelum tanggal awal." in later


def test_pages_go_back_in_time_by_keyset_with_plain_links_and_htmx(client, factory, login_as, monkeypatch):
    admin, *_ = setup_log(factory)
    monkeypatch.setattr(audit_browse, "PAGE_SIZE", 2)
    login_as(admin)
    first = client.get("/admin/audit?aksi=re").get_data(as_text=True)
    assert rows(first) == ["request.view", "request.submit"]
    submit_id = db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "request.submit"))
    assert "sebelum=" not in first  # two matches on a page of two: nothing older
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert rows(everything) == ["auth.login", "request.submit"]  # the admin's own login, then the newest
    link = f"/admin/audit?sebelum={submit_id}"
    assert f'href="{link}"' in everything and f'hx-get="{link}"' in everything
    older = client.get(link, headers=HX)
    html = older.get_data(as_text=True)
    assert "<html" not in html and 'id="results"' not in html  # just the block, for the swap
    assert rows(html) == ["letter.revoke", "request.view"] and "Terbaru" in html
    view_id = db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "letter.revoke"))
    last = client.get(f"/admin/audit?sebelum={view_id}").get_data(as_text=True)
    assert rows(last) == ["auth.login"] and "Lebih lama" not in last
    filtered = client.get(f"/admin/audit?aksi=request&sebelum={submit_id}").get_data(as_text=True)
    assert rows(filtered) == ["request.view"]


def test_the_chain_check_button_reports_intact_and_audits_itself(client, factory, login_as):
    admin, *_ = setup_log(factory)
    login_as(admin)
    html = client.post("/admin/audit/periksa").get_data(as_text=True)
    assert "Rantai utuh" in html
    checked = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.verify"))
    before = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == checked.seq - 1))
    assert f"<code>{before.seq}:{before.entry_hash}</code>" in html and "Jangkar untuk disimpan" in html
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.verify")).details["intact"]


def test_the_chain_check_button_names_a_tampered_entry(client, factory, login_as):
    admin, staff, _ = setup_log(factory)
    victim = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "letter.revoke"))
    db.session.execute(text("UPDATE audit_log SET details = :d WHERE id = :id"),
                       {"d": '{"number": "470/001/2026", "reason": "Permintaan warga"}', "id": victim.id})
    db.session.commit()
    login_as(admin)
    html = client.post("/admin/audit/periksa").get_data(as_text=True)
    assert "Log audit rusak." in html and f"Entri #{victim.id}" in html and "telah diubah" in html
    assert "6 Maret 2026 06.30 WIB" in html


def test_the_chain_check_button_reports_a_deleted_head_on_record_and_the_anchor(client, factory, login_as):
    admin, *_ = setup_log(factory)
    db.session.execute(text("DELETE FROM audit_chain_head"))
    db.session.commit()
    login_as(admin)  # the login is audited: the missing head is recorded in the chain
    html = client.post("/admin/audit/periksa").get_data(as_text=True)
    assert "Log audit rusak." in html and "Kepala rantai audit pernah hilang" in html
    last = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    # the check itself is the newest entry now; the anchor shown is of the log as it was checked
    assert last.action == "audit.verify" and last.details["breaks"] == 1
    before = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == last.seq - 1))
    assert f"<code>{before.seq}:{before.entry_hash}</code>" in html


def test_a_big_log_is_left_to_the_cli(make_app, factory):
    app = make_app(AUDIT_VERIFY_WEB_MAX=2)
    with app.app_context():
        admin, *_ = setup_log(factory)
        c = app.test_client()
        c.post("/login", data={"identifier": admin.username, "password": "rahasia-123"})
        page = c.get("/admin/audit").get_data(as_text=True)
        assert "flask --app app audit-verify" in page and 'action="/admin/audit/periksa"' not in page
        refused = c.post("/admin/audit/periksa").get_data(as_text=True)
        assert "Log terlalu besar" in refused


def test_a_page_view_waiting_to_be_chained_shows_in_the_browser(client, factory, login_as):
    from sempelmas.models.audit import PendingView
    from tests.request_factory import make_service, submit

    admin, staff, warga = setup_log(factory)
    make_service()
    viewed = submit(warga)
    db.session.commit()
    login_as(staff)
    assert client.get(f"/petugas/permohonan/{viewed.tracking_number}").status_code == 200
    assert len(db.session.scalars(select(PendingView)).all()) == 1  # kept at once, not chained yet
    login_as(admin)
    html = client.get(f"/admin/audit?aksi=request.view&jenis=letter_requests&objek={viewed.id}").get_data(as_text=True)
    assert rows(html) == ["request.view"] and "(petugas1)" in html
    assert db.session.scalars(select(PendingView)).all() == [] and audit.verify_chain().intact


def test_every_action_the_code_records_reads_as_words_on_the_audit_page():
    """The admin reads the log in words: every action the code records (found where it calls audit.record /
    record_view with a literal action) has a label, so none shows up as a bare code such as "webhook.delete"."""
    import re
    from pathlib import Path

    from sempelmas.services.accountability.audit_browse import action_label

    root = Path(__file__).resolve().parents[2] / "sempelmas"
    literal = re.compile(r'record(?:_view)?\(\s*"([a-z_]+\.[a-z_]+)"(?!\s*\+)')  # not "account.role_" + …
    actions = {m.group(1) for path in root.rglob("*.py") for m in literal.finditer(path.read_text(encoding="utf-8"))}
    assert {"webhook.delete", "api_client.create", "register.api_upsert", "question.post"} <= actions
    assert [a for a in sorted(actions) if action_label(a) == a] == []
