"""Signing time and size of a one-page letter: PAdES B-B (the bare baseline, what signing did before issue 18)
against B-LT (validation info: the CA and the CRL in the DSS) and, with ``--tsa``, B-LTA (signature timestamp +
document timestamp from Certomancer's TSA on 127.0.0.1, tests/pki/ltv.yml), all in the same run.

In-process, a temporary SQLite database and PKI_DIR; the official's key unlocked once (as a batch holds it), so the
figures are the signing itself; ``+ unlock`` adds the scrypt unlock a single-letter request pays.

    .venv/bin/python bench/bench_ltv.py [--runs 20] [--tsa]

Target (issue 18): a B-LT letter ≤ 150 ms signing locally and ≤ 200 KB.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_sign import PASSPHRASE, median_ms, one_page_pdf, signing_app  # noqa: E402

BUDGET_MS = 150.0
BUDGET_BYTES = 200 * 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--tsa", action="store_true", help="also B-LTA, with Certomancer's TSA on 127.0.0.1")
    args = ap.parse_args()

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from sempelmas.extensions import db
    from sempelmas.models.accounts import User
    from sempelmas.services.letters import ltv
    from sempelmas.services.letters import signing as letter_signing

    tmp = Path(tempfile.mkdtemp(prefix="bench-ltv-"))
    pki = None
    try:
        app, user_id = signing_app(tmp, PUBLIC_URL="https://layanan.jagalan.test")
        with app.app_context():
            user = db.session.get(User, user_id)
            pdf = one_page_pdf()
            held = letter_signing.signer_for(user)
            pyhanko_signer = held.unlock(PASSPHRASE)

            def bare_b_b() -> bytes:  # the baseline: no validation info, no timestamp
                meta = signers.PdfSignatureMetadata(field_name="TandaTanganElektronik", md_algorithm="sha256",
                                                    subfilter=fields.SigSeedSubFilter.PADES, reason="Surat")
                w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
                return letter_signing.outside_event_loop(
                    signers.sign_pdf, w, meta, signer=pyhanko_signer,
                    bytes_reserved=letter_signing.SIGNATURE_BYTES_RESERVED).getvalue()

            def app_sign() -> bytes:  # the app's signing: B-LT, or B-LTA with PKI_TSA_URL
                return held.sign(pdf, passphrase=PASSPHRASE, reason="Surat", location="Kelurahan Jagalan")

            def fresh_sign() -> bytes:
                return letter_signing.signer_for(user).sign(pdf, passphrase=PASSPHRASE, reason="Surat",
                                                             location="Kelurahan Jagalan")

            rows = []
            bare_b_b(), app_sign()  # warm-up: imports, the CRL made once
            rows.append(("B-B (bare baseline)", median_ms(bare_b_b, args.runs), len(bare_b_b())))
            lt = app_sign()
            assert ltv.last_timestamp(lt).kind == "none" and letter_signing.validate_pdf(lt).ok
            rows.append(("B-LT", median_ms(app_sign, args.runs), len(lt)))
            rows.append(("B-LT + unlock (one letter)", median_ms(fresh_sign, max(5, args.runs // 2)), len(lt)))
            if args.tsa:
                from tests import ltv_pki

                pki = ltv_pki.serve(tmp)
                app.config.update(PKI_TSA_URL=pki.tsa_url, PKI_TSA_TRUST_ROOTS=str(pki.root_pem))
                import logging

                logging.getLogger("werkzeug").setLevel(logging.WARNING)
                lta = app_sign()
                assert ltv.last_timestamp(lta).kind == "document" and letter_signing.validate_pdf(lta).ok
                rows.append(("B-LTA (TSA on 127.0.0.1)", median_ms(app_sign, args.runs), len(lta)))

            print(f"one-page PDF {len(pdf):,} bytes; median of {args.runs}; load average "
                  f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
            print(f"  {'':30s} {'wall ms':>8s} {'CPU ms':>7s} {'bytes':>9s} {'+bytes':>8s}")
            for name, (wall, cpu), size in rows:
                print(f"  {name:30s} {wall:8.1f} {cpu:7.1f} {size:9,d} {size - len(pdf):+8,d}")
            lt_ms = rows[1][1][0]
            ok = lt_ms <= BUDGET_MS and len(lt) <= BUDGET_BYTES
            print(f"target: B-LT ≤ {BUDGET_MS:.0f} ms and ≤ {BUDGET_BYTES // 1024} KB → {lt_ms:.1f} ms, "
                  f"{len(lt) / 1024:.1f} KB")
            print(f"RESULT: {'PASS' if ok else 'FAIL'}")
            db.session.remove()
            db.engine.dispose()
            return 0 if ok else 1
    finally:
        if pki is not None:
            pki.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
