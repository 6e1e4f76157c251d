"""What recording a letter's issuer CN costs in the signing transaction: ``backends.issuer_cn(signed)`` (pyHanko
reads the signed PDF's last signature and its certificate; what a BSrE letter needs) and ``backends.provenance`` for
the local backend (the issuer read from the certificate row that signed). Against a bare baseline in the same run,
the SHA-256 of the same bytes that issuing._issue already takes, and against signing the letter itself (bare
pyHanko, key in memory); a letter signed by the kelurahan CA and one by the fake BSrE gateway's PKI
(tests/esign_fake.py).

    .venv/bin/python bench/bench_issuer_cn.py [--runs 50]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PASSPHRASE = "passphrase-ttd-bench"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()

    from bench_issue import build
    from bench_sign import median_ms, one_page_pdf
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from sqlalchemy import select

    from sempelmas.extensions import db
    from sempelmas.models.accounts import User
    from sempelmas.services.letters import backends
    from sempelmas.services.letters import certificates as letter_certs
    from sempelmas.services.letters.backends.local import LocalBackend
    from tests import esign_fake

    tmp = Path(tempfile.mkdtemp(prefix="bench-issuer-"))
    gateway = esign_fake.FakeEsign().start()
    try:
        app = build(tmp)
        with app.app_context():
            lurah = db.session.scalar(select(User).where(User.username == "lurah"))
            letter_certs.issue_certificate(lurah, letter_certs.official_for(lurah), PASSPHRASE)
            db.session.commit()
            pdf = one_page_pdf()
            key_signer = LocalBackend.for_user(lurah).unlock(PASSPHRASE)
            meta = signers.PdfSignatureMetadata(field_name="Sig", md_algorithm="sha256",
                                                subfilter=fields.SigSeedSubFilter.PADES)

            def bare_sign():
                return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=key_signer).getvalue()

            local_signed = bare_sign()
            bsre_signed = gateway.pki.signer(esign_fake.NIK, esign_fake.NAME)
            bsre_signed = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta,
                                           signer=bsre_signed).getvalue()
            assert backends.issuer_cn(local_signed).startswith("CA ")
            assert backends.issuer_cn(bsre_signed) == "BSrE test root"
            local = LocalBackend.for_user(lurah)
            assert backends.provenance(local, local_signed)["issuer_cn"] == backends.issuer_cn(local_signed)
            rows = [("baseline: sha256(signed)",
                     median_ms(lambda: hashlib.sha256(local_signed).hexdigest(), args.runs)),
                    ("issuer_cn, kelurahan CA letter", median_ms(lambda: backends.issuer_cn(local_signed), args.runs)),
                    ("provenance, local (certificate row)", median_ms(lambda: backends.provenance(local, local_signed),
                                                                      args.runs)),
                    ("issuer_cn, BSrE letter", median_ms(lambda: backends.issuer_cn(bsre_signed), args.runs)),
                    ("bare pyHanko signing (context)", median_ms(bare_sign, args.runs))]
        print(f"runs: {args.runs}, signed PDF {len(local_signed)} bytes")
        for name, (wall, cpu) in rows:
            print(f"{name:34s} {wall:8.3f} ms wall {cpu:8.3f} ms CPU")
    finally:
        gateway.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
