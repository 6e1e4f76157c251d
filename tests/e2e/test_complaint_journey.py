"""Journey: someone without an account files a complaint on a phone (a disguised photo first, then a camera
photo), keeps the tracking code; staff find it in the queue, open the photo and answer; the complainant's
tracking page shows the answer with their personal data masked, and the outbox holds their message."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.complaints import Complaint
from sempelmas.models.notifications import OutboxMessage
from tests.conftest import Factory
from tests.e2e.helpers import Actor, photo, query


def test_public_complaint_answered_by_staff_on_phones(browser, browser_context_args, live_app, shots, tmp_path):
    live_app.config.update(NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim", MAIL_SERVER=None)
    with live_app.app_context():
        Factory().staff(Role.STAFF, "petugas1")
    public = Actor(browser.new_context(**browser_context_args), "umum", prefix="complaint-journey")
    staff = Actor(browser.new_context(**browser_context_args), "petugas", prefix="complaint-journey")

    # the public: the footer leads to the form; a "photo" that is not one is refused, the text stays
    page = public.page
    page.goto("/")
    page.get_by_role("link", name="Sampaikan pengaduan").click()
    expect(page).to_have_url(re.compile(r"/pengaduan$"))
    page.get_by_label("Nama").fill("Rina Marlina")
    page.get_by_label("Nomor HP / WhatsApp").fill("0857 1234 5678")
    page.get_by_label("Kategori").select_option("pelayanan")
    page.get_by_label("Judul singkat").fill("Loket tutup jam 10")
    page.get_by_label("Isi pengaduan").fill("Selasa pagi loket pelayanan sudah tutup pukul 10.00.")
    fake = tmp_path / "bukti.jpg"
    fake.write_bytes(b"<html>bukan foto</html>" * 50)
    page.get_by_label("Foto pendukung (boleh kosong)").set_input_files(str(fake))
    page.get_by_role("button", name="Kirim pengaduan").click()
    expect(page.locator("#photo-error")).to_contain_text("Foto bukti.jpg ditolak")
    expect(page.get_by_label("Isi pengaduan")).to_have_value("Selasa pagi loket pelayanan sudah tutup pukul 10.00.")
    public.check_screen(shots, "photo-refused")

    page.get_by_label("Foto pendukung (boleh kosong)").set_input_files(photo(tmp_path / "loket.jpg", (90, 120, 160)))
    page.get_by_role("button", name="Kirim pengaduan").click()
    expect(page.locator("#complaint-received")).to_be_visible()
    code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    expect(page.locator("#complaint-status")).to_have_text("Baru")
    public.check_screen(shots, "filed")
    assert len(query(live_app, select(Complaint.id))) == 1

    # staff: the queue of new complaints, the detail with the photo, the answer
    staff.log_in("petugas1")
    spage = staff.page
    spage.goto("/petugas/")
    spage.get_by_role("link", name="Pengaduan masyarakat").click()
    spage.get_by_role("link", name=re.compile("Loket tutup jam 10")).click()
    expect(spage.get_by_text("Rina Marlina")).to_be_visible()
    expect(spage.get_by_text("+6285712345678")).to_be_visible()
    with spage.context.expect_page() as popup:
        spage.get_by_role("link", name="Lihat foto pendukung").click()
    photo_page = popup.value
    photo_page.wait_for_load_state()
    assert photo_page.evaluate("document.contentType") == "image/jpeg"
    photo_page.close()
    staff.check_screen(shots, "staff-detail")
    spage.get_by_label("Jawaban untuk pengadu").fill("Mohon maaf; mulai minggu ini loket buka sampai 15.30.")
    spage.get_by_label("Status").select_option("close")
    spage.get_by_role("button", name="Simpan dan beri tahu pengadu").click()
    expect(spage.get_by_text("tersimpan; pengadu diberi tahu")).to_be_visible()
    expect(spage.locator("#complaint-status")).to_have_text("Selesai")
    staff.check_screen(shots, "staff-answered")

    # the complainant comes back with the code (typed in lower case, without dashes)
    page.goto("/pengaduan")
    page.get_by_label("Kode pengaduan").fill(code.lower().replace("-", ""))
    page.get_by_role("button", name="Lacak").click()
    expect(page).to_have_url(re.compile(f"/pengaduan/{code}$"))
    expect(page.locator("#complaint-status")).to_have_text("Selesai")
    expect(page.get_by_text("Mohon maaf; mulai minggu ini loket buka sampai 15.30.")).to_be_visible()
    expect(page.get_by_text("R*** M******")).to_be_visible()
    assert "Rina Marlina" not in page.content() and "12345678" not in page.content()
    public.check_screen(shots, "answer-seen")

    [(recipient, body)] = query(live_app, select(OutboxMessage.recipient, OutboxMessage.body))
    assert recipient == "+6285712345678" and "loket buka sampai 15.30" in body
    actions = [a for (a,) in query(live_app, select(AuditEntry.action).where(AuditEntry.action.like("complaint.%"))
                                   .order_by(AuditEntry.id))]
    assert actions == ["complaint.file", "complaint.photo_view", "complaint.answer", "complaint.status"]
    # the refused photo's page answers 422 on purpose; nothing else went wrong in either browser
    assert [e for e in public.errors if "status of 422" not in e] == [] and staff.errors == []
