"""Request documents: photos re-encoded, PDFs checked by content, disguised files refused, nothing half-saved."""

import io

import pytest
from PIL import Image

from sempelmas.extensions import db
from sempelmas.models.requests import RequestAttachment
from sempelmas.services.files.uploads import UploadError, upload_dir
from sempelmas.services.requests import attachments
from tests.conftest import jpeg_bytes
from tests.failing_commit import fail_commit_number


def pdf_bytes(pages: int = 2) -> bytes:
    images = [Image.new("RGB", (300, 400), (255, 255, 255)) for _ in range(pages)]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:])
    return buf.getvalue()


def stored_files(app):
    folder = upload_dir(attachments.KIND)
    return sorted(p.name for p in folder.iterdir())


def test_photo_is_reencoded_without_gps_and_stored_as_a_draft(app, factory):
    owner = factory.warga()
    att = attachments.store(jpeg_bytes(size=(3000, 1500), exif_gps=True), requirement_code="kk", owner=owner,
                            draft_key="k1")
    db.session.commit()
    assert att.mime == "image/jpeg" and att.request_id is None and att.draft_key == "k1"
    with Image.open(attachments.path_of(att)) as img:
        assert max(img.size) == 2000
        assert not img.getexif().get_ifd(0x8825)
        assert img.getexif().get(0x010F) is None


def test_real_pdf_is_kept_as_is(app, factory):
    owner = factory.warga()
    data = pdf_bytes()
    att = attachments.store(data, requirement_code="surat_rs", owner=owner, draft_key="k2")
    assert att.is_pdf and attachments.path_of(att).read_bytes() == data


@pytest.mark.parametrize(("data", "message"), [
    (b"#!/bin/sh\nrm -rf /\n", "tidak dikenali"),
    (b"%PDF-1.7\n<script>alert(1)</script>\n", "PDF rusak"),
    (b"", "kosong"),
    (jpeg_bytes()[:200], "tidak dikenali"),
])
def test_disguised_or_broken_files_are_refused_and_nothing_is_stored(app, factory, data, message):
    owner = factory.warga()
    with pytest.raises(UploadError, match=message):
        attachments.store(data, requirement_code="kk", owner=owner, draft_key="k3")
    assert stored_files(app) == []
    assert db.session.query(RequestAttachment).count() == 0


def test_oversized_file_is_refused(make_app, factory):
    app = make_app(UPLOAD_MAX_BYTES=50_000)
    with app.app_context():
        owner = factory.warga()
        with pytest.raises(UploadError, match="terlalu besar"):
            attachments.store(b"%PDF-" + b"0" * 60_000, requirement_code="kk", owner=owner, draft_key="k4")


def test_decompression_bomb_is_refused(app, factory):
    owner = factory.warga()
    buf = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buf, "PNG")  # a few KB that would decode to 900 megapixels
    with pytest.raises(UploadError):
        attachments.store(buf.getvalue(), requirement_code="kk", owner=owner, draft_key="k5")
    assert stored_files(app) == []


def test_uploads_of_forms_never_sent_are_purged_after_two_days(app, factory):
    from datetime import timedelta

    from sempelmas.models.base import utcnow
    from tests import request_factory as rf

    owner = factory.warga()
    old = attachments.store(jpeg_bytes(), requirement_code="kk", owner=owner, draft_key="old")
    old.uploaded_at = utcnow() - timedelta(days=3)
    fresh = attachments.store(jpeg_bytes(), requirement_code="kk", owner=owner, draft_key="fresh")
    rf.make_profile()
    rf.make_service()
    request = rf.submit(owner, key="sent")
    sent = attachments.store(jpeg_bytes(), requirement_code="kk", owner=owner, request=request)
    sent.uploaded_at = utcnow() - timedelta(days=30)
    db.session.commit()
    old_path = attachments.path_of(old)

    assert attachments.purge_abandoned_drafts() == 1
    assert not old_path.exists()
    remaining = {a.stored_name for a in db.session.query(RequestAttachment)}
    assert remaining == {fresh.stored_name, sent.stored_name}
    assert attachments.path_of(fresh) and attachments.path_of(sent)


def _abandoned_drafts(factory) -> tuple[list[RequestAttachment], RequestAttachment]:
    """Three drafts of two forms never sent (two accounts), three days old, and one fresh draft."""
    from datetime import timedelta

    from sempelmas.models.base import utcnow

    siti = factory.warga(name="SITI AMINAH", female=True)
    budi = factory.warga(name="BUDI SANTOSO")
    old = [attachments.store(jpeg_bytes(), requirement_code=code, owner=owner, draft_key=key)
           for owner, code, key in ((siti, "kk", "form-siti"), (siti, "ktp", "form-siti"), (budi, "kk", "form-budi"))]
    for a in old:
        a.uploaded_at = utcnow() - timedelta(days=3)
    fresh = attachments.store(jpeg_bytes(), requirement_code="kk", owner=budi, draft_key="form-budi-new")
    db.session.commit()
    return old, fresh


def _purge_entries() -> list[dict]:
    from sqlalchemy import select

    from sempelmas.models.audit import AuditEntry

    db.session.rollback()
    return [e.details for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "upload.drafts_purged").order_by(AuditEntry.id))]


