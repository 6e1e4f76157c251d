"""Demo data: Kelurahan Jagalan, its officials, ~50 residents and one account per role.

Seeded by ``make run`` only when the database is empty, and refused in production.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Registration, Role, RoleGrant, User
from sempelmas.models.base import utcnow
from sempelmas.models.profile import Holiday, KelurahanProfile, Official
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.models.residents import Resident
from sempelmas.models.survey import SurveyResponse
from sempelmas.services.accountability import complaints
from sempelmas.services.people.accounts import hash_password
from sempelmas.services.requests import attachments, endorsements, lifecycle, review
from sempelmas.services.requests import submission as requests
from sempelmas.services.requests.catalogue_standard import seed_standard


class DemoRefused(RuntimeError):
    pass


DEMO_ACCOUNTS = [
    # username, password, full name, roles, rt, rw
    ("admin", "admin-demo", "Admin Kelurahan", [Role.ADMIN], None, None),
    ("petugas", "petugas-demo", "Siti Rahmawati", [Role.STAFF], None, None),
    ("lurah", "lurah-demo", "Drs. Bambang Sutrisno, M.Si.", [Role.SIGNER], None, None),
    ("sekretaris", "sekretaris-demo", "Endah Pratiwi, S.Sos.", [Role.SIGNER], None, None),
    ("rt01", "rt01-demo", "Slamet Riyadi", [Role.RT_HEAD], "001", "001"),
    ("pendamping", "pendamping-demo", "Dimas Karang Taruna", [Role.ASSISTANT], None, None),
]
DEMO_RESIDENT_NIK = "3576034101900001"
DEMO_RESIDENT_PASSWORD = "warga-demo"  # noqa: S105 - published demo account

MALE_NAMES = ["AHMAD", "BUDI", "SUGENG", "JOKO", "AGUS", "HERU", "EKO", "WAHYU", "RUDI", "YUSUF",
              "HADI", "SLAMET", "TEGUH", "ARIF", "DWI", "FAJAR", "GALIH", "IWAN", "NUR", "RIZKI"]
FEMALE_NAMES = ["SRI", "SITI", "ENDANG", "DEWI", "RINA", "YULI", "WATI", "NINGSIH", "ANI", "LESTARI",
                "INDAH", "PUTRI", "AYU", "FITRI", "RATNA", "TITIK", "UMI", "WULAN", "NOVI", "RAHAYU"]
SURNAMES = ["SANTOSO", "WIBOWO", "SUSANTO", "HIDAYAT", "PRASETYO", "KURNIAWAN", "SETIAWAN",
            "NUGROHO", "PURNOMO", "SAPUTRA", "HARTONO", "WIJAYA", "SUBAGYO", "RAHARJO", "HANDOKO"]
OCCUPATIONS = ["KARYAWAN SWASTA", "WIRASWASTA", "PEDAGANG", "GURU", "BURUH HARIAN LEPAS",
               "MENGURUS RUMAH TANGGA", "PELAJAR/MAHASISWA", "PNS", "PENSIUNAN"]
STREETS = ["Jl. Pemuda", "Jl. Jagalan Gg. I", "Jl. Jagalan Gg. II", "Jl. Empunala", "Jl. Kartini"]
REGION = "357603"  # Jawa Timur · Kota Mojokerto · Kranggan


def make_nik(birth: date, female: bool, serial: int, region: str = REGION) -> str:
    day = birth.day + (40 if female else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


# Only the 2026 national holidays on fixed Gregorian dates. The admin must complete the list each year
# (Admin → Hari libur): Islamic holidays, Imlek, Nyepi, Waisak, Good Friday, Ascension Day and the cuti
# bersama follow lunar calendars or the yearly SKB and move from year to year.
HOLIDAYS_2026 = [
    (date(2026, 1, 1), "Tahun Baru Masehi"),
    (date(2026, 5, 1), "Hari Buruh Internasional"),
    (date(2026, 6, 1), "Hari Lahir Pancasila"),
    (date(2026, 8, 17), "Hari Kemerdekaan Republik Indonesia"),
    (date(2026, 12, 25), "Hari Raya Natal"),
]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(KelurahanProfile)) and not \
        db.session.scalar(select(func.count()).select_from(User))


def seed_profile() -> KelurahanProfile:
    profile = KelurahanProfile(
        village_kind="kelurahan", province_name="Jawa Timur", regency_kind="kota",
        regency_name="Mojokerto", district_name="Kranggan", village_name="Jagalan",
        region_code="35.76.03.1004", address="Jl. Pemuda No. 2, Jagalan", postcode="61316",
        phone="(0321) 321000", email="kel.jagalan@mojokertokota.go.id",
        website="https://jagalan.mojokertokota.go.id", letter_unit_code="417.604.3",
        timezone="WIB", office_hours="Senin–Kamis 07.30–15.30 WIB; Jumat 07.30–14.00 WIB",
        tracking_prefix="JGL",
        verify_offers_pdf=True,  # the demo shows the original-PDF download on its verification pages
    )
    db.session.add(profile)
    return profile


def seed() -> bool:
    """Fill an empty database with the demo; returns False (and does nothing) when it holds data."""
    if current_app.config["ENV"] == "production":
        raise DemoRefused("Data demo tidak boleh diisi dalam mode produksi.")
    if not is_empty():
        return False
    rng = random.Random(2026)
    seed_profile()

    accounts: dict[str, User] = {}
    for username, password, name, roles, rt, rw in DEMO_ACCOUNTS:
        user = User(username=username, full_name=name, status=AccountStatus.VERIFIED,
                    password_hash=hash_password(password))
        for role in roles:
            user.roles.append(RoleGrant(role=role, rt=rt if role == Role.RT_HEAD else None,
                                        rw=rw if role in (Role.RT_HEAD, Role.RW_HEAD) else None))
        db.session.add(user)
        accounts[username] = user
    db.session.flush()

    db.session.add_all([
        Official(name="Drs. BAMBANG SUTRISNO, M.Si.", position="lurah", position_title="Lurah Jagalan",
                 rank="Penata Tingkat I (III/d)", nip="197501012000031001",
                 user_id=accounts["lurah"].id, sort_order=1),
        Official(name="ENDAH PRATIWI, S.Sos.", position="sekretaris",
                 position_title="Sekretaris Kelurahan", rank="Penata (III/c)",
                 nip="198203152006042003", user_id=accounts["sekretaris"].id, sort_order=2),
    ])

    seed_standard()  # the real catalogue, also what `flask seed-catalogue` adds in production
    db.session.add_all([Holiday(date=day, name=name) for day, name in HOLIDAYS_2026])
    residents = _seed_residents(rng)
    demo = next(r for r in residents if r.nik == DEMO_RESIDENT_NIK)
    resident_user = User(
        full_name=demo.full_name.title(), phone="+6281234500001", status=AccountStatus.VERIFIED,
        password_hash=hash_password(DEMO_RESIDENT_PASSWORD), resident_id=demo.id,
        verified_by_id=accounts["rt01"].id, verified_at=utcnow(), consent_at=utcnow(),
        consent_version=current_app.config["CONSENT_VERSION"],
    )
    resident_user.roles.append(RoleGrant(role=Role.RESIDENT))
    resident_user.registration = Registration(
        nik=demo.nik, kk_number=demo.kk_number, full_name=demo.full_name, birth_place=demo.birth_place,
        birth_date=demo.birth_date, gender=demo.gender, address=demo.address, rt=demo.rt, rw=demo.rw,
        nik_warnings=[],
    )
    db.session.add(resident_user)
    db.session.flush()
    _seed_requests(resident_user, accounts, residents)
    seed_signed_letters(resident_user, accounts, residents)
    seed_survey_responses()
    complaints.seed_demo(resident_user, accounts["petugas"], requests.family_requests(resident_user)[-1])
    return True


def _submit_with_documents(code: str, user, subject, answers: dict, at):
    """A demo request submitted at ``at`` with a photo for each required document."""
    request = requests.submit(code, user, subject, answers, idempotency_key=None, now=at)
    for requirement in request.service_snapshot["requirements"]:
        if requirement["required"]:
            attachments.store(_document_photo(requirement["label"]), requirement_code=requirement["code"],
                              owner=user, request=request)
    return request


def _document_photo(title: str) -> bytes:
    """A stand-in for a phone photo of a document (the demo never ships anyone's real papers)."""
    img = Image.new("RGB", (900, 1200), (250, 250, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 860, 1160), outline=(90, 90, 90), width=4)
    draw.text((80, 80), f"CONTOH DOKUMEN - {title}", fill=(20, 20, 20))
    for y in range(160, 1100, 40):
        draw.line((80, y, 820, y), fill=(180, 180, 180), width=2)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def _seed_requests(resident_user: User, accounts: dict[str, User], residents: list[Resident]) -> None:
    """A few requests of the demo resident's family at different steps, so every queue has something."""
    rt_head, staff = accounts["rt01"], accounts["petugas"]
    husband = next(r for r in residents if r.full_name == "BUDI SANTOSO")
    now = datetime.now(UTC)
    plans = [
        # (service, subject, answers, submitted days ago, steps)
        ("keterangan", resident_user.resident, {"jenis_keterangan": "Tidak mampu (SKTM)",
                                                "keperluan": "Keringanan biaya sekolah anak",
                                                "pernyataan": "Keluarga berpenghasilan di bawah UMK dan "
                                                              "menanggung dua anak sekolah."}, 6,
         ["endorse", "claim", "forward_to_signing"]),
        ("domisili", resident_user.resident, {"keperluan": "Membuka rekening bank"}, 3, ["endorse"]),
        ("pengantar_skck", husband, {"keperluan": "Melamar pekerjaan"}, 2, ["endorse", "claim", "ask_fix"]),
        ("usaha", resident_user.resident, {"nama_usaha": "Warung Bu Sri", "alamat_usaha": "Jl. Gajah Mada 12",
                                           "bidang_usaha": "Warung makan", "npwp": "12.345.678.9-602.000",
                                           "keperluan": "Pengajuan kredit usaha rakyat"}, 0, []),
    ]
    for code, subject, answers, days_ago, steps in plans:
        request = _submit_with_documents(code, resident_user, subject, answers, now - timedelta(days=days_ago, hours=1))
        for step in steps:
            if step == "endorse":
                endorsements.endorse(request, rt_head, note="Benar warga RT kami.")
            elif step == "ask_fix":
                review.ask_fix(request, staff, reason="Foto KTP kurang jelas; mohon foto ulang di tempat terang.",
                               fields=[], files=["ktp"], expected_version=request.version)
            else:
                lifecycle.transition(request, step, actor=staff)


def _seed_residents(rng: random.Random) -> list[Resident]:
    """About 50 people in 14 households across RT 001–004 of RW 001–002."""
    residents: list[Resident] = []
    serial = 1
    areas = [("001", "001"), ("002", "001"), ("003", "001"), ("001", "002"), ("002", "002"),
             ("004", "002")]

    def person(name, birth, female, kk, rt, rw, address, occupation, marital):
        nonlocal serial
        nik = make_nik(birth, female, serial)
        serial += 1
        r = Resident(
            nik=nik, kk_number=kk, full_name=name, birth_place="MOJOKERTO", birth_date=birth,
            gender="P" if female else "L", address=address, rt=rt, rw=rw, religion="ISLAM",
            marital_status=marital, occupation=occupation, citizenship="WNI", source="impor",
        )
        residents.append(r)
        return r

    # Household 1: the demo resident (NIK 3576034101900001, a woman born 1 January 1990) in RT 001 RW 001.
    kk1 = "3576031203150001"
    addr = "Jl. Pemuda Gg. Melati No. 5"
    person("SRI WAHYUNI", date(1990, 1, 1), True, kk1, "001", "001", addr, "WIRASWASTA", "KAWIN")
    person("BUDI SANTOSO", date(1987, 6, 14), False, kk1, "001", "001", addr, "KARYAWAN SWASTA", "KAWIN")
    person("ANISA PUTRI SANTOSO", date(2015, 3, 9), True, kk1, "001", "001", addr, "PELAJAR/MAHASISWA",
           "BELUM KAWIN")
    person("RAFI SANTOSO", date(2019, 11, 21), False, kk1, "001", "001", addr, "BELUM/TIDAK BEKERJA",
           "BELUM KAWIN")

    for household in range(2, 15):
        rt, rw = areas[household % len(areas)]
        kk_date = date(2005 + household, 1 + household % 12, 1 + household)
        kk = f"{REGION}{kk_date.day:02d}{kk_date.month:02d}{kk_date.year % 100:02d}{household:04d}"
        surname = SURNAMES[household % len(SURNAMES)]
        address = f"{STREETS[household % len(STREETS)]} No. {household * 3}"
        head_birth = date(1960 + rng.randrange(25), 1 + rng.randrange(12), 1 + rng.randrange(28))
        person(f"{rng.choice(MALE_NAMES)} {surname}", head_birth, False, kk, rt, rw, address,
               rng.choice(OCCUPATIONS[:5]), "KAWIN")
        wife_birth = date(head_birth.year + 2, 1 + rng.randrange(12), 1 + rng.randrange(28))
        person(f"{rng.choice(FEMALE_NAMES)} {rng.choice(FEMALE_NAMES)}", wife_birth, True, kk, rt, rw,
               address, "MENGURUS RUMAH TANGGA", "KAWIN")
        for _child in range(rng.randrange(1, 3)):
            female = rng.random() < 0.5
            birth = date(wife_birth.year + 22 + rng.randrange(12), 1 + rng.randrange(12), 1 + rng.randrange(28))
            first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            person(f"{first} {surname}", birth, female, kk, rt, rw, address, "PELAJAR/MAHASISWA",
                   "BELUM KAWIN")
    db.session.add_all(residents)
    db.session.flush()
    return residents


# --------------------------------------------------------------------------- signed demo letters (issue 4)

#: the demo officials' signing passphrases (published in the README, like the demo passwords)
DEMO_SIGNING_PASSPHRASES = {"lurah": "lurah-ttd-demo", "sekretaris": "sekretaris-ttd-demo"}  # noqa: S105
#: fixed verification codes of the demo letters, so the README can link one: random-looking like real codes,
#: but published, so only ever used for the demo (real letters get letter_store.new_verify_code())
DEMO_LETTER_CODES = ("Q7rTz2KpW9mXc4VbN8sJ", "hM3dF8qLx2RvT6yPa9Wk", "Zc5NwB1tYg7JpKe4UsQr")


def seed_signed_letters(resident_user: User, accounts: dict[str, User], residents: list[Resident]) -> int:
    """The lurah and the sekretaris get certificates and sign three letters of the demo family (the sekretaris
    "a.n." the lurah). Creates the kelurahan CA first when there is none (what ``flask pki-init`` does; here,
    after the profile, so the CA carries the kelurahan's name; ``make run``'s later pki-init then keeps it).
    Commits (each letter is its own signing transaction). Returns the letters signed."""
    from sempelmas.services.letters import ca as letter_ca
    from sempelmas.services.letters import certificates as letter_certs
    from sempelmas.services.letters import issuing

    if not letter_ca.has_ca():
        db.session.flush()
        letter_ca.init_ca()
    for username, passphrase in DEMO_SIGNING_PASSPHRASES.items():
        user = accounts[username]
        letter_certs.issue_certificate(user, letter_certs.official_for(user), passphrase)
    rt_head, staff = accounts["rt01"], accounts["petugas"]
    husband = next(r for r in residents if r.full_name == "BUDI SANTOSO")
    now = datetime.now(UTC)
    plans = [
        # (service, subject, answers, signer, submitted days ago)
        ("domisili", resident_user.resident, {"keperluan": "Pendaftaran sekolah anak"}, "lurah", 9),
        ("pengantar_skck", husband, {"keperluan": "Melamar pekerjaan"}, "lurah", 8),
        ("usaha", resident_user.resident, {"nama_usaha": "Warung Bu Sri", "alamat_usaha": "Jl. Gajah Mada 12",
                                           "bidang_usaha": "Warung makan", "npwp": "12.345.678.9-602.000",
                                           "keperluan": "Izin usaha mikro"}, "sekretaris", 7),
    ]
    signed = 0
    for (code, subject, answers, signer, days_ago), verify_code in zip(plans, DEMO_LETTER_CODES, strict=True):
        request = _submit_with_documents(code, resident_user, subject, answers, now - timedelta(days=days_ago, hours=2))
        if lifecycle.target(request, "endorse") is not None:
            endorsements.endorse(request, rt_head, note="Benar warga RT kami.")
        lifecycle.transition(request, "claim", actor=staff)
        lifecycle.transition(request, "forward_to_signing", actor=staff)
        issuing.issue_letter(request, accounts[signer], DEMO_SIGNING_PASSPHRASES[signer], verify_code=verify_code)
        signed += 1
    return signed


# --------------------------------------------------------------------------- satisfaction survey (issue 6)

#: (answers U1…U9, comment) the demo resident gave; the newest finished request stays unanswered, so its page
#: shows the "Nilai layanan kami" card
DEMO_SURVEY_ANSWERS = (
    ((4, 3, 3, 4, 4, 3, 4, 2, 3), "Petugas ramah. Mohon kabar lewat WhatsApp saat surat sudah bisa diunduh."),
    ((3, 4, 3, 4, 3, 4, 4, 3, 3), None),
)


def seed_survey_responses() -> int:
    """Survey responses on the oldest finished demo requests, all but the newest (see DEMO_SURVEY_ANSWERS)."""
    done = db.session.scalars(select(LetterRequest).where(LetterRequest.status == RequestStatus.DONE)
                              .order_by(LetterRequest.id)).all()
    pairs = list(zip(done[:-1], DEMO_SURVEY_ANSWERS, strict=False))
    for request, (answers, comment) in pairs:
        db.session.add(SurveyResponse(request_id=request.id, comment=comment,
                                      **{f"u{i}": a for i, a in enumerate(answers, 1)}))
    db.session.flush()
    return len(pairs)
