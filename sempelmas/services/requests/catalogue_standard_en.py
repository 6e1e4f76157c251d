"""The standard catalogue's English texts (services.requests.catalogue_standard), shown to readers who chose English.

Keyed by service code, requirement code and field name: a requirement or field means the same in every service
that has it. The admin edits them like any other text; ``catalogue_standard.add_english`` gives them to a
catalogue seeded before they existed.
"""

from __future__ import annotations

#: service code → (name, description)
SERVICES: dict[str, tuple[str, str]] = {
    "domisili": ("Certificate of Domicile",
                 "States that the applicant lives in the kelurahan, for example to open a bank account, apply for "
                 "a job or enrol at a school."),
    "keterangan": ("Certificate (low income, loss, other)",
                   "A general certificate: low income (SKTM), loss of goods or documents, and other statements the "
                   "kelurahan needs to know about."),
    "pengantar_skck": ("Cover Letter for a Police Clearance (SKCK)",
                       "The kelurahan's cover letter to apply for a police clearance certificate (SKCK) at the "
                       "Polsek or Polres."),
    "kelahiran": ("Birth Certificate Letter (more than 60 days)",
                  "A statement of birth for a child born more than 60 days ago, on which the birth certificate is "
                  "applied for at the Dispendukcapil."),
    "usaha": ("Certificate of Business",
              "States that the applicant runs a business in the kelurahan, for example to apply for a small "
              "business loan (KUR)."),
    "kematian": ("Death Certificate Letter",
                 "A statement of a resident's death, on which the death certificate, a pension, insurance or an "
                 "inheritance is arranged."),
    "pengantar_akta_kelahiran": ("Cover Letter for a Birth Certificate (less than 60 days)",
                                 "A cover letter to apply for the birth certificate of a baby born less than 60 "
                                 "days ago."),
    "pindah_keluar": ("Certificate of Moving Out",
                      "A cover letter for moving to an address outside the kelurahan, passed on to the "
                      "Dispendukcapil."),
    "belum_menikah": ("Certificate of Never Having Married",
                      "States that the applicant has never been married, for example to apply for a job or to "
                      "register a marriage."),
    "pengantar_nikah": ("Marriage Cover Letter (N1)",
                        "The marriage cover letter (form N1) to register a marriage at the KUA or the "
                        "Dispendukcapil. The admin can add other N forms as the region requires."),
}

#: requirement code → English name
REQUIREMENTS: dict[str, str] = {
    "kk": "Copy of the family card (KK)",
    "ktp": "Copy of the applicant's identity card (KTP-el)",
    "pendukung": "Supporting documents (e.g. a police report, a letter from a school)",
    "pas_foto_4x6": "Passport photo 4x6 on a red background",
    "buku_nikah": "Copy of the parents' marriage book or certificate",
    "ktp_saksi": "Copies of the identity cards (KTP) of 3 witnesses",
    "npwp": "Copy of the tax number card (NPWP)",
    "ktp_pelapor": "Copy of the reporting person's identity card (KTP)",
    "surat_kematian": "Death letter from the hospital or doctor",
    "surat_lahir": "Birth letter from the hospital, puskesmas or midwife",
    "pas_foto_3x2": "Recent passport photo 3x2",
    "akta_kelahiran": "Copy of the applicant's birth certificate",
    "pas_foto_nikah": "Passport photos 2x3 and 4x6 on a blue background",
    "akta_cerai": "Divorce certificate or spouse's death certificate (widowed or divorced)",
}

#: field name → (label, help text or None)
FIELDS: dict[str, tuple[str, str | None]] = {
    "keperluan": ("Purpose", "What the letter will be used for, e.g. a job application"),
    "jenis_keterangan": ("Kind of certificate", None),
    "pernyataan": ("Statement", "Write what needs to be certified, e.g. lost my KTP at Pasar Tanjung on 3 March"),
    "nama_anak": ("Child's name", None),
    "jenis_kelamin_anak": ("Child's sex", None),
    "tempat_lahir": ("Place of birth (hospital/puskesmas/home, town)", None),
    "tanggal_lahir": ("Date of birth", None),
    "jam_lahir": ("Time of birth", None),
    "anak_ke": ("Birth order (child no.)", None),
    "nama_ayah": ("Father's name", None),
    "nik_ayah": ("Father's NIK", None),
    "nama_ibu": ("Mother's name", None),
    "nik_ibu": ("Mother's NIK", None),
    "nama_usaha": ("Business name", None),
    "alamat_usaha": ("Business address", None),
    "bidang_usaha": ("Line of business", "E.g. food stall, tailor"),
    "npwp": ("Tax number (NPWP)", None),
    "nama_almarhum": ("Name of the deceased", None),
    "nik_almarhum": ("NIK of the deceased", None),
    "tanggal_meninggal": ("Date of death", None),
    "jam_meninggal": ("Time of death", None),
    "tempat_meninggal": ("Place of death", None),
    "sebab_meninggal": ("Cause of death", "E.g. illness, accident"),
    "nama_pelapor": ("Reporting person's name", None),
    "nik_pelapor": ("Reporting person's NIK", None),
    "hubungan_pelapor": ("Reporting person's relation to the deceased", None),
    "alamat_tujuan": ("Destination address (street, number, RT/RW)", None),
    "kelurahan_tujuan": ("Destination kelurahan/village", None),
    "kecamatan_tujuan": ("Destination district (kecamatan)", None),
    "kota_tujuan": ("Destination city/regency", None),
    "provinsi_tujuan": ("Destination province", None),
    "alasan_pindah": ("Reason for moving", None),
    "anggota_pindah": ("Family members moving too", "One person per line: name and NIK"),
    "status_perkawinan": ("Applicant's marital status", None),
    "nama_calon": ("Future spouse's name", None),
    "nik_calon": ("Future spouse's NIK", None),
    "alamat_calon": ("Future spouse's address", None),
    "tanggal_nikah": ("Planned wedding date", None),
    "tempat_nikah": ("Planned wedding place", None),
}

#: choice field name → its choices in English, in the order of the Indonesian ones (catalogue_standard)
CHOICES: dict[str, list[str]] = {
    "jenis_keterangan": ["Low income (SKTM)", "Loss", "Other"],
    "jenis_kelamin_anak": ["Male", "Female"],
    "alasan_pindah": ["Work", "Education", "Safety", "Health", "Housing", "Family", "Other"],
    "status_perkawinan": ["Never married (man)", "Never married (woman)", "Widower or divorced",
                          "Widow or divorced"],
}


def english_of(code: str) -> dict:
    """The English name and description of a standard service (empty for any other code)."""
    name, description = SERVICES.get(code, ("", ""))
    return {"name_en": name, "description_en": description}


def with_english(requirements: list[dict], fields: list[dict]) -> tuple[list[dict], list[dict]]:
    """The parsed requirements and fields with the standard English texts where they have none."""
    for r in requirements:
        r["label_en"] = r.get("label_en") or REQUIREMENTS.get(r["code"])
    for f in fields:
        label, help_text = FIELDS.get(f["name"], (None, None))
        if not f.get("label_en"):
            f["label_en"], f["help_text_en"] = label, help_text if f.get("help_text") else None
        english = CHOICES.get(f["name"], [])
        if not f.get("choices_en") and f.get("choices") and len(english) == len(f["choices"]):
            f["choices_en"] = english
    return requirements, fields

