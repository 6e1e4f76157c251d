"""The standard catalogue: the seven services Jagalan offered in 2019 plus three common elsewhere.

Not demo data: ``flask seed-catalogue`` adds it to any database whose catalogue is empty, production
included. Service times, classification codes and validity are starting values the admin edits.
Requirements and fields are written in the admin's line format (see services.requests.catalogue).
"""

from __future__ import annotations

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.catalogue import Service
from sempelmas.services.requests import catalogue, catalogue_standard_en

# Every request: the RT endorsement (online, or the paper pengantar where the RT has no account)
# stands for the surat pengantar RT/RW; copies of the KK and KTP are listed on each service.
COMMON_REQUIREMENTS = """
kk | Fotokopi Kartu Keluarga | ya | ya
ktp | Fotokopi KTP-el pemohon | ya | ya
"""

CHILD_FIELDS = """
nama_anak | Nama anak | text | ya
jenis_kelamin_anak | Jenis kelamin anak | choice | ya | Laki-laki;Perempuan
tempat_lahir | Tempat lahir (rumah sakit/puskesmas/rumah, kota) | text | ya
tanggal_lahir | Tanggal lahir | date | ya
jam_lahir | Jam lahir | time | tidak
anak_ke | Anak ke- | number | ya
nama_ayah | Nama ayah | text | ya
nik_ayah | NIK ayah | nik | tidak
nama_ibu | Nama ibu | text | ya
nik_ibu | NIK ibu | nik | ya
"""

KEPERLUAN = "keperluan | Keperluan | text | ya | | 200 | Untuk apa surat ini dipakai, contoh: melamar pekerjaan\n"

