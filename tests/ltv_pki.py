"""The declared test PKI of tests/pki/ltv.yml served on 127.0.0.1: Certomancer's Animator (its TSA and CRL
repository) behind werkzeug in a thread. ``TestPki.fail`` makes the TSA answer 503 (a TSA that is down)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

YAML = Path(__file__).parent / "pki" / "ltv.yml"


@dataclass
class TestPki:
    __test__ = False  # not a test class

    base: str
    arch: object
    root_pem: Path
    server: object
    fail: bool = False
    hits: list = field(default_factory=list)

    @property
    def tsa_url(self) -> str:
        return f"{self.base}/ltv/tsa/tsa"

    def cert_der(self, label: str) -> bytes:
        return self.arch.get_cert(label).dump()

    def crl_at(self, at):
        """The test root's CRL as its repository would publish it at ``at`` (what a validator fetches then)."""
        from certomancer.registry import ServiceLabel

        return self.arch.service_registry.get_crl(ServiceLabel("root"), at_time=at)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(tmp_path: Path) -> TestPki:
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    keys = tmp_path / "certomancer-keys"
    keys.mkdir(parents=True, exist_ok=True)
    for name in ("root", "tsa", "signer"):
        key = ec.generate_private_key(ec.SECP256R1())
        (keys / f"{name}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with socket.socket() as s:  # the URL prefix goes into the certificates before the server starts
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    cfg = CertomancerConfig.from_file(str(YAML), key_search_dir=str(keys), external_url_prefix=base)
    arch = cfg.get_pki_arch("ltv")
    animator = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)
    root_pem = tmp_path / "tsa-root.pem"
    from asn1crypto import pem

    root_pem.write_bytes(pem.armor("CERTIFICATE", arch.get_cert("root").dump()))
    pki: TestPki

    @Request.application
    def app(request):
        pki.hits.append(request.path)
        if pki.fail and "/tsa/" in request.path:
            return Response(b"down", status=503)
        return animator

    server = make_server("127.0.0.1", port, app, threaded=True)
    pki = TestPki(base=base, arch=arch, root_pem=root_pem, server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return pki


def serve_in_process(tmp_path: Path):
    """The same test PKI in a child process (a test whose code forks, e.g. a batch's detached process, needs this
    process single-threaded). Returns (tsa_url, root_pem, process); terminate the process when done."""
    import json
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tests.ltv_pki", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1], text=True)
    info = json.loads(proc.stdout.readline())
    return info["tsa_url"], Path(info["root_pem"]), proc


if __name__ == "__main__":
    import json
    import sys
    import time

    served = serve(Path(sys.argv[1]))
    print(json.dumps({"tsa_url": served.tsa_url, "root_pem": str(served.root_pem)}), flush=True)
    while True:
        time.sleep(3600)
