"""The API's scopes: what a client's key may read or write. One line per scope; a resource module adds its own.

A scope ending in ``:pii`` widens a read scope with personal data (a NIK, a contact address); it never opens a
resource by itself."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: code → what it allows, as the admin sees it when giving it to a client
SCOPES = {
    "catalogue:read": _l("Membaca katalog layanan dan standar pelayanan"),
    "letters:read": _l("Membaca register surat keluar dan verifikasi surat"),
    "letters:pii": _l("Melihat NIK pemohon di register surat (data pribadi)"),
    "requests:read": _l("Membaca rekap permohonan dan angka SLA"),
    "requests:status": _l("Melihat status satu permohonan dari nomor lacaknya"),
    "ikm:read": _l("Membaca hasil IKM dan angka transparansi"),
    "complaints:read": _l("Membaca pengaduan"),
    "complaints:pii": _l("Melihat kontak pelapor pengaduan (data pribadi)"),
    "residents:write": _l("Menulis data penduduk (register) secara batch"),
}


def is_scope(code: str) -> bool:
    return code in SCOPES


def known(codes) -> list[str]:
    """The codes among ``codes`` that are scopes, in the catalogue's order (unknown ones dropped)."""
    wanted = set(codes or ())
    return [code for code in SCOPES if code in wanted]
