import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.catalogue import Service
from sempelmas.models.residents import Resident
from sempelmas.services.kelurahan import demo
from tests.conftest import PRODUCTION, login
from tests.migration_db import insert, migration_db
from tests.services.test_register_import import ROWS, write_csv, write_xlsx

ROOT = Path(__file__).resolve().parents[1]


def test_create_admin_command(runner, app):
    result = runner.invoke(args=["create-admin", "--username", "kepala", "--name", "Admin Utama",
                                 "--password", "sandi-admin-1"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "kepala"))
    assert user.has_role(Role.ADMIN)
    bad = runner.invoke(args=["create-admin", "--username", "kepala", "--name", "X", "--password", "sandi-admin-1"])
    assert bad.exit_code != 0 and "sudah dipakai" in bad.output


def test_seed_demo_fills_an_empty_database_once_and_accounts_work(runner, app, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "dibuat" in result.output
    assert 40 <= db.session.scalar(select(func.count()).select_from(Resident)) <= 70
    assert db.session.scalar(select(func.count()).select_from(Service)) == 10  # the real catalogue too
    for username, password, *_rest in demo.DEMO_ACCOUNTS:
        resp = login(client, username, password)
        assert resp.status_code == 302, username
        client.post("/logout")
    resp = login(client, demo.DEMO_RESIDENT_NIK, demo.DEMO_RESIDENT_PASSWORD)
    assert resp.location == "/warga/"
    home = client.get("/warga/").get_data(as_text=True)
    assert "sudah terverifikasi" in home and "BUDI SANTOSO" in home  # her family on the same KK
    # her family's requests wait at every step, so each demo account has something to do
    mine = client.get("/warga/permohonan").get_data(as_text=True)
    for label in ("Menunggu pengantar RT/RW", "Diajukan", "Perlu perbaikan", "Menunggu tanda tangan"):
        assert label in mine, label
    client.post("/logout")
    login(client, "rt01", "rt01-demo")
    assert "Surat Keterangan Usaha" in client.get("/rt/permohonan").get_data(as_text=True)
    client.post("/logout")
    login(client, "petugas", "petugas-demo")
    queue = client.get("/petugas/permohonan").get_data(as_text=True)
    assert "Surat Keterangan Domisili" in queue and "Surat Pengantar SKCK" in queue
    client.post("/logout")
    assert login(client, "0812 3450 0001", demo.DEMO_RESIDENT_PASSWORD).location == "/warga/"
    # the README's link: a signed demo letter anyone can check, with the original PDF on offer
    verify = client.get(f"/v/{demo.DEMO_LETTER_CODES[0]}")
    page = verify.get_data(as_text=True)
    assert verify.status_code == 200 and "SAH" in page and f"/v/{demo.DEMO_LETTER_CODES[0]}/unduh" in page
    pdf = client.get(f"/v/{demo.DEMO_LETTER_CODES[0]}/unduh")
    body = pdf.get_data()
    pdf.close()
    assert pdf.mimetype == "application/pdf" and body.startswith(b"%PDF-")
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "tidak diisi ulang" in again.output


def test_the_demo_letters_link_to_the_address_make_run_serves(make_app):
    """`make run PORT=8123` hands SEMPELMAS_HOST/SEMPELMAS_PORT to seed-demo: the demo letters' QR codes open."""
    from sempelmas.models.letters import Letter
    from sempelmas.services.letters import store as letter_store
    from tests.signing_setup import qr_payloads

    app = make_app(SERVE_HOST="127.0.0.1", SERVE_PORT="8123")
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
        letter = db.session.scalar(select(Letter).where(Letter.verify_code == demo.DEMO_LETTER_CODES[0]))
        assert qr_payloads(letter_store.path_of(letter).read_bytes()) == [
            f"http://127.0.0.1:8123/v/{demo.DEMO_LETTER_CODES[0]}"]


def test_seed_demo_is_refused_in_production(make_app):
    app = make_app(**PRODUCTION)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code != 0 and "produksi" in result.output
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_catalogue_fills_an_empty_catalogue_even_in_production(make_app):
    app = make_app(**PRODUCTION)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-catalogue"])
        assert result.exit_code == 0 and "10 layanan ditambahkan" in result.output
        assert db.session.scalar(select(func.count()).select_from(Service)) == 10
        again = app.test_cli_runner().invoke(args=["seed-catalogue"])
        assert again.exit_code == 0 and "tidak diubah" in again.output
        assert db.session.scalar(select(func.count()).select_from(Service)) == 10


def test_import_residents_command_with_dry_run(runner, app, tmp_path):
    path = write_xlsx(tmp_path / "w.xlsx", ROWS)
    dry = runner.invoke(args=["import-residents", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "baru: 3" in dry.output and "tidak ada yang disimpan" in dry.output
    assert db.session.scalar(select(func.count()).select_from(Resident)) == 0
    real = runner.invoke(args=["import-residents", str(path)])
    assert real.exit_code == 0 and "Impor selesai" in real.output
    assert db.session.scalar(select(func.count()).select_from(Resident)) == 3
    bad = write_csv(tmp_path / "b.csv", [["1", "2"]], header=["Nama", "Alamat"])
    failed = runner.invoke(args=["import-residents", str(bad)])
    assert failed.exit_code != 0 and "Kolom wajib" in failed.output



def test_import_residents_names_the_line_of_a_bad_byte_far_into_the_file(runner, app, tmp_path):
    from tests.services.test_register_import import csv_with_a_bad_byte

    path = csv_with_a_bad_byte(tmp_path / "warga.csv")
    result = runner.invoke(args=["import-residents", str(path), "--dry-run"])
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "salah: 1" in result.output
    line = next(x for x in result.output.splitlines() if "baris 15001" in x)
    assert "bukan UTF-8" in line and "CSV UTF-8" in line


def test_import_residents_reads_the_file_once_and_saves_what_it_showed(runner, app, tmp_path, monkeypatch):
    from sempelmas.models.residents import KKHistory
    from sempelmas.services.people import register_import as ri

    reads = []
    original = ri.read_rows
    monkeypatch.setattr(ri, "read_rows", lambda p: reads.append(p) or original(p))
    path = write_csv(tmp_path / "w.csv", [*ROWS, ["1234", *ROWS[0][1:]]])
    result = runner.invoke(args=["import-residents", str(path)])
    assert result.exit_code == 0, result.output
    assert "baru: 3" in result.output and "salah: 1" in result.output and "Impor selesai" in result.output
    assert reads == [path]
    assert db.session.scalar(select(func.count()).select_from(Resident)) == 3
    moved = [list(r) for r in ROWS]
    moved[1][1] = "3576031203150002"
    again = runner.invoke(args=["import-residents", str(write_csv(tmp_path / "m.csv", moved))])
    assert again.exit_code == 0, again.output
    assert "berubah: 1" in again.output and "tetap: 2" in again.output and "ganti KK: 1" in again.output
    assert len(reads) == 2
    assert db.session.scalar(select(func.count()).select_from(KKHistory)) == 1
    same = runner.invoke(args=["import-residents", str(tmp_path / "m.csv")])
    assert "baru: 0  berubah: 0  tetap: 3" in same.output
    assert db.session.scalar(select(func.count()).select_from(KKHistory)) == 1

def test_worker_once_runs_queued_jobs(runner, app, tmp_path):
    from sempelmas.services.operations import jobs

    jobs.enqueue("register_apply", {"path": str(write_csv(tmp_path / "w.csv", ROWS))})
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "1 job" in result.output
    assert db.session.scalar(select(func.count()).select_from(Resident)) == 3


def test_migrations_build_exactly_the_models_schema(tmp_path):
    """`flask db upgrade` on an empty database gives the schema the models describe (nothing missing)."""
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade")
        with mig.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        mig.flask("db", "downgrade", "base")


def test_letter_facts_migration_fills_existing_letters_from_the_register(tmp_path):
    """0007 keeps on each existing letter the signer and the resident as they were when it was issued."""
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0006_letters")
        with mig.engine.begin() as conn:
            signer = insert(conn, "users", full_name="Akun Lurah", username="lurah", password_hash="x")
            official = insert(conn, "officials", name="Drs. SUGENG RAHARJO", position="lurah",
                              position_title="Lurah Jagalan", user_id=signer)
            resident = insert(conn, "residents", nik="3576034101900001", kk_number="3576030101000001",
                              full_name="BUDI SANTOSO")
            service = insert(conn, "services", code="domisili", name="Domisili")
            version = insert(conn, "service_versions", service_id=service)
            request = insert(conn, "letter_requests", tracking_number="JGL-2026-000001",
                             service_version_id=version, applicant_user_id=signer, subject_resident_id=resident)
            for seq, code, off in ((1, "kodeA", official), (2, "kodeB", None)):
                insert(conn, "letters", request_id=request, number=f"470/{code}", scope="semua", year=2026,
                       sequence=seq, verify_code=code, service_code="domisili", title="Domisili",
                       signer_user_id=signer, official_id=off, stored_name=f"{code}.pdf", pdf_sha256="0" * 64)
        mig.flask("db", "upgrade")
        with mig.engine.connect() as conn:
            rows = conn.execute(text("SELECT verify_code, signer_name, signer_position, subject_name, "
                                     "subject_nik FROM letters ORDER BY verify_code")).all()
        assert [tuple(r) for r in rows] == [
            ("kodeA", "Drs. SUGENG RAHARJO", "Lurah Jagalan", "BUDI SANTOSO", "3576034101900001"),
            ("kodeB", "Akun Lurah", "", "BUDI SANTOSO", "3576034101900001")]


@pytest.mark.parametrize("cmd", [["flask", "--app", "app", "--help"]])
def test_cli_lists_the_project_commands(cmd):
    out = subprocess.run([sys.executable, "-m", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    for name in ("create-admin", "seed-demo", "seed-catalogue", "import-residents", "worker"):
        assert name in out.stdout


def test_pki_init_creates_the_ca_once_and_never_replaces_it(make_app, tmp_path):
    from tests.request_factory import make_profile

    app = make_app(fresh=True)
    pki_dir = Path(app.config["PKI_DIR"])
    assert not pki_dir.exists()  # create_app made no CA
    app.config["PKI_DIR"] = str(tmp_path / "pki")
    pki_dir = tmp_path / "pki"
    with app.app_context():
        make_profile()
        db.session.commit()
        runner = app.test_cli_runner()
        first = runner.invoke(args=["pki-init"])
        assert first.exit_code == 0, first.output
        assert "CA dibuat" in first.output and "CA Kelurahan Jagalan" in first.output
        assert "ca-passphrase" in first.output
        files = {name: (pki_dir / name).read_bytes() for name in ("ca.pem", "ca-key.pem", "ca-passphrase")}
        again = runner.invoke(args=["pki-init"])
        assert again.exit_code == 0 and "tidak diganti" in again.output
        assert {name: (pki_dir / name).read_bytes() for name in files} == files
        (pki_dir / "ca.pem").unlink()  # half a CA: refused, the key is never overwritten
        broken = runner.invoke(args=["pki-init"])
        assert broken.exit_code != 0 and "tidak lengkap" in broken.output
        assert (pki_dir / "ca-key.pem").read_bytes() == files["ca-key.pem"]


def test_pki_init_in_production_needs_the_passphrase(make_app, tmp_path):
    from tests.request_factory import make_profile

    app = make_app(**PRODUCTION)
    app.config["PKI_DIR"] = str(tmp_path / "pki")
    with app.app_context():
        waiting = app.test_cli_runner().invoke(args=["pki-init"])
        assert waiting.exit_code == 0 and "Profil kelurahan belum diisi" in waiting.output  # make run goes on
        assert not (tmp_path / "pki").exists()
        make_profile()
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["pki-init"])
        assert result.exit_code != 0 and "PKI_CA_PASSPHRASE" in result.output
        assert not (tmp_path / "pki" / "ca.pem").exists()
        app.config["PKI_CA_PASSPHRASE"] = "passphrase-ca-produksi-yang-panjang"
        ok = app.test_cli_runner().invoke(args=["pki-init"])
        assert ok.exit_code == 0 and "CA dibuat" in ok.output
        assert not (tmp_path / "pki" / "ca-passphrase").exists()
