"""Letter numbers: format, scopes, and a gapless counter under concurrent signing from several processes."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.letters import LetterCounter
from sempelmas.services import sequences
from sempelmas.services.letters import numbering
from sempelmas.services.requests import catalogue
from tests.request_factory import make_profile, make_service, submit

PROCESSES = 5
PER_PROCESS = 10


# ------------------------------------------------------------------ format

def test_the_issue_example_format_gives_the_issue_example_number():
    assert numbering.format_number("{kode}/{urut:03d}/{unit}/{tahun}", kode="470", seq=7, unit="417.604.3",
                                   year=2026, month=3) == "470/007/417.604.3/2026"


def test_roman_month_and_plain_month_fields():
    fmt = "{kode}/{urut}/{unit}/{bulan_romawi}/{tahun}"
    assert numbering.format_number(fmt, kode="474.1", seq=29, unit="417.604.3", year=2026,
                                   month=11) == "474.1/29/417.604.3/XI/2026"
    assert numbering.format_number("{urut:04d}-{bulan:02d}-{tahun}", kode="", seq=5, unit=None, year=2026,
                                   month=4) == "0005-04-2026"


@pytest.mark.parametrize(("fmt", "words"), [
    ("{kode}/{nomor}/{tahun}", "{nomor} tidak dikenal"),
    ("{kode}/{tahun}", "harus memuat {urut}"),
    ("{kode}/{urut:03q}/{tahun}", "tidak valid"),
    ("{kode}/{urut/{tahun}", "tidak berpasangan"),
    ("{kode.real}/{urut}", "tidak dikenal"),
    ("{urut!r}", "tanda !"),
    ("", "wajib diisi"),
    ("{urut}" + "x" * 90, "terlalu panjang"),
])
def test_a_broken_format_is_refused_with_a_clear_reason(fmt, words):
    problem = numbering.check_format(fmt)
    assert problem is not None and words in problem
    with pytest.raises(numbering.NumberFormatError):
        numbering.format_number(fmt, kode="470", seq=1, unit="1", year=2026, month=1)


def test_scope_follows_the_profile_setting(app):
    profile = make_profile()
    service = {"code": "kelahiran", "classification_code": "474.1"}
    assert numbering.scope_for(profile, service) == "semua"
    profile.number_scope = "klasifikasi"
    assert numbering.scope_for(profile, service) == "klasifikasi:474.1"
    profile.number_scope = "layanan"
    assert numbering.scope_for(profile, service) == "layanan:kelahiran"


def test_a_service_override_wins_over_the_profile_format(app, factory):
    profile = make_profile()
    profile.letter_unit_code = "417.604.3"
    profile.number_format = "{kode}/{urut:03d}/{unit}/{tahun}"
    make_service("domisili")
    service = make_service("usaha")
    catalogue.save_service(service, {"name": service.name}, [], [{"name": "keperluan", "label": "Keperluan",
                                                                   "kind": "text"}])
    service.number_format = "{kode}/{urut}/{unit}/{bulan_romawi}/{tahun}"
    db.session.commit()
    warga = factory.warga()
    plain = submit(warga, service="domisili")
    special = submit(warga, service="usaha")
    db.session.commit()
    november = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    sequences.begin_immediate()
    assert numbering.next_letter_number(plain, november) == ("470/001/417.604.3/2026", "semua", 2026, 1)
    assert numbering.next_letter_number(special, november) == ("470/2/417.604.3/XI/2026", "semua", 2026, 2)
    db.session.commit()


def test_the_year_is_the_kelurahans_local_year(app, factory):
    make_profile().letter_unit_code = "417.604.3"
    make_service("domisili")
    letter_request = submit(factory.warga())
    db.session.commit()
    # 31 December 2026 18:00 UTC is already 1 January 2027 in Mojokerto (WIB, UTC+7)
    number, scope, year, seq = numbering.next_letter_number(letter_request, datetime(2026, 12, 31, 18, 0))
    assert (number, year, seq) == ("470/001/417.604.3/2027", 2027, 1)
    db.session.rollback()


# ------------------------------------------------------------------ the counter

def test_numbers_count_per_scope_and_per_year(app):
    sequences.begin_immediate()
    assert [numbering.take_number("semua", 2026) for _ in range(3)] == [1, 2, 3]
    assert numbering.take_number("klasifikasi:474.1", 2026) == 1
    assert numbering.take_number("semua", 2027) == 1
    db.session.commit()
    assert numbering.take_number("semua", 2026) == 4
    db.session.commit()


def test_a_rolled_back_transaction_gives_its_number_back(app):
    sequences.begin_immediate()
    assert numbering.take_number("semua", 2026) == 1
    db.session.commit()
    sequences.begin_immediate()
    assert numbering.take_number("semua", 2026) == 2
    db.session.rollback()  # the signature failed
    sequences.begin_immediate()
    assert numbering.take_number("semua", 2026) == 2
    db.session.commit()
    counter = db.session.scalar(select(LetterCounter).where(LetterCounter.scope == "semua"))
    assert counter.last == 2


def test_begin_immediate_takes_the_sqlite_write_lock_at_once(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    sequences.begin_immediate()
    assert db.session.connection().connection.dbapi_connection.in_transaction
    sequences.begin_immediate()  # a second call inside the same transaction is harmless
    db.session.rollback()


def _sign_in_a_process(url: str, instance: str, count: int, barrier, results) -> None:
    """A signer process: takes ``count`` numbers, each in its own transaction that also stores a row."""
    from sempelmas import create_app
    from tests.conftest import test_config

    app = create_app(test_config(url, Path(instance)))
    taken = []
    with app.app_context():
        barrier.wait()
        for _ in range(count):
            sequences.begin_immediate()
            seq = numbering.take_number("semua", 2026)
            # the letter row of a real signing: here a marker row, stored in the same transaction
            db.session.add(LetterCounter(scope=f"uji:{os.getpid()}:{seq}", year=2026, last=seq))
            db.session.commit()
            taken.append(seq)
        db.engine.dispose()
    results.put(taken)


def test_fifty_letters_signed_from_several_processes_get_exactly_1_to_50(app, db_url, tmp_path):
    # fork: the children start in a fraction of spawn's time; none inherits a connection (disposed here)
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    db.session.remove()
    db.engine.dispose()
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_sign_in_a_process, args=(db_url, str(tmp_path), PER_PROCESS, barrier, results))
             for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    taken = []
    for _ in procs:
        taken.extend(results.get(timeout=120))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(taken) == list(range(1, PROCESSES * PER_PROCESS + 1))
    db.session.expire_all()
    counter = db.session.scalar(select(LetterCounter).where(LetterCounter.scope == "semua"))
    assert counter.last == PROCESSES * PER_PROCESS
    markers = db.session.scalars(select(LetterCounter.last).where(LetterCounter.scope.like("uji:%"))).all()
    assert sorted(markers) == list(range(1, PROCESSES * PER_PROCESS + 1))