STANDARD: list[dict] = [
    {
        "code": "domisili", "name": "Surat Keterangan Domisili", "letter_template": "domisili",
        "description": "Menerangkan bahwa pemohon bertempat tinggal di wilayah kelurahan, misalnya untuk "
                       "membuka rekening bank, melamar pekerjaan atau mendaftar sekolah.",
        "service_time_value": 10, "service_time_unit": "menit", "classification_code": "470",
        "requirements": COMMON_REQUIREMENTS, "fields": KEPERLUAN,
    },
    {
        "code": "keterangan", "name": "Surat Keterangan (SKTM, kehilangan, lainnya)", "letter_template": "keterangan",
        "description": "Surat keterangan umum: tidak mampu (SKTM), kehilangan barang atau dokumen, dan "
                       "pernyataan lain yang perlu diketahui kelurahan.",
        "service_time_value": 30, "service_time_unit": "menit", "classification_code": "470",
        "requirements": COMMON_REQUIREMENTS + "pendukung | Dokumen pendukung (mis. laporan polisi, surat sekolah) "
                                              "| tidak | ya\n",
        "fields": "jenis_keterangan | Jenis keterangan | choice | ya | Tidak mampu (SKTM);Kehilangan;Lainnya\n"
                  + KEPERLUAN
                  + "pernyataan | Isi keterangan | long_text | ya | | 1000 | Tulis apa yang perlu diterangkan, "
                    "contoh: kehilangan KTP di Pasar Tanjung pada 3 Maret\n",
    },
    {
        "code": "pengantar_skck", "name": "Surat Pengantar SKCK", "letter_template": "pengantar_skck",
        "description": "Pengantar dari kelurahan untuk mengurus Surat Keterangan Catatan Kepolisian di Polsek "
                       "atau Polres.",
        "service_time_value": 15, "service_time_unit": "menit", "classification_code": "470",
        "requirements": COMMON_REQUIREMENTS + "pas_foto_4x6 | Pas foto 4x6 berlatar merah | ya | ya\n",
        "fields": KEPERLUAN,
    },
    {
        "code": "kelahiran", "name": "Surat Keterangan Kelahiran (lebih dari 60 hari)",
        "letter_template": "kelahiran",
        "description": "Keterangan kelahiran untuk anak yang lahir lebih dari 60 hari lalu, sebagai dasar "
                       "pengurusan akta kelahiran di Dispendukcapil.",
        "service_time_value": 1, "service_time_unit": "hari_kerja", "classification_code": "474.1",
        "requirements": COMMON_REQUIREMENTS + "buku_nikah | Fotokopi buku nikah/akta perkawinan orang tua | ya | ya\n"
                                              "ktp_saksi | Fotokopi KTP 3 orang saksi | ya | ya\n",
        "fields": CHILD_FIELDS,
    },
    {
        "code": "usaha", "name": "Surat Keterangan Usaha", "letter_template": "usaha",
        "description": "Menerangkan bahwa pemohon menjalankan usaha di wilayah kelurahan, misalnya untuk "
                       "pengajuan kredit usaha rakyat.",
        "service_time_value": 30, "service_time_unit": "menit", "classification_code": "470",
        "requirements": COMMON_REQUIREMENTS + "npwp | Fotokopi NPWP | ya | ya\n",
        "fields": "nama_usaha | Nama usaha | text | ya\n"
                  "alamat_usaha | Alamat usaha | text | ya\n"
                  "bidang_usaha | Bidang usaha | text | ya | | 100 | Contoh: warung makan, penjahit\n"
                  "npwp | Nomor NPWP | text | ya | | 25\n"
                  + KEPERLUAN,
    },
    {
        "code": "kematian", "name": "Surat Keterangan Kematian", "letter_template": "kematian",
        "description": "Keterangan meninggalnya seorang warga, sebagai dasar akta kematian, pengurusan "
                       "pensiun, asuransi atau waris.",
        "service_time_value": 1, "service_time_unit": "jam", "classification_code": "474.3",
        "requirements": COMMON_REQUIREMENTS + "ktp_pelapor | Fotokopi KTP pelapor | ya | ya\n"
                                              "surat_kematian | Surat kematian dari rumah sakit/dokter | ya | ya\n",
        "fields": "nama_almarhum | Nama yang meninggal | text | ya\n"
                  "nik_almarhum | NIK yang meninggal | nik | ya\n"
                  "tanggal_meninggal | Tanggal meninggal | date | ya\n"
                  "jam_meninggal | Jam meninggal | time | tidak\n"
                  "tempat_meninggal | Tempat meninggal | text | ya\n"
                  "sebab_meninggal | Sebab meninggal | text | ya | | 200 | Contoh: sakit, kecelakaan\n"
                  "nama_pelapor | Nama pelapor | text | ya\n"
                  "nik_pelapor | NIK pelapor | nik | ya\n"
                  "hubungan_pelapor | Hubungan pelapor dengan yang meninggal | text | ya | | 60\n",
    },
    {
        "code": "pengantar_akta_kelahiran", "name": "Surat Pengantar Akta Kelahiran (kurang dari 60 hari)",
        "letter_template": "pengantar_akta_kelahiran",
        "description": "Pengantar untuk mengurus akta kelahiran bayi yang lahir kurang dari 60 hari lalu.",
        "service_time_value": 1, "service_time_unit": "jam", "classification_code": "474.1",
        "requirements": COMMON_REQUIREMENTS + "surat_lahir | Surat keterangan lahir dari rumah sakit/puskesmas/bidan "
                                              "| ya | ya\n",
        "fields": CHILD_FIELDS,
    },
    {
        "code": "pindah_keluar", "name": "Surat Keterangan Pindah Keluar", "letter_template": "pindah_keluar",
        "description": "Pengantar pindah domisili ke luar kelurahan, untuk diteruskan ke Dispendukcapil.",
        "service_time_value": 1, "service_time_unit": "hari_kerja", "classification_code": "475",
        "requirements": COMMON_REQUIREMENTS + "pas_foto_3x2 | Pas foto terbaru 3x2 | ya | ya\n",
        "fields": "alamat_tujuan | Alamat tujuan (jalan, nomor, RT/RW) | text | ya\n"
                  "kelurahan_tujuan | Kelurahan/desa tujuan | text | ya\n"
                  "kecamatan_tujuan | Kecamatan tujuan | text | ya\n"
                  "kota_tujuan | Kota/kabupaten tujuan | text | ya\n"
                  "provinsi_tujuan | Provinsi tujuan | text | ya\n"
                  "alasan_pindah | Alasan pindah | choice | ya | Pekerjaan;Pendidikan;Keamanan;Kesehatan;"
                  "Perumahan;Keluarga;Lainnya\n"
                  "anggota_pindah | Anggota keluarga yang ikut pindah | long_text | tidak | | 1000 | "
                  "Satu orang per baris: nama dan NIK\n",
    },
    {
        "code": "belum_menikah", "name": "Surat Keterangan Belum Pernah Menikah",
        "letter_template": "belum_menikah",
        "description": "Menerangkan bahwa pemohon belum pernah menikah, misalnya untuk melamar pekerjaan "
                       "atau persyaratan pernikahan.",
        "service_time_value": 30, "service_time_unit": "menit", "classification_code": "474.2",
        "requirements": COMMON_REQUIREMENTS, "fields": KEPERLUAN,
    },
    {
        "code": "pengantar_nikah", "name": "Surat Pengantar Nikah (N1)", "letter_template": "pengantar_nikah_n1",
        "description": "Surat pengantar perkawinan (formulir N1) untuk mendaftar nikah di KUA atau "
                       "Dispendukcapil. Formulir N lain dapat ditambahkan admin sesuai ketentuan daerah.",
        "service_time_value": 1, "service_time_unit": "hari_kerja", "classification_code": "474.2",
        "requirements": COMMON_REQUIREMENTS + "akta_kelahiran | Fotokopi akta kelahiran pemohon | ya | ya\n"
                                              "pas_foto_nikah | Pas foto 2x3 dan 4x6 berlatar biru | ya | ya\n"
                                              "akta_cerai | Akta cerai atau akta kematian pasangan (duda/janda) "
                                              "| tidak | ya\n",
        "fields": "status_perkawinan | Status perkawinan pemohon | choice | ya | Jejaka;Perawan;Duda;Janda\n"
                  "nama_calon | Nama calon pasangan | text | ya\n"
                  "nik_calon | NIK calon pasangan | nik | tidak\n"
                  "alamat_calon | Alamat calon pasangan | text | ya\n"
                  "tanggal_nikah | Rencana tanggal nikah | date | ya\n"
                  "tempat_nikah | Rencana tempat nikah | text | ya\n",
    },
]


