"""Signing time per signer backend, the BSrE gateway being the fake Esign Client on loopback (tests/esign_fake.py,
which really signs with pyHanko and its own test root).

In-process, a temporary SQLite file migrated with Alembic and the demo data (bench/bench_issue.py's ``build``), a
kelurahan CA and the lurah's certificate with the default settings. Medians of --runs (default 20), in one run:

* ``bare pyHanko``: ``signers.sign_pdf`` with a key already in memory — the baseline;
* ``local``: ``LocalBackend`` unlock (scrypt) + sign, as a single-letter request does it;
* ``BSrE v1`` / ``BSrE v2``: ``BsreBackend`` unlock (the gateway's status call) + sign (the HTTP round trip, the
  fake's own pyHanko signature) + ``check_signed`` (our validation against the BSrE root);
* ``issue_letter local`` / ``issue_letter BSrE v2``: the whole signing transaction (number, render, QR, sign, check,
  store, commit) on a demo request, and the letter's size.

    .venv/bin/python bench/bench_sign_backends.py [--runs 20]

Target (issue 18): local ≤ 150 ms median per letter (issue_letter, the key unlocked per request). The fake gateway
signs in-process, so the BSrE figures are our side's cost plus loopback HTTP, not a real gateway's (seconds).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_MS = 150.0
PASSPHRASE = "passphrase-ttd-bench"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from bench_issue import awaiting, build
    from bench_sign import median_ms, one_page_pdf
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from sqlalchemy import select

    from sempelmas.extensions import db
    from sempelmas.models.accounts import User
    from sempelmas.models.requests import LetterRequest
    from sempelmas.services.letters import certificates as letter_certs
    from sempelmas.services.letters import issuing
    from sempelmas.services.letters.backends.bsre import BsreBackend
    from sempelmas.services.letters.backends.bsre import client as bsre_client
    from sempelmas.services.letters.backends.local import LocalBackend
    from tests import esign_fake

    tmp = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    gateway = esign_fake.FakeEsign().start()
    try:
        app = build(tmp)
        roots = tmp / "bsre-roots.pem"
        roots.write_bytes(x509.load_der_x509_certificate(gateway.root_der).public_bytes(serialization.Encoding.PEM))
        app.config.update(ESIGN_URL=gateway.url, ESIGN_USERNAME=esign_fake.USERNAME,
                          ESIGN_PASSWORD=esign_fake.PASSWORD, ESIGN_TRUST_ROOTS=str(roots))
        with app.app_context():
            lurah = db.session.scalar(select(User).where(User.username == "lurah"))
            official = letter_certs.official_for(lurah)
            letter_certs.issue_certificate(lurah, official, PASSPHRASE)
            db.session.commit()
            pdf = one_page_pdf()

            unlocked = LocalBackend.for_user(lurah)
            key_signer = unlocked.unlock(PASSPHRASE)
            meta = signers.PdfSignatureMetadata(field_name="Sig", md_algorithm="sha256",
                                                subfilter=fields.SigSeedSubFilter.PADES)

            def bare():
                return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=key_signer).getvalue()

            def local():
                backend = LocalBackend.for_user(lurah)
                backend.unlock(PASSPHRASE)
                return backend.sign(pdf, reason="Surat keterangan", location="Kelurahan Jagalan")

            def bsre(version):
                def run():
                    app.config["ESIGN_API_VERSION"] = version
                    backend = BsreBackend(official, esign_fake.NIK, bsre_client())
                    backend.unlock(esign_fake.PASSPHRASE)
                    signed = backend.sign(pdf, reason="Surat keterangan", location="Kelurahan Jagalan")
                    backend.check_signed(pdf, signed)
                    return signed
                return run

            for fn in (bare, local, bsre("v1"), bsre("v2")):  # warm-up: imports, caches
                fn()
            rows = [("bare pyHanko (key in memory)", median_ms(bare, args.runs)),
                    ("local: unlock + sign", median_ms(local, args.runs)),
                    ("BSrE v1: status + sign + check", median_ms(bsre("v1"), args.runs)),
                    ("BSrE v2: status + sign + check", median_ms(bsre("v2"), args.runs))]

            def issue_many(passphrase: str, n: int) -> tuple[list[float], list[int]]:
                ids = awaiting(n + 2)
                times, sizes = [], []
                for i, request_id in enumerate(ids):
                    request = db.session.get(LetterRequest, request_id)
                    user = db.session.get(User, lurah.id)
                    t0 = time.perf_counter()
                    letter = issuing.issue_letter(request, user, passphrase)
                    if i >= 2:  # two warm-up letters
                        times.append((time.perf_counter() - t0) * 1000)
                        sizes.append(letter.pdf_size)
                return times, sizes

            app.config["ESIGN_API_VERSION"] = "v2"
            local_issue = issue_many(PASSPHRASE, args.runs)
            official.signing_backend, official.bsre_nik = "bsre", esign_fake.NIK
            db.session.commit()
            bsre_issue = issue_many(esign_fake.PASSPHRASE, args.runs)
            official.signing_backend = "local"
            db.session.commit()

            print(f"one-page PDF {len(pdf):,} bytes; median of {args.runs}; fake gateway at {gateway.url}")
            print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs;   wall ms / CPU ms")
            for label, (wall, cpu) in rows:
                print(f"  {label:34s} {wall:7.1f} / {cpu:6.1f}")
            for label, (times, sizes) in (("issue_letter local", local_issue), ("issue_letter BSrE v2", bsre_issue)):
                p90 = sorted(times)[max(0, int(len(times) * 0.9) - 1)]
                print(f"  {label:34s} {statistics.median(times):7.1f} ms median, p90 {p90:.1f} ms; "
                      f"letter {statistics.median(sizes) / 1024:.1f} KB")
            local_ms = statistics.median(local_issue[0])
            ok = local_ms <= TARGET_MS
            print(f"target: issue_letter local ≤ {TARGET_MS:.0f} ms median → {local_ms:.1f} ms")
            print(f"RESULT: {'PASS' if ok else 'FAIL'}")
            return 0 if ok else 1
    finally:
        gateway.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