def test_purging_abandoned_drafts_is_audited_per_batch_with_counts_and_no_personal_data(app, factory, monkeypatch):
    import json

    from sempelmas.services.accountability import audit

    monkeypatch.setattr(attachments, "PURGE_BATCH", 2)
    old, fresh = _abandoned_drafts(factory)
    from sempelmas.models.accounts import User

    niks = [db.session.get(User, a.owner_user_id).resident.nik for a in old]
    secrets = [a.stored_name for a in old] + ["form-siti", "form-budi", "SITI", "BUDI", *niks]
    size = sum(a.size for a in old)

    assert attachments.purge_abandoned_drafts() == 3
    entries = _purge_entries()
    assert [(e["batch"], e["files"]) for e in entries] == [(1, 2), (2, 1)]
    assert len({e["run_started"] for e in entries}) == 1
    assert sum(e["bytes"] for e in entries) == size
    assert entries[0]["by_requirement"] == {"kk": 1, "ktp": 1} and entries[1]["by_requirement"] == {"kk": 1}
    assert (entries[0]["forms"], entries[0]["accounts"], entries[1]["accounts"]) == (1, 1, 1)
    assert entries[0]["max_age_days"] == 2
    logged = json.dumps(entries)
    assert not [s for s in secrets if s in logged]
    assert audit.verify_chain().intact
    # nothing due: no entry (the worker runs it hourly)
    assert attachments.purge_abandoned_drafts() == 0 and len(_purge_entries()) == 2
    assert attachments.path_of(fresh) is not None


def test_a_purge_stopped_midway_has_an_audit_entry_for_every_batch_it_deleted(app, factory, monkeypatch):
    """As retention: the second batch's commit fails (a kill is the same), the first batch stays deleted and
    audited, its files gone; the second batch's rows and files stay for the next run."""
    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(attachments, "PURGE_BATCH", 2)
    old, _fresh = _abandoned_drafts(factory)
    names = [a.stored_name for a in old]
    fail_commit_number(monkeypatch, 2)
    with pytest.raises(OperationalError):
        attachments.purge_abandoned_drafts()
    monkeypatch.undo()
    db.session.rollback()
    [entry] = _purge_entries()
    assert entry["files"] == 2
    left = {a.stored_name for a in db.session.query(RequestAttachment)}
    assert names[2] in left and not left & set(names[:2])
    assert [n for n in names if (upload_dir(attachments.KIND) / n).exists()] == [names[2]]
    assert attachments.purge_abandoned_drafts() == 1
    assert [e["files"] for e in _purge_entries()] == [2, 1]


def test_a_pdf_with_2000_revisions_is_refused_from_a_count_of_its_bytes(app, factory):
    from tests.hostile_files import pdf_with_empty_updates

    owner = factory.warga()
    with pytest.raises(UploadError, match="2001 lapis perubahan \\(revisi\\), paling banyak 50"):
        attachments.store(pdf_with_empty_updates(pdf_bytes(1), 2000), requirement_code="kk", owner=owner,
                          draft_key="k6")
    assert stored_files(app) == []


def test_a_small_pdf_that_is_slow_to_parse_is_refused_at_the_budget(app, factory):
    """77 KB that pass the counts but take pypdf ~12 s and ~200 MB: the parse is stopped in its child."""
    from tests.hostile_files import pdf_with_inflating_update
    from tests.letter_fixtures import signed_pdf

    app.config["UPLOAD_PDF_CHECK_SECONDS"] = 1.0
    owner = factory.warga()
    with pytest.raises(UploadError, match="membacanya memerlukan waktu atau memori melebihi batas"):
        attachments.store(pdf_with_inflating_update(signed_pdf(), 70), requirement_code="kk", owner=owner,
                          draft_key="k7")
    assert stored_files(app) == [] and db.session.query(RequestAttachment).count() == 0
    # the worker goes on: an ordinary PDF right after
    assert attachments.store(pdf_bytes(), requirement_code="kk", owner=owner, draft_key="k7").is_pdf


def test_an_mpo_photo_is_stored_as_its_first_picture(app, factory):
    from tests.hostile_files import mpo_photo

    att = attachments.store(mpo_photo(), requirement_code="ktp", owner=factory.warga(), draft_key="k8")
    assert att.mime == "image/jpeg"
    with Image.open(attachments.path_of(att)) as img:
        assert img.getpixel((5, 5))[0] > 200


def _noise_image(size, seed=1) -> Image.Image:
    import random

    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def test_the_draft_quota_counts_what_is_stored_per_account(make_app, factory):
    """A PDF is refused from its size before any check; a photo once re-encoded (its stored size); a small
    photo still fits; another account has its own quota; a request's files do not count."""
    app = make_app(DRAFT_UPLOAD_QUOTA_MB=1)
    with app.app_context():
        owner, other = factory.warga(), factory.warga()
        buf = io.BytesIO()
        _noise_image((1100, 1100)).save(buf, "PDF")  # ~730 KB, stored as it is
        first = attachments.store(buf.getvalue(), requirement_code="kk", owner=owner, draft_key="a")
        assert 700_000 < first.size < 1024 * 1024
        with pytest.raises(attachments.DraftQuotaFull, match="paling banyak 1 MB"):
            attachments.store(buf.getvalue(), requirement_code="kk", owner=owner, draft_key="b")
        photo = io.BytesIO()
        _noise_image((2000, 1500), seed=2).save(photo, "PNG")  # re-encoded: ~1.5 MB of JPEG noise
        with pytest.raises(attachments.DraftQuotaFull):
            attachments.store(photo.getvalue(), requirement_code="ktp", owner=owner, draft_key="b")
        assert attachments.store(jpeg_bytes(), requirement_code="ktp", owner=owner, draft_key="b").size < 20_000
        assert attachments.store(buf.getvalue(), requirement_code="kk", owner=other, draft_key="c").is_pdf
        from tests import request_factory as rf

        rf.make_profile()
        rf.make_service()
        request = rf.submit(owner, key="sent")
        assert attachments.store(buf.getvalue(), requirement_code="kk", owner=owner, request=request).is_pdf
        db.session.commit()
        assert len(stored_files(app)) == 4