def seed_standard(actor=None) -> int:
    """Add the standard services when the catalogue is empty; returns how many were added."""
    if not catalogue.is_empty():
        return 0
    for order, spec in enumerate(STANDARD, 1):
        requirements, req_errors = catalogue.parse_requirement_lines(spec["requirements"])
        fields, field_errors = catalogue.parse_field_lines(spec["fields"])
        assert not req_errors and not field_errors, (spec["code"], req_errors, field_errors)
        requirements, fields = catalogue_standard_en.with_english(requirements, fields)
        data = {k: v for k, v in spec.items() if k not in ("requirements", "fields")}
        data.setdefault("sort_order", order)
        data.update(catalogue_standard_en.english_of(spec["code"]))
        catalogue.save_service(None, data, requirements, fields, actor=actor)
    return len(STANDARD)


def add_english(actor=None) -> int:
    """Give the standard English texts to standard services that have none yet (a catalogue seeded before they
    existed); returns how many services got them.

    Only a service whose code and Indonesian name are still the standard ones and whose English name is empty:
    what the admin renamed or translated is left alone. Each one saved is a new version (audited)."""
    standard = {spec["code"]: spec["name"] for spec in STANDARD}
    done = 0
    for service in db.session.scalars(select(Service).where(Service.code.in_(standard)).order_by(Service.id)):
        if service.name_en or service.name != standard[service.code]:
            continue
        requirements = [{"code": r.code, "label": r.label, "label_en": r.label_en, "required": r.required,
                         "paper_original_allowed": r.paper_original_allowed} for r in service.requirements]
        fields = [{"name": f.name, "label": f.label, "label_en": f.label_en, "kind": f.kind, "required": f.required,
                   "choices": f.choices, "choices_en": f.choices_en, "help_text": f.help_text,
                   "help_text_en": f.help_text_en,
                   "max_length": f.max_length} for f in service.fields]
        requirements, fields = catalogue_standard_en.with_english(requirements, fields)
        catalogue.save_service(service, catalogue_standard_en.english_of(service.code), requirements, fields,
                               actor=actor)
        done += 1
    return done
