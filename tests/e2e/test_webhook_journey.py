"""Journey: the admin, on a 360 px phone, subscribes a city system's receiver (on 127.0.0.1, verifying with the
standardwebhooks library), copies the secret shown once, sees the delivery in the log, pauses and resumes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.operations import delivery, webhooks
from tests.conftest import PASSWORD, Factory
from tests.e2e.test_account_journey import NO_SIDEWAYS_SCROLL, log_in
from tests.webhook_receiver import Receiver


def test_admin_subscribes_a_receiver_and_follows_its_deliveries(page: Page, live_app, shots):
    page_errors: list[str] = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    page.on("dialog", lambda dialog: dialog.accept())
    receiver = Receiver().start()
    try:
        with live_app.app_context():
            username = Factory().staff(Role.ADMIN, "adminwebhook").username
            db.session.commit()
            db.session.remove()
        log_in(page, username, PASSWORD)
        page.goto("/admin/")
        page.get_by_role("link", name="Webhook", exact=True).click()
        expect(page.get_by_role("heading", name="Webhook: peristiwa untuk sistem kota")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        page.get_by_label("Alamat endpoint (https://…)").fill(receiver.url)
        page.get_by_label("Keterangan (mis. nama sistem penerima)").fill("Dasbor kecamatan")
        page.get_by_label("Surat ditandatangani").check()
        page.get_by_label("Pengaduan masuk").check()
        page.get_by_role("button", name="Simpan dan tampilkan rahasia").click()
        secret = page.get_by_label("Rahasia", exact=True).input_value()
        assert secret.startswith("whsec_")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        shots(page, "webhook-secret")
        receiver.secret = secret

        with live_app.app_context():
            webhooks.emit("complaint.created", {"complaint_id": 5, "code": "ADU-5", "status": "baru"})
            db.session.commit()
            assert delivery.deliver_due()["sent"] == 1
            db.session.remove()
        assert len(receiver.verified) == 1

        page.get_by_role("link", name="Ke log pengiriman endpoint").click()
        expect(page.get_by_text("HTTP 200")).to_be_visible()
        expect(page.get_by_text(secret)).to_have_count(0)
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        shots(page, "webhook-log")

        page.get_by_role("button", name="Jeda pengiriman").click()
        expect(page.get_by_role("alert")).to_contain_text("Dijeda sejak")
        with live_app.app_context():
            webhooks.emit("complaint.created", {"complaint_id": 6, "code": "ADU-6", "status": "baru"})
            db.session.commit()
            assert delivery.deliver_due()["sent"] == 0
            db.session.remove()
        page.reload()
        expect(page.get_by_role("cell", name="Status ditahan")).to_be_visible()
        page.get_by_role("button", name="Lanjutkan pengiriman").click()
        expect(page.get_by_text("1 peristiwa yang ditahan diantrekan")).to_be_visible()
        with live_app.app_context():
            assert delivery.deliver_due()["sent"] == 1
            db.session.remove()
        assert sorted(p["data"]["complaint_id"] for p in receiver.unique().values()) == [5, 6]

        # edit: an empty event list is refused in Indonesian, nothing saved; then a description and another event
        page.get_by_role("link", name="Ubah alamat, keterangan atau peristiwa; hapus endpoint").click()
        page.get_by_label("Pengaduan masuk").uncheck()
        page.get_by_label("Surat ditandatangani").uncheck()
        page.get_by_role("button", name="Simpan perubahan").click()
        expect(page.get_by_text("Pilih setidaknya satu jenis peristiwa.")).to_be_visible()
        page.get_by_label("Pengaduan dijawab").check()
        page.get_by_label("Keterangan (mis. nama sistem penerima)").fill("Dasbor kecamatan")
        page.get_by_role("button", name="Simpan perubahan").click()
        expect(page.get_by_text("Perubahan endpoint disimpan.")).to_be_visible()
        expect(page.get_by_text("Dasbor kecamatan")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)

        # delete: the box must be ticked; then it is gone from the list and nothing more is sent to it
        page.get_by_role("link", name="Ubah alamat, keterangan atau peristiwa; hapus endpoint").click()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        shots(page, "webhook-edit")
        page.get_by_role("button", name="Hapus endpoint").click()
        expect(page.get_by_text("Centang kotak konfirmasi untuk menghapus endpoint.")).to_be_visible()
        page.get_by_label("Saya mengerti", exact=False).check()
        page.get_by_role("button", name="Hapus endpoint").click()
        expect(page.get_by_text("Belum ada endpoint.")).to_be_visible()
        with live_app.app_context():
            webhooks.emit("complaint.answered", {"complaint_id": 5})
            db.session.commit()
            assert delivery.deliver_due()["sent"] == 0
            db.session.remove()
        assert page_errors == []
    finally:
        receiver.stop()
