"""The verification page's fixed wording, translated once per language and process.

The page is the hottest public page (every QR scan): calling gettext ~25 times per render cost more than
the database lookup (measured by bench/bench_verify.py, profiled). The strings are still ordinary ``_()`` messages
(extracted by pybabel from this file), looked up once per language, then reused.
"""

from __future__ import annotations

from flask_babel import gettext as _

_CACHE: dict[str, dict[str, str]] = {}


def _build() -> dict[str, str]:
    return {
        "title": _("Verifikasi surat"),
        "heading": _("Verifikasi keaslian surat"),
        "sah": _("SAH"),
        "sah_note": _("Surat ini diterbitkan dan ditandatangani secara elektronik oleh kelurahan, dan tidak dicabut."),
        "dicabut": _("DICABUT"),
        "reason": _("Alasan"),
        "diganti": _("DIGANTI"),
        "diganti_note": _("Surat ini telah diganti dengan surat yang lebih baru dan tidak berlaku lagi."),
        "see_new": _("Lihat surat pengganti"),
        "type": _("Jenis surat"),
        "number": _("Nomor"),
        "date": _("Tanggal"),
        "signer": _("Penandatangan"),
        "kind": _("Jenis tanda tangan"),
        # PP 71/2019 pasal 60: a certificate from a registered PSrE (BSrE) makes a certified signature; the
        # kelurahan CA's is uncertified, yet valid under UU ITE pasal 11 when its conditions are met (DOMAIN.md)
        "kind_bsre": _("Tanda tangan elektronik tersertifikasi — sertifikat dari BSrE-BSSN "
                       "(Balai Sertifikasi Elektronik, Badan Siber dan Sandi Negara)"),
        "kind_local": _("Tanda tangan elektronik tidak tersertifikasi — sertifikat dari %(issuer)s; sah sebagai tanda "
                        "tangan elektronik (UU ITE), dapat diperiksa di halaman ini"),
        "name": _("Nama warga"),
        "sha": _("Sidik SHA-256 berkas PDF"),
        "compare": _("Cocokkan data di atas dengan surat kertas atau berkas yang Anda terima. Nama dan NIK "
                     "disamarkan untuk melindungi data pribadi."),
        "check": _("Periksa berkas PDF"),
        "same": _("Berkas ini sama persis dengan surat yang diterbitkan."),
        "not_same": _("Berkas ini TIDAK sama dengan surat yang diterbitkan: isinya berbeda atau telah diubah."),
        "sig_ok": _("Tanda tangan elektronik sah."),
        "sig_bad": _("Tanda tangan elektronik tidak sah."),
        "sig_unchecked": _("Tanda tangan elektronik tidak dapat diperiksa."),
        "your_sha": _("Sidik SHA-256 berkas Anda"),
        "upload": _("Unggah berkas PDF surat yang Anda terima"),
        "not_kept": _("Berkas hanya diperiksa, tidak disimpan."),
        "submit": _("Periksa"),
        "download": _("Unduh surat asli (PDF)"),
        "ca": _("Unduh sertifikat CA kelurahan"),
        "ca_note": _("untuk memeriksa tanda tangan di aplikasi pembaca PDF."),
        "ca_steps": _("Cara mempercayai CA di Adobe Reader"),
        "uji": _("UJI"),
        "uji_note": _("Ini SURAT UJI, bukan surat resmi: surat ini TIDAK BERLAKU. Kelurahan menandatanganinya saat "
                      "mulai memakai layanan surat elektronik, untuk menguji tanda tangan elektronik, kode QR dan "
                      "alamat halaman ini. Tanda tangannya asli; isinya tidak menerangkan apa pun."),
        "uji_ok": _("Kode QR dan alamat verifikasi bekerja: halaman ini terbuka dari kode QR surat uji."),
    }


def texts(lang: str) -> dict[str, str]:
    found = _CACHE.get(lang)
    if found is None:
        found = _CACHE[lang] = _build()
    return found
