"""The doctor's ``bsre`` check: when an official signs through BSrE, the Esign Client must be configured and
answer, and the BSrE roots that letters are checked against must be readable (services/letters/backends/bsre.py)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.profile import Official
from sempelmas.services.operations.findings import FAULT, OK, WARN, Context, Finding

#: seconds the doctor waits for the gateway's status answer (a report, not a signing)
STATUS_TIMEOUT = 5.0
_NAME = "bsre"


def check_bsre(ctx: Context) -> list[Finding]:
    """Officials on BSrE → ESIGN_URL set, ESIGN_TRUST_ROOTS readable, the gateway answers the status of each of
    their certificates (short timeout)."""
    from sempelmas.services.letters import esign_client, esign_roots
    from sempelmas.services.letters.backends import BSRE, SigningRefused
    from sempelmas.services.letters.backends import bsre as bsre_backend

    officials = db.session.scalars(select(Official).where(Official.signing_backend == BSRE,
                                                          Official.active.is_(True)).order_by(Official.id)).all()
    if not officials:
        return [Finding(_NAME, OK, "Tidak ada pejabat yang menandatangani melalui BSrE (semua memakai CA kelurahan).")]
    names = ", ".join(o.name for o in officials)
    if not bsre_backend.configured():
        return [Finding(_NAME, FAULT, f"Pejabat {names} menandatangani melalui BSrE, tetapi ESIGN_URL kosong: "
                        "surat mereka tidak dapat ditandatangani.",
                        "ESIGN_URL=http://<alamat Esign Client BSrE>, ESIGN_USERNAME, ESIGN_PASSWORD di berkas "
                        "lingkungan (atau pindahkan pejabat ke CA kelurahan di Admin → Pejabat)")]
    out: list[Finding] = []
    path = esign_roots.configured_path()
    roots_fix = "ESIGN_TRUST_ROOTS=/etc/sempelmas/bsre-roots.pem (sertifikat root/CA BSrE dalam PEM, dapat dibaca " \
                "pengguna layanan)"
    if not path:
        out.append(Finding(_NAME, FAULT, "ESIGN_TRUST_ROOTS kosong: surat yang ditandatangani BSrE tidak dapat "
                           "diperiksa, jadi tidak ada yang dapat ditandatangani melalui BSrE.", roots_fix))
    else:
        try:
            count = len(esign_roots.load_roots_der(path))
            out.append(Finding(_NAME, OK, f"Akar sertifikat BSrE terbaca ({count} sertifikat dari {path})."))
        except esign_roots.TrustRootsError as e:
            out.append(Finding(_NAME, FAULT, f"ESIGN_TRUST_ROOTS tidak dapat dibaca: {e}.", roots_fix))
    try:
        client = bsre_backend.client(read_timeout=STATUS_TIMEOUT)
    except (SigningRefused, ValueError) as e:  # ValueError: a version or timeout EsignConfig refuses
        return [*out, Finding(_NAME, FAULT, f"Pengaturan Esign Client tidak dapat dipakai: {e}",
                              "ESIGN_API_VERSION=v1|v2, ESIGN_CONNECT_TIMEOUT/ESIGN_READ_TIMEOUT positif")]
    url = current_app.config.get("ESIGN_URL")
    for official in officials:
        nik = bsre_backend.nik_of(official)
        if not nik:
            out.append(Finding(_NAME, WARN, f"{official.name}: NIK pemegang sertifikat BSrE belum diisi.",
                               "Admin → Pejabat: isi NIK BSrE pejabat ini"))
            continue
        try:
            status = client.user_status(nik)
        except esign_client.EsignError as e:
            if e.kind in ("unavailable", "timeout", "bad_response"):
                return [*out, Finding(_NAME, FAULT, f"Esign Client BSrE di {url} tidak menjawab dengan benar: {e}",
                                      "periksa layanan Esign Client (systemctl status, jaringan, ESIGN_URL); "
                                      "sampai pulih, pejabat BSrE tidak dapat menandatangani")]
            if e.kind == "rejected" and e.http_status in (401, 403):
                return [*out, Finding(_NAME, FAULT, f"Esign Client BSrE menolak akun aplikasi: {e}",
                                      "ESIGN_USERNAME dan ESIGN_PASSWORD sesuai akun yang diberikan admin Esign "
                                      "Client")]
            out.append(Finding(_NAME, WARN, f"{official.name}: {e}", "hubungi BSrE atau admin Esign Client"))
            continue
        if status.active:
            out.append(Finding(_NAME, OK, f"{official.name}: sertifikat BSrE aktif ({status.message or 'ISSUE'})."))
        else:
            out.append(Finding(_NAME, WARN, f"{official.name}: sertifikat BSrE tidak aktif ({status.message}); surat "
                               "tidak dapat ditandatangani olehnya.",
                               "perpanjang/aktifkan sertifikat di BSrE, atau pindahkan pejabat ke CA kelurahan"))
    return out
