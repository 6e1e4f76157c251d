"""The "Siap melayani" checklist: every computed check reports its step done only once the thing it stands for
is true in the real database, files and network (and not before)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.catalogue import Service
from sempelmas.models.profile import Official
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.kelurahan import readiness
from sempelmas.services.kelurahan import readiness_actions as actions
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.operations import backup_create, delivery, jobs
from sempelmas.services.people import register_jobs
from tests.conftest import jpeg_bytes
from tests.request_factory import make_profile, make_service
from tests.services.test_delivery import smtp_server  # noqa: F401 - the fixture
from tests.services.test_register_import import ROWS, write_csv
from tests.signing_setup import configure


@pytest.fixture
def admin(factory):
    return factory.staff(Role.ADMIN, "adm")


def step(fn):
    db.session.expire_all()
    return fn()


# ------------------------------------------------------------------------------------------------ profile

def test_profile_is_done_only_with_every_field_and_a_logo(app, admin):
    assert not step(readiness.profile_step).done
    prof = make_profile()
    db.session.commit()
    s = step(readiness.profile_step)
    assert not s.done and "logo" in s.reason
    profile_service.update_profile(prof, {}, (jpeg_bytes(), "image/jpeg"), actor=admin)
    db.session.commit()
    assert step(readiness.profile_step).done
    prof.address = " "
    db.session.commit()
    assert not step(readiness.profile_step).done


# ------------------------------------------------------------------------------------------ public address

def _lan_ip() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            ip = probe.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def test_public_url_on_localhost_is_never_done(app):
    app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
    readiness.forget_probe()
    s = readiness.public_url_step()
    assert not s.done and "mesin ini" in s.reason
    app.config["PUBLIC_URL"] = "http://localhost:5000"
    assert not readiness.public_url_step().done


def test_public_url_is_done_only_when_this_app_answers_there(app):
    ip = _lan_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback address to serve on")
    server = make_server("0.0.0.0", 0, app, threaded=True)  # noqa: S104 - reached through the LAN address
    url = f"http://{ip}:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    readiness.forget_probe()
    s = readiness.public_url_step()
    assert not s.done and "tidak menjawab" in s.reason  # nothing listens yet
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert not readiness.public_url_step().done  # the failure is cached briefly
        readiness.forget_probe()
        assert readiness.public_url_step().done
    finally:
        server.shutdown()
    # something else at the address (a parked domain, another install): answers 200, but not as this app
    other = make_server("0.0.0.0", 0, Response("ok 0123456789abcdef01234567\n"), threaded=True)  # noqa: S104
    app.config["PUBLIC_URL"] = f"http://{ip}:{other.server_port}"
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        readiness.forget_probe()
        s = readiness.public_url_step()
        assert not s.done and "bukan aplikasi ini" in s.reason
    finally:
        other.shutdown()
        readiness.forget_probe()


def test_the_probe_answer_is_cached_then_asked_again():
    readiness._health_cache["http://x.test"] = (time.monotonic(), None)
    assert readiness.probe_public_url("http://x.test") is None
    assert readiness.probe_public_url("http://x.test", now=time.monotonic() + 61) is not None
    readiness.forget_probe()


# ------------------------------------------------------------------------------------------------------ CA

def test_ca_is_done_only_after_its_backup_is_downloaded_and_confirmed(app, admin, tmp_path):
    configure(app, tmp_path)
    make_profile()
    db.session.commit()
    s = step(readiness.ca_step)
    assert not s.done and "pki-init" in s.reason
    letter_ca.init_ca()
    assert not step(readiness.ca_step).done
    with pytest.raises(actions.ReadinessError):
        actions.confirm_ca_backup(b"", admin)  # nothing downloaded yet
    data, _name = actions.ca_backup_file(admin)
    db.session.commit()
    assert b"ENCRYPTED PRIVATE KEY" in data and b"BEGIN CERTIFICATE" in data
    assert not step(readiness.ca_step).done  # downloaded is not confirmed
    with pytest.raises(actions.ReadinessError):
        actions.confirm_ca_backup(b"-----BEGIN PRIVATE KEY-----\nnot it\n", admin)
    actions.confirm_ca_backup(data.replace(b"\n", b"\r\n"), admin)
    db.session.commit()
    assert step(readiness.ca_step).done
    # a new CA (the old one lost) needs its own backup
    for name in ("ca.pem", "ca-key.pem"):
        (letter_ca.pki_dir() / name).unlink()
    letter_ca.init_ca()
    assert not step(readiness.ca_step).done


# ----------------------------------------------------------------------------------------------- officials

def test_officials_are_done_with_rank_nip_and_every_signers_key(app, factory, tmp_path):
    configure(app, tmp_path)
    make_profile()
    letter_ca.init_ca()
    assert not step(readiness.officials_step).done
    lurah = factory.staff(Role.SIGNER, "lurah")
    official = Official(name="DRS. BAMBANG", position="lurah", position_title="Lurah Jagalan", rank=None,
                        nip="197501012000031001", user_id=lurah.id)
    db.session.add(official)
    db.session.commit()
    s = step(readiness.officials_step)
    assert not s.done and "BAMBANG" in s.reason
    official.rank = "Penata Tingkat I (III/d)"
    db.session.commit()
    s = step(readiness.officials_step)
    assert not s.done and s.endpoint == "admin.certificates"
    letter_certs.issue_certificate(lurah, official, "lurah-ttd-uji-123")
    db.session.commit()
    assert step(readiness.officials_step).done
    official.nip = "1975"
    db.session.commit()
    assert not step(readiness.officials_step).done


# ------------------------------------------------------------------------------------------- RT/RW heads

def test_every_rt_in_the_register_needs_a_head(app, factory):
    make_profile()
    db.session.commit()
    assert not step(readiness.rt_rw_step).done
    factory.resident(rt="001", rw="001")
    factory.resident(rt="002", rw="001")
    db.session.commit()
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    s = step(readiness.rt_rw_step)
    assert not s.done and "RT 002/RW 001" in s.reason
    factory.staff(Role.RT_HEAD, rt="002", rw="001")
    assert step(readiness.rt_rw_step).done


def test_rw_heads_are_needed_when_the_rw_endorses(app, factory):
    prof = make_profile()
    prof.rw_endorses = True
    factory.resident(rt="001", rw="003")
    db.session.commit()
    factory.staff(Role.RT_HEAD, rt="001", rw="003")
    s = step(readiness.rt_rw_step)
    assert not s.done and "RW 003" in s.reason
    factory.staff(Role.RW_HEAD, rw="003")
    assert step(readiness.rt_rw_step).done


# ----------------------------------------------------------------------------------------------- catalogue

def test_catalogue_is_done_after_an_explicit_review_newer_than_its_last_change(app, admin):
    make_profile()
    db.session.commit()
    assert not step(readiness.catalogue_step).done
    service = make_service("domisili")
    db.session.execute(update(Service).values(classification_code=""))
    db.session.commit()
    s = step(readiness.catalogue_step)
    assert not s.done and "klasifikasi" in s.reason
    db.session.execute(update(Service).values(classification_code="470"))
    db.session.commit()
    assert not step(readiness.catalogue_step).done  # not reviewed yet
    actions.mark_catalogue_reviewed(admin)
    db.session.commit()
    assert step(readiness.catalogue_step).done
    db.session.execute(update(Service).where(Service.id == service.id)
                       .values(updated_at=utcnow() + timedelta(seconds=5)))
    db.session.commit()
    assert not step(readiness.catalogue_step).done  # changed after the review


# ------------------------------------------------------------------------------------------------ register

def test_register_is_done_only_after_an_import_is_applied(app, admin, factory, tmp_path):
    factory.resident(source="verifikasi")
    db.session.commit()
    assert not step(readiness.register_step).done
    preview = register_jobs.start_preview(write_csv(tmp_path / "w.csv", ROWS).read_bytes(), "w.csv", actor=admin)
    db.session.commit()
    assert jobs.run_pending() == 1
    assert not step(readiness.register_step).done  # previewed, not applied
    register_jobs.start_apply(db.session.get(type(preview), preview.id), actor=admin)
    db.session.commit()
    assert jobs.run_pending() == 1
    s = step(readiness.register_step)
    assert s.done and "3" in s.reason


# ------------------------------------------------------------------------------------------- notifications

def test_notifications_are_done_when_the_test_message_is_delivered(app, admin, smtp_server):  # noqa: F811
    app.config.update(MAIL_SERVER=None, NOTIFY_GATEWAY_URL=None)
    assert "MAIL_SERVER" in step(readiness.notifications_step).reason
    app.config["MAIL_SERVER"] = "127.0.0.1"
    assert not step(readiness.notifications_step).done
    with pytest.raises(actions.ReadinessError):
        actions.send_test_message(admin, email=None, phone=None)
    actions.send_test_message(admin, email="lurah@jagalan.test", phone=None)
    db.session.commit()
    assert not step(readiness.notifications_step).done  # queued, not delivered
    delivery.deliver_due()
    assert step(readiness.notifications_step).done
    assert any("lurah@jagalan.test" in rcpt for _f, rcpt, _c in smtp_server.messages)


# ------------------------------------------------------------------------------------------------- backups

@pytest.fixture
def backups(app, tmp_path):
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=14, BACKUP_COPY_TARGET=None,
                      BACKUP_COPY_KEEP=None)
    return Path(app.config["BACKUP_DIR"])


def test_backups_are_done_with_a_recent_archive_and_a_dry_run_restore(app, factory, backups):
    factory.resident()
    db.session.commit()
    assert not step(readiness.backups_step).done
    made = backup_create.create_backup()
    db.session.commit()
    s = step(readiness.backups_step)
    assert not s.done and "--dry-run" in s.reason
    before = db.session.scalar(select(db.func.count()).select_from(AuditEntry))
    actions.restore_dry_run(made.path)
    db.session.commit()
    assert step(readiness.backups_step).done
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == before + 1  # nothing restored
    old = time.time() - 40 * 3600
    import os

    os.utime(made.path, (old, old))
    assert not step(readiness.backups_step).done  # the timer stopped


def test_a_dry_run_refuses_a_damaged_archive_and_records_nothing(app, factory, backups):
    from sempelmas.services.operations.backup import BackupError

    made = backup_create.create_backup()
    data = bytearray(made.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    made.path.write_bytes(bytes(data))
    with pytest.raises(BackupError):
        actions.restore_dry_run(made.path)
    db.session.rollback()
    assert readiness._last_audit(readiness.RESTORE_DRY_RUN) is None


# --------------------------------------------------------------------------------------------- test letter

def test_test_letter_needs_a_test_letter_whose_page_was_opened_from_a_phone(app, factory, tmp_path):
    """Not done before a test letter is signed, nor while its /v/ page was opened only from a desktop browser;
    done once a phone opened it (its QR scanned)."""
    from sempelmas.services.letters import test_letter
    from tests.signing_setup import LURAH_PASS, Desk

    assert not step(readiness.test_letter_step).done
    configure(app, tmp_path)
    desk = Desk(factory)
    made = test_letter.issue_test_letter(desk.lurah, LURAH_PASS)
    assert not step(readiness.test_letter_step).done  # signed, never opened
    desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    app.test_client().get(f"/v/{made.verify_code}", headers={"User-Agent": desktop})
    db.session.expire_all()
    assert not step(readiness.test_letter_step).done  # opened, but not from a phone
    phone = ("Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Mobile Safari/537.36")
    app.test_client().get(f"/v/{made.verify_code}", headers={"User-Agent": phone})
    db.session.expire_all()
    assert step(readiness.test_letter_step).done
